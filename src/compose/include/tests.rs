//! Unit tests of `include`.

use serde_json::{Value, json};

use super::{Entry, entries};
use crate::compose::load::load_str;

fn load(files: &[(&str, &str)], vars: &[(&str, &str)]) -> Result<Value, String> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let main = dir.path().join(files[0].0);
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let lookup = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
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
    let text = serde_json::to_string(&loaded.doc).unwrap();
    Ok(serde_json::from_str(&text.replace(&dir.path().display().to_string(), "D")).unwrap())
}

#[test]
fn short_and_long_entries_are_read() {
    let v = json!(["a.yml", {"path": ["b.yml", "c.yml"], "project_directory": "p", "env_file": "e.env"},
                   {"path": "d.yml", "env_file": ["x", "y"]}]);
    let e = entries(&v).unwrap();
    assert_eq!(
        e[1],
        Entry {
            paths: vec!["b.yml".into(), "c.yml".into()],
            project_directory: Some("p".into()),
            env_files: Some(vec!["e.env".into()]),
        }
    );
    assert_eq!(e[2].env_files, Some(vec!["x".into(), "y".into()]));
    for (bad, want) in [
        (json!("a.yml"), "`include` must be a list, not a string"),
        (json!([{"paht": "a"}]), "key `paht` is not valid"),
        (json!([{"env_file": "a"}]), "entries need a `path`"),
        (json!([3.5]), "entries must be paths or mappings"),
        (json!([{"path": []}]), "names no file"),
        (
            json!(["oci://docker.io/x/y:1"]),
            "`oci://docker.io/x/y:1` is a remote resource; mrctl includes local files only",
        ),
    ] {
        let err = entries(&bad).unwrap_err();
        assert!(err.contains(want), "{bad}: {err}");
    }
}

#[test]
fn included_files_resolve_paths_and_variables_on_their_own() {
    let doc = load(
        &[
            (
                "c.yml",
                "include:\n  - inc/a.yml\n  - path: [inc/b.yml, inc/b2.yml]\n    project_directory: inc/sub\n    env_file: inc/vars.env\nservices:\n  web: {image: w}\n",
            ),
            ("inc/a.yml", "services:\n  a:\n    image: a:${ATAG}\n    volumes: [./d:/d]\nnetworks:\n  n1: {}\n"),
            ("inc/.env", "ATAG=dotenv\n"),
            ("inc/vars.env", "BTAG=vars\n"),
            ("inc/b.yml", "services:\n  b:\n    image: b:${BTAG}-${ATAG:-none}\n    build: .\n"),
            ("inc/b2.yml", "services:\n  b:\n    environment: [X=1]\n"),
        ],
        &[],
    )
    .unwrap();
    assert_eq!(doc["services"]["a"]["image"], "a:dotenv");
    assert_eq!(doc["services"]["a"]["volumes"][0]["source"], "D/inc/d");
    assert_eq!(doc["services"]["b"]["image"], "b:vars-none");
    assert_eq!(doc["services"]["b"]["build"]["context"], "D/inc/sub");
    assert_eq!(doc["services"]["b"]["environment"], json!({"X": "1"}));
    assert_eq!(doc["networks"], json!({"n1": {}}));
    assert!(doc.get("include").is_none());
}

#[test]
fn the_including_projects_variables_win_and_includes_nest() {
    let doc = load(
        &[
            ("c.yml", "include: [inc/a.yml]\n"),
            (
                "inc/a.yml",
                "include: [deeper/b.yml]\nservices:\n  a: {image: 'a:${ATAG}'}\n",
            ),
            ("inc/.env", "ATAG=dotenv\n"),
            (
                "inc/deeper/b.yml",
                "services:\n  b: {image: 'b:${ATAG:-unset}', volumes: [./x:/x]}\n",
            ),
        ],
        &[("ATAG", "parent")],
    )
    .unwrap();
    assert_eq!(doc["services"]["a"]["image"], "a:parent");
    assert_eq!(doc["services"]["b"]["image"], "b:parent");
    assert_eq!(
        doc["services"]["b"]["volumes"][0]["source"],
        "D/inc/deeper/x"
    );
}

#[test]
fn a_name_defined_twice_differently_or_a_cycle_is_refused() {
    let err = load(
        &[
            (
                "c.yml",
                "include: [a.yml]\nservices:\n  a: {image: other}\n",
            ),
            ("a.yml", "services:\n  a: {image: a}\n"),
        ],
        &[],
    )
    .unwrap_err();
    assert!(
        err.contains("D/c.yml")
            && err.contains(
                "`services.a` is defined both here and, differently, in the included `D/a.yml`"
            ),
        "{err}"
    );
    // The same definition twice is no conflict.
    load(
        &[
            ("c.yml", "include: [a.yml, a.yml]\nnetworks:\n  n: {}\n"),
            ("a.yml", "services:\n  a: {image: a}\nnetworks:\n  n: {}\n"),
        ],
        &[],
    )
    .unwrap();
    let err = load(
        &[
            ("c.yml", "include: [a.yml]\n"),
            ("a.yml", "include: [c.yml]\nservices:\n  a: {image: a}\n"),
        ],
        &[],
    )
    .unwrap_err();
    assert!(err.contains("`include` runs in a cycle"), "{err}");
    let err = load(&[("c.yml", "include: [gone.yml]\n")], &[]).unwrap_err();
    assert!(err.contains("D/gone.yml"), "{err}");
}

#[test]
fn service_names_follow_includes_and_later_resets() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        (
            "c.yml",
            "include: [inc/a.yml, '${X}.yml']\nservices:\n  web: {image: w}\n  gone: {image: g}\n",
        ),
        (
            "inc/a.yml",
            "include: [a.yml]\nservices:\n  a: {image: a}\n",
        ),
        (
            "o.yml",
            "services:\n  gone: !reset\n  web: !override {image: v}\n",
        ),
    ] {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let names =
        crate::compose::service_names(&[dir.path().join("c.yml"), dir.path().join("o.yml")])
            .unwrap();
    assert_eq!(names, ["a", "web"]);
}
