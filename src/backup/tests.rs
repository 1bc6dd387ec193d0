//! Unit tests of `backup`.
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
