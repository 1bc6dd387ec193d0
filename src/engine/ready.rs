//! Readiness: is every service of a project running, healthy where it has a
//! healthcheck, or (a one-shot service) exited with 0?

use std::time::{Duration, Instant};

use futures_util::future::join_all;

use super::{Engine, is_not_found};
use crate::compose::{self, Project};
use crate::error::Error;

/// One service's readiness.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Readiness {
    pub service: String,
    pub container: String,
    /// running, exited, restarting, missing…
    pub state: String,
    pub health: Option<String>,
    pub exit_code: Option<i64>,
    pub ready: bool,
    /// Will not become ready without a change (exited non-zero, unhealthy, missing).
    pub failed: bool,
}

impl Readiness {
    /// `running, healthy`, `exited (0)`, `missing`.
    pub fn describe(&self) -> String {
        match (&self.health, self.state.as_str()) {
            (_, "exited" | "dead") => {
                format!("{} ({})", self.state, self.exit_code.unwrap_or_default())
            }
            (Some(h), s) => format!("{s}, {h}"),
            (None, s) => s.to_string(),
        }
    }
}

impl Engine {
    /// The readiness of every service of `project`.
    pub async fn readiness(&self, project: &Project) -> Result<Vec<Readiness>, Error> {
        let checks = project.services.values().map(|svc| async move {
            let container = compose::container_name(&project.name, svc);
            let inspect = match self.docker.inspect_container(&container, None).await {
                Ok(i) => i,
                Err(e) if is_not_found(&e) => {
                    return Ok(Readiness {
                        service: svc.name.clone(),
                        container,
                        state: "missing".into(),
                        health: None,
                        exit_code: None,
                        ready: false,
                        failed: true,
                    });
                }
                Err(e) => {
                    return Err(self.error(&format!("inspect container `{container}`"), &e));
                }
            };
            let state = inspect.state.unwrap_or_default();
            let status = state.status.map(|s| s.to_string()).unwrap_or_default();
            let health = state
                .health
                .and_then(|h| h.status)
                .map(|h| h.to_string())
                .filter(|h| !h.is_empty() && h != "none");
            let exit_code = state.exit_code;
            let (ready, failed) = match (status.as_str(), health.as_deref()) {
                ("running", Some("healthy")) => (true, false),
                ("running", Some("unhealthy")) => (false, true),
                ("running", Some(_)) => (false, false),
                ("running", None) => (true, false),
                // A one-shot that exited 0 is done; a service with a
                // healthcheck is long-running, so exited means down.
                ("exited", _) if svc.has_healthcheck() => (false, true),
                ("exited", _) => (exit_code == Some(0), exit_code != Some(0)),
                ("dead", _) => (false, true),
                ("created", _) => (false, true),
                _ => (false, false),
            };
            Ok(Readiness {
                service: svc.name.clone(),
                container,
                state: status,
                health,
                exit_code,
                ready,
                failed,
            })
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
                        r.service,
                        r.describe(),
                        self.tail(&r.container, 20).await
                    ));
                }
                let first = bad[0];
                let names: Vec<String> = bad.iter().map(|r| format!("`{}`", r.service)).collect();
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
