//! Loading compose files: parse each file (YAML errors carry file, line and
//! column), refuse keys mrctl does not support (naming file, service and
//! key), interpolate every string, normalise short forms, and merge the files
//! in order by the compose specification's rules.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::interpolate::interpolate;

/// Largest compose file read, against runaway inputs.
const MAX_FILE_BYTES: u64 = crate::fsutil::MAX_COMPOSE;

pub const TOP_LEVEL_KEYS: &[&str] = &["version", "name", "services", "networks", "volumes"];

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
];

/// One parsed compose file, interpolated and normalised.
pub struct Loaded {
    pub doc: Map<String, Value>,
}

/// Reads one compose file, refusing oversized ones while reading them.
pub fn read_file(path: &Path) -> Result<String> {
    crate::fsutil::read_to_string_limited(path, crate::fsutil::FileKind::Compose)
}

/// Checks, interpolates and normalises the text of one file (`path` names
/// it in errors).
pub fn load_str(
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
    let doc: Value = if text.trim().is_empty() {
        Value::Object(Map::new())
    } else {
        super::parse_yaml(path, text)?
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
        if !TOP_LEVEL_KEYS.contains(&key.as_str()) && !key.starts_with("x-") {
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
                if !SERVICE_KEYS.contains(&key.as_str()) && !key.starts_with("x-") {
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
    Ok(Loaded { doc })
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

/// `KEY=VALUE` list or mapping → mapping (a bare `KEY` maps to null).
fn list_to_map(v: &Value, what: &str, sep: char) -> std::result::Result<Value, String> {
    match v {
        Value::Object(_) => Ok(v.clone()),
        Value::Array(items) => {
            let mut map = Map::new();
            for item in items {
                let s = scalar(item)
                    .ok_or_else(|| format!("`{what}` items must be strings, not {}", kind(item)))?;
                match s.split_once(sep) {
                    Some((k, val)) => {
                        map.insert(k.trim().to_string(), Value::String(val.to_string()))
                    }
                    None => map.insert(s.trim().to_string(), Value::Null),
                };
            }
            Ok(Value::Object(map))
        }
        Value::Null => Ok(Value::Object(Map::new())),
        other => Err(format!(
            "`{what}` must be a mapping or a list, not {}",
            kind(other)
        )),
    }
}

fn absolutize(p: &str, working_dir: &Path) -> String {
    let expanded = if let Some(rest) = p.strip_prefix("~/") {
        directories::BaseDirs::new()
            .map(|b| b.home_dir().join(rest))
            .unwrap_or_else(|| PathBuf::from(p))
    } else {
        PathBuf::from(p)
    };
    let joined = if expanded.is_absolute() {
        expanded
    } else {
        working_dir.join(expanded)
    };
    // Lexical clean-up of `./` and `../`, as compose does.
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out.to_string_lossy().into_owned()
}

/// Short volume syntax → long form: `name:/path[:ro]`, `./host:/path`, `/path`.
fn volume_long_form(spec: &str, working_dir: &Path) -> std::result::Result<Value, String> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [target] => (None, *target, None),
        [source, target] => (Some(*source), *target, None),
        [source, target, mode] => (Some(*source), *target, Some(*mode)),
        _ => return Err(format!("volume `{spec}` has too many `:`-separated parts")),
    };
    if target.is_empty() || !target.starts_with('/') {
        return Err(format!(
            "volume `{spec}`: the container path must be absolute"
        ));
    }
    let mut read_only = false;
    if let Some(mode) = mode {
        for m in mode.split(',') {
            match m {
                "ro" => read_only = true,
                "rw" | "z" | "Z" | "cached" | "delegated" | "consistent" | "nocopy" => {}
                other => return Err(format!("volume `{spec}`: unknown mode `{other}`")),
            }
        }
    }
    let mut long = Map::new();
    match source {
        None => {
            long.insert("type".into(), "volume".into());
        }
        Some(s) if s.starts_with('/') || s.starts_with('.') || s.starts_with('~') => {
            long.insert("type".into(), "bind".into());
            long.insert("source".into(), absolutize(s, working_dir).into());
        }
        Some("") => return Err(format!("volume `{spec}`: the source is empty")),
        Some(s) => {
            long.insert("type".into(), "volume".into());
            long.insert("source".into(), s.into());
        }
    }
    long.insert("target".into(), target.into());
    if read_only {
        long.insert("read_only".into(), true.into());
    }
    Ok(Value::Object(long))
}

/// Turns short forms into the long ones merging works on.
fn normalize_service(
    svc: &mut Map<String, Value>,
    working_dir: &Path,
) -> std::result::Result<(), String> {
    for key in ["environment", "labels", "sysctls"] {
        if let Some(v) = svc.get(key) {
            let m = list_to_map(v, key, '=')?;
            svc.insert(key.into(), m);
        }
    }
    // A single string where compose also takes a list.
    for key in ["dns", "dns_search", "tmpfs"] {
        if let Some(Value::String(s)) = svc.get(key) {
            let one = Value::Array(vec![Value::String(s.clone())]);
            svc.insert(key.into(), one);
        }
    }
    // `build: DIR` is `build: {context: DIR}`; the context is absolute, the
    // files merging later see one form.
    if let Some(v) = svc.get("build") {
        let mut build = match v {
            Value::String(context) => {
                let mut m = Map::new();
                m.insert("context".into(), Value::String(context.clone()));
                m
            }
            Value::Object(m) => m.clone(),
            other => {
                return Err(format!(
                    "`build` must be a path or a mapping, not {}",
                    kind(other)
                ));
            }
        };
        let context = build
            .get("context")
            .and_then(scalar)
            .unwrap_or_else(|| ".".to_string());
        // A remote context stays as written (conversion refuses it by name).
        let remote = context.contains("://") || context.starts_with("git@");
        build.insert(
            "context".into(),
            Value::String(if remote {
                context
            } else {
                absolutize(&context, working_dir)
            }),
        );
        for key in ["args", "labels"] {
            if let Some(v) = build.get(key) {
                let m = list_to_map(v, &format!("build.{key}"), '=')?;
                build.insert(key.into(), m);
            }
        }
        svc.insert("build".into(), Value::Object(build));
    }
    if let Some(v) = svc.get("extra_hosts") {
        let list: Vec<Value> = match v {
            Value::Array(items) => items.clone(),
            Value::Object(m) => m
                .iter()
                .map(|(k, v)| Value::String(format!("{k}:{}", scalar(v).unwrap_or_default())))
                .collect(),
            other => {
                return Err(format!(
                    "`extra_hosts` must be a list or a mapping, not {}",
                    kind(other)
                ));
            }
        };
        svc.insert("extra_hosts".into(), Value::Array(list));
    }
    if let Some(v) = svc.get("depends_on") {
        let m = match v {
            Value::Array(items) => {
                let mut m = Map::new();
                for item in items {
                    let name = scalar(item).ok_or("`depends_on` items must be service names")?;
                    m.insert(name, serde_json::json!({"condition": "service_started"}));
                }
                Value::Object(m)
            }
            Value::Object(_) => v.clone(),
            other => {
                return Err(format!(
                    "`depends_on` must be a list or a mapping, not {}",
                    kind(other)
                ));
            }
        };
        svc.insert("depends_on".into(), m);
    }
    if let Some(v) = svc.get("networks") {
        let m = match v {
            Value::Array(items) => {
                let mut m = Map::new();
                for item in items {
                    let name = scalar(item).ok_or("`networks` items must be network names")?;
                    m.insert(name, Value::Null);
                }
                Value::Object(m)
            }
            Value::Object(_) => v.clone(),
            other => {
                return Err(format!(
                    "`networks` must be a list or a mapping, not {}",
                    kind(other)
                ));
            }
        };
        svc.insert("networks".into(), m);
    }
    if let Some(v) = svc.get("env_file") {
        let list = match v {
            Value::String(_) => vec![v.clone()],
            Value::Array(items) => items.clone(),
            other => {
                return Err(format!(
                    "`env_file` must be a path or a list, not {}",
                    kind(other)
                ));
            }
        };
        let mut out = Vec::new();
        for item in list {
            let (path, required, format) = match &item {
                Value::String(s) => (s.clone(), true, None),
                Value::Object(m) => (
                    m.get("path")
                        .and_then(scalar)
                        .ok_or("`env_file` entries need a `path`")?,
                    m.get("required").and_then(Value::as_bool).unwrap_or(true),
                    match m.get("format").and_then(scalar).as_deref() {
                        None => None,
                        Some("raw") => Some("raw"),
                        Some(other) => {
                            return Err(format!(
                                "`env_file`: format `{other}` is not supported (only `raw`)"
                            ));
                        }
                    },
                ),
                other => {
                    return Err(format!(
                        "`env_file` entries must be paths, not {}",
                        kind(other)
                    ));
                }
            };
            let mut entry =
                serde_json::json!({"path": absolutize(&path, working_dir), "required": required});
            if let Some(format) = format {
                entry["format"] = format.into();
            }
            out.push(entry);
        }
        svc.insert("env_file".into(), Value::Array(out));
    }
    if let Some(v) = svc.get("volumes") {
        let Value::Array(items) = v else {
            return Err(format!("`volumes` must be a list, not {}", kind(v)));
        };
        let mut out = Vec::new();
        for item in items {
            match item {
                Value::String(s) => out.push(volume_long_form(s, working_dir)?),
                Value::Object(m) => {
                    let mut m = m.clone();
                    if m.get("type").and_then(Value::as_str) == Some("bind")
                        && let Some(src) = m.get("source").and_then(Value::as_str)
                    {
                        let abs = absolutize(src, working_dir);
                        m.insert("source".into(), abs.into());
                    }
                    out.push(Value::Object(m));
                }
                other => {
                    return Err(format!(
                        "`volumes` items must be strings or mappings, not {}",
                        kind(other)
                    ));
                }
            }
        }
        svc.insert("volumes".into(), Value::Array(out));
    }
    Ok(())
}

// ---- merging ----

#[cfg(test)]
mod tests;
