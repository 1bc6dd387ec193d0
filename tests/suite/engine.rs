//! Against a real Docker engine: start, stop, converge, clean, logs, errors.

use std::time::{Duration, Instant};

use super::engine_harness::{EngineTest, http_get};

/// A web service behind a health-gated API, a worker, a named volume.
const STACK: &str = r#"
services:
  api:
    image: busybox:latest
    command: ["sh", "-c", "echo api-start; mkdir -p /srv && echo api-$$INSTANCE_NAME > /srv/index.html && exec httpd -f -p 8000 -h /srv"]
    environment:
      INSTANCE_NAME: ${INSTANCE_NAME}
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8000/"]
      interval: 1s
      timeout: 2s
      retries: 20
    stop_grace_period: 1s
  web:
    image: busybox:latest
    command: ["sh", "-c", "echo web-$$INSTANCE_NAME > /www/index.html && echo web-ready && exec httpd -f -p 8080 -h /www"]
    environment:
      INSTANCE_NAME: ${INSTANCE_NAME}
      GREETING: ${GREETING:-hello}
    ports:
      - "${WEB_PORT}:8080"
    volumes:
      - ${DATA_DIR}/www:/www
    depends_on:
      api:
        condition: service_healthy
    stop_grace_period: 1s
  worker:
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done"]
    volumes:
      - cache:/cache
    depends_on: [api]
volumes:
  cache: {}
"#;

const TOML: &str = "[instances]\ndata_subdirs = [\"www\", \"logs\"]\n";

fn stack(test: &str) -> Option<EngineTest> {
    EngineTest::new(test, &["web"], STACK, TOML)
}

fn web_port(t: &EngineTest, name: &str) -> u16 {
    t.f.registry()["instances"][name]["ports"]["web"]
        .as_u64()
        .unwrap() as u16
}

#[test]
fn up_serves_http_through_the_published_port() {
    let Some(t) = stack("up_serves_http_through_the_published_port") else {
        return;
    };
    let run = t.f.run(&["up", "prod", "prod.example.com"]).success();
    assert!(
        run.stderr.contains("`web` waits for `api` to be healthy"),
        "{}",
        run.stderr
    );
    let port = web_port(&t, "prod");
    assert!(
        run.stderr
            .contains(&format!("web: http://localhost:{port}")),
        "{}",
        run.stderr
    );
    assert_eq!(
        http_get(port, Duration::from_secs(10)).unwrap().trim(),
        "web-prod"
    );
    let project = format!("{}-prod", t.stack);
    let containers = t.project(&project);
    assert_eq!(containers.len(), 3);
    assert!(
        containers.iter().all(|(_, _, state)| state == "running"),
        "{containers:?}"
    );
    // Labels that docker compose reads, and mrctl's own.
    let web = t.inspect(&format!("{project}-web-1"));
    let labels = web.config.unwrap().labels.unwrap();
    assert_eq!(labels["com.docker.compose.project"], project);
    assert_eq!(labels["com.docker.compose.service"], "web");
    assert_eq!(labels["com.docker.compose.oneoff"], "False");
    assert_eq!(labels["mrctl.instance"], "prod");
    assert_eq!(labels["mrctl.stack"], t.stack);
    assert_eq!(
        labels["com.docker.compose.depends_on"],
        "api:service_healthy:false"
    );
    assert!(labels.contains_key("com.docker.compose.config-hash"));
    let (networks, volumes) = t.project_resources(&project);
    assert_eq!(networks, [format!("{project}_default")]);
    assert_eq!(volumes, [format!("{project}_cache")]);

    let list = t.f.run(&["list"]).success();
    assert!(list.stdout.contains("running 3/3"), "{}", list.stdout);
    let status = t.f.run(&["status", "prod"]).success();
    assert!(status.stdout.contains("healthy"), "{}", status.stdout);
    assert!(
        status.stdout.contains(&format!("0.0.0.0:{port}->8080/tcp")),
        "{}",
        status.stdout
    );
    let j = t.f.run(&["status", "prod", "--json"]).success().json();
    assert_eq!(j.as_array().unwrap().len(), 3);
}

#[test]
fn two_instances_side_by_side() {
    let Some(t) = stack("two_instances_side_by_side") else {
        return;
    };
    t.f.run(&["up", "a"]).success();
    t.f.run(&["up", "b"]).success();
    let (pa, pb) = (web_port(&t, "a"), web_port(&t, "b"));
    assert_ne!(pa, pb);
    assert_eq!(
        http_get(pa, Duration::from_secs(10)).unwrap().trim(),
        "web-a"
    );
    assert_eq!(
        http_get(pb, Duration::from_secs(10)).unwrap().trim(),
        "web-b"
    );
    let (na, va) = t.project_resources(&format!("{}-a", t.stack));
    let (nb, vb) = t.project_resources(&format!("{}-b", t.stack));
    assert_ne!(na, nb);
    assert_ne!(va, vb);
    // --all acts on both.
    t.f.run(&["stop", "--all"]).success();
    assert!(
        t.containers()
            .iter()
            .all(|c| c.state.as_ref().unwrap().to_string() == "exited")
    );
    let list = t.f.run(&["list", "--json"]).success().json();
    for i in list["instances"].as_array().unwrap() {
        assert_eq!(i["state"]["status"], "stopped");
    }
    t.f.run(&["start", "--all"]).success();
    let status = t.f.run(&["status", "--all"]).success();
    assert!(status.stdout.starts_with("INSTANCE "), "{}", status.stdout);
    assert_eq!(
        status.stdout.matches("running").count(),
        6,
        "{}",
        status.stdout
    );
}

#[test]
fn start_is_idempotent_and_converges() {
    let Some(t) = stack("start_is_idempotent_and_converges") else {
        return;
    };
    t.f.run(&["up", "dev"]).success();
    let project = format!("{}-dev", t.stack);
    let first = t.project(&project);
    let again = t.f.run(&["start", "dev"]).success();
    assert_eq!(
        again.stderr.matches("is running and up to date").count(),
        3,
        "{}",
        again.stderr
    );
    assert_eq!(
        first,
        t.project(&project),
        "a second start changed containers"
    );

    // A container removed by hand comes back; the others stay.
    t.remove_container(&format!("{project}-worker-1"));
    t.f.run(&["start", "dev"]).success();
    let after = t.project(&project);
    assert_eq!(after.len(), 3);
    assert_eq!(after[0], first[0], "api was recreated");
    assert_eq!(after[1], first[1], "web was recreated");
    assert_ne!(after[2].1, first[2].1, "worker was not recreated");

    // An env value only `web` uses changes: exactly `web` is recreated.
    let env = t.f.read(".instances/dev/.env") + "GREETING=bonjour\n";
    t.f.write(".instances/dev/.env", &env);
    let run = t.f.run(&["start", "dev"]).success();
    assert!(
        run.stderr.contains(&format!("`{project}-web-1` recreated")),
        "{}",
        run.stderr
    );
    let changed = t.project(&project);
    assert_eq!(changed[0], after[0]);
    assert_ne!(changed[1].1, after[1].1);
    assert_eq!(changed[2], after[2]);
    let env = t
        .inspect(&format!("{project}-web-1"))
        .config
        .unwrap()
        .env
        .unwrap();
    assert!(env.contains(&"GREETING=bonjour".to_string()), "{env:?}");
}

#[test]
fn stop_start_restart() {
    let Some(t) = stack("stop_start_restart") else {
        return;
    };
    t.f.run(&["up", "x"]).success();
    let project = format!("{}-x", t.stack);
    let run = t.f.run(&["stop", "x"]).success();
    // Reverse dependency order: api last.
    let api = run.stderr.find("api-1` stopped").unwrap();
    let web = run.stderr.find("web-1` stopped").unwrap();
    assert!(web < api, "{}", run.stderr);
    assert!(t.project(&project).iter().all(|(_, _, s)| s == "exited"));
    t.f.run(&["list"]).success().stdout_has("stopped");
    t.f.run(&["start", "x"]).success();
    assert!(t.project(&project).iter().all(|(_, _, s)| s == "running"));
    let before = t.project(&project);
    t.f.run(&["restart", "x"]).success();
    let after = t.project(&project);
    assert_eq!(before, after, "restart keeps the containers");
    assert_eq!(
        http_get(web_port(&t, "x"), Duration::from_secs(10))
            .unwrap()
            .trim(),
        "web-x"
    );
}

#[test]
fn logs_of_a_service() {
    let Some(t) = stack("logs_of_a_service") else {
        return;
    };
    t.f.run(&["up", "l"]).success();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = t.f.run(&["logs", "l", "web"]).success();
        if out.stdout.contains("web | web-ready") {
            assert!(!out.stdout.contains("api-start"), "{}", out.stdout);
            break;
        }
        assert!(Instant::now() < deadline, "no log line: {out:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let all = t.f.run(&["logs", "l", "--tail", "5"]).success();
    assert!(all.stdout.contains("api    | api-start"), "{}", all.stdout);
    t.f.run(&["logs", "l", "nope"])
        .code(2)
        .stderr_has("no container for service `nope`");
    let every = t.f.run(&["logs", "--all"]).success();
    assert!(
        every.stdout.contains("l/web    | web-ready"),
        "{}",
        every.stdout
    );
}

#[test]
fn clean_leaves_nothing_labelled() {
    let Some(t) = stack("clean_leaves_nothing_labelled") else {
        return;
    };
    t.f.run(&["up", "gone"]).success();
    let project = format!("{}-gone", t.stack);
    t.f.write("instance_data/gone/www/extra", "x");
    let run = t.f.run(&["clean", "gone", "--yes"]).success();
    assert!(run.stderr.contains("removed"), "{}", run.stderr);
    assert!(t.project(&project).is_empty());
    assert_eq!(t.project_resources(&project), (vec![], vec![]));
    assert!(!t.f.path("instance_data/gone").exists());
    assert!(!t.f.path(".instances/gone").exists());
    assert!(t.f.registry()["instances"].get("gone").is_none());
}

#[test]
fn clean_keep_data_keeps_named_volumes() {
    let Some(t) = stack("clean_keep_data_keeps_named_volumes") else {
        return;
    };
    t.f.run(&["up", "k"]).success();
    let project = format!("{}-k", t.stack);
    t.f.run(&["clean", "k", "--yes", "--keep-data"]).success();
    assert!(t.project(&project).is_empty());
    let (_, volumes) = t.project_resources(&project);
    assert_eq!(volumes, [format!("{project}_cache")]);
    assert!(t.f.path("instance_data/k/www").is_dir());
}

#[test]
fn foreign_process_on_a_port_is_reported_before_anything_is_created() {
    let Some(t) = stack("foreign_process_on_a_port") else {
        return;
    };
    t.f.run(&["create", "p"]).success();
    let port = web_port(&t, "p");
    let listener = std::net::TcpListener::bind(("0.0.0.0", port)).unwrap();
    let run = t.f.run(&["start", "p"]).code(5);
    assert_eq!(
        run.stderr,
        format!(
            "error: port {port} of service `web` of instance `p` is taken: another process on this host listens on it\n"
        )
    );
    assert!(t.containers().is_empty(), "containers were created");
    assert_eq!(
        t.project_resources(&format!("{}-p", t.stack)),
        (vec![], vec![])
    );
    drop(listener);
}

#[test]
fn docker_unreachable_is_one_line_fast() {
    let Some(t) = stack("docker_unreachable_is_one_line_fast") else {
        return;
    };
    t.f.run(&["create", "u"]).success();
    let sock = t.f.path("closed.sock");
    for host in [
        format!("unix://{}", sock.display()),
        "tcp://127.0.0.1:1".to_string(),
        "ftp://127.0.0.1/wrong-scheme".to_string(),
        "ssh://nobody@127.0.0.1:1".to_string(),
    ] {
        for args in [
            &["start", "u"][..],
            &["stop", "u"],
            &["status", "u"],
            &["logs", "u"],
            &["clean", "u", "--yes"],
        ] {
            let started = Instant::now();
            let mut cmd = t.f.command(args);
            cmd.env("DOCKER_HOST", &host);
            let run = super::common::Run::from(cmd.output().unwrap());
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "{args:?} took {:?}",
                started.elapsed()
            );
            assert_eq!(run.code, 6, "{args:?}: {run:?}");
            let lines: Vec<_> = run.stderr.lines().collect();
            assert_eq!(lines.len(), 1, "{run:?}");
            assert!(
                lines[0].starts_with(&format!(
                    "error: cannot reach the Docker engine at `{host}`"
                )),
                "{run:?}"
            );
            assert!(lines[0].contains("is Docker running?"), "{run:?}");
        }
        // clean deleted nothing it could not finish.
        assert!(t.f.path(".instances/u/.env").is_file());
        assert!(t.f.registry()["instances"].get("u").is_some());
        // list still lists the registry, state unknown.
        let mut cmd = t.f.command(&["list"]);
        cmd.env("DOCKER_HOST", &host);
        let run = super::common::Run::from(cmd.output().unwrap());
        assert_eq!(run.code, 0, "{run:?}");
        assert!(run.stdout.contains("unknown"), "{run:?}");
        assert!(run.stderr.contains("state is unknown"), "{run:?}");
    }
}

#[test]
fn missing_image_is_named() {
    let compose = "services:\n  app:\n    image: mrctl-test.invalid/nothing:1\n";
    let Some(t) = EngineTest::new("missing_image_is_named", &[], compose, "") else {
        return;
    };
    t.f.run(&["create", "m"]).success();
    let run = t.f.run(&["start", "m"]).code(1);
    assert!(
        run.stderr
            .contains("\nerror: image `mrctl-test.invalid/nothing:1` is not available: "),
        "{}",
        run.stderr
    );
    assert!(t.containers().is_empty());
}

#[test]
fn failing_healthcheck_names_the_service_with_its_logs() {
    let compose = r#"
services:
  db:
    image: busybox:latest
    command: ["sh", "-c", "echo db is broken; exec sleep 1000"]
    healthcheck:
      test: ["CMD", "false"]
      interval: 500ms
      retries: 2
    stop_grace_period: 1s
  app:
    image: busybox:latest
    command: ["sleep", "1000"]
    depends_on:
      db:
        condition: service_healthy
"#;
    let Some(t) = EngineTest::new("failing_healthcheck", &[], compose, "") else {
        return;
    };
    t.f.run(&["create", "h"]).success();
    let run = t.f.run(&["start", "h", "--timeout", "30s"]).code(1);
    assert!(
        run.stderr.contains("\nerror: service `db` of instance `h` failed its healthcheck (state: running, unhealthy); its last log lines:\n"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("  | db is broken"), "{}", run.stderr);
}

#[test]
fn exiting_dependency_names_its_exit_code() {
    let compose = r#"
services:
  migrate:
    image: busybox:latest
    command: ["sh", "-c", "echo migration failed; exit 3"]
  app:
    image: busybox:latest
    command: ["sleep", "1000"]
    depends_on:
      migrate:
        condition: service_completed_successfully
"#;
    let Some(t) = EngineTest::new("exiting_dependency", &[], compose, "") else {
        return;
    };
    t.f.run(&["create", "e"]).success();
    let run = t.f.run(&["start", "e"]).code(1);
    assert!(
        run.stderr
            .contains("service `migrate` of instance `e` exited with code 3"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("migration failed"), "{}", run.stderr);
}

#[test]
fn docker_compose_sees_the_same_containers() {
    let Some(t) = stack("docker_compose_sees_the_same_containers") else {
        return;
    };
    if std::process::Command::new("docker-compose")
        .arg("version")
        .output()
        .is_err()
    {
        panic!("docker-compose is not installed (.ci/run installs it)");
    }
    t.f.run(&["up", "prod"]).success();
    let project = format!("{}-prod", t.stack);
    let info = t.f.run(&["info", "prod"]).success();
    assert!(
        info.stdout.contains(&format!("-p {project}")),
        "{}",
        info.stdout
    );
    let out = std::process::Command::new("docker-compose")
        .current_dir(t.f.dir())
        .args([
            "-p",
            &project,
            "-f",
            "docker-compose.yml",
            "-f",
            ".instances/prod/docker-compose.override.yml",
            "--env-file",
            ".instances/prod/.env",
            "ps",
            "-q",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    ids.sort();
    let mut ours: Vec<String> = t
        .project(&project)
        .into_iter()
        .map(|(_, id, _)| id)
        .collect();
    ours.sort();
    assert_eq!(ids, ours);
}

#[test]
fn quickstart_example_comes_up() {
    // The README's first command, on a copy of examples/quickstart.
    let Some(t) = EngineTest::new("quickstart_example_comes_up", &[], "services: {}\n", "") else {
        return;
    };
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart");
    for file in ["mrctl.toml", "docker-compose.yml"] {
        let text = std::fs::read_to_string(format!("{src}/{file}")).unwrap();
        // Own stack name and port range, so the test neither collides with nor labels like a user's.
        let text = text
            .replace("name = \"quickstart\"", &format!("name = \"{}\"", t.stack))
            .replace("web = 8080", &format!("web = {}", t.port_base));
        t.f.write(file, &text);
    }
    let run = t.f.run(&["up", "demo"]).success();
    let port = web_port(&t, "demo");
    assert!(
        run.stderr
            .contains(&format!("web: http://localhost:{port}")),
        "{}",
        run.stderr
    );
    assert_eq!(
        http_get(port, Duration::from_secs(10)).unwrap().trim(),
        "hello from demo (demo.localhost)"
    );
}
