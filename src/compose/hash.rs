//! The config hashes docker compose v2 labels its resources with
//! (`com.docker.compose.config-hash`), computed the way compose computes
//! them, so that a container, network or volume made by either tool is up to
//! date for the other.
//!
//! Compose hashes the SHA-256 of `json.Marshal` of its own model of the
//! resource: a service with `build`, `pull_policy`, `scale`,
//! `deploy.replicas`, `depends_on` and `profiles` cleared; a network as it
//! is; a volume with its driver `local` when none is given. That model is
//! exactly what `docker compose config --format json` prints, and mrctl's
//! canonical form (`canonical.rs`) prints the same JSON value. What is left
//! is the byte form Go writes: the fields of a struct in the struct's
//! declaration order, the keys of a map sorted, no spaces, and `<`, `>`,
//! `&`, U+2028 and U+2029 escaped. The tables below give the declaration
//! order of compose-go's types (`types/types.go`); a key that is not in its
//! table keeps its place after the known ones.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::canonical;
use super::model::Project;

/// The fields compose clears from a service before hashing it.
const CLEARED: &[&str] = &["build", "pull_policy", "scale", "depends_on", "profiles"];

/// The Go type behind a JSON value, as far as its byte form depends on it.
enum Shape {
    /// A scalar, or a value whose inner order needs nothing (lists of strings).
    Leaf,
    /// A struct: its fields in declaration order.
    Struct(&'static [(&'static str, &'static Shape)]),
    /// A map: keys sorted, values of one shape.
    Map(&'static Shape),
    /// A list: elements of one shape.
    List(&'static Shape),
}

use Shape::{Leaf, List, Map as GoMap, Struct};

static LEAF: Shape = Leaf;
static STRINGS: Shape = GoMap(&LEAF);

static BLKIO_DEVICE: Shape = Struct(&[("path", &LEAF), ("weight", &LEAF), ("rate", &LEAF)]);
static BLKIO: Shape = Struct(&[
    ("weight", &LEAF),
    ("weight_device", &List(&BLKIO_DEVICE)),
    ("device_read_bps", &List(&BLKIO_DEVICE)),
    ("device_read_iops", &List(&BLKIO_DEVICE)),
    ("device_write_bps", &List(&BLKIO_DEVICE)),
    ("device_write_iops", &List(&BLKIO_DEVICE)),
]);
static FILE_REFERENCE: Shape = Struct(&[
    ("source", &LEAF),
    ("target", &LEAF),
    ("uid", &LEAF),
    ("gid", &LEAF),
    ("mode", &LEAF),
]);
static CREDENTIAL_SPEC: Shape = Struct(&[("config", &LEAF), ("file", &LEAF), ("registry", &LEAF)]);
static DEVICE_REQUEST: Shape = Struct(&[
    ("capabilities", &LEAF),
    ("driver", &LEAF),
    ("count", &LEAF),
    ("device_ids", &LEAF),
    ("options", &STRINGS),
]);
static GENERIC_RESOURCE: Shape = Struct(&[(
    "discrete_resource_spec",
    &Struct(&[("kind", &LEAF), ("value", &LEAF)]),
)]);
static RESOURCE: Shape = Struct(&[
    ("cpus", &LEAF),
    ("memory", &LEAF),
    ("pids", &LEAF),
    ("devices", &List(&DEVICE_REQUEST)),
    ("generic_resources", &List(&GENERIC_RESOURCE)),
]);
static UPDATE_CONFIG: Shape = Struct(&[
    ("parallelism", &LEAF),
    ("delay", &LEAF),
    ("failure_action", &LEAF),
    ("monitor", &LEAF),
    ("max_failure_ratio", &LEAF),
    ("order", &LEAF),
]);
static DEPLOY: Shape = Struct(&[
    ("mode", &LEAF),
    ("replicas", &LEAF),
    ("labels", &STRINGS),
    ("update_config", &UPDATE_CONFIG),
    ("rollback_config", &UPDATE_CONFIG),
    (
        "resources",
        &Struct(&[("limits", &RESOURCE), ("reservations", &RESOURCE)]),
    ),
    (
        "restart_policy",
        &Struct(&[
            ("condition", &LEAF),
            ("delay", &LEAF),
            ("max_attempts", &LEAF),
            ("window", &LEAF),
        ]),
    ),
    (
        "placement",
        &Struct(&[
            ("constraints", &LEAF),
            ("preferences", &List(&Struct(&[("spread", &LEAF)]))),
            ("max_replicas_per_node", &LEAF),
        ]),
    ),
    ("endpoint_mode", &LEAF),
]);
static DEVICE: Shape = Struct(&[("source", &LEAF), ("target", &LEAF), ("permissions", &LEAF)]);
static HOOK: Shape = Struct(&[
    ("command", &LEAF),
    ("copy", &FILE_REFERENCE),
    ("user", &LEAF),
    ("privileged", &LEAF),
    ("working_dir", &LEAF),
    ("environment", &STRINGS),
]);
static DEVELOP: Shape = Struct(&[(
    "watch",
    &List(&Struct(&[
        ("path", &LEAF),
        ("action", &LEAF),
        ("target", &LEAF),
        ("exec", &HOOK),
        ("ignore", &LEAF),
        ("include", &LEAF),
        ("initial_sync", &LEAF),
    ])),
)]);
static ENV_FILE: Shape = Struct(&[("path", &LEAF), ("required", &LEAF), ("format", &LEAF)]);
static EXTENDS: Shape = Struct(&[("file", &LEAF), ("service", &LEAF)]);
static HEALTHCHECK: Shape = Struct(&[
    ("test", &LEAF),
    ("timeout", &LEAF),
    ("interval", &LEAF),
    ("retries", &LEAF),
    ("start_period", &LEAF),
    ("start_interval", &LEAF),
    ("disable", &LEAF),
]);
static LOGGING: Shape = Struct(&[("driver", &LEAF), ("options", &STRINGS)]);
static SERVICE_NETWORK: Shape = Struct(&[
    ("aliases", &LEAF),
    ("driver_opts", &STRINGS),
    ("gw_priority", &LEAF),
    ("interface_name", &LEAF),
    ("ipv4_address", &LEAF),
    ("ipv6_address", &LEAF),
    ("link_local_ips", &LEAF),
    ("mac_address", &LEAF),
    ("priority", &LEAF),
]);
static PORT: Shape = Struct(&[
    ("name", &LEAF),
    ("mode", &LEAF),
    ("host_ip", &LEAF),
    ("target", &LEAF),
    ("published", &LEAF),
    ("protocol", &LEAF),
    ("app_protocol", &LEAF),
]);
static ULIMIT: Shape = Struct(&[("single", &LEAF), ("soft", &LEAF), ("hard", &LEAF)]);
static SERVICE_VOLUME: Shape = Struct(&[
    ("type", &LEAF),
    ("source", &LEAF),
    ("target", &LEAF),
    ("read_only", &LEAF),
    ("consistency", &LEAF),
    (
        "bind",
        &Struct(&[
            ("selinux", &LEAF),
            ("propagation", &LEAF),
            ("create_host_path", &LEAF),
            ("recursive", &LEAF),
        ]),
    ),
    (
        "volume",
        &Struct(&[("labels", &STRINGS), ("nocopy", &LEAF), ("subpath", &LEAF)]),
    ),
    ("tmpfs", &Struct(&[("size", &LEAF), ("mode", &LEAF)])),
    ("image", &Struct(&[("subpath", &LEAF)])),
]);

/// compose-go's `ServiceConfig`.
static SERVICE: Shape = Struct(&[
    ("profiles", &LEAF),
    ("annotations", &STRINGS),
    ("attach", &LEAF),
    ("build", &LEAF),
    ("develop", &DEVELOP),
    ("blkio_config", &BLKIO),
    ("cap_add", &LEAF),
    ("cap_drop", &LEAF),
    ("cgroup_parent", &LEAF),
    ("cgroup", &LEAF),
    ("cpu_count", &LEAF),
    ("cpu_percent", &LEAF),
    ("cpu_period", &LEAF),
    ("cpu_quota", &LEAF),
    ("cpu_rt_period", &LEAF),
    ("cpu_rt_runtime", &LEAF),
    ("cpus", &LEAF),
    ("cpuset", &LEAF),
    ("cpu_shares", &LEAF),
    ("command", &LEAF),
    ("configs", &List(&FILE_REFERENCE)),
    ("container_name", &LEAF),
    ("credential_spec", &CREDENTIAL_SPEC),
    ("depends_on", &LEAF),
    ("deploy", &DEPLOY),
    ("device_cgroup_rules", &LEAF),
    ("devices", &List(&DEVICE)),
    ("dns", &LEAF),
    ("dns_opt", &LEAF),
    ("dns_search", &LEAF),
    ("dockerfile", &LEAF),
    ("domainname", &LEAF),
    ("entrypoint", &LEAF),
    (
        "provider",
        &Struct(&[("type", &LEAF), ("options", &STRINGS)]),
    ),
    ("environment", &STRINGS),
    ("env_file", &List(&ENV_FILE)),
    ("expose", &LEAF),
    ("extends", &EXTENDS),
    ("external_links", &LEAF),
    ("extra_hosts", &LEAF),
    ("group_add", &LEAF),
    ("gpus", &List(&DEVICE_REQUEST)),
    ("hostname", &LEAF),
    ("healthcheck", &HEALTHCHECK),
    ("image", &LEAF),
    ("init", &LEAF),
    ("ipc", &LEAF),
    ("isolation", &LEAF),
    ("labels", &STRINGS),
    ("label_file", &LEAF),
    ("links", &LEAF),
    ("logging", &LOGGING),
    ("log_driver", &LEAF),
    ("log_opt", &STRINGS),
    ("mem_limit", &LEAF),
    ("mem_reservation", &LEAF),
    ("memswap_limit", &LEAF),
    ("mem_swappiness", &LEAF),
    ("mac_address", &LEAF),
    ("models", &GoMap(&LEAF)),
    ("net", &LEAF),
    ("network_mode", &LEAF),
    ("networks", &GoMap(&SERVICE_NETWORK)),
    ("oom_kill_disable", &LEAF),
    ("oom_score_adj", &LEAF),
    ("pid", &LEAF),
    ("pids_limit", &LEAF),
    ("platform", &LEAF),
    ("ports", &List(&PORT)),
    ("privileged", &LEAF),
    ("pull_policy", &LEAF),
    ("read_only", &LEAF),
    ("restart", &LEAF),
    ("runtime", &LEAF),
    ("scale", &LEAF),
    ("secrets", &List(&FILE_REFERENCE)),
    ("security_opt", &LEAF),
    ("shm_size", &LEAF),
    ("stdin_open", &LEAF),
    ("stop_grace_period", &LEAF),
    ("stop_signal", &LEAF),
    ("storage_opt", &STRINGS),
    ("sysctls", &STRINGS),
    ("tmpfs", &LEAF),
    ("tty", &LEAF),
    ("ulimits", &GoMap(&ULIMIT)),
    ("use_api_socket", &LEAF),
    ("user", &LEAF),
    ("userns_mode", &LEAF),
    ("uts", &LEAF),
    ("volume_driver", &LEAF),
    ("volumes", &List(&SERVICE_VOLUME)),
    ("volumes_from", &LEAF),
    ("working_dir", &LEAF),
    ("post_start", &List(&HOOK)),
    ("pre_stop", &List(&HOOK)),
]);

/// compose-go's `NetworkConfig`.
static NETWORK: Shape = Struct(&[
    ("name", &LEAF),
    ("driver", &LEAF),
    ("driver_opts", &STRINGS),
    (
        "ipam",
        &Struct(&[
            ("driver", &LEAF),
            (
                "config",
                &List(&Struct(&[
                    ("subnet", &LEAF),
                    ("gateway", &LEAF),
                    ("ip_range", &LEAF),
                    ("aux_addresses", &STRINGS),
                ])),
            ),
        ]),
    ),
    ("external", &LEAF),
    ("internal", &LEAF),
    ("attachable", &LEAF),
    ("labels", &STRINGS),
    ("enable_ipv4", &LEAF),
    ("enable_ipv6", &LEAF),
]);

/// compose-go's `VolumeConfig`.
static VOLUME: Shape = Struct(&[
    ("name", &LEAF),
    ("driver", &LEAF),
    ("driver_opts", &STRINGS),
    ("external", &LEAF),
    ("labels", &STRINGS),
]);

/// The config hashes of a project's services, networks and volumes, by key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hashes {
    pub services: indexmap::IndexMap<String, String>,
    pub networks: indexmap::IndexMap<String, String>,
    pub volumes: indexmap::IndexMap<String, String>,
}

impl Project {
    /// The config hash of every service, network and volume, as docker
    /// compose labels them.
    pub fn config_hashes(&self) -> Hashes {
        let doc = canonical::project(self);
        let each = |key: &str, hash: fn(&Value) -> String| {
            doc.get(key)
                .and_then(Value::as_object)
                .map(|m| m.iter().map(|(k, v)| (k.clone(), hash(v))).collect())
                .unwrap_or_default()
        };
        Hashes {
            services: each("services", service_hash),
            networks: each("networks", network_hash),
            volumes: each("volumes", volume_hash),
        }
    }

    /// The config hash of one service (see `config_hashes`).
    pub fn config_hash(&self, service: &str) -> String {
        self.config_hashes()
            .services
            .swap_remove(service)
            .unwrap_or_default()
    }
}

/// The hash of one service in compose's canonical JSON form.
pub fn service_hash(service: &Value) -> String {
    let mut service = service.clone();
    if let Value::Object(m) = &mut service {
        for key in CLEARED {
            m.shift_remove(*key);
        }
        if let Some(Value::Object(deploy)) = m.get_mut("deploy") {
            deploy.shift_remove("replicas");
        }
    }
    sha256(&go_json(&service, &SERVICE))
}

/// The hash of one top-level network in compose's canonical JSON form.
pub fn network_hash(network: &Value) -> String {
    sha256(&go_json(network, &NETWORK))
}

/// The hash of one top-level volume in compose's canonical JSON form; its
/// driver is `local` when none is given.
pub fn volume_hash(volume: &Value) -> String {
    let mut volume = volume.clone();
    if let Value::Object(m) = &mut volume
        && m.get("driver")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        m.insert("driver".into(), "local".into());
    }
    sha256(&go_json(&volume, &VOLUME))
}

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `value` as Go's `json.Marshal` writes the type `shape` describes.
fn go_json(value: &Value, shape: &Shape) -> String {
    let mut out = String::new();
    write_value(&mut out, value, shape);
    out
}

fn write_value(out: &mut String, value: &Value, shape: &Shape) {
    match (value, shape) {
        (Value::Object(m), Struct(fields)) => {
            let rank = |k: &str| fields.iter().position(|(f, _)| *f == k);
            let mut keys: Vec<&String> = m.keys().collect();
            // Unknown keys sort last, keeping their order (a stable sort).
            keys.sort_by_key(|k| rank(k).unwrap_or(usize::MAX));
            write_object(out, m, keys, |k| {
                rank(k).map(|i| fields[i].1).unwrap_or(&LEAF)
            });
        }
        (Value::Object(m), GoMap(inner)) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            write_object(out, m, keys, |_| inner);
        }
        (Value::Object(m), _) => {
            write_object(out, m, m.keys().collect(), |_| &LEAF);
        }
        (Value::Array(items), shape) => {
            let inner = match shape {
                List(inner) => inner,
                _ => &LEAF,
            };
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item, inner);
            }
            out.push(']');
        }
        (Value::String(s), _) => write_string(out, s),
        (Value::Number(n), _) => out.push_str(&go_number(n)),
        (Value::Bool(b), _) => out.push_str(if *b { "true" } else { "false" }),
        (Value::Null, _) => out.push_str("null"),
    }
}

fn write_object<'a>(
    out: &mut String,
    m: &Map<String, Value>,
    keys: Vec<&String>,
    shape_of: impl Fn(&str) -> &'a Shape,
) {
    out.push('{');
    for (i, k) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, k);
        out.push(':');
        write_value(out, &m[k.as_str()], shape_of(k));
    }
    out.push('}');
}

/// A string as Go's encoder escapes it (with its HTML escaping on).
fn write_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' | '\0'..='\u{1f}' => {
                let n = c as u32;
                out.push_str("\\u");
                for shift in [12, 8, 4, 0] {
                    out.push(HEX[((n >> shift) & 0xf) as usize] as char);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A number as Go writes it: integers as they are; floats in the shortest
/// form that reads back, with an exponent (`1e+21`, `1e-07`) only outside
/// 1e-6 ≤ |x| < 1e21.
fn go_number(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    let x = n.as_f64().unwrap_or(0.0);
    let abs = x.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Go: mantissa, then `e`, a sign and at least two exponent digits.
        let s = format!("{x:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        return format!("{mantissa}e{sign}{digits:0>2}");
    }
    // Rust's `Display` of a float is the shortest form, without exponent.
    format!("{x}")
}

#[cfg(test)]
#[path = "hash_tests.rs"]
mod tests;
