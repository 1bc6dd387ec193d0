//! Services of several containers (`scale`, `deploy.replicas`) against the
//! real engine: the containers mrctl makes are named, numbered and set up
//! as the ones docker compose v2 makes from the same files; scaling down
//! removes the highest numbers; status, exec, stop and down see each one.

use super::engine_harness::{EngineTest, docker};

const COMPOSE: &str = r#"services:
  web:
    image: busybox:latest
    command: ["sleep", "600"]
    stop_grace_period: 1s
    ports:
      - "80"
    deploy:
      replicas: 3
      labels:
        swarm.only: "yes"
      restart_policy:
        condition: on-failure
        max_attempts: 2
      resources:
        reservations:
          memory: 20M
  spread:
    image: busybox:latest
    command: ["sleep", "600"]
    stop_grace_period: 1s
    scale: 3
    ports:
      - "RANGE:80"
  off:
    image: busybox:latest
    scale: 0
  after:
    image: busybox:latest
    command: ["sleep", "600"]
    stop_grace_period: 1s
    depends_on: [web]
"#;

/// The project's containers by name, each with what a replica is told by:
/// its service and number labels, whether it carries `deploy.labels`, its
/// restart policy and memory reservation, and its state.
fn replicas(project: &str) -> Vec<(String, serde_json::Value)> {
    let ids = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=com.docker.compose.project={project}"),
    ]);
    let ids: Vec<String> = String::from_utf8_lossy(&ids.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if ids.is_empty() {
        return Vec::new();
    }
    let mut args = vec!["inspect"];
    args.extend(ids.iter().map(String::as_str));
    let out = docker(&args);
    let all: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mut list: Vec<(String, serde_json::Value)> = all
        .iter()
        .map(|c| {
            let labels = &c["Config"]["Labels"];
            let name = c["Name"].as_str().unwrap().trim_start_matches('/');
            let short = name.strip_prefix(&format!("{project}-")).unwrap();
            (
                short.to_string(),
                serde_json::json!({
                    "service": labels["com.docker.compose.service"],
                    "number": labels["com.docker.compose.container-number"],
                    "oneoff": labels["com.docker.compose.oneoff"],
                    "swarm_label": labels.get("swarm.only").is_some(),
                    "restart": c["HostConfig"]["RestartPolicy"],
                    "reservation": c["HostConfig"]["MemoryReservation"],
                    "state": c["State"]["Status"],
                }),
            )
        })
        .collect();
    list.sort_by(|a, b| a.0.cmp(&b.0));
    list
}

#[test]
fn replicas_are_made_scaled_and_operated_like_composes() {
    let Some(t) = EngineTest::new("replicas_like_compose", &[], COMPOSE, "") else {
        return;
    };
    // Three host ports of the test's own range, one for each container.
    let (low, high) = (t.port_base + 10, t.port_base + 12);
    let compose = COMPOSE.replace("RANGE", &format!("{low}-{high}"));
    t.f.write("docker-compose.yml", &compose);
    t.f.run(&["create", "r"]).success();
    // docker compose creates its containers under another project name,
    // from the same files, without starting them.
    let (project, theirs, _cleanup) = t.compose_twin("r", "create --no-build --pull never");
    t.f.run(&["start", "r"]).success();

    // The same containers, numbered and set up alike (theirs never started).
    let mine = replicas(&project);
    let names: Vec<&str> = mine.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "after-1", "spread-1", "spread-2", "spread-3", "web-1", "web-2", "web-3"
        ]
    );
    let without_state = |list: Vec<(String, serde_json::Value)>| -> Vec<_> {
        list.into_iter()
            .map(|(n, mut v)| {
                v.as_object_mut().unwrap().remove("state");
                (n, v)
            })
            .collect()
    };
    assert_eq!(
        without_state(mine.clone()),
        without_state(replicas(&theirs))
    );
    assert!(
        mine.iter().all(|(_, v)| v["state"] == "running"),
        "{mine:?}"
    );
    // The engine gave each container of the range its own port of it.
    let mut published: Vec<u16> = (1..=3)
        .map(|n| {
            let out = docker(&["port", &format!("{project}-spread-{n}"), "80/tcp"]);
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            let first = text.lines().next().unwrap_or_default().to_string();
            first.rsplit(':').next().unwrap().trim().parse().unwrap()
        })
        .collect();
    published.sort_unstable();
    assert_eq!(published, [low, low + 1, high]);

    // A service of no containers is not missing from a running instance.
    t.f.run(&["list"]).success().stdout_has("running 3/3");
    // health judges each container, labelled with its number.
    let health = t.f.run(&["health", "r"]).success().stdout;
    for n in 1..=3 {
        assert!(health.contains(&format!("web-{n} ")), "{health}");
    }
    assert!(!health.contains("off"), "{health}");

    // status lists each container; exec reaches the one asked for.
    let status = t.f.run(&["status", "r"]).success().stdout;
    for n in 1..=3 {
        assert!(status.contains(&format!("{project}-web-{n}")), "{status}");
    }
    let hostname = |n: u32| {
        let out = docker(&[
            "inspect",
            "-f",
            "{{.Config.Hostname}}",
            &format!("{project}-web-{n}"),
        ]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    t.f.run(&["exec", "r", "web", "--index", "2", "-T", "--", "hostname"])
        .success()
        .stdout_is(&format!("{}\n", hostname(2)));
    t.f.run(&["exec", "r", "web", "-T", "--", "hostname"])
        .success()
        .stdout_is(&format!("{}\n", hostname(1)));
    t.f.run(&["exec", "r", "web", "--index", "4", "-T", "--", "true"])
        .code(2)
        .stderr_has("service `web` of instance `r` has no container number 4 (it has 1, 2, 3)");

    // stop stops every container; start brings them all back.
    t.f.run(&["stop", "r"]).success();
    let stopped = replicas(&project);
    assert!(
        stopped.iter().all(|(_, v)| v["state"] == "exited"),
        "{stopped:?}"
    );
    t.f.run(&["start", "r"]).success();

    // One replica now: the highest numbers go, the highest first; the
    // container that stays is not recreated.
    let id_of_first = || {
        let out = docker(&["inspect", "-f", "{{.Id}}", &format!("{project}-web-1")]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let first = id_of_first();
    t.f.write(
        "docker-compose.yml",
        &compose
            .replace("replicas: 3", "replicas: 1")
            .replace("scale: 3", "scale: 1"),
    );
    let run = t.f.run(&["start", "r"]).success();
    let third = run
        .stderr
        .find(&format!("`{project}-web-3` removed"))
        .unwrap_or_else(|| panic!("{}", run.stderr));
    let second = run
        .stderr
        .find(&format!("`{project}-web-2` removed"))
        .unwrap_or_else(|| panic!("{}", run.stderr));
    assert!(third < second, "{}", run.stderr);
    let names: Vec<String> = replicas(&project).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["after-1", "spread-1", "web-1"]);
    assert_eq!(id_of_first(), first);

    // down removes every container.
    t.f.run(&["down", "r"]).success();
    assert!(replicas(&project).is_empty());
    t.f.run(&["clean", "r", "--yes"]).success();
}

#[test]
fn what_no_engine_can_run_is_refused_before_anything_is_made() {
    // Compose's model takes any restart condition and a fixed host port on
    // several containers; the engine runs neither.
    let compose = concat!(
        "services:\n  web:\n    image: busybox:latest\n    command: [sleep, '600']\n",
        "    deploy:\n      restart_policy: {condition: sometimes}\n",
    );
    let Some(t) = EngineTest::new("replicas_refused", &[], compose, "") else {
        return;
    };
    t.f.run(&["create", "r"]).success();
    let project = format!("{}-r", t.stack);
    t.f.run(&["start", "r"]).code(1).stderr_has(
        "service `web` of instance `r` cannot run: `deploy.restart_policy.condition` is `sometimes`",
    );
    let fixed = format!(
        "services:\n  web:\n    image: busybox:latest\n    scale: 2\n    ports: ['{}:80']\n",
        t.port_base + 15
    );
    t.f.write("docker-compose.yml", &fixed);
    t.f.run(&["start", "r"]).code(5).stderr_has(
        "of service `web` of instance `r` is taken: the service runs 2 containers and only one can publish a fixed host port",
    );
    assert!(replicas(&project).is_empty());
    assert_eq!(t.project_resources(&project), (Vec::new(), Vec::new()));
    t.f.run(&["clean", "r", "--yes"]).success();
}
