//! `mrctl config` against docker compose v2 itself: for every compose file
//! in tests/compose-corpus/ (a file `NN-name.yml`, or a directory
//! `NN-name/` holding `docker-compose.yml` and the files it extends,
//! includes or reads, copied into the stack as they are; a
//! `compose.override.yml` there is the stack's second base compose file),
//! a stack is made, an instance created, and the
//! canonical JSON mrctl prints is compared, as a JSON value, with what
//! `docker compose … config --format json` prints for the same instance
//! (the command `mrctl info` prints). Without `docker compose` the test
//! fails: the comparison is the point.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::suite::common::Fixture;

const CONFIG: &str = r#"name = "corpus"

[ports]
host_check = false

[ports.base]
web = 18080
"#;

/// Shared files the corpus may name: an env file and bind-mount sources.
const APP_ENV: &str = "SHARED=from-file\nAPP_KEY=abc123\n";

/// Process variables that would change either side's reading of the files.
const CLEARED: &[&str] = &[
    "COMPOSE_PROFILES",
    "COMPOSE_FILE",
    "COMPOSE_PROJECT_NAME",
    "COMPOSE_ENV_FILES",
    "APP_MODE",
    "NOT_SET_ANYWHERE",
    "FROM_ENV_FILE",
];

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compose-corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml") || p.is_dir())
        .collect();
    files.sort();
    files
}

/// Copies a corpus directory's files into the stack, keeping subdirectories.
fn copy_tree(from: &Path, f: &Fixture, rel: &Path) {
    for e in std::fs::read_dir(from.join(rel)).unwrap() {
        let e = e.unwrap();
        let rel = rel.join(e.file_name());
        if e.path().is_dir() {
            copy_tree(from, f, &rel);
        } else {
            let text = std::fs::read_to_string(e.path()).unwrap();
            f.write(rel.to_str().unwrap(), &text);
        }
    }
}

/// A stack of one corpus entry with instance `c`; `# env: K=V` lines at the
/// top of its compose file are added to the instance's env file.
fn stack(entry: &Path) -> Fixture {
    let f = Fixture::empty();
    let (file, config) = if entry.is_dir() {
        copy_tree(entry, &f, Path::new(""));
        let config = if entry.join("compose.override.yml").is_file() {
            format!("compose_files = [\"docker-compose.yml\", \"compose.override.yml\"]\n{CONFIG}")
        } else {
            CONFIG.to_string()
        };
        (entry.join("docker-compose.yml"), config)
    } else {
        (entry.to_path_buf(), CONFIG.to_string())
    };
    let text = std::fs::read_to_string(&file).unwrap();
    f.write("mrctl.toml", &config);
    f.write("docker-compose.yml", &text);
    f.write("app.env", APP_ENV);
    let mut create = f.command(&["create", "c"]);
    for k in CLEARED {
        create.env_remove(k);
    }
    let out = create.output().unwrap();
    assert!(
        out.status.success(),
        "{}: create failed: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let extra: String = text
        .lines()
        .filter_map(|l| l.strip_prefix("# env: "))
        .map(|l| format!("{l}\n"))
        .collect();
    if !extra.is_empty() {
        let env = f.read(".instances/c/.env");
        f.write(".instances/c/.env", &format!("{env}{extra}"));
    }
    f
}

fn mrctl_config(f: &Fixture, args: &[&str]) -> String {
    let mut cmd = f.command(&[&["config", "c"], args].concat());
    for k in CLEARED {
        cmd.env_remove(k);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "mrctl config failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs the compose command `mrctl info` prints, with `ps` replaced by `args`.
/// It runs with this process's own HOME, where the CLI plugin is installed.
fn compose(f: &Fixture, args: &[&str]) -> String {
    let info = f.run(&["--json", "info", "c"]).success().json();
    let line = info["compose_command"].as_str().unwrap();
    let mut words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words.pop(), Some("ps"), "{line}");
    let mut cmd = Command::new(words[0]);
    cmd.args(&words[1..]).args(args).current_dir(f.dir());
    for k in CLEARED {
        cmd.env_remove(k);
    }
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("`docker compose` is needed to compare with (install Docker Compose v2): {e}")
    });
    assert!(
        out.status.success(),
        "`{line}` with {args:?} failed (is Docker Compose v2 installed as the docker CLI plugin?): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The one place where a difference from compose is accepted on purpose
/// (README, "Differences from docker compose"): compose prints the file's
/// top-level `x-*` extensions back; mrctl drops them when it loads the file
/// (they only hold anchors for the rest of it), so they are removed from
/// compose's side.
fn normalise(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.retain(|k, _| !k.starts_with("x-"));
    }
    v
}

#[test]
fn config_json_equals_docker_compose_for_the_corpus() {
    let files = corpus();
    assert!(files.len() >= 15, "the corpus has {} files", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let f = stack(file);
        let ours: Value = serde_json::from_str(&mrctl_config(&f, &["--format", "json"])).unwrap();
        let theirs: Value =
            serde_json::from_str(&compose(&f, &["config", "--format", "json"])).unwrap();
        if normalise(ours.clone()) != normalise(theirs.clone()) {
            failures.push(format!(
                "{}:\n--- mrctl config\n{}\n--- docker compose config\n{}",
                file.display(),
                serde_json::to_string_pretty(&ours).unwrap(),
                serde_json::to_string_pretty(&theirs).unwrap()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn services_and_volumes_lists_equal_docker_compose() {
    for name in [
        "08-volumes-short.yml",
        "11-depends-on.yml",
        "16-profiles.yml",
    ] {
        let file = corpus().into_iter().find(|p| p.ends_with(name)).unwrap();
        let f = stack(&file);
        let sorted = |s: String| {
            let mut l: Vec<String> = s.lines().map(str::to_string).collect();
            l.sort();
            l
        };
        // Compose lists services in a dependency order that changes from
        // run to run among independent services: compare the names, then
        // check mrctl's order is a dependency order.
        let ours = mrctl_config(&f, &["--services"]);
        assert_eq!(
            sorted(ours.clone()),
            sorted(compose(&f, &["config", "--services"])),
            "{name}"
        );
        let order: Vec<&str> = ours.lines().collect();
        let json: Value = serde_json::from_str(&mrctl_config(&f, &["--format", "json"])).unwrap();
        for (svc, spec) in json["services"].as_object().unwrap() {
            let at = order.iter().position(|s| s == svc).unwrap();
            for dep in spec["depends_on"].as_object().into_iter().flatten() {
                let dep_at = order.iter().position(|s| s == dep.0).unwrap();
                assert!(dep_at < at, "{name}: `{svc}` listed before `{}`", dep.0);
            }
        }
        assert_eq!(
            sorted(mrctl_config(&f, &["--volumes"])),
            sorted(compose(&f, &["config", "--volumes"])),
            "{name}"
        );
    }
}

#[test]
fn yaml_is_the_same_model_as_json() {
    let file = corpus()
        .into_iter()
        .find(|p| p.ends_with("11-depends-on.yml"))
        .unwrap();
    let f = stack(&file);
    let yaml: Value = serde_saphyr::from_str(&mrctl_config(&f, &[])).unwrap();
    let json: Value = serde_json::from_str(&mrctl_config(&f, &["--format", "json"])).unwrap();
    assert_eq!(yaml, json);
}
