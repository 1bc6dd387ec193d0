//! The resolved project in docker compose v2's canonical form: the JSON
//! value `docker compose config --format json` prints for the same files.
//! Values come from the typed project (interpolated, merged, validated,
//! `env_file` read, port ranges expanded); shapes the typed model does not
//! keep (a bare `- KEY` left unset, a single-number ulimit, `mem_limit`
//! against `deploy`, `depends_on.required`) come from the merged document.

use serde_json::{Map, Value, json};

use super::model::*;
use crate::units::parse_bytes;

/// Marks the volumes written in the short form (`src:/target[:mode]`) in the
/// merged document as compose marks them: a bind creates its missing host
/// path, a volume carries empty volume options. `texts` are the files in
/// merge order; a later file's entry for a target replaces an earlier one,
/// as merging does. Only the shape for printing changes, not what runs.
pub(super) fn mark_short_volumes(
    document: &mut Map<String, Value>,
    texts: &[String],
    lookup: &dyn Fn(&str) -> Option<String>,
) {
    let mut short: std::collections::HashMap<(String, String), bool> = Default::default();
    for text in texts {
        let Ok(Value::Object(raw)) = serde_saphyr::from_str::<Value>(text) else {
            continue;
        };
        let Some(Value::Object(services)) = raw.get("services") else {
            continue;
        };
        for (name, svc) in services {
            let Some(Value::Array(items)) = svc.get("volumes") else {
                continue;
            };
            for item in items {
                let (target, is_short) = match item {
                    Value::String(s) => {
                        let parts: Vec<&str> = s.split(':').collect();
                        let t = if parts.len() == 1 { parts[0] } else { parts[1] };
                        (t.to_string(), true)
                    }
                    Value::Object(m) => match m.get("target").and_then(super::load::scalar) {
                        Some(t) => (t, false),
                        None => continue,
                    },
                    _ => continue,
                };
                let target = if target.contains('$') {
                    match super::interpolate(&target, lookup, &mut Vec::new()) {
                        Ok(t) => t,
                        Err(_) => continue,
                    }
                } else {
                    target
                };
                short.insert((name.clone(), target), is_short);
            }
        }
    }
    let Some(Value::Object(services)) = document.get_mut("services") else {
        return;
    };
    for (name, svc) in services.iter_mut() {
        let Some(Value::Array(items)) = svc.get_mut("volumes") else {
            continue;
        };
        for item in items {
            let Value::Object(m) = item else { continue };
            let Some(target) = m.get("target").and_then(super::load::scalar) else {
                continue;
            };
            if short.get(&(name.clone(), target)) != Some(&true) {
                continue;
            }
            match m.get("type").and_then(Value::as_str) {
                Some("bind") => {
                    m.entry("bind")
                        .or_insert_with(|| json!({"create_host_path": true}));
                }
                Some("volume") => {
                    m.entry("volume").or_insert_with(|| json!({}));
                }
                _ => {}
            }
        }
    }
}

/// The project as compose prints it.
pub fn project(p: &Project) -> Value {
    let doc_services = p.document.get("services").and_then(Value::as_object);
    let mut services = Map::new();
    for (name, svc) in &p.services {
        let empty = Map::new();
        let doc = doc_services
            .and_then(|s| s.get(name))
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        services.insert(name.clone(), service(svc, doc));
    }
    let doc_networks = p.document.get("networks").and_then(Value::as_object);
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
        out.insert("ipam".into(), json!({}));
        if n.external {
            out.insert("external".into(), true.into());
        }
        if n.internal {
            out.insert("internal".into(), true.into());
        }
        let attachable = doc_networks
            .and_then(|m| m.get(key))
            .and_then(|n| n.get("attachable"))
            .and_then(Value::as_bool);
        if attachable == Some(true) {
            out.insert("attachable".into(), true.into());
        }
        if !n.labels.is_empty() {
            out.insert("labels".into(), strings(&n.labels));
        }
        networks.insert(key.clone(), Value::Object(out));
    }
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
    let mut out = Map::new();
    out.insert("name".into(), p.name.clone().into());
    if !networks.is_empty() {
        out.insert("networks".into(), Value::Object(networks));
    }
    out.insert("services".into(), Value::Object(services));
    if !volumes.is_empty() {
        out.insert("volumes".into(), Value::Object(volumes));
    }
    Value::Object(out)
}

fn strings(m: &indexmap::IndexMap<String, String>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

fn service(svc: &Service, doc: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    let opt_list = |v: &Option<Vec<String>>| match v {
        Some(items) => json!(items),
        None => Value::Null,
    };
    out.insert("command".into(), opt_list(&svc.command));
    out.insert("entrypoint".into(), opt_list(&svc.entrypoint));
    // A service that is only built has no `image:` in compose's model.
    if svc.build.is_none() || doc.get("image").is_some_and(|i| !i.is_null()) {
        out.insert("image".into(), svc.image.clone().into());
    }
    if let Some(b) = &svc.build {
        out.insert("build".into(), build(b));
    }
    settings(&svc.settings, &mut out);
    for (key, value) in [
        ("container_name", &svc.container_name),
        ("hostname", &svc.hostname),
        ("user", &svc.user),
        ("working_dir", &svc.working_dir),
        ("restart", &svc.restart),
        ("stop_signal", &svc.stop_signal),
        ("pull_policy", &svc.pull_policy),
    ] {
        if let Some(v) = value {
            out.insert(key.into(), v.clone().into());
        }
    }
    let mut env: Map<String, Value> = svc
        .environment
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    // `- KEY` with KEY unset: compose keeps the key, with no value.
    if let Some(Value::Object(m)) = doc.get("environment") {
        for (k, v) in m {
            if v.is_null() && !env.contains_key(k) {
                env.insert(k.clone(), Value::Null);
            }
        }
    }
    if !env.is_empty() {
        out.insert("environment".into(), Value::Object(env));
    }
    if !svc.ports.is_empty() {
        let ports = svc.ports.iter().map(port).collect();
        out.insert("ports".into(), Value::Array(ports));
    }
    if !svc.expose.is_empty() {
        out.insert("expose".into(), json!(svc.expose));
    }
    if !svc.mounts.is_empty() {
        let doc_mounts = doc.get("volumes").and_then(Value::as_array);
        let mounts = svc
            .mounts
            .iter()
            .enumerate()
            .map(|(i, m)| mount(m, doc_mounts.and_then(|d| d.get(i))))
            .collect();
        out.insert("volumes".into(), Value::Array(mounts));
    }
    out.insert("networks".into(), networks(svc, doc));
    if let Some(Value::Object(deps)) = doc.get("depends_on") {
        let mut d = Map::new();
        for (dep, condition) in &svc.depends_on {
            let spec = deps.get(dep);
            let mut o = Map::new();
            o.insert("condition".into(), condition.as_str().into());
            if let Some(r) = spec.and_then(|s| s.get("restart")) {
                o.insert("restart".into(), r.clone());
            }
            let required = spec
                .and_then(|s| s.get("required"))
                .and_then(Value::as_bool)
                .unwrap_or(true);
            o.insert("required".into(), required.into());
            d.insert(dep.clone(), Value::Object(o));
        }
        if !d.is_empty() {
            out.insert("depends_on".into(), Value::Object(d));
        }
    }
    if let Some(h) = &svc.healthcheck {
        out.insert("healthcheck".into(), healthcheck(h, doc));
    }
    if !svc.labels.is_empty() {
        out.insert("labels".into(), strings(&svc.labels));
    }
    if !svc.extra_hosts.is_empty() {
        out.insert("extra_hosts".into(), hosts(&svc.extra_hosts));
    }
    if let Some(ms) = svc.stop_grace_period_ms {
        out.insert("stop_grace_period".into(), go_duration(ms).into());
    }
    if let Some(Value::Object(u)) = doc.get("ulimits") {
        let mut ulimits = Map::new();
        for (name, lim) in &svc.ulimits {
            let v = match u.get(name) {
                Some(Value::Object(_)) => json!({"soft": lim.soft, "hard": lim.hard}),
                _ => json!(lim.soft),
            };
            ulimits.insert(name.clone(), v);
        }
        if !ulimits.is_empty() {
            out.insert("ulimits".into(), Value::Object(ulimits));
        }
    }
    if !svc.profiles.is_empty() {
        out.insert("profiles".into(), json!(svc.profiles));
    }
    limits(doc, &mut out);
    if let Some(scale) = doc.get("scale").filter(|v| !v.is_null()) {
        out.insert("scale".into(), svc_scale(scale));
    }
    Value::Object(out)
}

/// `extra_hosts` as compose writes them: `host=ip` (the typed model keeps
/// the engine's `host:ip`), sorted.
fn hosts(list: &[String]) -> Value {
    let mut hosts: Vec<String> = list
        .iter()
        .map(|h| match h.split_once(':') {
            Some((host, ip)) => format!("{host}={ip}"),
            None => h.clone(),
        })
        .collect();
    hosts.sort();
    json!(hosts)
}

fn port(p: &Port) -> Value {
    let mut o = Map::new();
    o.insert("mode".into(), "ingress".into());
    if let Some(ip) = &p.host_ip {
        o.insert("host_ip".into(), ip.clone().into());
    }
    o.insert("target".into(), p.target.into());
    if let Some(published) = p.host_port() {
        o.insert("published".into(), published.into());
    }
    o.insert("protocol".into(), p.protocol.clone().into());
    Value::Object(o)
}

fn mount(m: &Mount, doc: Option<&Value>) -> Value {
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
    // The per-type options as written (the short form's are filled in on load).
    for key in ["bind", "volume", "tmpfs"] {
        if let Some(v) = doc.and_then(|d| d.get(key)).filter(|v| !v.is_null()) {
            o.insert(key.into(), v.clone());
        }
    }
    Value::Object(o)
}

fn networks(svc: &Service, doc: &Map<String, Value>) -> Value {
    let doc_nets = doc.get("networks").and_then(Value::as_object);
    let mut o = Map::new();
    for (key, aliases) in &svc.networks {
        let written = doc_nets.and_then(|n| n.get(key));
        let v = match written {
            Some(Value::Object(_)) if !aliases.is_empty() => json!({"aliases": aliases}),
            Some(Value::Object(_)) => json!({}),
            _ => Value::Null,
        };
        o.insert(key.clone(), v);
    }
    Value::Object(o)
}

fn healthcheck(h: &Healthcheck, doc: &Map<String, Value>) -> Value {
    let written = doc.get("healthcheck");
    if written
        .and_then(|w| w.get("disable"))
        .and_then(Value::as_bool)
        == Some(true)
    {
        return json!({"disable": true});
    }
    let mut o = Map::new();
    o.insert("test".into(), json!(h.test));
    for (key, ms) in [
        ("interval", h.interval_ms),
        ("timeout", h.timeout_ms),
        ("start_period", h.start_period_ms),
    ] {
        if let Some(ms) = ms {
            o.insert(key.into(), go_duration(ms).into());
        }
    }
    if let Some(r) = h.retries {
        o.insert("retries".into(), r.into());
    }
    if let Some(si) = written
        .and_then(|w| w.get("start_interval"))
        .and_then(super::load::scalar)
        .and_then(|s| crate::units::parse_duration(&s))
    {
        o.insert(
            "start_interval".into(),
            go_duration(si.as_millis() as u64).into(),
        );
    }
    Value::Object(o)
}

/// `scale` as a number.
fn svc_scale(v: &Value) -> Value {
    super::load::scalar(v)
        .and_then(|s| s.parse::<f64>().ok())
        .map(json_number)
        .unwrap_or_else(|| v.clone())
}

/// `mem_limit`, `cpus`, `pids_limit` and `deploy` as written: memory in
/// bytes as a string, CPUs and pids as numbers.
fn limits(doc: &Map<String, Value>, out: &mut Map<String, Value>) {
    let bytes = |v: &Value| {
        super::load::scalar(v)
            .and_then(|s| parse_bytes(&s))
            .map(|b| Value::String(b.to_string()))
    };
    let number = |v: &Value| {
        super::load::scalar(v)
            .and_then(|s| s.parse::<f64>().ok())
            .map(json_number)
    };
    if let Some(v) = doc.get("mem_limit").and_then(bytes) {
        out.insert("mem_limit".into(), v);
    }
    if let Some(v) = doc.get("cpus").and_then(number) {
        out.insert("cpus".into(), v);
    }
    if let Some(v) = doc.get("pids_limit").and_then(number) {
        out.insert("pids_limit".into(), v);
    }
    if let Some(d) = deploy::deploy(doc) {
        out.insert("deploy".into(), d);
    }
}

/// A whole number as an integer, as Go writes it; anything else as a float.
fn json_number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

/// A duration as Go's `time.Duration` prints it: `500ms`, `1s`, `1m30s`,
/// `1h0m0s`, `1.5s`.
pub fn go_duration(ms: u64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let secs = if rest % 1000 == 0 {
        format!("{}s", rest / 1000)
    } else {
        let frac = format!("{:03}", rest % 1000);
        format!("{}.{}s", rest / 1000, frac.trim_end_matches('0'))
    };
    match (h, m) {
        (0, 0) => secs,
        (0, m) => format!("{m}m{secs}"),
        (h, m) => format!("{h}h{m}m{secs}"),
    }
}

mod deploy;
mod settings;
use settings::{build, settings};

#[cfg(test)]
mod tests;
