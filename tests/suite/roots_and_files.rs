//! The roots mrctl deletes under, the registry's invariants, and the files
//! mrctl reads: roots resolved before use, only marked directories removed,
//! a registry that breaks an invariant refused, every file read bounded.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::common::{Fixture, MINDROOM, Run, TWO_SERVICES, assert_same};

fn canonical(f: &Fixture) -> PathBuf {
    f.dir().canonicalize().unwrap()
}

fn mkdir_with_file(path: &Path) {
    std::fs::create_dir_all(path).unwrap();
    std::fs::write(path.join("keep"), "mine").unwrap();
}

fn mark(dir: &Path, stack: &str, instance: &str, kind: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join(".mrctl-instance"),
        format!(r#"{{"stack": "{stack}", "instance": "{instance}", "kind": "{kind}"}}"#),
    )
    .unwrap();
    std::fs::write(dir.join("left-over"), "x").unwrap();
}

/// A stack two levels down a temp dir, so that `..` and `../..` stay inside
/// the test's own directory.
fn nested(instances: &str) -> (Fixture, PathBuf) {
    let f = Fixture::empty();
    let toml = MINDROOM.replace(
        "[ports.base]",
        &format!("[instances]\n{instances}\n\n[ports]\nhost_check = false\n\n[ports.base]"),
    );
    f.write("outer/stack/mrctl.toml", &toml);
    f.write("outer/stack/docker-compose.yml", TWO_SERVICES);
    let dir = canonical(&f).join("outer/stack");
    (f, dir)
}

fn run_in(f: &Fixture, dir: &Path, args: &[&str]) -> Run {
    let mut cmd = f.command(args);
    cmd.current_dir(dir);
    Run::from(cmd.output().unwrap())
}

#[test]
fn roots_resolving_to_root_the_stack_or_its_parents_are_refused() {
    let cases = [
        (
            "dir = \"../..\"",
            "instances.dir",
            "../..",
            "outer-parent",
            "a parent of the stack directory `STACK`",
        ),
        (
            "dir = \"..\"",
            "instances.dir",
            "..",
            "outer",
            "a parent of the stack directory `STACK`",
        ),
        (
            "dir = \".\"",
            "instances.dir",
            ".",
            "stack",
            "the stack directory itself",
        ),
        (
            "dir = \"../elsewhere\"",
            "instances.dir",
            "../elsewhere",
            "elsewhere",
            "outside the stack directory `STACK` (a relative path must stay inside it; write an absolute path for a directory elsewhere)",
        ),
        (
            "data_root = \"../../..\"",
            "instances.data_root",
            "../../..",
            "outer-grandparent",
            "a parent of the stack directory `STACK`",
        ),
        (
            "data_root = \"/srv/..\"",
            "instances.data_root",
            "/srv/..",
            "/",
            "the root directory",
        ),
        (
            "data_root = \"missing/../..\"",
            "instances.data_root",
            "missing/../..",
            "outer",
            "a parent of the stack directory `STACK`",
        ),
    ];
    for (line, key, value, resolves, what) in cases {
        let (f, dir) = nested(line);
        let root = canonical(&f);
        let resolved = match resolves {
            "/" => PathBuf::from("/"),
            "outer-parent" => root.clone(),
            "outer-grandparent" => root.parent().unwrap().to_path_buf(),
            "outer" => root.join("outer"),
            "stack" => dir.clone(),
            "elsewhere" => root.join("outer/elsewhere"),
            other => panic!("{other}"),
        };
        // What a create under the old lexical check deleted there.
        for victim in [".staging-victim", ".mrctl-trash-victim"] {
            mkdir_with_file(&root.join(victim));
            mkdir_with_file(&root.join("outer").join(victim));
        }
        let before = f.snapshot();
        let expected = format!(
            "error: `{}`: key `{key}`: `{value}` resolves to `{}`, {}\n",
            dir.join("mrctl.toml").display(),
            resolved.display(),
            what.replace("STACK", &dir.display().to_string())
        );
        run_in(&f, &dir, &["create", "a"])
            .code(3)
            .stderr_is(&expected);
        run_in(&f, &dir, &["list"]).code(3).stderr_is(&expected);
        assert_same(&before, &f.snapshot(), line);
    }
}

#[cfg(unix)]
#[test]
fn a_data_root_symlink_is_judged_by_where_it_leads() {
    let (f, dir) = nested("");
    std::os::unix::fs::symlink("/", dir.join("instance_data")).unwrap();
    let expected = format!(
        "error: `{}`: key `instances.data_root`: `instance_data` resolves to `/`, the root directory\n",
        dir.join("mrctl.toml").display()
    );
    run_in(&f, &dir, &["create", "a"])
        .code(3)
        .stderr_is(&expected);

    // A relative root that a symlink leads out of the stack is outside too.
    let outside = canonical(&f).join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::remove_file(dir.join("instance_data")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("instance_data")).unwrap();
    run_in(&f, &dir, &["create", "a"])
        .code(3)
        .stderr_has("key `instances.data_root`: `instance_data` resolves to `")
        .stderr_has("outside the stack directory");
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);

    // Inside the stack, a symlinked root is used at its real place.
    std::fs::remove_file(dir.join("instance_data")).unwrap();
    std::fs::create_dir(dir.join("real_data")).unwrap();
    std::os::unix::fs::symlink("real_data", dir.join("instance_data")).unwrap();
    run_in(&f, &dir, &["create", "a"]).success();
    assert!(dir.join("real_data/a/.mrctl-instance").is_file());
}

#[test]
fn an_absolute_data_root_elsewhere_is_allowed() {
    let data = tempfile::tempdir().unwrap();
    let data_root = data.path().canonicalize().unwrap().join("not-yet/data");
    let (f, dir) = nested(&format!("data_root = \"{}\"", data_root.display()));
    run_in(&f, &dir, &["create", "a"]).success();
    assert!(data_root.join("a/config").is_dir());
    run_in(&f, &dir, &["clean", "--yes", "a"]).success();
    assert!(!data_root.join("a").exists());
}

#[test]
fn only_marked_staging_and_trash_directories_are_removed() {
    let f = Fixture::mindroom();
    let instances = f.path(".instances");
    let data = f.path("instance_data");
    // Made by hand, or by another stack: kept.
    let kept = [
        instances.join(".staging-x"),
        instances.join(".staging-b-by-hand"),
        instances.join(".mrctl-trash-x"),
        data.join(".mrctl-trash-y"),
    ];
    for dir in &kept {
        mkdir_with_file(dir);
    }
    let foreign = instances.join(".staging-c-123");
    mark(&foreign, "another-stack", "c", "files");
    let misnamed = data.join(".mrctl-trash-d-123");
    mark(&misnamed, "mindroom", "e", "data");
    #[cfg(unix)]
    {
        let target = f.path("linked");
        mark(&target, "mindroom", "f", "files");
        std::os::unix::fs::symlink(&target, instances.join(".staging-f-123")).unwrap();
    }
    // Left by this stack's killed create and killed deletions: removed.
    let staging = instances.join(".staging-g-abc123");
    mark(&staging, "mindroom", "g", "files");
    let files_trash = instances.join(".mrctl-trash-h-abc");
    mark(&files_trash, "mindroom", "h", "files");
    let data_trash = data.join(".mrctl-trash-i-j-abc");
    mark(&data_trash, "mindroom", "i-j", "data");

    f.run(&["create", "a"]).success();
    for dir in &kept {
        assert_eq!(
            std::fs::read_to_string(dir.join("keep")).ok().as_deref(),
            Some("mine"),
            "{} was deleted",
            dir.display()
        );
    }
    assert!(foreign.join("left-over").is_file());
    assert!(misnamed.join("left-over").is_file());
    #[cfg(unix)]
    {
        assert!(instances.join(".staging-f-123").is_symlink());
        assert!(f.path("linked/left-over").is_file());
    }
    for gone in [&staging, &files_trash, &data_trash] {
        assert!(!gone.exists(), "{} was left", gone.display());
    }
    // `clean` goes over the same leftovers with the same rule.
    mark(&staging, "mindroom", "g", "files");
    f.run(&["clean", "--yes", "a"]).success();
    assert!(!staging.exists());
    for dir in &kept {
        assert!(dir.join("keep").is_file(), "{}", dir.display());
    }
}

/// A stack with instances `dev` (index 1) and `prod` (index 0), and the
/// registry as JSON for a test to break.
fn two_instances(extra_toml: &str) -> (Fixture, serde_json::Value) {
    let f = Fixture::new(&format!(
        "{}\n[ports]\nhost_check = false\n\n[ports.base]\nbackend = 8765\nfrontend = 3003\n{extra_toml}",
        "name = \"mindroom\""
    ));
    f.run(&["create", "prod"]).success();
    f.run(&["create", "dev"]).success();
    let reg = f.registry();
    (f, reg)
}

fn registry_error(f: &Fixture, message: &str) -> String {
    format!(
        "error: registry `{}` is invalid: {message}\n",
        canonical(f).join("instances.json").display()
    )
}

#[test]
fn a_registry_that_breaks_an_invariant_is_refused() {
    type Edit = fn(&mut serde_json::Value);
    let cases: [(Edit, &str); 10] = [
        (
            |r| r["instances"]["prod"]["ports"]["frontend"] = 3004.into(),
            "instances `dev` and `prod` both hold port 3004",
        ),
        (
            |r| r["instances"]["dev"]["ports"]["frontend"] = 8766.into(),
            "instance `dev` holds port 8766 twice, as `backend` and `frontend`",
        ),
        (
            |r| r["instances"]["prod"]["index"] = 1.into(),
            "instances `dev` and `prod` both have index 1",
        ),
        (
            |r| r["instances"]["dev"]["project"] = "mindroom-prod".into(),
            "instances `dev` and `prod` both use compose project `mindroom-prod`",
        ),
        (
            |r| r["instances"]["dev"]["domain"] = "prod.localhost".into(),
            "instances `dev` and `prod` both use domain `prod.localhost`",
        ),
        (
            |r| r["instances"]["dev"]["ports"]["backend"] = 80.into(),
            "instance `dev` holds port 80 as `backend`, outside `ports.range` 1024-65535 of `mrctl.toml`",
        ),
        (
            |r| r["instances"]["dev"]["tier"] = "gold".into(),
            "instance `dev` has tier `gold`, which `mrctl.toml` does not define (no `[tiers.gold]`)",
        ),
        (
            |r| r["instances"]["dev"]["limits"] = serde_json::json!({"cpus": -1.0}),
            "key `instances.dev.limits.cpus`: -1 is not a positive number of CPUs",
        ),
        (
            |r| r["instances"]["dev"]["limits"] = serde_json::json!({"pids": 0}),
            "key `instances.dev.limits.pids`: 0 is not a positive limit",
        ),
        (
            |r| r["instances"]["dev"]["limits"] = serde_json::json!({"memory": "lots"}),
            "key `instances.dev.limits.memory`: `lots` is not a memory size of at least 6m",
        ),
    ];
    for (edit, message) in cases {
        let (f, mut reg) = two_instances("");
        edit(&mut reg);
        f.write(
            "instances.json",
            &serde_json::to_string_pretty(&reg).unwrap(),
        );
        let before = f.snapshot();
        let expected = registry_error(&f, message);
        for args in [&["list"][..], &["create", "x"], &["clean", "--yes", "dev"]] {
            f.run(args).code(3).stderr_is(&expected);
        }
        assert_same(&before, &f.snapshot(), message);
        // Doctor reports it as an error finding.
        let doctor = f.run(&["doctor"]).code(7);
        let finding = format!(
            "registry `{}` is invalid: {message}",
            canonical(&f).join("instances.json").display()
        );
        assert!(
            doctor.stdout.lines().any(|l| l.starts_with("registry")
                && l.contains(" error ")
                && l.contains(&finding)),
            "{message}: {doctor:#?}"
        );
    }
}

#[test]
fn the_one_entry_read_checks_the_entry_it_reads() {
    let (f, mut reg) = two_instances("");
    reg["instances"]["dev"]["tier"] = "gold".into();
    f.write(
        "instances.json",
        &serde_json::to_string_pretty(&reg).unwrap(),
    );
    f.run(&["ports", "dev"]).code(3).stderr_is(&registry_error(
        &f,
        "instance `dev` has tier `gold`, which `mrctl.toml` does not define (no `[tiers.gold]`)",
    ));
    // The other entry is read without looking at dev's tier: documented.
    f.run(&["ports", "prod"]).success();
}

#[test]
fn duplicate_keys_in_the_registry_are_refused_with_their_position() {
    let (f, _) = two_instances("");
    let text = f.read("instances.json");
    let path = canonical(&f).join("instances.json");
    // A second `prod` entry: serde would keep the last and drop the first.
    let prod_start = text.find("    \"prod\": {").unwrap();
    let prod_end = prod_start + text[prod_start..].find("\n    }").unwrap() + 6;
    let prod = &text[prod_start..prod_end];
    let twice = format!("{},\n{}", &text[..prod_end], &text[prod_start..]);
    let line = twice[..prod_end + 2].lines().count() + 1;
    f.write("instances.json", &twice);
    let expected = format!(
        "error: registry `{}:{line}:10` is invalid: instance `prod` is written twice (a second entry would silently replace the first)\n",
        path.display()
    );
    for args in [&["list"][..], &["ports", "prod"], &["info", "prod"]] {
        f.run(args).code(3).stderr_is(&expected);
    }
    assert!(prod.contains("\"backend\""));

    // A port name written twice inside the entry a command reads.
    let dup_port = text.replacen(
        "\"backend\": 8765,",
        "\"backend\": 8765,\n        \"backend\": 8770,",
        1,
    );
    assert_ne!(dup_port, text);
    f.write("instances.json", &dup_port);
    let line = dup_port[..dup_port.find("\"backend\": 8770").unwrap()]
        .lines()
        .count();
    let expected = format!(
        "error: registry `{}:{line}:17` is invalid: port `backend` is written twice (a second entry would silently replace the first)\n",
        path.display()
    );
    for args in [&["list"][..], &["ports", "prod"]] {
        f.run(args).code(3).stderr_is(&expected);
    }
}

#[test]
fn a_registry_with_a_byte_order_mark_is_read_and_written_without_it() {
    let f = Fixture::mindroom();
    f.run(&["create", "prod"]).success();
    let text = f.read("instances.json");
    f.write("instances.json", &format!("\u{feff}{text}"));
    f.run(&["list"]).success().stdout_has("prod");
    f.run(&["ports", "prod"]).success().stdout_has("8765");
    f.run(&["create", "dev"]).success();
    let written = std::fs::read(f.path("instances.json")).unwrap();
    assert_eq!(written[0], b'{', "the mark is not written back");
    assert_eq!(f.registry()["instances"].as_object().unwrap().len(), 2);
}

#[test]
fn a_closed_stdout_fails_the_command() {
    let f = Fixture::mindroom();
    f.run(&["create", "prod"]).success();
    for args in ["list", "list --json", "ports prod", "project-name prod"] {
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            &format!("exec \"$0\" {args} >&-"),
            env!("CARGO_BIN_EXE_mrctl"),
        ])
        .current_dir(f.dir())
        .env("HOME", f.dir())
        .env("NO_COLOR", "1")
        .env_remove("MRCTL_PROJECT_DIR");
        Run::from(cmd.output().unwrap())
            .code(1)
            .stderr_is("error: cannot write to standard output: it is closed\n");
    }
    // A full device is an error too; a reader that goes away is not (see
    // `broken_pipe_is_not_an_error`).
    if Path::new("/dev/full").exists() {
        let mut cmd = f.command(&["list"]);
        cmd.stdout(std::fs::File::create("/dev/full").unwrap());
        Run::from(cmd.output().unwrap())
            .code(1)
            .stderr_has("error: cannot write to standard output\n");
    }
}

#[test]
fn invalid_utf8_in_an_input_file_is_a_bad_input_file() {
    let f = Fixture::mindroom();
    let dir = canonical(&f);
    std::fs::write(
        f.path("docker-compose.yml"),
        b"services:\n  backend:\xff\n    image: busybox:latest\n",
    )
    .unwrap();
    let before = f.snapshot();
    f.run(&["create", "x"]).code(3).stderr_is(&format!(
        "error: compose file `{}:2:11`: the file is not valid UTF-8 (at byte offset 20)\n",
        dir.join("docker-compose.yml").display()
    ));
    assert_same(&before, &f.snapshot(), "create");

    let mut toml = f.read("mrctl.toml").into_bytes();
    toml.extend_from_slice(b"# caf\xe9\n");
    let line = toml.iter().filter(|b| **b == b'\n').count();
    std::fs::write(f.path("mrctl.toml"), &toml).unwrap();
    f.run(&["list"]).code(3).stderr_is(&format!(
        "error: `{}:{line}:6`: the file is not valid UTF-8 (at byte offset {})\n",
        dir.join("mrctl.toml").display(),
        toml.len() - 2
    ));
}

/// Runs mrctl with its address space capped, so that a read without a
/// limit fails fast instead of eating the machine's memory.
fn run_capped(f: &Fixture, args: &[&str]) -> Run {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("ulimit -v 1048576 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_mrctl"))
        .args(args)
        .current_dir(f.dir())
        .env("HOME", f.dir())
        .env("NO_COLOR", "1")
        .env_remove("MRCTL_PROJECT_DIR")
        .env_remove("RUST_LOG");
    Run::from(cmd.output().unwrap())
}

#[cfg(unix)]
#[test]
fn endless_input_files_are_refused_at_their_limit() {
    use std::os::unix::fs::symlink;
    let zero = |f: &Fixture, rel: &str| {
        let p = f.path(rel);
        let _ = std::fs::remove_file(&p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        symlink("/dev/zero", &p).unwrap();
        canonical(f).join(rel)
    };

    // Discovery wants a regular file: a sparse one of 1 GiB stands in.
    let f = Fixture::mindroom();
    let path = canonical(&f).join("mrctl.toml");
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    run_capped(&f, &["list"]).code(3).stderr_is(&format!(
        "error: `{}`: the file is larger than 1 MiB, the limit for mrctl.toml\n",
        path.display()
    ));

    let f = Fixture::mindroom();
    let path = zero(&f, "docker-compose.yml");
    run_capped(&f, &["create", "x"]).code(3).stderr_is(&format!(
        "error: compose file `{}`: the file is larger than 8 MiB, the limit for a compose file\n",
        path.display()
    ));

    let f = Fixture::mindroom();
    let cfg = f.read("mrctl.toml") + "\n[instances]\nenv_template = \"templates/env.j2\"\n";
    f.write("mrctl.toml", &cfg);
    let path = zero(&f, "templates/env.j2");
    run_capped(&f, &["create", "x"]).code(3).stderr_is(&format!(
        "error: template `{}`: the file is larger than 1 MiB, the limit for a template\n",
        path.display()
    ));

    let f = Fixture::mindroom();
    f.run(&["create", "prod"]).success();
    let path = zero(&f, ".instances/prod/.env");
    run_capped(&f, &["env", "prod"]).code(3).stderr_is(&format!(
        "error: `{}`: the file is larger than 16 MiB, the limit for an env file\n",
        path.display()
    ));
    zero(&f, "instances.json");
    let expected = registry_error(
        &f,
        "the file is larger than 64 MiB, the limit for the registry",
    );
    run_capped(&f, &["list"]).code(3).stderr_is(&expected);
    run_capped(&f, &["ports", "prod"])
        .code(3)
        .stderr_is(&expected);
}
