//! The registry `instances.json`: what was allocated and intended for each
//! instance. Every read-modify-write holds an exclusive lock on the separate
//! `instances.json.lock` from before the read until after the write; writes go
//! to a temporary file that is synced and renamed over the registry, so a
//! reader or a crash sees the old file or the new one, never half of one.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Position, Result};
use crate::fsutil::{FileKind, read_optional};
use crate::limits::Limits;
use crate::names;
use crate::stack::StackConfig;

/// The registry schema version this binary reads and writes.
/// Version 2 added `stack`, the stack directory's identity; version 1 files
/// are read and upgraded on their next write.
pub const VERSION: u32 = 2;
/// File name of the registry in the stack directory.
pub const FILE_NAME: &str = "instances.json";
/// File name of the lock file beside it (never replaced, never deleted).
pub const LOCK_NAME: &str = "instances.json.lock";
const TEMP_PREFIX: &str = ".instances.json.";
const TEMP_SUFFIX: &str = ".tmp";

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

    /// Instance names in display order: numbered instances by number, then the rest by name.
    pub fn names_sorted(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.instances.keys().map(String::as_str).collect();
        names.sort_by(
            |a, b| match (names::numeric_index(a), names::numeric_index(b)) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => a.cmp(b),
            },
        );
        names
    }
}

/// The registry file of one stack directory.
#[derive(Debug, Clone)]
pub struct RegistryFile {
    pub path: PathBuf,
    pub lock_path: PathBuf,
    /// The stack's configuration, when known: every load and every write
    /// then also checks [`Registry::check_against`] it.
    pub stack: Option<StackConfig>,
}

/// The registry read under the exclusive lock; `commit` writes it back.
/// The lock is released when this is dropped.
#[derive(Debug)]
pub struct Locked {
    _lock: File,
    file: RegistryFile,
    pub registry: Registry,
}

impl RegistryFile {
    /// The registry in `dir`, checked only against its own invariants.
    pub fn in_dir(dir: &Path) -> RegistryFile {
        RegistryFile {
            path: dir.join(FILE_NAME),
            lock_path: dir.join(LOCK_NAME),
            stack: None,
        }
    }

    /// The registry of a stack whose `mrctl.toml` is `config`: loads and
    /// writes also check the invariants that need it (ports in range, tiers).
    pub fn for_stack(dir: &Path, config: &StackConfig) -> RegistryFile {
        RegistryFile {
            stack: Some(config.clone()),
            ..RegistryFile::in_dir(dir)
        }
    }

    /// Reads the registry without the lock (read-only commands): the rename
    /// on write means this sees a whole file. A missing file is empty.
    pub fn load(&self) -> Result<Registry> {
        let registry = match read_optional(&self.path, FileKind::Registry)? {
            Some(text) => parse(&self.path, &text)?,
            None => Registry::default(),
        };
        self.check_stack(&registry)?;
        Ok(registry)
    }

    fn check_stack(&self, registry: &Registry) -> Result<()> {
        match &self.stack {
            Some(config) => registry
                .check_against(config)
                .map_err(|message| Error::Registry {
                    path: self.path.clone(),
                    position: None,
                    message,
                }),
            None => Ok(()),
        }
    }

    /// Reads one instance's entry without building the others: the fast path
    /// of read-only commands on one instance (`ports`, `info`, `env`). The
    /// whole file is still checked to be valid JSON of a supported version,
    /// and the entry read gets every check that concerns it alone (its
    /// values, a second entry under its name, its duplicate port names, the
    /// stack's range and tiers). What it skips, for speed: the checks across
    /// entries (two instances holding one port, index, project or domain)
    /// and duplicate keys inside the other entries; `load` and `lock` do them.
    /// Returns the registry holding just that entry (or none) and the number
    /// of instances.
    pub fn load_one(&self, name: &str) -> Result<(Registry, usize)> {
        let Some(text) = read_optional(&self.path, FileKind::Registry)? else {
            return Ok((Registry::default(), 0));
        };
        let text = strip_bom(&text);
        let (registry, count) = self.parse_one(text, name)?;
        self.check_stack(&registry)?;
        Ok((registry, count))
    }

    fn parse_one(&self, text: &str, name: &str) -> Result<(Registry, usize)> {
        match one::parse(text, name) {
            Ok((version, inst, count)) if version >= 1 && version <= VERSION as u64 => {
                let mut registry = Registry::default();
                if let Some(inst) = inst {
                    let mut single = Registry::default();
                    single.instances.insert(name.to_string(), inst);
                    check_values(&single).map_err(|message| Error::Registry {
                        path: self.path.clone(),
                        position: None,
                        message,
                    })?;
                    registry = single;
                }
                Ok((registry, count))
            }
            // Anything unusual: the full parse gives the precise error.
            _ => {
                let full = parse(&self.path, text)?;
                let count = full.instances.len();
                let mut registry = Registry::default();
                if let Some(inst) = full.instances.get(name) {
                    registry.instances.insert(name.to_string(), inst.clone());
                }
                Ok((registry, count))
            }
        }
    }

    /// Takes the exclusive lock, then reads the registry.
    pub fn lock(&self) -> Result<Locked> {
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&self.lock_path)
            .map_err(|e| Error::io("open the lock file", &self.lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                tracing::info!(path = %self.lock_path.display(), "waiting for the registry lock");
                lock.lock()
                    .map_err(|e| Error::io("lock", &self.lock_path, e))?;
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(Error::io("lock", &self.lock_path, e));
            }
        }
        // Under the lock, any temporary file left beside the registry belongs
        // to a writer that died before its rename.
        self.remove_stale_temp_files();
        let mut registry = self.load()?;
        self.ensure_identity(&mut registry)?;
        Ok(Locked {
            _lock: lock,
            file: self.clone(),
            registry,
        })
    }

    /// The directory the registry lives in (the stack directory).
    fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// Gives the registry this directory's identity when it has none, and
    /// a new one when it was copied from a directory that still uses its
    /// id; a moved directory keeps its id. Call under the lock; the next
    /// commit writes it.
    fn ensure_identity(&self, registry: &mut Registry) -> Result<()> {
        let here = self.dir().to_path_buf();
        let fresh = || -> Result<StackRecord> {
            let id = crate::identity::new_id().map_err(|e| {
                Error::io(
                    "make an identity for",
                    &here,
                    std::io::Error::other(e.to_string()),
                )
            })?;
            Ok(StackRecord {
                id,
                dir: here.clone(),
            })
        };
        match &registry.stack {
            None => registry.stack = Some(fresh()?),
            Some(rec) if rec.dir != here => {
                if holds_identity(&rec.dir, &rec.id) {
                    tracing::warn!(
                        from = %rec.dir.display(),
                        "this stack directory is a copy of another that is still in use: it gets an identity of its own"
                    );
                    registry.stack = Some(fresh()?);
                } else {
                    tracing::info!(from = %rec.dir.display(), "the stack directory moved; its identity moves with it");
                    registry.stack = Some(StackRecord {
                        id: rec.id.clone(),
                        dir: here,
                    });
                }
            }
            Some(_) => {}
        }
        Ok(())
    }

    /// The stack directory's identity, made (under the lock) if the
    /// registry has none yet or belongs to another directory.
    pub fn identity(&self, stack: &str) -> Result<crate::identity::Identity> {
        let registry = self.load()?;
        let record = match registry.stack {
            Some(rec) if rec.dir == self.dir() => rec,
            _ => {
                let mut locked = self.lock()?;
                let rec = locked.registry.stack.clone().expect("lock made one");
                locked.commit()?;
                rec
            }
        };
        Ok(crate::identity::Identity {
            stack: stack.to_string(),
            id: record.id,
            dir: record.dir,
        })
    }

    fn remove_stale_temp_files(&self) {
        let Some(dir) = self.path.parent() else {
            return;
        };
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX) {
                tracing::debug!(file = %name, "removing a registry temp file left by a killed writer");
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

impl Locked {
    /// Releases the lock without freeing the registry's memory: for a
    /// command about to exit, freeing ten thousand entries is wasted time.
    pub fn release(self) {
        let Locked {
            _lock, registry, ..
        } = self;
        drop(_lock);
        std::mem::forget(registry);
    }

    /// Writes the registry atomically: temp file, fsync, rename, fsync of the
    /// directory. A registry that breaks an invariant is never written.
    pub fn commit(&mut self) -> Result<()> {
        if self.registry.version < VERSION {
            tracing::warn!(
                path = %self.file.path.display(),
                "registry upgraded from version {} to {VERSION} (it now records the stack directory's identity); older mrctl binaries cannot read it",
                self.registry.version
            );
            self.registry.version = VERSION;
        }
        let broken = |message: String| Error::Registry {
            path: self.file.path.clone(),
            position: None,
            message: format!("the change was not written, it would break the registry: {message}"),
        };
        check_values(&self.registry).map_err(broken)?;
        if let Some(config) = &self.file.stack {
            self.registry.check_against(config).map_err(broken)?;
        }
        write_atomic(&self.file.path, &to_json(&self.registry), 0o644)
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

/// Writes `bytes` to `path` so that a reader or a crash sees the old content
/// or the new, never a mix: temp file in the same directory, fsync, rename,
/// fsync of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let prefix = format!(
        ".{}.",
        path.file_name().unwrap_or_default().to_string_lossy()
    );
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(|e| Error::io("create a temporary file in", dir, e))?;
    set_mode(tmp.as_file(), mode).map_err(|e| Error::io("set permissions of", tmp.path(), e))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| Error::io("write", tmp.path(), e))?;
    tmp.persist(path)
        .map_err(|e| Error::io("replace", path, e.error))?;
    sync_dir(dir)
}

/// Flushes a directory's entries (a rename or a new file) to disk.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("sync", dir, e))
}

#[cfg(unix)]
fn set_mode(file: &File, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}
#[cfg(not(unix))]
fn set_mode(_file: &File, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

/// Parses registry text: syntax first (line and column), then the version,
/// then the schema with unknown keys refused by name, then the values.
pub fn parse(path: &Path, text: &str) -> Result<Registry> {
    let text = strip_bom(text);
    let invalid = |e: serde_json::Error| Error::Registry {
        path: path.to_path_buf(),
        position: (e.line() > 0).then(|| Position {
            line: e.line(),
            column: e.column().max(1),
        }),
        message: strip_position(&e.to_string()),
    };
    #[derive(Deserialize)]
    struct Probe {
        version: Option<serde_json::Value>,
    }
    let trimmed = text.trim_start();
    if !trimmed.is_empty() && !trimmed.starts_with('{') {
        return Err(Error::Registry {
            path: path.to_path_buf(),
            position: Some(crate::error::position_of(text, text.len() - trimmed.len())),
            message: "the registry must be a JSON object (`{\"version\": 1, ...}`)".into(),
        });
    }
    // One strict parse on the happy path; the version probe runs only to
    // explain a failure (a future version may well have keys we refuse).
    let strict: std::result::Result<Registry, serde_json::Error> = serde_json::from_str(text);
    let version_error = |strict_error: Option<serde_json::Error>| -> Error {
        let probe: Probe = match serde_json::from_str(text) {
            Ok(p) => p,
            Err(e) => return invalid(e),
        };
        match probe.version {
            None => Error::Registry {
                path: path.to_path_buf(),
                position: None,
                message: "missing key `version`".into(),
            },
            Some(serde_json::Value::Number(n))
                if n.as_u64().is_some_and(|v| v > VERSION as u64) =>
            {
                Error::RegistryVersion {
                    path: path.to_path_buf(),
                    found: n.as_u64().unwrap_or_default(),
                    supported: VERSION,
                }
            }
            Some(serde_json::Value::Number(n)) if n.as_u64() == Some(0) => Error::Registry {
                path: path.to_path_buf(),
                position: None,
                message: format!(
                    "`version` 0 does not exist (this mrctl writes version {VERSION})"
                ),
            },
            Some(serde_json::Value::Number(n)) if n.as_u64().is_some() => match strict_error {
                Some(e) => invalid(e),
                None => unreachable!("a supported version with no error"),
            },
            Some(other) => Error::Registry {
                path: path.to_path_buf(),
                position: None,
                message: format!("`version` must be a positive integer, not `{other}`"),
            },
        }
    };
    let registry = match strict {
        Ok(r) if r.version >= 1 && r.version <= VERSION => r,
        Ok(_) => return Err(version_error(None)),
        Err(e) => return Err(version_error(Some(e))),
    };
    check_values(&registry).map_err(|message| Error::Registry {
        path: path.to_path_buf(),
        position: None,
        message,
    })?;
    Ok(registry)
}

/// The text without a UTF-8 byte-order mark at its start: an editor may add
/// one; it is accepted on read and never written.
fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Values a hand edit could break and that would be unsafe to act on.
fn check_values(r: &Registry) -> std::result::Result<(), String> {
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

/// Maps that refuse a key written twice: serde would keep the last and the
/// next write would silently drop the first.
mod unique {
    use std::collections::BTreeMap;
    use std::fmt;
    use std::marker::PhantomData;

    use indexmap::IndexMap;
    use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

    use super::Instance;

    trait Map<V>: Default {
        fn has(&self, key: &str) -> bool;
        fn put(&mut self, key: String, value: V);
    }

    impl<V> Map<V> for BTreeMap<String, V> {
        fn has(&self, key: &str) -> bool {
            self.contains_key(key)
        }
        fn put(&mut self, key: String, value: V) {
            self.insert(key, value);
        }
    }

    impl<V> Map<V> for IndexMap<String, V> {
        fn has(&self, key: &str) -> bool {
            self.contains_key(key)
        }
        fn put(&mut self, key: String, value: V) {
            self.insert(key, value);
        }
    }

    struct Unique<M, V> {
        what: &'static str,
        _m: PhantomData<(M, V)>,
    }

    impl<'de, M: Map<V>, V: Deserialize<'de>> Visitor<'de> for Unique<M, V> {
        type Value = M;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "a map of {}", self.what)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<M, A::Error> {
            let mut out = M::default();
            while let Some(key) = map.next_key::<String>()? {
                if out.has(&key) {
                    return Err(de::Error::custom(format!(
                        "{} `{key}` is written twice (a second entry would silently replace the first)",
                        self.what
                    )));
                }
                let value = map.next_value::<V>()?;
                out.put(key, value);
            }
            Ok(out)
        }
    }

    fn unique<'de, D: Deserializer<'de>, M: Map<V>, V: Deserialize<'de>>(
        d: D,
        what: &'static str,
    ) -> Result<M, D::Error> {
        d.deserialize_map(Unique {
            what,
            _m: PhantomData,
        })
    }

    pub fn instances<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, Instance>, D::Error> {
        unique(d, "instance")
    }

    pub fn ports<'de, D: Deserializer<'de>>(d: D) -> Result<IndexMap<String, u16>, D::Error> {
        unique(d, "port")
    }

    /// The error for a second entry named `key` (the fast path's visitor).
    pub fn twice<E: de::Error>(key: &str) -> E {
        E::custom(format!(
            "instance `{key}` is written twice (a second entry would silently replace the first)"
        ))
    }
}

/// A visitor that deserializes one named instance and skips the rest.
mod one {
    use std::fmt;

    use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

    use super::Instance;

    struct Top<'a>(&'a str);
    struct Instances<'a>(&'a str);

    type Found = (u64, Option<Instance>, usize);

    impl<'de> Visitor<'de> for Top<'_> {
        type Value = Found;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a registry object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Found, A::Error> {
            let (mut version, mut inst, mut count) = (None, None, 0);
            let mut seen_instances = false;
            while let Some(key) = map.next_key::<String>()? {
                match key.as_str() {
                    "version" if version.is_some() => {
                        return Err(de::Error::duplicate_field("version"));
                    }
                    "instances" if seen_instances => {
                        return Err(de::Error::duplicate_field("instances"));
                    }
                    "version" => version = Some(map.next_value::<u64>()?),
                    "instances" => {
                        seen_instances = true;
                        let (i, c) = map.next_value_seed(Instances(self.0))?;
                        inst = i;
                        count = c;
                    }
                    "reserved_ports" => {
                        map.next_value::<Vec<u16>>()?;
                    }
                    "stack" => {
                        map.next_value::<super::StackRecord>()?;
                    }
                    other => {
                        return Err(de::Error::unknown_field(
                            other,
                            &["version", "stack", "reserved_ports", "instances"],
                        ));
                    }
                }
            }
            Ok((
                version.ok_or_else(|| de::Error::missing_field("version"))?,
                inst,
                count,
            ))
        }
    }

    impl<'de> DeserializeSeed<'de> for Instances<'_> {
        type Value = (Option<Instance>, usize);
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Instances<'_> {
        type Value = (Option<Instance>, usize);
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a map of instances")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let (mut found, mut count) = (None, 0);
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                count += 1;
                if key == self.0 {
                    if found.is_some() {
                        return Err(super::unique::twice(self.0));
                    }
                    found = Some(map.next_value::<Instance>()?);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok((found, count))
        }
    }

    /// (version, the instance if present, number of instances).
    pub fn parse(text: &str, name: &str) -> serde_json::Result<Found> {
        let mut de = serde_json::Deserializer::from_str(text);
        let found = serde::Deserializer::deserialize_map(&mut de, Top(name))?;
        de.end()?;
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_one_finds_one_and_counts_all() {
        let dir = tempfile::tempdir().unwrap();
        let file = RegistryFile::in_dir(dir.path());
        let mut r = sample();
        let mut other = r.instances["prod"].clone();
        other.index = 1;
        r.instances.insert("dev".into(), other);
        std::fs::write(&file.path, to_json(&r)).unwrap();
        let (one, count) = file.load_one("prod").unwrap();
        assert_eq!(count, 2);
        assert_eq!(one.instances.len(), 1);
        assert_eq!(one.instances["prod"], r.instances["prod"]);
        let (none, _) = file.load_one("nope").unwrap();
        assert!(none.instances.is_empty());
        // Errors come from the full parser, with positions.
        std::fs::write(&file.path, "{\"version\": 7}").unwrap();
        assert!(matches!(
            file.load_one("prod"),
            Err(Error::RegistryVersion { found: 7, .. })
        ));
        std::fs::write(&file.path, "{\"version\": 1, \"oops\": 1}").unwrap();
        assert!(
            file.load_one("prod")
                .unwrap_err()
                .to_string()
                .contains("unknown field `oops`")
        );
    }

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

    #[test]
    fn round_trips_through_json() {
        let r = sample();
        let text = String::from_utf8(to_json(&r)).unwrap();
        assert_eq!(parse(Path::new("i.json"), &text).unwrap(), r);
        // Port order is kept as written.
        assert!(text.find("backend").unwrap() < text.find("frontend").unwrap());
    }

    #[test]
    fn syntax_error_names_line_and_column() {
        let err = parse(Path::new("i.json"), "{\n  \"version\": 1,\n  oops\n}")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`i.json:3:3`"), "{err}");
    }

    #[test]
    fn unknown_key_is_named() {
        let text = r#"{"version": 1, "instances": {}, "reserved_port": []}"#;
        let err = parse(Path::new("i.json"), text).unwrap_err().to_string();
        assert!(err.contains("unknown field `reserved_port`"), "{err}");
        let text = r#"{"version": 1, "instances": {"a": {"index": 0, "domain": "a.localhost",
            "project": "s-a", "ports": {}, "data_dir": "/d", "created_at": "x", "colour": 1}}}"#;
        let err = parse(Path::new("i.json"), text).unwrap_err().to_string();
        assert!(err.contains("unknown field `colour`"), "{err}");
    }

    #[test]
    fn future_version_is_refused_naming_both() {
        let text = r#"{"version": 7, "instances": {}, "new_thing": true}"#;
        let err = parse(Path::new("i.json"), text).unwrap_err();
        assert!(matches!(err, Error::RegistryVersion { found: 7, .. }));
        let msg = err.to_string();
        assert!(
            msg.contains("version 7") && msg.contains(&format!("version {VERSION}")),
            "{msg}"
        );
    }

    #[test]
    fn empty_and_truncated_files_are_errors() {
        assert!(parse(Path::new("i.json"), "").is_err());
        let full = String::from_utf8(to_json(&sample())).unwrap();
        for cut in [1, full.len() / 2, full.len() - 3] {
            assert!(
                parse(Path::new("i.json"), &full[..cut]).is_err(),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn unsafe_values_are_refused() {
        let base = |name: &str, data_dir: &str| {
            format!(
                r#"{{"version": 1, "instances": {{"{name}": {{"index": 0, "domain": "a.localhost",
                "project": "s-a", "ports": {{}}, "data_dir": "{data_dir}", "created_at": "x"}}}}}}"#
            )
        };
        let err = parse(Path::new("i.json"), &base("../etc", "/d"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("key `instances.../etc`"), "{err}");
        let err = parse(Path::new("i.json"), &base("a", "rel/dir"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not an absolute path"), "{err}");
    }

    #[test]
    fn lock_commit_and_stale_temp_cleanup() {
        let dir = tempfile::tempdir().unwrap();
        let file = RegistryFile::in_dir(dir.path());
        std::fs::write(dir.path().join(".instances.json.abc.tmp"), "junk").unwrap();
        {
            let mut locked = file.lock().unwrap();
            assert!(locked.registry.instances.is_empty());
            locked.registry = sample();
            locked.commit().unwrap();
        }
        assert_eq!(file.load().unwrap(), sample());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn commit_never_writes_a_registry_that_breaks_an_invariant() {
        let dir = tempfile::tempdir().unwrap();
        let file = RegistryFile::in_dir(dir.path());
        {
            let mut locked = file.lock().unwrap();
            locked.registry = sample();
            locked.commit().unwrap();
        }
        let before = std::fs::read(&file.path).unwrap();
        let mut locked = file.lock().unwrap();
        let mut twin = locked.registry.instances["prod"].clone();
        twin.index = 1;
        twin.project = "mindroom-dev".into();
        twin.domain = "dev.example.com".into();
        locked.registry.instances.insert("dev".into(), twin);
        let err = locked.commit().unwrap_err().to_string();
        assert!(
            err.ends_with(
                "the change was not written, it would break the registry: instances `dev` and `prod` both hold port 8765"
            ),
            "{err}"
        );
        drop(locked);
        assert_eq!(std::fs::read(&file.path).unwrap(), before);

        // With the stack known, its range and tiers are checked too.
        let config = crate::stack::parse_config(Path::new("mrctl.toml"), "name = \"s\"\n").unwrap();
        let file = RegistryFile::for_stack(dir.path(), &config);
        let err = file.load().unwrap_err().to_string();
        assert!(
            err.contains("tier `free`, which `mrctl.toml` does not define"),
            "{err}"
        );
        let mut locked = RegistryFile::in_dir(dir.path()).lock().unwrap();
        locked.file = file.clone();
        locked.registry.instances.get_mut("prod").unwrap().tier = Some("gold".into());
        assert!(locked.commit().is_err());
        drop(locked);
        assert_eq!(std::fs::read(&file.path).unwrap(), before);
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let entry = r#"{"index": 0, "domain": "a.localhost", "project": "s-a",
            "ports": {"web": 8000}, "data_dir": "/d", "created_at": "x"}"#;
        let text = format!(r#"{{"version": 1, "instances": {{"a": {entry}, "a": {entry}}}}}"#);
        let err = parse(Path::new("i.json"), &text).unwrap_err().to_string();
        assert!(err.contains("instance `a` is written twice"), "{err}");
        assert!(err.starts_with("registry `i.json:"), "{err}");
        let text = r#"{"version": 1, "instances": {"a": {"index": 0, "domain": "a.localhost",
            "project": "s-a", "ports": {"web": 8000, "web": 8001}, "data_dir": "/d",
            "created_at": "x"}}}"#;
        let err = parse(Path::new("i.json"), text).unwrap_err().to_string();
        assert!(err.contains("port `web` is written twice"), "{err}");
        let text = r#"{"version": 1, "instances": {}, "instances": {}}"#;
        let err = parse(Path::new("i.json"), text).unwrap_err().to_string();
        assert!(err.contains("duplicate field `instances`"), "{err}");
        // The one-entry path sees a second entry under its own name.
        let dir = tempfile::tempdir().unwrap();
        let file = RegistryFile::in_dir(dir.path());
        let text = format!(
            r#"{{"version": 1, "instances": {{"a": {entry}, "b": {}, "a": {entry}}}}}"#,
            entry
                .replace("s-a", "s-b")
                .replace("a.localhost", "b.localhost")
                .replace("0,", "1,")
                .replace("8000", "8001")
        );
        std::fs::write(&file.path, text).unwrap();
        let err = file.load_one("a").unwrap_err().to_string();
        assert!(err.contains("instance `a` is written twice"), "{err}");
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        let text = String::from_utf8(to_json(&sample())).unwrap();
        let marked = format!("\u{feff}{text}");
        assert_eq!(parse(Path::new("i.json"), &marked).unwrap(), sample());
        let dir = tempfile::tempdir().unwrap();
        let file = RegistryFile::in_dir(dir.path());
        std::fs::write(&file.path, &marked).unwrap();
        assert_eq!(file.load_one("prod").unwrap().1, 1);
    }

    #[test]
    fn corrupt_registry_is_not_overwritten_by_lock() {
        let dir = tempfile::tempdir().unwrap();
        let file = RegistryFile::in_dir(dir.path());
        std::fs::write(&file.path, "{ broken").unwrap();
        assert!(file.lock().is_err());
        assert_eq!(std::fs::read_to_string(&file.path).unwrap(), "{ broken");
    }
}
