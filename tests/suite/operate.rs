//! Operating instances against a real engine: tiers and in-place updates,
//! backup and restore, doctor, readiness and health.

use std::time::{Duration, Instant};

use super::engine_harness::EngineTest;

const SLEEPER: &str =
    "[\"sh\", \"-c\", \"trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done\"]";

fn two_services() -> String {
    format!(
        "services:\n  small:\n    image: busybox:latest\n    command: {SLEEPER}\n    mem_limit: 32m\n  big:\n    image: busybox:latest\n    command: {SLEEPER}\n"
    )
}

const TIERS: &str = "[instances]\ndefault_tier = \"free\"\n\n[tiers.free]\nmemory = \"64m\"\ncpus = 0.25\n\n[tiers.pro]\nmemory = \"256m\"\ncpus = 1.0\npids = 200\n";

fn host_limits(t: &EngineTest, container: &str) -> (i64, i64, i64) {
    let hc = t.inspect(container).host_config.unwrap();
    (
        hc.memory.unwrap_or_default(),
        hc.nano_cpus.unwrap_or_default(),
        hc.pids_limit.unwrap_or_default(),
    )
}

#[test]
fn tier_limits_apply_and_update_in_place() {
    let Some(t) = EngineTest::new("tier_limits", &[], &two_services(), TIERS) else {
        return;
    };
    t.f.run(&["up", "c"]).success();
    let p = format!("{}-c", t.stack);
    // The service's own lower limit wins; the other gets the tier's.
    assert_eq!(
        host_limits(&t, &format!("{p}-small-1")),
        (32 << 20, 250_000_000, 0)
    );
    assert_eq!(
        host_limits(&t, &format!("{p}-big-1")),
        (64 << 20, 250_000_000, 0)
    );
    let ids = t.project(&p);

    let run = t.f.run(&["update", "c", "--tier", "pro"]).success();
    assert!(
        run.stderr.contains("limits changed in place"),
        "{}",
        run.stderr
    );
    assert_eq!(
        host_limits(&t, &format!("{p}-big-1")),
        (256 << 20, 1_000_000_000, 200)
    );
    assert_eq!(
        host_limits(&t, &format!("{p}-small-1")),
        (32 << 20, 1_000_000_000, 200)
    );
    assert_eq!(ids, t.project(&p), "update recreated containers");
    assert_eq!(t.f.registry()["instances"]["c"]["tier"], "pro");

    t.f.run(&["update", "c", "--memory", "128m", "--cpus", "0.5"])
        .success();
    assert_eq!(
        host_limits(&t, &format!("{p}-big-1")),
        (128 << 20, 500_000_000, 200)
    );
    assert_eq!(ids, t.project(&p));
    let status = t.f.run(&["status", "c"]).success();
    assert!(
        status.stdout.contains("memory 128m, cpus 0.5, pids 200"),
        "{}",
        status.stdout
    );
    let j = t.f.run(&["status", "c", "--json"]).success().json();
    assert_eq!(j[1]["limits"]["memory"], 128 << 20);

    // A start after the update changes nothing.
    t.f.run(&["start", "c"]).success();
    assert_eq!(ids, t.project(&p));
    t.f.run(&["update", "c"])
        .code(2)
        .stderr_has("say what to change");
    t.f.run(&["update", "c", "--tier", "gold"])
        .code(2)
        .stderr_has("no tier `gold`");
}

const WITH_VOLUME: &str = r#"
services:
  app:
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done"]
    ports: ["${WEB_PORT}:80"]
    volumes:
      - store:/store
      - ${DATA_DIR}/config:/config
volumes:
  store: {}
"#;

fn exec(container: &str, script: &str) -> String {
    let out = std::process::Command::new("docker")
        .args(["exec", container, "sh", "-c", script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn backup_clean_restore_round_trip_is_byte_identical() {
    let Some(t) = EngineTest::new("backup_round_trip", &["web"], WITH_VOLUME, "") else {
        return;
    };
    t.f.run(&["up", "a"]).success();
    let c = format!("{}-a-app-1", t.stack);
    exec(
        &c,
        "echo hello > /store/file && mkdir -p /store/d && head -c 70000 /dev/urandom > /store/d/bin && ln -s file /store/link",
    );
    let volume_sums = exec(&c, "cd /store && find . -type f | sort | xargs sha256sum");
    std::fs::write(
        t.f.path("instance_data/a/config/settings.yml"),
        "key: value\n",
    )
    .unwrap();
    let big: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(t.f.path("instance_data/a/config/blob"), &big).unwrap();
    let env = t.f.read(".instances/a/.env") + "OPENAI_API_KEY=sk-keep-me\n";
    t.f.write(".instances/a/.env", &env);
    let secrets_before = std::fs::read(t.f.path(".instances/a/secrets.json")).ok();

    t.f.run(&["stop", "a"]).success();
    t.f.run(&["backup", "a", "-o", "a.tgz"]).success();
    let j =
        t.f.run(&["backup", "a", "-o", "a2.tgz", "--json"])
            .success()
            .json();
    assert_eq!(j["volumes"][0]["key"], "store");
    t.f.run(&["clean", "a", "--yes"]).success();
    assert!(t.project(&format!("{}-a", t.stack)).is_empty());
    assert_eq!(
        t.project_resources(&format!("{}-a", t.stack)).1,
        Vec::<String>::new()
    );

    t.f.run(&["restore", "a.tgz"])
        .success()
        .stderr_has("restored instance `a`");
    t.f.run(&["start", "a"]).success();
    assert_eq!(
        exec(&c, "cd /store && find . -type f | sort | xargs sha256sum"),
        volume_sums
    );
    assert_eq!(exec(&c, "readlink /store/link").trim(), "file");
    assert_eq!(exec(&c, "cat /config/settings.yml"), "key: value\n");
    assert_eq!(
        std::fs::read(t.f.path("instance_data/a/config/blob")).unwrap(),
        big
    );
    assert!(
        t.f.read(".instances/a/.env")
            .contains("OPENAI_API_KEY=sk-keep-me\n")
    );
    assert_eq!(
        std::fs::read(t.f.path(".instances/a/secrets.json")).ok(),
        secrets_before
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(t.f.path(".instances/a/.env"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }
    // Restoring over an existing instance needs --force; a copy needs --as.
    t.f.run(&["restore", "a.tgz"])
        .code(5)
        .stderr_has("pass `--force`");
    let run = t.f.run(&["restore", "a.tgz", "--as", "copy"]).success();
    assert!(
        run.stderr.contains("is taken: a fresh one is allocated"),
        "{}",
        run.stderr
    );
    assert_ne!(
        t.f.registry()["instances"]["copy"]["ports"]["web"],
        t.f.registry()["instances"]["a"]["ports"]["web"]
    );
    t.f.run(&["start", "copy"]).success();
    let cc = format!("{}-copy-app-1", t.stack);
    assert_eq!(
        exec(&cc, "cd /store && find . -type f | sort | xargs sha256sum"),
        volume_sums
    );
    t.f.run(&["restore", "a.tgz", "--force"]).success();
}

#[test]
fn damaged_archives_are_refused_and_change_nothing() {
    let Some(t) = EngineTest::new("damaged_archives", &["web"], WITH_VOLUME, "") else {
        return;
    };
    t.f.run(&["create", "a"]).success();
    t.f.run(&["backup", "a", "-o", "a.tgz"])
        .success()
        .stderr_has("does not exist yet: nothing to back up");
    // Backing up a never-started instance must not create its volume.
    let inspect = std::process::Command::new("docker")
        .args(["volume", "inspect", &format!("{}-a_store", t.stack)])
        .output()
        .unwrap();
    assert!(!inspect.status.success(), "backup created the volume");
    t.f.run(&["clean", "a", "--yes"]).success();
    let good = std::fs::read(t.f.path("a.tgz")).unwrap();
    let truncated = &good[..good.len() / 2];
    std::fs::write(t.f.path("cut.tgz"), truncated).unwrap();
    std::fs::write(t.f.path("junk.tgz"), b"not an archive at all").unwrap();
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x55;
    std::fs::write(t.f.path("flip.tgz"), &flipped).unwrap();
    for bad in ["cut.tgz", "junk.tgz", "flip.tgz"] {
        let before = t.f.snapshot();
        let run = t.f.run(&["restore", bad]).code(3);
        assert!(
            run.stderr.contains(&format!("{bad}` is not usable")),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains("nothing was changed"), "{}", run.stderr);
        super::common::assert_same(&before, &t.f.snapshot(), bad);
        assert!(t.containers().is_empty());
        assert!(t.project_resources(&format!("{}-a", t.stack)).1.is_empty());
    }
    // clean --backup writes the archive before deleting anything.
    t.f.run(&["restore", "a.tgz"]).success();
    t.f.run(&["clean", "a", "--yes", "--backup", "-o", "again.tgz"])
        .success();
    assert!(t.f.path("again.tgz").is_file());
    t.f.run(&["restore", "again.tgz"]).success();
}

#[test]
fn doctor_finds_drift_and_fixes_it() {
    let compose = format!(
        "services:\n  app:\n    image: busybox:latest\n    command: {SLEEPER}\n    ports: [\"${{WEB_PORT}}:80\"]\n  side:\n    image: busybox:latest\n    command: {SLEEPER}\n"
    );
    let Some(t) = EngineTest::new("doctor_drift", &["web"], &compose, "") else {
        return;
    };
    t.f.run(&["up", "a"]).success();
    t.f.run(&["doctor"]).success();
    let j = t.f.run(&["doctor", "--json"]).success().json();
    assert_eq!(j["ok"], true);
    // An instance never started has no containers: a warning, not ok.
    t.f.run(&["create", "b"]).success();
    t.f.run(&["doctor"]).code(7).stdout_has(
        "instance `b` has no containers: it was never started or was removed; `mrctl start b`",
    );

    // Drift 1: a container removed by hand.
    t.remove_container(&format!("{}-a-side-1", t.stack));
    // Drift 2: an orphan carrying this stack directory's identity (a network
    // of a project nobody owns).
    let orphan = format!("{}-ghost_default", t.stack);
    let reg = t.f.registry();
    let out = std::process::Command::new("docker")
        .args([
            "network",
            "create",
            "--label",
            &format!("mrctl.stack={}", t.stack),
            "--label",
            &format!("mrctl.stack-id={}", reg["stack"]["id"].as_str().unwrap()),
            "--label",
            &format!("mrctl.stack-dir={}", reg["stack"]["dir"].as_str().unwrap()),
            "--label",
            &format!("com.docker.compose.project={}-ghost", t.stack),
            &orphan,
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    // Drift 3: a data directory deleted.
    std::fs::remove_dir_all(t.f.path("instance_data/b")).unwrap();
    // Drift 4: a foreign process on b's port.
    let port = t.f.registry()["instances"]["b"]["ports"]["web"]
        .as_u64()
        .unwrap() as u16;
    let listener = std::net::TcpListener::bind(("0.0.0.0", port)).unwrap();

    let run = t.f.run(&["doctor"]).code(7);
    assert!(
        run.stdout.contains("instance `a`: no container for `side`"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!(
            "project `{}-ghost` has no registry entry",
            t.stack
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("instance `b`: its data directory"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!(
            "instance `b`: port {port} (`web`) is taken by another process"
        )),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("mrctl start a"), "{}", run.stdout);
    assert_eq!(run.stderr, "error: doctor found 5 problems\n");
    let j = t.f.run(&["doctor", "--json"]).code(7).json();
    assert_eq!(j["problems"], 5);

    // --fix repairs the safe ones; the orphan waits for --yes; the port is the operator's.
    let run = t.f.run(&["doctor", "--fix"]).code(7);
    assert!(
        run.stderr.contains("not removing project"),
        "{}",
        run.stderr
    );
    assert_eq!(t.project(&format!("{}-a", t.stack)).len(), 2);
    assert!(t.f.path("instance_data/b/config").is_dir());
    drop(listener);
    t.f.run(&["doctor", "--fix", "--yes"]).success();
    let nets = std::process::Command::new("docker")
        .args(["network", "ls", "-q", "--filter", &format!("name={orphan}")])
        .output()
        .unwrap();
    assert!(nets.stdout.is_empty(), "orphan network survived");
    t.f.run(&["doctor"]).success();
}

#[test]
fn wait_and_health() {
    let compose = r#"
services:
  db:
    image: busybox:latest
    command: ["sh", "-c", "sleep 2; touch /tmp/ready; trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 500ms
      retries: 30
  migrate:
    image: busybox:latest
    command: ["sh", "-c", "echo migrated"]
  slow:
    image: busybox:latest
    command: ["sh", "-c", "[ -n \"$$MAKE_READY\" ] && touch /tmp/ok; echo slow-started; trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done"]
    environment:
      MAKE_READY: ${MAKE_READY:-}
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ok"]
      interval: 500ms
      retries: 1000
"#;
    let Some(t) = EngineTest::new("wait_and_health", &[], compose, "") else {
        return;
    };
    t.f.run(&["create", "w"]).success();
    // `slow` never gets healthy: --wait times out naming it with its logs.
    let started = Instant::now();
    let run =
        t.f.run(&["start", "w", "--wait", "--timeout", "6s"])
            .code(1);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(
        run.stderr.contains(
            "error: service `slow` of instance `w` is not ready after 6s (not ready: `slow`)"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("slow-started"), "{}", run.stderr);
    assert!(
        run.stderr.contains("`db` running, healthy"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("`migrate` exited (0)"),
        "{}",
        run.stderr
    );
    t.f.run(&["health", "w"])
        .code(7)
        .stderr_has("instance `w` is not healthy: `slow`");
    let j = t.f.run(&["health", "w", "--json"]).code(7).json();
    assert_eq!(j["healthy"], false);

    // `slow` made healthy by its env: it is recreated and --wait succeeds.
    let env = t.f.read(".instances/w/.env") + "MAKE_READY=1\n";
    t.f.write(".instances/w/.env", &env);
    t.f.run(&["start", "w", "--wait", "--timeout", "60s"])
        .success()
        .stderr_has("every service of `w` is ready");
    t.f.run(&["health", "w"]).success();
    let j = t.f.run(&["health", "w", "--json"]).success().json();
    assert_eq!(j["healthy"], true);
    // A stopped instance is not healthy, though its processes exited 0.
    t.f.run(&["stop", "w"]).success();
    t.f.run(&["health", "w"]).code(7);
    // up --wait works the same way.
    t.f.run(&["up", "w", "--wait"])
        .success()
        .stderr_has("every service of `w` is ready");
}

#[test]
fn exec_runs_commands_and_passes_the_exit_code() {
    let compose = format!(
        "services:\n  app:\n    image: busybox:latest\n    command: {SLEEPER}\n    environment:\n      WHO: ${{INSTANCE_NAME}}\n"
    );
    let Some(t) = EngineTest::new("exec_runs_commands", &[], &compose, "") else {
        return;
    };
    t.f.run(&["up", "x"]).success();
    t.f.run(&["exec", "x", "app", "--", "sh", "-c", "echo hi $WHO"])
        .success()
        .stdout_is("hi x\n");
    t.f.run(&[
        "exec",
        "x",
        "app",
        "--",
        "sh",
        "-c",
        "echo oops >&2; exit 3",
    ])
    .code(3)
    .stderr_is("oops\n");
    t.f.run(&[
        "exec",
        "x",
        "app",
        "-e",
        "A=1",
        "-w",
        "/tmp",
        "--",
        "sh",
        "-c",
        "echo $A $(pwd)",
    ])
    .success()
    .stdout_is("1 /tmp\n");
    let mut cmd = t.f.command(&["exec", "x", "app", "--", "cat"]);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"piped in\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "piped in\n");
    t.f.run(&["exec", "x", "nope", "--", "true"])
        .code(2)
        .stderr_has("no container for service `nope`");
    // On a terminal: a TTY is allocated (script(1) provides one).
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_ok()
    {
        let line = format!("'{}' exec x app -- tty", env!("CARGO_BIN_EXE_mrctl"));
        let out = std::process::Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .current_dir(t.f.dir())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("/dev/pts/"), "{text}");
    }
}

#[test]
fn logs_json_and_man_page() {
    let compose = "services:\n  app:\n    image: busybox:latest\n    command: [\"sh\", \"-c\", \"echo out-line; echo err-line >&2; sleep 1000\"]\n";
    let Some(t) = EngineTest::new("logs_json", &[], compose, "") else {
        return;
    };
    t.f.run(&["up", "j"]).success();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = t.f.run(&["logs", "j", "--json"]).success();
        let lines: Vec<serde_json::Value> = out
            .stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        if lines.len() >= 2 {
            assert!(lines.iter().any(|l| l["line"] == "out-line"
                && l["stream"] == "stdout"
                && l["source"] == "app"));
            assert!(
                lines
                    .iter()
                    .any(|l| l["line"] == "err-line" && l["stream"] == "stderr")
            );
            break;
        }
        assert!(Instant::now() < deadline, "{out:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let man = t.f.run(&["man"]).success();
    assert!(
        man.stdout.contains(".TH mrctl 1"),
        "{}",
        &man.stdout[..200.min(man.stdout.len())]
    );
}
