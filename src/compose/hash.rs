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
//! `&`, U+2028 and U+2029 escaped. `order.rs` gives the declaration order
//! of compose-go's types (`types/types.go`); a key that is not in its
//! table keeps its place after the known ones.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::canonical;
use super::model::Project;

mod order;
use Shape::{List, Map as GoMap, Struct};
use order::{LEAF, NETWORK, SERVICE, Shape, VOLUME};

/// The fields compose clears from a service before hashing it.
const CLEARED: &[&str] = &["build", "pull_policy", "scale", "depends_on", "profiles"];

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
