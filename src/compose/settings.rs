//! Parsers of the service keys the engine applies as written (`build:`
//! and the settings: flags, capabilities, DNS, sysctls, namespaces, memory
//! extras, tmpfs, logging, platform, devices).

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::fields::{R, opt_string, string_map};
use super::load::{kind, scalar};
use super::model::*;
use crate::units::parse_bytes;

/// `build:` (already in its long form, context absolute), with build args
/// without a value taken from the environment, as compose does.
pub(super) fn build(
    v: Option<&Value>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> R<Option<Build>> {
    let Some(v) = v else { return Ok(None) };
    let Value::Object(b) = v else {
        return Err(format!("`build` must be a mapping, not {}", kind(v)));
    };
    const KEYS: &[&str] = &[
        "context",
        "dockerfile",
        "dockerfile_inline",
        "args",
        "target",
        "labels",
        "network",
        "extra_hosts",
        "shm_size",
        "cache_from",
    ];
    if let Some(k) = b
        .keys()
        .find(|k| !KEYS.contains(&k.as_str()) && !k.starts_with("x-"))
    {
        return Err(format!("`build.{k}` is not supported by mrctl"));
    }
    let context = opt_string(b, "context")?.unwrap_or_else(|| ".".into());
    if context.contains("://") || context.starts_with("git@") {
        return Err(format!(
            "`build.context`: `{context}` is a remote context, which mrctl does not build; clone it and give its path"
        ));
    }
    let args = match b.get("args") {
        None | Some(Value::Null) => IndexMap::new(),
        Some(Value::Object(m)) => m
            .iter()
            .filter_map(|(k, v)| match v {
                Value::Null => lookup(k).map(|val| (k.clone(), val)),
                v => Some((k.clone(), scalar(v).unwrap_or_default())),
            })
            .collect(),
        Some(other) => {
            return Err(format!(
                "`build.args` must be a mapping, not {}",
                kind(other)
            ));
        }
    };
    let list = |key: &str| -> R<Vec<String>> {
        match b.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items.iter().filter_map(scalar).collect()),
            Some(other) => Err(format!("`build.{key}` must be a list, not {}", kind(other))),
        }
    };
    let shm_size = match b.get("shm_size") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let text = scalar(v).unwrap_or_default();
            Some(
                parse_bytes(&text)
                    .ok_or_else(|| format!("`build.shm_size`: `{text}` is not a size"))?
                    as i64,
            )
        }
    };
    Ok(Some(Build {
        context,
        dockerfile: opt_string(b, "dockerfile")?,
        dockerfile_inline: opt_string(b, "dockerfile_inline")?,
        args,
        target: opt_string(b, "target")?,
        labels: string_map(b.get("labels"), "build.labels")?,
        network: opt_string(b, "network")?,
        extra_hosts: list("extra_hosts")?,
        shm_size,
        cache_from: list("cache_from")?,
    }))
}

/// The settings the engine applies as written (see `Settings`).
pub(super) fn settings(svc: &Map<String, Value>) -> R<Settings> {
    let flag = |key: &str| -> R<Option<bool>> {
        match svc.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
            Some(other) => Err(format!(
                "`{key}` must be true or false, not {}",
                kind(other)
            )),
        }
    };
    let list = |key: &str| -> R<Vec<String>> {
        match svc.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items.iter().filter_map(scalar).collect()),
            Some(other) => Err(format!("`{key}` must be a list, not {}", kind(other))),
        }
    };
    let bytes = |key: &str| -> R<Option<i64>> {
        match svc.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => {
                let text = scalar(v).unwrap_or_default();
                parse_bytes(&text)
                    .map(|b| Some(b as i64))
                    .ok_or_else(|| format!("`{key}`: `{text}` is not a size (e.g. `64m`)"))
            }
        }
    };
    let int = |key: &str, lo: i64, hi: i64| super::settings_more::int(svc, key, lo, hi);
    let mut s = Settings {
        privileged: flag("privileged")?.unwrap_or(false),
        init: flag("init")?,
        tty: flag("tty")?.unwrap_or(false),
        stdin_open: flag("stdin_open")?.unwrap_or(false),
        read_only: flag("read_only")?.unwrap_or(false),
        cap_add: list("cap_add")?,
        cap_drop: list("cap_drop")?,
        security_opt: list("security_opt")?,
        dns: list("dns")?,
        dns_search: list("dns_search")?,
        dns_opt: list("dns_opt")?,
        group_add: list("group_add")?,
        shm_size: bytes("shm_size")?,
        sysctls: string_map(svc.get("sysctls"), "sysctls")?,
        domainname: opt_string(svc, "domainname")?,
        pid: opt_string(svc, "pid")?,
        ipc: opt_string(svc, "ipc")?,
        userns_mode: opt_string(svc, "userns_mode")?,
        cgroup_parent: opt_string(svc, "cgroup_parent")?,
        runtime: opt_string(svc, "runtime")?,
        oom_score_adj: int("oom_score_adj", -1000, 1000)?,
        oom_kill_disable: flag("oom_kill_disable")?.unwrap_or(false),
        mem_reservation: bytes("mem_reservation")?,
        memswap_limit: bytes("memswap_limit")?,
        mem_swappiness: int("mem_swappiness", 0, 100)?,
        tmpfs: list("tmpfs")?,
        logging: logging(svc.get("logging"))?,
        platform: opt_string(svc, "platform")?,
        devices: devices(svc.get("devices"))?,
        cpu_shares: int("cpu_shares", 0, 262_144)?,
        cpu_period: int("cpu_period", 0, 1_000_000)?,
        cpu_quota: int("cpu_quota", -1, i64::MAX)?,
        cpuset: opt_string(svc, "cpuset")?,
        blkio_weight: blkio_weight(svc.get("blkio_config"))?,
        ..Default::default()
    };
    super::settings_more::more(svc, &mut s)?;
    Ok(s)
}

/// `blkio_config: {weight: N}` (the device lists are `settings_more`'s).
fn blkio_weight(v: Option<&Value>) -> R<Option<i64>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => match m.get("weight") {
            None | Some(Value::Null) => Ok(None),
            Some(w) => {
                let text = scalar(w).unwrap_or_default();
                text.parse::<i64>()
                    .ok()
                    .filter(|n| (10..=1000).contains(n) || *n == 0)
                    .map(Some)
                    .ok_or_else(|| {
                        format!("`blkio_config.weight`: `{text}` is not a weight from 10 to 1000")
                    })
            }
        },
        Some(other) => Err(format!(
            "`blkio_config` must be a mapping, not {}",
            kind(other)
        )),
    }
}

fn logging(v: Option<&Value>) -> R<Option<Logging>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => {
            if let Some(k) = m.keys().find(|k| *k != "driver" && *k != "options") {
                return Err(format!("`logging.{k}` is not supported by mrctl"));
            }
            Ok(Some(Logging {
                driver: opt_string(m, "driver")?,
                options: string_map(m.get("options"), "logging.options")?,
            }))
        }
        Some(other) => Err(format!("`logging` must be a mapping, not {}", kind(other))),
    }
}

/// `SOURCE[:TARGET[:PERMISSIONS]]` or `{source, target, permissions}`.
fn devices(v: Option<&Value>) -> R<Vec<Device>> {
    let items = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => return Err(format!("`devices` must be a list, not {}", kind(other))),
    };
    items
        .iter()
        .map(|item| match item {
            Value::Object(m) => {
                let source = opt_string(m, "source")?.ok_or("`devices` entries need a `source`")?;
                Ok(Device {
                    target: opt_string(m, "target")?.unwrap_or_else(|| source.clone()),
                    permissions: opt_string(m, "permissions")?.unwrap_or_else(|| "rwm".into()),
                    source,
                })
            }
            other => {
                let spec = scalar(other).unwrap_or_default();
                let mut parts = spec.splitn(3, ':');
                let source = parts.next().unwrap_or_default().to_string();
                if source.is_empty() {
                    return Err(format!("`devices`: `{spec}` names no device"));
                }
                let target = parts
                    .next()
                    .filter(|t| !t.is_empty())
                    .unwrap_or(&source)
                    .to_string();
                let permissions = parts.next().unwrap_or("rwm").to_string();
                Ok(Device {
                    source,
                    target,
                    permissions,
                })
            }
        })
        .collect()
}
