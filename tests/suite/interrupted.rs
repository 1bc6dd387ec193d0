//! What interrupted and killed commands leave behind, against a real
//! engine: volume helpers of a killed backup or restore, a data directory
//! deleted or made by the engine, and a SIGKILL campaign over backup and
//! restore after which every instance is still cleanable.

use std::process::Stdio;
use std::time::{Duration, Instant};

use super::engine_harness::{EngineTest, docker};

const SLEEPER: &str =
    "[\"sh\", \"-c\", \"trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done\"]";

fn compose() -> String {
    format!(
        "services:\n  app:\n    image: busybox:latest\n    command: {SLEEPER}\n    volumes: [\"data:/data\", \"${{DATA_DIR}}/config:/config\", \"${{DATA_DIR}}/cache/deep:/cache\"]\nvolumes:\n  data: {{}}\n"
    )
}

/// Helper containers of this test's stack, by name.
fn helpers(t: &EngineTest) -> Vec<String> {
    let out = docker(&[
        "ps",
        "-a",
        "--filter",
        "label=mrctl.helper",
        "--filter",
        &format!("label=mrctl.stack={}", t.stack),
        "--format",
        "{{.Names}}",
    ]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Leaves a helper container holding `volume`, exactly as a backup or
/// restore killed while it streamed the volume leaves it.
fn leave_helper(t: &EngineTest, instance: &str, volume: &str) -> String {
    let name = format!("mrctl-helper-killed{}", helpers(t).len());
    let mut args: Vec<String> = vec!["create".into(), "--name".into(), name.clone()];
    for (k, v) in t.identity_labels() {
        args.push("--label".into());
        args.push(format!("{k}={v}"));
    }
    for l in [
        format!("mrctl.instance={instance}"),
        "mrctl.helper=volume-archive".to_string(),
    ] {
        args.push("--label".into());
        args.push(l);
    }
    args.extend([
        "--network".into(),
        "none".into(),
        "-v".into(),
        format!("{volume}:/mrctl-volume"),
        "busybox:latest".into(),
        "true".into(),
    ]);
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = docker(&a);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    name
}

#[test]
fn helpers_left_by_a_killed_backup_are_found_and_removed() {
    let Some(t) = EngineTest::new("killed_backup_helpers", &[], &compose(), "") else {
        return;
    };
    t.f.run(&["up", "v"]).success();
    let volume = format!("{}-v_data", t.stack);
    let helper = leave_helper(&t, "v", &volume);
    // doctor sees it, and names the instance.
    let run = t.f.run(&["doctor"]).code(7);
    assert!(
        run.stdout.contains(&format!(
            "helper container `{helper}` left by an interrupted backup or restore of instance `v`"
        )),
        "{}",
        run.stdout
    );
    // The next backup removes it before it starts.
    t.f.run(&["backup", "v", "-o", "v.tgz"])
        .success()
        .stderr_has(&format!(
            "helper container `{helper}` left by an interrupted"
        ));
    assert!(helpers(&t).is_empty());
    // The next restore too.
    leave_helper(&t, "v", &volume);
    t.f.run(&["restore", "v.tgz", "--force"]).success();
    assert!(helpers(&t).is_empty());
    // doctor --fix.
    leave_helper(&t, "v", &volume);
    t.f.run(&["doctor", "--fix"]).success();
    assert!(helpers(&t).is_empty());
    t.f.run(&["doctor"]).success();
    // clean: the volume the helper holds is removed too, not "in use".
    leave_helper(&t, "v", &volume);
    t.f.run(&["clean", "v", "--yes"]).success();
    assert!(helpers(&t).is_empty());
    assert!(!docker(&["volume", "inspect", &volume]).status.success());
}

#[test]
fn start_makes_a_missing_data_directory_with_its_marker() {
    let Some(t) = EngineTest::new("missing_data_dir", &[], &compose(), "") else {
        return;
    };
    t.f.run(&["create", "d"]).success();
    let data = t.f.path("instance_data/d");
    std::fs::remove_dir_all(&data).unwrap();
    t.f.run(&["start", "d"]).success();
    assert!(data.join(".mrctl-instance").is_file());
    assert!(data.join("config").is_dir() && data.join("cache/deep").is_dir());
    t.f.run(&["doctor"]).success();
    t.f.run(&["clean", "d", "--yes"]).success();
    assert!(!data.exists());
}

#[test]
fn doctor_marks_a_data_directory_the_engine_made() {
    let Some(t) = EngineTest::new("engine_made_data_dir", &[], &compose(), "") else {
        return;
    };
    t.f.run(&["create", "e"]).success();
    let data = t.f.path("instance_data/e");
    std::fs::remove_dir_all(&data).unwrap();
    // What an earlier mrctl let the engine do: bind sources made by the
    // engine, no marker.
    let project = format!("{}-e", t.stack);
    let out = docker(&[
        "run",
        "--rm",
        "--label",
        &format!("mrctl.stack={}", t.stack),
        "-v",
        &format!("{}/config:/config", data.display()),
        "-v",
        &format!("{}/cache/deep:/cache", data.display()),
        "busybox:latest",
        "sh",
        "-c",
        "echo log > /cache/file",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!data.join(".mrctl-instance").exists());
    let run = t.f.run(&["doctor"]).code(7);
    assert!(run.stdout.contains("the engine made it"), "{}", run.stdout);
    t.f.run(&["doctor", "--fix"]).success();
    assert!(data.join(".mrctl-instance").is_file());
    t.f.run(&["clean", "e", "--yes"]).success();
    assert!(!data.exists());
    assert!(t.project(&project).is_empty());

    // A directory with anything else in it is not proved to be the instance's.
    t.f.run(&["create", "f"]).success();
    let data = t.f.path("instance_data/f");
    std::fs::remove_dir_all(&data).unwrap();
    std::fs::create_dir_all(data.join("config")).unwrap();
    std::fs::write(data.join("notes.txt"), "someone's").unwrap();
    t.f.run(&["doctor", "--fix"]).code(7);
    assert!(!data.join(".mrctl-instance").exists());
    t.f.run(&["clean", "f", "--yes", "--keep-data"]).success();
    assert!(data.join("notes.txt").is_file());
}

#[test]
fn clean_json_leaves_no_lock_file() {
    let Some(t) = EngineTest::new("clean_json_lock", &[], &compose(), "") else {
        return;
    };
    t.f.run(&["create", "j"]).success();
    t.f.run(&["clean", "j", "--yes", "--json"]).success().json();
    assert!(!t.f.path(".instances/j.lock").exists());
}

#[test]
fn sigkill_during_backup_and_restore_leaves_every_instance_cleanable() {
    let Some(t) = EngineTest::new("sigkill_backup_restore", &[], &compose(), "") else {
        return;
    };
    let f = &t.f;
    // Enough data that streaming the volume takes a moment to interrupt.
    f.run(&["up", "b0"]).success();
    let out = docker(&[
        "exec",
        &format!("{}-b0-app-1", t.stack),
        "sh",
        "-c",
        "head -c 8000000 /dev/urandom > /data/blob",
    ]);
    assert!(out.status.success());
    f.run(&["stop", "b0"]).success();
    f.run(&["backup", "b0", "-o", "base.tgz"]).success();
    let budget = Duration::from_secs(30);
    let started = Instant::now();
    let (mut iterations, mut killed, mut repaired, mut helpers_left) = (0, 0, 0, 0);
    while started.elapsed() < budget && iterations < 60 {
        iterations += 1;
        let args: Vec<&str> = match iterations % 3 {
            0 => vec!["restore", "base.tgz", "--as", "r1", "--force"],
            1 => vec!["backup", "b0", "-o", "again.tgz"],
            _ => vec!["restore", "base.tgz", "--force"],
        };
        let mut child = f
            .command(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let wait = getrandom::u64().unwrap() % 1_200;
        std::thread::sleep(Duration::from_millis(wait));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        let _ = child.wait();
        helpers_left += helpers(&t).len();
        if f.run(&["doctor"]).code != 0 {
            repaired += 1;
            let fixed = f.run(&["doctor", "--fix", "--yes"]);
            assert!(
                fixed.code == 0 || fixed.code == 7,
                "iteration {iterations}: {fixed:?}"
            );
        }
        // Every instance registered now can be backed up and is cleanable
        // at the end; no helper survives doctor --fix.
        assert!(helpers(&t).is_empty(), "iteration {iterations}");
    }
    let names: Vec<String> = f.registry()["instances"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    for name in &names {
        f.run(&["clean", name, "--yes"]).success();
    }
    // Leftover files of killed restores (an interrupted create) go too.
    let doctor = f.run(&["doctor", "--fix", "--yes"]);
    assert_eq!(doctor.code, 0, "{doctor:?}");
    assert!(f.registry()["instances"].as_object().unwrap().is_empty());
    let (nets, vols) = t.project_resources(&format!("{}-b0", t.stack));
    assert!(nets.is_empty() && vols.is_empty(), "{nets:?} {vols:?}");
    eprintln!(
        "FIGURES sigkill-backup-restore: {iterations} iterations, {killed} killed mid-run, {helpers_left} helpers left behind, {repaired} needed doctor --fix, {} instances cleaned at the end, {:?}",
        names.len(),
        started.elapsed()
    );
}
