//! What attaches to a service, converted: its network endpoints, a
//! network's address pools, and the secrets and configs (top level and the
//! service's references to them). Errors name the key.

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::super::fields::{R, file_mode, string_map};
use super::super::load::{kind, scalar};
use super::super::model::*;

/// Keys of a service's entry under `networks`.
const ENDPOINT_KEYS: &[&str] = &[
    "aliases",
    "ipv4_address",
    "ipv6_address",
    "link_local_ips",
    "mac_address",
    "driver_opts",
    "priority",
    "gw_priority",
];

/// The service's networks: key → aliases, and key → the other settings
/// of each network written as a mapping (compose gives such an endpoint an
/// address configuration, even an empty one).
#[allow(clippy::type_complexity)]
pub(in crate::compose) fn service_networks(
    v: Option<&Value>,
) -> R<(IndexMap<String, Vec<String>>, IndexMap<String, Endpoint>)> {
    let mut aliases_of = IndexMap::new();
    let mut endpoints = IndexMap::new();
    match v {
        None | Some(Value::Null) => {
            aliases_of.insert("default".to_string(), Vec::new());
        }
        Some(Value::Object(m)) => {
            for (net, spec) in m {
                let mut aliases = Vec::new();
                if let Value::Object(s) = spec {
                    for k in s.keys() {
                        if !ENDPOINT_KEYS.contains(&k.as_str()) && !k.starts_with("x-") {
                            return Err(format!("`networks.{net}`: key `{k}` is not supported"));
                        }
                    }
                    if let Some(Value::Array(a)) = s.get("aliases") {
                        aliases = a.iter().filter_map(scalar).collect();
                    }
                    endpoints.insert(net.clone(), endpoint(s, net)?);
                }
                aliases_of.insert(net.clone(), aliases);
            }
        }
        Some(other) => {
            return Err(format!(
                "`networks` must be a list or a mapping, not {}",
                kind(other)
            ));
        }
    }
    Ok((aliases_of, endpoints))
}

fn integer(v: Option<&Value>, key: &str) -> R<Option<i64>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => scalar(v)
            .and_then(|s| s.parse::<i64>().ok())
            .map(Some)
            .ok_or_else(|| format!("`{key}` must be a whole number")),
    }
}

fn endpoint(s: &Map<String, Value>, net: &str) -> R<Endpoint> {
    let text = |k: &str| s.get(k).and_then(scalar).filter(|v| !v.is_empty());
    let at = |k: &str| format!("networks.{net}.{k}");
    let link_local_ips = match s.get("link_local_ips") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.iter().filter_map(scalar).collect(),
        Some(other) => {
            return Err(format!(
                "`{}` must be a list, not {}",
                at("link_local_ips"),
                kind(other)
            ));
        }
    };
    Ok(Endpoint {
        ipv4_address: text("ipv4_address"),
        ipv6_address: text("ipv6_address"),
        link_local_ips,
        mac_address: text("mac_address"),
        driver_opts: string_map(s.get("driver_opts"), &at("driver_opts"))?,
        priority: integer(s.get("priority"), &at("priority"))?,
        gw_priority: integer(s.get("gw_priority"), &at("gw_priority"))?,
    })
}

/// A top-level network's `ipam`.
pub(in crate::compose) fn ipam(v: Option<&Value>, key: &str) -> R<Ipam> {
    let at = format!("networks.{key}.ipam");
    let o = match v {
        None | Some(Value::Null) => return Ok(Ipam::default()),
        Some(Value::Object(o)) => o,
        Some(other) => return Err(format!("`{at}` must be a mapping, not {}", kind(other))),
    };
    for k in o.keys() {
        if !["driver", "config", "options"].contains(&k.as_str()) {
            return Err(format!("`{at}`: key `{k}` is not supported"));
        }
    }
    let mut config = Vec::new();
    match o.get("config") {
        None | Some(Value::Null) => {}
        Some(Value::Array(pools)) => {
            for pool in pools {
                let Value::Object(p) = pool else {
                    return Err(format!(
                        "`{at}.config` items must be mappings, not {}",
                        kind(pool)
                    ));
                };
                for k in p.keys() {
                    if !["subnet", "ip_range", "gateway", "aux_addresses"].contains(&k.as_str()) {
                        return Err(format!("`{at}.config`: key `{k}` is not supported"));
                    }
                }
                config.push(IpamPool {
                    subnet: p.get("subnet").and_then(scalar),
                    ip_range: p.get("ip_range").and_then(scalar),
                    gateway: p.get("gateway").and_then(scalar),
                    aux_addresses: string_map(
                        p.get("aux_addresses"),
                        &format!("{at}.config.aux_addresses"),
                    )?,
                });
            }
        }
        Some(other) => {
            return Err(format!("`{at}.config` must be a list, not {}", kind(other)));
        }
    }
    Ok(Ipam {
        driver: o.get("driver").and_then(scalar),
        config,
    })
}

/// The top-level `secrets` (`what` = "secrets") or `configs`. `lookup`
/// gives an `environment` source its value.
pub(in crate::compose) fn file_objects(
    v: Option<&Value>,
    project: &str,
    what: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> R<IndexMap<String, FileObject>> {
    let mut out = IndexMap::new();
    let m = match v {
        None | Some(Value::Null) => return Ok(out),
        Some(Value::Object(m)) => m,
        Some(other) => {
            return Err(format!(
                "top-level `{what}` must be a mapping, not {}",
                kind(other)
            ));
        }
    };
    let sources: &[&str] = if what == "secrets" {
        &["file", "environment"]
    } else {
        &["file", "environment", "content"]
    };
    for (key, spec) in m {
        let Value::Object(spec) = spec else {
            return Err(format!(
                "`{what}.{key}` must be a mapping, not {}",
                kind(spec)
            ));
        };
        for k in spec.keys() {
            match k.as_str() {
                "name" | "external" | "labels" => {}
                k if k.starts_with("x-") => {}
                k if sources.contains(&k) => {}
                "driver" | "driver_opts" | "template_driver" => {
                    return Err(format!(
                        "`{what}.{key}.{k}` is not supported: it needs Docker Swarm (docker compose refuses it too)"
                    ));
                }
                _ => return Err(format!("`{what}.{key}`: key `{k}` is not supported")),
            }
        }
        let external = match spec.get("external") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(format!(
                    "`{what}.{key}.external` must be true or false, not {}",
                    kind(other)
                ));
            }
        };
        let given: Vec<&str> = sources
            .iter()
            .copied()
            .filter(|s| spec.contains_key(*s))
            .collect();
        let source = match given.as_slice() {
            [] if external => FileSource::None,
            ["file"] => FileSource::File(scalar(&spec["file"]).unwrap_or_default()),
            ["environment"] => {
                let variable = scalar(&spec["environment"]).unwrap_or_default();
                let value = lookup(&variable).map(Hidden);
                FileSource::Environment { variable, value }
            }
            ["content"] => {
                FileSource::Content(Hidden(scalar(&spec["content"]).unwrap_or_default()))
            }
            _ => {
                return Err(format!(
                    "`{what}.{key}` needs exactly one of {}{}",
                    sources
                        .iter()
                        .map(|s| format!("`{s}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if external {
                        ""
                    } else {
                        ", or `external: true`"
                    }
                ));
            }
        };
        let name = match spec.get("name").and_then(scalar) {
            Some(n) => n,
            None if external => key.clone(),
            None => format!("{project}_{key}"),
        };
        out.insert(
            key.clone(),
            FileObject {
                name,
                source,
                external,
                labels: string_map(spec.get("labels"), &format!("{what}.{key}.labels"))?,
            },
        );
    }
    Ok(out)
}

/// A service's `secrets` or `configs` (long form, the short one made long
/// on load), each checked against the top-level ones.
pub(in crate::compose) fn file_refs(
    v: Option<&Value>,
    what: &str,
    declared: &IndexMap<String, FileObject>,
) -> R<Vec<FileRef>> {
    let mut out = Vec::new();
    let Some(Value::Array(items)) = v else {
        return Ok(out);
    };
    for item in items {
        let Value::Object(m) = item else { continue };
        for k in m.keys() {
            if !["source", "target", "uid", "gid", "mode"].contains(&k.as_str())
                && !k.starts_with("x-")
            {
                return Err(format!("`{what}`: key `{k}` is not supported"));
            }
        }
        let source = m
            .get("source")
            .and_then(scalar)
            .ok_or_else(|| format!("`{what}`: each entry needs a `source`"))?;
        let at = format!("{what}.{source}");
        if !declared.contains_key(&source) {
            return Err(format!(
                "`{what}`: `{source}` is not declared under the top-level `{what}`"
            ));
        }
        let id = |k: &str| -> R<Option<String>> {
            match m.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.is_empty() => Ok(None),
                Some(Value::String(s)) if s.parse::<u32>().is_ok() => Ok(Some(s.clone())),
                Some(_) => Err(format!(
                    "`{at}.{k}` must be a numeric id written as a string"
                )),
            }
        };
        out.push(FileRef {
            target: m.get("target").and_then(scalar).filter(|t| !t.is_empty()),
            uid: id("uid")?,
            gid: id("gid")?,
            mode: file_mode(m.get("mode"), &format!("{at}.mode"))?,
            source,
        });
    }
    Ok(out)
}
