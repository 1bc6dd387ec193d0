//! The resolved compose project: typed services, networks and volumes after
//! interpolation and merging. Pure data; the engine turns it into containers.

use std::path::PathBuf;

use indexmap::IndexMap;
use serde::Serialize;

/// A loaded, merged, validated compose project.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    /// The compose project name.
    pub name: String,
    /// Directory relative paths resolve against.
    pub working_dir: PathBuf,
    /// The files it was loaded from, in merge order.
    pub config_files: Vec<PathBuf>,
    /// Active services in file order.
    pub services: IndexMap<String, Service>,
    /// Networks the active services use, by key.
    pub networks: IndexMap<String, Network>,
    /// Named volumes the active services use, by key.
    pub volumes: IndexMap<String, Volume>,
    /// Variables used but not set (each becomes an empty string, as in compose).
    pub unset_variables: Vec<String>,
    /// The services in dependency waves (see `compose::waves`), computed
    /// once when the project is resolved: start goes through them in
    /// order, stop in reverse.
    pub waves: Vec<Vec<String>>,
    /// The merged document the services were converted from (interpolated,
    /// short forms made long): `canonical` reads the shapes the typed model
    /// does not keep from it.
    pub document: serde_json::Map<String, serde_json::Value>,
}

impl Project {
    /// Applies an instance's limits to every service; a service's own limit
    /// wins where it is lower.
    pub fn apply_limits(&mut self, limits: Limits) {
        for svc in self.services.values_mut() {
            svc.limits = svc.limits.min(limits);
        }
    }
}

/// A top-level network.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Network {
    /// The engine's name for it: `<project>_<key>`, or `name:`.
    pub name: String,
    pub external: bool,
    pub driver: Option<String>,
    pub internal: bool,
    pub labels: IndexMap<String, String>,
    pub driver_opts: IndexMap<String, String>,
}

/// A top-level named volume.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Volume {
    /// The engine's name for it: `<project>_<key>`, or `name:`.
    pub name: String,
    pub external: bool,
    pub driver: Option<String>,
    pub labels: IndexMap<String, String>,
    pub driver_opts: IndexMap<String, String>,
}

/// What a dependent waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    ServiceStarted,
    ServiceHealthy,
    ServiceCompletedSuccessfully,
}

impl Condition {
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::ServiceStarted => "service_started",
            Condition::ServiceHealthy => "service_healthy",
            Condition::ServiceCompletedSuccessfully => "service_completed_successfully",
        }
    }
}

/// A published port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Port {
    pub host_ip: Option<String>,
    /// Host port; `None` lets the engine choose.
    pub published: Option<u16>,
    /// The last host port of a range (`8000-8002:80`) the engine picks one
    /// free port from for each container. Left out of the hash when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_end: Option<u16>,
    pub target: u16,
    pub protocol: String,
}

impl Port {
    /// The host port as the engine takes it: `8000`, or `8000-8002` for a
    /// range; `None` lets the engine choose.
    pub fn host_port(&self) -> Option<String> {
        self.published.map(|p| match self.published_end {
            Some(end) => format!("{p}-{end}"),
            None => p.to_string(),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MountKind {
    Bind,
    Volume,
    Tmpfs,
}

/// A mount: bind (absolute host path), named volume (its key), anonymous volume, or tmpfs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mount {
    pub kind: MountKind,
    /// Bind: absolute host path. Volume: the top-level key, or `None` for an anonymous volume.
    pub source: Option<String>,
    pub target: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Healthcheck {
    /// `["CMD", ...]`, `["CMD-SHELL", "..."]` or `["NONE"]`.
    pub test: Vec<String>,
    pub interval_ms: Option<u64>,
    pub timeout_ms: Option<u64>,
    pub start_period_ms: Option<u64>,
    pub retries: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Ulimit {
    pub soft: i64,
    pub hard: i64,
}

/// Resource limits of one container. Kept out of the config hash: limits
/// change in place (engine update) without recreating the container.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Limits {
    pub memory: Option<i64>,
    pub nano_cpus: Option<i64>,
    pub pids: Option<i64>,
}

impl Limits {
    /// The lower of each limit: a service's own limit wins where it is lower.
    pub fn min(self, other: Limits) -> Limits {
        fn lower(a: Option<i64>, b: Option<i64>) -> Option<i64> {
            match (a, b) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, None) => x,
                (None, y) => y,
            }
        }
        Limits {
            memory: lower(self.memory, other.memory),
            nano_cpus: lower(self.nano_cpus, other.nano_cpus),
            pids: lower(self.pids, other.pids),
        }
    }
}

/// How to build a service's image through the engine's build API.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Build {
    /// The context directory, absolute.
    pub context: String,
    /// The Dockerfile, relative to the context (`Dockerfile` when absent).
    pub dockerfile: Option<String>,
    /// A Dockerfile given in the compose file itself.
    pub dockerfile_inline: Option<String>,
    pub args: IndexMap<String, String>,
    pub target: Option<String>,
    pub labels: IndexMap<String, String>,
    pub network: Option<String>,
    pub extra_hosts: Vec<String>,
    pub shm_size: Option<i64>,
    pub cache_from: Vec<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Settings the engine applies as they are written (the container's
/// configuration and host configuration). Each is left out of the hash
/// when unset, so services without it keep their hash.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Settings {
    #[serde(skip_serializing_if = "is_false")]
    pub privileged: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    #[serde(skip_serializing_if = "is_false")]
    pub tty: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub stdin_open: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub read_only: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_opt: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_search: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_opt: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_add: Vec<String>,
    /// Bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<i64>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub sysctls: IndexMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domainname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userns_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup_parent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oom_score_adj: Option<i64>,
    #[serde(skip_serializing_if = "is_false")]
    pub oom_kill_disable: bool,
    /// Bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem_reservation: Option<i64>,
    /// Bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memswap_limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem_swappiness: Option<i64>,
    /// `/path` or `/path:options`, as written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tmpfs: Vec<String>,
    /// The logging driver and its options.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging: Option<Logging>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<Device>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_period: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_quota: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpuset: Option<String>,
    /// `blkio_config.weight` (the other block I/O keys are refused by name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blkio_weight: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Logging {
    pub driver: Option<String>,
    pub options: IndexMap<String, String>,
}

/// A host device mapped into the container.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Device {
    pub source: String,
    pub target: String,
    pub permissions: String,
}

/// What `deploy` applies to a container without swarm (the limits are in
/// `Limits`, the number of containers in `Service::replicas`). Left out of
/// the hash when empty, so services without it keep their hash.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Deploy {
    /// `deploy.restart_policy`, which wins over `restart`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<RestartPolicy>,
    /// `deploy.resources.reservations.memory`, bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem_reservation: Option<i64>,
    /// `deploy.resources.reservations.devices` (GPUs and the like).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DeviceRequest>,
}

impl Deploy {
    pub fn is_empty(&self) -> bool {
        *self == Deploy::default()
    }
}

/// A restart policy in the engine's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestartPolicy {
    /// `no`, `always`, `on-failure`, `unless-stopped`, or empty (the
    /// engine's default, no restart); anything else as written (see
    /// `RestartPolicy::unknown`).
    pub name: String,
    pub max_attempts: Option<i64>,
}

impl RestartPolicy {
    /// The condition as written when the engine has no such policy.
    pub fn unknown(&self) -> Option<&str> {
        (!matches!(
            self.name.as_str(),
            "" | "no" | "always" | "on-failure" | "unless-stopped"
        ))
        .then_some(self.name.as_str())
    }
}

/// A request for devices from a driver (`deploy.resources.reservations.devices`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceRequest {
    pub capabilities: Vec<String>,
    pub driver: Option<String>,
    /// How many; -1 is all.
    pub count: Option<i64>,
    pub device_ids: Vec<String>,
    pub options: IndexMap<String, String>,
}

/// One service as resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service {
    pub name: String,
    /// The image to run: `image:`, or `<project>-<service>` for a service
    /// that is only built (as docker compose names it).
    pub image: String,
    /// How to build the image, when the service says so. Left out of the
    /// hash when absent, so services without it keep their hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<Build>,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub environment: IndexMap<String, String>,
    pub ports: Vec<Port>,
    pub expose: Vec<String>,
    pub mounts: Vec<Mount>,
    /// Network key → extra aliases (the service name is always an alias).
    pub networks: IndexMap<String, Vec<String>>,
    pub depends_on: IndexMap<String, Condition>,
    pub healthcheck: Option<Healthcheck>,
    pub labels: IndexMap<String, String>,
    pub restart: Option<String>,
    pub container_name: Option<String>,
    pub hostname: Option<String>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub extra_hosts: Vec<String>,
    pub stop_grace_period_ms: Option<u64>,
    pub stop_signal: Option<String>,
    pub ulimits: IndexMap<String, Ulimit>,
    pub profiles: Vec<String>,
    /// `always`, `missing` (the default), `never` or `build`, as compose
    /// normalises them. Left out of the hash when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_policy: Option<String>,
    #[serde(flatten)]
    pub settings: Settings,
    #[serde(skip_serializing_if = "Deploy::is_empty")]
    pub deploy: Deploy,
    /// How many containers run it (`scale`, `deploy.replicas`; 1 when
    /// neither), numbered from 1. Left out of the hash, as compose leaves
    /// it out: scaling adds or removes containers, it changes none.
    #[serde(skip)]
    pub replicas: u32,
    #[serde(skip)]
    pub limits: Limits,
}

impl Service {
    /// Compose's default grace period is ten seconds.
    pub fn grace_period_secs(&self) -> i64 {
        self.stop_grace_period_ms
            .map(|ms| ms.div_ceil(1000) as i64)
            .unwrap_or(10)
    }

    /// Whether the service has a healthcheck that runs.
    pub fn has_healthcheck(&self) -> bool {
        self.healthcheck
            .as_ref()
            .is_some_and(|h| h.test.first().map(String::as_str) != Some("NONE"))
    }

    /// The hash of everything that needs a new container when it changes.
    /// Limits are left out: they are updated in place.
    pub fn config_hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let json = serde_json::to_vec(self).expect("service serializes");
        let digest = Sha256::digest(&json);
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}
