//! Secrets, configs, mount options and network attachments against the real
//! engine: what mrctl creates is what docker compose v2 creates from the
//! same files (the engine's view of mounts, networks, endpoints and
//! volumes), and the files written into the container have the same
//! content, owner and mode.

use serde_json::{Value, json};

use super::engine_harness::{ComposeDown, EngineTest, docker};

fn inspect(what: &[&str]) -> Value {
    let out = docker(&[&["inspect"], what].concat());
    assert!(
        out.status.success(),
        "{what:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all: Value = serde_json::from_slice(&out.stdout).unwrap();
    all[0].clone()
}

/// `v` with every occurrence of `project` (and its `_`/`-` forms) made `P`.
fn neutral(v: &Value, project: &str) -> Value {
    serde_json::from_str(&v.to_string().replace(project, "P")).unwrap()
}

fn sorted_by(v: &Value, key: &str) -> Value {
    let mut items = v.as_array().cloned().unwrap_or_default();
    items.sort_by_key(|m| m[key].to_string());
    Value::Array(items)
}

/// The mounts of a container as the engine reports them, and the files
/// the secrets and configs put there.
fn mounts_and_files(container: &str, project: &str) -> Value {
    let c = inspect(&[container]);
    let mut binds = c["HostConfig"]["Binds"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    binds.sort_by_key(|b| b.to_string());
    let mounts: Vec<Value> = c["Mounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            json!({
                "Type": m["Type"], "Name": m["Name"], "Destination": m["Destination"],
                "Mode": m["Mode"], "RW": m["RW"], "Propagation": m["Propagation"],
                "Source": if m["Type"] == "bind" { m["Source"].clone() } else { Value::Null },
            })
        })
        .collect();
    let files = [
        "/run/secrets/file_secret",
        "/run/secrets/token",
        "/etc/inline.conf",
        "/file_config",
    ];
    let stat = docker(
        &[
            &["exec", container, "stat", "-c", "%n %a %u %g"][..],
            &files[..],
        ]
        .concat(),
    );
    let cat = docker(&[&["exec", container, "cat"][..], &files[..]].concat());
    neutral(
        &json!({
            "binds": binds,
            "host_mounts": sorted_by(&c["HostConfig"]["Mounts"], "Target"),
            "mounts": sorted_by(&Value::Array(mounts), "Destination"),
            "stat": String::from_utf8_lossy(&stat.stdout),
            "cat": String::from_utf8_lossy(&cat.stdout),
        }),
        project,
    )
}

const SECRETS: &str = r#"services:
  app:
    image: busybox:latest
    command: ["sleep", "600"]
    volumes:
      - ./binds/a:/a:ro,z
      - type: bind
        source: ./binds/b
        target: /b
        bind:
          propagation: rprivate
      - data:/data:nocopy
      - type: tmpfs
        target: /scratch
        tmpfs:
          size: 1m
          mode: 01777
    secrets:
      - file_secret
      - source: env_secret
        target: token
        uid: "123"
        gid: "456"
        mode: 0440
    configs:
      - source: inline
        target: /etc/inline.conf
      - file_config
secrets:
  file_secret:
    file: ./secret.txt
  env_secret:
    environment: TOKEN
configs:
  inline:
    content: "listen 8080\n"
  file_config:
    file: ./conf.txt
volumes:
  data:
"#;

#[test]
fn secrets_configs_and_mounts_match_docker_compose() {
    let Some(t) = EngineTest::new("secrets_mounts_like_compose", &[], SECRETS, "") else {
        return;
    };
    t.f.write("secret.txt", "file-secret-value\n");
    t.f.write("conf.txt", "conf=1\n");
    t.f.write("binds/b/.keep", "");
    t.f.run(&["create", "s"]).success();
    let env = t.f.read(".instances/s/.env");
    t.f.write(
        ".instances/s/.env",
        &format!("{env}TOKEN=env-secret-value\n"),
    );
    let ours = format!("{}-s", t.stack);
    let theirs = format!("{ours}x");
    let _down = ComposeDown(theirs.clone());
    let started = t.f.run(&["start", "s"]).success();
    for value in ["env-secret-value", "file-secret-value"] {
        assert!(!started.stdout.contains(value) && !started.stderr.contains(value));
    }
    t.compose_as("s", &theirs, "up -d --no-build --pull never");
    let mine = mounts_and_files(&format!("{ours}-app-1"), &ours);
    assert_eq!(mine, mounts_and_files(&format!("{theirs}-app-1"), &theirs));
    // And what that is: compose's owners and modes.
    let stat = mine["stat"].as_str().unwrap();
    assert!(stat.contains("/run/secrets/token 440 123 456"), "{stat}");
    assert!(stat.contains("/etc/inline.conf 444 0 0"), "{stat}");
    let config = t.f.run(&["config", "s"]).success().stdout;
    assert!(!config.contains("env-secret-value"), "{config}");
    t.f.run(&["clean", "s", "--yes"]).success();
}

/// A /24 of 10.213.0.0/16 that no network of the engine uses.
fn free_subnet() -> u8 {
    let out = docker(&["network", "ls", "-q"]);
    let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let mut used = String::new();
    for id in ids {
        let o = docker(&[
            "network",
            "inspect",
            &id,
            "--format",
            "{{json .IPAM.Config}}",
        ]);
        used.push_str(&String::from_utf8_lossy(&o.stdout));
    }
    let seed = std::process::id() as usize;
    (0..150)
        .map(|i| (100 + (seed + i * 37) % 150) as u8)
        .find(|n| !used.contains(&format!("10.213.{n}.")))
        .expect("a free 10.213.N.0/24")
}

/// The networks, the endpoints and the volume of the project's container.
fn attachments(container: &str, project: &str) -> Value {
    let c = inspect(&[container]);
    let mut endpoints = serde_json::Map::new();
    for (name, e) in c["NetworkSettings"]["Networks"].as_object().unwrap() {
        let mut aliases: Vec<Value> = e["Aliases"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            // The engine adds the short container id.
            .filter(|a| {
                a.as_str()
                    .is_some_and(|a| !c["Id"].as_str().unwrap().starts_with(a))
            })
            .collect();
        aliases.sort_by_key(|a| a.to_string());
        // Addresses the engine chose differ from one container to the next.
        let fixed = name.ends_with("_front");
        let chosen = |v: &Value| if fixed { v.clone() } else { Value::Null };
        endpoints.insert(
            name.clone(),
            json!({
                "IPAMConfig": e["IPAMConfig"], "Aliases": aliases, "MacAddress": chosen(&e["MacAddress"]),
                "DriverOpts": e["DriverOpts"], "IPAddress": chosen(&e["IPAddress"]),
            }),
        );
    }
    let network = |n: &str| {
        let i = inspect(&["--type", "network", &format!("{project}_{n}")]);
        let labels: serde_json::Map<String, Value> = i["Labels"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| !k.starts_with("com.docker.compose") && !k.starts_with("mrctl."))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        // The pool of a network without one is the engine's choice.
        let ipam = if n == "front" {
            i["IPAM"].clone()
        } else {
            i["IPAM"]["Driver"].clone()
        };
        json!({
            "Driver": i["Driver"], "EnableIPv6": i["EnableIPv6"], "IPAM": ipam,
            "Internal": i["Internal"], "Attachable": i["Attachable"], "Options": i["Options"],
            "Labels": labels,
        })
    };
    let v = inspect(&["--type", "volume", &format!("{project}_scratch")]);
    neutral(
        &json!({
            "network_mode": c["HostConfig"]["NetworkMode"],
            "endpoints": endpoints,
            "front": network("front"),
            "back": network("back"),
            "volume": {"Driver": v["Driver"], "Options": v["Options"], "kind": v["Labels"]["kind"]},
        }),
        project,
    )
}

#[test]
fn network_attachments_match_docker_compose() {
    let n = free_subnet();
    let compose_file = format!(
        r#"services:
  app:
    image: busybox:latest
    command: ["sleep", "600"]
    volumes:
      - scratch:/scratch
    networks:
      front:
        ipv4_address: 10.213.{n}.10
        aliases: [web]
        mac_address: "02:42:0a:d5:{n:02x}:99"
        driver_opts:
          com.example.opt: "1"
      back:
        priority: 100
  second:
    image: busybox:latest
    command: ["sleep", "600"]
    profiles: [mac]
    networks:
      front:
        ipv4_address: 10.213.{n}.11
        mac_address: "02:42:0a:d5:{n:02x}:98"
networks:
  front:
    driver_opts:
      com.docker.network.bridge.enable_icc: "true"
    labels:
      tier: front
    attachable: true
    ipam:
      config:
        - subnet: 10.213.{n}.0/24
          gateway: 10.213.{n}.1
          aux_addresses:
            reserved: 10.213.{n}.5
  back:
    internal: true
volumes:
  scratch:
    driver: local
    labels:
      kind: scratch
"#
    );
    let Some(t) = EngineTest::new("network_attachments_like_compose", &[], &compose_file, "")
    else {
        return;
    };
    let ours = format!("{}-s", t.stack);
    let theirs = format!("{ours}x");
    t.f.run(&["create", "s"]).success();
    // A MAC address on the network joined at create needs API 1.44: before
    // it, docker compose refuses it, and so does mrctl, creating nothing.
    let api = docker(&["version", "--format", "{{.Server.APIVersion}}"]);
    if String::from_utf8_lossy(&api.stdout).trim() == "1.41" {
        t.f.run(&["start", "s", "--profile", "mac"])
            .code(3)
            .stderr_has("service `second`: `networks.front.mac_address` on the network the container joins first needs Docker API 1.44");
        assert!(t.containers().is_empty());
    }
    t.f.run(&["start", "s"]).success();
    let mine = attachments(&format!("{ours}-app-1"), &ours);
    // The same subnet cannot be used twice at once: compose's turn comes
    // after mrctl's containers and networks are gone.
    t.f.run(&["down", "s"]).success();
    let _down = ComposeDown(theirs.clone());
    t.compose_as("s", &theirs, "up -d --no-build --pull never");
    let expected = attachments(&format!("{theirs}-app-1"), &theirs);

    t.compose_as("s", &theirs, "down -v");
    t.f.run(&["clean", "s", "--yes"]).success();
    assert_eq!(mine, expected);
    // The primary network is the one of highest priority, and the fixed
    // address and MAC address hold.
    assert_eq!(mine["network_mode"], "P_back");
    assert_eq!(
        mine["endpoints"]["P_front"]["IPAddress"],
        format!("10.213.{n}.10")
    );
}
