//! Against a real engine: drift behind mrctl's back (networks removed or
//! disconnected by hand, other published ports, missing external networks),
//! readiness by the one-shot rule, containers docker compose recreated,
//! instances without containers, and updates the engine refuses.

use std::time::{Duration, Instant};

use super::engine_harness::EngineTest;

const SLEEPER: &str =
    "[\"sh\", \"-c\", \"trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done\"]";

/// `docker ARGS…`, which must succeed; its stdout.
fn docker(args: &[&str]) -> String {
    let out = std::process::Command::new("docker")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Waits until `check` holds, failing after `secs` seconds.
fn poll(secs: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Replaces container `name` by a hand-made one with the same labels (so
/// mrctl takes it for its own, config hash included), on the same network
/// with the service's alias, plus `extra` docker run options.
fn replace_by_hand(t: &EngineTest, name: &str, network: &str, alias: &str, extra: &[&str]) {
    let labels = t.inspect(name).config.unwrap().labels.unwrap();
    t.remove_container(name);
    let mut args: Vec<String> = vec![
        "run".into(),
        "-d".into(),
        "--name".into(),
        name.into(),
        "--network".into(),
        network.into(),
        "--network-alias".into(),
        alias.into(),
    ];
    for (k, v) in &labels {
        args.push("--label".into());
        args.push(format!("{k}={v}"));
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(
        [
            "busybox:latest",
            "sh",
            "-c",
            "trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done",
        ]
        .map(String::from),
    );
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    docker(&refs);
}

/// Removes a network made by hand when the test ends, even when it fails.
struct RemoveNetwork(String);

impl Drop for RemoveNetwork {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["network", "rm", &self.0])
            .output();
    }
}

fn network_id(name: &str) -> String {
    docker(&["network", "inspect", "-f", "{{.Id}}", name])
}

/// (network id, aliases) of a container's attachment to `network`, if any.
fn attachment(t: &EngineTest, container: &str, network: &str) -> Option<(String, Vec<String>)> {
    let nets = t.inspect(container).network_settings?.networks?;
    let e = nets.get(network)?;
    Some((
        e.network_id.clone().unwrap_or_default(),
        e.aliases.clone().unwrap_or_default(),
    ))
}

fn app_stack(test: &str) -> Option<EngineTest> {
    let compose = format!(
        "services:\n  app:\n    image: busybox:latest\n    command: {SLEEPER}\n    ports: [\"${{WEB_PORT}}:80\"]\n    networks:\n      default:\n        aliases: [www]\n    stop_grace_period: 1s\n"
    );
    EngineTest::new(test, &["web"], &compose, "")
}

#[test]
fn a_network_removed_by_hand_is_reported_and_reconnected() {
    let Some(t) = app_stack("network_removed_by_hand") else {
        return;
    };
    t.f.run(&["up", "a"]).success();
    let project = format!("{}-a", t.stack);
    let (app, net) = (format!("{project}-app-1"), format!("{project}_default"));
    let id = t.project(&project)[0].1.clone();
    t.f.run(&["health", "a"]).success();
    t.f.run(&["doctor"]).success();

    // While it runs: disconnected, then the network removed.
    docker(&["network", "disconnect", &net, &app]);
    docker(&["network", "rm", &net]);
    t.f.run(&["health", "a"]).code(7).stderr_is(&format!(
        "error: instance `a` is not healthy: `app` (running, but it is not attached to network `{net}`)\n"
    ));
    let j = t.f.run(&["health", "a", "--json"]).code(7).json();
    assert_eq!(j["services"][0]["ready"], false);
    assert_eq!(
        j["services"][0]["drift"],
        format!("is not attached to network `{net}`")
    );
    let run = t.f.run(&["doctor"]).code(7);
    assert!(
        run.stdout.contains(&format!(
            "instance `a`: container `{app}` of service `app` is not attached to network `{net}`"
        )),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("mrctl start a"), "{}", run.stdout);

    let run = t.f.run(&["start", "a"]).success();
    assert!(
        run.stderr.contains(&format!("network `{net}` created")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "container `{app}` reconnected to network `{net}`: it had been disconnected"
        )),
        "{}",
        run.stderr
    );
    // The same container, on the new network, by id, with its aliases.
    assert_eq!(t.project(&project)[0].1, id);
    let (on, aliases) = attachment(&t, &app, &net).expect("attached again");
    assert_eq!(on, network_id(&net));
    assert!(
        aliases.contains(&"app".to_string()) && aliases.contains(&"www".to_string()),
        "{aliases:?}"
    );
    t.f.run(&["health", "a"]).success();
    t.f.run(&["doctor"]).success();

    // Disconnected only, the network still there: restart reconnects too.
    docker(&["network", "disconnect", &net, &app]);
    t.f.run(&["health", "a"]).code(7);
    t.f.run(&["restart", "a"]).success().stderr_has(&format!(
        "container `{app}` reconnected to network `{net}`: it had been disconnected"
    ));
    assert_eq!(attachment(&t, &app, &net).unwrap().0, network_id(&net));
    t.f.run(&["health", "a"]).success();
    let again = t.f.run(&["start", "a"]).success();
    assert!(
        again
            .stderr
            .contains(&format!("container `{app}` is running and up to date")),
        "{}",
        again.stderr
    );
}

#[test]
fn a_network_removed_under_a_stopped_container_is_repaired_by_doctor_fix() {
    let Some(t) = app_stack("network_removed_stopped") else {
        return;
    };
    t.f.run(&["up", "a"]).success();
    let project = format!("{}-a", t.stack);
    let (app, net) = (format!("{project}-app-1"), format!("{project}_default"));
    let id = t.project(&project)[0].1.clone();
    t.f.run(&["stop", "a"]).success();
    // A stopped container holds no endpoint, so the engine lets it go.
    docker(&["network", "rm", &net]);
    let run = t.f.run(&["doctor"]).code(7);
    let finding = format!(
        "instance `a`: container `{app}` of service `app` is attached to a network `{net}` that was removed (the id it holds is gone)"
    );
    assert!(run.stdout.contains(&finding), "{}", run.stdout);
    let run = t.f.run(&["doctor", "--fix"]).success();
    assert!(
        run.stderr.contains(&format!(
            "container `{app}` recreated: it is attached to a network `{net}` that was removed"
        )),
        "{}",
        run.stderr
    );
    assert_ne!(t.project(&project)[0].1, id);
    assert_eq!(attachment(&t, &app, &net).unwrap().0, network_id(&net));
    t.f.run(&["doctor"]).success();
    t.f.run(&["health", "a"]).success();
}

#[test]
fn published_ports_that_differ_make_start_recreate() {
    let Some(t) = app_stack("ports_differ") else {
        return;
    };
    t.f.run(&["up", "a"]).success();
    let project = format!("{}-a", t.stack);
    let (app, net) = (format!("{project}-app-1"), format!("{project}_default"));
    let port = t.f.registry()["instances"]["a"]["ports"]["web"]
        .as_u64()
        .unwrap() as u16;
    let other = port + 1;
    replace_by_hand(
        &t,
        &app,
        &net,
        "app",
        &[
            "--network-alias",
            "www",
            "-p",
            &format!("127.0.0.1:{other}:80"),
        ],
    );
    let why = format!("publishes `127.0.0.1:{other}->80/tcp` instead of `{port}->80/tcp`");
    t.f.run(&["health", "a"]).code(7).stderr_is(&format!(
        "error: instance `a` is not healthy: `app` (running, but it {why})\n"
    ));
    t.f.run(&["doctor"]).code(7).stdout_has(&format!(
        "instance `a`: container `{app}` of service `app` {why}"
    ));
    t.f.run(&["start", "a"])
        .success()
        .stderr_has(&format!("container `{app}` recreated: it {why}"));
    let bindings = t.inspect(&app).host_config.unwrap().port_bindings.unwrap();
    let b = bindings["80/tcp"].as_ref().unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].host_port.as_deref(), Some(port.to_string().as_str()));
    t.f.run(&["health", "a"]).success();
    t.f.run(&["doctor"]).success();
}

#[test]
fn a_missing_external_network_is_named_before_anything_is_touched() {
    let ext = format!("mrctl-ext-{}", std::process::id());
    let compose = format!(
        "services:\n  app:\n    image: busybox:latest\n    command: {SLEEPER}\n    networks: [default, shared]\n  side:\n    image: busybox:latest\n    command: {SLEEPER}\nnetworks:\n  shared:\n    external: true\n    name: {ext}\n"
    );
    // Declared before the test's stack, so it is dropped after the stack's
    // containers are gone (a network with containers cannot be removed).
    let _remove = RemoveNetwork(ext.clone());
    let Some(t) = EngineTest::new("missing_external_network", &[], &compose, "") else {
        return;
    };
    t.f.run(&["create", "a"]).success();
    let project = format!("{}-a", t.stack);
    t.f.run(&["start", "a"]).code(4).stderr_is(&format!(
        "error: external network `{ext}` of instance `a` does not exist: create it with `docker network create {ext}`\n"
    ));
    assert!(t.containers().is_empty());
    assert_eq!(t.project_resources(&project), (Vec::new(), Vec::new()));
    let run = t.f.run(&["doctor"]).code(7);
    assert!(
        run.stdout.contains(&format!(
            "instance `a`: external network `{ext}` does not exist"
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!("docker network create {ext}")),
        "{}",
        run.stdout
    );
    docker(&["network", "create", &ext]);
    t.f.run(&["start", "a"]).success();
    t.f.run(&["health", "a"]).success();
    t.f.run(&["doctor"]).success();
}

#[test]
fn a_long_running_service_that_exited_is_not_ready() {
    let compose = format!(
        "services:\n  job:\n    image: busybox:latest\n    command: [\"sh\", \"-c\", \"echo done\"]\n  web:\n    image: busybox:latest\n    command: {SLEEPER}\n    restart: unless-stopped\n    stop_grace_period: 1s\n"
    );
    let Some(t) = EngineTest::new("long_running_exited", &[], &compose, "") else {
        return;
    };
    t.f.run(&["up", "a"]).success();
    let project = format!("{}-a", t.stack);
    poll(30, "the job exits", || {
        t.project(&project)
            .iter()
            .any(|(s, _, state)| s == "job" && state == "exited")
    });
    // The one-shot that exited 0 is ready: health and list agree.
    t.f.run(&["health", "a"]).success();
    t.f.run(&["list"]).success().stdout_has("running 2/2");
    let j = t.f.run(&["list", "--json"]).success().json();
    assert_eq!(j["instances"][0]["state"]["running"], 2);

    // The long-running service stopped by hand exited 0, and is not ready.
    docker(&["stop", "-t", "1", &format!("{project}-web-1")]);
    t.f.run(&["health", "a"])
        .code(7)
        .stderr_is("error: instance `a` is not healthy: `web` (exited (0))\n");
    // Nothing runs: list says stopped, as health says not healthy.
    t.f.run(&["list"]).success().stdout_has("stopped");
    t.f.run(&["start", "a"]).success();
    t.f.run(&["health", "a"]).success();
    t.f.run(&["list"]).success().stdout_has("running 2/2");
}

#[test]
fn exited_services_count_by_the_one_shot_rule_in_health_and_list() {
    // `job` is a one-shot (no restart, no healthcheck, no ports) that fails;
    // `api` publishes a port and nothing waits for it to complete, so it is
    // long-running: exiting 0 does not make it ready.
    let compose = format!(
        "services:\n  job:\n    image: busybox:latest\n    command: [\"sh\", \"-c\", \"exit 3\"]\n  web:\n    image: busybox:latest\n    command: {SLEEPER}\n    restart: unless-stopped\n    stop_grace_period: 1s\n  api:\n    image: busybox:latest\n    command: [\"sh\", \"-c\", \"echo served\"]\n    ports: [\"${{WEB_PORT}}:80\"]\n"
    );
    let Some(t) = EngineTest::new("one_shot_rule", &["web"], &compose, "") else {
        return;
    };
    t.f.run(&["up", "a"]).success();
    let project = format!("{}-a", t.stack);
    poll(30, "job and api exit", || {
        t.project(&project)
            .iter()
            .filter(|(s, _, state)| s != "web" && state == "exited")
            .count()
            == 2
    });
    t.f.run(&["health", "a"])
        .code(7)
        .stderr_is("error: instance `a` is not healthy: `job` (exited (3)), `api` (exited (0))\n");
    t.f.run(&["list"]).success().stdout_has("partial 1/3");
}

#[test]
fn containers_recreated_by_docker_compose_are_found() {
    let Some(t) = app_stack("recreated_by_docker_compose") else {
        return;
    };
    t.f.run(&["up", "a"]).success();
    let project = format!("{}-a", t.stack);
    let out = std::process::Command::new("docker-compose")
        .current_dir(t.f.dir())
        .args([
            "-p",
            &project,
            "-f",
            "docker-compose.yml",
            "-f",
            ".instances/a/docker-compose.override.yml",
            "--env-file",
            ".instances/a/.env",
            "up",
            "-d",
            "--force-recreate",
        ])
        .output()
        .expect("docker-compose is not installed (.ci/run installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // docker compose names the container its own way; mrctl's name is gone.
    let containers = t.project(&project);
    assert_eq!(containers.len(), 1, "{containers:?}");
    let name = docker(&["inspect", "-f", "{{.Name}}", &containers[0].1]);
    assert_ne!(name, format!("/{project}-app-1"));
    let j = t.f.run(&["health", "a", "--json"]).success().json();
    assert_eq!(j["services"][0]["state"], "running");
    assert_eq!(j["services"][0]["container"], name.trim_start_matches('/'));
    t.f.run(&["list"]).success().stdout_has("running 1/1");
}

#[test]
fn doctor_warns_about_an_instance_without_containers() {
    let Some(t) = app_stack("instance_without_containers") else {
        return;
    };
    t.f.run(&["create", "b"]).success();
    let warning =
        "instance `b` has no containers: it was never started or was removed; `mrctl start b`";
    t.f.run(&["doctor"]).code(7).stdout_has(warning);
    let j = t.f.run(&["doctor", "--json"]).code(7).json();
    let finding = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["message"] == warning)
        .expect("the finding");
    assert_eq!(finding["severity"], "warning");
    assert_eq!(finding["fix"], "mrctl start b");
    // --fix starts it.
    t.f.run(&["doctor", "--fix"]).success();
    assert_eq!(t.project(&format!("{}-b", t.stack)).len(), 1);
    t.f.run(&["doctor"]).success();
    // Every container removed by hand: the same warning, not ok.
    t.remove_container(&format!("{}-b-app-1", t.stack));
    t.f.run(&["doctor"]).code(7).stdout_has(warning);
}

const TIERS: &str = "[instances]\ndefault_tier = \"free\"\n\n[tiers.free]\nmemory = \"64m\"\ncpus = 0.25\n\n[tiers.huge]\ncpus = 1000.0\n";

fn two_services() -> String {
    format!(
        "services:\n  big:\n    image: busybox:latest\n    command: {SLEEPER}\n    stop_grace_period: 1s\n  small:\n    image: busybox:latest\n    command: {SLEEPER}\n    mem_limit: 32m\n    stop_grace_period: 1s\n"
    )
}

fn host_limits(t: &EngineTest, container: &str) -> (i64, i64, i64) {
    let hc = t.inspect(container).host_config.unwrap();
    (
        hc.memory.unwrap_or_default(),
        hc.nano_cpus.unwrap_or_default(),
        hc.pids_limit.unwrap_or_default(),
    )
}

fn engine_cpus() -> u32 {
    docker(&["info", "-f", "{{.NCPU}}"]).parse().unwrap()
}

#[test]
fn an_update_the_engine_refuses_changes_nothing() {
    let Some(t) = EngineTest::new("update_refused", &[], &two_services(), TIERS) else {
        return;
    };
    t.f.run(&["up", "c"]).success();
    let p = format!("{}-c", t.stack);
    let (big, small) = (format!("{p}-big-1"), format!("{p}-small-1"));
    let limits = (host_limits(&t, &big), host_limits(&t, &small));
    let before = t.f.snapshot();
    let n = engine_cpus();
    let too_many = (n * 2).to_string();
    t.f.run(&["update", "c", "--cpus", &too_many])
        .code(1)
        .stderr_is(&format!(
            "error: the Docker engine refuses the limits of instance `c`: cpus {too_many} is more than the {n} CPU{} of the Docker engine; nothing was changed\n",
            if n == 1 { "" } else { "s" }
        ));
    super::common::assert_same(&before, &t.f.snapshot(), "a refused update");
    assert_eq!((host_limits(&t, &big), host_limits(&t, &small)), limits);
    // A later start is not broken by it.
    t.f.run(&["start", "c"]).success();

    // create and up refuse the same way, writing nothing.
    t.f.run(&["create", "d", "--cpus", &too_many])
        .code(1)
        .stderr_has("refuses the limits of instance `d`: cpus");
    t.f.run(&["up", "e", "--tier", "huge"])
        .code(1)
        .stderr_has("refuses the limits of instance `e`: cpus 1000 is more than");
    super::common::assert_same(&before, &t.f.snapshot(), "a refused create");
    assert!(!t.f.path(".instances/d").exists());
}

#[test]
fn an_update_refused_halfway_gives_the_old_limits_back() {
    let Some(t) = EngineTest::new("update_refused_halfway", &[], &two_services(), TIERS) else {
        return;
    };
    t.f.run(&["up", "c"]).success();
    let p = format!("{}-c", t.stack);
    let (big, small) = (format!("{p}-big-1"), format!("{p}-small-1"));
    // `small` made by hand with a CPU quota: the engine refuses to give it
    // a CPU count (NanoCPUs) on top, after `big` took its new limits.
    replace_by_hand(
        &t,
        &small,
        &format!("{p}_default"),
        "small",
        &["--memory", "32m", "--cpu-quota", "50000"],
    );
    let limits = (host_limits(&t, &big), host_limits(&t, &small));
    let before = t.f.snapshot();
    let run = t.f.run(&["update", "c", "--cpus", "0.5"]).code(1);
    assert!(
        run.stderr.starts_with(&format!(
            "error: the Docker engine refuses the limits of instance `c`, service `small` (container `{small}`): "
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.ends_with(&format!(
            "; container `{big}` got its old limits back; nothing was changed\n"
        )),
        "{}",
        run.stderr
    );
    // Never a bare 64-character container id.
    assert!(
        !run.stderr
            .split(|c: char| !c.is_ascii_hexdigit())
            .any(|w| w.len() == 64),
        "{}",
        run.stderr
    );
    assert_eq!((host_limits(&t, &big), host_limits(&t, &small)), limits);
    super::common::assert_same(&before, &t.f.snapshot(), "an update refused halfway");
}
