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
        // Made only for a message: ten thousand entries need no key string.
        let key = || format!("instances.{name}");
        if let Err(e) = names::validate_instance_name(name) {
            return Err(format!("key `{}`: {e}", key()));
        }
        if let Err(e) = names::validate_domain(&inst.domain) {
            return Err(format!("key `{}.domain`: {e}", key()));
        }
        if !names::valid_project_name(&inst.project) {
            return Err(format!(
                "key `{}.project`: `{}` is not a valid compose project name",
                key(),
                inst.project
            ));
        }
        for (port_name, port) in &inst.ports {
            if *port == 0 {
                return Err(format!(
                    "key `{}.ports.{port_name}`: 0 is not a port",
                    key()
                ));
            }
        }
        if !inst.data_dir.is_absolute() {
            return Err(format!(
                "key `{}.data_dir`: `{}` is not an absolute path",
                key(),
                inst.data_dir.display()
            ));
        }
        if let Err(e) = inst.limits.validate() {
            return Err(format!("key `{}.limits.{}`: {}", key(), e.field, e.reason));
        }
    }
    check_unique(r)
}

/// Maps keyed by ports, indexes and names read from the registry, with a
/// multiply-rotate hash: a local file is no denial-of-service threat, and
/// SipHash was a fifth of `create`'s time at 100,000 instances.
type HashMap<K, V> = std::collections::HashMap<K, V, Fast>;

#[derive(Clone, Copy, Default)]
struct Fast;

impl std::hash::BuildHasher for Fast {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}

struct FastHasher(u64);

impl FastHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let mut tail = [0u8; 8];
        tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.add(u64::from_le_bytes(tail));
    }
    fn write_u8(&mut self, n: u8) {
        self.add(n.into());
    }
    fn write_u16(&mut self, n: u16) {
        self.add(n.into());
    }
    fn write_u32(&mut self, n: u32) {
        self.add(n.into());
    }
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// What no two instances may share: a port, an index, a compose project, a
/// domain. Instances are visited in name order, so the message names the
/// first holder first.
fn check_unique(r: &Registry) -> std::result::Result<(), String> {
    use std::borrow::Cow;
    let n = r.instances.len();
    let mut ports: HashMap<u16, (&str, &str)> = HashMap::with_capacity_and_hasher(n * 2, Fast);
    let mut indexes: HashMap<u32, &str> = HashMap::with_capacity_and_hasher(n, Fast);
    let mut projects: HashMap<&str, &str> = HashMap::with_capacity_and_hasher(n, Fast);
    // Domains compare without case; most are written in lowercase already
    // and are borrowed, not copied.
    let mut domains: HashMap<Cow<str>, &str> = HashMap::with_capacity_and_hasher(n, Fast);
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
        let domain = if inst.domain.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(inst.domain.to_ascii_lowercase())
        } else {
            Cow::Borrowed(inst.domain.as_str())
        };
        if let Some(other) = domains.insert(domain, name) {
            return Err(format!(
                "instances `{other}` and `{name}` both use domain `{}`",
                inst.domain
            ));
        }
    }
    Ok(())
}
