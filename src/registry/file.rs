//! The registry file of one stack directory: reads without the lock, the
//! one-entry fast read, and read-modify-write under the exclusive lock with
//! an atomic write, plus the stack directory's identity kept in it.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fsutil::{FileKind, TEMP_SUFFIX, read_optional, write_atomic};
use crate::stack::StackConfig;

use super::check::check_values;
use super::parse::{parse, strip_bom};
use super::{
    FILE_NAME, LOCK_NAME, Registry, StackRecord, TEMP_PREFIX, VERSION, holds_identity, one, to_json,
};

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
            let id = crate::secrets::random_id().map_err(|e| {
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

    /// The stack directory's identity record, made (under the lock) if the
    /// registry has none yet or belongs to another directory.
    pub fn identity(&self) -> Result<super::StackRecord> {
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
        Ok(record)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::sample;

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
    fn corrupt_registry_is_not_overwritten_by_lock() {
        let dir = tempfile::tempdir().unwrap();
        let file = RegistryFile::in_dir(dir.path());
        std::fs::write(&file.path, "{ broken").unwrap();
        assert!(file.lock().is_err());
        assert_eq!(std::fs::read_to_string(&file.path).unwrap(), "{ broken");
    }
}
