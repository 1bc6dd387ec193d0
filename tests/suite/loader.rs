//! The loader's features against the real engine: a stack that includes a
//! file and extends services of another creates the containers docker
//! compose v2 creates from the same files (command, environment, labels
//! written in the files, mounts with their host paths).

use super::engine_harness::{EngineTest, inspect_json};

const COMPOSE: &str = r#"include:
  - lib/db.yml
services:
  app:
    extends:
      file: lib/base.yml
      service: template
    environment:
      ROLE: app
    volumes:
      - ./own:/own
    depends_on: [db]
"#;

const BASE: &str = r#"services:
  template:
    image: busybox:latest
    command: ["sleep", "600"]
    environment:
      ROLE: template
      LEVEL: base
    labels:
      test.role: from-base
    volumes:
      - ./data:/data:ro
"#;

const DB: &str = r#"services:
  db:
    image: busybox:latest
    command: ["sleep", "600"]
    labels:
      test.role: db
    volumes:
      - ./init:/init
      - store:/store
volumes:
  store: {}
"#;

/// What the files decide about a container, project names left out.
fn shape(container: &str, project: &str) -> serde_json::Value {
    let c = &inspect_json(container);
    let mut env: Vec<String> = c["Config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect();
    env.sort();
    let mut mounts: Vec<String> = c["Mounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let source = match m["Type"].as_str() {
                Some("volume") => m["Name"].as_str().unwrap().replacen(project, "P", 1),
                _ => m["Source"].as_str().unwrap().to_string(),
            };
            format!("{} {source} {} rw={}", m["Type"], m["Destination"], m["RW"])
        })
        .collect();
    mounts.sort();
    serde_json::json!({
        "cmd": c["Config"]["Cmd"],
        "env": env,
        "role": c["Config"]["Labels"]["test.role"],
        "mounts": mounts,
    })
}

#[test]
fn included_and_extended_services_create_the_containers_compose_creates() {
    let Some(t) = EngineTest::new("loader_like_compose", &[], COMPOSE, "") else {
        return;
    };
    t.f.write("lib/base.yml", BASE);
    t.f.write("lib/db.yml", DB);
    for dir in ["own", "lib/data", "lib/init"] {
        std::fs::create_dir_all(t.f.path(dir)).unwrap();
    }
    t.f.run(&["create", "s"]).success();
    let (project, theirs, _cleanup) = t.compose_twin("s", "create --no-build --pull never");
    t.f.run(&["start", "s"]).success();
    for service in ["app", "db"] {
        assert_eq!(
            shape(&format!("{project}-{service}-1"), &project),
            shape(&format!("{theirs}-{service}-1"), &theirs),
            "{service}"
        );
    }
    let app = shape(&format!("{project}-app-1"), &project);
    assert!(
        app["env"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("ROLE=app")),
        "{app}"
    );
    t.f.run(&["clean", "s", "--yes"]).success();
}

/// A loader error is one sentence naming the file, the service and the key,
/// exits with the configuration code, and changes nothing.
#[test]
fn loader_errors_name_the_file_the_service_and_the_key() {
    use super::common::{Fixture, assert_same};
    /// The compose file, other files by path, and the expected message.
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (
            "services:\n  a: {extends: b, image: x}\n  b: {extends: a}\n",
            &[],
            "/docker-compose.yml`: service `a`: `extends` runs in a cycle: `a` → `b` → `a`",
        ),
        (
            "services:\n  a:\n    image: x\n    extends: {file: lib/gone.yml, service: b}\n",
            &[],
            "/docker-compose.yml`: service `a`: `extends.file` `lib/gone.yml` cannot be loaded: ",
        ),
        (
            "include: [lib/a.yml]\nservices:\n  a: {image: other}\n",
            &[("lib/a.yml", "services:\n  a: {image: a}\n")],
            "/docker-compose.yml`: `services.a` is defined both here and, differently, in the included `",
        ),
        (
            "include: [lib/a.yml]\nservices:\n  w: {image: w}\n",
            &[("lib/a.yml", "services:\n  a: {image: a, nope: 1}\n")],
            "/lib/a.yml`: service `a`: key `nope` is not supported by mrctl",
        ),
    ];
    for (compose, others, expected) in cases {
        let f = Fixture::new("name = \"loader\"\n");
        f.write("docker-compose.yml", compose);
        for (path, text) in *others {
            f.write(path, text);
        }
        // Creating reads only the service names; loading is what refuses.
        f.run(&["create", "x"]).success();
        let before = f.snapshot();
        let run = f.run(&["config", "x"]).code(3).one_error_line();
        assert!(
            run.stderr.starts_with("error: compose file `") && run.stderr.contains(expected),
            "{compose}: expected {expected:?} in {:?}",
            run.stderr
        );
        assert_same(&before, &f.snapshot(), compose);
    }
}
