//! The compose model in the engine's terms, pure: a service becomes a
//! container create body, a network or volume a create request. Each part
//! of the body is its own small function so that each can be checked alone.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HealthConfig, HostConfig, Ipam,
    IpamConfig, NetworkCreateRequest, NetworkingConfig, PortBinding, ResourcesUlimits,
    RestartPolicy, RestartPolicyNameEnum, VolumeCreateRequest,
};

use super::labels;
use super::up::UpOptions;
use crate::compose::{Healthcheck, Network, Project, Service, Volume};

mod mounts;
use mounts::{binds, mounts};

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

/// What a container's labels record of what it was made from: the
/// service's config hash and the ID of the image it runs (when the engine
/// has it), the two things docker compose compares before keeping a
/// container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Stamp {
    pub hash: String,
    pub image_id: Option<String>,
}

/// A container's labels: the service's own, then those docker compose
/// writes (the same keys and values) and mrctl's identity (which win over
/// the service's).
fn container_labels(
    project: &Project,
    svc: &Service,
    number: u32,
    stamp: &Stamp,
    opts: &UpOptions,
) -> HashMap<String, String> {
    let mut labels: HashMap<String, String> = svc.labels.clone().into_iter().collect();
    labels.extend(base_labels(project, opts));
    labels.insert(labels::SERVICE.into(), svc.name.clone());
    labels.insert(labels::NUMBER.into(), number.to_string());
    labels.insert(labels::ONEOFF.into(), "False".into());
    labels.insert(labels::CONFIG_HASH.into(), stamp.hash.clone());
    if let Some(id) = &stamp.image_id {
        labels.insert(labels::IMAGE.into(), id.clone());
    }
    labels.insert(
        labels::WORKING_DIR.into(),
        project.working_dir.to_string_lossy().into_owned(),
    );
    labels.insert(labels::CONFIG_FILES.into(), joined(&project.config_files));
    if !opts.env_files.is_empty() {
        labels.insert(labels::ENVIRONMENT_FILE.into(), joined(&opts.env_files));
    }
    labels.insert(labels::DEPENDS_ON.into(), depends_on(project, svc));
    labels
}

fn joined(paths: &[std::path::PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(",")
}

/// `service:condition:restart` of each dependency, comma-separated;
/// `restart` is the dependency's `restart:` flag as written.
fn depends_on(project: &Project, svc: &Service) -> String {
    let written = project
        .document
        .get("services")
        .and_then(|s| s.get(&svc.name))
        .and_then(|s| s.get("depends_on"));
    svc.depends_on
        .iter()
        .map(|(dep, condition)| {
            let restart = written
                .and_then(|d| d.get(dep))
                .and_then(|d| d.get("restart"))
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false);
            format!("{dep}:{}:{restart}", condition.as_str())
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The exposed ports as compose sends them: `target/protocol` of every
/// published port, then each `expose` entry as written (`9000` stays
/// `9000`, which the engine reads as TCP), each key once.
fn exposed_ports(svc: &Service) -> Vec<String> {
    let mut exposed: Vec<String> = Vec::new();
    let published = svc
        .ports
        .iter()
        .map(|p| format!("{}/{}", p.target, p.protocol));
    for key in published.chain(svc.expose.iter().cloned()) {
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
        start_interval: ms_to_ns(h.start_interval_ms),
        retries: h.retries,
    })
}

/// The endpoint of a service on network `key`, as docker compose makes it:
/// the container's name, the service's and the extra aliases, and the
/// service's addresses, MAC address, driver options and gateway priority
/// there.
pub(super) fn endpoint(svc: &Service, key: &str, container: &str) -> EndpointSettings {
    let mut aliases = vec![container.to_string(), svc.name.clone()];
    aliases.extend(svc.networks.get(key).cloned().unwrap_or_default());
    let configured = svc.endpoints.contains_key(key);
    let e = svc.endpoints.get(key).cloned().unwrap_or_default();
    EndpointSettings {
        aliases: Some(aliases),
        ipam_config: configured.then(|| EndpointIpamConfig {
            ipv4_address: e.ipv4_address.clone(),
            ipv6_address: e.ipv6_address.clone(),
            link_local_ips: (!e.link_local_ips.is_empty()).then(|| e.link_local_ips.clone()),
        }),
        ip_address: e.ipv4_address.clone(),
        mac_address: e.mac_address.clone(),
        driver_opts: (!e.driver_opts.is_empty())
            .then(|| e.driver_opts.clone().into_iter().collect()),
        gw_priority: e.gw_priority,
        ..Default::default()
    }
}

/// The network a container joins at create: the service's own
/// `network_mode`, or its first network by priority, by name. By name, the
/// engine resolves it when the container starts, so whichever twin
/// `dedupe_network` keeps is the one it joins. (API 1.41 attaches one
/// network at create; the others are connected after it, in order.)
fn network_mode(project: &Project, svc: &Service) -> Option<String> {
    if let Some(mode) = &svc.settings.network_mode {
        return Some(super::translate_more::network_mode(project, mode));
    }
    svc.networks_by_priority()
        .first()
        .map(|k| project.networks[*k].name.clone())
}

/// The endpoint on the network joined at create: it also carries the
/// service's links and its service-level MAC address, as compose sends them.
fn first_endpoint(project: &Project, svc: &Service, key: &str, number: u32) -> EndpointSettings {
    let e = endpoint(
        svc,
        key,
        &crate::compose::replica_name(&project.name, svc, number),
    );
    EndpointSettings {
        links: super::translate_more::links(project, svc),
        mac_address: svc.settings.mac_address.clone().or(e.mac_address.clone()),
        ..e
    }
}

/// The first network's endpoint.
fn networking_config(project: &Project, svc: &Service, number: u32) -> Option<NetworkingConfig> {
    svc.networks_by_priority()
        .first()
        .map(|key| NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                project.networks[*key].name.clone(),
                first_endpoint(project, svc, key, number),
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
    let more = super::translate_more::settings_more(&svc.settings, settings(&svc.settings));
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
        volumes_from: super::translate_more::volumes_from(project, svc),
        // `deploy`'s device reservations, then `gpus`.
        device_requests: match (
            device_requests(&svc.deploy.devices),
            more.device_requests.clone(),
        ) {
            (Some(mut a), Some(b)) => {
                a.extend(b);
                Some(a)
            }
            (a, b) => a.or(b),
        },
        memory_reservation: svc.deploy.mem_reservation.or(svc.settings.mem_reservation),
        ..more
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
    stamp: &Stamp,
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
        labels: Some(container_labels(project, svc, number, stamp, opts)),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        hostname: svc.hostname.clone(),
        user: svc.user.clone(),
        working_dir: svc.working_dir.clone(),
        stop_signal: svc.stop_signal.clone(),
        // As compose: only a grace period the file sets (the engine's
        // default is compose's ten seconds).
        stop_timeout: svc.stop_grace_period_ms.map(|_| svc.grace_period_secs()),
        tty: svc.settings.tty.then_some(true),
        open_stdin: svc.settings.stdin_open.then_some(true),
        domainname: svc.settings.domainname.clone(),
        healthcheck: healthcheck(svc.healthcheck.as_ref()),
        host_config: Some(host_config(project, svc, opts)),
        networking_config: networking_config(project, svc, number),
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
    if let Some(hash) = project.config_hashes().networks.get(key) {
        labels.insert(labels::CONFIG_HASH.into(), hash.clone());
    }
    let ipam = (net.ipam.driver.is_some() || !net.ipam.config.is_empty()).then(|| Ipam {
        driver: net.ipam.driver.clone(),
        config: (!net.ipam.config.is_empty()).then(|| {
            net.ipam
                .config
                .iter()
                .map(|p| IpamConfig {
                    subnet: p.subnet.clone(),
                    ip_range: p.ip_range.clone(),
                    gateway: p.gateway.clone(),
                    auxiliary_addresses: (!p.aux_addresses.is_empty())
                        .then(|| p.aux_addresses.clone().into_iter().collect()),
                })
                .collect()
        }),
        options: None,
    });
    NetworkCreateRequest {
        name: net.name.clone(),
        driver: net.driver.clone(),
        internal: Some(net.internal),
        attachable: net.attachable.then_some(true),
        enable_ipv6: net.enable_ipv6,
        ipam,
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
    if let Some(hash) = project.config_hashes().volumes.get(key) {
        labels.insert(labels::CONFIG_HASH.into(), hash.clone());
    }
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
