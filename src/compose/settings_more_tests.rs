use std::path::{Path, PathBuf};

use crate::compose::{LoadOptions, Project, resolve};

fn load_in(dir: &Path, yaml: &str, profiles: &[String]) -> Result<Project, String> {
    let files = [dir.join("c.yml")];
    resolve(
        &LoadOptions {
            project: "p",
            working_dir: dir,
            files: &files,
            variables: &Default::default(),
            profiles,
        },
        &[yaml.to_string()],
    )
    .map_err(|e| e.to_string())
}

fn load(yaml: &str) -> Result<Project, String> {
    load_in(&PathBuf::from("/srv"), yaml, &[])
}

fn err(body: &str) -> String {
    load(&format!("services:\n  web:\n    image: x\n{body}")).unwrap_err()
}

#[test]
fn bad_values_name_the_service_and_the_key() {
    for (body, want) in [
        (
            "    cgroup: bogus\n",
            "service `web`: `cgroup`: `bogus` is not `host` or `private`",
        ),
        (
            "    isolation: hyperv\n",
            "`isolation`: `hyperv` is a Windows isolation mode",
        ),
        (
            "    network_mode: host\n    networks: [default]\n",
            "`network_mode` and `networks` exclude each other",
        ),
        (
            "    network_mode: \"service:\"\n",
            "`network_mode`: `service:` names nothing",
        ),
        (
            "    volumes_from: [\"x:rx\"]\n",
            "`volumes_from`: `x:rx` is not `SERVICE[:ro|:rw]`",
        ),
        (
            "    cpu_percent: 120\n",
            "`cpu_percent`: `120` is not a whole number from 0 to 100",
        ),
        (
            "    cpu_rt_runtime: 400ms\n",
            "`cpu_rt_runtime`: `400ms` is not a whole number",
        ),
        (
            "    blkio_config: {weight_device: [{path: /dev/sda, weight: 5}]}\n",
            "`blkio_config.weight_device`: `5` is not a valid weight for `/dev/sda`",
        ),
        (
            "    blkio_config: {device_read_bps: [{rate: 1k}]}\n",
            "`blkio_config.device_read_bps` entries need a `path`",
        ),
        (
            "    blkio_config: {bogus: 1}\n",
            "`blkio_config.bogus` is not a block I/O setting",
        ),
        (
            "    gpus: [{count: many}]\n",
            "`gpus.count`: `many` is not a number or `all`",
        ),
        ("    attach: maybe\n", "`attach` must be true or false"),
        (
            "    depends_on: {db: {restart: sometimes}}\n  db:\n    image: x\n",
            "`depends_on.db.restart` must be true or false",
        ),
        (
            "    links: [nope]\n",
            "service `web` depends on `nope`, which is not defined",
        ),
        (
            "    volumes_from: [nope]\n",
            "service `web` depends on `nope`, which is not defined",
        ),
        (
            "    network_mode: \"service:nope\"\n",
            "service `web` depends on `nope`, which is not defined",
        ),
    ] {
        let e = err(body);
        assert!(e.contains(want), "{body}: {e}");
    }
}

#[test]
fn keys_mrctl_does_not_run_are_refused_with_the_reason() {
    for (key, value, why) in [
        ("credential_spec", "{file: spec.json}", "Windows container"),
        ("provider", "{type: model}", "compose plugin"),
        ("models", "[llm]", "Docker Model Runner"),
        ("use_api_socket", "true", "registry credentials"),
        ("pull_refresh_after", "1h", "pull_policy: refresh"),
    ] {
        let e = err(&format!("    {key}: {value}\n"));
        assert!(
            e.contains(&format!(
                "service `web`: `{key}` is not supported by mrctl: "
            )) && e.contains(why),
            "{key}: {e}"
        );
    }
}

#[test]
fn named_services_become_dependencies_and_explicit_ones_win() {
    let p = load(concat!(
        "services:\n  db:\n    image: x\n  cache:\n    image: x\n  app:\n    image: x\n",
        "    links: [\"db:database\"]\n    volumes_from: [\"cache:ro\", \"container:c\"]\n",
        "    depends_on: {cache: {condition: service_healthy}}\n",
    ))
    .unwrap();
    let deps: Vec<(&str, &str)> = p.services["app"]
        .depends_on
        .iter()
        .map(|(k, c)| (k.as_str(), c.as_str()))
        .collect();
    assert_eq!(
        deps,
        [("cache", "service_healthy"), ("db", "service_started")]
    );
    assert_eq!(p.waves, [vec!["db", "cache"], vec!["app"]]);
}

#[test]
fn an_optional_dependency_that_is_not_active_is_skipped_with_a_warning() {
    let yaml = concat!(
        "services:\n  app:\n    image: x\n",
        "    depends_on: {metrics: {condition: service_started, required: false}}\n",
        "  metrics:\n    image: x\n    profiles: [monitoring]\n",
    );
    let p = load(yaml).unwrap();
    assert!(p.services["app"].depends_on.is_empty());
    assert_eq!(
        p.warnings,
        ["service `app`: optional dependency `metrics` is not active; starting without it"]
    );
    let p = load_in(&PathBuf::from("/srv"), yaml, &["monitoring".into()]).unwrap();
    assert!(p.services["app"].depends_on.contains_key("metrics"));
    assert!(p.warnings.is_empty());
    // A required one stays an error.
    let e = load(&yaml.replace("required: false", "required: true")).unwrap_err();
    assert!(
        e.contains("depends on `metrics`, which is not defined or not active"),
        "{e}"
    );
}

#[test]
fn label_files_give_labels_that_the_services_own_labels_override() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.labels"), "team=core\ntier=web\n").unwrap();
    std::fs::write(dir.path().join("b.labels"), "tier=edge\n").unwrap();
    let p = load_in(
        dir.path(),
        concat!(
            "services:\n  app:\n    image: x\n    label_file: [./a.labels, b.labels]\n",
            "    labels: {team: platform}\n",
        ),
        &[],
    )
    .unwrap();
    let labels: Vec<(&str, &str)> = p.services["app"]
        .labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(labels, [("team", "platform"), ("tier", "edge")]);
    let e = load_in(
        dir.path(),
        "services:\n  app:\n    image: x\n    label_file: ./missing\n",
        &[],
    )
    .unwrap_err();
    assert!(
        e.contains("service `app`: `label_file`: `") && e.contains("missing` does not exist"),
        "{e}"
    );
}

#[test]
fn a_service_without_the_new_keys_keeps_its_hash() {
    let p = load("services:\n  app:\n    image: x\n").unwrap();
    let json = serde_json::to_string(&p.services["app"]).unwrap();
    for key in [
        "blkio_devices",
        "network_mode",
        "links",
        "gpus",
        "attach",
        "develop",
        "start_interval",
    ] {
        assert!(!json.contains(key), "{key} in {json}");
    }
}

#[test]
fn post_start_hooks_take_a_command_user_directory_and_environment() {
    let p = load(concat!(
        "services:\n  app:\n    image: x\n    post_start:\n",
        "      - command: echo \"a b\"\n        user: root\n        working_dir: /tmp\n",
        "        environment: [X=1, Y]\n",
        "      - command: [sh, -c, \"true\"]\n        privileged: true\n",
    ))
    .unwrap();
    let hooks = &p.services["app"].settings.post_start;
    assert_eq!(hooks[0].command, ["echo", "a b"]);
    assert_eq!(hooks[0].user.as_deref(), Some("root"));
    assert_eq!(hooks[0].working_dir.as_deref(), Some("/tmp"));
    assert_eq!(hooks[0].environment["X"].as_deref(), Some("1"));
    assert_eq!(hooks[0].environment["Y"], None);
    assert!(!hooks[0].privileged && hooks[1].privileged);
    for (body, want) in [
        ("[{user: root}]", "`post_start` entries need a `command`"),
        (
            "[{command: x, when: later}]",
            "`post_start`: key `when` is not a hook setting",
        ),
        ("echo", "`post_start` must be a list"),
    ] {
        let e = err(&format!("    post_start: {body}\n"));
        assert!(e.contains(want), "{body}: {e}");
    }
}
