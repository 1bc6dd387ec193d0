//! `--json`: every command that prints data prints exactly one JSON
//! document on standard output, whatever else it does (a backup before a
//! clean, a start during doctor --fix, several instances with `--all`).

use super::engine_harness::EngineTest;

const SLEEPER: &str =
    "[\"sh\", \"-c\", \"trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done\"]";

/// The JSON documents in `text`, in order.
fn documents(text: &str) -> Vec<serde_json::Value> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<serde_json::Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Runs `args` with `--json` and returns its one document.
fn one(t: &EngineTest, args: &[&str], code: i32) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let run = t.f.run(&all);
    assert_eq!(run.code, code, "{args:?}: {run:#?}");
    let mut docs = documents(&run.stdout);
    assert_eq!(
        docs.len(),
        1,
        "{args:?} printed {} documents: {}",
        docs.len(),
        run.stdout
    );
    docs.remove(0)
}

#[test]
fn every_data_command_prints_one_document() {
    let compose = format!(
        "services:\n  app:\n    image: busybox:latest\n    command: {SLEEPER}\n    volumes: [\"data:/data\"]\nvolumes:\n  data: {{}}\n"
    );
    let Some(t) = EngineTest::new("json_one_document", &[], &compose, "") else {
        return;
    };
    assert_eq!(one(&t, &["create", "a"], 0)["name"], "a");
    assert_eq!(one(&t, &["up", "b"], 0)["name"], "b");
    let started = one(&t, &["start", "a"], 0);
    assert_eq!(started["name"], "a");
    assert!(started["containers"].is_array(), "{started}");
    // --all: one array, an element per instance.
    let all = one(&t, &["start", "--all"], 0);
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");
    let all = one(&t, &["restart", "--all"], 0);
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");
    assert!(one(&t, &["status", "--all"], 0).is_array());
    assert_eq!(one(&t, &["health", "a"], 0)["healthy"], true);
    assert!(one(&t, &["list"], 0)["instances"].is_array());
    assert_eq!(one(&t, &["info", "a"], 0)["name"], "a");
    assert_eq!(one(&t, &["update", "a", "--pids", "100"], 0)["name"], "a");
    // stop prints its report (it printed nothing before).
    let stopped = one(&t, &["stop", "a"], 0);
    assert_eq!(stopped["name"], "a");
    assert!(
        !stopped["stopped"].as_array().unwrap().is_empty(),
        "{stopped}"
    );
    let all = one(&t, &["stop", "--all"], 0);
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");
    let backup = one(&t, &["backup", "a", "-o", "a.tgz"], 0);
    assert_eq!(backup["instance"], "a");
    assert_eq!(one(&t, &["restore", "a.tgz", "--as", "c"], 0)["name"], "c");
    // clean --backup: one document holding the backup's report too.
    let cleaned = one(&t, &["clean", "c", "--yes", "--backup", "-o", "c.tgz"], 0);
    assert_eq!(cleaned["name"], "c");
    assert_eq!(cleaned["backup"]["instance"], "c");
    // doctor --fix starts what it repairs without printing start's report.
    t.remove_container(&format!("{}-a-app-1", t.stack));
    let doctor = one(&t, &["doctor", "--fix"], 0);
    assert_eq!(doctor["ok"], true, "{doctor}");
    assert!(
        doctor["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["fixed"] == true),
        "{doctor}"
    );
    // A refused command prints no document at all.
    let run = t.f.run(&["--json", "start", "nope"]);
    assert_eq!(run.code, 4);
    assert_eq!(run.stdout, "");
    for name in ["a", "b"] {
        one(&t, &["clean", name, "--yes"], 0);
    }
}
