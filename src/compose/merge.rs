//! Merging compose files by the compose specification's rules: mappings
//! merged key by key, sequences of most keys replaced, and the per-service
//! rules for ports, volumes, networks, labels and the other keys.

use serde_json::{Map, Value};

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

fn merge_service(base: &mut Map<String, Value>, over: Map<String, Value>) {
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
            "command" | "entrypoint" | "profiles" => {
                base.insert(key, value);
            }
            _ => {
                let entry = base.entry(key).or_insert(Value::Null);
                deep_merge(entry, value);
            }
        }
    }
}

/// Mappings merge key by key; anything else is replaced.
fn deep_merge(base: &mut Value, over: Value) {
    match (base, over) {
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
