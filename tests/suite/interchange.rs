//! Containers made by mrctl and by docker compose v2 from the same files are
//! interchangeable: each tool keeps what the other started (same names,
//! labels and config hashes), against a real engine; and the config hash
//! mrctl computes for every corpus file is the one compose computes.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use super::common::Fixture;
use super::engine_harness::EngineTest;

/// Several services: a health-checked database with a named volume on a
/// network of its own, an API on that network and the default one with
/// environment from an env file, a web server publishing a port; each
/// waits for the one before it.
const STACK: &str = r#"
services:
  db:
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done"]
    volumes:
      - data:/data
    networks: [back]
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
      retries: 30
    stop_grace_period: 1s
  api:
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done"]
    env_file: api.env
    environment:
      DB_HOST: db
    networks: [back, default]
    depends_on:
      db:
        condition: service_healthy
        restart: true
    stop_grace_period: 1s
  web:
    image: busybox:latest
    command: ["httpd", "-f", "-p", "8080", "-h", "/"]
    ports:
      - "${WEB_PORT}:8080"
    depends_on: [api]
    stop_grace_period: 1s
volumes:
  data:
networks:
  back:
"#;

fn stack(test: &str) -> Option<EngineTest> {
    let t = EngineTest::new(test, &["web"], STACK, "")?;
    t.f.write("api.env", "API_MODE=interchange\nAPI_KEY=not-a-secret\n");
    Some(t)
}

/// The compose command `mrctl info NAME` prints, without its `ps`.
fn compose_words(f: &Fixture, name: &str) -> Vec<String> {
    let info = f.run(&["--json", "info", name]).success().json();
    let line = info["compose_command"].as_str().unwrap().to_string();
    let mut words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    assert_eq!(words.pop().as_deref(), Some("ps"), "{line}");
    words
}

fn compose(dir: &Path, words: &[String], args: &[&str]) -> Output {
    let out = Command::new(&words[0])
        .args(&words[1..])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("`docker compose` is needed (Docker Compose v2): {e}"));
    assert!(
        out.status.success(),
        "`{} {}` failed: {}",
        words.join(" "),
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `docker compose … down -v` when dropped, so that what compose made
/// (its networks carry no mrctl label) goes with the test, pass or fail.
struct ComposeDown {
    dir: std::path::PathBuf,
    words: Vec<String>,
}

impl Drop for ComposeDown {
    fn drop(&mut self) {
        let _ = Command::new(&self.words[0])
            .args(&self.words[1..])
            .args(["down", "-v", "--timeout", "1"])
            .current_dir(&self.dir)
            .output();
    }
}

/// What compose's progress says it did: any container created or
/// recreated is named with the word.
fn assert_compose_made_nothing(out: &Output) {
    let text = String::from_utf8_lossy(&out.stderr);
    for word in ["Creat", "Recreat", "Replac"] {
        assert!(
            !text
                .lines()
                .any(|l| l.contains("Container") && l.contains(word)),
            "docker compose made a container again:\n{text}"
        );
    }
}

/// Every container compose lists for the project is running.
fn assert_compose_sees_all_running(dir: &Path, words: &[String], services: usize) {
    let out = compose(dir, words, &["ps", "--all", "--format", "json"]);
    let states: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["Service"].as_str().unwrap().to_string(),
                v["State"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(states.len(), services, "{states:?}");
    assert!(states.iter().all(|(_, s)| s == "running"), "{states:?}");
}

#[test]
fn docker_compose_up_keeps_what_mrctl_started() {
    let Some(t) = stack("compose_keeps_mrctl") else {
        return;
    };
    t.f.run(&["up", "a"]).success();
    let project = format!("{}-a", t.stack);
    let words = compose_words(&t.f, "a");
    let _down = ComposeDown {
        dir: t.f.dir().to_path_buf(),
        words: words.clone(),
    };
    let before = t.project(&project);
    assert_eq!(before.len(), 3, "{before:?}");

    let out = compose(t.f.dir(), &words, &["up", "-d"]);
    assert_compose_made_nothing(&out);
    assert_eq!(t.project(&project), before, "compose recreated containers");
    assert_compose_sees_all_running(t.f.dir(), &words, 3);

    // And mrctl keeps them after compose looked at them.
    t.f.run(&["start", "a"]).success();
    assert_eq!(t.project(&project), before);
}

#[test]
fn mrctl_start_keeps_what_docker_compose_started() {
    let Some(t) = stack("mrctl_keeps_compose") else {
        return;
    };
    t.f.run(&["create", "b"]).success();
    let project = format!("{}-b", t.stack);
    let words = compose_words(&t.f, "b");
    let _down = ComposeDown {
        dir: t.f.dir().to_path_buf(),
        words: words.clone(),
    };
    compose(t.f.dir(), &words, &["up", "-d", "--wait"]);
    let before = t.project(&project);
    assert_eq!(before.len(), 3, "{before:?}");

    let run = t.f.run(&["start", "b"]).success();
    assert!(
        !run.stderr.contains("recreate") && !run.stderr.contains("created"),
        "{}",
        run.stderr
    );
    assert_eq!(t.project(&project), before, "mrctl recreated containers");

    // Compose, in turn, still finds them up to date.
    let out = compose(t.f.dir(), &words, &["up", "-d"]);
    assert_compose_made_nothing(&out);
    assert_eq!(t.project(&project), before);
    assert_compose_sees_all_running(t.f.dir(), &words, 3);
}

/// Compose's hash of each service from what `docker compose config --format
/// json` prints (its model, fields in compose's own order): the fields
/// compose clears removed, written compactly, hashed. This is the
/// `com.docker.compose.config-hash` compose labels containers with (checked
/// against containers compose created from the corpus); it is independent
/// of mrctl's ordering tables, which put mrctl's canonical form in that
/// order.
fn compose_hashes(config: &str) -> Vec<(String, String)> {
    use sha2::{Digest, Sha256};
    let v: Value = serde_json::from_str(config).unwrap();
    let mut out = Vec::new();
    for (name, svc) in v["services"].as_object().unwrap() {
        let mut svc = svc.as_object().unwrap().clone();
        for key in ["build", "pull_policy", "scale", "depends_on", "profiles"] {
            svc.shift_remove(key);
        }
        if let Some(Value::Object(deploy)) = svc.get_mut("deploy") {
            deploy.shift_remove("replicas");
        }
        // Go's encoder also escapes these; they occur only inside strings.
        let text = serde_json::to_string(&svc)
            .unwrap()
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026")
            .replace('\u{2028}', "\\u2028")
            .replace('\u{2029}', "\\u2029");
        let hash: String = Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        out.push((name.clone(), hash));
    }
    out.sort();
    out
}

#[test]
fn config_hashes_equal_docker_compose_for_the_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compose-corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    for file in &files {
        let f = Fixture::empty();
        f.write(
            "mrctl.toml",
            "name = \"corpus\"\n\n[ports]\nhost_check = false\n\n[ports.base]\nweb = 18080\n",
        );
        let text = std::fs::read_to_string(file).unwrap();
        f.write("docker-compose.yml", &text);
        f.write("app.env", "SHARED=from-file\nAPP_KEY=abc123\n");
        f.run(&["create", "c"]).success();
        // `# env: K=V` lines at the top of a corpus file go to the instance's env file.
        let extra: String = text
            .lines()
            .filter_map(|l| l.strip_prefix("# env: "))
            .map(|l| format!("{l}\n"))
            .collect();
        let env = f.read(".instances/c/.env");
        f.write(".instances/c/.env", &format!("{env}{extra}"));
        let words = compose_words(&f, "c");
        let config = compose(f.dir(), &words, &["config", "--format", "json"]);
        // Compose prints every `$` as `$$`; it hashes the values themselves.
        let printed = String::from_utf8_lossy(&config.stdout).replace("$$", "$");
        let theirs = compose_hashes(&printed);

        let stack = mrctl::stack::Stack::load(f.dir()).unwrap();
        let inst = mrctl::ops::instance::load_instance(&stack, "c").unwrap();
        let project = mrctl::ops::instance::instance_compose(&stack, "c", &inst).unwrap();
        let mut ours: Vec<(String, String)> =
            project.config_hashes().services.into_iter().collect();
        ours.sort();
        if ours != theirs {
            failures.push(format!(
                "{}: mrctl {ours:?}\n  docker compose {theirs:?}",
                file.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Removes an image tag of the test's own when dropped.
struct RemoveImage(String);

impl Drop for RemoveImage {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rmi", &self.0]).output();
    }
}

#[test]
fn a_new_image_recreates_the_container_in_both_tools_alike() {
    // Dropped last: after compose and the harness removed the containers.
    let tag = format!("mrctl-interchange-{}:web", std::process::id());
    let _image = RemoveImage(tag.clone());
    let compose_file = format!(
        "services:\n  web:\n    image: {tag}\n    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done\"]\n    stop_grace_period: 1s\n"
    );
    let Some(t) = EngineTest::new("new_image", &[], &compose_file, "") else {
        return;
    };
    docker(&["tag", "busybox:latest", &tag]);
    t.f.run(&["up", "a"]).success();
    let project = format!("{}-a", t.stack);
    let words = compose_words(&t.f, "a");
    let _down = ComposeDown {
        dir: t.f.dir().to_path_buf(),
        words: words.clone(),
    };
    let before = t.project(&project);
    let name = format!("{project}-web-1");
    let label = |name: &str| {
        t.inspect(name).config.unwrap().labels.unwrap()["com.docker.compose.image"].clone()
    };
    assert_eq!(
        label(&name),
        docker(&["image", "inspect", "-f", "{{.Id}}", &tag])
    );

    // The tag now names another image: mrctl makes the container again, as
    // compose would, and records the new image.
    docker(&["commit", &name, &tag]);
    let new_id = docker(&["image", "inspect", "-f", "{{.Id}}", &tag]);
    let run = t.f.run(&["start", "a"]).success();
    assert!(run.stderr.contains("recreated"), "{}", run.stderr);
    let after = t.project(&project);
    assert_ne!(after, before);
    assert_eq!(label(&name), new_id);

    // Compose finds it up to date.
    let out = compose(t.f.dir(), &words, &["up", "-d"]);
    assert_compose_made_nothing(&out);
    assert_eq!(t.project(&project), after);
}
