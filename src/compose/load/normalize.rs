//! Normalising one service as loaded: the short forms compose accepts
//! become the long ones merging works on, and relative paths become
//! absolute against the directory of the file (or project) they belong to.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{kind, scalar};

/// `KEY=VALUE` list or mapping → mapping (a bare `KEY` maps to null).
pub(super) fn list_to_map(v: &Value, what: &str, sep: char) -> std::result::Result<Value, String> {
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

pub(in crate::compose) fn absolutize(p: &str, working_dir: &Path) -> String {
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

/// Gives each `build` that names no context, once its files are merged,
/// the project directory `dir`, as compose does.
pub(in crate::compose) fn default_build_context(doc: &mut Map<String, Value>, dir: &Path) {
    let Some(Value::Object(services)) = doc.get_mut("services") else {
        return;
    };
    for svc in services.values_mut() {
        if let Some(Value::Object(build)) = svc.get_mut("build") {
            build
                .entry("context")
                .or_insert_with(|| Value::String(dir.to_string_lossy().into_owned()));
        }
    }
}

/// Turns short forms into the long ones merging works on.
pub(super) fn normalize_service(
    svc: &mut Map<String, Value>,
    working_dir: &Path,
) -> std::result::Result<(), String> {
    for key in ["environment", "labels", "sysctls", "annotations"] {
        if let Some(v) = svc.get(key) {
            let m = list_to_map(v, key, '=')?;
            svc.insert(key.into(), m);
        }
    }
    // A single string where compose also takes a list.
    for key in ["dns", "dns_search", "tmpfs", "label_file"] {
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
        // A missing context is left missing: an override may set only the
        // args of a build an earlier file placed ([`default_build_context`]
        // fills it in once the files are merged). A remote context stays as
        // written (conversion refuses it by name).
        if let Some(context) = build.get("context").and_then(scalar) {
            let remote = context.contains("://") || context.starts_with("git@");
            build.insert(
                "context".into(),
                Value::String(if remote {
                    context
                } else {
                    absolutize(&context, working_dir)
                }),
            );
        }
        for key in ["args", "labels"] {
            if let Some(v) = build.get(key) {
                let m = list_to_map(v, &format!("build.{key}"), '=')?;
                build.insert(key.into(), m);
            }
        }
        svc.insert("build".into(), Value::Object(build));
    }
    // Paths of label files and of watched directories are the project
    // directory's.
    if let Some(Value::Array(files)) = svc.get_mut("label_file") {
        for f in files.iter_mut() {
            if let Value::String(p) = f {
                *p = absolutize(p, working_dir);
            }
        }
    }
    if let Some(Value::Array(rules)) = svc.get_mut("develop").and_then(|d| d.get_mut("watch")) {
        for rule in rules.iter_mut() {
            if let Some(Value::String(p)) = rule.get_mut("path") {
                *p = absolutize(p, working_dir);
            }
        }
    }
    for key in ["secrets", "configs"] {
        if let Some(v) = svc.get(key).filter(|v| !v.is_null()) {
            let refs = super::attach::file_refs(v, key)?;
            svc.insert(key.into(), refs);
        }
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
                Value::String(s) => out.push(super::attach::volume_long_form(s, working_dir)?),
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
