//! Backup archives: one gzip'd tar holding an instance's registry entry,
//! rendered files, secrets, data directory and named-volume contents, with a
//! manifest (written last) listing every entry with its size and SHA-256.
//! Reading verifies everything before anything is used: a truncated,
//! tampered or padded archive is refused. Knows nothing of Docker.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::registry::Instance;

pub const FORMAT: &str = "mrctl-backup";
pub const VERSION: u32 = 1;
pub const MANIFEST: &str = "manifest.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub mrctl_version: String,
    pub stack: String,
    pub instance: String,
    pub created_at: String,
    pub entry: Instance,
    pub services: Vec<String>,
    pub volumes: Vec<VolumeRecord>,
    pub files: Vec<FileRecord>,
}

/// A named volume in the archive, at `volumes/<key>.tar`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeRecord {
    pub key: String,
    pub name: String,
    /// An image of a service that mounts it (the restore helper uses it).
    pub image: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRecord {
    pub path: String,
    /// `file`, `dir` or `symlink`.
    pub kind: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    pub mode: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// Writes an archive to a temporary file beside `dest`, renamed into place by `finish`.
pub struct Writer {
    builder: tar::Builder<GzEncoder<tempfile::NamedTempFile>>,
    files: Vec<FileRecord>,
    dest: PathBuf,
}

#[cfg(unix)]
fn mode_of(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}
#[cfg(not(unix))]
fn mode_of(_meta: &std::fs::Metadata) -> u32 {
    0o644
}

impl Writer {
    pub fn create(dest: &Path) -> Result<Writer> {
        let dir = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let tmp = tempfile::Builder::new()
            .prefix(".mrctl-backup-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| Error::io("create a temporary file in", dir, e))?;
        Ok(Writer {
            builder: tar::Builder::new(GzEncoder::new(tmp, Compression::default())),
            files: Vec::new(),
            dest: dest.to_path_buf(),
        })
    }

    fn header(kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(mode);
        h.set_mtime(0);
        h
    }

    /// Adds one file's bytes from a reader of known length.
    pub fn add_reader(
        &mut self,
        path: &str,
        size: u64,
        mode: u32,
        reader: impl Read,
    ) -> Result<()> {
        let mut h = Self::header(tar::EntryType::Regular, size, mode);
        let mut hashing = Hashing {
            inner: reader,
            hasher: Sha256::new(),
            count: 0,
        };
        self.builder
            .append_data(&mut h, path, &mut hashing)
            .map_err(|e| Error::io("write to the archive", &self.dest, e))?;
        self.files.push(FileRecord {
            path: path.to_string(),
            kind: "file".into(),
            size: hashing.count,
            sha256: Some(hex(&hashing.hasher.finalize())),
            mode,
            target: None,
        });
        Ok(())
    }

    /// Adds a directory tree under `prefix`, skipping entries `skip` names.
    pub fn add_tree(
        &mut self,
        prefix: &str,
        root: &Path,
        skip: &dyn Fn(&Path) -> bool,
    ) -> Result<()> {
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let mut entries: Vec<_> = std::fs::read_dir(&dir)
                .map_err(|e| Error::io("read directory", &dir, e))?
                .flatten()
                .collect();
            entries.sort_by_key(|e| e.file_name());
            for entry in entries {
                let path = entry.path();
                let rel = path.strip_prefix(root).expect("inside root");
                if skip(rel) {
                    continue;
                }
                let name = format!("{prefix}/{}", rel.to_string_lossy());
                let meta =
                    std::fs::symlink_metadata(&path).map_err(|e| Error::io("inspect", &path, e))?;
                if meta.file_type().is_symlink() {
                    let target =
                        std::fs::read_link(&path).map_err(|e| Error::io("read link", &path, e))?;
                    let mut h = Self::header(tar::EntryType::Symlink, 0, 0o777);
                    self.builder
                        .append_link(&mut h, &name, &target)
                        .map_err(|e| Error::io("write to the archive", &self.dest, e))?;
                    self.files.push(FileRecord {
                        path: name,
                        kind: "symlink".into(),
                        size: 0,
                        sha256: None,
                        mode: 0o777,
                        target: Some(target.to_string_lossy().into_owned()),
                    });
                } else if meta.is_dir() {
                    let mut h = Self::header(tar::EntryType::Directory, 0, mode_of(&meta));
                    self.builder
                        .append_data(&mut h, &name, std::io::empty())
                        .map_err(|e| Error::io("write to the archive", &self.dest, e))?;
                    self.files.push(FileRecord {
                        path: name,
                        kind: "dir".into(),
                        size: 0,
                        sha256: None,
                        mode: mode_of(&meta),
                        target: None,
                    });
                    stack.push(path);
                } else if meta.is_file() {
                    let f = File::open(&path).map_err(|e| Error::io("read", &path, e))?;
                    self.add_reader(&name, meta.len(), mode_of(&meta), f)?;
                }
            }
        }
        Ok(())
    }

    /// Writes the manifest (with every entry's checksum) last, syncs, and
    /// renames the archive into place.
    pub fn finish(mut self, mut manifest: Manifest) -> Result<Manifest> {
        manifest.files = std::mem::take(&mut self.files);
        let text = serde_json::to_vec_pretty(&manifest).expect("manifest serializes");
        let mut h = Self::header(tar::EntryType::Regular, text.len() as u64, 0o644);
        self.builder
            .append_data(&mut h, MANIFEST, text.as_slice())
            .map_err(|e| Error::io("write to the archive", &self.dest, e))?;
        let gz = self
            .builder
            .into_inner()
            .map_err(|e| Error::io("write to the archive", &self.dest, e))?;
        let tmp = gz
            .finish()
            .map_err(|e| Error::io("write to the archive", &self.dest, e))?;
        tmp.as_file()
            .sync_all()
            .map_err(|e| Error::io("sync", &self.dest, e))?;
        tmp.persist(&self.dest)
            .map_err(|e| Error::io("write", &self.dest, e.error))?;
        Ok(manifest)
    }
}

/// A verified archive unpacked into a temporary directory.
pub struct Extracted {
    pub dir: tempfile::TempDir,
    pub manifest: Manifest,
}

impl Extracted {
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
}

/// A relative path with only normal components.
fn safe_relative(p: &Path) -> bool {
    !p.as_os_str().is_empty() && p.components().all(|c| matches!(c, Component::Normal(_)))
}

/// Unpacks `archive` into a fresh directory under `work_dir` and verifies it
/// against its manifest. Any defect is an error naming the archive, and the
/// temporary directory goes away with it.
pub fn read_verified(archive: &Path, work_dir: &Path) -> Result<Extracted> {
    let bad = |reason: String| Error::BadArchive {
        path: archive.to_path_buf(),
        reason,
    };
    let file = File::open(archive).map_err(|e| Error::io("open", archive, e))?;
    let dir = tempfile::Builder::new()
        .prefix(".mrctl-restore-")
        .tempdir_in(work_dir)
        .map_err(|e| Error::io("create a temporary directory in", work_dir, e))?;
    let mut tar = tar::Archive::new(GzDecoder::new(file));
    let mut seen: BTreeMap<String, (String, u64, Option<String>, Option<String>)> = BTreeMap::new();
    let mut symlinks: Vec<PathBuf> = Vec::new();
    let mut manifest_bytes: Option<Vec<u8>> = None;
    for entry in tar
        .entries()
        .map_err(|e| bad(format!("it is not a gzip'd tar ({e})")))?
    {
        let mut entry = entry.map_err(|e| bad(format!("it is truncated or corrupt ({e})")))?;
        let path = entry
            .path()
            .map_err(|e| bad(format!("an entry has an unreadable path ({e})")))?
            .into_owned();
        if !safe_relative(&path) {
            return Err(bad(format!(
                "entry `{}` points outside the archive",
                path.display()
            )));
        }
        if symlinks.iter().any(|s| path.starts_with(s) && &path != s) {
            return Err(bad(format!(
                "entry `{}` lies behind a symbolic link",
                path.display()
            )));
        }
        let key = path.to_string_lossy().into_owned();
        if seen.contains_key(&key) || (key == MANIFEST && manifest_bytes.is_some()) {
            return Err(bad(format!("entry `{key}` appears twice")));
        }
        let dest = dir.path().join(&path);
        let kind = entry.header().entry_type();
        if key == MANIFEST {
            let mut bytes = Vec::new();
            entry
                .read_to_end(&mut bytes)
                .map_err(|e| bad(format!("it is truncated or corrupt ({e})")))?;
            manifest_bytes = Some(bytes);
            continue;
        }
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io("create directory", parent, e))?;
        }
        match kind {
            tar::EntryType::Directory => {
                std::fs::create_dir_all(&dest)
                    .map_err(|e| Error::io("create directory", &dest, e))?;
                seen.insert(key, ("dir".into(), 0, None, None));
            }
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name()
                    .ok()
                    .flatten()
                    .ok_or_else(|| bad(format!("symbolic link `{key}` has no target")))?
                    .into_owned();
                #[cfg(unix)]
                std::os::unix::fs::symlink(&target, &dest)
                    .map_err(|e| Error::io("create link", &dest, e))?;
                symlinks.push(path.clone());
                seen.insert(
                    key,
                    (
                        "symlink".into(),
                        0,
                        None,
                        Some(target.to_string_lossy().into_owned()),
                    ),
                );
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let mode = entry.header().mode().unwrap_or(0o600) & 0o777;
                let mut out = File::create(&dest).map_err(|e| Error::io("write", &dest, e))?;
                let mut hashing = Hashing {
                    inner: &mut entry,
                    hasher: Sha256::new(),
                    count: 0,
                };
                std::io::copy(&mut hashing, &mut out)
                    .map_err(|e| bad(format!("it is truncated or corrupt at `{key}` ({e})")))?;
                out.flush().map_err(|e| Error::io("write", &dest, e))?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let _ = out.set_permissions(std::fs::Permissions::from_mode(mode));
                }
                let sum = hex(&hashing.hasher.finalize());
                seen.insert(key, ("file".into(), hashing.count, Some(sum), None));
            }
            other => {
                return Err(bad(format!(
                    "entry `{key}` has an unsupported type {other:?}"
                )));
            }
        }
    }
    // Read to the end so gzip checks its trailer (CRC and length): a cut
    // after the last entry is caught too.
    std::io::copy(&mut tar.into_inner(), &mut std::io::sink())
        .map_err(|e| bad(format!("it is truncated or corrupt ({e})")))?;
    let bytes = manifest_bytes.ok_or_else(|| {
        bad(format!(
            "it has no `{MANIFEST}` (truncated, or not an mrctl backup)"
        ))
    })?;
    let manifest: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| bad(format!("its manifest is invalid ({e})")))?;
    if manifest.format != FORMAT {
        return Err(bad(format!(
            "its format is `{}`, not `{FORMAT}`",
            manifest.format
        )));
    }
    if manifest.version > VERSION {
        return Err(bad(format!(
            "it has version {}, but this mrctl reads version {VERSION}: upgrade mrctl",
            manifest.version
        )));
    }
    let mut listed = BTreeMap::new();
    for f in &manifest.files {
        listed.insert(f.path.clone(), f);
        match seen.get(&f.path) {
            None => {
                return Err(bad(format!(
                    "`{}` is listed in the manifest but missing",
                    f.path
                )));
            }
            Some((kind, size, sum, target)) => {
                if kind != &f.kind || *size != f.size || sum != &f.sha256 || target != &f.target {
                    return Err(bad(format!(
                        "`{}` does not match its checksum (tampered?)",
                        f.path
                    )));
                }
            }
        }
    }
    if let Some(extra) = seen.keys().find(|k| !listed.contains_key(*k)) {
        return Err(bad(format!(
            "`{extra}` is not listed in the manifest (tampered?)"
        )));
    }
    for v in &manifest.volumes {
        if !listed.contains_key(&format!("volumes/{}.tar", v.key)) {
            return Err(bad(format!(
                "volume `{}` has no contents in the archive",
                v.key
            )));
        }
    }
    Ok(Extracted { dir, manifest })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Limits;

    fn manifest() -> Manifest {
        Manifest {
            format: FORMAT.into(),
            version: VERSION,
            mrctl_version: "test".into(),
            stack: "s".into(),
            instance: "a".into(),
            created_at: "now".into(),
            entry: Instance {
                index: 0,
                domain: "a.localhost".into(),
                project: "s-a".into(),
                ports: Default::default(),
                data_dir: "/d".into(),
                tier: None,
                limits: Limits::default(),
                created_at: "x".into(),
            },
            services: vec![],
            volumes: vec![],
            files: vec![],
        }
    }

    fn sample(dir: &Path) -> PathBuf {
        let data = dir.join("data");
        std::fs::create_dir_all(data.join("sub/empty")).unwrap();
        std::fs::write(data.join("a.txt"), "hello").unwrap();
        std::fs::write(data.join("sub/b.bin"), vec![7u8; 100_000]).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("a.txt", data.join("link")).unwrap();
        let out = dir.join("backup.tgz");
        let mut w = Writer::create(&out).unwrap();
        w.add_tree("data", &data, &|_| false).unwrap();
        w.add_reader("volumes/v.tar", 3, 0o644, &b"abc"[..])
            .unwrap();
        w.finish(manifest()).unwrap();
        out
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let out = sample(dir.path());
        let x = read_verified(&out, dir.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(x.path("data/a.txt")).unwrap(),
            "hello"
        );
        assert_eq!(
            std::fs::read(x.path("data/sub/b.bin")).unwrap(),
            vec![7u8; 100_000]
        );
        assert!(x.path("data/sub/empty").is_dir());
        #[cfg(unix)]
        assert_eq!(
            std::fs::read_link(x.path("data/link")).unwrap(),
            Path::new("a.txt")
        );
        assert_eq!(x.manifest.instance, "a");
    }

    #[test]
    fn truncated_archive_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let out = sample(dir.path());
        let bytes = std::fs::read(&out).unwrap();
        for cut in [10, bytes.len() / 2, bytes.len() - 8] {
            let t = dir.path().join(format!("t{cut}.tgz"));
            std::fs::write(&t, &bytes[..cut]).unwrap();
            let err = read_verified(&t, dir.path())
                .err()
                .expect("truncated archive accepted");
            assert!(matches!(err, Error::BadArchive { .. }), "{err}");
        }
    }

    #[test]
    fn tampered_archive_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let out = sample(dir.path());
        // Copy every entry, changing one byte of one file but not the manifest.
        let forged = dir.path().join("forged.tgz");
        let mut src = tar::Archive::new(GzDecoder::new(File::open(&out).unwrap()));
        let mut dst = tar::Builder::new(GzEncoder::new(
            File::create(&forged).unwrap(),
            Compression::default(),
        ));
        for entry in src.entries().unwrap() {
            let mut entry = entry.unwrap();
            let header = entry.header().clone();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            if entry.path().unwrap() == Path::new("data/a.txt") {
                bytes = b"HELLO".to_vec();
            }
            dst.append(&header, bytes.as_slice()).unwrap();
        }
        dst.into_inner().unwrap().finish().unwrap();
        let err = read_verified(&forged, dir.path())
            .err()
            .expect("tampered archive accepted")
            .to_string();
        assert!(
            err.contains("`data/a.txt` does not match its checksum"),
            "{err}"
        );
    }

    #[test]
    fn path_traversal_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let evil = dir.path().join("evil.tgz");
        let mut tar = tar::Builder::new(GzEncoder::new(
            File::create(&evil).unwrap(),
            Compression::default(),
        ));
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        h.set_mode(0o644);
        // tar's own path setter refuses `..`, so write the name bytes directly.
        h.as_gnu_mut().unwrap().name[..8].copy_from_slice(b"../x.txt");
        h.set_cksum();
        tar.append(&h, &b"x"[..]).unwrap();
        tar.into_inner().unwrap().finish().unwrap();
        let err = read_verified(&evil, dir.path())
            .err()
            .expect("traversal accepted")
            .to_string();
        assert!(err.contains("outside the archive"), "{err}");
        assert!(!dir.path().parent().unwrap().join("x.txt").exists());
    }
}
