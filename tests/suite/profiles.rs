//! Compose profiles: a service with `profiles:` runs only when one of them
//! is active, through `--profile` on start/up (which replaces
//! `COMPOSE_PROFILES`, as in compose) or `COMPOSE_PROFILES` in the env file.

use super::engine_harness::EngineTest;

const SLEEPER: &str =
    "[\"sh\", \"-c\", \"trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done\"]";

fn services(t: &EngineTest, project: &str) -> Vec<String> {
    t.project(project).into_iter().map(|(s, _, _)| s).collect()
}

#[test]
fn profiles_select_services() {
    let compose = format!(
        "services:\n  app:\n    image: busybox:latest\n    command: {SLEEPER}\n  debug:\n    image: busybox:latest\n    command: {SLEEPER}\n    profiles: [debug]\n  tools:\n    image: busybox:latest\n    command: {SLEEPER}\n    profiles: [tools]\n"
    );
    let Some(t) = EngineTest::new("profiles_select", &[], &compose, "") else {
        return;
    };
    let project = format!("{}-p", t.stack);
    t.f.run(&["up", "p"]).success();
    assert_eq!(services(&t, &project), ["app"]);
    t.f.run(&["start", "p", "--profile", "debug"]).success();
    assert_eq!(services(&t, &project), ["app", "debug"]);
    // COMPOSE_PROFILES in the instance's env file; --profile replaces it.
    let mut env = t.f.read(".instances/p/.env");
    env.push_str("COMPOSE_PROFILES=tools\n");
    t.f.write(".instances/p/.env", &env);
    t.f.run(&["start", "p"]).success();
    assert_eq!(services(&t, &project), ["app", "debug", "tools"]);
    let run =
        t.f.run(&["--json", "up", "p", "--profile", "debug"])
            .success();
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let started: Vec<&str> = report["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["service"].as_str().unwrap())
        .collect();
    assert_eq!(
        started,
        ["app", "debug", "tools"],
        "tools stays, an orphan of this run"
    );
    assert!(
        run.stderr.contains("belongs to no service"),
        "{}",
        run.stderr
    );
    t.f.run(&["clean", "p", "--yes"]).success();
}
