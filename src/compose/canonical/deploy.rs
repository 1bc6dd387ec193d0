//! Compose's canonical form of `deploy:` (every key, the swarm-only ones
//! included) from the merged document, which `convert` has checked.

use serde_json::{Map, Value, json};

use super::{go_duration, json_number};
use crate::compose::load::scalar;
use crate::units::{parse_bytes, parse_duration};

fn number(v: &Value) -> Option<Value> {
    scalar(v)
        .and_then(|s| s.parse::<f64>().ok())
        .map(json_number)
}

fn bytes(v: &Value) -> Option<Value> {
    scalar(v)
        .and_then(|s| parse_bytes(&s))
        .map(|b| Value::String(b.to_string()))
}

fn millis(v: &Value) -> Option<u64> {
    scalar(v)
        .and_then(|s| parse_duration(&s))
        .map(|d| d.as_millis() as u64)
}

/// A duration compose keeps even when zero (a pointer in its model).
fn duration(v: &Value) -> Option<Value> {
    millis(v).map(|ms| go_duration(ms).into())
}

/// A duration compose leaves out when zero.
fn nonzero_duration(v: &Value) -> Option<Value> {
    millis(v)
        .filter(|ms| *ms > 0)
        .map(|ms| go_duration(ms).into())
}

fn string(v: &Value) -> Option<Value> {
    scalar(v).map(Value::String)
}

fn strings(v: &Value) -> Option<Value> {
    v.as_array()
        .map(|items| Value::Array(items.iter().filter_map(string).collect()))
}

/// A value in compose's form, `None` when it has no such form.
type Convert = fn(&Value) -> Option<Value>;

/// Copies `keys` of `from` into a new mapping, each through its converter.
fn pick(from: &Map<String, Value>, keys: &[(&str, Convert)]) -> Value {
    let mut out = Map::new();
    for (key, convert) in keys {
        if let Some(v) = from.get(*key).filter(|v| !v.is_null()).and_then(convert) {
            out.insert((*key).into(), v);
        }
    }
    Value::Object(out)
}

/// `deploy.labels`, a mapping or a list of `key=value`, as a mapping.
fn labels(v: &Value) -> Option<Value> {
    let mut out = Map::new();
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                out.insert(k.clone(), scalar(v).unwrap_or_default().into());
            }
        }
        Value::Array(items) => {
            for s in items.iter().filter_map(scalar) {
                let (k, v) = s.split_once('=').unwrap_or((&s, ""));
                out.insert(k.into(), v.into());
            }
        }
        _ => return None,
    }
    Some(Value::Object(out))
}

fn update(v: &Value) -> Option<Value> {
    let m = v.as_object()?;
    let mut out = pick(
        m,
        &[
            ("parallelism", number),
            ("delay", nonzero_duration),
            ("failure_action", string),
            ("monitor", nonzero_duration),
            ("order", string),
        ],
    );
    if let Some(r) = m
        .get("max_failure_ratio")
        .and_then(number)
        .filter(|r| r.as_f64() != Some(0.0))
    {
        out.as_object_mut()?.insert("max_failure_ratio".into(), r);
    }
    Some(out)
}

fn device(v: &Value) -> Option<Value> {
    let m = v.as_object()?;
    let mut out = pick(
        m,
        &[
            ("capabilities", strings),
            ("driver", string),
            ("device_ids", strings),
            ("options", labels),
        ],
    );
    if let Some(c) = m.get("count").and_then(scalar) {
        let count = if c == "all" {
            json!(-1)
        } else {
            number(&c.into())?
        };
        out.as_object_mut()?.insert("count".into(), count);
    }
    Some(out)
}

fn resource(v: &Value) -> Option<Value> {
    let m = v.as_object()?;
    let mut out = pick(
        m,
        &[
            ("cpus", number),
            ("memory", bytes),
            ("pids", number),
            ("generic_resources", |v| Some(v.clone())),
        ],
    );
    if let Some(Value::Array(items)) = m.get("devices") {
        let devices = items.iter().filter_map(device).collect();
        out.as_object_mut()?
            .insert("devices".into(), Value::Array(devices));
    }
    Some(out)
}

/// The service's `deploy:` as compose prints it, `None` without one.
pub(super) fn deploy(doc: &Map<String, Value>) -> Option<Value> {
    let d = doc.get("deploy")?.as_object()?;
    let mut out = pick(
        d,
        &[
            ("mode", string),
            ("replicas", number),
            ("labels", labels),
            ("update_config", update),
            ("rollback_config", update),
            ("endpoint_mode", string),
            ("restart_policy", |v| {
                v.as_object().map(|m| {
                    pick(
                        m,
                        &[
                            ("condition", string),
                            ("delay", duration),
                            ("max_attempts", number),
                            ("window", duration),
                        ],
                    )
                })
            }),
        ],
    );
    let out_map = out.as_object_mut()?;
    let mut resources = Map::new();
    if let Some(r) = d.get("resources").and_then(Value::as_object) {
        for key in ["limits", "reservations"] {
            if let Some(v) = r.get(key).and_then(resource) {
                resources.insert(key.into(), v);
            }
        }
    }
    out_map.insert("resources".into(), Value::Object(resources));
    let placement = d
        .get("placement")
        .and_then(Value::as_object)
        .map(|p| {
            pick(
                p,
                &[
                    ("constraints", strings),
                    ("preferences", |v| Some(v.clone())),
                    ("max_replicas_per_node", number),
                ],
            )
        })
        .unwrap_or_else(|| json!({}));
    out_map.insert("placement".into(), placement);
    Some(out)
}
