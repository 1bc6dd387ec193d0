//! Short forms of what attaches to a service, made long as docker compose
//! makes them on load: volumes (`src:/target:ro,rslave,z,nocopy`), and the
//! service's `secrets` and `configs` (a bare key); the top-level `secrets`
//! and `configs` get absolute `file` paths.

use std::path::Path;

use serde_json::{Map, Value, json};

use super::normalize::list_to_map;
use super::{absolutize, kind, scalar};

/// Short volume syntax → long form: `name:/path[:mode]`, `./host:/path[:mode]`,
/// `/path`. The modes are compose's: `ro`/`rw`, a propagation (`rslave`,
/// `shared`, …), SELinux relabelling (`z`, `Z`), `nocopy`, and the
/// consistencies (`cached`, `delegated`, `consistent`), which compose reads
/// and drops. A short bind creates its missing host path, as in compose.
pub(super) fn volume_long_form(spec: &str, working_dir: &Path) -> Result<Value, String> {
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
    let mut bind = Map::new();
    let mut volume = Map::new();
    if let Some(mode) = mode {
        for m in mode.split(',') {
            match m {
                "ro" => read_only = true,
                "rw" | "cached" | "delegated" | "consistent" => {}
                "z" | "Z" => {
                    bind.insert("selinux".into(), m.into());
                }
                "nocopy" => {
                    volume.insert("nocopy".into(), true.into());
                }
                p if PROPAGATIONS.contains(&p) => {
                    bind.insert("propagation".into(), p.into());
                }
                other => return Err(format!("volume `{spec}`: unknown mode `{other}`")),
            }
        }
    }
    let mut long = Map::new();
    let is_bind = match source {
        None => {
            long.insert("type".into(), "volume".into());
            false
        }
        Some(s) if s.starts_with('/') || s.starts_with('.') || s.starts_with('~') => {
            long.insert("type".into(), "bind".into());
            long.insert("source".into(), absolutize(s, working_dir).into());
            true
        }
        Some("") => return Err(format!("volume `{spec}`: the source is empty")),
        Some(s) => {
            long.insert("type".into(), "volume".into());
            long.insert("source".into(), s.into());
            false
        }
    };
    long.insert("target".into(), target.into());
    if read_only {
        long.insert("read_only".into(), true.into());
    }
    if is_bind {
        bind.insert("create_host_path".into(), true.into());
        long.insert("bind".into(), Value::Object(bind));
    } else {
        long.insert("volume".into(), Value::Object(volume));
    }
    Ok(Value::Object(long))
}

/// The bind propagations the engine knows.
pub(crate) const PROPAGATIONS: &[&str] = &[
    "private", "rprivate", "shared", "rshared", "slave", "rslave",
];

/// A service's `secrets` or `configs`: each bare key becomes `{source: KEY}`.
pub(super) fn file_refs(v: &Value, key: &str) -> Result<Value, String> {
    let Value::Array(items) = v else {
        return Err(format!("`{key}` must be a list, not {}", kind(v)));
    };
    let mut out = Vec::new();
    for item in items {
        match item {
            Value::Object(_) => out.push(item.clone()),
            other => {
                let source = scalar(other).ok_or_else(|| {
                    format!(
                        "`{key}` items must be names or mappings, not {}",
                        kind(other)
                    )
                })?;
                out.push(json!({ "source": source }));
            }
        }
    }
    Ok(Value::Array(out))
}

/// The top-level `networks`, `volumes`, `secrets` and `configs` of one
/// file: `labels` written as a list become a mapping, and a secret's or
/// config's relative `file` is made absolute against the working directory.
pub(super) fn top_level(doc: &mut Map<String, Value>, working_dir: &Path) -> Result<(), String> {
    for key in ["networks", "volumes", "secrets", "configs"] {
        let Some(Value::Object(objects)) = doc.get_mut(key) else {
            continue;
        };
        for (name, spec) in objects.iter_mut() {
            let Value::Object(spec) = spec else { continue };
            if let Some(labels) = spec.get("labels") {
                let map = list_to_map(labels, &format!("{key}.{name}.labels"), '=')?;
                spec.insert("labels".into(), map);
            }
            if let Some(Value::String(file)) = spec.get_mut("file") {
                *file = absolutize(file, working_dir);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_volume_modes_become_options() {
        let w = Path::new("/s");
        assert_eq!(
            volume_long_form("/data", w).unwrap(),
            json!({"type": "volume", "target": "/data", "volume": {}})
        );
        assert_eq!(
            volume_long_form("../up:/x:rw", w).unwrap(),
            json!({"type": "bind", "source": "/up", "target": "/x", "bind": {"create_host_path": true}})
        );
        assert_eq!(
            volume_long_form("./a:/a:ro,rslave,Z", w).unwrap(),
            json!({"type": "bind", "source": "/s/a", "target": "/a", "read_only": true,
                "bind": {"propagation": "rslave", "selinux": "Z", "create_host_path": true}})
        );
        assert_eq!(
            volume_long_form("data:/d:nocopy,cached", w).unwrap(),
            json!({"type": "volume", "source": "data", "target": "/d", "volume": {"nocopy": true}})
        );
        assert!(volume_long_form("a:b", w).is_err());
        assert!(volume_long_form("a:/b:zz", w).is_err());
        assert!(volume_long_form("a:/b:ro:x", w).is_err());
    }

    #[test]
    fn bare_keys_become_references() {
        assert_eq!(
            file_refs(&json!(["a", {"source": "b", "target": "t"}]), "secrets").unwrap(),
            json!([{"source": "a"}, {"source": "b", "target": "t"}])
        );
        assert!(file_refs(&json!("a"), "secrets").is_err());
    }
}
