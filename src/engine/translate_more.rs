//! The engine's terms of the settings that name other containers
//! (`network_mode`, `links`, `volumes_from`), of the block I/O, real-time
//! CPU, GPU and namespace settings, and the check of the settings the
//! negotiated API version cannot carry. Pure, like `translate`.

use bollard::models::{
    DeviceRequest, HostConfig, HostConfigCgroupnsModeEnum, HostConfigIsolationEnum,
    ResourcesBlkioWeightDevice, ThrottleDevice,
};

use crate::compose::{Project, Service, Settings, container_name};

/// The container a service's containers are named by.
fn container_of(project: &Project, service: &str) -> String {
    match project.services.get(service) {
        Some(svc) => container_name(&project.name, svc),
        None => format!("{}-{service}-1", project.name),
    }
}

/// `service:NAME` is the namespace of that service's container
/// (`container:<name>`); `host`, `none`, `bridge` and `container:NAME`
/// are the engine's own.
pub(super) fn network_mode(project: &Project, mode: &str) -> String {
    match mode.strip_prefix("service:") {
        Some(svc) => format!("container:{}", container_of(project, svc)),
        None => mode.to_string(),
    }
}

/// The links of the container's first network, as compose makes them: a
/// linked service's container under the link's name, `SERVICE-1` and
/// `PROJECT-SERVICE-1`; an external link under its alias.
pub(super) fn links(project: &Project, svc: &Service) -> Option<Vec<String>> {
    let s = &svc.settings;
    let mut out = Vec::new();
    for link in &s.links {
        let (service, alias) = link.split_once(':').unwrap_or((link, link));
        let c = container_of(project, service);
        out.push(format!("{c}:{alias}"));
        out.push(format!("{c}:{service}-1"));
        out.push(format!("{c}:{}-{service}-1", project.name));
    }
    for link in &s.external_links {
        let (container, alias) = link.split_once(':').unwrap_or((link, link));
        out.push(format!("{container}:{alias}"));
    }
    (!out.is_empty()).then_some(out)
}

/// `SERVICE[:MODE]` is that service's container, `container:NAME[:MODE]`
/// the container named. The mode is kept (compose 2.40 drops it).
pub(super) fn volumes_from(project: &Project, svc: &Service) -> Option<Vec<String>> {
    let list: Vec<String> = svc
        .settings
        .volumes_from
        .iter()
        .map(|v| match v.strip_prefix("container:") {
            Some(rest) => rest.to_string(),
            None => match v.split_once(':') {
                Some((service, mode)) => format!("{}:{mode}", container_of(project, service)),
                None => container_of(project, v),
            },
        })
        .collect();
    (!list.is_empty()).then_some(list)
}

/// `base` with the settings of `settings_more` added.
pub(super) fn settings_more(s: &Settings, base: HostConfig) -> HostConfig {
    let throttle = |list: &Vec<(String, i64)>| {
        (!list.is_empty()).then(|| {
            list.iter()
                .map(|(path, rate)| ThrottleDevice {
                    path: Some(path.clone()),
                    rate: Some(*rate),
                })
                .collect()
        })
    };
    let d = &s.blkio_devices;
    HostConfig {
        blkio_weight_device: (!d.weight_device.is_empty()).then(|| {
            d.weight_device
                .iter()
                .map(|(path, w)| ResourcesBlkioWeightDevice {
                    path: Some(path.clone()),
                    weight: Some(*w as usize),
                })
                .collect()
        }),
        blkio_device_read_bps: throttle(&d.device_read_bps),
        blkio_device_write_bps: throttle(&d.device_write_bps),
        blkio_device_read_iops: throttle(&d.device_read_iops),
        blkio_device_write_iops: throttle(&d.device_write_iops),
        cpu_realtime_runtime: s.cpu_rt_runtime,
        cpu_realtime_period: s.cpu_rt_period,
        cpu_count: s.cpu_count,
        cpu_percent: s.cpu_percent,
        storage_opt: (!s.storage_opt.is_empty())
            .then(|| s.storage_opt.clone().into_iter().collect()),
        annotations: (!s.annotations.is_empty())
            .then(|| s.annotations.clone().into_iter().collect()),
        uts_mode: s.uts.clone(),
        cgroupns_mode: s.cgroup.as_deref().map(|c| match c {
            "host" => HostConfigCgroupnsModeEnum::HOST,
            _ => HostConfigCgroupnsModeEnum::PRIVATE,
        }),
        device_cgroup_rules: (!s.device_cgroup_rules.is_empty())
            .then(|| s.device_cgroup_rules.clone()),
        // Only `default` gets past the compose layer.
        isolation: s
            .isolation
            .as_ref()
            .map(|_| HostConfigIsolationEnum::DEFAULT),
        device_requests: (!s.gpus.is_empty()).then(|| {
            s.gpus
                .iter()
                .map(|g| DeviceRequest {
                    driver: g.driver.clone(),
                    count: g.count,
                    device_ids: (!g.device_ids.is_empty()).then(|| g.device_ids.clone()),
                    // A request without capabilities asks for GPUs.
                    capabilities: Some(vec![if g.capabilities.is_empty() {
                        vec!["gpu".to_string()]
                    } else {
                        g.capabilities.clone()
                    }]),
                    options: (!g.options.is_empty())
                        .then(|| g.options.clone().into_iter().collect()),
                })
                .collect()
        }),
        ..base
    }
}

/// The services whose container a service's container holds by id once
/// created: the one whose network namespace it joins, those it takes
/// volumes from. (A link names the container, and follows the name.)
pub(crate) fn held_services(s: &Settings) -> Vec<String> {
    let mut out: Vec<String> = s
        .network_mode
        .as_deref()
        .and_then(|m| m.strip_prefix("service:"))
        .map(str::to_string)
        .into_iter()
        .collect();
    for v in &s.volumes_from {
        if !v.starts_with("container:") {
            out.push(v.split(':').next().unwrap_or(v).to_string());
        }
    }
    out
}

/// `major.minor` of an API version (`1.41`).
fn version(v: &str) -> (u32, u32) {
    let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// The first setting of the project that the engine's API version cannot
/// carry, as a sentence naming the service, the key and the version it
/// needs. Compose fails on `healthcheck.start_interval` the same way; it
/// drops `annotations` and sends `mac_address` in a field this client no
/// longer has, so mrctl refuses both rather than run without them.
pub(crate) fn api_gate(project: &Project, api_version: &str) -> Result<(), String> {
    let have = version(api_version);
    for svc in project.services.values() {
        let needs: [(&str, bool, (u32, u32), &str); 3] = [
            (
                "healthcheck.start_interval",
                svc.healthcheck
                    .as_ref()
                    .is_some_and(|h| h.start_interval_ms.is_some()),
                (1, 44),
                "Docker Engine 25",
            ),
            (
                "annotations",
                !svc.settings.annotations.is_empty(),
                (1, 43),
                "Docker Engine 24",
            ),
            (
                "mac_address",
                svc.settings.mac_address.is_some(),
                (1, 44),
                "Docker Engine 25",
            ),
        ];
        for (key, used, need, engine) in needs {
            if used && have < need {
                return Err(format!(
                    "service `{}`: `{key}` needs engine API {}.{} ({engine} or later); this engine speaks {api_version}",
                    svc.name, need.0, need.1
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "translate_more_tests.rs"]
mod tests;
