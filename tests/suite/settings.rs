//! Service settings the engine applies as written, against the real engine:
//! the container mrctl creates has the same host configuration as the one
//! docker compose v2 creates from the same files.

use super::engine_harness::EngineTest;

pub(super) fn docker(args: &[&str]) -> std::process::Output {
    std::process::Command::new("docker")
        .args(args)
        .output()
        .unwrap()
}

/// The parts of a container's inspect output these settings change.
fn settings_of(container: &str) -> serde_json::Value {
    let out = docker(&["inspect", container]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &all[0];
    let hc = &c["HostConfig"];
    let pick = |keys: &[&str]| -> serde_json::Value {
        keys.iter()
            .map(|k| (k.to_string(), hc[*k].clone()))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    serde_json::json!({
        "host": pick(&[
            "Privileged", "Init", "ReadonlyRootfs", "CapAdd", "CapDrop", "SecurityOpt",
            "Dns", "DnsSearch", "DnsOptions", "GroupAdd", "ShmSize", "Sysctls", "IpcMode",
            "CgroupParent", "OomScoreAdj", "OomKillDisable", "MemoryReservation", "LogConfig",
            "MemorySwap", "MemorySwappiness", "Tmpfs", "CpuShares", "CpuPeriod", "CpuQuota", "CpusetCpus",
        ]),
        "tty": c["Config"]["Tty"],
        "stdin": c["Config"]["OpenStdin"],
        "domainname": c["Config"]["Domainname"],
    })
}

#[test]
fn settings_match_the_containers_docker_compose_creates() {
    let compose = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/compose-corpus/21-settings.yml"),
    )
    .unwrap()
    // The engine of the test machines runs without a cgroup parent of that
    // name, and the other service needs the host's namespaces: keep `app`.
    .replace("    cgroup_parent: mygroup\n", "")
    // This engine runs in a sandbox that cannot start a privileged
    // container (the translation is unit-tested).
    .replace("    privileged: true\n", "")
    // The busybox image has no group `audio` to start with.
    .replace("[audio, \"1000\"]", "[\"1000\"]")
    .replacen(
        "    image: busybox:latest\n",
        "    image: busybox:latest\n    command: [\"sleep\", \"600\"]\n",
        1,
    )
    .split("  side:")
    .next()
    .unwrap()
    .to_string();
    let Some(t) = EngineTest::new("settings_like_compose", &[], &compose, "") else {
        return;
    };
    t.f.run(&["create", "s"]).success();
    let (project, theirs, _cleanup) = compose_create(&t, "s");
    t.f.run(&["start", "s"]).success();
    assert_eq!(
        settings_of(&format!("{project}-app-1")),
        settings_of(&format!("{theirs}-app-1"))
    );
    t.f.run(&["clean", "s", "--yes"]).success();
}

/// Has docker compose create (not start) the containers of instance
/// `instance` (already created by mrctl) under a project name of its own,
/// from the same files: returns mrctl's project name, compose's, and the
/// guard that takes compose's down.
pub(super) fn compose_create(t: &EngineTest, instance: &str) -> (String, String, Down) {
    let project = format!("{}-{instance}", t.stack);
    let theirs = format!("{project}x");
    let info = t.f.run(&["info", instance]).success().stdout;
    let command = info
        .lines()
        .find(|l| l.contains("docker compose"))
        .unwrap_or_else(|| panic!("no compose command in {info}"))
        .trim()
        .trim_start_matches("compose:")
        .trim()
        .to_string();
    let command = command
        .replace(&format!("-p {project} "), &format!("-p {theirs} "))
        .replace(" ps", " create --no-build --pull never");
    // By project name alone: the instance's files are gone by then.
    let cleanup = Down(format!("docker compose -p {theirs} down -v"));
    let out = std::process::Command::new("sh")
        .args(["-c", &command])
        .current_dir(t.f.dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (project, theirs, cleanup)
}

/// Takes the compose-created project down, even when the test fails.
pub(super) struct Down(String);

impl Drop for Down {
    fn drop(&mut self) {
        let _ = std::process::Command::new("sh")
            .args(["-c", &self.0])
            .output();
    }
}
