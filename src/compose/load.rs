//! Loading compose files: parse each file (YAML errors carry file, line and
//! column), refuse keys mrctl does not support (naming file, service and
//! key), interpolate every string, normalise short forms, and merge the files
//! in order by the compose specification's rules.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::yaml::Marks;
use crate::error::{Error, Result};
use crate::interpolate::interpolate;

mod attach;
mod normalize;

pub(crate) use attach::PROPAGATIONS;

use normalize::normalize_service;
pub(super) use normalize::{absolutize, default_build_context};

/// Largest compose file read, against runaway inputs.
const MAX_FILE_BYTES: u64 = crate::fsutil::MAX_COMPOSE;

pub const TOP_LEVEL_KEYS: &[&str] = &[
    "version", "name", "services", "networks", "volumes", "secrets", "configs",
];

pub const SERVICE_KEYS: &[&str] = &[
    "image",
    "build",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "ports",
    "expose",
    "volumes",
    "networks",
    "depends_on",
    "healthcheck",
    "labels",
    "restart",
    "container_name",
    "hostname",
    "user",
    "working_dir",
    "extra_hosts",
    "stop_grace_period",
    "stop_signal",
    "mem_limit",
    "cpus",
    "pids_limit",
    "deploy",
    "scale",
    "ulimits",
    "profiles",
    "pull_policy",
    "privileged",
    "init",
    "tty",
    "stdin_open",
    "read_only",
    "cap_add",
    "cap_drop",
    "security_opt",
    "dns",
    "dns_search",
    "dns_opt",
    "group_add",
    "shm_size",
    "sysctls",
    "domainname",
    "pid",
    "ipc",
    "userns_mode",
    "cgroup_parent",
    "runtime",
    "oom_score_adj",
    "oom_kill_disable",
    "mem_reservation",
    "memswap_limit",
    "mem_swappiness",
    "tmpfs",
    "logging",
    "platform",
    "devices",
    "cpu_shares",
    "cpu_period",
    "cpu_quota",
    "cpuset",
    "blkio_config",
    "network_mode",
    "links",
    "external_links",
    "volumes_from",
    "cpu_rt_runtime",
    "cpu_rt_period",
    "cpu_count",
    "cpu_percent",
    "storage_opt",
    "mac_address",
    "annotations",
    "attach",
    "uts",
    "cgroup",
    "device_cgroup_rules",
    "isolation",
    "label_file",
    "gpus",
    "develop",
    // Accepted, then refused with their reason by name (see
    // `settings_more::REFUSED`).
    "use_api_socket",
    "pull_refresh_after",
    "post_start",
    "pre_stop",
    "credential_spec",
    "provider",
    "models",
    "secrets",
    "configs",
];

/// One parsed compose file, interpolated and normalised.
pub struct Loaded {
    pub doc: Map<String, Value>,
    /// The file's `!reset` and `!override` tags, applied when it is merged
    /// over earlier files (or over the service it extends).
    pub marks: Marks,
}

/// Reads one compose file, refusing oversized ones while reading them.
pub fn read_file(path: &Path) -> Result<String> {
    crate::fsutil::read_to_string_limited(path, crate::fsutil::FileKind::Compose)
}

/// Checks, interpolates and normalises the text of one file (`path` names
/// it in errors), then resolves its `include` and `extends`. `chain` holds
/// the files including this one, against include cycles.
pub fn load_str(
    path: &Path,
    text: &str,
    working_dir: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
    chain: &mut Vec<PathBuf>,
) -> Result<Loaded> {
    let mut loaded = load_plain(path, text, working_dir, lookup, unset)?;
    super::include::apply(path, &mut loaded.doc, working_dir, lookup, unset, chain)?;
    super::extends::apply(path, &mut loaded, working_dir, lookup, unset)?;
    Ok(loaded)
}

/// Checks, interpolates and normalises the text of one file, leaving its
/// `include` and `extends` as written.
pub fn load_plain(
    path: &Path,
    text: &str,
    working_dir: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
) -> Result<Loaded> {
    let err = |message: String| Error::Compose {
        path: path.to_path_buf(),
        position: None,
        message,
    };
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(err(format!(
            "compose files over {MAX_FILE_BYTES} bytes are refused"
        )));
    }
    let (doc, marks) = if text.trim().is_empty() {
        (Value::Object(Map::new()), Marks::new())
    } else {
        let parsed = super::yaml::parse(path, text)?;
        (parsed.doc, parsed.marks)
    };
    let mut doc = match doc {
        Value::Object(m) => m,
        Value::Null => Map::new(),
        other => {
            return Err(err(format!(
                "the top level must be a mapping, not {}",
                kind(&other)
            )));
        }
    };
    for key in doc.keys() {
        if !TOP_LEVEL_KEYS.contains(&key.as_str()) && !key.starts_with("x-") && key != "include" {
            return Err(err(format!(
                "top-level key `{key}` is not supported by mrctl"
            )));
        }
    }
    doc.retain(|k, _| !k.starts_with("x-") && k != "version");
    if let Some(services) = doc.get("services") {
        let Value::Object(services) = services else {
            return Err(err(format!(
                "`services` must be a mapping, not {}",
                kind(services)
            )));
        };
        for (name, svc) in services {
            let Value::Object(svc) = svc else {
                if svc.is_null() {
                    continue;
                }
                return Err(err(format!(
                    "service `{name}` must be a mapping, not {}",
                    kind(svc)
                )));
            };
            for key in svc.keys() {
                if !SERVICE_KEYS.contains(&key.as_str())
                    && !key.starts_with("x-")
                    && key != "extends"
                {
                    return Err(err(format!(
                        "service `{name}`: key `{key}` is not supported by mrctl"
                    )));
                }
            }
        }
    }
    let mut doc = Value::Object(doc);
    interpolate_tree(&mut doc, "", lookup, unset)
        .map_err(|(at, msg)| err(format!("`{at}`: {msg}")))?;
    let Value::Object(mut doc) = doc else {
        unreachable!()
    };
    attach::top_level(&mut doc, working_dir).map_err(&err)?;
    if let Some(Value::Object(services)) = doc.get_mut("services") {
        for (name, svc) in services.iter_mut() {
            if svc.is_null() {
                *svc = Value::Object(Map::new());
            }
            let Value::Object(svc) = svc else { continue };
            svc.retain(|k, _| !k.starts_with("x-"));
            normalize_service(svc, working_dir)
                .map_err(|msg| err(format!("service `{name}`: {msg}")))?;
        }
    }
    Ok(Loaded { doc, marks })
}

pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn interpolate_tree(
    v: &mut Value,
    at: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
) -> std::result::Result<(), (String, String)> {
    match v {
        Value::String(s) => {
            *s = interpolate(s, lookup, unset).map_err(|e| (at.to_string(), e.to_string()))?;
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate_tree(item, &format!("{at}[{i}]"), lookup, unset)?;
            }
        }
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                let path = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                interpolate_tree(item, &path, lookup, unset)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// A scalar as a string (`8080`, `true` and `"x"` all become text).
pub fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(number_text(n)),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A number as compose prints it: a float with no fraction as an integer
/// (`1e3` and `1.0` are `1000` and `1`).
fn number_text(n: &serde_json::Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e21 => format!("{f:.0}"),
        _ => n.to_string(),
    }
}

#[cfg(test)]
mod tests;
