//! The engine's own floor for `bench/run`: the same containers created and
//! started straight through the Docker API in dependency waves, with no
//! checks (no image, port, hash or orphan checks, no labels beyond what
//! removal needs). Waits only where the stack itself demands it: a
//! `service_healthy` dependency.
//!
//!   cargo bench --bench floor -- up   PROJECT STACK_DIR ENV_FILE
//!   cargo bench --bench floor -- down PROJECT
//!
//! Prints the elapsed seconds of the operation on stdout.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, Mount, MountType,
    NetworkCreateRequest, NetworkingConfig, PortBinding, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, ListNetworksOptionsBuilder,
    RemoveContainerOptionsBuilder,
};
use futures_util::future::join_all;
use mrctl::compose::{Condition, MountKind, Project};

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

async fn up(docker: &Docker, project: &Project) {
    let labels = HashMap::from([(LABEL.to_string(), project.name.clone())]);
    let network = format!("{}_default", project.name);
    docker
        .create_network(NetworkCreateRequest {
            name: network.clone(),
            labels: Some(labels.clone()),
            ..Default::default()
        })
        .await
        .expect("network");
    for v in project.volumes.values() {
        docker
            .create_volume(VolumeCreateRequest {
                name: Some(v.name.clone()),
                labels: Some(labels.clone()),
                ..Default::default()
            })
            .await
            .expect("volume");
    }
    for wave in mrctl::compose::waves(project).expect("waves") {
        join_all(wave.iter().map(|name| {
            let svc = &project.services[name];
            let labels = labels.clone();
            let network = network.clone();
            async move {
                for (dep, cond) in &svc.depends_on {
                    if *cond == Condition::ServiceHealthy {
                        let dep_name = format!("{}-{dep}-1", project.name);
                        loop {
                            let i = docker
                                .inspect_container(&dep_name, None)
                                .await
                                .expect("inspect");
                            let healthy = i
                                .state
                                .and_then(|s| s.health)
                                .and_then(|h| h.status)
                                .is_some_and(|s| s.to_string() == "healthy");
                            if healthy {
                                break;
                            }
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
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
                let name = format!("{}-{}-1", project.name, svc.name);
                let body = ContainerCreateBody {
                    image: Some(svc.image.clone()),
                    cmd: svc.command.clone(),
                    labels: Some(labels),
                    exposed_ports: Some(exposed),
                    healthcheck,
                    host_config: Some(HostConfig {
                        port_bindings: Some(bindings),
                        mounts: Some(mounts),
                        network_mode: Some(network.clone()),
                        ..Default::default()
                    }),
                    networking_config: Some(NetworkingConfig {
                        endpoints_config: Some(HashMap::from([(
                            network,
                            EndpointSettings {
                                aliases: Some(vec![svc.name.clone()]),
                                ..Default::default()
                            },
                        )])),
                    }),
                    ..Default::default()
                };
                let options = CreateContainerOptionsBuilder::new().name(&name).build();
                docker
                    .create_container(Some(options), body)
                    .await
                    .expect("create");
                docker.start_container(&name, None).await.expect("start");
            }
        }))
        .await;
    }
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
