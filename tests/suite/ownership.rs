//! Ownership against a real engine: two stack directories that are copies
//! of each other (two worktrees of one repository), resources made by hand
//! with an instance's project label, and the ambiguous stack/instance pair.
//! After every command that changes or removes things, the other owner's
//! containers, volumes (with a file in them) and data directories are as
//! they were, and the refusal names the foreign resource and its owner.

use std::collections::BTreeMap;
use std::path::Path;

use super::common::Fixture;
use super::engine_harness::{EngineTest, docker};

const SLEEPER: &str =
    "[\"sh\", \"-c\", \"trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done\"]";

fn compose() -> String {
    format!(
        "services:\n  app:\n    image: busybox:latest\n    command: {SLEEPER}\n    ports: [\"${{WEB_PORT}}:80\"]\n    volumes: [\"data:/data\", \"${{DATA_DIR}}/config:/config\"]\nvolumes:\n  data: {{}}\n"
    )
}

fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A second stack directory holding a copy of `t`'s mrctl.toml and compose
/// file (same stack name, so the same project names).
fn copy_of(t: &EngineTest) -> Fixture {
    let b = Fixture::empty();
    for f in ["mrctl.toml", "docker-compose.yml"] {
        b.write(f, &t.f.read(f));
    }
    b
}

/// What must not change: the containers of a project (id, state), the file
/// in its volume, and the files of a data directory.
struct Witness {
    project: String,
    container: String,
    containers: Vec<(String, String, String)>,
    data_dir: std::path::PathBuf,
    data: BTreeMap<std::path::PathBuf, Vec<u8>>,
}

impl Witness {
    fn take(t: &EngineTest, project: &str, data_dir: &Path) -> Witness {
        let container = format!("{project}-app-1");
        docker_ok(&["exec", &container, "sh", "-c", "echo precious > /data/file"]);
        std::fs::write(data_dir.join("config/keep.txt"), "mine").unwrap();
        Witness {
            project: project.to_string(),
            container,
            containers: t.project(project),
            data_dir: data_dir.to_path_buf(),
            data: tree(data_dir),
        }
    }

    fn unchanged(&self, t: &EngineTest, after: &str) {
        assert_eq!(t.project(&self.project), self.containers, "after {after}");
        assert_eq!(
            docker_ok(&["exec", &self.container, "cat", "/data/file"]),
            "precious",
            "after {after}"
        );
        assert_eq!(tree(&self.data_dir), self.data, "after {after}");
    }
}

fn tree(dir: &Path) -> BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.insert(e.path(), std::fs::read(e.path()).unwrap_or_default());
            }
        }
    }
    out
}

#[test]
fn a_copy_of_the_stack_never_touches_the_original() {
    let Some(t) = EngineTest::new("own_copies", &["web"], &compose(), "") else {
        return;
    };
    let b = copy_of(&t);
    let project = format!("{}-1", t.stack);
    // Both register instance `1` before either runs it: same project name.
    t.f.run(&["create", "1"]).success();
    b.run(&["create", "1"]).success();
    assert_eq!(b.registry()["instances"]["1"]["project"], project.as_str());
    assert_ne!(b.registry()["stack"]["id"], t.f.registry()["stack"]["id"]);
    let backup = b.path("b1.mrctl.tgz");
    b.run(&["backup", "1", "-o", backup.to_str().unwrap()])
        .success();
    t.f.run(&["start", "1"]).success();
    let w = Witness::take(&t, &project, &t.f.path("instance_data/1"));
    let owner = format!(
        "and belongs to the stack directory `{}`",
        t.f.dir().canonicalize().unwrap().display()
    );
    let b_registry = b.read("instances.json");

    let refusals: &[&[&str]] = &[
        &["start", "1"],
        &["up", "1"],
        &["restart", "1"],
        &["stop", "1"],
        &["update", "1", "--memory", "64m"],
        &["clean", "1", "--yes"],
        &["clean", "1", "--yes", "--keep-data"],
        &["backup", "1", "-o", "x.tgz"],
        &["restore", backup.to_str().unwrap(), "--force"],
        &["exec", "1", "app", "--", "true"],
    ];
    for args in refusals {
        let run = b.run(args).code(5);
        assert!(
            run.stderr.contains(&format!("container `{project}-app-1`"))
                && run.stderr.contains(&owner)
                && run.stderr.contains("so it was left alone"),
            "{args:?}: {}",
            run.stderr
        );
        w.unchanged(&t, &args.join(" "));
    }
    // The copy's registry kept its entry: nothing was half-done (update
    // too: the registry is written only after the engine's check).
    assert_eq!(b.read("instances.json"), b_registry);

    // Reads: the copy does not show the original's containers as its own.
    let list = b.run(&["list", "--json"]).success().json();
    assert_eq!(
        list["instances"][0]["state"]["status"], "not created",
        "{list}"
    );
    // doctor names the foreign container, and --fix --yes leaves it.
    let run = b.run(&["doctor"]).code(7);
    assert!(
        run.stdout
            .contains(&format!("container `{project}-app-1` carries its project")),
        "{}",
        run.stdout
    );
    b.run(&["doctor", "--fix", "--yes"]).code(7);
    w.unchanged(&t, "doctor --fix --yes");

    // The original still works on its own instance.
    t.f.run(&["stop", "1"]).success();
    t.f.run(&["start", "1"]).success();
    // A project in use by another directory is refused at create.
    let c = copy_of(&t);
    c.run(&["create", "1"])
        .code(5)
        .stderr_has(&format!(
            "the compose project `{project}` of instance `1` is already used on this engine by the stack directory `{}`",
            t.f.dir().canonicalize().unwrap().display()
        ));
    assert!(
        c.registry_opt()
            .is_none_or(|r| r["instances"].get("1").is_none())
    );
    t.f.run(&["clean", "1", "--yes"]).success();
    assert!(t.project(&project).is_empty());
}

/// Removes hand-made resources at the end of a test, even when it fails.
struct Made(Vec<(&'static str, String)>);

impl Drop for Made {
    fn drop(&mut self) {
        for (kind, name) in &self.0 {
            match *kind {
                "container" => docker(&["rm", "-f", name]),
                _ => docker(&[kind, "rm", "-f", name]),
            };
        }
    }
}

#[test]
fn resources_made_by_hand_with_an_instance_project_are_left_alone() {
    let Some(t) = EngineTest::new("own_hand_made", &["web"], &compose(), "") else {
        return;
    };
    t.f.run(&["create", "h"]).success();
    let project = format!("{}-h", t.stack);
    let label = format!("com.docker.compose.project={project}");
    let volume = format!("{project}_data");
    let container = format!("{project}-byhand");
    let _made = Made(vec![
        ("container", container.clone()),
        ("volume", volume.clone()),
    ]);
    docker_ok(&["volume", "create", "--label", &label, &volume]);
    docker_ok(&[
        "create",
        "--name",
        &container,
        "--label",
        &label,
        "--label",
        "com.docker.compose.service=app",
        "-v",
        &format!("{volume}:/data"),
        "busybox:latest",
        "true",
    ]);
    docker_ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{volume}:/data"),
        "busybox:latest",
        "sh",
        "-c",
        "echo theirs > /data/file",
    ]);
    let owner = "belongs to something outside mrctl (made by hand or by another tool)";
    for args in [
        &["clean", "h", "--yes"][..],
        &["start", "h"],
        &["stop", "h"],
    ] {
        let run = t.f.run(args).code(5);
        assert!(
            run.stderr.contains(&format!("container `{container}`")) && run.stderr.contains(owner),
            "{args:?}: {}",
            run.stderr
        );
    }
    let run = t.f.run(&["doctor"]).code(7);
    assert!(
        run.stdout
            .contains(&format!("container `{container}` carries its project")),
        "{}",
        run.stdout
    );
    t.f.run(&["doctor", "--fix", "--yes"]).code(7);
    // Nothing of theirs changed, and the instance is still registered.
    assert_eq!(
        docker_ok(&["inspect", "-f", "{{.State.Status}}", &container]),
        "created"
    );
    assert_eq!(
        docker_ok(&[
            "run",
            "--rm",
            "-v",
            &format!("{volume}:/data"),
            "busybox:latest",
            "cat",
            "/data/file"
        ]),
        "theirs"
    );
    assert!(t.f.registry()["instances"].get("h").is_some());
    // Once the owner removes theirs, the instance runs and cleans as usual.
    docker_ok(&["rm", "-f", &container]);
    let run = t.f.run(&["start", "h"]).code(5);
    assert!(
        run.stderr.contains(&format!("volume `{volume}`")),
        "{}",
        run.stderr
    );
    docker_ok(&["volume", "rm", &volume]);
    t.f.run(&["start", "h"]).success();
    t.f.run(&["clean", "h", "--yes"]).success();
    assert!(t.project(&project).is_empty());
}

#[test]
fn an_ambiguous_stack_and_instance_pair_cannot_share_a_project() {
    // Stack `S` with instance `x-y` and stack `S-x` with instance `y` both
    // give the project `S-x-y` under the default `{{ stack }}-{{ name }}`.
    let Some(t) = EngineTest::new("own_ambiguous", &["web"], &compose(), "") else {
        return;
    };
    let other = Fixture::empty();
    other.write(
        "mrctl.toml",
        &t.f.read("mrctl.toml").replacen(
            &format!("name = \"{}\"", t.stack),
            &format!("name = \"{}-x\"", t.stack),
            1,
        ),
    );
    other.write("docker-compose.yml", &compose());
    let project = format!("{}-x-y", t.stack);
    // Both registered before either ran: start of the second is refused.
    t.f.run(&["create", "x-y"]).success();
    other.run(&["create", "y"]).success();
    assert_eq!(
        other.registry()["instances"]["y"]["project"],
        project.as_str()
    );
    t.f.run(&["start", "x-y"]).success();
    let w = Witness::take(&t, &project, &t.f.path("instance_data/x-y"));
    for args in [
        &["start", "y"][..],
        &["clean", "y", "--yes"],
        &["stop", "y"],
    ] {
        other
            .run(args)
            .code(5)
            .stderr_has(&format!("container `{project}-app-1`"));
        w.unchanged(&t, &args.join(" "));
    }
    // A create after the first one runs is refused outright.
    let third = Fixture::empty();
    third.write("mrctl.toml", &other.read("mrctl.toml"));
    third.write("docker-compose.yml", &compose());
    third.run(&["create", "y"]).code(5).stderr_has(&format!(
        "the compose project `{project}` of instance `y` is already used"
    ));
    // Cleanup of the other stack's never-started instance (its files only).
    docker_ok(&["stop", &format!("{project}-app-1")]);
    t.f.run(&["clean", "x-y", "--yes"]).success();
    other.run(&["clean", "y", "--yes"]).success();
}

#[test]
fn resources_of_an_earlier_mrctl_on_this_directory_are_adopted() {
    // Made before stack identities existed: compose's working-dir label
    // points into this stack directory, and no identity label.
    let Some(t) = EngineTest::new("own_legacy", &["web"], &compose(), "") else {
        return;
    };
    t.f.run(&["create", "old"]).success();
    let project = format!("{}-old", t.stack);
    let dir = t.f.dir().canonicalize().unwrap();
    let volume = format!("{project}_data");
    let container = format!("{project}-app-1");
    let _made = Made(vec![
        ("container", container.clone()),
        ("volume", volume.clone()),
    ]);
    let stack_label = format!("mrctl.stack={}", t.stack);
    docker_ok(&[
        "volume",
        "create",
        "--label",
        &format!("com.docker.compose.project={project}"),
        "--label",
        &stack_label,
        &volume,
    ]);
    docker_ok(&[
        "create",
        "--name",
        &container,
        "--label",
        &format!("com.docker.compose.project={project}"),
        "--label",
        "com.docker.compose.service=app",
        "--label",
        &format!("com.docker.compose.project.working_dir={}", dir.display()),
        "--label",
        &stack_label,
        "-v",
        &format!("{volume}:/data"),
        "busybox:latest",
        "true",
    ]);
    // doctor sees no foreign resource (the hand-made container drifts from
    // the compose file, which doctor reports as such); clean removes both.
    let run = t.f.run(&["doctor"]);
    assert!(!run.stdout.contains("ownership"), "{}", run.stdout);
    assert!(run.stdout.contains("mrctl start old"), "{}", run.stdout);
    t.f.run(&["clean", "old", "--yes"]).success();
    assert!(docker(&["inspect", &container]).status.code() != Some(0));
    assert!(docker(&["volume", "inspect", &volume]).status.code() != Some(0));

    // The same from another directory (a sibling whose path starts alike)
    // is someone else's.
    t.f.run(&["create", "old"]).success();
    docker_ok(&[
        "create",
        "--name",
        &container,
        "--label",
        &format!("com.docker.compose.project={project}"),
        "--label",
        "com.docker.compose.service=app",
        "--label",
        &format!("com.docker.compose.project.working_dir={}2", dir.display()),
        "busybox:latest",
        "true",
    ]);
    t.f.run(&["clean", "old", "--yes"])
        .code(5)
        .stderr_has(&format!(
            "belongs to docker compose in `{}2`",
            dir.display()
        ));
    docker_ok(&["inspect", &container]);
}

#[test]
fn copies_sharing_an_absolute_data_root_never_take_each_others_data() {
    // Two worktrees of one repository whose mrctl.toml puts data under one
    // absolute directory: instance `1` of each would have the same path.
    let shared = tempfile::tempdir().unwrap();
    let toml = format!(
        "name = \"sharedroot\"\n[instances]\ndata_root = \"{}\"\n[ports]\nhost_check = false\n[ports.base]\nweb = 41000\n",
        shared.path().display()
    );
    let a = Fixture::new(&toml);
    let b = Fixture::new(&toml);
    a.run(&["create", "1"]).success();
    let data = shared.path().join("1");
    std::fs::write(data.join("config/keep.txt"), "a's").unwrap();
    let before = tree(&data);
    b.run(&["create", "1"]).code(5).stderr_has(&format!(
        "`{}` exists but it belongs to the same instance of another stack directory",
        data.display()
    ));
    b.run(&["clean", "1", "--yes"])
        .code(5)
        .stderr_has("its marker says it belongs to the same instance of another stack directory");
    assert_eq!(tree(&data), before);
    a.run(&["clean", "1", "--yes"]).success();
    assert!(!data.exists());
}

#[test]
fn a_copied_registry_gets_an_identity_of_its_own() {
    // `cp -r` of a stack directory copies instances.json and its identity;
    // while the original is in use, the copy must not pass for it.
    let a = Fixture::mindroom();
    a.run(&["create", "x"]).success();
    let b = Fixture::empty();
    for f in ["mrctl.toml", "docker-compose.yml", "instances.json"] {
        b.write(f, &a.read(f));
    }
    b.run(&["create", "y"])
        .success()
        .stderr_has("this stack directory is a copy of another that is still in use");
    let (ra, rb) = (a.registry(), b.registry());
    assert_ne!(ra["stack"]["id"], rb["stack"]["id"]);
    assert_eq!(
        rb["stack"]["dir"].as_str().unwrap(),
        b.dir().canonicalize().unwrap().to_str().unwrap()
    );
    // The original keeps its own.
    a.run(&["create", "z"]).success();
    assert_eq!(a.registry()["stack"], ra["stack"]);
}
