//! The dependency-graph executor on a real engine: containers start in an
//! order their dependencies allow (read from the engine's own events), a
//! health- or completion-gated dependant starts only once the condition
//! holds, a failure stops its dependants and nothing else, and `stop`
//! stops dependants before their dependencies.

use std::time::{SystemTime, UNIX_EPOCH};

use super::engine_harness::EngineTest;

const SLEEPER: &str =
    "[\"sh\", \"-c\", \"trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done\"]";

/// A service of the sleeper depending on `deps` (`[]` for none).
fn service(name: &str, deps: &str) -> String {
    format!(
        "  {name}:\n    image: busybox:latest\n    command: {SLEEPER}\n    depends_on: {deps}\n"
    )
}

/// Now, as `docker events` takes a time.
fn now() -> String {
    let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    format!("{}.{:09}", t.as_secs(), t.subsec_nanos())
}

/// The project's container events since `since`, in order, as
/// `action|container` (`start|p-a-1`, `health_status: healthy|p-db-1`).
fn events(project: &str, since: &str) -> Vec<String> {
    let out = std::process::Command::new("docker")
        .args(["events", "--since", since, "--until", &now(), "--filter"])
        .arg(format!("label=com.docker.compose.project={project}"))
        .args(["--filter", "type=container", "--format"])
        .arg("{{.Action}}|{{.Actor.Attributes.name}}")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Where `action` of the container of `service` is in `events`.
fn at(events: &[String], action: &str, project: &str, service: &str) -> usize {
    let line = format!("{action}|{project}-{service}-1");
    events
        .iter()
        .position(|e| *e == line)
        .unwrap_or_else(|| panic!("no `{line}` in {events:#?}"))
}

const DIAMOND_AND_CHAIN: &[(&str, &str)] = &[
    ("d", "[b, c]"),
    ("b", "[a]"),
    ("c", "[a]"),
    ("a", "[]"),
    ("z", "[y]"),
    ("y", "[x]"),
    ("x", "[]"),
];

fn diamond_and_chain() -> String {
    let mut compose = "services:\n".to_string();
    for (name, deps) in DIAMOND_AND_CHAIN {
        compose.push_str(&service(name, deps));
    }
    compose
}

#[test]
fn a_diamond_and_a_chain_start_and_stop_in_dependency_order() {
    let Some(t) = EngineTest::new("graph_order", &[], &diamond_and_chain(), "") else {
        return;
    };
    let project = format!("{}-g", t.stack);
    let since = now();
    t.f.run(&["up", "g"]).success();
    let ev = events(&project, &since);
    let start = |s: &str| at(&ev, "start", &project, s);
    assert!(
        start("a") < start("b") && start("a") < start("c"),
        "{ev:#?}"
    );
    assert!(
        start("b") < start("d") && start("c") < start("d"),
        "{ev:#?}"
    );
    assert!(
        start("x") < start("y") && start("y") < start("z"),
        "{ev:#?}"
    );
    // Every container was created before the first one started.
    let creates = ev.iter().filter(|e| e.starts_with("create|")).count();
    assert_eq!(creates, 7, "{ev:#?}");
    let first_start = ev.iter().position(|e| e.starts_with("start|")).unwrap();
    let last_create = ev.iter().rposition(|e| e.starts_with("create|")).unwrap();
    assert!(last_create < start("d"), "{ev:#?}");
    assert!(first_start < start("d"));

    // Stop goes the other way: a dependant dies before its dependencies.
    let since = now();
    t.f.run(&["stop", "g"]).success();
    let ev = events(&project, &since);
    let died = |s: &str| at(&ev, "die", &project, s);
    assert!(died("d") < died("b") && died("d") < died("c"), "{ev:#?}");
    assert!(died("b") < died("a") && died("c") < died("a"), "{ev:#?}");
    assert!(died("z") < died("y") && died("y") < died("x"), "{ev:#?}");
    for (_, _, state) in t.project(&project) {
        assert_eq!(state, "exited");
    }
}

#[test]
fn a_gated_dependant_starts_once_its_condition_holds() {
    let compose = format!(
        r#"services:
  db:
    image: busybox:latest
    command: ["sh", "-c", "sleep 1; touch /tmp/ready; trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 300ms
      retries: 100
  migrate:
    image: busybox:latest
    command: ["sh", "-c", "sleep 1; echo migrated"]
  web:
    image: busybox:latest
    command: {SLEEPER}
    depends_on:
      db: {{condition: service_healthy}}
      migrate: {{condition: service_completed_successfully}}
"#
    );
    let Some(t) = EngineTest::new("graph_gated", &[], &compose, "") else {
        return;
    };
    let project = format!("{}-h", t.stack);
    let since = now();
    t.f.run(&["up", "h", "--timeout", "60s"]).success();
    let ev = events(&project, &since);
    let web = at(&ev, "start", &project, "web");
    assert!(
        at(&ev, "health_status: healthy", &project, "db") < web,
        "{ev:#?}"
    );
    assert!(at(&ev, "die", &project, "migrate") < web, "{ev:#?}");
}

#[test]
fn a_failed_dependency_stops_its_dependants_and_nothing_else() {
    let compose = format!(
        "services:\n  job:\n    image: busybox:latest\n    command: [\"sh\", \"-c\", \"exit 3\"]\n  after:\n    image: busybox:latest\n    command: {SLEEPER}\n    depends_on:\n      job: {{condition: service_completed_successfully}}\n{}{}",
        service("other", "[]"),
        service("next", "[other]"),
    );
    let Some(t) = EngineTest::new("graph_failure", &[], &compose, "") else {
        return;
    };
    let project = format!("{}-f", t.stack);
    t.f.run(&["up", "f", "--timeout", "30s"])
        .code(1)
        .stderr_has("exited with code 3");
    let states: Vec<(String, String)> = t
        .project(&project)
        .into_iter()
        .map(|(s, _, state)| (s, state))
        .collect();
    assert_eq!(
        states,
        [
            ("after".to_string(), "created".to_string()),
            ("job".into(), "exited".into()),
            ("next".into(), "running".into()),
            ("other".into(), "running".into()),
        ]
    );
}

#[test]
fn the_bound_comes_from_mrctl_parallel_and_a_bad_one_changes_nothing() {
    let compose = format!("services:\n{}", service("one", "[]"));
    let Some(t) = EngineTest::new("graph_parallel", &[], &compose, "") else {
        return;
    };
    let project = format!("{}-p", t.stack);
    t.f.run(&["create", "p"]).success();
    let out =
        t.f.command(&["start", "p"])
            .env("MRCTL_PARALLEL", "0")
            .output()
            .unwrap();
    let run = super::common::Run::from(out);
    run.code(2)
        .stderr_has("invalid value for `MRCTL_PARALLEL`: `0` is not a whole number of at least 1");
    assert!(t.project(&project).is_empty());
    // One at a time still brings every container up.
    let out =
        t.f.command(&["start", "p"])
            .env("MRCTL_PARALLEL", "1")
            .output()
            .unwrap();
    super::common::Run::from(out).success();
    assert_eq!(t.project(&project)[0].2, "running");
}
