//! Parsers of single service fields (strings, maps, commands, durations,
//! ports, mounts, healthchecks, limits, ulimits) from the merged document,
//! each error naming the key.

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::load::{kind, scalar};
use super::model::*;
use crate::units::{parse_bytes, parse_duration};

mod mounts;
pub(super) use mounts::{file_mode, mounts};

pub(super) type R<T> = std::result::Result<T, String>;

pub(super) fn string(v: &Value, key: &str) -> R<String> {
    scalar(v).ok_or_else(|| format!("`{key}` must be a string, not {}", kind(v)))
}

pub(super) fn opt_string(svc: &Map<String, Value>, key: &str) -> R<Option<String>> {
    match svc.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => string(v, key).map(Some),
    }
}

pub(super) fn string_map(v: Option<&Value>, key: &str) -> R<IndexMap<String, String>> {
    let mut out = IndexMap::new();
    match v {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                let s = if v.is_null() {
                    String::new()
                } else {
                    string(v, &format!("{key}.{k}"))?
                };
                out.insert(k.clone(), s);
            }
        }
        Some(other) => return Err(format!("`{key}` must be a mapping, not {}", kind(other))),
    }
    Ok(out)
}

/// A command or entrypoint: a list, or a string split like a shell would.
pub(super) fn command(v: Option<&Value>, key: &str) -> R<Option<Vec<String>>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => shell_words::split(s)
            .map(Some)
            .map_err(|e| format!("`{key}`: cannot split `{s}`: {e}")),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, x)| string(x, &format!("{key}[{i}]")))
            .collect::<R<Vec<_>>>()
            .map(Some),
        Some(other) => Err(format!(
            "`{key}` must be a string or a list, not {}",
            kind(other)
        )),
    }
}

pub(super) fn duration_ms(v: Option<&Value>, key: &str) -> R<Option<u64>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let s = string(v, key)?;
            parse_duration(&s)
                .map(|d| Some(d.as_millis() as u64))
                .ok_or_else(|| format!("`{key}`: `{s}` is not a duration (e.g. `10s`, `1m30s`)"))
        }
    }
}

pub(super) fn port_number(s: &str, what: &str, spec: &str) -> R<u16> {
    s.parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("port `{spec}`: {what} `{s}` is not a port (1-65535)"))
}

/// `[HOST_IP:][HOST_PORT[-END]:]CONTAINER_PORT[-END][/PROTOCOL]`.
pub(super) fn short_ports(spec: &str) -> R<Vec<Port>> {
    let (body, protocol) = match spec.rsplit_once('/') {
        Some((b, p)) if matches!(p, "tcp" | "udp" | "sctp") => (b, p.to_string()),
        Some((_, p)) => return Err(format!("port `{spec}`: unknown protocol `{p}`")),
        None => (spec, "tcp".to_string()),
    };
    // An IPv6 host address is bracketed: [::1]:8080:80.
    let (host_ip, rest) = if let Some(stripped) = body.strip_prefix('[') {
        let (ip, rest) = stripped
            .split_once("]:")
            .ok_or_else(|| format!("port `{spec}`: unterminated `[`"))?;
        (Some(ip.to_string()), rest)
    } else {
        (None, body)
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (host_ip, published, target) = match (host_ip, parts.as_slice()) {
        (None, [t]) => (None, None, *t),
        (None, [p, t]) => (None, Some(*p), *t),
        (None, [ip, p, t]) => (Some(ip.to_string()), Some(*p), *t),
        (Some(ip), [p, t]) => (Some(ip), Some(*p), *t),
        _ => {
            return Err(format!(
                "port `{spec}` is not `[HOST_IP:]HOST_PORT:CONTAINER_PORT`"
            ));
        }
    };
    let range = |s: &str, what: &str| -> R<(u16, u16)> {
        match s.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (port_number(a, what, spec)?, port_number(b, what, spec)?);
                if a > b {
                    return Err(format!("port `{spec}`: range `{s}` runs backwards"));
                }
                Ok((a, b))
            }
            None => {
                let p = port_number(s, what, spec)?;
                Ok((p, p))
            }
        }
    };
    let (t0, t1) = range(target, "container port")?;
    // A host port of 0 asks the engine for any free port, as omitting it does.
    let published = match published.filter(|p| !p.is_empty()) {
        Some("0") => Some((0, 0)),
        Some(p) => Some(range(p, "host port")?),
        None => None,
    };
    let host_ip = host_ip.filter(|ip| !ip.is_empty());
    // A host range for one container port: the engine picks a free port
    // of it for each container (of a service of several).
    if let Some((p0, p1)) = published
        && t0 == t1
        && p0 != p1
    {
        return Ok(vec![Port {
            host_ip,
            published: Some(p0),
            published_end: Some(p1),
            target: t0,
            protocol,
        }]);
    }
    if let Some((p0, p1)) = published
        && p1 - p0 != t1 - t0
        && p0 != p1
    {
        return Err(format!(
            "port `{spec}`: host and container ranges differ in length"
        ));
    }
    Ok((t0..=t1)
        .enumerate()
        .map(|(i, target)| Port {
            host_ip: host_ip.clone(),
            published: published.map(|(p0, p1)| if p0 == p1 { p0 } else { p0 + i as u16 }),
            published_end: None,
            target,
            protocol: protocol.clone(),
        })
        .collect())
}

pub(super) fn ports(v: Option<&Value>) -> R<Vec<Port>> {
    let mut out = Vec::new();
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(out);
    };
    let Value::Array(items) = v else {
        return Err(format!("`ports` must be a list, not {}", kind(v)));
    };
    for item in items {
        match item {
            Value::Object(m) => {
                for k in m.keys() {
                    if ![
                        "target",
                        "published",
                        "host_ip",
                        "protocol",
                        "mode",
                        "name",
                        "app_protocol",
                    ]
                    .contains(&k.as_str())
                    {
                        return Err(format!("`ports`: key `{k}` is not supported"));
                    }
                }
                let target = m
                    .get("target")
                    .and_then(scalar)
                    .ok_or("`ports`: the long form needs `target`")?;
                let target = port_number(&target, "target", &target)?;
                let (published, published_end) = match m.get("published").and_then(scalar) {
                    Some(p) if p == "0" => (Some(0), None),
                    Some(p) if !p.is_empty() => match p.split_once('-') {
                        Some((a, b)) => {
                            let (a, b) = (
                                port_number(a, "published", &p)?,
                                port_number(b, "published", &p)?,
                            );
                            if a > b {
                                return Err(format!("port `{p}`: range `{p}` runs backwards"));
                            }
                            (Some(a), (a != b).then_some(b))
                        }
                        None => (Some(port_number(&p, "published", &p)?), None),
                    },
                    _ => (None, None),
                };
                out.push(Port {
                    host_ip: m.get("host_ip").and_then(scalar).filter(|s| !s.is_empty()),
                    published,
                    published_end,
                    target,
                    protocol: m
                        .get("protocol")
                        .and_then(scalar)
                        .unwrap_or_else(|| "tcp".into()),
                });
            }
            other => {
                let spec = scalar(other)
                    .ok_or_else(|| format!("`ports` items must be strings, not {}", kind(other)))?;
                out.extend(short_ports(&spec)?);
            }
        }
    }
    Ok(out)
}

pub(super) fn healthcheck(v: Option<&Value>) -> R<Option<Healthcheck>> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let Value::Object(m) = v else {
        return Err(format!("`healthcheck` must be a mapping, not {}", kind(v)));
    };
    for k in m.keys() {
        if ![
            "test",
            "interval",
            "timeout",
            "retries",
            "start_period",
            "start_interval",
            "disable",
        ]
        .contains(&k.as_str())
        {
            return Err(format!("`healthcheck`: key `{k}` is not supported"));
        }
    }
    if m.get("disable").and_then(Value::as_bool) == Some(true) {
        return Ok(Some(Healthcheck {
            test: vec!["NONE".into()],
            interval_ms: None,
            timeout_ms: None,
            start_period_ms: None,
            retries: None,
            start_interval_ms: None,
        }));
    }
    let test = match m.get("test") {
        Some(Value::String(s)) => vec!["CMD-SHELL".to_string(), s.clone()],
        Some(Value::Array(items)) => {
            let t: Vec<String> = items
                .iter()
                .map(|x| scalar(x).unwrap_or_default())
                .collect();
            match t.first().map(String::as_str) {
                Some("CMD" | "CMD-SHELL" | "NONE") => t,
                _ => {
                    return Err(
                        "`healthcheck.test` must start with `CMD`, `CMD-SHELL` or `NONE`".into(),
                    );
                }
            }
        }
        None => return Err("`healthcheck` needs a `test`".into()),
        Some(other) => {
            return Err(format!(
                "`healthcheck.test` must be a string or a list, not {}",
                kind(other)
            ));
        }
    };
    let retries = match m.get("retries") {
        None => None,
        Some(v) => Some(
            scalar(v)
                .and_then(|s| s.parse::<i64>().ok())
                .filter(|r| *r >= 0)
                .ok_or("`healthcheck.retries` must be a whole number")?,
        ),
    };
    Ok(Some(Healthcheck {
        test,
        interval_ms: duration_ms(m.get("interval"), "healthcheck.interval")?,
        timeout_ms: duration_ms(m.get("timeout"), "healthcheck.timeout")?,
        start_period_ms: duration_ms(m.get("start_period"), "healthcheck.start_period")?,
        retries,
        start_interval_ms: duration_ms(m.get("start_interval"), "healthcheck.start_interval")?,
    }))
}

pub(super) fn limits(svc: &Map<String, Value>) -> R<Limits> {
    let memory = |v: &Value, key: &str| -> R<i64> {
        let s = string(v, key)?;
        parse_bytes(&s)
            .filter(|b| *b >= 6 << 20 && *b <= i64::MAX as u64)
            .map(|b| b as i64)
            .ok_or_else(|| format!("`{key}`: `{s}` is not a memory size of at least 6m"))
    };
    let cpus = |v: &Value, key: &str| -> R<i64> {
        let s = string(v, key)?;
        s.parse::<f64>()
            .ok()
            .filter(|c| *c > 0.0 && *c <= 1024.0)
            .map(|c| (c * 1e9) as i64)
            .ok_or_else(|| format!("`{key}`: `{s}` is not a positive number of CPUs"))
    };
    let pids = |v: &Value, key: &str| -> R<i64> {
        scalar(v)
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("`{key}` must be a positive whole number"))
    };
    let mut own = Limits {
        memory: svc
            .get("mem_limit")
            .map(|v| memory(v, "mem_limit"))
            .transpose()?,
        nano_cpus: svc.get("cpus").map(|v| cpus(v, "cpus")).transpose()?,
        pids: svc
            .get("pids_limit")
            .map(|v| pids(v, "pids_limit"))
            .transpose()?,
    };
    let limits = super::deploy::section(svc)?
        .and_then(|d| d.get("resources"))
        .and_then(|r| r.get("limits"))
        .filter(|l| !l.is_null());
    if let Some(l) = limits {
        let Value::Object(l) = l else {
            return Err(format!(
                "`deploy.resources.limits` must be a mapping, not {}",
                kind(l)
            ));
        };
        for k in l.keys() {
            if !["cpus", "memory", "pids"].contains(&k.as_str()) {
                return Err(format!("`deploy.resources.limits.{k}` is not supported"));
            }
        }
        let deploy_limits = Limits {
            memory: l
                .get("memory")
                .map(|v| memory(v, "deploy.resources.limits.memory"))
                .transpose()?,
            nano_cpus: l
                .get("cpus")
                .map(|v| cpus(v, "deploy.resources.limits.cpus"))
                .transpose()?,
            pids: l
                .get("pids")
                .map(|v| pids(v, "deploy.resources.limits.pids"))
                .transpose()?,
        };
        // Compose refuses the two forms of one limit when they differ.
        for (own, deployed, key, deploy_key) in [
            (own.memory, deploy_limits.memory, "mem_limit", "memory"),
            (own.nano_cpus, deploy_limits.nano_cpus, "cpus", "cpus"),
            (own.pids, deploy_limits.pids, "pids_limit", "pids"),
        ] {
            if let (Some(a), Some(b)) = (own, deployed)
                && a != b
            {
                return Err(format!(
                    "`{key}` and `deploy.resources.limits.{deploy_key}` differ; give one, or the same value in both"
                ));
            }
        }
        own = own.min(deploy_limits);
    }
    Ok(own)
}

pub(super) fn ulimits(v: Option<&Value>) -> R<IndexMap<String, Ulimit>> {
    let mut out = IndexMap::new();
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(out);
    };
    let Value::Object(m) = v else {
        return Err(format!("`ulimits` must be a mapping, not {}", kind(v)));
    };
    let num = |v: Option<&Value>, key: &str| -> R<i64> {
        v.and_then(scalar)
            .and_then(|s| s.parse::<i64>().ok())
            .ok_or_else(|| format!("`ulimits.{key}` must be a whole number"))
    };
    for (name, v) in m {
        let u = match v {
            Value::Object(lim) => Ulimit {
                soft: num(lim.get("soft"), &format!("{name}.soft"))?,
                hard: num(lim.get("hard"), &format!("{name}.hard"))?,
            },
            other => {
                let n = num(Some(other), name)?;
                Ulimit { soft: n, hard: n }
            }
        };
        out.insert(name.clone(), u);
    }
    Ok(out)
}
