//! The engine test harness: a real Docker engine, a busybox image imported
//! through the API (nothing can be pulled here), a stack per test with its
//! own name and port range, and removal of everything labelled with that
//! stack when the test ends, even when it panics.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::query_parameters::{
    CreateImageOptionsBuilder, ListContainersOptionsBuilder, ListNetworksOptionsBuilder,
    ListVolumesOptionsBuilder, RemoveContainerOptionsBuilder,
};
use futures_util::StreamExt;

use super::common::Fixture;

/// The image tests and examples name; the harness imports it from /bin/busybox.
pub const IMAGE: &str = "busybox:latest";

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn connect() -> Option<Docker> {
    let docker = Docker::connect_with_defaults().ok()?;
    tokio::time::timeout(Duration::from_secs(3), docker.negotiate_version())
        .await
        .ok()?
        .ok()
}

/// A tar of a root file system holding static busybox and its applets.
fn busybox_rootfs() -> Vec<u8> {
    let busybox = std::fs::read("/bin/busybox")
        .expect("/bin/busybox is missing: install busybox-static (.ci/run does)");
    let list = std::process::Command::new("/bin/busybox")
        .arg("--list")
        .output()
        .unwrap();
    let mut tar = tar::Builder::new(Vec::new());
    let dir = |tar: &mut tar::Builder<Vec<u8>>, path: &str| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        tar.append_data(&mut h, path, std::io::empty()).unwrap();
    };
    for d in ["bin", "tmp", "etc", "root", "www", "srv"] {
        dir(&mut tar, d);
    }
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o755);
    h.set_size(busybox.len() as u64);
    tar.append_data(&mut h, "bin/busybox", busybox.as_slice())
        .unwrap();
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet == "busybox" || applet.is_empty() {
            continue;
        }
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_mode(0o777);
        h.set_size(0);
        tar.append_link(&mut h, format!("bin/{applet}"), "busybox")
            .unwrap();
    }
    let passwd = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n";
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o644);
    h.set_size(passwd.len() as u64);
    tar.append_data(&mut h, "etc/passwd", &passwd[..]).unwrap();
    tar.into_inner().unwrap()
}

/// Imports the busybox image once per test process.
async fn ensure_image(docker: &Docker) {
    static DONE: OnceLock<()> = OnceLock::new();
    if DONE.get().is_some() || docker.inspect_image(IMAGE).await.is_ok() {
        let _ = DONE.set(());
        return;
    }
    let options = CreateImageOptionsBuilder::new()
        .from_src("-")
        .repo("busybox")
        .tag("latest")
        .changes(vec!["ENV PATH=/bin".to_string()])
        .build();
    let body = bollard::body_full(busybox_rootfs().into());
    let mut stream = docker.create_image(Some(options), Some(body), None);
    while let Some(item) = stream.next().await {
        item.expect("importing the busybox image");
    }
    let _ = DONE.set(());
}

/// A test against the real engine: a stack directory plus its Docker resources.
pub struct EngineTest {
    pub f: Fixture,
    pub stack: String,
    /// First port of this test's private range.
    pub port_base: u16,
    docker: Docker,
}

/// Connects, or explains loudly why engine tests are skipped (and fails
/// when MRCTL_REQUIRE_DOCKER=1, as in CI).
pub fn engine_or_skip(test: &str) -> Option<Docker> {
    let docker = runtime().block_on(async {
        let d = connect().await?;
        ensure_image(&d).await;
        Some(d)
    });
    if docker.is_none() {
        if std::env::var("MRCTL_REQUIRE_DOCKER").as_deref() == Ok("1") {
            panic!("{test}: no Docker engine answers and MRCTL_REQUIRE_DOCKER=1");
        }
        eprintln!(
            "SKIPPED {test}: no Docker engine answers (set MRCTL_REQUIRE_DOCKER=1 to fail instead)"
        );
    }
    docker
}

impl EngineTest {
    /// A stack named uniquely with `compose` as its compose file; the
    /// mrctl.toml gets the test's private port range for `[ports.base]`.
    /// `ports` are the named ports; each gets base = port_base + i.
    pub fn new(test: &str, ports: &[&str], compose: &str, extra_toml: &str) -> Option<EngineTest> {
        let docker = engine_or_skip(test)?;
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let stack = format!("mrctltest-{}-{n}", std::process::id());
        // A private range per test so parallel tests never race for a port.
        let port_base = 31000 + ((std::process::id() as usize % 40) * 400 + n * 20) as u16 % 30000;
        let mut toml = format!("name = \"{stack}\"\n{extra_toml}\n[ports.base]\n");
        for (i, p) in ports.iter().enumerate() {
            toml.push_str(&format!("{p} = {}\n", port_base + (i as u16) * 5));
        }
        let f = Fixture::new(&toml);
        f.write("docker-compose.yml", compose);
        Some(EngineTest {
            f,
            stack,
            port_base,
            docker,
        })
    }

    /// A copy of `examples/<example>` under a stack name of its own (so the
    /// harness can find and remove what the test creates).
    pub fn from_example(test: &str, example: &str) -> Option<EngineTest> {
        let docker = engine_or_skip(test)?;
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(example);
        let f = Fixture::empty();
        copy_example(&src, f.dir());
        let toml = f.read("mrctl.toml");
        let original = toml
            .lines()
            .find_map(|l| {
                l.strip_prefix("name = \"")
                    .and_then(|r| r.split('"').next())
            })
            .expect("the example names its stack")
            .to_string();
        let stack = format!("{original}-t{}x{n}", std::process::id());
        f.write(
            "mrctl.toml",
            &toml.replacen(
                &format!("name = \"{original}\""),
                &format!("name = \"{stack}\""),
                1,
            ),
        );
        Some(EngineTest {
            f,
            stack,
            port_base: 0,
            docker,
        })
    }

    /// Containers labelled with this test's stack.
    pub fn containers(&self) -> Vec<bollard::models::ContainerSummary> {
        let mut filters = HashMap::new();
        filters.insert("label", vec![format!("mrctl.stack={}", self.stack)]);
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        runtime()
            .block_on(self.docker.list_containers(Some(options)))
            .unwrap()
    }

    /// Containers of one compose project, as (service, id, state).
    pub fn project(&self, project: &str) -> Vec<(String, String, String)> {
        let mut filters = HashMap::new();
        filters.insert(
            "label",
            vec![format!("com.docker.compose.project={project}")],
        );
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let mut out: Vec<_> = runtime()
            .block_on(self.docker.list_containers(Some(options)))
            .unwrap()
            .into_iter()
            .map(|c| {
                let labels = c.labels.unwrap_or_default();
                (
                    labels["com.docker.compose.service"].clone(),
                    c.id.unwrap_or_default(),
                    c.state.map(|s| s.to_string()).unwrap_or_default(),
                )
            })
            .collect();
        out.sort();
        out
    }

    /// Names of networks and volumes labelled with a project.
    pub fn project_resources(&self, project: &str) -> (Vec<String>, Vec<String>) {
        let mut filters = HashMap::new();
        filters.insert(
            "label",
            vec![format!("com.docker.compose.project={project}")],
        );
        runtime().block_on(async {
            let n = self
                .docker
                .list_networks(Some(
                    ListNetworksOptionsBuilder::new().filters(&filters).build(),
                ))
                .await
                .unwrap()
                .into_iter()
                .filter_map(|n| n.name)
                .collect();
            let v = self
                .docker
                .list_volumes(Some(
                    ListVolumesOptionsBuilder::new().filters(&filters).build(),
                ))
                .await
                .unwrap()
                .volumes
                .unwrap_or_default()
                .into_iter()
                .map(|v| v.name)
                .collect();
            (n, v)
        })
    }

    /// Creates a network through the API, which (unlike the docker CLI)
    /// does not refuse a name that already exists.
    pub fn create_network(&self, name: &str, labels: &[(&str, &str)]) {
        let request = bollard::models::NetworkCreateRequest {
            name: name.to_string(),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        };
        runtime()
            .block_on(self.docker.create_network(request))
            .unwrap();
    }

    /// The identity labels mrctl puts on what it creates for this stack
    /// directory (from its registry, so after the first create or start).
    pub fn identity_labels(&self) -> Vec<(String, String)> {
        let reg = self.f.registry();
        vec![
            ("mrctl.stack".to_string(), self.stack.clone()),
            (
                "mrctl.stack-id".to_string(),
                reg["stack"]["id"].as_str().unwrap().to_string(),
            ),
            (
                "mrctl.stack-dir".to_string(),
                reg["stack"]["dir"].as_str().unwrap().to_string(),
            ),
        ]
    }

    /// Removes a container by name, as a user would by hand.
    pub fn remove_container(&self, name: &str) {
        let options = RemoveContainerOptionsBuilder::new().force(true).build();
        runtime()
            .block_on(self.docker.remove_container(name, Some(options)))
            .unwrap();
    }

    /// Inspects a container.
    pub fn inspect(&self, name: &str) -> bollard::models::ContainerInspectResponse {
        runtime()
            .block_on(self.docker.inspect_container(name, None))
            .unwrap()
    }

    fn cleanup(&self) {
        let stack = self.stack.clone();
        let docker = self.docker.clone();
        runtime().block_on(async move {
            let mut filters = HashMap::new();
            filters.insert("label", vec![format!("mrctl.stack={stack}")]);
            let list = docker
                .list_containers(Some(
                    ListContainersOptionsBuilder::new()
                        .all(true)
                        .filters(&filters)
                        .build(),
                ))
                .await
                .unwrap_or_default();
            for c in list {
                let options = RemoveContainerOptionsBuilder::new()
                    .force(true)
                    .v(true)
                    .build();
                let _ = docker
                    .remove_container(c.id.as_deref().unwrap_or_default(), Some(options))
                    .await;
            }
            let nets = docker
                .list_networks(Some(
                    ListNetworksOptionsBuilder::new().filters(&filters).build(),
                ))
                .await
                .unwrap_or_default();
            for n in nets {
                let _ = docker
                    .remove_network(n.id.as_deref().unwrap_or_default())
                    .await;
            }
            let vols = docker
                .list_volumes(Some(
                    ListVolumesOptionsBuilder::new().filters(&filters).build(),
                ))
                .await
                .map(|v| v.volumes.unwrap_or_default())
                .unwrap_or_default();
            for v in vols {
                let _ = docker
                    .remove_volume(
                        &v.name,
                        None::<bollard::query_parameters::RemoveVolumeOptions>,
                    )
                    .await;
            }
        });
    }
}

impl Drop for EngineTest {
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// GET `path` from 127.0.0.1:`port`, retrying until `deadline` passes.
pub fn http_get(port: u16, deadline: Duration) -> Result<String, String> {
    let end = Instant::now() + deadline;
    let mut last = String::new();
    while Instant::now() < end {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(mut s) => {
                s.set_read_timeout(Some(Duration::from_secs(2))).ok();
                let _ = s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n");
                let mut body = String::new();
                let _ = s.read_to_string(&mut body);
                if body.starts_with("HTTP/1") && body.contains(" 200 ") {
                    return Ok(body
                        .split("\r\n\r\n")
                        .nth(1)
                        .unwrap_or_default()
                        .to_string());
                }
                last = body;
            }
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(last)
}

/// Copies an example's files, leaving out state a user's run left there.
fn copy_example(src: &std::path::Path, dst: &std::path::Path) {
    for entry in std::fs::read_dir(src).unwrap().flatten() {
        let name = entry.file_name();
        let name_s = name.to_string_lossy();
        if name_s.starts_with("instances.json")
            || name_s == ".instances"
            || name_s == "instance_data"
        {
            continue;
        }
        let to = dst.join(&name);
        if entry.path().is_dir() {
            std::fs::create_dir_all(&to).unwrap();
            copy_example(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
}

/// `docker ARGS`, as a user would run it.
pub fn docker(args: &[&str]) -> std::process::Output {
    std::process::Command::new("docker")
        .args(args)
        .output()
        .unwrap()
}

/// Takes a project docker compose made down (`down -v`), even when the test
/// fails; by project name alone, since the instance's files may be gone.
pub struct ComposeDown(pub String);

impl Drop for ComposeDown {
    fn drop(&mut self) {
        let _ = docker(&["compose", "-p", &self.0, "down", "-v"]);
    }
}

impl EngineTest {
    /// The command `mrctl info` prints for `instance`, run under the project
    /// `<project>x` with `args` in place of its `ps`: docker compose working
    /// on the same files as mrctl, beside it. Returns both project names and
    /// the guard that takes compose's project down.
    pub fn compose_twin(&self, instance: &str, args: &str) -> (String, String, ComposeDown) {
        let project = format!("{}-{instance}", self.stack);
        let theirs = format!("{project}x");
        let guard = ComposeDown(theirs.clone());
        self.compose_as(instance, &theirs, args);
        (project, theirs, guard)
    }

    /// Runs the compose command of `instance` under project `theirs` with
    /// `args` in place of `ps`; fails the test when it fails.
    pub fn compose_as(&self, instance: &str, theirs: &str, args: &str) {
        let project = format!("{}-{instance}", self.stack);
        let info = self.f.run(&["--json", "info", instance]).success().json();
        let line = info["compose_command"].as_str().unwrap();
        let command = format!(
            "{} {args}",
            line.strip_suffix(" ps")
                .unwrap_or_else(|| panic!("no `ps` at the end of {line}"))
                .replace(&format!("-p {project} "), &format!("-p {theirs} "))
        );
        let out = std::process::Command::new("sh")
            .args(["-c", &command])
            .current_dir(self.f.dir())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `docker inspect NAME`: the one object, as JSON; fails the test when the
/// engine does not know it.
pub fn inspect_json(name: &str) -> serde_json::Value {
    let out = docker(&["inspect", name]);
    assert!(
        out.status.success(),
        "docker inspect {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    all[0].take()
}
