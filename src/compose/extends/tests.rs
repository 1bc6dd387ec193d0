//! Unit tests of `extends`.

use std::path::Path;

use serde_json::{Value, json};

use crate::compose::load::load_str;

/// Writes `files` into a fresh directory and loads the first one, the
/// directory being the project's.
fn load(files: &[(&str, &str)]) -> Result<Value, String> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let main = dir.path().join(files[0].0);
    let lookup = |k: &str| (k == "TAG").then(|| "7".to_string());
    let loaded = load_str(
        &main,
        files[0].1,
        dir.path(),
        &lookup,
        &mut Vec::new(),
        &mut Vec::new(),
    )
    .map_err(|e| {
        e.to_string()
            .replace(&dir.path().display().to_string(), "D")
    })?;
    let text = serde_json::to_string(&loaded.doc["services"]).unwrap();
    Ok(serde_json::from_str(&text.replace(&dir.path().display().to_string(), "D")).unwrap())
}

#[test]
fn a_service_extends_one_of_the_same_file_merged_by_the_override_rules() {
    let s = load(&[(
        "c.yml",
        "services:\n  base:\n    image: b:${TAG}\n    command: [a, b]\n    environment: {A: '1'}\n    cap_add: [X]\n    depends_on: [db]\n  db: {image: d}\n  web:\n    extends: base\n    command: [c]\n    environment: [B=2]\n    cap_add: [X, Y]\n",
    )])
    .unwrap();
    assert_eq!(
        s["web"],
        json!({"image": "b:7", "command": ["c"], "environment": {"A": "1", "B": "2"},
               "cap_add": ["X", "Y"],
               "depends_on": {"db": {"condition": "service_started"}}})
    );
    assert!(s["base"].get("extends").is_none());
}

#[test]
fn chains_are_followed_across_files_with_paths_relative_to_each_file() {
    let s = load(&[
        (
            "c.yml",
            "services:\n  web:\n    extends: {file: sub/common.yml, service: mid}\n    volumes: [./own:/own]\n",
        ),
        (
            "sub/common.yml",
            "services:\n  mid:\n    extends: {file: deeper/more.yml, service: low}\n    build: ./ctx\n    env_file: e.env\n    volumes: [./data:/data]\n",
        ),
        (
            "sub/deeper/more.yml",
            "services:\n  low:\n    image: x\n    volumes: [./in:/in]\n",
        ),
    ])
    .unwrap();
    let web = &s["web"];
    assert_eq!(web["build"]["context"], "D/sub/ctx");
    assert_eq!(web["env_file"][0]["path"], "D/sub/e.env");
    let sources: Vec<&str> = web["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["D/sub/deeper/in", "D/sub/data", "D/own"]);
}

#[test]
fn reset_and_override_in_the_extending_service_apply_to_the_base() {
    let s = load(&[(
        "c.yml",
        "services:\n  base:\n    image: b\n    ports: ['80:80']\n    labels: {a: '1'}\n  web:\n    extends: base\n    ports: !reset []\n    labels: !override {b: '2'}\n",
    )])
    .unwrap();
    assert_eq!(s["web"], json!({"image": "b", "labels": {"b": "2"}}));
}

#[test]
fn cycles_missing_services_and_files_are_refused_by_name() {
    let cases = [
        (
            "services:\n  a: {extends: b, image: x}\n  b: {extends: a}\n",
            "service `a`: `extends` runs in a cycle: `a` → `b` → `a`",
        ),
        (
            "services:\n  a: {extends: nope, image: x}\n",
            "service `a`: `extends` names service `nope`, which this file does not define",
        ),
        (
            "services:\n  a: {extends: {file: gone.yml, service: b}}\n",
            "service `a`: `extends.file` `gone.yml` cannot be loaded",
        ),
        (
            "services:\n  a: {extends: {file: other.yml, service: zz}}\n",
            "service `a`: `extends` names service `zz`, which `D/other.yml` does not define",
        ),
        (
            "services:\n  a: {extends: {service: b, fiel: x}}\n",
            "`extends`: key `fiel` is not valid",
        ),
        (
            "services:\n  a: {extends: {file: 'git@github.com:x/y.git', service: b}}\n",
            "`extends.file` `git@github.com:x/y.git` is a remote resource",
        ),
        (
            "services:\n  a: {extends: [b]}\n",
            "`extends` must be a service name or a mapping, not a list",
        ),
    ];
    for (text, want) in cases {
        let err = load(&[
            ("c.yml", text),
            ("other.yml", "services:\n  b: {image: y}\n"),
        ])
        .unwrap_err();
        assert!(err.contains("D/c.yml"), "{err}");
        assert!(err.contains(want), "{text}: {err}");
    }
}

#[test]
fn a_cycle_through_another_file_is_refused() {
    let err = load(&[
        (
            "c.yml",
            "services:\n  a: {extends: {file: o.yml, service: b}}\n",
        ),
        (
            "o.yml",
            "services:\n  b: {extends: {file: c.yml, service: a}}\n",
        ),
    ])
    .unwrap_err();
    assert!(err.contains("runs in a cycle"), "{err}");
    let _ = Path::new("");
}

/// As in compose, `extends` is resolved within each file before the files
/// merge: a later file can neither extend a service of an earlier one nor
/// change what an earlier file's service extended.
#[test]
fn extends_is_resolved_file_by_file() {
    use crate::compose::{LoadOptions, load_project};
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let base = write(
        "c.yml",
        "services:\n  web: {extends: base}\n  base: {image: b, environment: [A=1]}\n",
    );
    let over = write("o.yml", "services:\n  base: {environment: [B=2]}\n");
    let bad = write("bad.yml", "services:\n  web2: {extends: web}\n");
    let load = |files: &[std::path::PathBuf]| {
        load_project(&LoadOptions {
            project: "p",
            working_dir: dir.path(),
            files,
            variables: &Default::default(),
            profiles: &[],
        })
    };
    let p = load(&[base.clone(), over]).unwrap();
    assert_eq!(
        p.document["services"]["web"]["environment"],
        json!({"A": "1"})
    );
    assert_eq!(
        p.document["services"]["base"]["environment"],
        json!({"A": "1", "B": "2"})
    );
    let err = load(&[base, bad]).unwrap_err().to_string();
    assert!(
        err.contains("bad.yml")
            && err.contains("names service `web`, which this file does not define"),
        "{err}"
    );
}

/// A build context is kept when a later file sets only the build's args,
/// and one no file names is the project directory, as in compose.
#[test]
fn a_build_context_survives_an_override_of_its_args() {
    use crate::compose::{LoadOptions, load_project};
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let files = [
        write(
            "c.yml",
            "services:\n  api: {image: a, build: ./api}\n  web: {image: w, build: {args: [A=1]}}\n",
        ),
        write("o.yml", "services:\n  api: {build: {args: [B=2]}}\n"),
    ];
    let p = load_project(&LoadOptions {
        project: "p",
        working_dir: dir.path(),
        files: &files,
        variables: &Default::default(),
        profiles: &[],
    })
    .unwrap();
    let d = dir.path().display().to_string();
    assert_eq!(
        p.document["services"]["api"]["build"]["context"],
        format!("{d}/api")
    );
    assert_eq!(p.document["services"]["web"]["build"]["context"], d);
}
