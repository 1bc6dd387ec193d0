//! Starting one instance: check its published ports and its data
//! directory, converge it through the engine, optionally wait until every
//! service is ready, and report where to reach it.

use std::time::Duration;

use serde::Serialize;

use super::instance::{
    identity_of, instance_lock_shared, instance_project_with, lookup, registry_file,
};
use super::{Progress, Sink};
use crate::compose::Project;
use crate::engine::{ContainerInfo, Engine, PortHolder, UpOptions};
use crate::error::Error;
use crate::ports::{BindProbe, HostProbe};
use crate::stack::Stack;

/// What to start.
#[derive(Debug, Clone)]
pub struct StartSpec {
    pub name: String,
    /// How long to wait for each dependency condition (and with `wait`, for
    /// every service to be ready).
    pub timeout: Duration,
    /// Wait until every service is ready.
    pub wait: bool,
    /// Build the images of services with `build:` even when they exist.
    pub build: bool,
    /// Profiles to activate (`--profile`), replacing `COMPOSE_PROFILES`.
    pub profiles: Vec<String>,
}

/// A published TCP port of a service, as a URL.
#[derive(Debug, Clone, Serialize)]
pub struct Endpoint {
    pub service: String,
    pub url: String,
}

/// What `start` did and where the instance answers.
#[derive(Debug, Clone, Serialize)]
pub struct StartReport {
    pub name: String,
    pub project: String,
    pub containers: Vec<ContainerInfo>,
    pub endpoints: Vec<Endpoint>,
}

/// Starts one instance (only this stack directory's resources are touched).
pub async fn start(
    stack: &Stack,
    engine: &Engine,
    spec: &StartSpec,
    sink: &dyn Sink,
) -> Result<StartReport, Error> {
    let name = spec.name.as_str();
    let _lock = instance_lock_shared(stack, name).await?;
    // Re-read under the instance lock: a concurrent clean may have removed it.
    let registry = registry_file(stack).load()?;
    let inst = lookup(stack, &registry, name)?.clone();
    let project = instance_project_with(stack, name, &inst, &spec.profiles)?;
    for var in &project.unset_variables {
        sink.send(Progress::Warning(format!(
            "variable `{var}` is not set; it is replaced by an empty string"
        )));
    }
    for w in &project.warnings {
        sink.send(Progress::Warning(w.clone()));
    }
    let identity = identity_of(stack, &registry)?;
    let owned = engine.owned(&project.name, name, &identity).await?;
    check_ports(engine, &project, &owned.containers, name).await?;
    // The engine would create a missing bind-mount source itself, unmarked
    // and root-owned, which `clean` then refuses to delete: make the data
    // directory first, with its marker, as create does.
    super::create::ensure_data_dir(stack, &identity, name, &inst)?;
    engine.check_external_networks(&project, name).await?;
    let opts = UpOptions {
        timeout: spec.timeout,
        identity,
        instance: name.to_string(),
        // The env file the compose command `mrctl info` prints passes.
        // The env files the compose command names, in its order.
        env_files: crate::ops::instance::stack_env_file(stack)
            .into_iter()
            .chain([crate::render::InstanceFiles::in_dir(stack.instance_dir(name)).env])
            .collect(),
        build: spec.build,
    };
    engine
        .up(&project, &owned, &opts, &|e| sink.send(Progress::Engine(e)))
        .await?;
    if spec.wait {
        engine
            .wait_ready(&project, name, spec.timeout, &|r| {
                sink.send(Progress::Ready(r.clone()))
            })
            .await?;
    }
    Ok(StartReport {
        name: name.to_string(),
        containers: engine.project_containers(&project.name).await?,
        endpoints: endpoints(&project),
        project: project.name,
    })
}

/// The published TCP ports of the project, as URLs.
fn endpoints(project: &Project) -> Vec<Endpoint> {
    let mut out = Vec::new();
    for svc in project.services.values() {
        // A range's port is the engine's choice: no fixed address to give.
        for port in svc
            .ports
            .iter()
            .filter(|p| p.protocol == "tcp" && p.published_end.is_none())
        {
            if let Some(host) = port.published.filter(|h| *h != 0) {
                let ip = port
                    .host_ip
                    .as_deref()
                    .filter(|ip| *ip != "0.0.0.0")
                    .unwrap_or("localhost");
                out.push(Endpoint {
                    service: svc.name.clone(),
                    url: format!("http://{ip}:{host}"),
                });
            }
        }
    }
    out
}

/// Every published host port must be free or held by this project's own
/// containers, and a service of several containers publishes none of its
/// own fixed host ports (each container would need it); otherwise nothing is touched and the error names the port,
/// the service, the instance and, where known, the holder.
async fn check_ports(
    engine: &Engine,
    project: &Project,
    own: &[ContainerInfo],
    instance: &str,
) -> Result<(), Error> {
    let own_ports: Vec<u16> = own
        .iter()
        .flat_map(|c| c.ports.iter().map(|p| p.host_port))
        .collect();
    for svc in project.services.values() {
        for port in &svc.ports {
            let Some(host) = port.published.filter(|h| *h != 0) else {
                continue;
            };
            // A range: the engine picks a free port of it for each container.
            if let Some(end) = port.published_end {
                let free = (host..=end)
                    .filter(|p| own_ports.contains(p) || !BindProbe.in_use(*p))
                    .count();
                if free < svc.replicas as usize {
                    return Err(Error::PortBusy {
                        port: host,
                        service: svc.name.clone(),
                        instance: instance.to_string(),
                        holder: format!(
                            "the range {host}-{end} has {free} free port(s) for the service's {} containers",
                            svc.replicas
                        ),
                    });
                }
                continue;
            }
            // Compose starts the first and fails on the second; refuse first.
            if svc.replicas > 1 {
                return Err(Error::PortBusy {
                    port: host,
                    service: svc.name.clone(),
                    instance: instance.to_string(),
                    holder: format!(
                        "the service runs {} containers and only one can publish a fixed host port; publish it without a host port (`- \"{}\"`) or run one container",
                        svc.replicas, port.target
                    ),
                });
            }
            if own_ports.contains(&host) || !BindProbe.in_use(host) {
                continue;
            }
            let holder = match engine.port_holder(host, &project.name, own).await {
                Some(PortHolder::Own) => continue,
                Some(other) => other.to_string(),
                None => "another process on this host listens on it".to_string(),
            };
            return Err(Error::PortBusy {
                port: host,
                service: svc.name.clone(),
                instance: instance.to_string(),
                holder,
            });
        }
    }
    Ok(())
}
