//! Directories mrctl creates for an instance (its data directory and its
//! rendered-files directory), each with a marker file inside, and their safe
//! removal: mrctl deletes a directory only if its marker names the same stack
//! and instance and the directory lies strictly under the configured root.

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The marker file inside every directory mrctl created.
pub const MARKER: &str = ".mrctl-instance";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Marker {
    pub stack: String,
    pub instance: String,
    /// `data` or `files`.
    pub kind: String,
}

/// Reads a directory's marker, if it has one that parses.
pub fn read_marker(dir: &Path) -> Option<Marker> {
    let text = std::fs::read_to_string(dir.join(MARKER)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Writes the marker into `dir`.
pub fn write_marker(dir: &Path, marker: &Marker) -> Result<()> {
    let path = dir.join(MARKER);
    let mut text = serde_json::to_vec_pretty(marker).expect("marker serializes");
    text.push(b'\n');
    std::fs::write(&path, text).map_err(|e| Error::io("write", &path, e))
}

/// Creates `dir` (mode 0750) and the given subdirectories, with a marker.
/// An existing directory is reused only when its marker is this instance's
/// (data kept by `clean --keep-data`); any other existing path is refused.
/// Returns whether the directory already existed.
pub fn ensure_dir(dir: &Path, subdirs: &[String], marker: &Marker) -> Result<bool> {
    let existed = match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => match read_marker(dir) {
            Some(m) if &m == marker => true,
            Some(m) => {
                return Err(Error::PathExists {
                    path: dir.to_path_buf(),
                    reason: format!(
                        "it belongs to instance `{}` of stack `{}`",
                        m.instance, m.stack
                    ),
                });
            }
            None => {
                return Err(Error::PathExists {
                    path: dir.to_path_buf(),
                    reason: "mrctl did not create it (no marker inside): move it away or choose another name".into(),
                });
            }
        },
        Ok(_) => {
            return Err(Error::PathExists {
                path: dir.to_path_buf(),
                reason: "it is not a directory".into(),
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(Error::io("inspect", dir, e)),
    };
    if !existed {
        create_private_dir_all(dir)?;
        write_marker(dir, marker)?;
    }
    for sub in subdirs {
        let path = dir.join(sub);
        create_private_dir_all(&path)?;
    }
    Ok(existed)
}

/// `create_dir_all` with mode 0750 on the directories it creates.
pub fn create_private_dir_all(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o750);
    }
    builder
        .create(dir)
        .map_err(|e| Error::io("create directory", dir, e))
}

/// Lexically normalises a path: no `.` or `..` components, no symlinks resolved.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Outcome of a removal.
#[derive(Debug, PartialEq, Eq)]
pub enum Removed {
    Deleted,
    Missing,
}

/// Checks that `dir` may be deleted: it lies strictly under `root` (also after
/// resolving symlinks), is a real directory (not a symlink), and holds a
/// marker for `expected`. Ok(false) when it does not exist.
pub fn check_removable(dir: &Path, root: &Path, expected: &Marker) -> Result<bool> {
    let refuse = |reason: String| {
        Err(Error::UnsafeDelete {
            path: dir.to_path_buf(),
            reason,
        })
    };
    if !dir.is_absolute() {
        return refuse("the path is not absolute".into());
    }
    let lexical = normalize(dir);
    let root_lexical = normalize(root);
    let strictly_under = |p: &Path, r: &Path| p != r && p.starts_with(r);
    if !strictly_under(&lexical, &root_lexical) {
        return refuse(format!(
            "it is not inside the configured root `{}`",
            root.display()
        ));
    }
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io("inspect", dir, e)),
    };
    if meta.file_type().is_symlink() {
        return refuse("it is a symbolic link".into());
    }
    if !meta.is_dir() {
        return refuse("it is not a directory".into());
    }
    let real = dir
        .canonicalize()
        .map_err(|e| Error::io("resolve", dir, e))?;
    let real_root = root.canonicalize().unwrap_or_else(|_| root_lexical.clone());
    if !strictly_under(&real, &real_root) {
        return refuse(format!(
            "it is not inside the configured root `{}`",
            root.display()
        ));
    }
    if let Some(home) = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf())
        && (real == home || home.starts_with(&real))
    {
        return refuse("it is the home directory or one of its parents".into());
    }
    match read_marker(dir) {
        Some(m) if &m == expected => Ok(true),
        Some(m) => refuse(format!(
            "its marker says it belongs to instance `{}` of stack `{}`",
            m.instance, m.stack
        )),
        None => refuse(format!(
            "it has no `{MARKER}` marker, so mrctl did not create it"
        )),
    }
}

/// Prefix of a directory being deleted: renamed first, so a kill midway
/// leaves either the whole directory (marker included) or clearly-named trash.
const TRASH_PREFIX: &str = ".mrctl-trash-";

/// Deletes `dir` recursively if and only if [`check_removable`] allows it;
/// otherwise nothing is deleted and the error says why. The directory is
/// first renamed aside in one atomic step, then removed: a process killed
/// halfway never leaves a half-deleted directory under the instance's name.
pub fn remove_checked(dir: &Path, root: &Path, expected: &Marker) -> Result<Removed> {
    if !check_removable(dir, root, expected)? {
        return Ok(Removed::Missing);
    }
    let parent = dir.parent().unwrap_or(root);
    let trash = parent.join(format!(
        "{TRASH_PREFIX}{}-{}",
        expected.instance,
        crate::render::random_secret(8).unwrap_or_default()
    ));
    std::fs::rename(dir, &trash).map_err(|e| Error::io("move aside for deletion", dir, e))?;
    std::fs::remove_dir_all(&trash).map_err(|e| Error::io("delete", &trash, e))?;
    Ok(Removed::Deleted)
}

/// Removes trash left under `root` by a deletion that was killed. Call under
/// the registry lock, when no deletion is in flight.
pub fn purge_trash(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(TRASH_PREFIX)
        {
            tracing::debug!(dir = %entry.path().display(), "removing trash left by a killed deletion");
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(instance: &str) -> Marker {
        Marker {
            stack: "s".into(),
            instance: instance.into(),
            kind: "data".into(),
        }
    }

    #[test]
    fn creates_reuses_and_removes() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a");
        let subs = vec!["config".to_string(), "logs".to_string()];
        assert!(!ensure_dir(&dir, &subs, &marker("a")).unwrap());
        assert!(dir.join("config").is_dir());
        std::fs::write(dir.join("config/keep"), "x").unwrap();
        assert!(ensure_dir(&dir, &subs, &marker("a")).unwrap());
        assert!(dir.join("config/keep").is_file());
        assert!(ensure_dir(&dir, &subs, &marker("b")).is_err());
        assert_eq!(
            remove_checked(&dir, root.path(), &marker("a")).unwrap(),
            Removed::Deleted
        );
        assert!(!dir.exists());
        assert_eq!(
            remove_checked(&dir, root.path(), &marker("a")).unwrap(),
            Removed::Missing
        );
    }

    #[test]
    fn refuses_unmarked_foreign_and_outside() {
        let root = tempfile::tempdir().unwrap();
        let plain = root.path().join("plain");
        std::fs::create_dir(&plain).unwrap();
        let err = remove_checked(&plain, root.path(), &marker("plain")).unwrap_err();
        assert!(
            err.to_string().contains("no `.mrctl-instance` marker"),
            "{err}"
        );
        assert!(plain.exists());

        let other = root.path().join("other");
        ensure_dir(&other, &[], &marker("b")).unwrap();
        let err = remove_checked(&other, root.path(), &marker("other")).unwrap_err();
        assert!(err.to_string().contains("instance `b`"), "{err}");

        let outside = tempfile::tempdir().unwrap();
        let out = outside.path().join("x");
        ensure_dir(&out, &[], &marker("x")).unwrap();
        let err = remove_checked(&out, root.path(), &marker("x")).unwrap_err();
        assert!(err.to_string().contains("not inside"), "{err}");
        assert!(out.exists());

        let err = remove_checked(root.path(), root.path(), &marker("x")).unwrap_err();
        assert!(err.to_string().contains("not inside"), "{err}");
        let dotted = root.path().join("a/../..");
        let err = remove_checked(&dotted, root.path(), &marker("x")).unwrap_err();
        assert!(err.to_string().contains("not inside"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn refuses_symlinks_out_of_the_root() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("t");
        ensure_dir(&target, &[], &marker("l")).unwrap();
        let link = root.path().join("l");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = remove_checked(&link, root.path(), &marker("l")).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        // A real directory reached through a symlinked parent is outside too.
        let via = root.path().join("via");
        std::os::unix::fs::symlink(outside.path(), &via).unwrap();
        let err = remove_checked(&via.join("t"), root.path(), &marker("l")).unwrap_err();
        assert!(err.to_string().contains("not inside"), "{err}");
        assert!(target.exists());
    }
}
