//! Service settings the engine applies as written, against the real engine:
//! the container mrctl creates has the same host configuration as the one
//! docker compose v2 creates from the same files.

use super::engine_harness::{EngineTest, inspect_json};

/// The parts of a container's inspect output these settings change.
fn settings_of(container: &str) -> serde_json::Value {
    let c = &inspect_json(container);
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
    let (project, theirs, _cleanup) = t.compose_twin("s", "create --no-build --pull never");
    t.f.run(&["start", "s"]).success();
    assert_eq!(
        settings_of(&format!("{project}-app-1")),
        settings_of(&format!("{theirs}-app-1"))
    );
    t.f.run(&["clean", "s", "--yes"]).success();
}
