//! Reading the files mrctl is given, bounded: every text file goes through
//! [`read_to_string_limited`], which stops reading at a size limit for its
//! kind (so `/dev/zero` or a runaway file cannot grow memory without bound)
//! and names the file, with the line and byte, when it is not UTF-8. The
//! errors are those of bad input files (exit code 3).

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use crate::error::{Error, Position, Result};

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;

/// Largest `mrctl.toml` read.
pub const MAX_STACK_CONFIG: u64 = MIB;
/// Largest template read (`env_template`, `override_template`).
pub const MAX_TEMPLATE: u64 = MIB;
/// Largest compose file read (base files, `include`, `extends`, the override):
/// the limit compose files always had here.
pub const MAX_COMPOSE: u64 = 8 * MIB;
/// Largest env file read (an instance's `.env`, a service's `env_file`).
pub const MAX_ENV_FILE: u64 = 16 * MIB;
/// Largest `instances.json` read: some 200 000 instances.
pub const MAX_REGISTRY: u64 = 64 * MIB;
/// Largest `secrets.json` read.
pub const MAX_SECRETS: u64 = MIB;
/// Largest marker file read (a few dozen bytes when mrctl wrote it).
pub const MAX_MARKER: u64 = 64 * KIB;

/// What a file is to mrctl: decides its size limit and the error it gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    StackConfig,
    Template,
    Compose,
    EnvFile,
    Registry,
    Secrets,
    Marker,
}

impl FileKind {
    /// The most bytes read from a file of this kind.
    pub const fn limit(self) -> u64 {
        match self {
            FileKind::StackConfig => MAX_STACK_CONFIG,
            FileKind::Template => MAX_TEMPLATE,
            FileKind::Compose => MAX_COMPOSE,
            FileKind::EnvFile => MAX_ENV_FILE,
            FileKind::Registry => MAX_REGISTRY,
            FileKind::Secrets => MAX_SECRETS,
            FileKind::Marker => MAX_MARKER,
        }
    }

    fn what(self) -> &'static str {
        match self {
            FileKind::StackConfig => "mrctl.toml",
            FileKind::Template => "a template",
            FileKind::Compose => "a compose file",
            FileKind::EnvFile => "an env file",
            FileKind::Registry => "the registry",
            FileKind::Secrets => "secrets.json",
            FileKind::Marker => "a marker file",
        }
    }

    /// The action an I/O error names: `cannot read compose file `x``.
    fn read_action(self) -> &'static str {
        match self {
            FileKind::Template => "read template",
            FileKind::Compose => "read compose file",
            _ => "read",
        }
    }

    fn invalid(self, path: &Path, position: Option<Position>, message: String) -> Error {
        let path = path.to_path_buf();
        match self {
            FileKind::Compose => Error::Compose {
                path,
                position,
                message,
            },
            FileKind::Registry => Error::Registry {
                path,
                position,
                message,
            },
            FileKind::Template => Error::Template {
                template: path.display().to_string(),
                line: position.map(|p| p.line),
                message,
            },
            FileKind::StackConfig | FileKind::EnvFile | FileKind::Secrets | FileKind::Marker => {
                Error::Config {
                    path,
                    position,
                    message,
                }
            }
        }
    }
}

/// `1 MiB`, `16 MiB`, `64 KiB`.
fn size(bytes: u64) -> String {
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// Reads `path` as UTF-8 text, reading at most `kind.limit()` bytes: a larger
/// file (or an endless one) is an error naming the file and the limit, found
/// while reading, not after. Invalid UTF-8 is an error naming the file, the
/// line and the byte offset. A file that cannot be opened is [`Error::Io`]
/// (see [`is_not_found`]).
pub fn read_to_string_limited(path: &Path, kind: FileKind) -> Result<String> {
    let limit = kind.limit();
    let action = kind.read_action();
    let file = std::fs::File::open(path).map_err(|e| Error::io(action, path, e))?;
    // Size the buffer from the metadata when it is sane; `/dev/zero` says 0.
    let hint = file.metadata().map(|m| m.len().min(limit + 1)).unwrap_or(0);
    let mut bytes = Vec::with_capacity(hint as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(action, path, e))?;
    if bytes.len() as u64 > limit {
        return Err(kind.invalid(
            path,
            None,
            format!(
                "the file is larger than {}, the limit for {}",
                size(limit),
                kind.what()
            ),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let valid = std::str::from_utf8(&e.as_bytes()[..offset]).expect("valid up to here");
        kind.invalid(
            path,
            Some(crate::error::position_of(valid, offset)),
            format!("the file is not valid UTF-8 (at byte offset {offset})"),
        )
    })
}

/// Like [`read_to_string_limited`], with a missing file as `None`.
pub fn read_optional(path: &Path, kind: FileKind) -> Result<Option<String>> {
    match read_to_string_limited(path, kind) {
        Ok(text) => Ok(Some(text)),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// True when `err` says the file does not exist.
pub fn is_not_found(err: &Error) -> bool {
    matches!(err, Error::Io { err, .. } if err.kind() == std::io::ErrorKind::NotFound)
}

/// How the temporary file of an atomic write ends.
pub const TEMP_SUFFIX: &str = ".tmp";

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_text_and_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a");
        std::fs::write(&p, "héllo\n").unwrap();
        assert_eq!(
            read_to_string_limited(&p, FileKind::Marker).unwrap(),
            "héllo\n"
        );
        let missing = dir.path().join("nope");
        assert!(
            read_optional(&missing, FileKind::EnvFile)
                .unwrap()
                .is_none()
        );
        assert!(is_not_found(
            &read_to_string_limited(&missing, FileKind::EnvFile).unwrap_err()
        ));
    }

    #[test]
    fn atomic_write_replaces_the_file_with_its_mode_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secrets.json");
        write_atomic(&p, b"old", 0o644).unwrap();
        write_atomic(&p, b"new", 0o600).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["secrets.json"]);
        let err = write_atomic(&dir.path().join("no/such/dir/f"), b"x", 0o600).unwrap_err();
        assert!(
            err.to_string().contains("create a temporary file in"),
            "{err}"
        );
    }

    #[test]
    fn stops_at_the_limit_while_reading() {
        // `/dev/zero` never ends: only a bounded read returns.
        let err = read_to_string_limited(Path::new("/dev/zero"), FileKind::Marker).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`/dev/zero`: the file is larger than 64 KiB, the limit for a marker file"
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m");
        std::fs::write(&p, vec![b'a'; MAX_MARKER as usize]).unwrap();
        assert!(read_to_string_limited(&p, FileKind::Marker).is_ok());
        std::fs::write(&p, vec![b'a'; MAX_MARKER as usize + 1]).unwrap();
        assert!(read_to_string_limited(&p, FileKind::Marker).is_err());
    }

    #[test]
    fn invalid_utf8_names_line_and_offset() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.yml");
        std::fs::write(&p, b"services:\n  a:\xff\n").unwrap();
        let err = read_to_string_limited(&p, FileKind::Compose).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::exit::CONFIG);
        assert_eq!(
            err.to_string(),
            format!(
                "compose file `{}:2:5`: the file is not valid UTF-8 (at byte offset 14)",
                p.display()
            )
        );
    }
}
