//! The service keys that name other containers (network_mode, links,
//! volumes_from) and the namespace, device and block I/O settings, against
//! the real engine: the containers mrctl creates are configured as those
//! docker compose v2 creates from the same files.
//!
//! Not here, because the engine of the test machines refuses them (their
//! translation is unit-tested in src/engine/translate_more_tests.rs):
//! `cpu_count` and `cpu_percent` (Windows daemons only), `cpu_rt_runtime`
//! and `cpu_rt_period` (no real-time cgroup), `storage_opt` (its storage
//! driver takes no options), `blkio_config.weight_device` (discarded
//! without the BFQ scheduler), `annotations`, `mac_address` and
//! `healthcheck.start_interval` (newer API versions; the refusal is
//! unit-tested), and `gpus` (no GPU runtime).

use super::engine_harness::EngineTest;
use super::engine_harness::{docker, inspect_json};

/// A block device the engine's host has, for the block I/O limits.
fn block_device() -> Option<&'static str> {
    ["/dev/vda", "/dev/sda", "/dev/nvme0n1", "/dev/xvda"]
        .into_iter()
        .find(|d| std::path::Path::new(d).exists())
}

/// The container's name, for an id the engine stored where compose sent
/// one (`container:<id>`, volumes_from).
fn name_of(id: &str) -> String {
    let out = docker(&["inspect", "--format", "{{.Name}}", id]);
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .trim_start_matches('/')
        .to_string()
}

/// The parts of a container these keys change, with container ids made
/// names and both project names made `P`.
fn inspected(container: &str, project: &str, theirs: &str) -> serde_json::Value {
    let c = &inspect_json(container);
    let hc = &c["HostConfig"];
    let links: serde_json::Map<String, serde_json::Value> = c["NetworkSettings"]["Networks"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(net, e)| (net.clone(), e["Links"].clone()))
        .collect();
    let host: serde_json::Map<String, serde_json::Value> = [
        "NetworkMode",
        "VolumesFrom",
        "UTSMode",
        "CgroupnsMode",
        "DeviceCgroupRules",
        "BlkioDeviceReadBps",
        "BlkioDeviceWriteIops",
        "Links",
    ]
    .iter()
    .map(|k| (k.to_string(), hc[*k].clone()))
    .collect();
    let picked = serde_json::json!({
        "host": host,
        "healthcheck": c["Config"]["Healthcheck"],
        "links": links,
    });
    let mut text = picked.to_string();
    let ids: Vec<String> = text
        .split(|ch: char| !ch.is_ascii_hexdigit())
        .filter(|w| w.len() == 64)
        .map(str::to_string)
        .collect();
    for id in ids {
        text = text.replace(&id, &name_of(&id));
    }
    let text = text.replace(theirs, "P").replace(project, "P");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn container_references_and_namespaces_match_docker_compose() {
    let Some(t) = EngineTest::new("settings_more_like_compose", &[], "services: {}\n", "") else {
        return;
    };
    let project = format!("{}-s", t.stack);
    let blkio = match block_device() {
        Some(dev) => format!(
            "    blkio_config:\n      device_read_bps: [{{path: {dev}, rate: 1mb}}]\n      device_write_iops: [{{path: {dev}, rate: 30}}]\n"
        ),
        None => String::new(),
    };
    // compose drops the mode of `volumes_from` (mrctl keeps it: see the
    // README), so the compared entry has none.
    let compose = format!(
        r#"services:
  db:
    image: busybox:latest
    command: ["sleep", "600"]
    volumes: [data:/data]
  app:
    image: busybox:latest
    command: ["sleep", "600"]
    links: [db, "db:database"]
    external_links: ["{project}-db-1:ext"]
    volumes_from: [db]
    uts: host
    cgroup: private
    device_cgroup_rules: ["c 1:3 mr", "a 7:* rmw"]
    healthcheck:
      disable: true
{blkio}  side:
    image: busybox:latest
    command: ["sleep", "600"]
    network_mode: "service:db"
  alone:
    image: busybox:latest
    command: ["sleep", "600"]
    network_mode: none
  hosted:
    image: busybox:latest
    command: ["sleep", "600"]
    network_mode: host
volumes:
  data:
"#
    );
    t.f.write("docker-compose.yml", &compose);
    t.f.run(&["create", "s"]).success();
    let (project, theirs, _cleanup) = t.compose_twin("s", "create --no-build --pull never");
    t.f.run(&["start", "s"]).success();
    for svc in ["db", "app", "side", "alone", "hosted"] {
        assert_eq!(
            inspected(&format!("{project}-{svc}-1"), &project, &theirs),
            inspected(&format!("{theirs}-{svc}-1"), &project, &theirs),
            "{svc}"
        );
    }
    // The service in db's namespace and the one reading db's volumes run.
    let ps = t.f.run(&["--json", "ps", "s"]).success().json();
    let running = ps.to_string().matches("\"running\"").count();
    assert!(running >= 5, "{ps}");
    t.f.run(&["clean", "s", "--yes"]).success();
}

#[test]
fn lifecycle_hooks_run_around_start_and_stop_and_a_failing_one_fails_it() {
    let compose = r#"services:
  app:
    image: busybox:latest
    command: ["sleep", "600"]
    post_start:
      - command: ["sh", "-c", "echo \"$$GREETING from $$(pwd) as $$(id -u)\" > /tmp/hooked"]
        user: "0"
        working_dir: /etc
        environment:
          GREETING: hello
      - command: ["sh", "-c", "cat /tmp/hooked >> /tmp/twice"]
    pre_stop:
      - command: ["sh", "-c", "echo stopping >> /tmp/twice"]
"#;
    let Some(t) = EngineTest::new("post_start_hooks", &[], compose, "") else {
        return;
    };
    t.f.run(&["create", "s"]).success();
    t.f.run(&["start", "s"]).success();
    let container = format!("{}-s-app-1", t.stack);
    let out = docker(&["exec", &container, "cat", "/tmp/twice"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello from /etc as 0\n"
    );
    // The pre_stop hook ran before the stop; the start after it ran the
    // post_start hooks again, in the same container.
    t.f.run(&["stop", "s"]).success();
    t.f.run(&["start", "s"]).success();
    let out = docker(&["exec", &container, "cat", "/tmp/twice"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello from /etc as 0\nstopping\nhello from /etc as 0\n"
    );
    // A failing pre_stop hook aborts the stop, naming the hook.
    t.f.write(
        "docker-compose.yml",
        &compose.replace("echo stopping >> /tmp/twice", "exit 4"),
    );
    let run = t.f.run(&["stop", "s"]);
    assert_ne!(run.code, 0, "{run:#?}");
    assert!(
        run.stderr.contains(
            "has a pre_stop hook `sh -c exit 4` that exited with status 4, so it was not stopped"
        ),
        "{run:#?}"
    );
    let out = docker(&["inspect", "--format", "{{.State.Running}}", &container]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "true");
    t.f.write("docker-compose.yml", compose);
    t.f.run(&["clean", "s", "--yes"]).success();

    let failing = compose.replace("cat /tmp/hooked >> /tmp/twice", "echo broken >&2; exit 3");
    t.f.write("docker-compose.yml", &failing);
    t.f.run(&["create", "f"]).success();
    let run = t.f.run(&["start", "f"]);
    assert_ne!(run.code, 0, "{run:#?}");
    let err = run.stderr;
    assert!(
        err.contains("service `app` of instance `f` has a post_start hook `sh -c echo broken >&2; exit 3` that exited with status 3")
            && err.contains("broken"),
        "{err}"
    );
    t.f.run(&["clean", "f", "--yes"]).success();
}

/// The engine's API version, as `major.minor` numbers.
fn api_version() -> (u32, u32) {
    let out = docker(&["version", "--format", "{{.Server.APIVersion}}"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.trim().split('.').map(|p| p.parse().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

#[test]
fn a_setting_the_engines_api_cannot_carry_stops_the_start_before_anything_is_made() {
    let compose = r#"services:
  app:
    image: busybox:latest
    command: ["sleep", "600"]
    healthcheck:
      test: ["CMD", "true"]
      start_interval: 2s
"#;
    let Some(t) = EngineTest::new("api_gate", &[], compose, "") else {
        return;
    };
    t.f.run(&["create", "s"]).success();
    let run = t.f.run(&["start", "s"]);
    if api_version() >= (1, 44) {
        assert_eq!(run.code, 0, "{run:#?}");
    } else {
        assert_ne!(run.code, 0, "{run:#?}");
        assert!(
            run.stderr.contains(
                "service `app`: `healthcheck.start_interval` needs engine API 1.44 (Docker Engine 25 or later)"
            ),
            "{run:#?}"
        );
        // Nothing was made: no container, no network.
        let project = format!("{}-s", t.stack);
        for what in ["ps", "network"] {
            let args: Vec<&str> = match what {
                "ps" => vec!["ps", "-aq", "--filter"],
                _ => vec!["network", "ls", "-q", "--filter"],
            };
            let filter = format!("label=com.docker.compose.project={project}");
            let out = docker(&[args.as_slice(), &[filter.as_str()]].concat());
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "", "{what}");
        }
    }
    t.f.run(&["clean", "s", "--yes"]).success();
}

#[test]
fn a_container_in_another_services_namespace_follows_it_when_it_is_made_again() {
    let compose = r#"services:
  db:
    image: busybox:latest
    command: ["sleep", "600"]
    environment:
      GENERATION: "1"
  side:
    image: busybox:latest
    command: ["sleep", "600"]
    network_mode: "service:db"
"#;
    let Some(t) = EngineTest::new("namespace_follows", &[], compose, "") else {
        return;
    };
    t.f.run(&["create", "s"]).success();
    t.f.run(&["start", "s"]).success();
    let id = |svc: &str| {
        let out = docker(&[
            "inspect",
            "--format",
            "{{.Id}}",
            &format!("{}-s-{svc}-1", t.stack),
        ]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let mode = || {
        let out = docker(&[
            "inspect",
            "--format",
            "{{.HostConfig.NetworkMode}}",
            &format!("{}-s-side-1", t.stack),
        ]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(mode(), format!("container:{}", id("db")));
    t.f.write(
        "docker-compose.yml",
        &compose.replace("GENERATION: \"1\"", "GENERATION: \"2\""),
    );
    t.f.run(&["start", "s"]).success();
    // db was made again, and side with it, in the new db's namespace.
    assert_eq!(mode(), format!("container:{}", id("db")));
    let out = docker(&[
        "inspect",
        "--format",
        "{{.State.Running}}",
        &format!("{}-s-side-1", t.stack),
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "true");
    t.f.run(&["clean", "s", "--yes"]).success();
}
