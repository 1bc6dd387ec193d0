//! The resolved compose project: typed services, networks and volumes after
//! interpolation and merging. Pure data; the engine turns it into containers.

use std::path::PathBuf;

use indexmap::IndexMap;
use serde::Serialize;

mod attach;
pub use attach::*;

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
    /// Top-level secrets the active services use, by key.
    pub secrets: IndexMap<String, FileObject>,
    /// Top-level configs the active services use, by key.
    pub configs: IndexMap<String, FileObject>,
    /// Variables used but not set (each becomes an empty string, as in compose).
    pub unset_variables: Vec<String>,
    /// What resolving skipped and the user should hear about (an optional
    /// dependency that is not active).
    pub warnings: Vec<String>,
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
    pub attachable: bool,
    /// `enable_ipv6` as written (compose prints `false` when written).
    pub enable_ipv6: Option<bool>,
    pub ipam: Ipam,
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
/// The options are left out of the hash when unset, so mounts without them
/// keep their hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mount {
    pub kind: MountKind,
    /// Bind: absolute host path. Volume: the top-level key, or `None` for an anonymous volume.
    pub source: Option<String>,
    pub target: String,
    pub read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consistency: Option<String>,
    /// A bind's options (`bind:`, or the short form's `z`, `rslave`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<BindOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume: Option<VolumeOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmpfs: Option<TmpfsOptions>,
}

impl Mount {
    /// A plain mount of `kind`, without options.
    pub fn new(kind: MountKind, source: Option<String>, target: String, read_only: bool) -> Mount {
        Mount {
            kind,
            source,
            target,
            read_only,
            consistency: None,
            bind: None,
            volume: None,
            tmpfs: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Healthcheck {
    /// `["CMD", ...]`, `["CMD-SHELL", "..."]` or `["NONE"]`.
    pub test: Vec<String>,
    pub interval_ms: Option<u64>,
    pub timeout_ms: Option<u64>,
    pub start_period_ms: Option<u64>,
    pub retries: Option<i64>,
    /// The probe interval during the start period (engine API 1.44).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_interval_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Ulimit {
    pub soft: i64,
    pub hard: i64,
}

/// Resource limits of one container: the service's own, lowered by the
/// instance's. The config hash (`compose::hash`) sees only the files, so an
/// instance's limits change in place (engine update) without making the
/// container again.
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
/// configuration and host configuration). Each is left out when unset.
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
    /// `blkio_config.weight`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blkio_weight: Option<i64>,
    /// `blkio_config`'s per-device weights and throttles.
    #[serde(skip_serializing_if = "BlkioDevices::is_empty")]
    pub blkio_devices: BlkioDevices,
    /// Microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_rt_runtime: Option<i64>,
    /// Microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_rt_period: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<i64>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub storage_opt: IndexMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub annotations: IndexMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uts: Option<String>,
    /// `host` or `private`: the cgroup namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_cgroup_rules: Vec<String>,
    /// Only `default` (the others are Windows isolation modes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub isolation: Option<String>,
    /// `host`, `none`, `bridge`, `service:NAME` or `container:NAME`, as
    /// written; a service with it joins none of the project's networks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    /// `SERVICE[:ALIAS]`, as written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    /// `CONTAINER[:ALIAS]`, as written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub external_links: Vec<String>,
    /// `SERVICE[:MODE]` or `container:NAME[:MODE]`, as written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes_from: Vec<String>,
    /// GPU device requests.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gpus: Vec<Gpu>,
    /// Commands run in the container after it starts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub post_start: Vec<Hook>,
    /// Commands run in the container before it is stopped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pre_stop: Vec<Hook>,
    /// Whether `up` attaches to the service's output; mrctl never attaches,
    /// so it changes nothing that runs (kept for `config`).
    #[serde(skip)]
    pub attach: Option<bool>,
    /// `develop:` (for `docker compose watch`; not used by `up`), in
    /// compose's canonical form, for `config`.
    #[serde(skip)]
    pub develop: Option<serde_json::Value>,
}

/// `blkio_config`'s device lists: weights, and rates in bytes or
/// operations per second.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BlkioDevices {
    pub weight_device: Vec<(String, i64)>,
    pub device_read_bps: Vec<(String, i64)>,
    pub device_write_bps: Vec<(String, i64)>,
    pub device_read_iops: Vec<(String, i64)>,
    pub device_write_iops: Vec<(String, i64)>,
}

impl BlkioDevices {
    pub fn is_empty(&self) -> bool {
        self.weight_device.is_empty()
            && self.device_read_bps.is_empty()
            && self.device_write_bps.is_empty()
            && self.device_read_iops.is_empty()
            && self.device_write_iops.is_empty()
    }
}

/// A lifecycle hook: a command run in the service's container.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Hook {
    pub command: Vec<String>,
    pub user: Option<String>,
    pub privileged: bool,
    pub working_dir: Option<String>,
    /// A variable without a value is passed as a bare name.
    pub environment: IndexMap<String, Option<String>>,
}

/// One GPU request (`gpus: all` is one with count -1).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Gpu {
    pub driver: Option<String>,
    /// -1 for all.
    pub count: Option<i64>,
    pub device_ids: Vec<String>,
    pub capabilities: Vec<String>,
    pub options: IndexMap<String, String>,
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
    /// How to build the image, when the service says so.
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
    /// Network key → the service's other settings there, for the networks
    /// written as a mapping.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub endpoints: IndexMap<String, Endpoint>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<FileRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub configs: Vec<FileRef>,
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
    /// normalises them.
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

    /// The service's network keys in the order docker compose joins them:
    /// by decreasing `priority`, then by key. The first is joined at create.
    pub fn networks_by_priority(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self.networks.keys().map(String::as_str).collect();
        let priority = |k: &str| self.endpoints.get(k).and_then(|e| e.priority).unwrap_or(0);
        keys.sort_by(|a, b| priority(b).cmp(&priority(a)).then(a.cmp(b)));
        keys
    }

    /// Whether the service has a healthcheck that runs.
    pub fn has_healthcheck(&self) -> bool {
        self.healthcheck
            .as_ref()
            .is_some_and(|h| h.test.first().map(String::as_str) != Some("NONE"))
    }
}
