//! The stack directory and its `mrctl.toml`: discovery, loading, and the
//! roots mrctl creates in and deletes under, resolved to absolute paths.

mod config;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::limits::Limits;

pub use config::{InstancesConfig, PortsConfig, StackConfig, Strategy, parse_config};

/// File name of the stack configuration.
pub const CONFIG_FILE: &str = "mrctl.toml";
/// Environment variable naming the stack directory.
pub const PROJECT_DIR_ENV: &str = "MRCTL_PROJECT_DIR";

/// A loaded, validated stack.
#[derive(Debug, Clone)]
pub struct Stack {
    /// The stack directory (absolute).
    pub dir: PathBuf,
    /// Its `mrctl.toml`.
    pub config_path: PathBuf,
    pub config: StackConfig,
    /// `[instances] dir`, absolute.
    pub instances_dir: PathBuf,
    /// `[instances] data_root`, absolute.
    pub data_root: PathBuf,
}

impl Stack {
    /// Finds the stack directory: `-C DIR`, else `MRCTL_PROJECT_DIR`, else
    /// the first directory at or above `cwd` holding `mrctl.toml`.
    pub fn discover(explicit: Option<&Path>, cwd: &Path) -> Result<Stack> {
        let env_dir = std::env::var_os(PROJECT_DIR_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        if let Some(dir) = explicit.map(Path::to_path_buf).or(env_dir) {
            let dir = if dir.is_absolute() {
                dir
            } else {
                cwd.join(dir)
            };
            if !dir.join(CONFIG_FILE).is_file() {
                return Err(Error::StackNotFound { start: dir });
            }
            return Stack::load(&dir);
        }
        let mut here = Some(cwd);
        while let Some(dir) = here {
            if dir.join(CONFIG_FILE).is_file() {
                return Stack::load(dir);
            }
            here = dir.parent();
        }
        Err(Error::StackNotFound {
            start: cwd.to_path_buf(),
        })
    }

    /// Loads and validates `DIR/mrctl.toml`.
    pub fn load(dir: &Path) -> Result<Stack> {
        let dir = dir
            .canonicalize()
            .map_err(|e| Error::io("open the stack directory", dir, e))?;
        let config_path = dir.join(CONFIG_FILE);
        let text = crate::fsutil::read_to_string_limited(
            &config_path,
            crate::fsutil::FileKind::StackConfig,
        )?;
        let config = parse_config(&config_path, &text)?;
        let root = |key: &str, value: &str| resolve_root(&dir, &config_path, key, value);
        let instances_dir = root("instances.dir", &config.instances.dir)?;
        let data_root = root("instances.data_root", &config.instances.data_root)?;
        Ok(Stack {
            dir,
            config_path,
            config,
            instances_dir,
            data_root,
        })
    }

    /// The stack's name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The directory of an instance's rendered files.
    pub fn instance_dir(&self, name: &str) -> PathBuf {
        self.instances_dir.join(name)
    }

    /// The base compose files, absolute, in merge order.
    pub fn compose_paths(&self) -> Vec<PathBuf> {
        self.config
            .compose_files
            .iter()
            .map(|f| self.dir.join(f))
            .collect()
    }

    /// A path relative to the stack directory where it lies inside it, for messages.
    pub fn display_path<'a>(&self, path: &'a Path) -> std::borrow::Cow<'a, str> {
        match path.strip_prefix(&self.dir) {
            Ok(rel) => rel.to_string_lossy(),
            Err(_) => path.to_string_lossy(),
        }
    }

    /// The tier named `name`, or an error listing the tiers there are.
    pub fn tier(&self, name: &str) -> Result<&Limits> {
        self.config.tiers.get(name).ok_or_else(|| {
            let known: Vec<_> = self.config.tiers.keys().map(|k| format!("`{k}`")).collect();
            Error::InvalidArgument {
                option: "--tier".into(),
                reason: if known.is_empty() {
                    format!("no tier `{name}`: mrctl.toml defines no `[tiers]`")
                } else {
                    format!("no tier `{name}` (tiers: {})", known.join(", "))
                },
            }
        })
    }
}

/// Resolves a root directory of the stack (`instances.dir`, `data_root`) to
/// the real path mrctl will create in and delete under: symlinks and `..`
/// resolved, also when the directory does not exist yet. Refuses a root that
/// is `/`, the stack directory or one of its parents, and a relative one
/// that leads outside the stack directory (an absolute one may lie anywhere
/// else), naming the key and what it resolves to.
fn resolve_root(stack_dir: &Path, config_path: &Path, key: &str, value: &str) -> Result<PathBuf> {
    let configured = Path::new(value);
    let joined = stack_dir.join(configured);
    let resolved = canonicalize_lenient(&joined).map_err(|e| Error::io("resolve", &joined, e))?;
    let refuse = |what: String| {
        Err(Error::Config {
            path: config_path.to_path_buf(),
            position: None,
            message: format!(
                "key `{key}`: `{value}` resolves to `{}`, {what}",
                resolved.display()
            ),
        })
    };
    if resolved.parent().is_none() {
        return refuse("the root directory".into());
    }
    if resolved == stack_dir {
        return refuse("the stack directory itself".into());
    }
    if stack_dir.starts_with(&resolved) {
        return refuse(format!(
            "a parent of the stack directory `{}`",
            stack_dir.display()
        ));
    }
    if !configured.is_absolute() && !resolved.starts_with(stack_dir) {
        return refuse(format!(
            "outside the stack directory `{}` (a relative path must stay inside it; write an absolute path for a directory elsewhere)",
            stack_dir.display()
        ));
    }
    Ok(resolved)
}

/// `canonicalize` for a path that may not exist yet: the nearest existing
/// ancestor is canonicalised and the rest appended (`..` in the rest taken
/// lexically: those components do not exist, so they are no symlinks).
pub fn canonicalize_lenient(path: &Path) -> std::io::Result<PathBuf> {
    use std::path::Component;
    let components: Vec<Component> = path.components().collect();
    for split in (1..=components.len()).rev() {
        let head: PathBuf = components[..split].iter().collect();
        match head.canonicalize() {
            Ok(mut out) => {
                for c in &components[split..] {
                    match c {
                        Component::ParentDir => {
                            out.pop();
                        }
                        Component::CurDir => {}
                        other => out.push(other),
                    }
                }
                return Ok(out);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        "no part of the path exists",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_canonicalisation_resolves_what_exists() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().canonicalize().unwrap();
        std::fs::create_dir(real.join("a")).unwrap();
        let c = |p: &str| canonicalize_lenient(&tmp.path().join(p)).unwrap();
        assert_eq!(c("a"), real.join("a"));
        assert_eq!(c("a/new/deeper"), real.join("a/new/deeper"));
        assert_eq!(c("a/../b"), real.join("b"));
        assert_eq!(c("missing/../.."), real.parent().unwrap());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/", real.join("root")).unwrap();
            assert_eq!(c("root/x"), Path::new("/x"));
        }
    }
}
