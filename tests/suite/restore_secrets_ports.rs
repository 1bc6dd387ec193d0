//! Own what you touch: a restored copy takes its own domain and project,
//! secrets never reach a message, and a port held by the instance's own
//! container (however a killed start left it) is not a conflict, while one
//! held by another container names that container.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use bollard::query_parameters::CreateContainerOptionsBuilder;

use super::common::Fixture;
use super::engine_harness::{EngineTest, IMAGE};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn docker() -> Docker {
    runtime().block_on(async {
        Docker::connect_with_defaults()
            .unwrap()
            .negotiate_version()
            .await
            .unwrap()
    })
}

/// Whether something listens on host `port` (the probe start uses).
fn port_busy(port: u16) -> bool {
    std::net::TcpListener::bind(("0.0.0.0", port)).is_err()
}

// ---------------------------------------------------------------- ports

const WEB: &str = r#"
services:
  web:
    image: busybox:latest
    command: ["httpd", "-f", "-p", "8080", "-h", "/tmp"]
    ports:
      - "${WEB_PORT}:8080"
    stop_grace_period: 1s
"#;

fn web_port(f: &Fixture, name: &str) -> u16 {
    f.registry()["instances"][name]["ports"]["web"]
        .as_u64()
        .unwrap() as u16
}

#[test]
fn start_after_a_start_killed_while_the_engine_starts_its_container_converges() {
    let Some(t) = EngineTest::new("start_after_a_killed_start", &["web"], WEB, "") else {
        return;
    };
    t.f.run(&["up", "k"]).success();
    let port = web_port(&t.f, "k");
    let project = format!("{}-k", t.stack);
    // A killed start leaves the engine starting the container: it listens
    // on the port while the container is still listed as not running.
    // Several rounds, each killed at the moment the port is taken.
    for round in 0..3 {
        t.f.run(&["stop", "k"]).success();
        assert!(!port_busy(port), "round {round}: port {port} still held");
        let mut child =
            t.f.command(&["start", "k"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !port_busy(port) {
            assert!(
                Instant::now() < deadline,
                "round {round}: the start never took port {port}"
            );
            std::hint::spin_loop();
        }
        let _ = child.kill();
        let _ = child.wait();
        let run = t.f.run(&["start", "k"]).success();
        assert!(
            !run.stderr.contains("is taken"),
            "round {round}: {}",
            run.stderr
        );
        let containers = t.project(&project);
        assert_eq!(containers.len(), 1, "round {round}: {containers:?}");
        assert_eq!(containers[0].2, "running", "round {round}");
    }
}

#[test]
fn a_foreign_container_holding_a_port_is_named_with_its_instance() {
    let Some(t) = EngineTest::new("a_foreign_container_holding_a_port", &["web"], WEB, "") else {
        return;
    };
    t.f.run(&["create", "a"]).success();
    let port = web_port(&t.f, "a");
    // Another stack's instance (labelled with this test's stack so the
    // harness removes it) publishes the port first.
    let name = format!("{}-squatter", t.stack);
    let labels = HashMap::from([
        (
            "com.docker.compose.project".to_string(),
            "elsewhere-x".to_string(),
        ),
        ("com.docker.compose.service".to_string(), "web".to_string()),
        ("mrctl.stack".to_string(), t.stack.clone()),
        ("mrctl.instance".to_string(), "x".to_string()),
    ]);
    let body = ContainerCreateBody {
        image: Some(IMAGE.to_string()),
        cmd: Some(vec!["sleep".into(), "600".into()]),
        labels: Some(labels),
        exposed_ports: Some(vec!["8080/tcp".to_string()]),
        host_config: Some(HostConfig {
            port_bindings: Some(HashMap::from([(
                "8080/tcp".to_string(),
                Some(vec![PortBinding {
                    host_ip: None,
                    host_port: Some(port.to_string()),
                }]),
            )])),
            ..Default::default()
        }),
        ..Default::default()
    };
    let d = docker();
    runtime().block_on(async {
        d.create_container(
            Some(CreateContainerOptionsBuilder::new().name(&name).build()),
            body,
        )
        .await
        .unwrap();
        d.start_container(&name, None).await.unwrap();
    });
    t.f.run(&["start", "a"]).code(5).stderr_is(&format!(
        "error: port {port} of service `web` of instance `a` is taken: container `{name}` of instance `x` of stack `{}` (project `elsewhere-x`) publishes it\n",
        t.stack
    ));
    assert!(t.project(&format!("{}-a", t.stack)).is_empty());
}

// ---------------------------------------------------------------- restore

fn env_value(f: &Fixture, name: &str, key: &str) -> Option<String> {
    f.read(&format!(".instances/{name}/.env"))
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")).map(str::to_string))
}

#[test]
fn restore_as_takes_the_new_names_domain_and_project() {
    let f = Fixture::mindroom();
    f.run(&["create", "orig"]).success();
    f.run(&["backup", "orig", "-o", "orig.tgz"]).success();
    // A copy beside the original: its own domain and project.
    f.run(&["restore", "orig.tgz", "--as", "twin"]).success();
    let reg = f.registry();
    assert_eq!(reg["instances"]["twin"]["domain"], "twin.localhost");
    assert_eq!(reg["instances"]["twin"]["project"], "mindroom-twin");
    // The original gone, a copy must still not take its domain: creating
    // the original's name again works.
    f.run(&["clean", "orig", "--yes"]).success();
    f.run(&["restore", "orig.tgz", "--as", "copy"]).success();
    let reg = f.registry();
    assert_eq!(reg["instances"]["copy"]["domain"], "copy.localhost");
    assert_eq!(reg["instances"]["copy"]["project"], "mindroom-copy");
    assert_eq!(
        env_value(&f, "copy", "INSTANCE_DOMAIN").as_deref(),
        Some("copy.localhost")
    );
    assert_eq!(
        env_value(&f, "copy", "COMPOSE_PROJECT_NAME").as_deref(),
        Some("mindroom-copy")
    );
    f.run(&["create", "orig"]).success();
    assert_eq!(
        f.registry()["instances"]["orig"]["domain"],
        "orig.localhost"
    );
}

#[test]
fn restore_domain_option_and_a_taken_domain_is_a_conflict() {
    let f = Fixture::mindroom();
    f.run(&["create", "orig", "orig.example.com"]).success();
    f.run(&["backup", "orig", "-o", "orig.tgz"]).success();
    f.run(&[
        "restore",
        "orig.tgz",
        "--as",
        "c",
        "--domain",
        "c.example.com",
    ])
    .success();
    assert_eq!(f.registry()["instances"]["c"]["domain"], "c.example.com");
    assert_eq!(
        env_value(&f, "c", "INSTANCE_DOMAIN").as_deref(),
        Some("c.example.com")
    );
    let before = f.snapshot();
    f.run(&["restore", "orig.tgz", "--as", "d", "--domain", "orig.example.com"])
        .code(5)
        .stderr_is(
            "error: domain `orig.example.com` for instance `d` is taken: instance `orig` already uses it\n",
        );
    f.run(&["restore", "orig.tgz", "--as", "d", "--domain", "bad domain"])
        .code(2)
        .stderr_has("error: invalid domain `bad domain`");
    super::common::assert_same(&before, &f.snapshot(), "a refused restore");
    // Restored under its own name, the instance keeps its domain.
    f.run(&["clean", "orig", "--yes"]).success();
    f.run(&["restore", "orig.tgz"]).success();
    assert_eq!(
        f.registry()["instances"]["orig"]["domain"],
        "orig.example.com"
    );
}

#[test]
fn a_taken_domain_or_project_at_create_is_a_conflict() {
    let f = Fixture::mindroom();
    f.run(&["create", "prod", "prod.example.com"]).success();
    f.run(&["create", "x", "prod.example.com"])
        .code(5)
        .stderr_is(
            "error: domain `prod.example.com` for instance `x` is taken: instance `prod` already uses it\n",
        );
    let g = Fixture::new(&format!(
        "project_name = \"fixed\"\n{}",
        super::common::MINDROOM.replace(
            "[ports.base]",
            "[ports]\nhost_check = false\n\n[ports.base]"
        )
    ));
    g.run(&["create", "a"]).success();
    g.run(&["create", "b"]).code(5).stderr_is(
        "error: project `fixed` for instance `b` is taken: instance `a` already uses it (`project_name` in `mrctl.toml` gives it)\n",
    );
}

// ---------------------------------------------------------------- secrets

/// An env template with one generated secret under a key that does not
/// look secret (so only `secrets.json` says it is one).
const SECRET_ENV: &str = "INSTANCE_NAME={{ name }}\n\
    {% for port_name, port in ports|items %}{{ port_name|upper }}_PORT={{ port }}\n{% endfor %}\
    APP_SEED={{ secret(\"seed\") }}\n";

/// An operator's key added to the env file: masked by its name.
const OPERATOR_KEY: &str = "tok3nOperatorValue9";

/// Creates instance `a` with a generated secret and an operator's key;
/// returns the generated secret.
fn with_secrets(f: &Fixture) -> String {
    f.write("templates/env.j2", SECRET_ENV);
    f.run(&["create", "a"]).success();
    let mut env = f.read(".instances/a/.env");
    env.push_str(&format!("SECRET_KEY={OPERATOR_KEY}\n"));
    f.write(".instances/a/.env", &env);
    let secrets: HashMap<String, String> =
        serde_json::from_str(&f.read(".instances/a/secrets.json")).unwrap();
    let seed = secrets["seed"].clone();
    assert!(seed.len() >= 4, "{seed}");
    seed
}

/// Runs `args` plainly and with `-vvv`: it ends with `code`, says `***`
/// where the secret was, and neither output holds a secret.
fn masked_run(f: &Fixture, what: &str, args: &[&str], code: i32, secrets: &[&str]) {
    for verbose in [false, true] {
        let mut all = Vec::new();
        if verbose {
            all.push("-vvv");
        }
        all.extend_from_slice(args);
        let run = f.run(&all);
        assert_eq!(run.code, code, "{what} {all:?}: {run:#?}");
        assert!(run.stderr.contains("***"), "{what} {all:?}: {run:#?}");
        for s in secrets {
            assert!(
                !run.stderr.contains(s) && !run.stdout.contains(s),
                "{what} {all:?}: the secret shows: {run:#?}"
            );
        }
    }
}

#[test]
fn secrets_in_validation_errors_are_masked() {
    let f = Fixture::new(&format!(
        "{}\n[instances]\nenv_template = \"templates/env.j2\"\n",
        super::common::MINDROOM.replace(
            "[ports.base]",
            "[ports]\nhost_check = false\n\n[ports.base]"
        )
    ));
    let seed = with_secrets(&f);
    let secrets = [seed.as_str(), OPERATOR_KEY];
    for (what, field) in [
        ("mem_limit", "mem_limit: \"${SECRET_KEY}\""),
        ("cpus", "cpus: \"${APP_SEED}\""),
        ("volume", "volumes: [\"${APP_SEED}:/data\"]"),
    ] {
        f.write(
            "docker-compose.yml",
            &format!("services:\n  backend:\n    image: busybox:latest\n    {field}\n"),
        );
        // `backup` loads the project before it needs the engine.
        masked_run(&f, what, &["backup", "a", "-o", "a.tgz"], 3, &secrets);
    }
}

#[test]
fn secrets_in_engine_errors_and_warnings_are_masked() {
    let Some(t) = EngineTest::new(
        "secrets_in_engine_errors",
        &["web"],
        WEB,
        "[instances]\nenv_template = \"templates/env.j2\"\n",
    ) else {
        return;
    };
    let seed = with_secrets(&t.f);
    let secrets = [seed.as_str(), OPERATOR_KEY];
    let service = |field: &str| {
        format!(
            "services:\n  web:\n    image: busybox:latest\n    command: [\"sleep\", \"600\"]\n    {field}\n"
        )
    };
    let cases = [
        (
            "image",
            "services:\n  web:\n    image: \"busybox:${SECRET_KEY}\"\n".to_string(),
        ),
        ("user", service("user: \"${APP_SEED}\"")),
        ("working_dir", service("working_dir: \"rel-${SECRET_KEY}\"")),
        (
            "extra_hosts",
            service("extra_hosts: [\"db:${SECRET_KEY}\"]"),
        ),
        (
            "network name",
            format!(
                "{}networks:\n  default:\n    name: \"net-${{APP_SEED}}\"\n    external: true\n",
                service("stop_grace_period: 1s")
            ),
        ),
    ];
    for (what, compose) in cases {
        t.f.write("docker-compose.yml", &compose);
        // A missing external network is "not found" (4); the rest, refusals (1).
        let code = if what == "network name" { 4 } else { 1 };
        masked_run(&t.f, what, &["start", "a"], code, &secrets);
        // What a failed start left is removed before the next case.
        t.f.run(&["stop", "a"]).success();
        for (_, id, _) in t.project(&format!("{}-a", t.stack)) {
            t.remove_container(&id);
        }
    }
    // A warning: status reports an instance whose compose file it cannot read.
    t.f.write(
        "docker-compose.yml",
        &service("mem_limit: \"${SECRET_KEY}\""),
    );
    masked_run(&t.f, "status warning", &["status", "a"], 0, &secrets);
}
