//! The registry's invariants: values a hand edit could break, what no two
//! instances may share, and what needs the stack's `mrctl.toml` (the port
//! range and the tiers). A registry that breaks one is neither acted on nor
//! written.

use crate::names;
use crate::stack::StackConfig;

use super::Registry;

impl Registry {
    /// The invariants that need the stack's `mrctl.toml`: every port lies in
    /// `ports.range` and every tier is defined under `[tiers]`.
    pub fn check_against(&self, config: &StackConfig) -> std::result::Result<(), String> {
        let [lo, hi] = config.ports.range;
        for (name, inst) in &self.instances {
            for (port_name, port) in &inst.ports {
                if *port < lo || *port > hi {
                    return Err(format!(
                        "instance `{name}` holds port {port} as `{port_name}`, outside `ports.range` {lo}-{hi} of `mrctl.toml`"
                    ));
                }
            }
            if let Some(tier) = &inst.tier
                && !config.tiers.contains_key(tier)
            {
                return Err(format!(
                    "instance `{name}` has tier `{tier}`, which `mrctl.toml` does not define (no `[tiers.{tier}]`)"
                ));
            }
        }
        Ok(())
    }
}

/// Values a hand edit could break and that would be unsafe to act on.
pub(super) fn check_values(r: &Registry) -> std::result::Result<(), String> {
    if let Some(p) = r.reserved_ports.iter().find(|p| **p == 0) {
        return Err(format!("`reserved_ports` holds {p}, which is not a port"));
    }
    for (name, inst) in &r.instances {
        let key = format!("instances.{name}");
        if let Err(e) = names::validate_instance_name(name) {
            return Err(format!("key `{key}`: {e}"));
        }
        if let Err(e) = names::validate_domain(&inst.domain) {
            return Err(format!("key `{key}.domain`: {e}"));
        }
        if !names::valid_project_name(&inst.project) {
            return Err(format!(
                "key `{key}.project`: `{}` is not a valid compose project name",
                inst.project
            ));
        }
        for (port_name, port) in &inst.ports {
            if *port == 0 {
                return Err(format!("key `{key}.ports.{port_name}`: 0 is not a port"));
            }
        }
        if !inst.data_dir.is_absolute() {
            return Err(format!(
                "key `{key}.data_dir`: `{}` is not an absolute path",
                inst.data_dir.display()
            ));
        }
        if let Err(e) = inst.limits.validate() {
            return Err(format!("key `{key}.limits.{}`: {}", e.field, e.reason));
        }
    }
    check_unique(r)
}

/// What no two instances may share: a port, an index, a compose project, a
/// domain. Instances are visited in name order, so the message names the
/// first holder first.
fn check_unique(r: &Registry) -> std::result::Result<(), String> {
    use std::collections::HashMap;
    let n = r.instances.len();
    let mut ports: HashMap<u16, (&str, &str)> = HashMap::with_capacity(n * 2);
    let mut indexes: HashMap<u32, &str> = HashMap::with_capacity(n);
    let mut projects: HashMap<&str, &str> = HashMap::with_capacity(n);
    let mut domains: HashMap<String, &str> = HashMap::with_capacity(n);
    for (name, inst) in &r.instances {
        for (port_name, port) in &inst.ports {
            match ports.insert(*port, (name, port_name)) {
                Some((other, other_port)) if other == name => {
                    return Err(format!(
                        "instance `{name}` holds port {port} twice, as `{other_port}` and `{port_name}`"
                    ));
                }
                Some((other, _)) => {
                    return Err(format!(
                        "instances `{other}` and `{name}` both hold port {port}"
                    ));
                }
                None => {}
            }
        }
        if let Some(other) = indexes.insert(inst.index, name) {
            return Err(format!(
                "instances `{other}` and `{name}` both have index {}",
                inst.index
            ));
        }
        if let Some(other) = projects.insert(&inst.project, name) {
            return Err(format!(
                "instances `{other}` and `{name}` both use compose project `{}`",
                inst.project
            ));
        }
        if let Some(other) = domains.insert(inst.domain.to_ascii_lowercase(), name) {
            return Err(format!(
                "instances `{other}` and `{name}` both use domain `{}`",
                inst.domain
            ));
        }
    }
    Ok(())
}
