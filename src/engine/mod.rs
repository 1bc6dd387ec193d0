//! The only code that talks to Docker (bollard). It turns a resolved compose
//! project into networks, volumes and containers labelled so that
//! `docker compose -p <project>` sees them as its own, and reads them back.
//! Callers get mrctl's own types and errors; no bollard type leaves here,
//! and nothing here prints: `up` reports events, `exec` writes to the
//! streams its caller gives.
//!
//! `start` is `up.rs` (orchestration, rollback) over `translate.rs` (the
//! compose model to create bodies, pure), `plan.rs` (what to do with each
//! service, pure), `graph.rs` (the dependency-graph executor, generic over
//! its work; `stop` runs it reversed), `nodes.rs` (the plan's steps as its
//! work), `converge.rs` (the engine calls of each action), `images.rs`,
//! `networks.rs`, `volumes.rs`, `secrets.rs` (secrets and configs written
//! into containers), `conditions.rs` and `watch.rs` (dependency waits on
//! the engine's events), `limits.rs` and `drift.rs`.

mod archive;
mod build;
mod conditions;
mod converge;
mod drift;
pub mod dryrun;
mod exec;
mod graph;
mod holders;
mod hooks;
mod images;
mod limits;
mod logs;
mod networks;
mod nodes;
mod ops;
pub mod owned;
mod plan;
mod ready;
mod secrets;
mod translate;
mod translate_more;
mod up;
mod volumes;
mod watch;

use std::collections::HashMap;
use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::{ListContainersOptionsBuilder, LogsOptionsBuilder};
use futures_util::StreamExt;

use crate::error::Error;

pub use drift::{ContainerDrift, Drift};
pub use exec::{ExecIo, ExecOptions};
pub use holders::PortHolder;
pub use logs::{LogLine, LogOptions, LogSource};
pub use ops::{RemoveReport, Resource, StopService};
pub use owned::{Foreign, Labelled, Owned};
pub use ready::{Readiness, assess, is_one_shot, ready_count};
pub use up::{Event, UpOptions};

/// Labels docker compose reads, and mrctl's own.
pub mod labels {
    pub const PROJECT: &str = "com.docker.compose.project";
    pub const SERVICE: &str = "com.docker.compose.service";
    pub const NUMBER: &str = "com.docker.compose.container-number";
    pub const ONEOFF: &str = "com.docker.compose.oneoff";
    pub const CONFIG_HASH: &str = "com.docker.compose.config-hash";
    /// The ID of the image a container was made from.
    pub const IMAGE: &str = "com.docker.compose.image";
    pub const WORKING_DIR: &str = "com.docker.compose.project.working_dir";
    pub const CONFIG_FILES: &str = "com.docker.compose.project.config_files";
    /// The env files compose was given (`--env-file`), comma-separated.
    pub const ENVIRONMENT_FILE: &str = "com.docker.compose.project.environment_file";
    pub const DEPENDS_ON: &str = "com.docker.compose.depends_on";
    pub const VERSION: &str = "com.docker.compose.version";
    pub const NETWORK: &str = "com.docker.compose.network";
    pub const VOLUME: &str = "com.docker.compose.volume";
    /// The docker compose version whose labels and config hashes mrctl
    /// writes (`compose::hash`).
    pub const COMPOSE_VERSION: &str = "2.40.3";
    pub use crate::identity::{
        DIR_LABEL as STACK_DIR, HELPER_LABEL as HELPER, ID_LABEL as STACK_ID,
        INSTANCE_LABEL as INSTANCE, STACK_LABEL as STACK,
    };
}

/// A tracing directive capping the Docker client's logs: bollard's debug and
/// trace logs print request bodies, which hold the containers' environment
/// and so the instance's secrets. Never past info.
pub const LOG_CAP: &str = "bollard=info";

/// How long connecting may take before mrctl says the engine is
/// unreachable: the whole answer, message included, comes within two seconds.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(1500);

/// The deadline of one engine call (the time until the engine answers; a
/// stream's body, such as a pull's progress or followed logs, is not cut).
/// Stopping a container gets its grace period on top; starting, removing and
/// uploading get three times as long. `MRCTL_ENGINE_TIMEOUT` changes it.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(30);
/// The variable that sets the deadline of engine calls (`90s`, `2m`).
pub const DEADLINE_ENV: &str = "MRCTL_ENGINE_TIMEOUT";

/// How many containers the engine works on at once (created, started,
/// stopped, removed), over everything one command does, instances
/// included. Docker Engine serialises much of a create or a start on its
/// own locks, so more in flight only lengthens each call; sixteen keeps
/// it busy without queueing inside it. Docker compose's `--parallel`
/// defaults to no bound; `MRCTL_PARALLEL` (or `--parallel`) changes it.
pub const DEFAULT_PARALLEL: usize = 16;
/// The variable that sets the bound (a count of at least 1).
pub const PARALLEL_ENV: &str = "MRCTL_PARALLEL";

/// One connection to the engine, shared by everything a command does.
#[derive(Clone)]
pub struct Engine {
    docker: Docker,
    /// The address connected to, for messages.
    pub address: String,
    /// The API version negotiated.
    pub api_version: String,
    /// The deadline of one call (see `DEFAULT_DEADLINE`).
    pub deadline: Duration,
    /// The bound on engine work in flight at once, shared by every clone
    /// (see `DEFAULT_PARALLEL`).
    bound: std::sync::Arc<tokio::sync::Semaphore>,
}

/// A container as listed, in mrctl's terms.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ContainerInfo {
    pub id: String,
    pub name: String,
    pub project: String,
    pub service: String,
    pub instance: Option<String>,
    pub stack: Option<String>,
    /// created, running, exited, restarting, paused, dead…
    pub state: String,
    /// healthy, unhealthy, starting, or None without a healthcheck.
    pub health: Option<String>,
    /// Docker's human status (`Up 5 seconds (healthy)`).
    pub status: String,
    pub image: String,
    pub config_hash: Option<String>,
    /// Published ports: (host ip, host port, container port, protocol).
    pub ports: Vec<PublishedPort>,
    /// Every label, for ownership checks (not part of the JSON output).
    #[serde(skip)]
    pub labels: HashMap<String, String>,
}

impl ContainerInfo {
    /// Its number among its service's containers (the container-number
    /// label; 1 when it has none).
    pub fn number(&self) -> u32 {
        self.labels
            .get(labels::NUMBER)
            .and_then(|n| n.parse().ok())
            .unwrap_or(1)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PublishedPort {
    pub host_ip: Option<String>,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: String,
}

/// The address `connect` will try, for messages.
pub fn default_address() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unix:///var/run/docker.sock".to_string())
}

/// The engine's reason for an error, without bollard's wrapping.
pub(crate) fn reason(err: &bollard::errors::Error) -> String {
    use bollard::errors::Error as B;
    match err {
        B::DockerResponseServerError {
            message,
            status_code,
        } => {
            format!("{} (HTTP {status_code})", message.trim())
        }
        other => other.to_string(),
    }
}

fn is_not_found(err: &bollard::errors::Error) -> bool {
    matches!(
        err,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// The deadline of engine calls: `MRCTL_ENGINE_TIMEOUT`, else the default.
pub fn deadline_from_env() -> Result<Duration, Error> {
    match std::env::var(DEADLINE_ENV) {
        Ok(v) if !v.trim().is_empty() => crate::units::parse_duration(v.trim())
            .filter(|d| d.as_secs() >= 1)
            .ok_or_else(|| Error::InvalidArgument {
                option: DEADLINE_ENV.to_string(),
                reason: format!(
                    "`{}` is not a duration of at least one second (e.g. `30s`, `2m`)",
                    v.trim()
                ),
            }),
        _ => Ok(DEFAULT_DEADLINE),
    }
}

/// The bound of engine work in flight: `MRCTL_PARALLEL`, else the default.
pub fn parallel_from_env() -> Result<usize, Error> {
    match std::env::var(PARALLEL_ENV) {
        Ok(v) if !v.trim().is_empty() => {
            parse_parallel(v.trim()).map_err(|reason| Error::InvalidArgument {
                option: PARALLEL_ENV.to_string(),
                reason,
            })
        }
        _ => Ok(DEFAULT_PARALLEL),
    }
}

/// A bound of engine work in flight: a whole number of at least 1.
pub fn parse_parallel(v: &str) -> Result<usize, String> {
    v.parse::<usize>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| format!("`{v}` is not a whole number of at least 1"))
}

impl Engine {
    /// Connects (honouring DOCKER_HOST) and negotiates the API version,
    /// giving up within two seconds with one clear error.
    pub async fn connect() -> Result<Engine, Error> {
        let deadline = deadline_from_env()?;
        let parallel = parallel_from_env()?;
        let address = default_address();
        let unavailable = |reason: String| Error::DockerUnavailable {
            address: address.clone(),
            reason,
        };
        let docker = Docker::connect_with_defaults()
            .map_err(|e| unavailable(reason(&e)))?
            .with_timeout(deadline);
        let docker = match tokio::time::timeout(CONNECT_TIMEOUT, docker.negotiate_version()).await {
            Ok(Ok(d)) => d,
            Ok(Err(e)) => return Err(unavailable(reason(&e))),
            Err(_) => {
                return Err(unavailable(format!(
                    "no answer within {} seconds",
                    CONNECT_TIMEOUT.as_secs_f64()
                )));
            }
        };
        let api_version = docker.client_version().to_string();
        tracing::info!(%address, %api_version, "connected to the Docker engine");
        Ok(Engine {
            docker,
            address,
            api_version,
            deadline,
            bound: std::sync::Arc::new(tokio::sync::Semaphore::new(parallel)),
        })
    }

    /// This connection with at most `parallel` engine operations in flight
    /// at once (`--parallel`); set before any work starts.
    pub fn with_parallel(mut self, parallel: usize) -> Engine {
        self.bound = std::sync::Arc::new(tokio::sync::Semaphore::new(parallel.max(1)));
        self
    }

    /// One permit of the bound, held while one container is worked on.
    pub(crate) async fn permit(&self) -> tokio::sync::SemaphorePermit<'_> {
        self.bound
            .acquire()
            .await
            .expect("the bound is never closed")
    }

    /// The client with a longer deadline, for calls the engine answers only
    /// when done: stopping (the grace period on top), starting, removing.
    fn patient(&self, extra: Duration) -> Docker {
        self.docker.clone().with_timeout(self.deadline * 3 + extra)
    }

    /// mrctl's error for a failed call: a missed deadline names the call.
    pub(crate) fn error(&self, action: &str, err: &bollard::errors::Error) -> Error {
        match err {
            bollard::errors::Error::RequestTimeoutError => Error::EngineTimeout {
                address: self.address.clone(),
                action: action.to_string(),
                after: humantime::format_duration(self.deadline).to_string(),
            },
            other => Error::Docker {
                action: action.to_string(),
                reason: reason(other),
            },
        }
    }

    /// The engine's server version (for doctor and `-v`).
    pub async fn server_version(&self) -> Result<String, Error> {
        let v = self
            .docker
            .version()
            .await
            .map_err(|e| self.error("report its version", &e))?;
        Ok(v.version.unwrap_or_default())
    }

    /// Every container (running or not) carrying `label=value` (any value
    /// when `value` is empty), in one call.
    pub async fn containers_labelled(
        &self,
        label: &str,
        value: &str,
    ) -> Result<Vec<ContainerInfo>, Error> {
        let filter = if value.is_empty() {
            label.to_string()
        } else {
            format!("{label}={value}")
        };
        let list = self
            .list_containers_raw(vec![filter], "list containers")
            .await?;
        let mut out: Vec<ContainerInfo> = list
            .into_iter()
            .filter_map(|c| {
                let labels = c.labels.unwrap_or_default();
                let project = labels.get(labels::PROJECT)?.clone();
                let service = labels.get(labels::SERVICE)?.clone();
                if labels.get(labels::ONEOFF).map(String::as_str) == Some("True") {
                    return None;
                }
                let status = c.status.unwrap_or_default();
                let mut ports: Vec<PublishedPort> = c
                    .ports
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|p| {
                        Some(PublishedPort {
                            host_ip: p.ip.filter(|ip| !ip.is_empty()),
                            host_port: p.public_port?,
                            container_port: p.private_port,
                            protocol: p.typ.map(|t| t.to_string()).unwrap_or_else(|| "tcp".into()),
                        })
                    })
                    .collect();
                ports.sort_by_key(|p| (p.host_port, p.host_ip.clone()));
                ports.dedup_by_key(|p| (p.host_port, p.container_port));
                Some(ContainerInfo {
                    id: c.id.unwrap_or_default(),
                    name: first_name(c.names),
                    project,
                    service,
                    instance: labels.get(labels::INSTANCE).cloned(),
                    stack: labels.get(labels::STACK).cloned(),
                    state: c.state.map(|s| s.to_string()).unwrap_or_default(),
                    health: health_from_status(&status),
                    status,
                    image: c.image.unwrap_or_default(),
                    config_hash: labels.get(labels::CONFIG_HASH).cloned(),
                    ports,
                    labels,
                })
            })
            .collect();
        out.sort_by(|a, b| {
            (&a.project, &a.service, a.number()).cmp(&(&b.project, &b.service, b.number()))
        });
        Ok(out)
    }

    /// Every container (running or not) matching all `labels` filters
    /// (`key` or `key=value`), as the engine lists them.
    pub(crate) async fn list_containers_raw(
        &self,
        labels: Vec<String>,
        action: &str,
    ) -> Result<Vec<bollard::models::ContainerSummary>, Error> {
        let filters = HashMap::from([("label".to_string(), labels)]);
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        self.docker
            .list_containers(Some(options))
            .await
            .map_err(|e| self.error(action, &e))
    }

    /// The name of a running container that publishes host `port`, if any.
    pub async fn container_publishing(&self, port: u16) -> Option<String> {
        let mut filters = HashMap::new();
        filters.insert("publish".to_string(), vec![port.to_string()]);
        let options = ListContainersOptionsBuilder::new()
            .filters(&filters)
            .build();
        let list = self.docker.list_containers(Some(options)).await.ok()?;
        list.into_iter()
            .next()
            .and_then(|c| c.names)
            .and_then(|n| n.into_iter().next())
            .map(|n| n.trim_start_matches('/').to_string())
    }

    /// The containers of one compose project.
    pub async fn project_containers(&self, project: &str) -> Result<Vec<ContainerInfo>, Error> {
        self.containers_labelled(labels::PROJECT, project).await
    }

    /// The last `lines` lines a container logged, stdout and stderr together.
    pub async fn tail(&self, container: &str, lines: usize) -> String {
        let options = LogsOptionsBuilder::new()
            .stdout(true)
            .stderr(true)
            .tail(&lines.to_string())
            .build();
        let mut stream = self.docker.logs(container, Some(options));
        let mut out = String::new();
        // Only for messages: a stalled stream ends the tail, not the command.
        let read = async {
            while let Some(Ok(chunk)) = stream.next().await {
                out.push_str(&String::from_utf8_lossy(chunk.as_ref()));
            }
        };
        let _ = tokio::time::timeout(self.deadline, read).await;
        let text: Vec<&str> = out.lines().collect();
        let start = text.len().saturating_sub(lines);
        text[start..]
            .iter()
            .map(|l| format!("  | {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A listed container's name, without the engine's leading `/`.
pub(crate) fn first_name(names: Option<Vec<String>>) -> String {
    names
        .and_then(|n| n.into_iter().next())
        .unwrap_or_default()
        .trim_start_matches('/')
        .to_string()
}

/// API 1.41 lists no health field; the status text carries it.
fn health_from_status(status: &str) -> Option<String> {
    if status.contains("(healthy)") {
        Some("healthy".into())
    } else if status.contains("(unhealthy)") {
        Some("unhealthy".into())
    } else if status.contains("(health: starting)") {
        Some("starting".into())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn health_is_read_from_status() {
        use super::health_from_status as h;
        assert_eq!(h("Up 3 seconds (healthy)").as_deref(), Some("healthy"));
        assert_eq!(
            h("Up 1 second (health: starting)").as_deref(),
            Some("starting")
        );
        assert_eq!(h("Up 9 seconds (unhealthy)").as_deref(), Some("unhealthy"));
        assert_eq!(h("Exited (0) 2 seconds ago"), None);
    }

    #[test]
    fn the_bound_is_a_count_of_at_least_one() {
        assert_eq!(super::parse_parallel("4"), Ok(4));
        assert_eq!(
            super::parse_parallel("0"),
            Err("`0` is not a whole number of at least 1".into())
        );
        assert!(super::parse_parallel("many").is_err());
    }
}
