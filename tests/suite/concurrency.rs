//! Many processes at once on one stack directory: no port handed out twice,
//! no entry lost, no temp file left behind.

use std::collections::HashSet;
use std::process::Child;

use super::common::Fixture;

fn spawn_all(f: &Fixture, n: usize, args: impl Fn(usize) -> Vec<String>) -> Vec<(usize, Child)> {
    (0..n)
        .map(|i| {
            let a = args(i);
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            let child = f
                .command(&a)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            (i, child)
        })
        .collect()
}

#[test]
fn thirty_two_concurrent_creates_get_disjoint_ports() {
    // Host check on: allocation and the bind probe run under the one lock.
    let f = Fixture::new("name = \"s\"\n[ports.base]\nbackend = 20765\nfrontend = 23003\n");
    let children = spawn_all(&f, 32, |i| vec!["create".into(), format!("i{i}")]);
    for (i, child) in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "create i{i} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let reg = f.registry();
    let instances = reg["instances"].as_object().unwrap();
    assert_eq!(instances.len(), 32);
    let mut ports = HashSet::new();
    let mut indexes = HashSet::new();
    for (name, inst) in instances {
        for (_, p) in inst["ports"].as_object().unwrap() {
            assert!(
                ports.insert(p.as_u64().unwrap()),
                "port {p} handed out twice ({name})"
            );
        }
        assert!(
            indexes.insert(inst["index"].as_u64().unwrap()),
            "index twice ({name})"
        );
        assert!(f.path(&format!(".instances/{name}/.env")).is_file());
    }
    assert_eq!(ports.len(), 64);
    let leftovers: Vec<String> = std::fs::read_dir(f.dir())
        .unwrap()
        .chain(std::fs::read_dir(f.path(".instances")).unwrap())
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp") || n.starts_with(".staging-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn concurrent_creates_of_one_name_make_one_instance() {
    let f = Fixture::mindroom();
    let children = spawn_all(&f, 8, |_| vec!["create".into(), "same".into()]);
    let mut ok = 0;
    for (_, child) in children {
        let out = child.wait_with_output().unwrap();
        if out.status.success() {
            ok += 1;
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("already exists"), "{err}");
            assert_eq!(out.status.code(), Some(5));
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(f.registry()["instances"].as_object().unwrap().len(), 1);
}

#[test]
fn creates_and_cleans_interleaved() {
    // clean removes Docker resources first, so it needs the engine.
    if super::engine_harness::engine_or_skip("creates_and_cleans_interleaved").is_none() {
        return;
    }
    let f = Fixture::mindroom();
    for i in 0..8 {
        f.run(&["create", &format!("old{i}")]).success();
    }
    let children = spawn_all(&f, 16, |i| {
        if i % 2 == 0 {
            vec!["create".into(), format!("new{i}")]
        } else {
            vec!["clean".into(), "--yes".into(), format!("old{}", i / 2)]
        }
    });
    for (i, child) in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let reg = f.registry();
    let names: HashSet<&str> = reg["instances"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let expected: HashSet<String> = (0..16).step_by(2).map(|i| format!("new{i}")).collect();
    assert_eq!(names, expected.iter().map(String::as_str).collect());
    for name in &names {
        assert!(f.path(&format!(".instances/{name}")).is_dir());
    }
    for i in 0..8 {
        assert!(!f.path(&format!(".instances/old{i}")).exists());
    }
}
