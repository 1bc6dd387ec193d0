//! A service's `volumes` (long form, the short one made long on load) →
//! typed mounts with their per-type options, each error naming the key.

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::R;
use crate::compose::load::{kind, scalar};
use crate::compose::model::*;
use crate::units::parse_bytes;

/// Keys of one long-form mount.
const KEYS: &[&str] = &[
    "type",
    "source",
    "target",
    "read_only",
    "volume",
    "bind",
    "tmpfs",
    "consistency",
];

pub(in crate::compose) fn mounts(
    v: Option<&Value>,
    volumes: &IndexMap<String, Volume>,
) -> R<Vec<Mount>> {
    let mut out = Vec::new();
    let Some(Value::Array(items)) = v else {
        return Ok(out);
    };
    for item in items {
        let Value::Object(m) = item else { continue };
        for k in m.keys() {
            if !KEYS.contains(&k.as_str()) && !k.starts_with("x-") {
                return Err(format!("`volumes`: key `{k}` is not supported"));
            }
        }
        let target = m
            .get("target")
            .and_then(scalar)
            .ok_or("`volumes`: each mount needs a `target`")?;
        if !target.starts_with('/') {
            return Err(format!(
                "`volumes`: the target `{target}` must be an absolute path"
            ));
        }
        let kind = match m.get("type").and_then(Value::as_str).unwrap_or("volume") {
            "bind" => MountKind::Bind,
            "volume" => MountKind::Volume,
            "tmpfs" => MountKind::Tmpfs,
            "npipe" => {
                return Err(format!(
                    "`volumes`: the mount at `{target}` is a named pipe, which only Windows engines have"
                ));
            }
            other => {
                return Err(format!(
                    "`volumes`: type `{other}` is not supported (`bind`, `volume` or `tmpfs`)"
                ));
            }
        };
        let source = m.get("source").and_then(scalar).filter(|s| !s.is_empty());
        match kind {
            MountKind::Bind if source.is_none() => {
                return Err(format!(
                    "`volumes`: the bind mount at `{target}` needs a `source`"
                ));
            }
            MountKind::Volume => {
                if let Some(s) = &source
                    && !volumes.contains_key(s)
                {
                    return Err(format!(
                        "`volumes`: volume `{s}` is not declared under the top-level `volumes`"
                    ));
                }
            }
            _ => {}
        }
        let at = format!("volumes` (`{target}`)");
        let mut mount = Mount::new(
            kind,
            source,
            target.clone(),
            m.get("read_only").and_then(Value::as_bool).unwrap_or(false),
        );
        mount.consistency = m.get("consistency").and_then(scalar);
        // Options of another type than the mount's are ignored, as compose
        // ignores them (with a warning).
        match kind {
            MountKind::Bind => mount.bind = bind(m.get("bind"), &at)?,
            MountKind::Volume => mount.volume = volume(m.get("volume"), &at)?,
            MountKind::Tmpfs => mount.tmpfs = tmpfs(m.get("tmpfs"), &at)?,
        }
        out.push(mount);
    }
    Ok(out)
}

/// The options mapping at `key`, its keys checked against `allowed`.
fn options<'a>(
    v: Option<&'a Value>,
    at: &str,
    key: &str,
    allowed: &[&str],
) -> R<Option<&'a Map<String, Value>>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => {
            for k in o.keys() {
                if !allowed.contains(&k.as_str()) {
                    return Err(format!("`{at}.{key}`: key `{k}` is not supported"));
                }
            }
            Ok(Some(o))
        }
        Some(other) => Err(format!(
            "`{at}.{key}` must be a mapping, not {}",
            kind(other)
        )),
    }
}

fn boolean(o: &Map<String, Value>, key: &str, at: &str) -> R<bool> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
        Some(other) => Err(format!(
            "`{at}.{key}` must be true or false, not {}",
            kind(other)
        )),
    }
}

fn bind(v: Option<&Value>, at: &str) -> R<Option<BindOptions>> {
    let Some(o) = options(
        v,
        at,
        "bind",
        &["propagation", "create_host_path", "selinux"],
    )?
    else {
        return Ok(None);
    };
    let propagation = o.get("propagation").and_then(scalar);
    if let Some(p) = &propagation
        && !crate::compose::load::PROPAGATIONS.contains(&p.as_str())
    {
        return Err(format!(
            "`{at}.bind.propagation`: `{p}` is not one of {}",
            crate::compose::load::PROPAGATIONS.join(", ")
        ));
    }
    let selinux = o.get("selinux").and_then(scalar);
    if let Some(s) = &selinux
        && s != "z"
        && s != "Z"
    {
        return Err(format!("`{at}.bind.selinux`: `{s}` is not `z` or `Z`"));
    }
    Ok(Some(BindOptions {
        propagation,
        create_host_path: boolean(o, "create_host_path", &format!("{at}.bind"))?,
        selinux,
    }))
}

fn volume(v: Option<&Value>, at: &str) -> R<Option<VolumeOptions>> {
    let Some(o) = options(v, at, "volume", &["nocopy", "subpath"])? else {
        return Ok(None);
    };
    Ok(Some(VolumeOptions {
        nocopy: boolean(o, "nocopy", &format!("{at}.volume"))?,
        subpath: o.get("subpath").and_then(scalar).filter(|s| !s.is_empty()),
    }))
}

fn tmpfs(v: Option<&Value>, at: &str) -> R<Option<TmpfsOptions>> {
    let Some(o) = options(v, at, "tmpfs", &["size", "mode"])? else {
        return Ok(None);
    };
    let size = match o.get("size") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let s = scalar(v).unwrap_or_default();
            Some(
                parse_bytes(&s)
                    .filter(|b| *b <= i64::MAX as u64)
                    .map(|b| b as i64)
                    .ok_or_else(|| format!("`{at}.tmpfs.size`: `{s}` is not a size in bytes"))?,
            )
        }
    };
    Ok(Some(TmpfsOptions {
        size,
        mode: file_mode(o.get("mode"), &format!("{at}.tmpfs.mode"))?,
    }))
}

/// Permission bits as compose reads them: a number as it is (YAML's `0440`
/// and `0o440` are octal already), a string as octal.
pub(in crate::compose) fn file_mode(v: Option<&Value>, key: &str) -> R<Option<u32>> {
    let bad = || format!("`{key}` is not a file mode (such as 0440)");
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .filter(|m| *m <= 0o7777)
            .map(|m| Some(m as u32))
            .ok_or_else(bad),
        Some(Value::String(s)) => {
            let digits = s.trim_start_matches("0o");
            u32::from_str_radix(digits, 8)
                .ok()
                .filter(|m| *m <= 0o7777)
                .map(Some)
                .ok_or_else(bad)
        }
        Some(_) => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(v: Value) -> R<Mount> {
        let mut volumes = IndexMap::new();
        volumes.insert(
            "data".to_string(),
            Volume {
                name: "p_data".into(),
                external: false,
                driver: None,
                labels: IndexMap::new(),
                driver_opts: IndexMap::new(),
            },
        );
        mounts(Some(&json!([v])), &volumes).map(|mut m| m.remove(0))
    }

    #[test]
    fn options_are_read_per_type() {
        let m = one(json!({"type": "bind", "source": "/h", "target": "/c",
            "bind": {"propagation": "rslave", "selinux": "z", "create_host_path": true}}))
        .unwrap();
        assert_eq!(
            m.bind,
            Some(BindOptions {
                propagation: Some("rslave".into()),
                create_host_path: true,
                selinux: Some("z".into())
            })
        );
        let m = one(json!({"type": "volume", "source": "data", "target": "/d",
            "volume": {"nocopy": true, "subpath": "sub"}}))
        .unwrap();
        assert_eq!(m.volume.unwrap().subpath.as_deref(), Some("sub"));
        let m =
            one(json!({"type": "tmpfs", "target": "/t", "tmpfs": {"size": "10m", "mode": 1023}}))
                .unwrap();
        assert_eq!(
            m.tmpfs,
            Some(TmpfsOptions {
                size: Some(10 << 20),
                mode: Some(0o1777)
            })
        );
    }

    #[test]
    fn bad_options_name_the_key() {
        let e = one(json!({"type": "bind", "source": "/h", "target": "/c",
            "bind": {"propagation": "sideways"}}))
        .unwrap_err();
        assert!(e.contains("`volumes` (`/c`).bind.propagation`"), "{e}");
        let e =
            one(json!({"type": "tmpfs", "target": "/t", "tmpfs": {"size": "lots"}})).unwrap_err();
        assert!(e.contains("tmpfs.size"), "{e}");
        let e = one(json!({"type": "npipe", "source": "x", "target": "/p"})).unwrap_err();
        assert!(e.contains("Windows"), "{e}");
    }

    #[test]
    fn modes_are_octal_strings_or_numbers() {
        assert_eq!(file_mode(Some(&json!("0440")), "m").unwrap(), Some(0o440));
        assert_eq!(file_mode(Some(&json!(288)), "m").unwrap(), Some(0o440));
        assert!(file_mode(Some(&json!("9")), "m").is_err());
    }
}
