//! Waiting for a dependency's condition (started, healthy, completed) with
//! a deadline; a failure names the service, its state and its last logs.

use std::time::{Duration, Instant};

use super::Engine;
use super::up::UpOptions;
use crate::compose::{self, Condition, Project, Service};
use crate::error::Error;

// Cheap inspect calls; a short poll keeps a health-gated start close to the
// moment the dependency turns healthy.
const POLL: Duration = Duration::from_millis(50);

impl Engine {
    /// Waits until `dep` meets `condition`, or fails naming it with its last log lines.
    pub(super) async fn await_condition(
        &self,
        project: &Project,
        dep: &Service,
        condition: Condition,
        opts: &UpOptions,
    ) -> Result<(), Error> {
        let name = compose::container_name(&project.name, dep);
        let deadline = Instant::now() + opts.timeout;
        let fail = |what: String, state: String| async {
            Error::ServiceFailed {
                service: dep.name.clone(),
                instance: opts.instance.clone(),
                what,
                state,
                logs: self.tail(&name, 20).await,
            }
        };
        if condition == Condition::ServiceHealthy && !dep.has_healthcheck() {
            return Err(fail(
                "is a `service_healthy` dependency but has no healthcheck".into(),
                "running".into(),
            )
            .await);
        }
        loop {
            let inspect = self
                .docker
                .inspect_container(&name, None)
                .await
                .map_err(|e| self.error(&format!("inspect container `{name}`"), &e))?;
            let state = inspect.state.unwrap_or_default();
            let status = state.status.map(|s| s.to_string()).unwrap_or_default();
            let exit_code = state.exit_code.unwrap_or_default();
            let health = state
                .health
                .and_then(|h| h.status)
                .map(|s| s.to_string())
                .unwrap_or_default();
            let running = state.running.unwrap_or(false);
            let describe = || {
                if running {
                    if health.is_empty() {
                        status.clone()
                    } else {
                        format!("{status}, {health}")
                    }
                } else {
                    format!("{status} ({exit_code})")
                }
            };
            match condition {
                Condition::ServiceStarted => return Ok(()),
                Condition::ServiceHealthy => {
                    if health == "healthy" {
                        return Ok(());
                    }
                    if health == "unhealthy" {
                        return Err(fail("failed its healthcheck".into(), describe()).await);
                    }
                    if !running && status != "restarting" {
                        return Err(fail("exited before becoming healthy".into(), describe()).await);
                    }
                }
                Condition::ServiceCompletedSuccessfully => {
                    if status == "exited" || status == "dead" {
                        if exit_code == 0 {
                            return Ok(());
                        }
                        return Err(fail(format!("exited with code {exit_code}"), describe()).await);
                    }
                }
            }
            if Instant::now() >= deadline {
                let what = match condition {
                    Condition::ServiceHealthy => "did not become healthy",
                    _ => "did not complete",
                };
                return Err(fail(
                    format!(
                        "{what} within {}s (`--timeout` waits longer)",
                        opts.timeout.as_secs()
                    ),
                    describe(),
                )
                .await);
            }
            tokio::time::sleep(POLL).await;
        }
    }
}
