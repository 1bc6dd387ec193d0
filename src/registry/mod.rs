//! The registry `instances.json`: what was allocated and intended for each
//! instance. Every read-modify-write holds an exclusive lock on the separate
//! `instances.json.lock` from before the read until after the write; writes go
//! to a temporary file that is synced and renamed over the registry, so a
//! reader or a crash sees the old file or the new one, never half of one.

mod check;
mod file;
mod one;
mod parse;
mod unique;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::limits::Limits;
use crate::names;

pub use file::{Locked, RegistryFile};
pub use parse::parse;

/// The registry schema version this binary reads and writes.
/// Version 2 added `stack`, the stack directory's identity; version 1 files
/// are read and upgraded on their next write.
pub const VERSION: u32 = 2;
/// File name of the registry in the stack directory.
pub const FILE_NAME: &str = "instances.json";
/// File name of the lock file beside it (never replaced, never deleted).
pub const LOCK_NAME: &str = "instances.json.lock";
/// How a temporary file of the registry's atomic write starts.
const TEMP_PREFIX: &str = ".instances.json.";

/// The whole registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    pub version: u32,
    /// The stack directory's identity, made on the first locked read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<StackRecord>,
    /// Ports never handed out (used by something outside mrctl).
    #[serde(default)]
    pub reserved_ports: Vec<u16>,
    #[serde(default, deserialize_with = "unique::instances")]
    pub instances: BTreeMap<String, Instance>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            version: VERSION,
            stack: None,
            reserved_ports: Vec::new(),
            instances: BTreeMap::new(),
        }
    }
}

/// The identity of the stack directory that owns this registry: a random
/// id and the directory it was made in (a copy of the directory gets an id
/// of its own the first time it is used).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackRecord {
    pub id: String,
    pub dir: PathBuf,
}

/// One instance as allocated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instance {
    pub index: u32,
    pub domain: String,
    pub project: String,
    #[serde(deserialize_with = "unique::ports")]
    pub ports: IndexMap<String, u16>,
    pub data_dir: PathBuf,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    #[serde(default, skip_serializing_if = "Limits::is_empty")]
    pub limits: Limits,
    pub created_at: String,
}

impl Registry {
    /// Which instance holds `port`, and under which port name.
    pub fn holder_of(&self, port: u16) -> Option<(&str, &str)> {
        self.instances.iter().find_map(|(name, inst)| {
            inst.ports
                .iter()
                .find(|(_, p)| **p == port)
                .map(|(pn, _)| (name.as_str(), pn.as_str()))
        })
    }

    /// The instance that has `index`.
    pub fn index_holder(&self, index: u32) -> Option<&str> {
        self.instances
            .iter()
            .find(|(_, i)| i.index == index)
            .map(|(n, _)| n.as_str())
    }

    /// Instance names in display order: numbered instances by number, then the rest by name.
    pub fn names_sorted(&self) -> Vec<&str> {
        // Keyed once per name, not once per comparison: the numbers are
        // parsed 100,000 times, not millions.
        let mut names: Vec<(Option<u32>, &str)> = self
            .instances
            .keys()
            .map(|n| (names::numeric_index(n), n.as_str()))
            .collect();
        names.sort_unstable_by(|(x, a), (y, b)| match (x, y) {
            (Some(x), Some(y)) => x.cmp(y).then_with(|| a.cmp(b)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.cmp(b),
        });
        names.into_iter().map(|(_, n)| n).collect()
    }
}

/// Whether `dir` holds a registry whose identity is `id`, recorded for
/// `dir` itself: then resources labelled with that id and directory belong
/// to that directory, a copy of this one.
pub fn holds_identity(dir: &Path, id: &str) -> bool {
    #[derive(Deserialize)]
    struct Probe {
        stack: Option<StackRecord>,
    }
    let Ok(text) = std::fs::read_to_string(dir.join(FILE_NAME)) else {
        return false;
    };
    serde_json::from_str::<Probe>(&text)
        .ok()
        .and_then(|p| p.stack)
        .is_some_and(|rec| rec.id == id && rec.dir == dir)
}

/// The registry as written: pretty JSON with a final newline.
pub fn to_json(registry: &Registry) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(registry).expect("registry serializes");
    out.push(b'\n');
    out
}

#[cfg(test)]
fn sample() -> Registry {
    let mut r = Registry::default();
    r.reserved_ports.push(9000);
    r.instances.insert(
        "prod".into(),
        Instance {
            index: 0,
            domain: "prod.example.com".into(),
            project: "mindroom-prod".into(),
            ports: IndexMap::from([("backend".into(), 8765), ("frontend".into(), 3003)]),
            data_dir: "/mnt/data/prod".into(),
            tier: Some("free".into()),
            limits: Limits::default(),
            created_at: "2026-11-22T16:00:00Z".into(),
        },
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_json() {
        let r = sample();
        let text = String::from_utf8(to_json(&r)).unwrap();
        assert_eq!(parse(Path::new("i.json"), &text).unwrap(), r);
        // Port order is kept as written.
        assert!(text.find("backend").unwrap() < text.find("frontend").unwrap());
    }
}
