//! The parts of the model that attach things to a service: mount options,
//! network endpoints and address pools, secrets and configs.

use indexmap::IndexMap;
use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BindOptions {
    /// `private`, `rprivate`, `shared`, `rshared`, `slave` or `rslave`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub propagation: Option<String>,
    pub create_host_path: bool,
    /// `z` or `Z`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selinux: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VolumeOptions {
    pub nocopy: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subpath: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TmpfsOptions {
    /// Bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    /// Permission bits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
}

/// A network's address management: its driver and address pools. (Its
/// `options` are read and dropped, as docker compose drops them.)
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Ipam {
    pub driver: Option<String>,
    pub config: Vec<IpamPool>,
}

/// One address pool of a network.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IpamPool {
    pub subnet: Option<String>,
    pub ip_range: Option<String>,
    pub gateway: Option<String>,
    pub aux_addresses: IndexMap<String, String>,
}

/// A service's settings on one network beyond its aliases. Networks the
/// service joins without them have none, so their hash stays the same.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Endpoint {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv4_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6_address: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub link_local_ips: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub driver_opts: IndexMap<String, String>,
    /// Networks are joined in decreasing priority (the first one at create).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gw_priority: Option<i64>,
}

/// A top-level secret or config: where its content comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct FileObject {
    /// `<project>_<key>`, or `name:`.
    pub name: String,
    pub source: FileSource,
    pub external: bool,
    pub labels: IndexMap<String, String>,
}

/// Where a secret's or config's content comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum FileSource {
    /// A host file (absolute), bind-mounted read-only.
    File(String),
    /// The interpolation variable of this name; its value, if set, is
    /// copied into the container (never printed, never hashed).
    Environment {
        variable: String,
        value: Option<Hidden>,
    },
    /// Content written in the compose file (configs only).
    Content(Hidden),
    /// External objects have no source here.
    None,
}

/// Text that never shows: its `Debug` is a mask.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Hidden(pub String);

impl std::fmt::Debug for Hidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("********")
    }
}

/// A service's use of a secret or config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileRef {
    /// The top-level key.
    pub source: String,
    /// As written (relative targets are resolved by `path_in_container`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
    /// Permission bits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
}

impl FileRef {
    /// Where the file appears in the container: a secret under
    /// `/run/secrets/` unless its target is absolute, a config at `/<source>`
    /// or its target.
    pub fn path_in_container(&self, secret: bool) -> String {
        match (&self.target, secret) {
            (Some(t), _) if t.starts_with('/') => t.clone(),
            (Some(t), true) => format!("/run/secrets/{t}"),
            (Some(t), false) => format!("/{t}"),
            (None, true) => format!("/run/secrets/{}", self.source),
            (None, false) => format!("/{}", self.source),
        }
    }
}
