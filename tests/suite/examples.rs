//! Each example under `examples/`, end to end on a real engine: two
//! instances created and started, every published port answering HTTP from
//! the host, isolation checked, then stopped and cleaned with nothing
//! labelled left.

use std::time::Duration;

use super::common::Run;
use super::engine_harness::{EngineTest, docker, http_get};

fn port(t: &EngineTest, instance: &str, name: &str) -> u16 {
    t.f.registry()["instances"][instance]["ports"][name]
        .as_u64()
        .unwrap_or_else(|| panic!("no port {name} for {instance}")) as u16
}

fn all_ports(t: &EngineTest, instance: &str) -> Vec<(String, u16)> {
    t.f.registry()["instances"][instance]["ports"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap() as u16))
        .collect()
}

fn assert_all_gone(t: &EngineTest, instances: &[&str]) {
    for i in instances {
        let project = format!("{}-{i}", t.stack);
        assert!(
            t.project(&project).is_empty(),
            "{project} has containers left"
        );
        assert_eq!(
            t.project_resources(&project),
            (vec![], vec![]),
            "{project} has resources left"
        );
    }
    assert!(
        t.containers().is_empty(),
        "containers labelled for the stack remain"
    );
}

#[test]
fn server_example() {
    let Some(t) = EngineTest::from_example("server_example", "server") else {
        return;
    };
    // The external network Traefik watches; labelled so the harness removes it.
    let had_network = docker(&["network", "inspect", "traefik-proxy"])
        .status
        .success();
    if !had_network {
        let out = docker(&[
            "network",
            "create",
            "--label",
            &format!("mrctl.stack={}", t.stack),
            "traefik-proxy",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    t.f.run(&["create", "prod", "prod.example.com"]).success();
    t.f.run(&["create", "dev", "dev.example.com"]).success();
    assert_eq!(port(&t, "prod", "backend"), 8765);
    assert_eq!(port(&t, "prod", "frontend"), 3003);
    assert_eq!(port(&t, "dev", "backend"), 8766);
    assert_eq!(port(&t, "dev", "frontend"), 3004);
    let env = t.f.read(".instances/prod/.env");
    for key in [
        "INSTANCE_NAME=prod",
        "BACKEND_PORT=8765",
        "FRONTEND_PORT=3003",
        "INSTANCE_DOMAIN=prod.example.com",
        "OPENAI_API_KEY=",
    ] {
        assert!(env.lines().any(|l| l == key), "{key} missing:\n{env}");
    }
    assert!(env.contains("DATA_DIR="));
    // No API key yet: start refuses, naming the variable and where to set it.
    let refused = t.f.run(&["start", "prod"]).code(3);
    assert!(
        refused.stderr.contains("required variable `OPENAI_API_KEY` is missing a value: set OPENAI_API_KEY in .instances/prod/.env"),
        "{}",
        refused.stderr
    );
    assert!(t.containers().is_empty());
    for name in ["prod", "dev"] {
        let env =
            t.f.read(&format!(".instances/{name}/.env"))
                .replace("OPENAI_API_KEY=\n", &format!("OPENAI_API_KEY=sk-{name}\n"));
        t.f.write(&format!(".instances/{name}/.env"), &env);
        t.f.run(&["start", name, "--wait"]).success();
    }
    for (name, backend, frontend) in [("prod", 8765, 3003), ("dev", 8766, 3004)] {
        let b = http_get_path(backend, "/api/");
        assert_eq!(b.trim(), format!("backend of {name}"));
        let f = http_get(frontend, Duration::from_secs(10)).unwrap();
        assert_eq!(
            f.trim(),
            format!("frontend of {name} at {name}.example.com")
        );
        // Container names from the instance, Traefik rules on its domain.
        let labels = t
            .inspect(&format!("{name}-frontend"))
            .config
            .unwrap()
            .labels
            .unwrap();
        assert_eq!(
            labels[&format!("traefik.http.routers.{name}-frontend.rule")],
            format!("Host(`{name}.example.com`)")
        );
        let backend_labels = t
            .inspect(&format!("{name}-backend"))
            .config
            .unwrap()
            .labels
            .unwrap();
        assert_eq!(
            backend_labels[&format!("traefik.http.routers.{name}-backend.rule")],
            format!("Host(`{name}.example.com`) && PathPrefix(`/api`)")
        );
        // The data directory is bind-mounted: what the backend wrote is on the host.
        assert!(
            t.f.path(&format!("instance_data/{name}/logs/backend.log"))
                .is_file()
        );
        let networks = t
            .inspect(&format!("{name}-backend"))
            .network_settings
            .unwrap()
            .networks
            .unwrap();
        assert!(networks.contains_key("traefik-proxy"), "{networks:?}");
    }
    let list = t.f.run(&["list"]).success();
    for row in ["backend=8765 frontend=3003", "backend=8766 frontend=3004"] {
        assert!(list.stdout.contains(row), "{}", list.stdout);
    }
    assert_eq!(
        list.stdout.matches("running 2/2").count(),
        2,
        "{}",
        list.stdout
    );
    t.f.run(&["stop", "--all"]).success();
    t.f.run(&["list"]).success().stdout_has("stopped");
    t.f.run(&["clean", "prod", "--yes"]).success();
    t.f.run(&["clean", "dev", "--yes"]).success();
    assert_all_gone(&t, &["prod", "dev"]);
    if had_network {
        return;
    }
    assert!(
        docker(&["network", "inspect", "traefik-proxy"])
            .status
            .success(),
        "clean removed an external network"
    );
}

/// GET a path (the helper in the harness fetches `/`).
fn http_get_path(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n");
            let mut body = String::new();
            let _ = s.read_to_string(&mut body);
            if body.contains(" 200 ") {
                return body
                    .split("\r\n\r\n")
                    .nth(1)
                    .unwrap_or_default()
                    .to_string();
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "port {port} {path} never answered"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn just_available() -> bool {
    std::process::Command::new("just")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn just(t: &EngineTest, args: &[&str]) -> Run {
    let out = std::process::Command::new("just")
        .args(args)
        .current_dir(t.f.dir())
        .env("MRCTL", env!("CARGO_BIN_EXE_mrctl"))
        .env("NO_COLOR", "1")
        .env_remove("MRCTL_PROJECT_DIR")
        .output()
        .unwrap();
    Run::from(out)
}

#[test]
fn devstack_example_through_just() {
    let Some(t) = EngineTest::from_example("devstack_example_through_just", "devstack") else {
        return;
    };
    if !just_available() {
        assert!(
            std::env::var("MRCTL_REQUIRE_DOCKER").as_deref() != Ok("1"),
            "`just` is not installed (.ci/run installs it)"
        );
        eprintln!("SKIPPED devstack_example_through_just: `just` is not installed");
        return;
    }
    just(&t, &["dev", "1"]).success();
    just(&t, &["dev", "2", "start"]).success();
    for n in ["1", "2"] {
        let project = format!("{}-{n}", t.stack);
        let services: Vec<String> = t.project(&project).into_iter().map(|(s, _, _)| s).collect();
        assert_eq!(
            services,
            [
                "loki",
                "minio",
                "postgres",
                "redis",
                "temporal",
                "temporal-ui"
            ]
        );
        let env = t.f.read(&format!(".instances/{n}/.env"));
        assert!(
            env.contains(&format!("TEMPORAL_NAMESPACE={project}\n")),
            "{env}"
        );
        assert!(
            env.contains(&format!("TEMPORAL_TASK_QUEUE={project}\n")),
            "{env}"
        );
        for (name, p) in all_ports(&t, n) {
            let body = http_get(p, Duration::from_secs(10))
                .unwrap_or_else(|e| panic!("{name} on {p}: {e}"));
            assert!(
                body.contains(&format!("of {project} ({project})")),
                "{name} on {p}: {body}"
            );
        }
    }
    // Offset ports: instance N at base + N × 100.
    just(&t, &["ports", "2"])
        .success()
        .stdout_has("POSTGRES_PORT=5633\n");
    assert_eq!(port(&t, "1", "temporal_ui"), 8181);
    just(&t, &["dev", "1", "status"])
        .success()
        .stdout_has("healthy");
    let status = just(&t, &["dev", "status", "all"]).success();
    assert!(status.stdout.starts_with("INSTANCE "), "{}", status.stdout);
    assert_eq!(
        status.stdout.matches(" running ").count(),
        12,
        "{}",
        status.stdout
    );
    let logs = just(&t, &["dev", "logs", "all"]).success();
    let _ = logs;
    just(&t, &["dev", "1", "logs"]).success();
    just(&t, &["dev", "stop", "all"]).success();
    for n in ["1", "2"] {
        assert!(
            t.project(&format!("{}-{n}", t.stack))
                .iter()
                .all(|(_, _, s)| s == "exited")
        );
    }
    just(&t, &["dev", "clean", "all"])
        .code(2)
        .stderr_has("only stop, status and logs act on all instances");
    just(&t, &["dev", "1", "clean"]).success();
    just(&t, &["dev", "2", "clean"]).success();
    assert_all_gone(&t, &["1", "2"]);
}

#[test]
fn platform_example() {
    let Some(t) = EngineTest::from_example("platform_example", "platform") else {
        return;
    };
    for n in ["1", "2"] {
        t.f.run(&["up", n, "--wait", "--timeout", "180s"]).success();
    }
    assert_eq!(port(&t, "1", "supervisor"), 51000);
    assert_eq!(port(&t, "1", "mcpserver"), 51060);
    assert_eq!(port(&t, "1", "mesh_external"), 11001);
    assert_eq!(port(&t, "2", "clientapi"), 52059);
    for n in ["1", "2"] {
        let project = format!("{}-{n}", t.stack);
        assert_eq!(t.project(&project).len(), 12);
        for (name, p) in all_ports(&t, n) {
            let body = http_get(p, Duration::from_secs(10))
                .unwrap_or_else(|e| panic!("{name} on {p}: {e}"));
            assert!(
                body.trim().ends_with(&format!("of {project}")),
                "{name} on {p}: {body}"
            );
        }
    }
    // Four waves: foundation before mesh before core before APIs.
    let started = |n: &str, svc: &str| {
        t.inspect(&format!("{}-{n}-{svc}-1", t.stack))
            .state
            .unwrap()
            .started_at
            .unwrap()
    };
    for n in ["1", "2"] {
        assert!(started(n, "security") < started(n, "mesh"));
        assert!(started(n, "mesh") < started(n, "core"));
        assert!(started(n, "core") < started(n, "clientapi"));
    }
    // Per-instance secrets: different, and never shown.
    let secrets = |n: &str| -> serde_json::Value {
        serde_json::from_str(&t.f.read(&format!(".instances/{n}/secrets.json"))).unwrap()
    };
    let (s1, s2) = (secrets("1"), secrets("2"));
    assert_ne!(s1["keyring_master"], s2["keyring_master"]);
    assert_ne!(s1["db_password"], s2["db_password"]);
    let values: Vec<String> = [&s1, &s2]
        .iter()
        .flat_map(|s| {
            s.as_object()
                .unwrap()
                .values()
                .map(|v| v.as_str().unwrap().to_string())
        })
        .collect();
    for args in [
        &["list"][..],
        &["list", "--json"],
        &["info", "1"],
        &["env", "1"],
        &["logs", "--all"],
        &["status", "--all", "--json"],
    ] {
        let out = t.f.run(args).success();
        for v in &values {
            assert!(
                !out.stdout.contains(v.as_str()) && !out.stderr.contains(v.as_str()),
                "{args:?} shows a secret"
            );
        }
    }
    let env = t
        .inspect(&format!("{}-1-core-1", t.stack))
        .config
        .unwrap()
        .env
        .unwrap();
    assert!(env.contains(&format!(
        "REDB_KEYRING_PASSWORD={}",
        s1["keyring_master"].as_str().unwrap()
    )));
    t.f.run(&["stop", "--all"]).success();
    t.f.run(&["clean", "1", "--yes"]).success();
    t.f.run(&["clean", "2", "--yes"]).success();
    assert_all_gone(&t, &["1", "2"]);
}
