//! Compose's canonical form of what attaches to a service: mounts and
//! their options, network endpoints, the top-level networks, volumes,
//! secrets and configs. A secret's value is never printed: an
//! `environment` source prints the variable's name.

use serde_json::{Map, Value, json};

use super::strings;
use crate::compose::model::*;

/// The top-level networks the services use.
pub(super) fn networks(p: &Project) -> Map<String, Value> {
    let mut networks = Map::new();
    for (key, n) in &p.networks {
        let mut out = Map::new();
        out.insert("name".into(), n.name.clone().into());
        if let Some(d) = &n.driver {
            out.insert("driver".into(), d.clone().into());
        }
        if !n.driver_opts.is_empty() {
            out.insert("driver_opts".into(), strings(&n.driver_opts));
        }
        out.insert("ipam".into(), ipam(&n.ipam));
        if n.external {
            out.insert("external".into(), true.into());
        }
        if n.internal {
            out.insert("internal".into(), true.into());
        }
        if n.attachable {
            out.insert("attachable".into(), true.into());
        }
        if let Some(v6) = n.enable_ipv6 {
            out.insert("enable_ipv6".into(), v6.into());
        }
        if !n.labels.is_empty() {
            out.insert("labels".into(), strings(&n.labels));
        }
        networks.insert(key.clone(), Value::Object(out));
    }
    networks
}

fn ipam(i: &Ipam) -> Value {
    let mut o = Map::new();
    if let Some(d) = &i.driver {
        o.insert("driver".into(), d.clone().into());
    }
    if !i.config.is_empty() {
        let pools = i
            .config
            .iter()
            .map(|p| {
                let mut pool = Map::new();
                for (k, v) in [
                    ("subnet", &p.subnet),
                    ("ip_range", &p.ip_range),
                    ("gateway", &p.gateway),
                ] {
                    if let Some(v) = v {
                        pool.insert(k.into(), v.clone().into());
                    }
                }
                if !p.aux_addresses.is_empty() {
                    pool.insert("aux_addresses".into(), strings(&p.aux_addresses));
                }
                Value::Object(pool)
            })
            .collect();
        o.insert("config".into(), Value::Array(pools));
    }
    Value::Object(o)
}

/// The top-level volumes the services use.
pub(super) fn volumes(p: &Project) -> Map<String, Value> {
    let mut volumes = Map::new();
    for (key, v) in &p.volumes {
        let mut out = Map::new();
        out.insert("name".into(), v.name.clone().into());
        if let Some(d) = &v.driver {
            out.insert("driver".into(), d.clone().into());
        }
        if !v.driver_opts.is_empty() {
            out.insert("driver_opts".into(), strings(&v.driver_opts));
        }
        if v.external {
            out.insert("external".into(), true.into());
        }
        if !v.labels.is_empty() {
            out.insert("labels".into(), strings(&v.labels));
        }
        volumes.insert(key.clone(), Value::Object(out));
    }
    volumes
}

/// The top-level secrets or configs the services use.
pub(super) fn file_objects(objects: &indexmap::IndexMap<String, FileObject>) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, f) in objects {
        let mut o = Map::new();
        o.insert("name".into(), f.name.clone().into());
        match &f.source {
            FileSource::File(path) => {
                o.insert("file".into(), path.clone().into());
            }
            FileSource::Environment { variable, .. } => {
                o.insert("environment".into(), variable.clone().into());
            }
            FileSource::Content(text) => {
                o.insert("content".into(), text.0.clone().into());
            }
            FileSource::None => {}
        }
        if f.external {
            o.insert("external".into(), true.into());
        }
        if !f.labels.is_empty() {
            o.insert("labels".into(), strings(&f.labels));
        }
        out.insert(key.clone(), Value::Object(o));
    }
    out
}

/// A service's secrets (`secret`) or configs: a secret always shows its
/// target, `/run/secrets/<source>` when none is written; a config only the
/// one written. Modes print in octal, as strings.
pub(super) fn file_refs(refs: &[FileRef], secret: bool) -> Value {
    refs.iter()
        .map(|r| {
            let mut o = Map::new();
            o.insert("source".into(), r.source.clone().into());
            let target = match (&r.target, secret) {
                (Some(t), _) => Some(t.clone()),
                (None, true) => Some(r.path_in_container(true)),
                (None, false) => None,
            };
            if let Some(t) = target {
                o.insert("target".into(), t.into());
            }
            for (k, v) in [("uid", &r.uid), ("gid", &r.gid)] {
                if let Some(v) = v {
                    o.insert(k.into(), v.clone().into());
                }
            }
            if let Some(m) = r.mode {
                o.insert("mode".into(), format!("0{m:o}").into());
            }
            Value::Object(o)
        })
        .collect()
}

/// One mount with its options: `create_host_path` and `nocopy` only when
/// true, a tmpfs size in bytes as a string and its mode as a number.
pub(super) fn mount(m: &Mount) -> Value {
    let mut o = Map::new();
    let kind = match m.kind {
        MountKind::Bind => "bind",
        MountKind::Volume => "volume",
        MountKind::Tmpfs => "tmpfs",
    };
    o.insert("type".into(), kind.into());
    if let Some(s) = &m.source {
        o.insert("source".into(), s.clone().into());
    }
    o.insert("target".into(), m.target.clone().into());
    if m.read_only {
        o.insert("read_only".into(), true.into());
    }
    if let Some(c) = &m.consistency {
        o.insert("consistency".into(), c.clone().into());
    }
    if let Some(b) = &m.bind {
        let mut bind = Map::new();
        if let Some(p) = &b.propagation {
            bind.insert("propagation".into(), p.clone().into());
        }
        if b.create_host_path {
            bind.insert("create_host_path".into(), true.into());
        }
        if let Some(s) = &b.selinux {
            bind.insert("selinux".into(), s.clone().into());
        }
        o.insert("bind".into(), Value::Object(bind));
    }
    if let Some(v) = &m.volume {
        let mut volume = Map::new();
        if v.nocopy {
            volume.insert("nocopy".into(), true.into());
        }
        if let Some(s) = &v.subpath {
            volume.insert("subpath".into(), s.clone().into());
        }
        o.insert("volume".into(), Value::Object(volume));
    }
    if let Some(t) = &m.tmpfs {
        let mut tmpfs = Map::new();
        if let Some(size) = t.size {
            tmpfs.insert("size".into(), size.to_string().into());
        }
        if let Some(mode) = t.mode {
            tmpfs.insert("mode".into(), mode.into());
        }
        o.insert("tmpfs".into(), Value::Object(tmpfs));
    }
    Value::Object(o)
}

/// The service's networks: null for one listed, a mapping (maybe empty) for
/// one written as a mapping.
pub(super) fn service_networks(svc: &Service, doc: &Map<String, Value>) -> Value {
    let doc_nets = doc.get("networks").and_then(Value::as_object);
    let mut o = Map::new();
    for (key, aliases) in &svc.networks {
        let written = doc_nets.and_then(|n| n.get(key));
        let v = match written {
            Some(Value::Object(_)) => {
                let mut e = match svc.endpoints.get(key) {
                    Some(ep) => endpoint(ep),
                    None => Map::new(),
                };
                if !aliases.is_empty() {
                    e.insert("aliases".into(), json!(aliases));
                }
                Value::Object(e)
            }
            _ => Value::Null,
        };
        o.insert(key.clone(), v);
    }
    Value::Object(o)
}

fn endpoint(e: &Endpoint) -> Map<String, Value> {
    let mut o = Map::new();
    for (k, v) in [
        ("ipv4_address", &e.ipv4_address),
        ("ipv6_address", &e.ipv6_address),
        ("mac_address", &e.mac_address),
    ] {
        if let Some(v) = v {
            o.insert(k.into(), v.clone().into());
        }
    }
    if !e.link_local_ips.is_empty() {
        o.insert("link_local_ips".into(), json!(e.link_local_ips));
    }
    if !e.driver_opts.is_empty() {
        o.insert("driver_opts".into(), strings(&e.driver_opts));
    }
    for (k, v) in [("priority", e.priority), ("gw_priority", e.gw_priority)] {
        if let Some(v) = v {
            o.insert(k.into(), v.into());
        }
    }
    o
}
