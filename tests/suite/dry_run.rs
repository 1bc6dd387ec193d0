//! `--dry-run` against the real engine: `start`, `up`, `stop`, `down` and
//! `clean` print their plan and change nothing: the same containers (by
//! id, in the same state), no new networks or volumes, and every file of
//! the stack directory byte for byte as it was.

use super::engine_harness::EngineTest;

const SLEEPER: &str =
    "[\"sh\", \"-c\", \"trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done\"]";

fn compose(app_command: &str) -> String {
    format!(
        "services:\n  db:\n    image: busybox:latest\n    command: {SLEEPER}\n    stop_grace_period: 1s\n    volumes: [\"data:/data\"]\n  app:\n    image: busybox:latest\n    command: {app_command}\n    stop_grace_period: 1s\n    depends_on: [db]\nvolumes:\n  data: {{}}\n"
    )
}

/// Everything a dry run must leave as it was.
#[derive(Debug, PartialEq)]
struct World {
    files: std::collections::BTreeMap<std::path::PathBuf, Vec<u8>>,
    containers: Vec<(String, String, String)>,
    resources: (Vec<String>, Vec<String>),
}

fn world(t: &EngineTest, project: &str) -> World {
    World {
        files: t.f.snapshot(),
        containers: t.project(project),
        resources: t.project_resources(project),
    }
}

/// The actions of a `--json` dry run as (action, target) pairs, checking
/// the shape: orders from 1, each waiting only on earlier ones.
fn actions(out: &serde_json::Value) -> Vec<(String, String)> {
    let list = out.as_array().expect("an array of actions");
    for (i, a) in list.iter().enumerate() {
        let keys: Vec<&str> = a.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["instance", "order", "action", "target", "reason", "after"]
        );
        assert_eq!(a["order"], i + 1);
        assert!(!a["reason"].as_str().unwrap().is_empty(), "{a}");
        for after in a["after"].as_array().unwrap() {
            assert!(after.as_u64().unwrap() < (i + 1) as u64, "{a}");
        }
    }
    list.iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap().to_string(),
                a["target"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn dry_runs_print_the_plan_and_change_nothing() {
    let Some(t) = EngineTest::new("dry_run", &[], &compose(SLEEPER), "") else {
        return;
    };
    t.f.run(&["create", "x"]).success();
    let project = format!("{}-x", t.stack);
    let (db, app) = (format!("{project}-db-1"), format!("{project}-app-1"));
    let (net, vol) = (format!("{project}_default"), format!("{project}_data"));

    // From nothing: networks and volumes first, then db, then app after it.
    let before = world(&t, &project);
    let out = t.f.run(&["--json", "start", "x", "--dry-run"]).success();
    assert_eq!(
        actions(&out.json()),
        [
            ("create-network".to_string(), net.clone()),
            ("create-volume".to_string(), vol.clone()),
            ("create".to_string(), db.clone()),
            ("create".to_string(), app.clone()),
        ]
    );
    assert_eq!(out.json()[3]["after"], serde_json::json!([1, 3]));
    t.f.run(&["start", "x", "--dry-run"])
        .success()
        .stdout_has(&format!("start `x` would:\n   1. create-network  {net}: "))
        .stdout_has(&format!(
            "   4. create          {app}: no container yet; after `db` started (after 1, 3)"
        ));
    assert_eq!(world(&t, &project), before);

    // Running, with app's command changed: app is recreated and says why.
    t.f.run(&["start", "x"]).success();
    t.f.write(
        "docker-compose.yml",
        &compose("[\"sh\", \"-c\", \"exec sleep 600\"]"),
    );
    let before = world(&t, &project);
    let out = t.f.run(&["--json", "start", "x", "--dry-run"]).success();
    assert_eq!(
        actions(&out.json()),
        [
            ("keep".to_string(), db.clone()),
            ("recreate".to_string(), app.clone()),
        ]
    );
    assert!(
        out.json()[1]["reason"]
            .as_str()
            .unwrap()
            .starts_with("its configuration changed"),
        "{}",
        out.json()
    );
    assert_eq!(world(&t, &project), before);
    t.f.write("docker-compose.yml", &compose(SLEEPER));
    let before = world(&t, &project);

    // stop: app first, then db after it.
    let out = t.f.run(&["--json", "stop", "x", "--dry-run"]).success();
    assert_eq!(
        actions(&out.json()),
        [
            ("stop".to_string(), app.clone()),
            ("stop".to_string(), db.clone()),
        ]
    );
    assert_eq!(out.json()[1]["after"], serde_json::json!([1]));
    // down: the stops, the containers removed, then the network.
    let out = t.f.run(&["--json", "down", "x", "--dry-run"]).success();
    let list = actions(&out.json());
    assert_eq!(list.len(), 5, "{list:?}");
    assert_eq!(list[4], ("remove-network".to_string(), net.clone()));
    assert!(list.contains(&("remove".to_string(), db.clone())));
    // clean: containers, network, volume, files, data, registry entry.
    let out = t.f.run(&["--json", "clean", "x", "--dry-run"]).success();
    let kinds: Vec<String> = actions(&out.json()).into_iter().map(|a| a.0).collect();
    assert_eq!(
        kinds,
        [
            "remove",
            "remove",
            "remove-network",
            "remove-volume",
            "remove-files",
            "remove-data",
            "unregister"
        ]
    );
    // Without --yes: a dry run asks nothing.
    t.f.run(&["clean", "x", "--dry-run", "--keep-data"])
        .success()
        .stdout_has("unregister");
    assert_eq!(world(&t, &project), before);

    // up of an instance that does not exist: it would be created, and is not.
    let out = t.f.run(&["--json", "up", "new", "--dry-run"]).success();
    assert_eq!(
        actions(&out.json()),
        [
            ("create-instance".to_string(), "new".to_string()),
            ("start".to_string(), "new".to_string()),
        ]
    );
    assert_eq!(world(&t, &project), before);
    assert!(t.f.registry()["instances"].get("new").is_none());

    t.f.run(&["clean", "x", "--yes"]).success();
}
