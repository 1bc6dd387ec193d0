//! `scale` and `deploy`, as docker compose applies them without swarm:
//! the number of containers (`scale`, `deploy.replicas`), the restart
//! policy, the memory reservation and device requests, and the limits.
//! The swarm-only keys (`mode`, `labels`, `placement`, `update_config`,
//! `rollback_config`, `endpoint_mode`, CPU and generic reservations) are
//! checked for shape and otherwise left alone, as compose leaves them.

use serde_json::{Map, Value};

use super::fields::{R, string};
use super::load::{kind, scalar};
use super::model::{Deploy, DeviceRequest, RestartPolicy};
use crate::units::{parse_bytes, parse_duration};

const DEPLOY_KEYS: &[&str] = &[
    "mode",
    "replicas",
    "labels",
    "update_config",
    "rollback_config",
    "resources",
    "restart_policy",
    "placement",
    "endpoint_mode",
];
const UPDATE_KEYS: &[&str] = &[
    "parallelism",
    "delay",
    "failure_action",
    "monitor",
    "max_failure_ratio",
    "order",
];

/// The service's `deploy:` mapping, if any.
pub(super) fn section(svc: &Map<String, Value>) -> R<Option<&Map<String, Value>>> {
    match svc.get("deploy") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(d)) => Ok(Some(d)),
        Some(other) => Err(format!("`deploy` must be a mapping, not {}", kind(other))),
    }
}

/// A whole number of at least zero.
fn count(v: &Value, key: &str) -> R<u32> {
    scalar(v)
        .and_then(|s| s.parse::<u32>().ok())
        .ok_or_else(|| format!("`{key}` must be a whole number of at least 0"))
}

fn mapping<'a>(v: &'a Value, key: &str) -> R<&'a Map<String, Value>> {
    match v {
        Value::Object(m) => Ok(m),
        other => Err(format!("`{key}` must be a mapping, not {}", kind(other))),
    }
}

fn only(m: &Map<String, Value>, allowed: &[&str], key: &str) -> R<()> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!("`{key}.{k}` is not a compose key")),
        None => Ok(()),
    }
}

/// How many containers run the service: `scale`, else `deploy.replicas`,
/// else one. Both given must agree, as compose requires; more than one
/// container cannot share a `container_name`.
pub(super) fn replicas(svc: &Map<String, Value>) -> R<u32> {
    let scale = match svc.get("scale") {
        None | Some(Value::Null) => None,
        Some(v) => Some(count(v, "scale")?),
    };
    let deploy = match section(svc)?.and_then(|d| d.get("replicas")) {
        None | Some(Value::Null) => None,
        Some(v) => Some(count(v, "deploy.replicas")?),
    };
    let n = match (scale, deploy) {
        (Some(s), Some(d)) if s != d => {
            return Err(format!(
                "`scale` ({s}) and `deploy.replicas` ({d}) differ; give one, or the same number in both"
            ));
        }
        (Some(n), _) | (None, Some(n)) => n,
        (None, None) => 1,
    };
    if n > 1 && svc.get("container_name").is_some_and(|v| !v.is_null()) {
        return Err(format!(
            "`container_name` names one container, but the service runs {n} (`scale`/`deploy.replicas`); remove one of them"
        ));
    }
    Ok(n)
}

fn duration(v: Option<&Value>, key: &str) -> R<()> {
    match v {
        None | Some(Value::Null) => Ok(()),
        Some(v) => {
            let s = string(v, key)?;
            parse_duration(&s)
                .map(|_| ())
                .ok_or_else(|| format!("`{key}`: `{s}` is not a duration (e.g. `10s`, `1m30s`)"))
        }
    }
}

/// What `deploy` applies to a container, after checking every key of it.
pub(super) fn deploy(svc: &Map<String, Value>) -> R<Deploy> {
    let mut out = Deploy::default();
    let Some(d) = section(svc)? else {
        return Ok(out);
    };
    only(d, DEPLOY_KEYS, "deploy")?;
    for key in ["mode", "endpoint_mode"] {
        if let Some(v) = d.get(key).filter(|v| !v.is_null()) {
            string(v, &format!("deploy.{key}"))?;
        }
    }
    if let Some(v) = d.get("labels").filter(|v| !v.is_null())
        && !matches!(v, Value::Object(_) | Value::Array(_))
    {
        return Err(format!(
            "`deploy.labels` must be a mapping or a list, not {}",
            kind(v)
        ));
    }
    for key in ["update_config", "rollback_config"] {
        if let Some(v) = d.get(key).filter(|v| !v.is_null()) {
            let full = format!("deploy.{key}");
            let m = mapping(v, &full)?;
            only(m, UPDATE_KEYS, &full)?;
            duration(m.get("delay"), &format!("{full}.delay"))?;
            duration(m.get("monitor"), &format!("{full}.monitor"))?;
        }
    }
    if let Some(v) = d.get("placement").filter(|v| !v.is_null()) {
        let m = mapping(v, "deploy.placement")?;
        only(
            m,
            &["constraints", "preferences", "max_replicas_per_node"],
            "deploy.placement",
        )?;
    }
    if let Some(v) = d.get("restart_policy").filter(|v| !v.is_null()) {
        out.restart = Some(restart_policy(mapping(v, "deploy.restart_policy")?)?);
    }
    if let Some(v) = d.get("resources").filter(|v| !v.is_null()) {
        let r = mapping(v, "deploy.resources")?;
        only(r, &["limits", "reservations"], "deploy.resources")?;
        if let Some(v) = r.get("reservations").filter(|v| !v.is_null()) {
            reservations(mapping(v, "deploy.resources.reservations")?, svc, &mut out)?;
        }
    }
    Ok(out)
}

/// `deploy.restart_policy` as the engine's policy: `none` is `no`, `any`
/// is `always`; `max_attempts` is the retry count. No `condition` leaves
/// the policy's name empty, as compose sends it. Any other condition is
/// kept as written, as compose keeps it (`config` prints it); the engine
/// knows no such policy, so `start` refuses it.
fn restart_policy(m: &Map<String, Value>) -> R<RestartPolicy> {
    const KEY: &str = "deploy.restart_policy";
    only(m, &["condition", "delay", "max_attempts", "window"], KEY)?;
    duration(m.get("delay"), &format!("{KEY}.delay"))?;
    duration(m.get("window"), &format!("{KEY}.window"))?;
    let condition = match m.get("condition").filter(|v| !v.is_null()) {
        None => String::new(),
        Some(v) => string(v, &format!("{KEY}.condition"))?,
    };
    let name = match condition.as_str() {
        "none" | "no" => "no",
        "any" | "always" => "always",
        other => other,
    };
    let max_attempts = match m.get("max_attempts").filter(|v| !v.is_null()) {
        None => None,
        Some(v) => Some(count(v, &format!("{KEY}.max_attempts"))? as i64),
    };
    Ok(RestartPolicy {
        name: name.to_string(),
        max_attempts,
    })
}

/// `deploy.resources.reservations`: the memory reservation and device
/// requests apply to the container; CPUs and generic resources are swarm's.
fn reservations(r: &Map<String, Value>, svc: &Map<String, Value>, out: &mut Deploy) -> R<()> {
    const KEY: &str = "deploy.resources.reservations";
    only(r, &["cpus", "memory", "devices", "generic_resources"], KEY)?;
    if let Some(v) = r.get("cpus").filter(|v| !v.is_null()) {
        let s = string(v, &format!("{KEY}.cpus"))?;
        s.parse::<f64>()
            .ok()
            .filter(|c| *c >= 0.0)
            .ok_or_else(|| format!("`{KEY}.cpus`: `{s}` is not a number of CPUs"))?;
    }
    if let Some(v) = r.get("memory").filter(|v| !v.is_null()) {
        let s = string(v, &format!("{KEY}.memory"))?;
        let bytes = parse_bytes(&s)
            .filter(|b| *b <= i64::MAX as u64)
            .ok_or_else(|| format!("`{KEY}.memory`: `{s}` is not a memory size"))?
            as i64;
        let own = svc
            .get("mem_reservation")
            .and_then(scalar)
            .and_then(|s| parse_bytes(&s));
        if own.is_some_and(|b| b as i64 != bytes) {
            return Err(format!(
                "`mem_reservation` and `{KEY}.memory` differ; give one, or the same size in both"
            ));
        }
        out.mem_reservation = Some(bytes);
    }
    if let Some(v) = r.get("devices").filter(|v| !v.is_null()) {
        let Value::Array(items) = v else {
            return Err(format!("`{KEY}.devices` must be a list, not {}", kind(v)));
        };
        for (i, item) in items.iter().enumerate() {
            out.devices
                .push(device(mapping(item, &format!("{KEY}.devices[{i}]"))?, i)?);
        }
    }
    Ok(())
}

/// One device request (a GPU, say): capabilities, driver, a count (`all`
/// is -1) or device ids, options.
fn device(m: &Map<String, Value>, i: usize) -> R<DeviceRequest> {
    let key = format!("deploy.resources.reservations.devices[{i}]");
    only(
        m,
        &["capabilities", "driver", "count", "device_ids", "options"],
        &key,
    )?;
    let list = |k: &str| -> R<Vec<String>> {
        match m.get(k) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|x| string(x, &format!("{key}.{k}")))
                .collect(),
            Some(other) => Err(format!("`{key}.{k}` must be a list, not {}", kind(other))),
        }
    };
    let capabilities = list("capabilities")?;
    if capabilities.is_empty() {
        return Err(format!("`{key}` needs `capabilities`"));
    }
    let device_ids = list("device_ids")?;
    let count = match m.get("count").filter(|v| !v.is_null()) {
        None => None,
        Some(v) => match scalar(v).as_deref() {
            Some("all") => Some(-1),
            Some(s) => Some(
                s.parse::<i64>()
                    .ok()
                    .filter(|n| *n >= -1)
                    .ok_or_else(|| format!("`{key}.count` must be a whole number or `all`"))?,
            ),
            None => return Err(format!("`{key}.count` must be a whole number or `all`")),
        },
    };
    if count.is_some() && !device_ids.is_empty() {
        return Err(format!(
            "`{key}`: `count` and `device_ids` exclude each other"
        ));
    }
    let driver = match m.get("driver").filter(|v| !v.is_null()) {
        None => None,
        Some(v) => Some(string(v, &format!("{key}.driver"))?),
    };
    Ok(DeviceRequest {
        capabilities,
        driver,
        count,
        device_ids,
        options: super::fields::string_map(m.get("options"), &format!("{key}.options"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(yaml: &str) -> Map<String, Value> {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn replicas_come_from_scale_or_deploy_and_must_agree() {
        assert_eq!(replicas(&svc("image: x\n")), Ok(1));
        assert_eq!(replicas(&svc("scale: 3\n")), Ok(3));
        assert_eq!(replicas(&svc("deploy: {replicas: 0}\n")), Ok(0));
        assert_eq!(replicas(&svc("scale: 2\ndeploy: {replicas: 2}\n")), Ok(2));
        assert_eq!(
            replicas(&svc("scale: 2\ndeploy: {replicas: 3}\n")).unwrap_err(),
            "`scale` (2) and `deploy.replicas` (3) differ; give one, or the same number in both"
        );
        assert!(
            replicas(&svc("deploy: {replicas: -1}\n"))
                .unwrap_err()
                .contains("at least 0")
        );
        assert!(
            replicas(&svc("container_name: c\nscale: 2\n"))
                .unwrap_err()
                .contains("`container_name` names one container")
        );
        assert_eq!(replicas(&svc("container_name: c\nscale: 1\n")), Ok(1));
    }

    #[test]
    fn restart_policy_maps_to_the_engines() {
        let d = deploy(&svc(
            "deploy:\n  restart_policy: {condition: on-failure, max_attempts: 3, delay: 5s}\n",
        ))
        .unwrap();
        assert_eq!(
            d.restart,
            Some(RestartPolicy {
                name: "on-failure".into(),
                max_attempts: Some(3)
            })
        );
        let name = |c: &str| {
            deploy(&svc(&format!("deploy:\n  restart_policy: {{{c}}}\n")))
                .unwrap()
                .restart
                .unwrap()
                .name
        };
        assert_eq!(name("condition: any"), "always");
        assert_eq!(name("condition: none"), "no");
        assert_eq!(name("max_attempts: 2"), "");
        assert_eq!(name("condition: sometimes"), "sometimes");
    }

    #[test]
    fn reservations_give_memory_and_devices() {
        let d = deploy(&svc(concat!(
            "deploy:\n  resources:\n    reservations:\n      cpus: '0.25'\n      memory: 20M\n",
            "      devices:\n        - {capabilities: [gpu], driver: nvidia, count: all}\n",
        )))
        .unwrap();
        assert_eq!(d.mem_reservation, Some(20 << 20));
        assert_eq!(d.devices[0].count, Some(-1));
        assert_eq!(d.devices[0].driver.as_deref(), Some("nvidia"));
        assert!(
            deploy(&svc(
                "mem_reservation: 30m\ndeploy:\n  resources:\n    reservations:\n      memory: 20M\n"
            ))
            .unwrap_err()
            .contains("differ")
        );
        assert!(
            deploy(&svc(
                "deploy:\n  resources:\n    reservations:\n      devices: [{capabilities: [gpu], count: 1, device_ids: ['0']}]\n"
            ))
            .unwrap_err()
            .contains("exclude each other")
        );
    }

    #[test]
    fn swarm_keys_are_checked_and_left_alone() {
        let d = deploy(&svc(concat!(
            "deploy:\n  mode: global\n  endpoint_mode: vip\n  labels: {a: b}\n",
            "  placement: {constraints: [node.role == manager]}\n",
            "  update_config: {parallelism: 2, delay: 10s}\n  rollback_config: {order: stop-first}\n",
        )))
        .unwrap();
        assert_eq!(d, Deploy::default());
        assert_eq!(
            deploy(&svc("deploy:\n  bogus: 1\n")).unwrap_err(),
            "`deploy.bogus` is not a compose key"
        );
        assert!(
            deploy(&svc("deploy:\n  update_config: {delay: soon}\n"))
                .unwrap_err()
                .contains("`deploy.update_config.delay`")
        );
    }
}
