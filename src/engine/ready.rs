//! Readiness: is every service of a project running, healthy where it has a
//! healthcheck, or (a one-shot service) exited with 0? `health`, `start
//! --wait` and `list` share one rule: [`is_one_shot`] and [`assess`].

use std::time::{Duration, Instant};

use futures_util::future::join_all;

use super::drift::{Desired, Observed, compare};
use super::{ContainerInfo, Engine};
use crate::compose::{self, Condition, Project, Service};
use crate::error::Error;

/// One service's readiness.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Readiness {
    pub service: String,
    /// The container's number, for a service of several containers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<u32>,
    pub container: String,
    /// running, exited, restarting, missing…
    pub state: String,
    pub health: Option<String>,
    pub exit_code: Option<i64>,
    pub ready: bool,
    /// Will not become ready without a change (exited non-zero, unhealthy, missing).
    pub failed: bool,
    /// How the container drifted from its service (a lost network,
    /// different ports), which `mrctl start` repairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<String>,
}

impl Readiness {
    /// The service, or `service-N` for container N of several (as compose
    /// labels them).
    pub fn label(&self) -> String {
        match self.number {
            Some(n) => format!("{}-{n}", self.service),
            None => self.service.clone(),
        }
    }

    /// `running, healthy`, `exited (0)`, `missing`.
    pub fn describe(&self) -> String {
        let state = match (&self.health, self.state.as_str()) {
            (_, "exited" | "dead") => {
                format!("{} ({})", self.state, self.exit_code.unwrap_or_default())
            }
            (Some(h), s) => format!("{s}, {h}"),
            (None, s) => s.to_string(),
        };
        match &self.drift {
            Some(d) => format!("{state}, but it {d}"),
            None => state,
        }
    }
}

/// Whether `svc` is a one-shot: a job that runs to completion (a migration,
/// a seed) rather than a long-running service. It is when its restart policy
/// is `no` or absent, it has no healthcheck, and either some service waits
/// for it with `service_completed_successfully` or it publishes no ports.
/// Everything else is long-running.
pub fn is_one_shot(project: &Project, svc: &Service) -> bool {
    let restarts = svc.restart.as_deref().is_some_and(|r| r != "no");
    if restarts || svc.has_healthcheck() {
        return false;
    }
    let awaited = project
        .services
        .values()
        .any(|s| s.depends_on.get(&svc.name) == Some(&Condition::ServiceCompletedSuccessfully));
    awaited || svc.ports.is_empty()
}

/// (ready, failed) of a container in `state`: running (healthy where it has
/// a healthcheck) is ready; a one-shot that exited 0 is ready; any other
/// exited service has failed, as have unhealthy, dead and never-started ones.
pub fn assess(
    one_shot: bool,
    state: &str,
    health: Option<&str>,
    exit_code: Option<i64>,
) -> (bool, bool) {
    match (state, health) {
        ("running", Some("healthy") | None) => (true, false),
        ("running", Some("unhealthy")) => (false, true),
        ("running", Some(_)) => (false, false),
        ("exited", _) if one_shot && exit_code == Some(0) => (true, false),
        ("exited" | "dead" | "created", _) => (false, true),
        _ => (false, false),
    }
}

/// `Exited (137) 2 seconds ago` → 137.
fn exit_code_from_status(status: &str) -> Option<i64> {
    let rest = status.strip_prefix("Exited (")?;
    rest.split(')').next()?.parse().ok()
}

/// The container of `service` among a project's: a running one first.
fn container_of<'c>(containers: &[&'c ContainerInfo], service: &str) -> Option<&'c ContainerInfo> {
    let mut mine = containers.iter().filter(|c| c.service == service);
    let first = mine.clone().next().copied();
    mine.find(|c| c.state == "running").copied().or(first)
}

/// How many of `services` (name, one-shot) are ready by [`assess`], judged
/// from listed containers (no inspect): what `list` counts.
pub fn ready_count(services: &[(String, bool)], containers: &[&ContainerInfo]) -> usize {
    services
        .iter()
        .filter(|(name, one_shot)| {
            container_of(containers, name).is_some_and(|c| {
                assess(
                    *one_shot,
                    &c.state,
                    c.health.as_deref(),
                    exit_code_from_status(&c.status),
                )
                .0
            })
        })
        .count()
}

impl Engine {
    /// The readiness of every container of `project` (each of a service's
    /// numbers). Containers are found by their compose project, service
    /// and number labels, whoever made them.
    pub async fn readiness(&self, project: &Project) -> Result<Vec<Readiness>, Error> {
        let listed = self.project_containers(&project.name).await?;
        let listed: Vec<&ContainerInfo> = listed.iter().collect();
        let ids = self.network_ids().await?;
        // One check per container a service runs, by number.
        let wanted = project
            .services
            .values()
            .flat_map(|svc| (1..=svc.replicas).map(move |n| (svc, n)));
        let checks = wanted.map(|(svc, number)| {
            let found = listed
                .iter()
                .find(|c| c.service == svc.name && c.number() == number)
                .copied();
            let ids = &ids;
            let shown = (svc.replicas > 1).then_some(number);
            async move {
                let Some(found) = found else {
                    return Ok(Readiness {
                        service: svc.name.clone(),
                        number: shown,
                        container: compose::replica_name(&project.name, svc, number),
                        state: "missing".into(),
                        health: None,
                        exit_code: None,
                        ready: false,
                        failed: true,
                        drift: None,
                    });
                };
                let container = found.name.clone();
                let inspect = self
                    .docker
                    .inspect_container(&found.id, None)
                    .await
                    .map_err(|e| self.error(&format!("inspect container `{container}`"), &e))?;
                let drift = compare(&Desired::of(project, svc, ids), &Observed::of(&inspect))
                    .first()
                    .map(|d| d.to_string());
                let state = inspect.state.unwrap_or_default();
                let status = state.status.map(|s| s.to_string()).unwrap_or_default();
                let health = state
                    .health
                    .and_then(|h| h.status)
                    .map(|h| h.to_string())
                    .filter(|h| !h.is_empty() && h != "none");
                let exit_code = state.exit_code;
                let (mut ready, mut failed) = assess(
                    is_one_shot(project, svc),
                    &status,
                    health.as_deref(),
                    exit_code,
                );
                // Running without its network or ports is not serving.
                let drift = drift.filter(|_| status == "running");
                if drift.is_some() {
                    (ready, failed) = (false, true);
                }
                Ok(Readiness {
                    service: svc.name.clone(),
                    number: shown,
                    container,
                    state: status,
                    health,
                    exit_code,
                    ready,
                    failed,
                    drift,
                })
            }
        });
        join_all(checks).await.into_iter().collect()
    }

    /// Waits until every service is ready. Calls `on` whenever a service's
    /// readiness changes. Fails naming the services not ready, with their
    /// last log lines, when one fails or `timeout` passes.
    pub async fn wait_ready(
        &self,
        project: &Project,
        instance: &str,
        timeout: Duration,
        on: &(dyn Fn(&Readiness) + Sync),
    ) -> Result<Vec<Readiness>, Error> {
        let deadline = Instant::now() + timeout;
        let mut last: Vec<Readiness> = Vec::new();
        loop {
            let now = self.readiness(project).await?;
            for r in &now {
                if !last.iter().any(|l| l == r) {
                    on(r);
                }
            }
            if now.iter().all(|r| r.ready) {
                return Ok(now);
            }
            let failed: Vec<&Readiness> = now.iter().filter(|r| r.failed).collect();
            let timed_out = Instant::now() >= deadline;
            if !failed.is_empty() || timed_out {
                let bad: Vec<&Readiness> = if failed.is_empty() {
                    now.iter().filter(|r| !r.ready).collect()
                } else {
                    failed
                };
                let mut logs = Vec::new();
                for r in &bad {
                    logs.push(format!(
                        "{} ({}):\n{}",
                        r.label(),
                        r.describe(),
                        self.tail(&r.container, 20).await
                    ));
                }
                let first = bad[0];
                let names: Vec<String> = bad.iter().map(|r| format!("`{}`", r.label())).collect();
                return Err(Error::ServiceFailed {
                    service: first.service.clone(),
                    instance: instance.to_string(),
                    what: if timed_out && bad.iter().all(|r| !r.failed) {
                        format!(
                            "is not ready after {}s (not ready: {})",
                            timeout.as_secs(),
                            names.join(", ")
                        )
                    } else {
                        format!("failed (not ready: {})", names.join(", "))
                    },
                    state: first.describe(),
                    logs: logs.join("\n"),
                });
            }
            last = now;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::drift::tests::project;

    const SERVICES: &str = r#"
services:
  migrate:
    image: busybox
  seed:
    image: busybox
    ports: ["8000:8000"]
  web:
    image: busybox
    ports: ["8080:80"]
    depends_on:
      seed: {condition: service_completed_successfully}
  worker:
    image: busybox
    restart: unless-stopped
  checked:
    image: busybox
    healthcheck: {test: ["CMD", "true"]}
  never:
    image: busybox
    restart: "no"
"#;

    #[test]
    fn one_shots_follow_the_documented_rule() {
        let p = project(SERVICES);
        let one_shot = |s: &str| is_one_shot(&p, &p.services[s]);
        // No restart, no healthcheck, no ports.
        assert!(one_shot("migrate"));
        assert!(one_shot("never"));
        // Ports, but awaited with service_completed_successfully.
        assert!(one_shot("seed"));
        // Ports and nobody waits for it to complete.
        assert!(!one_shot("web"));
        // A restart policy or a healthcheck makes a service long-running.
        assert!(!one_shot("worker"));
        assert!(!one_shot("checked"));
    }

    #[test]
    fn exited_is_ready_only_for_a_one_shot_that_exited_0() {
        assert_eq!(assess(true, "exited", None, Some(0)), (true, false));
        assert_eq!(assess(true, "exited", None, Some(1)), (false, true));
        assert_eq!(assess(false, "exited", None, Some(0)), (false, true));
        assert_eq!(assess(false, "running", None, None), (true, false));
        assert_eq!(
            assess(false, "running", Some("healthy"), None),
            (true, false)
        );
        assert_eq!(
            assess(false, "running", Some("starting"), None),
            (false, false)
        );
        assert_eq!(
            assess(false, "running", Some("unhealthy"), None),
            (false, true)
        );
        assert_eq!(assess(false, "restarting", None, Some(1)), (false, false));
        assert_eq!(assess(true, "created", None, None), (false, true));
    }

    fn c(service: &str, state: &str, status: &str) -> ContainerInfo {
        ContainerInfo {
            id: service.into(),
            name: format!("p-{service}-1"),
            project: "p".into(),
            service: service.into(),
            instance: None,
            stack: None,
            state: state.into(),
            health: None,
            status: status.into(),
            image: String::new(),
            config_hash: None,
            ports: Vec::new(),
            labels: Default::default(),
        }
    }

    #[test]
    fn list_counts_what_health_counts() {
        let services = vec![
            ("migrate".to_string(), true),
            ("web".to_string(), false),
            ("worker".to_string(), false),
            ("gone".to_string(), false),
        ];
        let (m, w, k) = (
            c("migrate", "exited", "Exited (0) 3 seconds ago"),
            c("web", "running", "Up 3 seconds"),
            c("worker", "exited", "Exited (0) 1 second ago"),
        );
        // The one-shot that exited 0 counts; the long-running one that exited
        // does not, nor the service without a container.
        assert_eq!(ready_count(&services, &[&m, &w, &k]), 2);
        let failed = c("migrate", "exited", "Exited (3) 3 seconds ago");
        assert_eq!(ready_count(&services, &[&failed, &w, &k]), 1);
        assert_eq!(
            exit_code_from_status("Exited (137) 2 minutes ago"),
            Some(137)
        );
        assert_eq!(exit_code_from_status("Up 2 minutes"), None);
    }
}
