//! The engine's own floor for `bench/run`: the best sequence of raw Docker
//! API calls for the stack's dependency graph, with no checks of any kind
//! (no image, port, hash or orphan checks, no labels beyond what removal
//! needs). The network and the volumes are made at once; every container is
//! then created at once; each is started as soon as its dependencies are
//! started, or healthy for a `service_healthy` dependency (read from the
//! engine's event stream, subscribed before anything starts).
//! `service_completed_successfully` is treated as started: the bench stack
//! has none.
//!
//!   cargo bench --bench floor -- up   PROJECT STACK_DIR ENV_FILE
//!   cargo bench --bench floor -- down PROJECT
//!
//! Prints the elapsed seconds of the operation on stdout.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, Mount, MountType,
    NetworkCreateRequest, NetworkingConfig, PortBinding, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, EventsOptionsBuilder, ListContainersOptionsBuilder,
    ListNetworksOptionsBuilder, RemoveContainerOptionsBuilder,
};
use futures_util::StreamExt;
use futures_util::future::join_all;
use mrctl::compose::{Condition, MountKind, Project, Service};
use tokio::sync::watch;

const LABEL: &str = "mrctl.floor";

fn load(project: &str, dir: &Path, env_file: &Path) -> Project {
    let text = std::fs::read_to_string(env_file).expect("env file");
    let variables = mrctl::envfile::parse_env(&text);
    let files: Vec<PathBuf> = vec![dir.join("docker-compose.yml")];
    mrctl::compose::load_project(&mrctl::compose::LoadOptions {
        project,
        working_dir: dir,
        files: &files,
        variables: &variables,
        profiles: &[],
    })
    .expect("the bench stack loads")
}

fn container_name(project: &Project, service: &str) -> String {
    format!("{}-{service}-1", project.name)
}

/// The container body for one service: what mrctl sends, minus its checks.
fn body(
    project: &Project,
    svc: &Service,
    labels: &HashMap<String, String>,
    network: &str,
) -> ContainerCreateBody {
    let mut bindings = HashMap::new();
    let mut exposed = Vec::new();
    for p in &svc.ports {
        let key = format!("{}/tcp", p.target);
        exposed.push(key.clone());
        bindings.insert(
            key,
            Some(vec![PortBinding {
                host_ip: None,
                host_port: p.published.map(|h| h.to_string()),
            }]),
        );
    }
    let mounts: Vec<Mount> = svc
        .mounts
        .iter()
        .filter(|m| m.kind == MountKind::Volume)
        .map(|m| Mount {
            target: Some(m.target.clone()),
            source: m.source.as_ref().map(|k| project.volumes[k].name.clone()),
            typ: Some(MountType::VOLUME),
            ..Default::default()
        })
        .collect();
    let healthcheck = svc.healthcheck.as_ref().map(|h| HealthConfig {
        test: Some(h.test.clone()),
        interval: h.interval_ms.map(|m| m as i64 * 1_000_000),
        timeout: h.timeout_ms.map(|m| m as i64 * 1_000_000),
        retries: h.retries,
        ..Default::default()
    });
    ContainerCreateBody {
        image: Some(svc.image.clone()),
        cmd: svc.command.clone(),
        labels: Some(labels.clone()),
        exposed_ports: Some(exposed),
        healthcheck,
        host_config: Some(HostConfig {
            port_bindings: Some(bindings),
            mounts: Some(mounts),
            network_mode: Some(network.to_string()),
            ..Default::default()
        }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                network.to_string(),
                EndpointSettings {
                    aliases: Some(vec![svc.name.clone()]),
                    ..Default::default()
                },
            )])),
        }),
        ..Default::default()
    }
}

async fn up(docker: &Docker, project: &Project) {
    let labels = HashMap::from([(LABEL.to_string(), project.name.clone())]);
    let network = format!("{}_default", project.name);

    // Health events, subscribed before any container exists.
    let mut events = docker.events(Some(
        EventsOptionsBuilder::new()
            .filters(&HashMap::from([
                ("type", vec!["container"]),
                ("event", vec!["health_status"]),
                ("label", vec![&format!("{LABEL}={}", project.name)]),
            ]))
            .build(),
    ));
    let mut healthy_tx = HashMap::new();
    let mut healthy_rx = HashMap::new();
    let mut started_tx = HashMap::new();
    let mut started_rx = HashMap::new();
    for name in project.services.keys() {
        let (tx, rx) = watch::channel(false);
        healthy_tx.insert(container_name(project, name), tx);
        healthy_rx.insert(name.clone(), rx);
        let (tx, rx) = watch::channel(false);
        started_tx.insert(name.clone(), tx);
        started_rx.insert(name.clone(), rx);
    }
    tokio::spawn(async move {
        while let Some(Ok(event)) = events.next().await {
            let healthy = event.action.as_deref() == Some("health_status: healthy");
            let name = event
                .actor
                .and_then(|a| a.attributes)
                .and_then(|mut a| a.remove("name"));
            if let (true, Some(tx)) = (healthy, name.and_then(|n| healthy_tx.get(&n))) {
                let _ = tx.send(true);
            }
        }
    });

    let volumes = join_all(project.volumes.values().map(|v| {
        docker.create_volume(VolumeCreateRequest {
            name: Some(v.name.clone()),
            labels: Some(labels.clone()),
            ..Default::default()
        })
    }));
    let net = docker.create_network(NetworkCreateRequest {
        name: network.clone(),
        labels: Some(labels.clone()),
        ..Default::default()
    });
    let (net, volumes) = tokio::join!(net, volumes);
    net.expect("network");
    volumes.into_iter().for_each(|v| {
        v.expect("volume");
    });

    join_all(project.services.values().map(|svc| {
        let options = CreateContainerOptionsBuilder::new()
            .name(&container_name(project, &svc.name))
            .build();
        docker.create_container(Some(options), body(project, svc, &labels, &network))
    }))
    .await
    .into_iter()
    .for_each(|c| {
        c.expect("create");
    });

    join_all(project.services.values().map(|svc| {
        let name = container_name(project, &svc.name);
        let started_tx = &started_tx;
        let started_rx = &started_rx;
        let healthy_rx = &healthy_rx;
        async move {
            for (dep, cond) in &svc.depends_on {
                let mut rx = match cond {
                    Condition::ServiceHealthy => healthy_rx[dep].clone(),
                    _ => started_rx[dep].clone(),
                };
                rx.wait_for(|ready| *ready).await.expect("dependency");
            }
            docker.start_container(&name, None).await.expect("start");
            let _ = started_tx[&svc.name].send(true);
        }
    }))
    .await;
}

async fn down(docker: &Docker, project: &str) {
    let mut filters = HashMap::new();
    filters.insert("label", vec![format!("{LABEL}={project}")]);
    let list = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .expect("list");
    join_all(list.iter().map(|c| {
        let options = RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(true)
            .build();
        docker.remove_container(c.id.as_deref().unwrap_or_default(), Some(options))
    }))
    .await;
    for n in docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::new().filters(&filters).build(),
        ))
        .await
        .expect("networks")
    {
        let _ = docker
            .remove_network(n.id.as_deref().unwrap_or_default())
            .await;
    }
    let _ = docker
        .remove_volume(
            &format!("{project}_dbdata"),
            None::<bollard::query_parameters::RemoveVolumeOptions>,
        )
        .await;
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let docker = Docker::connect_with_defaults()
            .unwrap()
            .negotiate_version()
            .await
            .unwrap();
        let started = Instant::now();
        match args.first().map(String::as_str) {
            Some("up") if args.len() == 4 => {
                let project = load(&args[1], Path::new(&args[2]), Path::new(&args[3]));
                up(&docker, &project).await;
            }
            Some("down") if args.len() == 2 => down(&docker, &args[1]).await,
            _ => {
                eprintln!("usage: floor up PROJECT STACK_DIR ENV_FILE | floor down PROJECT");
                std::process::exit(2);
            }
        }
        println!("{:.3}", started.elapsed().as_secs_f64());
    });
}
