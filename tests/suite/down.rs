//! `mrctl down`: containers and networks go, volumes, files, data and the
//! registry entry stay, and `start` brings the instance back with its data.

use super::engine_harness::{EngineTest, docker};

const SLEEPER: &str =
    "[\"sh\", \"-c\", \"trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done\"]";

#[test]
fn down_removes_containers_and_networks_and_keeps_the_data() {
    let compose = format!(
        "services:\n  app:\n    image: busybox:latest\n    command: {SLEEPER}\n    volumes: [\"data:/data\"]\nvolumes:\n  data: {{}}\n"
    );
    let Some(t) = EngineTest::new("down_keeps_data", &[], &compose, "") else {
        return;
    };
    t.f.run(&["up", "d"]).success();
    let project = format!("{}-d", t.stack);
    let app = format!("{project}-app-1");
    let out = docker(&["exec", &app, "sh", "-c", "echo kept > /data/file"]);
    assert!(out.status.success());
    let report = t.f.run(&["--json", "down", "d"]).success().json();
    assert_eq!(report["removed"]["containers"][0], app.as_str());
    assert!(t.project(&project).is_empty());
    let (networks, volumes) = t.project_resources(&project);
    assert!(networks.is_empty(), "{networks:?}");
    assert_eq!(volumes, [format!("{project}_data")]);
    assert!(t.f.registry()["instances"].get("d").is_some());
    t.f.run(&["start", "d"]).success();
    let out = docker(&["exec", &app, "cat", "/data/file"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "kept");
    t.f.run(&["clean", "d", "--yes"]).success();
}
