//! Merging compose files by the compose specification's rules: mappings
//! merged key by key, sequences appended (an item already there is not
//! repeated), and the per-service rules for command, volumes, logging and
//! the other keys. The same rules merge a service over the one it extends.

use serde_json::{Map, Value};

use super::yaml::Marks;

/// Applies a later file's `!reset` and `!override` tags to what the earlier
/// files merged: both remove the tagged key, so the later value (if any)
/// then stands alone. Tags on sequence items change nothing, as in compose.
pub fn apply_marks(base: &mut Map<String, Value>, marks: &Marks) {
    for (path, _) in marks {
        remove_path(base, path);
    }
}

/// The marks of one service (`services.NAME.…`), relative to the service.
pub fn service_marks(marks: &Marks, name: &str) -> Marks {
    marks
        .iter()
        .filter(|(p, _)| p.len() > 2 && p[0] == "services" && p[1] == name)
        .map(|(p, t)| (p[2..].to_vec(), *t))
        .collect()
}

fn remove_path(map: &mut Map<String, Value>, path: &[String]) {
    match path {
        [] => {}
        [last] => {
            map.shift_remove(last);
        }
        [first, rest @ ..] => {
            if let Some(Value::Object(inner)) = map.get_mut(first) {
                remove_path(inner, rest);
            }
        }
    }
}

/// Merges `over` into `base` by the compose specification's rules.
pub fn merge_docs(base: &mut Map<String, Value>, over: Map<String, Value>) {
    for (key, value) in over {
        match key.as_str() {
            "services" => {
                let Value::Object(over_services) = value else {
                    continue;
                };
                let base_services = base
                    .entry("services")
                    .or_insert_with(|| Value::Object(Map::new()));
                let Value::Object(base_services) = base_services else {
                    continue;
                };
                for (name, svc) in over_services {
                    match (base_services.get_mut(&name), svc) {
                        (Some(Value::Object(b)), Value::Object(o)) => merge_service(b, o),
                        (_, svc) => {
                            base_services.insert(name, svc);
                        }
                    }
                }
            }
            "networks" | "volumes" | "secrets" | "configs" => {
                let entry = base.entry(key).or_insert_with(|| Value::Object(Map::new()));
                deep_merge(entry, value);
            }
            _ => {
                base.insert(key, value);
            }
        }
    }
}

pub fn merge_service(base: &mut Map<String, Value>, over: Map<String, Value>) {
    for (key, value) in over {
        match key.as_str() {
            "ports" | "expose" | "extra_hosts" | "env_file" => {
                let entry = base.entry(key).or_insert_with(|| Value::Array(Vec::new()));
                if let (Value::Array(b), Value::Array(o)) = (entry, value) {
                    for item in o {
                        if !b.contains(&item) {
                            b.push(item);
                        }
                    }
                }
            }
            "volumes" => {
                let entry = base.entry(key).or_insert_with(|| Value::Array(Vec::new()));
                if let (Value::Array(b), Value::Array(o)) = (entry, value) {
                    for item in o {
                        let target = item.get("target").cloned();
                        match b.iter_mut().find(|x| x.get("target").cloned() == target) {
                            Some(existing) => *existing = item,
                            None => b.push(item),
                        }
                    }
                }
            }
            // A reference replaces one of the same source and target.
            "secrets" | "configs" => {
                let entry = base.entry(key).or_insert_with(|| Value::Array(Vec::new()));
                if let (Value::Array(b), Value::Array(o)) = (entry, value) {
                    for item in o {
                        let id = |x: &Value| (x.get("source").cloned(), x.get("target").cloned());
                        match b.iter_mut().find(|x| id(x) == id(&item)) {
                            Some(existing) => *existing = item,
                            None => b.push(item),
                        }
                    }
                }
            }
            "command" | "entrypoint" => {
                base.insert(key, value);
            }
            // Options of another driver do not mix with this one's.
            "logging"
                if base
                    .get("logging")
                    .and_then(|l| l.get("driver"))
                    .is_some_and(|d| value.get("driver").is_some_and(|o| o != d)) =>
            {
                base.insert(key, value);
            }
            "healthcheck" => {
                let entry = base.entry(key).or_insert(Value::Null);
                if let (Value::Object(b), Value::Object(o)) = (&mut *entry, &value) {
                    // The test is a command: replaced, never appended to.
                    for (k, v) in o {
                        b.insert(k.clone(), v.clone());
                    }
                } else {
                    *entry = value;
                }
            }
            _ => {
                let entry = base.entry(key).or_insert(Value::Null);
                deep_merge(entry, value);
            }
        }
    }
}

/// Mappings merge key by key, sequences are appended (without repeating an
/// item), anything else is replaced.
fn deep_merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Array(b), Value::Array(o)) => {
            for item in o {
                if !b.contains(&item) {
                    b.push(item);
                }
            }
        }
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) => deep_merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

#[cfg(test)]
mod tests;
