//! The expected hashes here are docker compose v2.40.3's own: each fixture
//! was created with `docker compose -p mrctlhashunit -f F create`, and the
//! values are the `com.docker.compose.config-hash` labels compose put on the
//! containers, networks and volume it made.

use std::path::{Path, PathBuf};

use super::*;
use crate::compose::Limits;

fn project(yaml: &str) -> Project {
    let files = [PathBuf::from("docker-compose.yml")];
    crate::compose::resolve(
        &crate::compose::LoadOptions {
            project: "mrctlhashunit",
            working_dir: Path::new("/srv"),
            files: &files,
            variables: &Default::default(),
            profiles: &[],
        },
        &[yaml.to_string()],
    )
    .unwrap()
}

/// Many keys at once, strings Go escapes (`<`, `>`, `&`, a tab, quotes,
/// non-ASCII), maps whose keys Go sorts, and fields compose clears
/// (`depends_on`, `pull_policy`).
const MANY_KEYS: &str = r#"services:
  web:
    image: busybox:latest
    command: ["sh", "-c", "echo '<a & b>' && sleep 1000"]
    entrypoint: ["/bin/sh"]
    environment:
      HTML: "<b>&amp;</b>"
      UNICODE: "héllo — ☃"
      EMPTY: ""
      QUOTE: "say \"hi\"\tthere"
    labels:
      b.label: "2"
      a.label: "1"
    ports:
      - "127.0.0.1:18089:80"
      - "9090/udp"
    expose: ["3000"]
    volumes:
      - data:/data
      - /anon
      - type: tmpfs
        target: /scratch
    networks:
      front:
        aliases: [www]
      default:
    healthcheck:
      test: ["CMD", "true"]
      interval: 1m30s
      timeout: 5s
      retries: 3
      start_period: 500ms
    restart: unless-stopped
    user: "1000:1000"
    working_dir: /app
    hostname: webhost
    extra_hosts: ["db.local:10.0.0.5"]
    stop_grace_period: 20s
    stop_signal: SIGINT
    ulimits:
      nofile: {soft: 1024, hard: 2048}
      nproc: 512
    mem_limit: 256m
    cpus: 0.5
    pids_limit: 100
    init: true
    tty: true
    cap_add: [NET_ADMIN]
    sysctls: {net.core.somaxconn: 1024}
    logging: {driver: json-file, options: {max-size: 10m}}
    depends_on: [db]
    pull_policy: missing
  db:
    image: busybox:latest
    command: ["sleep", "1000"]
    deploy:
      resources:
        limits: {memory: 128m, cpus: "0.25"}
networks:
  front:
    driver: bridge
    labels: {tier: front}
volumes:
  data:
    labels: {keep: "yes"}
"#;

#[test]
fn hashes_equal_docker_compose_for_many_keys() {
    let h = project(MANY_KEYS).config_hashes();
    assert_eq!(
        h.services["web"],
        "a4504fc4c6cb91a2d01974739a914c127d92095d00cbeaebca7b3c8fee1dd229"
    );
    assert_eq!(
        h.services["db"],
        "d3ca56e9a62a2f0a15d3c2be3892567148a718f9feb36b7252a3c74d2e74989e"
    );
    assert_eq!(
        h.networks["front"],
        "ace8aef0d8cae9b0bb8f38d5cd5c02523cdd669987ceadee2bc7482eb907a1a0"
    );
    assert_eq!(
        h.networks["default"],
        "8c56f1e648f792098c947160851d7c21aea3c72dee11dcaad2a6f32e17682a07"
    );
    assert_eq!(
        h.volumes["data"],
        "203cc047d4e591fe09a484fa0ed80cca8f0702f3f4a711894a521f0aa15eb813"
    );
}

#[test]
fn the_hash_follows_the_files_not_the_instances_limits() {
    let yaml = |env: &str, mem: &str| {
        format!(
            "services:\n  web:\n    image: x\n    environment: {{A: '{env}'}}\n    mem_limit: {mem}\n"
        )
    };
    let h = |env: &str, mem: &str| project(&yaml(env, mem)).config_hash("web");
    assert_eq!(h("1", "64m"), h("1", "64m"));
    assert_ne!(h("1", "64m"), h("2", "64m"));
    // A limit written in the files is part of compose's hash...
    assert_ne!(h("1", "64m"), h("1", "128m"));
    // ...the instance's own limits, applied in place, are not.
    let mut p = project(&yaml("1", "64m"));
    p.apply_limits(Limits {
        memory: Some(32 << 20),
        nano_cpus: Some(500_000_000),
        pids: None,
    });
    assert_eq!(p.config_hash("web"), h("1", "64m"));
}

#[test]
fn fields_compose_clears_do_not_change_the_hash() {
    let base = "services:\n  web:\n    image: x\n  db:\n    image: x\n";
    let with = |extra: &str| {
        project(&format!(
            "services:\n  web:\n    image: x\n{extra}  db:\n    image: x\n"
        ))
        .config_hash("web")
    };
    let plain = project(base).config_hash("web");
    assert_eq!(with("    depends_on: [db]\n"), plain);
    assert_eq!(with("    pull_policy: always\n"), plain);
    assert_ne!(with("    restart: always\n"), plain);
}

#[test]
fn strings_are_escaped_as_go_escapes_them() {
    let mut out = String::new();
    write_string(&mut out, "a<b>&\"\\\n\t\u{1}\u{8}\u{c}\u{2028}é☃\u{7f}");
    assert_eq!(
        out,
        "\"a\\u003cb\\u003e\\u0026\\\"\\\\\\n\\t\\u0001\\b\\f\\u2028é☃\u{7f}\""
    );
}

#[test]
fn numbers_are_written_as_go_writes_them() {
    let n = |v: serde_json::Value| match v {
        serde_json::Value::Number(n) => go_number(&n),
        _ => unreachable!(),
    };
    assert_eq!(n(serde_json::json!(0.5)), "0.5");
    assert_eq!(n(serde_json::json!(100)), "100");
    assert_eq!(n(serde_json::json!(-3)), "-3");
    assert_eq!(n(serde_json::json!(1e20)), "100000000000000000000");
    assert_eq!(n(serde_json::json!(1e21)), "1e+21");
    assert_eq!(n(serde_json::json!(1.5e-7)), "1.5e-07");
}

#[test]
fn structs_keep_declaration_order_and_maps_sort() {
    let v = serde_json::json!({
        "working_dir": "/w",
        "image": "x",
        "environment": {"b": "2", "a": "1"},
        "command": null,
        "x-unknown": 1,
        "ports": [{"protocol": "tcp", "target": 80, "mode": "ingress"}],
    });
    assert_eq!(
        go_json(&v, &SERVICE),
        r#"{"command":null,"environment":{"a":"1","b":"2"},"image":"x","ports":[{"mode":"ingress","target":80,"protocol":"tcp"}],"working_dir":"/w","x-unknown":1}"#
    );
}

/// Every service key mrctl accepts has its place in compose's field order,
/// so a key added to the loader hashes as compose hashes it. (Keys compose
/// folds into others on load, such as `mem_limit` into limits, are still
/// fields of compose-go's struct.)
#[test]
fn every_accepted_service_key_has_its_place_in_compose_order() {
    let Struct(fields) = &SERVICE else {
        unreachable!("a service is a struct");
    };
    let missing: Vec<&&str> = super::super::load::SERVICE_KEYS
        .iter()
        // Compose reads `pull_refresh_after` but neither prints nor hashes
        // it (and mrctl refuses it).
        .filter(|k| **k != "pull_refresh_after")
        .filter(|k| !fields.iter().any(|(f, _)| f == *k))
        .collect();
    assert!(
        missing.is_empty(),
        "not in compose's field order: {missing:?}"
    );
}
