//! Compose's canonical form of `build:` and of the settings the engine
//! applies as written.

use serde_json::{Map, Value, json};

use super::{hosts, strings};

/// The settings applied as written, in compose's forms: flags as booleans
/// (`init` also when false), lists, sizes in bytes as strings, sysctl
/// values as strings.
pub(super) fn settings(s: &crate::compose::Settings, out: &mut Map<String, Value>) {
    for (key, on) in [
        ("privileged", s.privileged),
        ("tty", s.tty),
        ("stdin_open", s.stdin_open),
        ("read_only", s.read_only),
        ("oom_kill_disable", s.oom_kill_disable),
    ] {
        if on {
            out.insert(key.into(), true.into());
        }
    }
    if let Some(init) = s.init {
        out.insert("init".into(), init.into());
    }
    for (key, list) in [
        ("cap_add", &s.cap_add),
        ("cap_drop", &s.cap_drop),
        ("security_opt", &s.security_opt),
        ("dns", &s.dns),
        ("dns_search", &s.dns_search),
        ("dns_opt", &s.dns_opt),
        ("group_add", &s.group_add),
        ("tmpfs", &s.tmpfs),
    ] {
        if !list.is_empty() {
            out.insert(key.into(), json!(list));
        }
    }
    for (key, text) in [
        ("domainname", &s.domainname),
        ("pid", &s.pid),
        ("ipc", &s.ipc),
        ("userns_mode", &s.userns_mode),
        ("cgroup_parent", &s.cgroup_parent),
        ("runtime", &s.runtime),
    ] {
        if let Some(t) = text {
            out.insert(key.into(), t.clone().into());
        }
    }
    for (key, n) in [
        ("shm_size", s.shm_size),
        ("mem_reservation", s.mem_reservation),
        ("memswap_limit", s.memswap_limit),
        ("mem_swappiness", s.mem_swappiness),
    ] {
        if let Some(n) = n {
            out.insert(key.into(), n.to_string().into());
        }
    }
    if let Some(n) = s.oom_score_adj {
        out.insert("oom_score_adj".into(), n.into());
    }
    if !s.sysctls.is_empty() {
        out.insert("sysctls".into(), strings(&s.sysctls));
    }
    if let Some(l) = &s.logging {
        let mut m = Map::new();
        if let Some(d) = &l.driver {
            m.insert("driver".into(), d.clone().into());
        }
        if !l.options.is_empty() {
            m.insert("options".into(), strings(&l.options));
        }
        out.insert("logging".into(), Value::Object(m));
    }
    for (key, n) in [
        ("cpu_shares", s.cpu_shares),
        ("cpu_period", s.cpu_period),
        ("cpu_quota", s.cpu_quota),
    ] {
        if let Some(n) = n {
            out.insert(key.into(), n.into());
        }
    }
    if let Some(c) = &s.cpuset {
        out.insert("cpuset".into(), c.clone().into());
    }
    let blkio = blkio(s);
    if !blkio.is_empty() {
        out.insert("blkio_config".into(), Value::Object(blkio));
    }
    more(s, out);
    if let Some(p) = &s.platform {
        out.insert("platform".into(), p.clone().into());
    }
    if !s.devices.is_empty() {
        out.insert("devices".into(), json!(s.devices));
    }
}

/// `blkio_config`: the weight as a number; the device lists with compose's
/// capitalised keys, rates in bytes (or operations) as strings.
fn blkio(s: &crate::compose::Settings) -> Map<String, Value> {
    let mut b = Map::new();
    if let Some(w) = s.blkio_weight {
        b.insert("weight".into(), w.into());
    }
    let d = &s.blkio_devices;
    if !d.weight_device.is_empty() {
        let list = d
            .weight_device
            .iter()
            .map(|(p, w)| json!({"Path": p, "Weight": w}))
            .collect();
        b.insert("weight_device".into(), Value::Array(list));
    }
    for (key, list) in [
        ("device_read_bps", &d.device_read_bps),
        ("device_write_bps", &d.device_write_bps),
        ("device_read_iops", &d.device_read_iops),
        ("device_write_iops", &d.device_write_iops),
    ] {
        if !list.is_empty() {
            let list = list
                .iter()
                .map(|(p, r)| json!({"Path": p, "Rate": r.to_string()}))
                .collect();
            b.insert(key.into(), Value::Array(list));
        }
    }
    b
}

/// The keys of `settings_more`, as compose prints them.
fn more(s: &crate::compose::Settings, out: &mut Map<String, Value>) {
    for (key, n) in [
        ("cpu_rt_runtime", s.cpu_rt_runtime),
        ("cpu_rt_period", s.cpu_rt_period),
        ("cpu_count", s.cpu_count),
        ("cpu_percent", s.cpu_percent),
    ] {
        if let Some(n) = n {
            out.insert(key.into(), n.into());
        }
    }
    for (key, text) in [
        ("mac_address", &s.mac_address),
        ("uts", &s.uts),
        ("cgroup", &s.cgroup),
        ("isolation", &s.isolation),
        ("network_mode", &s.network_mode),
    ] {
        if let Some(t) = text {
            out.insert(key.into(), t.clone().into());
        }
    }
    for (key, map) in [
        ("storage_opt", &s.storage_opt),
        ("annotations", &s.annotations),
    ] {
        if !map.is_empty() {
            out.insert(key.into(), strings(map));
        }
    }
    for (key, list) in [
        ("device_cgroup_rules", &s.device_cgroup_rules),
        ("links", &s.links),
        ("external_links", &s.external_links),
        ("volumes_from", &s.volumes_from),
    ] {
        if !list.is_empty() {
            out.insert(key.into(), json!(list));
        }
    }
    for (key, list) in [("post_start", &s.post_start), ("pre_stop", &s.pre_stop)] {
        if list.is_empty() {
            continue;
        }
        let hooks = list
            .iter()
            .map(|h| {
                let mut o = Map::new();
                o.insert("command".into(), json!(h.command));
                if let Some(u) = &h.user {
                    o.insert("user".into(), u.clone().into());
                }
                if h.privileged {
                    o.insert("privileged".into(), true.into());
                }
                if let Some(w) = &h.working_dir {
                    o.insert("working_dir".into(), w.clone().into());
                }
                if !h.environment.is_empty() {
                    o.insert("environment".into(), json!(h.environment));
                }
                Value::Object(o)
            })
            .collect();
        out.insert(key.into(), Value::Array(hooks));
    }
    if let Some(a) = s.attach {
        out.insert("attach".into(), a.into());
    }
    if let Some(d) = &s.develop {
        out.insert("develop".into(), d.clone());
    }
    if !s.gpus.is_empty() {
        let gpus = s
            .gpus
            .iter()
            .map(|g| {
                let mut o = Map::new();
                if !g.capabilities.is_empty() {
                    o.insert("capabilities".into(), json!(g.capabilities));
                }
                if let Some(d) = &g.driver {
                    o.insert("driver".into(), d.clone().into());
                }
                if let Some(c) = g.count {
                    o.insert("count".into(), c.into());
                }
                if !g.device_ids.is_empty() {
                    o.insert("device_ids".into(), json!(g.device_ids));
                }
                if !g.options.is_empty() {
                    o.insert("options".into(), strings(&g.options));
                }
                Value::Object(o)
            })
            .collect();
        out.insert("gpus".into(), Value::Array(gpus));
    }
}

/// `build:` as compose writes it: `dockerfile` defaults to `Dockerfile`
/// unless the Dockerfile is inline; sizes in bytes, as strings.
pub(super) fn build(b: &crate::compose::Build) -> Value {
    let mut out = Map::new();
    out.insert("context".into(), b.context.clone().into());
    match (&b.dockerfile, &b.dockerfile_inline) {
        (_, Some(inline)) => {
            out.insert("dockerfile_inline".into(), inline.clone().into());
            if let Some(d) = &b.dockerfile {
                out.insert("dockerfile".into(), d.clone().into());
            }
        }
        (d, None) => {
            out.insert(
                "dockerfile".into(),
                d.clone().unwrap_or_else(|| "Dockerfile".into()).into(),
            );
        }
    }
    if !b.args.is_empty() {
        out.insert("args".into(), strings(&b.args));
    }
    if !b.labels.is_empty() {
        out.insert("labels".into(), strings(&b.labels));
    }
    if !b.cache_from.is_empty() {
        out.insert("cache_from".into(), json!(b.cache_from));
    }
    if !b.extra_hosts.is_empty() {
        out.insert("extra_hosts".into(), hosts(&b.extra_hosts));
    }
    for (key, value) in [("network", &b.network), ("target", &b.target)] {
        if let Some(v) = value {
            out.insert(key.into(), v.clone().into());
        }
    }
    if let Some(size) = b.shm_size {
        out.insert("shm_size".into(), size.to_string().into());
    }
    Value::Object(out)
}
