//! The containers mrctl creates, compared group by group with the ones
//! docker compose v2 creates from the same files: for each stack below, the
//! instance is started with mrctl, compose creates its own copy under
//! another project name with the command `mrctl info` prints, and both
//! containers' inspect output (configuration, host configuration, mounts,
//! networks) must be the same once the project names are made equal.

use serde_json::{Map, Value, json};

use super::engine_harness::{EngineTest, inspect_json};

fn pick(from: &Value, keys: &[&str]) -> Value {
    keys.iter()
        .map(|k| (k.to_string(), from[*k].clone()))
        .collect::<Map<_, _>>()
        .into()
}

/// What the compose files decide about a container, with the parts that
/// differ by nature (ids, the engine's default hostname, the project name,
/// the labels naming the project or the tool) taken out.
fn projection(c: &Value, project: &str) -> Value {
    let id = c["Id"].as_str().unwrap_or_default();
    let short = &id[..12.min(id.len())];
    let cfg = &c["Config"];
    let hc = &c["HostConfig"];
    let mut config = pick(
        cfg,
        &[
            "Cmd",
            "Entrypoint",
            "User",
            "WorkingDir",
            "ExposedPorts",
            "Healthcheck",
            "StopSignal",
            "StopTimeout",
            "Hostname",
            "Domainname",
            "Image",
            "Tty",
            "OpenStdin",
        ],
    );
    if config["Hostname"].as_str() == Some(short) {
        config["Hostname"] = Value::Null;
    }
    let mut env: Vec<Value> = cfg["Env"].as_array().cloned().unwrap_or_default();
    env.sort_by_key(|v| v.to_string());
    config["Env"] = Value::Array(env);
    let labels: Map<String, Value> = cfg["Labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| !k.starts_with("com.docker.compose.") && !k.starts_with("mrctl."))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    config["Labels"] = Value::Object(labels);
    // `Binds` and `Mounts` are two ways of asking for the same mounts: the
    // resolved `Mounts` below are compared instead.
    let mut host = pick(
        hc,
        &[
            "PortBindings",
            "RestartPolicy",
            "ExtraHosts",
            "Ulimits",
            "Memory",
            "NanoCpus",
            "PidsLimit",
            "NetworkMode",
            "Tmpfs",
            "VolumesFrom",
            "Links",
        ],
    );
    // Compose sends these in the order of a Go map, which changes from run
    // to run; the engine does not care.
    for key in ["ExtraHosts", "Ulimits"] {
        if let Some(list) = host[key].as_array_mut() {
            list.sort_by_key(|v| v.to_string());
        }
    }
    // An empty list or mapping means the same as none.
    if let Value::Object(m) = &mut host {
        for v in m.values_mut() {
            if v.as_array().is_some_and(|a| a.is_empty())
                || v.as_object().is_some_and(|o| o.is_empty())
            {
                *v = Value::Null;
            }
        }
    }
    // Mounts as the engine resolved them: the same whether they were asked
    // for as `Binds` or `Mounts`.
    let mut mounts: Vec<Value> = c["Mounts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            let mut m = pick(
                &m,
                &["Type", "Name", "Source", "Destination", "RW", "Propagation"],
            );
            // An anonymous volume's name is random.
            if m["Type"] == "volume" && m["Name"].as_str().is_some_and(|n| n.len() == 64) {
                m["Name"] = json!("<anonymous>");
                m["Source"] = json!("<anonymous>");
            }
            m
        })
        .collect();
    mounts.sort_by_key(|v| v["Destination"].to_string());
    let mut networks = Map::new();
    if let Some(nets) = c["NetworkSettings"]["Networks"].as_object() {
        for (name, n) in nets {
            let mut aliases: Vec<Value> = n["Aliases"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                // The engine adds the short id and the hostname when the
                // container starts (mrctl's is started, compose's created).
                .filter(|a| a.as_str() != Some(short) && *a != cfg["Hostname"])
                .collect();
            aliases.sort_by_key(|v| v.to_string());
            let ipam = match &n["IPAMConfig"] {
                Value::Object(m) if m.is_empty() => Value::Null,
                other => other.clone(),
            };
            networks.insert(
                name.clone(),
                json!({"Aliases": aliases, "IPAMConfig": ipam, "Links": n["Links"]}),
            );
        }
    }
    let text = json!({
        "Name": c["Name"],
        "Config": config,
        "HostConfig": host,
        "Mounts": mounts,
        "Networks": networks,
    })
    .to_string()
    .replace(project, "PROJECT");
    serde_json::from_str(&text).unwrap()
}

/// The paths where `a` (mrctl's) and `b` (compose's) differ, with both values.
fn differences(a: &Value, b: &Value, at: String, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let null = Value::Null;
                differences(
                    x.get(k).unwrap_or(&null),
                    y.get(k).unwrap_or(&null),
                    format!("{at}.{k}"),
                    out,
                );
            }
        }
        _ if a != b => out.push(format!("  {at}: mrctl {a} / compose {b}")),
        _ => {}
    }
}

/// Starts `compose` as instance `s` with mrctl, has docker compose create
/// the same containers under another project name, and compares each of
/// `services` (one container each) between the two.
fn same_as_compose(
    test: &str,
    ports: &[&str],
    compose: &str,
    files: &[(&str, &str)],
    services: &[&str],
) {
    let Some(t) = EngineTest::new(test, ports, compose, "") else {
        return;
    };
    for (path, text) in files {
        t.f.write(path, text);
    }
    t.f.run(&["create", "s"]).success();
    let (ours, theirs, _down) = t.compose_twin("s", "create --no-build --pull never");
    t.f.run(&["start", "s"]).success();
    for svc in services {
        let a = projection(&inspect_json(&format!("{ours}-{svc}-1")), &ours);
        let b = projection(&inspect_json(&format!("{theirs}-{svc}-1")), &theirs);
        let mut diffs = Vec::new();
        differences(&a, &b, String::new(), &mut diffs);
        assert!(
            diffs.is_empty(),
            "service `{svc}`: mrctl's container differs from compose's:\n{}",
            diffs.join("\n")
        );
    }
    t.f.run(&["clean", "s", "--yes"]).success();
}

#[test]
fn process_settings_are_those_compose_sets() {
    same_as_compose(
        "compare_process",
        &[],
        r#"services:
  app:
    image: busybox:latest
    command: ["sh", "-c", "sleep 600"]
    entrypoint: /bin/env
    user: "1000:1000"
    working_dir: /tmp
    hostname: apphost
    environment:
      LIST_FORM: "1"
      EMPTY: ""
    env_file: app.env
    labels:
      team: core
      tier: "2"
    restart: unless-stopped
    stop_signal: SIGINT
    stop_grace_period: 1m30s
    expose: ["8080", "9000-9001/udp"]
    extra_hosts:
      - "db.local:10.0.0.5"
      - "gw:host-gateway"
    ulimits:
      nofile: {soft: 1024, hard: 2048}
      nproc: 512
  other:
    image: busybox:latest
    command: sleep 600
    restart: "on-failure:3"
"#,
        &[("app.env", "FROM_FILE=yes\nQUOTED=\"a b\"\n")],
        &["app", "other"],
    );
}

#[test]
fn ports_are_published_as_compose_publishes_them() {
    same_as_compose(
        "compare_ports",
        &["web", "admin"],
        r#"services:
  app:
    image: busybox:latest
    command: sleep 600
    ports:
      - "${WEB_PORT}:80"
      - "127.0.0.1:${ADMIN_PORT}:81/udp"
      - "9443"
      - target: 82
        published: "${WEB_PORT_2:-0}"
        protocol: tcp
        host_ip: 127.0.0.1
"#,
        &[],
        &["app"],
    );
}

#[test]
fn mounts_are_those_compose_makes() {
    same_as_compose(
        "compare_mounts",
        &[],
        r#"services:
  app:
    image: busybox:latest
    command: sleep 600
    volumes:
      - data:/data
      - ./conf:/conf:ro
      - /var/cache/anon
      - type: volume
        source: logs
        target: /logs
        read_only: true
      - type: bind
        source: ./site
        target: /site
      - type: tmpfs
        target: /scratch
volumes:
  data:
  logs:
"#,
        &[("conf/a.conf", "x\n"), ("site/index.html", "hi\n")],
        &["app"],
    );
}

#[test]
fn networks_and_aliases_are_those_compose_makes() {
    same_as_compose(
        "compare_networks",
        &[],
        r#"services:
  app:
    image: busybox:latest
    command: sleep 600
    networks:
      front:
        aliases: [www, site]
      back: {}
  db:
    image: busybox:latest
    command: sleep 600
    networks: [back]
  solo:
    image: busybox:latest
    command: sleep 600
networks:
  front:
  back:
    internal: true
"#,
        &[],
        &["app", "db", "solo"],
    );
}

#[test]
fn healthchecks_and_limits_are_those_compose_sets() {
    same_as_compose(
        "compare_health_limits",
        &[],
        r#"services:
  db:
    image: busybox:latest
    command: sleep 600
    healthcheck:
      test: ["CMD-SHELL", "true"]
      interval: 2s
      timeout: 1s
      retries: 3
      start_period: 1s
    mem_limit: 64m
    cpus: 0.5
    pids_limit: 100
  api:
    image: busybox:latest
    command: sleep 600
    depends_on:
      db:
        condition: service_healthy
    healthcheck:
      test: wget -q localhost || exit 1
    deploy:
      resources:
        limits:
          memory: 32M
          cpus: "0.25"
          pids: 50
"#,
        &[],
        &["db", "api"],
    );
}
