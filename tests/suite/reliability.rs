//! Trying hard to break mrctl: many processes at once on one stack, SIGKILL
//! at random moments, concurrent starts of one instance. Each test prints
//! its figures (processes, iterations) for docs/RELIABILITY.md.

use std::collections::HashSet;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::common::Fixture;
use super::engine_harness::EngineTest;

const SLEEPER: &str =
    "[\"sh\", \"-c\", \"trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done\"]";

fn random_below(n: u64) -> u64 {
    getrandom::u64().unwrap() % n.max(1)
}

fn spawn(f: &Fixture, args: &[String]) -> Child {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    f.command(&a)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Files that must never be left behind: registry temp files, staging dirs,
/// half-deleted directories.
fn leftovers(f: &Fixture) -> Vec<String> {
    let mut out = Vec::new();
    for dir in [
        f.dir().to_path_buf(),
        f.path(".instances"),
        f.path("instance_data"),
    ] {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if n.ends_with(".tmp")
                    || n.starts_with(".staging-")
                    || n.starts_with(".mrctl-trash-")
                {
                    out.push(n);
                }
            }
        }
    }
    out
}

/// The registry parses, no port is held twice, every instance has its files.
fn assert_consistent(f: &Fixture) -> serde_json::Value {
    let reg = f.registry();
    let mut ports = HashSet::new();
    for (name, inst) in reg["instances"].as_object().unwrap() {
        for (_, p) in inst["ports"].as_object().unwrap() {
            assert!(
                ports.insert(p.as_u64().unwrap()),
                "port {p} held twice ({name})"
            );
        }
        assert!(
            f.path(&format!(".instances/{name}/.env")).is_file(),
            "{name} has no env file"
        );
    }
    reg
}

#[test]
fn sixty_four_mixed_processes_on_one_stack() {
    // clean talks to the engine, so this runs where one answers.
    let Some(t) = EngineTest::new(
        "sixty_four_mixed_processes",
        &["backend", "frontend"],
        "services:\n  app:\n    image: busybox:latest\n",
        "",
    ) else {
        return;
    };
    let f = &t.f;
    for i in 0..16 {
        f.run(&["create", &format!("old{i}")]).success();
    }
    let started = Instant::now();
    let mut children = Vec::new();
    for i in 0..64 {
        let args: Vec<String> = match i % 8 {
            0..=2 => vec!["create".into(), format!("new{i}")],
            3 => vec!["clean".into(), "--yes".into(), format!("old{}", i / 8)],
            4 => vec!["render".into(), format!("old{}", 8 + i / 8)],
            5 => vec!["list".into(), "--json".into()],
            6 => vec![
                "ports".into(),
                format!("old{}", 8 + i / 8),
                "--format".into(),
                "env".into(),
            ],
            _ => vec![
                "create".into(),
                format!("new{i}"),
                "--port".into(),
                format!("backend={}", t.port_base + 1000 + i as u16),
            ],
        };
        children.push((args.clone(), spawn(f, &args)));
    }
    let mut created = Vec::new();
    for (args, child) in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if args[0] == "create" {
            created.push(args[1].clone());
        }
        if args[0] == "list" {
            let j: serde_json::Value =
                serde_json::from_slice(&out.stdout).expect("list --json parses mid-flight");
            assert!(j["instances"].is_array());
        }
    }
    let reg = assert_consistent(f);
    let names: HashSet<&str> = reg["instances"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for c in &created {
        assert!(
            names.contains(c.as_str()),
            "created {c} is not in the registry"
        );
    }
    for i in 0..8 {
        assert!(
            !names.contains(format!("old{i}").as_str()),
            "cleaned old{i} is still registered"
        );
    }
    assert_eq!(names.len(), created.len() + 8);
    assert!(leftovers(f).is_empty(), "{:?}", leftovers(f));
    eprintln!(
        "FIGURES mixed-processes: 64 processes ({} creates, 8 cleans, 8 renders, 8 lists, 8 ports), 0 failures, {:?}",
        created.len(),
        started.elapsed()
    );
}

#[test]
fn eight_concurrent_starts_and_stops_of_one_instance() {
    let compose = format!(
        "services:\n  a:\n    image: busybox:latest\n    command: {SLEEPER}\n  b:\n    image: busybox:latest\n    command: {SLEEPER}\n    depends_on: [a]\n"
    );
    let Some(t) = EngineTest::new("eight_concurrent_starts", &[], &compose, "") else {
        return;
    };
    t.f.run(&["create", "x"]).success();
    for round in 0..3 {
        let children: Vec<Child> = (0..8)
            .map(|i| {
                let verb = if (i + round) % 3 == 2 {
                    "stop"
                } else {
                    "start"
                };
                spawn(&t.f, &[verb.to_string(), "x".to_string()])
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let containers = t.project(&format!("{}-x", t.stack));
        let services: Vec<&str> = containers.iter().map(|(s, _, _)| s.as_str()).collect();
        assert_eq!(services, ["a", "b"], "round {round}: {containers:?}");
        let (networks, _) = t.project_resources(&format!("{}-x", t.stack));
        assert_eq!(
            networks.len(),
            1,
            "round {round}: duplicate networks {networks:?}"
        );
    }
    t.f.run(&["start", "x"]).success();
    assert!(
        t.project(&format!("{}-x", t.stack))
            .iter()
            .all(|(_, _, s)| s == "running")
    );
    eprintln!(
        "FIGURES concurrent-start-stop: 3 rounds x 8 processes, one container per service, one network"
    );
}

#[test]
fn sigkill_during_create_and_clean_never_corrupts() {
    let Some(t) = EngineTest::new(
        "sigkill_during_create_and_clean",
        &["web", "api"],
        // A command, so that `doctor --fix` can start an instance it finds
        // without containers (the imported image has none of its own).
        "services:\n  app:\n    image: busybox:latest\n    command: [\"true\"]\n",
        "",
    ) else {
        return;
    };
    let f = &t.f;
    let budget = Duration::from_secs(40);
    let started = Instant::now();
    let (mut iterations, mut killed, mut repaired) = (0, 0, 0);
    while started.elapsed() < budget && iterations < 400 {
        iterations += 1;
        let name = format!("k{}", random_below(6));
        let registered = f
            .registry_opt()
            .is_some_and(|r| r["instances"].get(&name).is_some());
        let args: Vec<String> = if registered {
            vec!["clean".into(), "--yes".into(), name.clone()]
        } else {
            vec!["create".into(), name.clone()]
        };
        let mut child = spawn(f, &args);
        std::thread::sleep(Duration::from_micros(random_below(25_000)));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        let _ = child.wait();
        // Invariant 1: the registry always parses and never holds a port twice.
        if let Some(reg) = f.registry_opt() {
            let mut ports = HashSet::new();
            for (n, inst) in reg["instances"].as_object().unwrap() {
                for (_, p) in inst["ports"].as_object().unwrap() {
                    assert!(
                        ports.insert(p.as_u64().unwrap()),
                        "iteration {iterations}: port {p} twice ({n})"
                    );
                }
            }
        }
        // Invariant 2: what disagrees with the disk, doctor reports and --fix repairs.
        if f.run(&["doctor"]).code != 0 {
            repaired += 1;
            f.run(&["doctor", "--fix", "--yes"]).success();
            f.run(&["doctor"]).success();
        }
        // Invariant 3: create and clean work afterwards, whatever was killed.
        let again = f.run(&["create", &name]);
        if again.code == 0 {
            f.run(&["clean", "--yes", &name]).success();
        } else {
            assert_eq!(again.code, 5, "iteration {iterations}: {again:?}");
        }
    }
    f.run(&["create", "final"]).success();
    assert_consistent(f);
    assert!(leftovers(f).is_empty(), "{:?}", leftovers(f));
    eprintln!(
        "FIGURES sigkill-create-clean: {iterations} iterations, {killed} killed mid-run, {repaired} needed doctor --fix, 0 corrupt registries, {:?}",
        started.elapsed()
    );
}

#[test]
fn killed_start_converges_on_the_next_start() {
    let compose = format!(
        "services:\n  a:\n    image: busybox:latest\n    command: {SLEEPER}\n  b:\n    image: busybox:latest\n    command: {SLEEPER}\n    depends_on: [a]\n  c:\n    image: busybox:latest\n    command: {SLEEPER}\n    depends_on: [b]\n"
    );
    let Some(t) = EngineTest::new("killed_start_converges", &[], &compose, "") else {
        return;
    };
    t.f.run(&["create", "s"]).success();
    let project = format!("{}-s", t.stack);
    let mut killed = 0;
    let iterations = 15;
    for i in 0..iterations {
        if i % 3 == 0 {
            t.f.run(&["clean", "s", "--yes", "-q"]).success();
            t.f.run(&["create", "s", "-q"]).success();
        }
        let mut child = spawn(&t.f, &["start".into(), "s".into()]);
        std::thread::sleep(Duration::from_millis(random_below(400)));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        let _ = child.wait();
        t.f.run(&["start", "s"]).success();
        let containers = t.project(&project);
        let services: Vec<&str> = containers.iter().map(|(s, _, _)| s.as_str()).collect();
        assert_eq!(services, ["a", "b", "c"], "iteration {i}: {containers:?}");
        assert!(
            containers.iter().all(|(_, _, s)| s == "running"),
            "iteration {i}: {containers:?}"
        );
        assert_eq!(t.project_resources(&project).0.len(), 1);
    }
    eprintln!(
        "FIGURES killed-start: {iterations} iterations, {killed} starts killed mid-run, all converged"
    );
}

#[test]
fn engine_refusal_is_reported_and_rolled_back() {
    let compose = format!(
        "services:\n  db:\n    image: busybox:latest\n    command: {SLEEPER}\n  app:\n    image: busybox:latest\n    command: {SLEEPER}\n    depends_on: [db]\nvolumes:\n  data: {{}}\n"
    );
    let Some(t) = EngineTest::new("engine_refusal_rolled_back", &[], &compose, "") else {
        return;
    };
    t.f.run(&["create", "r"]).success();
    // A foreign container (no labels) already has the name `app` would get.
    let foreign = format!("{}-r-app-1", t.stack);
    let out = std::process::Command::new("docker")
        .args([
            "create",
            "--name",
            &foreign,
            "--label",
            &format!("mrctl.stack={}", t.stack),
            "busybox:latest",
            "true",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = t.f.run(&["start", "r"]).code(5);
    let err = run
        .stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap()
        .to_string();
    assert!(
        err.contains(&format!(
            "container `{foreign}` is in the way of instance `r` (compose project `{}-r`) and belongs to an earlier mrctl run of a stack `{}` elsewhere",
            t.stack, t.stack
        )),
        "{err}"
    );
    assert!(err.contains("it has the name service `app` needs"), "{err}");
    assert!(
        err.contains(&format!(
            "rolled back what this start had created: container `{}-r-db-1`",
            t.stack
        )),
        "{err}"
    );
    // Nothing of the instance remains; the foreign container is untouched.
    assert!(t.project(&format!("{}-r", t.stack)).is_empty());
    assert_eq!(
        t.project_resources(&format!("{}-r", t.stack)),
        (vec![], vec![])
    );
    assert!(t.inspect(&foreign).id.is_some());
    t.remove_container(&foreign);
    // A refusal of the engine's own: a stop signal it does not know.
    t.f.write(
        "docker-compose.yml",
        &t.f.read("docker-compose.yml").replace(
            "    depends_on: [db]\n",
            "    depends_on: [db]\n    stop_signal: NOSUCHSIGNAL\n",
        ),
    );
    let run = t.f.run(&["start", "r"]).code(1);
    assert!(
        run.stderr.contains(&format!(
            "the Docker engine refused to create container `{}-r-app-1` for service `app`",
            t.stack
        )) && run.stderr.contains(&format!(
            "rolled back what this start had created (container `{}-r-db-1`",
            t.stack
        )),
        "{}",
        run.stderr
    );
    assert!(t.project(&format!("{}-r", t.stack)).is_empty());
    t.f.write(
        "docker-compose.yml",
        &t.f.read("docker-compose.yml")
            .replace("    stop_signal: NOSUCHSIGNAL\n", ""),
    );
    t.f.run(&["start", "r"]).success();
    eprintln!(
        "FIGURES engine-refusal: a foreign container in the way and a stop signal the engine refuses, each named, 1 container and 1 network rolled back"
    );
}

#[test]
fn secrets_never_leak_into_output() {
    let Some(t) = EngineTest::new(
        "secrets_never_leak",
        &["web"],
        "services:\n  app:\n    image: busybox:latest\n    command: [\"sleep\", \"1000\"]\n    environment:\n      DB_PASSWORD: ${DB_PASSWORD}\n",
        "[instances]\nenv_template = \"templates/env.j2\"\n",
    ) else {
        return;
    };
    t.f.write(
        "templates/env.j2",
        "INSTANCE_NAME={{ name }}\nWEB_PORT={{ ports.web }}\nDB_PASSWORD={{ secret(\"db\") }}\nKEYRING={{ secret(\"keyring_master\") }}\n",
    );
    let create = t.f.run(&["-vvv", "create", "a"]).success();
    let secrets: serde_json::Value =
        serde_json::from_str(&t.f.read(".instances/a/secrets.json")).unwrap();
    let values: Vec<String> = secrets
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(values.len(), 2);
    let mut outputs = vec![create];
    for args in [
        &["-vvv", "up", "a"][..],
        &["list"],
        &["list", "--json"],
        &["info", "a"],
        &["info", "a", "--json"],
        &["env", "a"],
        &["env", "a", "--json"],
        &["status", "a", "--json"],
        &["-vv", "doctor"],
        &["render", "a", "--json"],
    ] {
        outputs.push(t.f.run(args).success());
    }
    for out in &outputs {
        for v in &values {
            assert!(
                !out.stdout.contains(v.as_str()) && !out.stderr.contains(v.as_str()),
                "secret leaked: {out:?}"
            );
        }
    }
    let mut traced = t.f.command(&["restart", "a"]);
    traced.env("RUST_LOG", "trace");
    outputs.push(super::common::Run::from(traced.output().unwrap()));
    for out in &outputs {
        for v in &values {
            assert!(
                !out.stderr.contains(v.as_str()),
                "secret leaked with RUST_LOG=trace"
            );
        }
    }
    let shown = t.f.run(&["env", "a", "--show-secrets"]).success();
    assert!(values.iter().all(|v| shown.stdout.contains(v.as_str())));
    // A second instance gets its own secrets.
    t.f.run(&["create", "b"]).success();
    let other: serde_json::Value =
        serde_json::from_str(&t.f.read(".instances/b/secrets.json")).unwrap();
    assert_ne!(other["db"], secrets["db"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for file in [
            ".instances/a/.env",
            ".instances/a/.env.rendered",
            ".instances/a/secrets.json",
        ] {
            let mode = std::fs::metadata(t.f.path(file))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o600, "{file}");
        }
        for dir in [
            ".instances",
            ".instances/a",
            "instance_data",
            "instance_data/a",
        ] {
            let mode = std::fs::metadata(t.f.path(dir))
                .unwrap()
                .permissions()
                .mode()
                & 0o007;
            assert_eq!(mode, 0, "{dir} is readable by others");
        }
    }
}

#[test]
fn duplicate_network_left_by_a_killed_start_is_healed() {
    // A start killed while the engine was still creating its network can
    // leave two networks of one name, which made every later start fail
    // with "network … is ambiguous" (found by the killed-start test).
    let compose = format!("services:\n  a:\n    image: busybox:latest\n    command: {SLEEPER}\n");
    let Some(t) = EngineTest::new("duplicate_network_healed", &[], &compose, "") else {
        return;
    };
    t.f.run(&["create", "d"]).success();
    let project = format!("{}-d", t.stack);
    let name = format!("{project}_default");
    // As a killed start of this stack directory leaves them: with its identity.
    let mut labels = t.identity_labels();
    labels.push(("com.docker.compose.project".into(), project.clone()));
    let labels: Vec<(&str, &str)> = labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    for _ in 0..2 {
        t.create_network(&name, &labels);
    }
    assert_eq!(t.project_resources(&project).0.len(), 2);
    t.f.run(&["start", "d"]).success();
    assert_eq!(t.project_resources(&project).0, [name]);
    assert!(t.project(&project).iter().all(|(_, _, s)| s == "running"));
}
