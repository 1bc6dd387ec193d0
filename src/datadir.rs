//! Directories mrctl creates for an instance (its data directory and its
//! rendered-files directory), each with a marker file inside, and their safe
//! removal: mrctl deletes a directory only if its marker names the same stack
//! and instance and the directory lies strictly under the configured root.

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The marker file inside every directory mrctl created.
pub const MARKER: &str = ".mrctl-instance";

/// Whose a directory is. `stack_id` is the stack directory's identity: two
/// copies of a stack share its name, so with an absolute `data_root` both
/// would otherwise claim (and `clean` would delete) the same data directory.
/// Markers written before identities existed have none and match by names.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Marker {
    pub stack: String,
    pub instance: String,
    /// `data` or `files`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_id: Option<String>,
}

impl Marker {
    /// The marker of `instance`'s `kind` directory for a stack directory
    /// (`stack_id` None only where no identity exists yet).
    pub fn new(stack: &str, stack_id: Option<&str>, instance: &str, kind: &str) -> Marker {
        Marker {
            stack: stack.to_string(),
            instance: instance.to_string(),
            kind: kind.to_string(),
            stack_id: stack_id.map(str::to_string),
        }
    }
}

impl Marker {
    /// Whose this (found) marker says the directory is, as seen by the
    /// stack directory that expected `ours`.
    fn owner_for(&self, ours: &Marker) -> String {
        if self.stack == ours.stack && self.instance == ours.instance && self.kind == ours.kind {
            "the same instance of another stack directory (a copy of this stack with its own identity)".to_string()
        } else {
            format!("instance `{}` of stack `{}`", self.instance, self.stack)
        }
    }
}

/// Same stack, instance and kind; and the same identity where both have one.
impl PartialEq for Marker {
    fn eq(&self, other: &Marker) -> bool {
        self.stack == other.stack
            && self.instance == other.instance
            && self.kind == other.kind
            && match (&self.stack_id, &other.stack_id) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }
}

/// Reads a directory's marker, if it has one that parses.
pub fn read_marker(dir: &Path) -> Option<Marker> {
    let text =
        crate::fsutil::read_to_string_limited(&dir.join(MARKER), crate::fsutil::FileKind::Marker)
            .ok()?;
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
                    reason: format!("it belongs to {}", m.owner_for(marker)),
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
            "its marker says it belongs to {}",
            m.owner_for(expected)
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
        crate::secrets::random_secret(8).unwrap_or_default()
    ));
    std::fs::rename(dir, &trash).map_err(|e| Error::io("move aside for deletion", dir, e))?;
    remove_marker_last(&trash)?;
    Ok(Removed::Deleted)
}

/// Deletes a marked directory with its marker last: a deletion killed
/// midway leaves the marker in place, so the rest is still recognised as
/// mrctl's own and removed later by [`remove_own_leftovers`].
fn remove_marker_last(dir: &Path) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("delete", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("delete", dir, e))?;
        if entry.file_name() == MARKER {
            continue;
        }
        let path = entry.path();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        let removed = if is_dir {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|e| Error::io("delete", &path, e))?;
    }
    let marker = dir.join(MARKER);
    match std::fs::remove_file(&marker) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("delete", &marker, e)),
    }
    std::fs::remove_dir(dir).map_err(|e| Error::io("delete", dir, e))
}

/// Prefix of the staging directory a `create` renders an instance's files
/// into (beside their final place, under the instances directory).
pub const STAGING_PREFIX: &str = ".staging-";

/// Removes what killed work of stack `stack` left directly under `root`:
/// trash of a deletion (`.mrctl-trash-<instance>-…`) and, when `staging`,
/// staging directories of a create (`.staging-<instance>-…`). Only a real
/// directory whose marker mrctl wrote for this stack and for the instance
/// its name says is removed; anything else with such a name was not made by
/// mrctl and is left alone. The one exception holds nothing to lose: an
/// empty directory (or one holding only an empty marker), which is what a
/// create killed between making its staging directory and writing the marker
/// leaves; it is removed with `rmdir`, which refuses a directory with
/// anything in it. Call under the registry lock, when no create or deletion
/// is in flight.
pub fn remove_own_leftovers(root: &Path, stack: &str, staging: bool) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let rest = match name.strip_prefix(TRASH_PREFIX) {
            Some(rest) => rest,
            None if staging => match name.strip_prefix(STAGING_PREFIX) {
                Some(rest) => rest,
                None => continue,
            },
            None => continue,
        };
        let path = entry.path();
        if !is_own_leftover(&path, rest, stack) {
            if holds_nothing(&path) {
                let _ = std::fs::remove_file(path.join(MARKER));
                let _ = std::fs::remove_dir(&path);
            } else {
                tracing::debug!(dir = %path.display(), "leaving alone a directory mrctl did not mark");
            }
            continue;
        }
        tracing::debug!(dir = %path.display(), "removing what a killed create or deletion left");
        let _ = remove_marker_last(&path);
    }
}

/// A real directory that is empty, or holds only an empty marker file.
fn holds_nothing(path: &Path) -> bool {
    let is_dir = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_dir());
    let Ok(entries) = std::fs::read_dir(path).map(|e| e.collect::<Vec<_>>()) else {
        return false;
    };
    is_dir
        && entries.iter().all(|e| {
            e.as_ref().is_ok_and(|e| {
                e.file_name() == MARKER && e.metadata().is_ok_and(|m| m.is_file() && m.len() == 0)
            })
        })
}

/// A real directory (not a symlink) whose marker names `stack` and the
/// instance that `rest` (`<instance>-<random>`) starts with.
fn is_own_leftover(path: &Path, rest: &str, stack: &str) -> bool {
    let is_dir = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_dir());
    if !is_dir {
        return false;
    }
    read_marker(path).is_some_and(|m| {
        m.stack == stack
            && rest
                .strip_prefix(m.instance.as_str())
                .is_some_and(|r| r.starts_with('-'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(instance: &str) -> Marker {
        Marker::new("s", None, instance, "data")
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

    #[test]
    fn leftovers_are_removed_only_when_marked_for_this_stack() {
        let root = tempfile::tempdir().unwrap();
        let make = |name: &str, marker: Option<Marker>| {
            let dir = root.path().join(name);
            std::fs::create_dir_all(dir.join("sub")).unwrap();
            std::fs::write(dir.join("sub/file"), "x").unwrap();
            if let Some(m) = marker {
                write_marker(&dir, &m).unwrap();
            }
            dir
        };
        let other_stack = Marker {
            stack: "t".into(),
            ..marker("a")
        };
        let kept = [
            make(".staging-a-by-hand", None),
            make(".mrctl-trash-a-by-hand", None),
            make(".staging-a-1", Some(other_stack)),
            make(".staging-b-1", Some(marker("a"))),
            make(".staging-ab", Some(marker("a"))),
        ];
        // A deletion killed midway: the marker is deleted last, so it is still there.
        let half = make(".mrctl-trash-a-2", Some(marker("a")));
        std::fs::remove_dir_all(half.join("sub")).unwrap();
        let staging = make(".staging-a-3", Some(marker("a")));
        // A create killed before its marker was written: nothing to lose.
        let empty = root.path().join(".staging-a-4");
        std::fs::create_dir(&empty).unwrap();
        let unwritten = root.path().join(".staging-a-5");
        std::fs::create_dir(&unwritten).unwrap();
        std::fs::write(unwritten.join(MARKER), "").unwrap();
        remove_own_leftovers(root.path(), "s", false);
        assert!(!half.exists());
        assert!(staging.exists(), "staging only when asked");
        remove_own_leftovers(root.path(), "s", true);
        assert!(!staging.exists());
        assert!(!empty.exists());
        assert!(!unwritten.exists());
        for dir in &kept {
            assert!(dir.join("sub/file").is_file(), "{}", dir.display());
        }
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
