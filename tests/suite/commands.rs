//! Every file-only command on its happy path.

use super::common::{Fixture, MINDROOM};

#[test]
fn seed_workflow_create_prod() {
    let f = Fixture::mindroom();
    f.run(&["create", "prod", "prod.example.com"])
        .success()
        .stdout_is("")
        .stderr_has("created instance `prod` (project `mindroom-prod`, domain `prod.example.com`)");
    let env = f.read(".instances/prod/.env");
    let data_dir = f.dir().canonicalize().unwrap().join("instance_data/prod");
    for line in [
        "INSTANCE_NAME=prod".to_string(),
        "BACKEND_PORT=8765".to_string(),
        "FRONTEND_PORT=3003".to_string(),
        format!("DATA_DIR={}", data_dir.display()),
        "INSTANCE_DOMAIN=prod.example.com".to_string(),
        "COMPOSE_PROJECT_NAME=mindroom-prod".to_string(),
    ] {
        assert!(env.lines().any(|l| l == line), "{line} missing from\n{env}");
    }
    for sub in ["config", "tmp", "logs"] {
        assert!(data_dir.join(sub).is_dir(), "{sub}");
    }
    assert!(data_dir.join(".mrctl-instance").is_file());
    let reg = f.registry();
    assert_eq!(reg["version"], 2);
    // The stack directory's identity: a random id and the directory.
    let id = reg["stack"]["id"].as_str().unwrap();
    assert!(
        id.len() == 16 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{id}"
    );
    assert_eq!(
        reg["stack"]["dir"].as_str().unwrap(),
        f.dir().canonicalize().unwrap().to_str().unwrap()
    );
    let prod = &reg["instances"]["prod"];
    assert_eq!(prod["ports"]["backend"], 8765);
    assert_eq!(prod["domain"], "prod.example.com");
    assert_eq!(prod["project"], "mindroom-prod");
    assert_eq!(prod["data_dir"], data_dir.to_string_lossy().as_ref());
}

#[cfg(unix)]
#[test]
fn env_and_secrets_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::mindroom();
    f.write("templates/env.j2", "DB_PASSWORD={{ secret(\"db\") }}\n");
    f.write(
        "mrctl.toml",
        &(f.read("mrctl.toml") + "\n[instances]\nenv_template = \"templates/env.j2\"\n"),
    );
    f.run(&["create", "a"]).success();
    for file in [".instances/a/.env", ".instances/a/secrets.json"] {
        let mode = std::fs::metadata(f.path(file))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{file}");
    }
    for dir in [".instances/a", "instance_data/a"] {
        let mode = std::fs::metadata(f.path(dir)).unwrap().permissions().mode() & 0o007;
        assert_eq!(mode, 0, "{dir} is world-accessible");
    }
}

#[test]
fn sequential_ports_for_several_instances() {
    let f = Fixture::mindroom();
    for name in ["prod", "dev", "personal"] {
        f.run(&["create", name]).success();
    }
    f.run(&["ports", "personal", "--format", "env"])
        .success()
        .stdout_is("BACKEND_PORT=8767\nFRONTEND_PORT=3005\n");
    f.run(&["ports", "dev"])
        .success()
        .stdout_is("NAME       VARIABLE        PORT\nbackend    BACKEND_PORT    8766\nfrontend   FRONTEND_PORT   3004\n");
    let j = f
        .run(&["ports", "dev", "--format", "json"])
        .success()
        .json();
    assert_eq!(j, serde_json::json!({"backend": 8766, "frontend": 3004}));
    let j = f.run(&["--json", "ports", "dev"]).success().json();
    assert_eq!(j["frontend"], 3004);
}

#[test]
fn ports_env_output_is_safe_to_eval() {
    let f = Fixture::mindroom();
    f.run(&["create", "1"]).success();
    let script = format!(
        "eval \"$('{}' ports 1 --format env)\" && echo \"$BACKEND_PORT/$FRONTEND_PORT\"",
        env!("CARGO_BIN_EXE_mrctl")
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &script])
        .current_dir(f.dir())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "8765/3003\n");
}

#[test]
fn offset_strategy_numbered_instances() {
    let f = Fixture::new(
        "name = \"shipsec-dev\"\n[ports]\nstrategy = \"offset\"\nstride = 100\nhost_check = false\n[ports.base]\nfrontend = 5173\nbackend = 3211\n",
    );
    for n in ["0", "1", "2", "5"] {
        f.run(&["create", n]).success();
    }
    f.run(&["ports", "5", "--format", "env"])
        .success()
        .stdout_is("FRONTEND_PORT=5673\nBACKEND_PORT=3711\n");
    f.run(&["project-name", "1"])
        .success()
        .stdout_is("shipsec-dev-1\n");
    // A named instance takes the lowest free index.
    f.run(&["create", "feature"]).success();
    assert_eq!(f.registry()["instances"]["feature"]["index"], 3);
    // An explicit index that is taken is refused naming the holder.
    f.run(&["create", "x", "--index", "2"])
        .code(5)
        .one_error_line()
        .stderr_is("error: index 2 for instance `x` is already held by instance `2`\n");
}

#[test]
fn project_name_before_create() {
    let f = Fixture::mindroom();
    f.run(&["project-name", "7"])
        .success()
        .stdout_is("mindroom-7\n");
    let j = f.run(&["project-name", "7", "--json"]).success().json();
    assert_eq!(j["project"], "mindroom-7");
}

#[test]
fn pinned_port_and_index() {
    let f = Fixture::mindroom();
    f.run(&["create", "a", "--port", "backend=9100", "--index", "4"])
        .success();
    let reg = f.registry();
    assert_eq!(reg["instances"]["a"]["ports"]["backend"], 9100);
    assert_eq!(reg["instances"]["a"]["ports"]["frontend"], 3003);
    assert_eq!(reg["instances"]["a"]["index"], 4);
}

#[test]
fn reserved_ports_are_skipped() {
    let f = Fixture::mindroom();
    f.write(
        "instances.json",
        "{\"version\": 1, \"reserved_ports\": [8765, 3003], \"instances\": {}}",
    );
    f.run(&["create", "a"]).success();
    f.run(&["ports", "a", "--format", "env"])
        .success()
        .stdout_is("BACKEND_PORT=8766\nFRONTEND_PORT=3004\n");
}

#[test]
fn create_skips_a_port_a_process_listens_on() {
    // The real host check: hold the base port open and see create step past it.
    let listener = std::net::TcpListener::bind(("0.0.0.0", 0)).unwrap();
    let busy = listener.local_addr().unwrap().port();
    let f = Fixture::new(&format!("name = \"s\"\n[ports.base]\nweb = {busy}\n"));
    f.run(&["create", "a"]).success();
    let port = f.registry()["instances"]["a"]["ports"]["web"]
        .as_u64()
        .unwrap();
    assert_ne!(port, busy as u64);
    assert!(port > busy as u64);
    // Pinning the busy port is refused, naming it.
    f.run(&["create", "b", "--port", &format!("web={busy}")])
        .code(5)
        .one_error_line()
        .stderr_has(&format!("port {busy} for `web` of instance `b` is not available: another process on this host listens on it"));
    drop(listener);
}

#[test]
fn list_table_and_json() {
    let f = Fixture::mindroom();
    f.run(&["list"])
        .success()
        .stdout_is("")
        .stderr_has("no instances yet");
    f.run(&["create", "prod", "prod.example.com"]).success();
    f.run(&["create", "10"]).success();
    f.run(&["create", "2"]).success();
    let out = f.run(&["list"]).success();
    let names: Vec<&str> = out
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(names, ["2", "10", "prod"]);
    assert!(out.stdout.starts_with("NAME "));
    assert!(out.stdout.contains("backend=8765 frontend=3003"));
    let j = f.run(&["list", "--json"]).success().json();
    assert_eq!(j["stack"], "mindroom");
    let inst = &j["instances"][2];
    assert_eq!(inst["name"], "prod");
    for key in [
        "name",
        "index",
        "domain",
        "project",
        "ports",
        "data_dir",
        "tier",
        "limits",
        "created_at",
        "instance_dir",
        "env_file",
        "override_file",
    ] {
        assert!(inst.get(key).is_some(), "list --json lacks `{key}`");
    }
    // `ls` is an alias.
    f.run(&["ls"]).success().stdout_has("prod");
}

#[test]
fn info_prints_the_compose_command() {
    let f = Fixture::mindroom();
    f.run(&["create", "prod", "prod.example.com"]).success();
    let out = f.run(&["info", "prod"]).success();
    assert!(
        out.stdout.contains("project:  mindroom-prod\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("docker compose --project-directory"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("-p mindroom-prod -f "),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(".instances/prod/.env ps"),
        "{}",
        out.stdout
    );
    let j = f.run(&["info", "prod", "--json"]).success().json();
    assert_eq!(j["name"], "prod");
    assert_eq!(j["stack"], "mindroom");
    assert!(j["compose_command"].as_str().unwrap().ends_with(" ps"));
}

#[test]
fn rendered_files_are_valid_for_docker_compose() {
    // The peer tool must accept the same files mrctl renders.
    if std::process::Command::new("docker-compose")
        .arg("version")
        .output()
        .is_err()
    {
        eprintln!("docker-compose is not installed; skipping");
        return;
    }
    let f = Fixture::mindroom();
    f.write(
        "docker-compose.yml",
        "services:\n  backend:\n    image: busybox:latest\n    ports: [\"${BACKEND_PORT}:80\"]\n  frontend:\n    image: busybox:latest\n    ports: [\"${FRONTEND_PORT}:80\"]\n",
    );
    f.run(&["create", "prod"]).success();
    let out = std::process::Command::new("docker-compose")
        .current_dir(f.dir())
        .args([
            "-p",
            "mindroom-prod",
            "-f",
            "docker-compose.yml",
            "-f",
            ".instances/prod/docker-compose.override.yml",
            "--env-file",
            ".instances/prod/.env",
            "config",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("published: 8765") || stdout.contains("8765:80"),
        "{stdout}"
    );
    assert!(stdout.contains("mrctl.instance: prod"), "{stdout}");
}

#[test]
fn env_masks_secrets_unless_asked() {
    let f = Fixture::mindroom();
    f.write(
        "templates/env.j2",
        "NAME={{ name }}\nDATABASE_URL=pg://app:{{ secret(\"db\") }}@db\n",
    );
    f.write(
        "mrctl.toml",
        &(f.read("mrctl.toml") + "\n[instances]\nenv_template = \"templates/env.j2\"\n"),
    );
    f.run(&["create", "a"]).success();
    let mut env = f.read(".instances/a/.env");
    env.push_str("OPENAI_API_KEY=sk-secret\n");
    f.write(".instances/a/.env", &env);
    let out = f.run(&["env", "a"]).success();
    assert_eq!(
        out.stdout,
        "NAME=a\nDATABASE_URL=********\nOPENAI_API_KEY=********\n"
    );
    let j = f.run(&["env", "a", "--json"]).success().json();
    assert_eq!(j["OPENAI_API_KEY"], "********");
    assert_eq!(j["NAME"], "a");
    let shown = f.run(&["env", "a", "--show-secrets"]).success();
    assert!(shown.stdout.contains("OPENAI_API_KEY=sk-secret"));
    assert!(!shown.stdout.contains("********"));
}

#[test]
fn clean_removes_files_data_and_frees_ports() {
    // clean removes Docker resources first, so it needs the engine.
    if super::engine_harness::engine_or_skip("clean_removes_files_data_and_frees_ports").is_none() {
        return;
    }
    let f = Fixture::mindroom();
    f.run(&["create", "a"]).success();
    f.run(&["create", "b"]).success();
    f.run(&["clean", "a"])
        .code(2)
        .one_error_line()
        .stderr_is("error: clean of instance `a` needs confirmation: pass `--yes` (standard input is not a terminal)\n");
    assert!(f.path(".instances/a").exists());
    f.run(&["clean", "a", "--yes"])
        .success()
        .stderr_has("cleaned instance `a`; freed ports 8765, 3003");
    assert!(!f.path(".instances/a").exists());
    assert!(!f.path("instance_data/a").exists());
    assert!(f.registry()["instances"].get("a").is_none());
    assert!(f.path(".instances/b/.env").exists());
    // The freed ports go to the next instance.
    f.run(&["create", "c"]).success();
    assert_eq!(f.registry()["instances"]["c"]["ports"]["backend"], 8765);
    f.run(&["clean", "a", "--yes"])
        .code(4)
        .one_error_line()
        .stderr_is("error: no instance `a` in stack `mindroom`\n");
}

#[test]
fn clean_keep_data_then_create_reuses_it() {
    // clean removes Docker resources first, so it needs the engine.
    if super::engine_harness::engine_or_skip("clean_keep_data_then_create_reuses_it").is_none() {
        return;
    }
    let f = Fixture::mindroom();
    f.run(&["create", "a"]).success();
    f.write("instance_data/a/config/settings", "keep me");
    f.run(&["clean", "a", "--yes", "--keep-data"])
        .success()
        .stderr_has("kept the data directory");
    assert_eq!(f.read("instance_data/a/config/settings"), "keep me");
    f.run(&["create", "a"]).success();
    assert_eq!(f.read("instance_data/a/config/settings"), "keep me");
}

#[test]
fn clean_refuses_unsafe_data_dirs_and_deletes_nothing() {
    let f = Fixture::mindroom();
    f.run(&["create", "a"]).success();
    f.run(&["create", "b"]).success();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("precious"), "x").unwrap();
    let b_data = f.dir().canonicalize().unwrap().join("instance_data/b");
    for evil in [
        "/".to_string(),
        outside.path().display().to_string(),
        b_data.display().to_string(),
        f.dir()
            .canonicalize()
            .unwrap()
            .join("instance_data")
            .display()
            .to_string(),
        // HOME is the fixture directory in tests.
        f.dir().canonicalize().unwrap().display().to_string(),
    ] {
        let mut reg = f.registry();
        reg["instances"]["a"]["data_dir"] = serde_json::Value::String(evil.clone());
        f.write(
            "instances.json",
            &serde_json::to_string_pretty(&reg).unwrap(),
        );
        let before = f.snapshot();
        f.run(&["clean", "a", "--yes"])
            .code(5)
            .stderr_has("refusing to delete")
            .stderr_has("nothing was deleted");
        assert_eq!(
            before,
            f.snapshot(),
            "clean changed files with data_dir {evil}"
        );
        assert!(outside.path().join("precious").exists());
    }
    // A symlink planted where the data directory was.
    let mut reg = f.registry();
    let a_data = f.dir().canonicalize().unwrap().join("instance_data/a");
    reg["instances"]["a"]["data_dir"] = serde_json::Value::String(a_data.display().to_string());
    f.write(
        "instances.json",
        &serde_json::to_string_pretty(&reg).unwrap(),
    );
    std::fs::remove_dir_all(&a_data).unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(outside.path(), &a_data).unwrap();
        f.run(&["clean", "a", "--yes"])
            .code(5)
            .stderr_has("symbolic link");
        assert!(outside.path().join("precious").exists());
    }
}

#[test]
fn init_writes_a_working_starter() {
    let f = Fixture::empty();
    f.run(&["init", "my-stack"])
        .success()
        .stderr_has("initialised stack `my-stack`");
    for file in [
        "my-stack/mrctl.toml",
        "my-stack/docker-compose.yml",
        "my-stack/templates/env.j2",
        "my-stack/templates/docker-compose.override.yml.j2",
        "my-stack/.gitignore",
    ] {
        assert!(f.path(file).is_file(), "{file}");
    }
    let out = f.run(&["-C", "my-stack", "create", "dev"]).success();
    assert!(out.stderr.contains("web="), "{}", out.stderr);
    assert!(f.read("my-stack/.instances/dev/.env").contains("WEB_PORT="));
    // A second init refuses to overwrite.
    let before = f.snapshot();
    f.run(&["init", "my-stack"])
        .code(5)
        .one_error_line()
        .stderr_has("mrctl.toml` exists but `mrctl init` does not overwrite it");
    super::common::assert_same(&before, &f.snapshot(), "the command");
    f.run(&["init", "x", "--name", "Bad Name"])
        .code(2)
        .one_error_line();
}

#[test]
fn completions_for_each_shell() {
    let f = Fixture::empty();
    for shell in ["bash", "zsh", "fish"] {
        let out = f.run(&["completions", shell]).success();
        assert!(out.stdout.contains("mrctl"), "{shell}");
        assert!(out.stdout.contains("create"), "{shell}");
    }
    f.run(&["completions", "tcsh"]).code(2);
}

#[test]
fn tiers_are_recorded_and_rendered() {
    let f = Fixture::new(&format!(
        "{MINDROOM}\n[tiers.free]\nmemory = \"256m\"\ncpus = 0.25\n\n[tiers.pro]\nmemory = \"2g\"\ncpus = 1.0\n"
    ));
    f.run(&["create", "a", "--tier", "free"]).success();
    assert_eq!(f.registry()["instances"]["a"]["tier"], "free");
    f.run(&["info", "a"])
        .success()
        .stdout_has("limits:   memory 256m, cpus 0.25");
    // Per-instance limits override the tier's, key by key.
    f.run(&["create", "c", "--tier", "pro", "--memory", "512m"])
        .success();
    assert_eq!(f.registry()["instances"]["c"]["limits"]["memory"], "512m");
    f.run(&["info", "c"])
        .success()
        .stdout_has("limits:   memory 512m, cpus 1");
    for (flag, value, needle) in [
        ("--memory", "lots", "`lots` is not a memory size"),
        ("--memory", "1m", "at least 6m"),
        ("--cpus", "0", "not a positive number of CPUs"),
        ("--pids", "0", "not a positive whole number"),
    ] {
        f.run(&["create", "d", flag, value])
            .code(2)
            .one_error_line()
            .stderr_has(needle);
    }
    f.run(&["create", "b", "--tier", "gold"])
        .code(2)
        .one_error_line()
        .stderr_is("error: invalid value for `--tier`: no tier `gold` (tiers: `free`, `pro`)\n");
}

#[test]
fn output_has_no_colour_when_piped_or_no_color() {
    let f = Fixture::mindroom();
    f.run(&["create", "a"]).success();
    let mut cmd = f.command(&["list"]);
    cmd.env_remove("NO_COLOR");
    let out = cmd.output().unwrap();
    assert!(!out.stdout.contains(&0x1b), "escape codes on a pipe");
    assert!(!out.stderr.contains(&0x1b));
    let bad = f.run(&["info", "nope"]);
    assert!(!bad.stderr.contains('\x1b'));
}

#[test]
fn broken_pipe_is_not_an_error() {
    let f = Fixture::mindroom();
    for i in 0..30 {
        f.run(&["create", &format!("i{i}")]).success();
    }
    let script = format!(
        "set -o pipefail; '{}' list | head -1 >/dev/null",
        env!("CARGO_BIN_EXE_mrctl")
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .current_dir(f.dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn quiet_silences_messages_but_not_data() {
    let f = Fixture::mindroom();
    f.run(&["-q", "create", "a"]).success().stderr_is("");
    f.run(&["-q", "project-name", "a"])
        .success()
        .stdout_is("mindroom-a\n");
}

#[test]
fn help_and_version() {
    let f = Fixture::empty();
    f.run(&["--help"]).success().stdout_has("create");
    f.run(&["--version"]).success().stdout_has("mrctl ");
    f.run(&["frobnicate"]).code(2);
}

#[test]
fn example_registry_is_valid() {
    let f = Fixture::mindroom();
    // The example's `prod` has tier `pro`: a registry is valid with a stack
    // that defines its tiers.
    f.write(
        "mrctl.toml",
        &(f.read("mrctl.toml") + "\n[tiers.pro]\nmemory = \"4g\"\n"),
    );
    f.write(
        "instances.json",
        include_str!("../../instances.example.json"),
    );
    let j = f.run(&["list", "--json"]).success().json();
    assert_eq!(j["instances"].as_array().unwrap().len(), 2);
    // Its reserved port and held ports are respected by the next create.
    f.run(&["create", "next"]).success();
    assert_eq!(f.registry()["instances"]["next"]["ports"]["backend"], 8767);
    // The identity was made for /srv/mindroom, which holds no such stack:
    // the directory moved, and the identity moved with it.
    let reg = f.registry();
    assert_eq!(reg["stack"]["id"], "3f9c2a7d41be0c58");
    assert_eq!(
        reg["stack"]["dir"].as_str().unwrap(),
        f.dir().canonicalize().unwrap().to_str().unwrap()
    );
}
