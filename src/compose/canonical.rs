//! The resolved project in docker compose v2's canonical form: the JSON
//! value `docker compose config --format json` prints for the same files.
//! Values come from the typed project (interpolated, merged, validated,
//! `env_file` read, port ranges expanded); shapes the typed model does not
//! keep (a bare `- KEY` left unset, a single-number ulimit, `mem_limit`
//! against `deploy`, `depends_on.required`) come from the merged document.

use serde_json::{Map, Value, json};

use super::model::*;
use crate::units::parse_bytes;

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
    let networks = attach::networks(p);
    let volumes = attach::volumes(p);
    let mut out = Map::new();
    out.insert("name".into(), p.name.clone().into());
    if !networks.is_empty() {
        out.insert("networks".into(), Value::Object(networks));
    }
    out.insert("services".into(), Value::Object(services));
    if !volumes.is_empty() {
        out.insert("volumes".into(), Value::Object(volumes));
    }
    for (key, objects) in [("secrets", &p.secrets), ("configs", &p.configs)] {
        if !objects.is_empty() {
            out.insert(key.into(), Value::Object(attach::file_objects(objects)));
        }
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
        let mounts = svc.mounts.iter().map(attach::mount).collect();
        out.insert("volumes".into(), Value::Array(mounts));
    }
    // A service in another's network namespace has no networks.
    if svc.settings.network_mode.is_none() {
        out.insert("networks".into(), attach::service_networks(svc, doc));
    }
    if !svc.secrets.is_empty() {
        out.insert("secrets".into(), attach::file_refs(&svc.secrets, true));
    }
    if !svc.configs.is_empty() {
        out.insert("configs".into(), attach::file_refs(&svc.configs, false));
    }
    let deps = depends_on(svc, doc);
    if !deps.is_empty() {
        out.insert("depends_on".into(), Value::Object(deps));
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

/// `depends_on` as written (`required` spelled out; an optional dependency
/// that is not active kept, as compose prints it), then the services the
/// service names elsewhere, which compose adds with `restart: true`.
fn depends_on(svc: &Service, doc: &Map<String, Value>) -> Map<String, Value> {
    let mut d = Map::new();
    if let Some(Value::Object(written)) = doc.get("depends_on") {
        for (dep, spec) in written {
            let mut o = Map::new();
            let condition = spec
                .get("condition")
                .and_then(Value::as_str)
                .unwrap_or("service_started");
            o.insert("condition".into(), condition.into());
            if let Some(r) = spec.get("restart").and_then(flag) {
                o.insert("restart".into(), r.into());
            }
            let required = spec.get("required").and_then(flag).unwrap_or(true);
            o.insert("required".into(), required.into());
            d.insert(dep.clone(), Value::Object(o));
        }
    }
    for (dep, condition) in &svc.depends_on {
        if !d.contains_key(dep) {
            d.insert(
                dep.clone(),
                json!({"condition": condition.as_str(), "restart": true, "required": true}),
            );
        }
    }
    d
}

/// `true`/`false`, written as a boolean or a string.
fn flag(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" || s == "false" => Some(s == "true"),
        _ => None,
    }
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
/// What `docker compose config` prints is itself a compose file: every `$`
/// of a resolved value is written `$$`, so that loading it again gives the
/// same value. `mrctl config` prints the same; the model (and the hash
/// computed from it) keeps the values themselves.
pub fn escape_dollars(v: &mut Value) {
    match v {
        Value::String(s) if s.contains('$') => *s = s.replace('$', "$$"),
        Value::Array(items) => items.iter_mut().for_each(escape_dollars),
        Value::Object(m) => {
            if m.keys().any(|k| k.contains('$')) {
                let taken = std::mem::take(m);
                for (k, mut val) in taken {
                    escape_dollars(&mut val);
                    m.insert(k.replace('$', "$$"), val);
                }
            } else {
                m.values_mut().for_each(escape_dollars);
            }
        }
        _ => {}
    }
}

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

mod attach;
mod deploy;
mod settings;
use settings::{build, settings};

#[cfg(test)]
mod tests;
