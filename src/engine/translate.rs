//! The compose model in the engine's terms, pure: a service becomes a
//! container create body, a network or volume a create request. Each part
//! of the body is its own small function so that each can be checked alone.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, Mount as DockerMount,
    MountType, MountVolumeOptions, NetworkCreateRequest, NetworkingConfig, PortBinding,
    ResourcesUlimits, RestartPolicy, RestartPolicyNameEnum, VolumeCreateRequest,
};

use super::labels;
use super::up::UpOptions;
use crate::compose::{Healthcheck, MountKind, Network, Project, Service, Volume};

/// Published ports by `target/protocol`, as the engine takes them.
type PortBindings = HashMap<String, Option<Vec<PortBinding>>>;

/// Labels every resource of an instance carries.
pub(super) fn base_labels(project: &Project, opts: &UpOptions) -> HashMap<String, String> {
    let mut l = opts.identity.labels(&opts.instance);
    l.insert(labels::PROJECT.to_string(), project.name.clone());
    l.insert(
        labels::VERSION.to_string(),
        labels::COMPOSE_VERSION.to_string(),
    );
    l
}

/// A container's labels: the service's own, then those docker compose reads
/// and mrctl's identity (which win over the service's).
fn container_labels(
    project: &Project,
    svc: &Service,
    number: u32,
    hash: &str,
    opts: &UpOptions,
) -> HashMap<String, String> {
    let mut labels: HashMap<String, String> = svc.labels.clone().into_iter().collect();
    labels.extend(base_labels(project, opts));
    labels.insert(labels::SERVICE.into(), svc.name.clone());
    labels.insert(labels::NUMBER.into(), number.to_string());
    labels.insert(labels::ONEOFF.into(), "False".into());
    labels.insert(labels::CONFIG_HASH.into(), hash.to_string());
    labels.insert(
        labels::WORKING_DIR.into(),
        project.working_dir.to_string_lossy().into_owned(),
    );
    labels.insert(
        labels::CONFIG_FILES.into(),
        project
            .config_files
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(","),
    );
    labels.insert(
        labels::DEPENDS_ON.into(),
        svc.depends_on
            .iter()
            .map(|(d, c)| format!("{d}:{}:false", c.as_str()))
            .collect::<Vec<_>>()
            .join(","),
    );
    labels
}

/// `target/protocol` of every published and exposed port, published first,
/// each once; an `expose` without a protocol is TCP.
fn exposed_ports(svc: &Service) -> Vec<String> {
    let mut exposed: Vec<String> = Vec::new();
    let published = svc
        .ports
        .iter()
        .map(|p| format!("{}/{}", p.target, p.protocol));
    let expose = svc.expose.iter().map(|e| {
        if e.contains('/') {
            e.clone()
        } else {
            format!("{e}/tcp")
        }
    });
    for key in published.chain(expose) {
        if !exposed.contains(&key) {
            exposed.push(key);
        }
    }
    exposed
}

/// The published ports; a port without a host port gets an empty one, which
/// lets the engine choose.
fn port_bindings(svc: &Service) -> PortBindings {
    let mut bindings = PortBindings::new();
    for p in &svc.ports {
        bindings
            .entry(format!("{}/{}", p.target, p.protocol))
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(PortBinding {
                host_ip: p.host_ip.clone(),
                host_port: p.host_port().or(Some(String::new())),
            });
    }
    bindings
}

/// The service's bind mounts as `source:target[:ro]`. Binds (not Mounts) so
/// that a missing host directory is created, as compose does.
fn binds(svc: &Service) -> Vec<String> {
    svc.mounts
        .iter()
        .filter(|m| m.kind == MountKind::Bind)
        .map(|m| {
            format!(
                "{}:{}{}",
                m.source.clone().unwrap_or_default(),
                m.target,
                if m.read_only { ":ro" } else { "" }
            )
        })
        .collect()
}

/// The service's volumes (named by the engine's name of the volume;
/// anonymous ones labelled as the instance's) and tmpfs mounts.
fn mounts(project: &Project, svc: &Service, opts: &UpOptions) -> Vec<DockerMount> {
    svc.mounts
        .iter()
        .filter_map(|m| match m.kind {
            MountKind::Bind => None,
            MountKind::Volume => {
                let source = m.source.as_ref().map(|k| project.volumes[k].name.clone());
                let volume_options = source.is_none().then(|| MountVolumeOptions {
                    labels: Some(base_labels(project, opts)),
                    ..Default::default()
                });
                Some(DockerMount {
                    target: Some(m.target.clone()),
                    source,
                    typ: Some(MountType::VOLUME),
                    read_only: Some(m.read_only),
                    volume_options,
                    ..Default::default()
                })
            }
            MountKind::Tmpfs => Some(DockerMount {
                target: Some(m.target.clone()),
                typ: Some(MountType::TMPFS),
                ..Default::default()
            }),
        })
        .collect()
}

/// `always`, `unless-stopped`, `on-failure[:N]`; anything else is `no`.
fn restart_policy(restart: Option<&str>) -> Option<RestartPolicy> {
    restart.map(|r| {
        let (name, count) = match r {
            "always" => (RestartPolicyNameEnum::ALWAYS, None),
            "unless-stopped" => (RestartPolicyNameEnum::UNLESS_STOPPED, None),
            r if r.starts_with("on-failure") => (
                RestartPolicyNameEnum::ON_FAILURE,
                r.split_once(':').and_then(|(_, n)| n.parse().ok()),
            ),
            _ => (RestartPolicyNameEnum::NO, None),
        };
        RestartPolicy {
            name: Some(name),
            maximum_retry_count: count,
        }
    })
}

fn ms_to_ns(ms: Option<u64>) -> Option<i64> {
    ms.map(|m| (m as i64).saturating_mul(1_000_000))
}

/// The healthcheck, its durations in nanoseconds.
fn healthcheck(h: Option<&Healthcheck>) -> Option<HealthConfig> {
    h.map(|h| HealthConfig {
        test: Some(h.test.clone()),
        interval: ms_to_ns(h.interval_ms),
        timeout: ms_to_ns(h.timeout_ms),
        start_period: ms_to_ns(h.start_period_ms),
        retries: h.retries,
        ..Default::default()
    })
}

/// The endpoint of a service on one network: the service name and the
/// network's extra aliases.
pub(super) fn endpoint(svc: &Service, aliases: &[String]) -> EndpointSettings {
    let mut all = vec![svc.name.clone()];
    all.extend(aliases.iter().cloned());
    EndpointSettings {
        aliases: Some(all),
        ..Default::default()
    }
}

/// The network a container joins at create: the service's first, by name.
/// By name, the engine resolves it when the container starts, so whichever
/// twin `dedupe_network` keeps is the one it joins. (API 1.41 attaches one
/// network at create; the others are connected after it.)
fn network_mode(project: &Project, svc: &Service) -> Option<String> {
    svc.networks
        .keys()
        .next()
        .map(|k| project.networks[k].name.clone())
}

/// The first network's endpoint, with its aliases.
fn networking_config(project: &Project, svc: &Service) -> Option<NetworkingConfig> {
    svc.networks
        .iter()
        .next()
        .map(|(key, aliases)| NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                project.networks[key].name.clone(),
                endpoint(svc, aliases),
            )])),
        })
}

fn ulimits(svc: &Service) -> Option<Vec<ResourcesUlimits>> {
    (!svc.ulimits.is_empty()).then(|| {
        svc.ulimits
            .iter()
            .map(|(n, u)| ResourcesUlimits {
                name: Some(n.clone()),
                soft: Some(u.soft),
                hard: Some(u.hard),
            })
            .collect()
    })
}

/// The host part of the body: mounts, ports, restart, limits, network.
fn host_config(project: &Project, svc: &Service, opts: &UpOptions) -> HostConfig {
    let binds = binds(svc);
    let mounts = mounts(project, svc, opts);
    let bindings = port_bindings(svc);
    HostConfig {
        binds: (!binds.is_empty()).then_some(binds),
        mounts: (!mounts.is_empty()).then_some(mounts),
        port_bindings: (!bindings.is_empty()).then_some(bindings),
        restart_policy: match &svc.deploy.restart {
            Some(policy) => Some(deploy_restart_policy(policy)),
            None => restart_policy(svc.restart.as_deref()),
        },
        extra_hosts: (!svc.extra_hosts.is_empty()).then(|| svc.extra_hosts.clone()),
        memory: svc.limits.memory,
        nano_cpus: svc.limits.nano_cpus,
        pids_limit: svc.limits.pids,
        ulimits: ulimits(svc),
        network_mode: network_mode(project, svc),
        device_requests: device_requests(&svc.deploy.devices),
        memory_reservation: svc.deploy.mem_reservation.or(svc.settings.mem_reservation),
        ..settings(&svc.settings)
    }
}

/// `deploy.restart_policy`, already in the engine's names.
fn deploy_restart_policy(p: &crate::compose::RestartPolicy) -> RestartPolicy {
    let name = match p.name.as_str() {
        "always" => RestartPolicyNameEnum::ALWAYS,
        "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
        "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
        "no" => RestartPolicyNameEnum::NO,
        _ => RestartPolicyNameEnum::EMPTY,
    };
    RestartPolicy {
        name: Some(name),
        maximum_retry_count: p.max_attempts,
    }
}

/// `deploy.resources.reservations.devices` as the engine's device requests.
fn device_requests(
    devices: &[crate::compose::DeviceRequest],
) -> Option<Vec<bollard::models::DeviceRequest>> {
    (!devices.is_empty()).then(|| {
        devices
            .iter()
            .map(|d| bollard::models::DeviceRequest {
                driver: d.driver.clone(),
                count: d.count,
                device_ids: (!d.device_ids.is_empty()).then(|| d.device_ids.clone()),
                capabilities: Some(vec![d.capabilities.clone()]),
                options: (!d.options.is_empty()).then(|| d.options.clone().into_iter().collect()),
            })
            .collect()
    })
}

/// Capabilities as docker compose sends them: upper case with the `CAP_`
/// prefix (`ALL` as it is).
fn caps(list: &[String]) -> Option<Vec<String>> {
    (!list.is_empty()).then(|| {
        list.iter()
            .map(|c| {
                let c = c.to_ascii_uppercase();
                if c == "ALL" || c.starts_with("CAP_") {
                    c
                } else {
                    format!("CAP_{c}")
                }
            })
            .collect()
    })
}

/// The host configuration of the settings applied as written.
fn settings(s: &crate::compose::Settings) -> HostConfig {
    let list = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    HostConfig {
        privileged: s.privileged.then_some(true),
        init: s.init,
        readonly_rootfs: s.read_only.then_some(true),
        cap_add: caps(&s.cap_add),
        cap_drop: caps(&s.cap_drop),
        security_opt: list(&s.security_opt),
        dns: list(&s.dns),
        dns_search: list(&s.dns_search),
        dns_options: list(&s.dns_opt),
        group_add: list(&s.group_add),
        shm_size: s.shm_size,
        sysctls: (!s.sysctls.is_empty()).then(|| s.sysctls.clone().into_iter().collect()),
        pid_mode: s.pid.clone(),
        ipc_mode: s.ipc.clone(),
        userns_mode: s.userns_mode.clone(),
        cgroup_parent: s.cgroup_parent.clone(),
        runtime: s.runtime.clone(),
        oom_score_adj: s.oom_score_adj,
        oom_kill_disable: s.oom_kill_disable.then_some(true),
        memory_reservation: s.mem_reservation,
        memory_swap: s.memswap_limit,
        memory_swappiness: s.mem_swappiness,
        cpu_shares: s.cpu_shares,
        cpu_period: s.cpu_period,
        cpu_quota: s.cpu_quota,
        cpuset_cpus: s.cpuset.clone(),
        blkio_weight: s.blkio_weight.map(|w| w as u16),
        // `/path:options` → path → options, as the engine takes them.
        log_config: s
            .logging
            .as_ref()
            .map(|l| bollard::models::HostConfigLogConfig {
                typ: l.driver.clone(),
                config: (!l.options.is_empty()).then(|| l.options.clone().into_iter().collect()),
            }),
        devices: (!s.devices.is_empty()).then(|| {
            s.devices
                .iter()
                .map(|d| bollard::models::DeviceMapping {
                    path_on_host: Some(d.source.clone()),
                    path_in_container: Some(d.target.clone()),
                    cgroup_permissions: Some(d.permissions.clone()),
                })
                .collect()
        }),
        tmpfs: (!s.tmpfs.is_empty()).then(|| {
            s.tmpfs
                .iter()
                .map(|t| match t.split_once(':') {
                    Some((path, options)) => (path.to_string(), options.to_string()),
                    None => (t.clone(), String::new()),
                })
                .collect()
        }),
        ..Default::default()
    }
}

/// The engine's create body of a service's container number `number`.
pub(super) fn container_body(
    project: &Project,
    svc: &Service,
    number: u32,
    hash: &str,
    opts: &UpOptions,
) -> ContainerCreateBody {
    let exposed = exposed_ports(svc);
    ContainerCreateBody {
        image: Some(svc.image.clone()),
        cmd: svc.command.clone(),
        entrypoint: svc.entrypoint.clone(),
        env: Some(
            svc.environment
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
        ),
        labels: Some(container_labels(project, svc, number, hash, opts)),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        hostname: svc.hostname.clone(),
        user: svc.user.clone(),
        working_dir: svc.working_dir.clone(),
        stop_signal: svc.stop_signal.clone(),
        stop_timeout: Some(svc.grace_period_secs()),
        tty: svc.settings.tty.then_some(true),
        open_stdin: svc.settings.stdin_open.then_some(true),
        domainname: svc.settings.domainname.clone(),
        healthcheck: healthcheck(svc.healthcheck.as_ref()),
        host_config: Some(host_config(project, svc, opts)),
        networking_config: networking_config(project, svc),
        ..Default::default()
    }
}

/// The create request of the project's network `key`.
pub(super) fn network_request(
    project: &Project,
    key: &str,
    net: &Network,
    opts: &UpOptions,
) -> NetworkCreateRequest {
    let mut labels = base_labels(project, opts);
    labels.insert(labels::NETWORK.into(), key.to_string());
    labels.extend(net.labels.clone());
    NetworkCreateRequest {
        name: net.name.clone(),
        driver: net.driver.clone(),
        internal: Some(net.internal),
        labels: Some(labels),
        options: (!net.driver_opts.is_empty())
            .then(|| net.driver_opts.clone().into_iter().collect()),
        ..Default::default()
    }
}

/// The create request of the project's volume `key`.
pub(super) fn volume_request(
    project: &Project,
    key: &str,
    vol: &Volume,
    opts: &UpOptions,
) -> VolumeCreateRequest {
    let mut labels = base_labels(project, opts);
    labels.insert(labels::VOLUME.into(), key.to_string());
    labels.extend(vol.labels.clone());
    VolumeCreateRequest {
        name: Some(vol.name.clone()),
        driver: vol.driver.clone(),
        driver_opts: (!vol.driver_opts.is_empty())
            .then(|| vol.driver_opts.clone().into_iter().collect()),
        labels: Some(labels),
        ..Default::default()
    }
}

#[cfg(test)]
#[path = "translate_tests.rs"]
mod tests;
