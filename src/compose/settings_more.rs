//! Parsers of the service keys that name other containers (`network_mode`,
//! `links`, `volumes_from`), of the block I/O device limits, GPUs,
//! real-time CPU and the remaining host settings, and the refusals, with
//! their reasons, of the keys mrctl does not run.

use serde_json::{Map, Value, json};

use super::fields::{R, command, opt_string, string_map};
use super::load::{kind, scalar};
use super::model::*;
use crate::units::parse_bytes;

/// Keys of the compose specification that mrctl accepts but refuses to
/// run, each with the reason (a service with one is refused by name).
pub(super) const REFUSED: &[(&str, &str)] = &[
    (
        "credential_spec",
        "it configures a Windows container's managed service account, and mrctl runs Linux containers",
    ),
    (
        "provider",
        "a provider service is run by a compose plugin, not by the engine",
    ),
    (
        "models",
        "models are served by Docker Model Runner, which the engine's API does not manage",
    ),
    (
        "pull_refresh_after",
        "it only applies to `pull_policy: refresh`, which mrctl does not support",
    ),
    (
        "use_api_socket",
        "it hands the container the engine's socket and the user's registry credentials; bind-mount /var/run/docker.sock explicitly if that is meant",
    ),
];

/// The first refused key a service has, as an error naming it and why.
pub(super) fn refused(svc: &Map<String, Value>) -> R<()> {
    for (key, why) in REFUSED {
        if svc.get(*key).is_some_and(|v| !v.is_null()) {
            return Err(format!("`{key}` is not supported by mrctl: {why}"));
        }
    }
    Ok(())
}

/// A whole number from `lo` to `hi`, written as a number or a string.
pub(super) fn int(svc: &Map<String, Value>, key: &str, lo: i64, hi: i64) -> R<Option<i64>> {
    match svc.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let text = scalar(v).unwrap_or_default();
            text.parse::<i64>()
                .ok()
                .filter(|n| (lo..=hi).contains(n))
                .map(Some)
                .ok_or_else(|| format!("`{key}`: `{text}` is not a whole number from {lo} to {hi}"))
        }
    }
}

fn list(svc: &Map<String, Value>, key: &str) -> R<Vec<String>> {
    match svc.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                scalar(i).ok_or_else(|| format!("`{key}` items must be strings, not {}", kind(i)))
            })
            .collect(),
        Some(other) => Err(format!("`{key}` must be a list, not {}", kind(other))),
    }
}

/// The settings of this module, filled into `s`.
pub(super) fn more(svc: &Map<String, Value>, s: &mut Settings) -> R<()> {
    refused(svc)?;
    s.blkio_devices = blkio_devices(svc.get("blkio_config"))?;
    s.cpu_rt_runtime = int(svc, "cpu_rt_runtime", 0, i64::MAX)?;
    s.cpu_rt_period = int(svc, "cpu_rt_period", 0, i64::MAX)?;
    s.cpu_count = int(svc, "cpu_count", 0, i64::MAX)?;
    s.cpu_percent = int(svc, "cpu_percent", 0, 100)?;
    s.storage_opt = string_map(svc.get("storage_opt"), "storage_opt")?;
    s.mac_address = opt_string(svc, "mac_address")?;
    s.annotations = string_map(svc.get("annotations"), "annotations")?;
    s.uts = opt_string(svc, "uts")?;
    s.cgroup = opt_string(svc, "cgroup")?;
    if let Some(c) = s.cgroup.as_deref()
        && c != "host"
        && c != "private"
    {
        return Err(format!("`cgroup`: `{c}` is not `host` or `private`"));
    }
    s.device_cgroup_rules = list(svc, "device_cgroup_rules")?;
    s.isolation = opt_string(svc, "isolation")?;
    if let Some(i) = s.isolation.as_deref()
        && !i.eq_ignore_ascii_case("default")
    {
        return Err(format!(
            "`isolation`: `{i}` is a Windows isolation mode; Linux containers only have `default`"
        ));
    }
    s.network_mode = opt_string(svc, "network_mode")?;
    if s.network_mode.is_some() && svc.get("networks").is_some_and(|n| !n.is_null()) {
        return Err("`network_mode` and `networks` exclude each other".into());
    }
    if let Some(m) = s.network_mode.as_deref()
        && let Some(rest) = m
            .strip_prefix("service:")
            .or_else(|| m.strip_prefix("container:"))
        && rest.is_empty()
    {
        return Err(format!("`network_mode`: `{m}` names nothing"));
    }
    s.links = list(svc, "links")?;
    s.external_links = list(svc, "external_links")?;
    s.volumes_from = list(svc, "volumes_from")?;
    for v in &s.volumes_from {
        let rest = v.strip_prefix("container:").unwrap_or(v);
        let (name, mode) = match rest.split_once(':') {
            Some((n, m)) => (n, Some(m)),
            None => (rest, None),
        };
        if name.is_empty() || mode.is_some_and(|m| m != "ro" && m != "rw") {
            return Err(format!(
                "`volumes_from`: `{v}` is not `SERVICE[:ro|:rw]` or `container:NAME[:ro|:rw]`"
            ));
        }
    }
    s.gpus = gpus(svc.get("gpus"))?;
    s.post_start = hooks(svc.get("post_start"), "post_start")?;
    s.pre_stop = hooks(svc.get("pre_stop"), "pre_stop")?;
    s.attach = match svc.get("attach") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(t)) if t == "true" || t == "false" => Some(t == "true"),
        Some(other) => {
            return Err(format!(
                "`attach` must be true or false, not {}",
                kind(other)
            ));
        }
    };
    s.develop = match svc.get("develop") {
        None | Some(Value::Null) => None,
        Some(Value::Object(d)) => Some(develop(d)?),
        Some(other) => {
            return Err(format!("`develop` must be a mapping, not {}", kind(other)));
        }
    };
    Ok(())
}

/// The services a service needs created first because it names them:
/// `network_mode: service:X`, `links` and `volumes_from` (as compose adds
/// them to `depends_on`, with `restart: true`).
pub fn implied_dependencies(s: &Settings) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        if !out.iter().any(|o| o == name) {
            out.push(name.to_string());
        }
    };
    for l in &s.links {
        add(l.split(':').next().unwrap_or(l));
    }
    if let Some(svc) = s
        .network_mode
        .as_deref()
        .and_then(|m| m.strip_prefix("service:"))
    {
        add(svc);
    }
    for v in &s.volumes_from {
        if !v.starts_with("container:") {
            add(v.split(':').next().unwrap_or(v));
        }
    }
    out
}

/// `blkio_config`: `weight` is read by `settings`; the device lists here.
fn blkio_devices(v: Option<&Value>) -> R<BlkioDevices> {
    let mut out = BlkioDevices::default();
    let Some(Value::Object(m)) = v else {
        return Ok(out);
    };
    const KEYS: &[&str] = &[
        "weight",
        "weight_device",
        "device_read_bps",
        "device_write_bps",
        "device_read_iops",
        "device_write_iops",
    ];
    if let Some(k) = m.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(format!("`blkio_config.{k}` is not a block I/O setting"));
    }
    let entries = |key: &str, field: &str| -> R<Vec<(String, i64)>> {
        let items = match m.get(key) {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(other) => {
                return Err(format!(
                    "`blkio_config.{key}` must be a list, not {}",
                    kind(other)
                ));
            }
        };
        items
            .iter()
            .map(|item| {
                let Value::Object(e) = item else {
                    return Err(format!(
                        "`blkio_config.{key}` entries must be mappings with `path` and `{field}`"
                    ));
                };
                let path = opt_string(e, "path")?
                    .ok_or_else(|| format!("`blkio_config.{key}` entries need a `path`"))?;
                let text = e.get(field).and_then(scalar).unwrap_or_default();
                let n = if field == "weight" {
                    text.parse::<i64>().ok().filter(|n| (10..=1000).contains(n))
                } else {
                    parse_bytes(&text).map(|b| b as i64)
                };
                let n = n.ok_or_else(|| {
                    format!("`blkio_config.{key}`: `{text}` is not a valid {field} for `{path}`")
                })?;
                Ok((path, n))
            })
            .collect()
    };
    out.weight_device = entries("weight_device", "weight")?;
    out.device_read_bps = entries("device_read_bps", "rate")?;
    out.device_write_bps = entries("device_write_bps", "rate")?;
    out.device_read_iops = entries("device_read_iops", "rate")?;
    out.device_write_iops = entries("device_write_iops", "rate")?;
    Ok(out)
}

/// `gpus: all` or a list of `{driver, count, device_ids, capabilities,
/// options}` (a count of `all` is -1).
fn gpus(v: Option<&Value>) -> R<Vec<Gpu>> {
    let items = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(s)) if s == "all" => {
            return Ok(vec![Gpu {
                count: Some(-1),
                ..Default::default()
            }]);
        }
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(format!(
                "`gpus` must be `all` or a list, not {}",
                kind(other)
            ));
        }
    };
    items
        .iter()
        .map(|item| {
            let Value::Object(g) = item else {
                return Err(format!(
                    "`gpus` entries must be mappings, not {}",
                    kind(item)
                ));
            };
            if let Some(k) = g.keys().find(|k| {
                !["driver", "count", "device_ids", "capabilities", "options"].contains(&k.as_str())
            }) {
                return Err(format!("`gpus`: key `{k}` is not a GPU request setting"));
            }
            let count = match g.get("count").and_then(scalar).as_deref() {
                None => None,
                Some("all") => Some(-1),
                Some(t) => Some(
                    t.parse::<i64>()
                        .ok()
                        .filter(|n| *n >= -1)
                        .ok_or_else(|| format!("`gpus.count`: `{t}` is not a number or `all`"))?,
                ),
            };
            Ok(Gpu {
                driver: opt_string(g, "driver")?,
                count,
                device_ids: list(g, "device_ids")?,
                capabilities: list(g, "capabilities")?,
                options: string_map(g.get("options"), "gpus.options")?,
            })
        })
        .collect()
}

/// A list of hooks: `{command, user, privileged, working_dir, environment}`.
fn hooks(v: Option<&Value>, key: &str) -> R<Vec<Hook>> {
    let items = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => return Err(format!("`{key}` must be a list, not {}", kind(other))),
    };
    items
        .iter()
        .map(|item| {
            let Value::Object(h) = item else {
                return Err(format!(
                    "`{key}` entries must be mappings, not {}",
                    kind(item)
                ));
            };
            const KEYS: &[&str] = &[
                "command",
                "user",
                "privileged",
                "working_dir",
                "environment",
            ];
            if let Some(k) = h.keys().find(|k| !KEYS.contains(&k.as_str())) {
                return Err(format!("`{key}`: key `{k}` is not a hook setting"));
            }
            let command = command(h.get("command"), &format!("{key}.command"))?
                .filter(|c| !c.is_empty())
                .ok_or_else(|| format!("`{key}` entries need a `command`"))?;
            let privileged = match h.get("privileged") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(Value::String(t)) if t == "true" || t == "false" => t == "true",
                Some(other) => {
                    return Err(format!(
                        "`{key}.privileged` must be true or false, not {}",
                        kind(other)
                    ));
                }
            };
            let mut environment = indexmap::IndexMap::new();
            match h.get("environment") {
                None | Some(Value::Null) => {}
                Some(Value::Object(m)) => {
                    for (k, v) in m {
                        environment.insert(k.clone(), scalar(v));
                    }
                }
                Some(Value::Array(items)) => {
                    for i in items {
                        let t = scalar(i).unwrap_or_default();
                        match t.split_once('=') {
                            Some((k, v)) => environment.insert(k.to_string(), Some(v.to_string())),
                            None => environment.insert(t, None),
                        };
                    }
                }
                Some(other) => {
                    return Err(format!(
                        "`{key}.environment` must be a mapping or a list, not {}",
                        kind(other)
                    ));
                }
            }
            Ok(Hook {
                command,
                user: opt_string(h, "user")?,
                privileged,
                working_dir: opt_string(h, "working_dir")?,
                environment,
            })
        })
        .collect()
}

/// `develop:` in compose's canonical form: each watch rule with an `exec`
/// whose command is a list (or null). Loading made each rule's `path`
/// absolute, against the project directory.
fn develop(d: &Map<String, Value>) -> R<Value> {
    let mut out = d.clone();
    if let Some(watch) = d.get("watch") {
        let Value::Array(rules) = watch else {
            return Err(format!(
                "`develop.watch` must be a list, not {}",
                kind(watch)
            ));
        };
        let mut canon = Vec::new();
        for rule in rules {
            let Value::Object(r) = rule else {
                return Err(format!(
                    "`develop.watch` entries must be mappings, not {}",
                    kind(rule)
                ));
            };
            let mut r = r.clone();
            let command = match command(
                r.get("exec").and_then(|e| e.get("command")),
                "develop.watch.exec.command",
            )? {
                None => Value::Null,
                Some(words) => json!(words),
            };
            let mut exec = r
                .get("exec")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            exec.insert("command".into(), command);
            r.insert("exec".into(), Value::Object(exec));
            canon.push(Value::Object(r));
        }
        out.insert("watch".into(), Value::Array(canon));
    }
    Ok(Value::Object(out))
}

/// The service's labels: those of its `label_file`s in order (a later
/// file's win), then its `labels`, which win over them all.
pub(super) fn labels(
    svc: &Map<String, Value>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> R<indexmap::IndexMap<String, String>> {
    let mut out = indexmap::IndexMap::new();
    for path in list(svc, "label_file")? {
        let text = match crate::fsutil::read_optional(
            std::path::Path::new(&path),
            crate::fsutil::FileKind::EnvFile,
        ) {
            Ok(Some(text)) => text,
            Ok(None) => return Err(format!("`label_file`: `{path}` does not exist")),
            Err(e) => return Err(format!("`label_file`: {e}")),
        };
        let entries = crate::envfile::entries(&text, lookup)
            .map_err(|e| format!("`label_file`: `{path}` {e}"))?;
        for e in entries {
            out.insert(e.key.to_string(), e.value.unwrap_or_default());
        }
    }
    out.extend(string_map(svc.get("labels"), "labels")?);
    Ok(out)
}

#[cfg(test)]
#[path = "settings_more_tests.rs"]
mod tests;
