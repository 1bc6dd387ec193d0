//! Waiting for a dependency's condition (started, healthy, completed) with
//! a deadline; a failure names the service, its state and its last logs.
//! A container is inspected, then again each time the engine's event
//! stream (`watch`) names it, and at least every second; without a stream,
//! every 50 ms. Whether what an inspection saw meets the condition is
//! `verdict`, pure.

use std::time::{Duration, Instant};

use super::Engine;
use super::up::UpOptions;
use super::watch::{Watcher, heard};
use crate::compose::{self, Condition, Project, Service};
use crate::error::Error;

// Cheap inspect calls; without events, a short poll keeps a health-gated
// start close to the moment the dependency turns healthy.
const POLL: Duration = Duration::from_millis(50);
// With events, a look now and then all the same, should one be missed.
const RECHECK: Duration = Duration::from_secs(1);

impl Engine {
    /// Waits until every container of `dep` meets `condition` (none when
    /// it runs none), or fails naming it with its last log lines.
    pub(super) async fn await_condition(
        &self,
        project: &Project,
        dep: &Service,
        condition: Condition,
        opts: &UpOptions,
        watch: &Watcher,
    ) -> Result<(), Error> {
        for number in 1..=dep.replicas {
            let name = compose::replica_name(&project.name, dep, number);
            self.await_container(&name, dep, condition, opts, watch)
                .await?;
        }
        Ok(())
    }

    /// Waits until the container `name` of `dep` meets `condition`.
    async fn await_container(
        &self,
        name: &str,
        dep: &Service,
        condition: Condition,
        opts: &UpOptions,
        watch: &Watcher,
    ) -> Result<(), Error> {
        let deadline = Instant::now() + opts.timeout;
        // Subscribed before the first look: nothing falls between.
        let mut events = None;
        let fail = |what: String, state: String| async {
            Error::ServiceFailed {
                service: dep.name.clone(),
                instance: opts.instance.clone(),
                what,
                state,
                logs: self.tail(name, 20).await,
            }
        };
        if condition == Condition::ServiceHealthy && !dep.has_healthcheck() {
            return Err(fail(
                "is a `service_healthy` dependency but has no healthcheck".into(),
                "running".into(),
            )
            .await);
        }
        for look in 0u64.. {
            let inspect = self
                .docker
                .inspect_container(name, None)
                .await
                .map_err(|e| self.error(&format!("inspect container `{name}`"), &e))?;
            let state = inspect.state.unwrap_or_default();
            let seen = Seen {
                status: state.status.map(|s| s.to_string()).unwrap_or_default(),
                exit_code: state.exit_code.unwrap_or_default(),
                health: state
                    .health
                    .and_then(|h| h.status)
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
                running: state.running.unwrap_or(false),
            };
            match verdict(condition, &seen) {
                Verdict::Met => return Ok(()),
                Verdict::Failed(what) => return Err(fail(what, seen.describe()).await),
                Verdict::Pending => {}
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
                    seen.describe(),
                )
                .await);
            }
            if look == 0 {
                // Not met at the first look: subscribe, then look again.
                events = watch.subscribe().await;
                continue;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match &mut events {
                Some(rx) => {
                    let pause = tokio::time::sleep(RECHECK.min(left));
                    tokio::select! {
                        heard = heard(rx, name) => if !heard { events = None },
                        () = pause => {}
                    }
                }
                None => tokio::time::sleep(POLL.min(left)).await,
            }
        }
        unreachable!("the looks end at the deadline")
    }
}

/// A dependency's container as one inspection saw it.
#[derive(Debug, Clone, PartialEq, Default)]
struct Seen {
    /// created, running, exited, restarting, dead…
    status: String,
    exit_code: i64,
    /// healthy, unhealthy, starting, or empty without a healthcheck.
    health: String,
    running: bool,
}

impl Seen {
    /// `running, healthy`, or `exited (1)`, for messages.
    fn describe(&self) -> String {
        if self.running {
            if self.health.is_empty() {
                self.status.clone()
            } else {
                format!("{}, {}", self.status, self.health)
            }
        } else {
            format!("{} ({})", self.status, self.exit_code)
        }
    }
}

/// Whether a dependency meets its condition.
#[derive(Debug, Clone, PartialEq)]
enum Verdict {
    Met,
    /// It never will: what happened.
    Failed(String),
    /// Not yet: look again.
    Pending,
}

/// Whether `seen` meets `condition`, will never meet it, or may yet.
fn verdict(condition: Condition, seen: &Seen) -> Verdict {
    match condition {
        Condition::ServiceStarted => Verdict::Met,
        Condition::ServiceHealthy => {
            if seen.health == "healthy" {
                Verdict::Met
            } else if seen.health == "unhealthy" {
                Verdict::Failed("failed its healthcheck".into())
            } else if !seen.running && seen.status != "restarting" {
                Verdict::Failed("exited before becoming healthy".into())
            } else {
                Verdict::Pending
            }
        }
        Condition::ServiceCompletedSuccessfully => {
            if seen.status == "exited" || seen.status == "dead" {
                if seen.exit_code == 0 {
                    Verdict::Met
                } else {
                    Verdict::Failed(format!("exited with code {}", seen.exit_code))
                }
            } else {
                Verdict::Pending
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(status: &str, exit_code: i64, health: &str) -> Seen {
        Seen {
            status: status.into(),
            exit_code,
            health: health.into(),
            running: status == "running",
        }
    }

    #[test]
    fn started_is_met_at_once() {
        let c = Condition::ServiceStarted;
        assert_eq!(verdict(c, &seen("created", 0, "")), Verdict::Met);
        assert_eq!(verdict(c, &seen("exited", 1, "")), Verdict::Met);
    }

    #[test]
    fn healthy_waits_for_the_healthcheck() {
        let c = Condition::ServiceHealthy;
        assert_eq!(
            verdict(c, &seen("running", 0, "starting")),
            Verdict::Pending
        );
        assert_eq!(verdict(c, &seen("running", 0, "healthy")), Verdict::Met);
        assert_eq!(
            verdict(c, &seen("running", 0, "unhealthy")),
            Verdict::Failed("failed its healthcheck".into())
        );
        // Restarting may still become healthy; exited will not.
        assert_eq!(verdict(c, &seen("restarting", 1, "")), Verdict::Pending);
        assert_eq!(
            verdict(c, &seen("exited", 1, "")),
            Verdict::Failed("exited before becoming healthy".into())
        );
    }

    #[test]
    fn completed_needs_exit_code_zero() {
        let c = Condition::ServiceCompletedSuccessfully;
        assert_eq!(verdict(c, &seen("running", 0, "")), Verdict::Pending);
        assert_eq!(verdict(c, &seen("exited", 0, "")), Verdict::Met);
        assert_eq!(
            verdict(c, &seen("dead", 2, "")),
            Verdict::Failed("exited with code 2".into())
        );
    }

    #[test]
    fn the_state_is_described_for_messages() {
        assert_eq!(seen("running", 0, "").describe(), "running");
        assert_eq!(
            seen("running", 0, "starting").describe(),
            "running, starting"
        );
        assert_eq!(seen("exited", 137, "unhealthy").describe(), "exited (137)");
    }
}
