//! `start`, `stop`, `up` and `restart` with `--all` against the real
//! engine: the instances run at once, one failing does not stop the others,
//! and the command names the failed one and the count, exiting non-zero.

use super::engine_harness::EngineTest;

const SLEEPER: &str =
    "[\"sh\", \"-c\", \"trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done\"]";

/// The states of a project's containers.
fn states(t: &EngineTest, project: &str) -> Vec<String> {
    t.project(project).into_iter().map(|(_, _, s)| s).collect()
}

#[test]
fn all_instances_at_once_and_one_failure_is_counted_and_named() {
    let compose = format!(
        "services:\n  db:\n    image: busybox:latest\n    command: {SLEEPER}\n    stop_grace_period: 1s\n  app:\n    image: busybox:latest\n    command: {SLEEPER}\n    stop_grace_period: 1s\n    depends_on: [db]\n"
    );
    let Some(t) = EngineTest::new("many_at_once", &[], &compose, "") else {
        return;
    };
    for name in ["a", "b", "c", "d"] {
        t.f.run(&["create", name]).success();
    }
    // b cannot start: its override names an image that is not here and
    // may not be pulled.
    t.f.write(
        ".instances/b/docker-compose.override.yml",
        "services:\n  app:\n    image: mrctl-test-missing:none\n    pull_policy: never\n",
    );
    let project = |n: &str| format!("{}-{n}", t.stack);
    let running = |n: &str| {
        let s = states(&t, &project(n));
        s.len() == 2 && s.iter().all(|s| s == "running")
    };

    let out = t.f.run(&["start", "--all"]).code(1);
    let out = out.stderr_has("error: instance `b`:");
    out.stderr_has("start failed for 1 of 4 instances: `b`");
    for n in ["a", "c", "d"] {
        assert!(running(n), "{n}: {:?}", states(&t, &project(n)));
    }
    assert!(
        !states(&t, &project("b")).iter().any(|s| s == "running"),
        "{:?}",
        states(&t, &project("b"))
    );

    // One at a time works too; b has nothing running, so nothing fails.
    t.f.run(&["--parallel", "1", "stop", "--all"])
        .success()
        .stderr_has("instance `d` is stopped");
    for n in ["a", "c", "d"] {
        assert!(
            states(&t, &project(n)).iter().all(|s| s == "exited"),
            "{n}: {:?}",
            states(&t, &project(n))
        );
    }

    // up --all starts every registered instance and creates none.
    let out = t.f.run(&["up", "--all"]).code(1);
    out.stderr_has("start failed for 1 of 4 instances: `b`");
    for n in ["a", "c", "d"] {
        assert!(running(n), "{n}: {:?}", states(&t, &project(n)));
    }
    assert_eq!(t.f.registry()["instances"].as_object().unwrap().len(), 4);

    // restart --all: the others are made to run again; with --json the
    // reports of those that succeeded are one array, in name order.
    let ids_before: Vec<String> = t.project(&project("a")).into_iter().map(|c| c.1).collect();
    let out = t.f.run(&["--json", "restart", "--all"]).code(1);
    let out = out.stderr_has("restart failed for 1 of 4 instances: `b`");
    let reports = out.json();
    let names: Vec<&str> = reports
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "c", "d"]);
    for n in ["a", "c", "d"] {
        assert!(running(n), "{n}: {:?}", states(&t, &project(n)));
    }
    let ids_after: Vec<String> = t.project(&project("a")).into_iter().map(|c| c.1).collect();
    assert_eq!(ids_before, ids_after, "restart keeps the containers");

    // Fixed, b starts with the others.
    std::fs::remove_file(t.f.path(".instances/b/docker-compose.override.yml")).unwrap();
    t.f.write(".instances/b/docker-compose.override.yml", "services: {}\n");
    t.f.run(&["start", "--all"]).success();
    assert!(running("b"), "{:?}", states(&t, &project("b")));

    for name in ["a", "b", "c", "d"] {
        t.f.run(&["clean", name, "--yes"]).success();
    }
}

#[test]
fn a_bad_parallel_is_refused() {
    let f = super::common::Fixture::mindroom();
    f.run(&["--parallel", "0", "stop", "--all"])
        .code(2)
        .stderr_has("--parallel");
}

#[test]
fn an_instance_locked_elsewhere_does_not_hold_the_others_up() {
    let compose = format!(
        "services:\n  app:\n    image: busybox:latest\n    command: {SLEEPER}\n    stop_grace_period: 1s\n"
    );
    let Some(t) = EngineTest::new("many_locked", &[], &compose, "") else {
        return;
    };
    for name in ["a", "b"] {
        t.f.run(&["create", name]).success();
    }
    let project = |n: &str| format!("{}-{n}", t.stack);
    // Another process (this test) works on b.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(t.f.path(".instances/b.lock"))
        .unwrap();
    lock.lock().unwrap();
    let mut child =
        t.f.command(&["start", "--all"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
    // a comes up while b waits for its lock.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while states(&t, &project("a")) != ["running"] {
        assert!(
            std::time::Instant::now() < deadline,
            "a did not start while b was locked"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "start --all ended early"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(t.project(&project("b")).is_empty());
    assert!(child.try_wait().unwrap().is_none(), "b was not waited for");
    drop(lock);
    assert!(child.wait().unwrap().success());
    assert_eq!(states(&t, &project("b")), ["running"]);
    for name in ["a", "b"] {
        t.f.run(&["clean", name, "--yes"]).success();
    }
}
