//! Stopping one instance by its dependency graph in reverse (a service
//! once its dependants have stopped), each container with its service's
//! grace period.

use serde::Serialize;

use super::instance::{identity_of, instance_lock_shared, instance_project, lookup, registry_file};
use super::{Progress, Sink};
use crate::engine::{Engine, StopService};
use crate::error::Error;
use crate::stack::Stack;

/// What `stop` did.
#[derive(Debug, Clone, Serialize)]
pub struct StopReport {
    pub name: String,
    pub project: String,
    /// The containers stopped, in the order they were.
    pub stopped: Vec<String>,
}

/// Stops instance `name`'s containers (only this stack directory's).
pub async fn stop(
    stack: &Stack,
    engine: &Engine,
    name: &str,
    sink: &dyn Sink,
) -> Result<StopReport, Error> {
    let _lock = instance_lock_shared(stack, name).await?;
    let registry = registry_file(stack).load()?;
    let inst = lookup(stack, &registry, name)?.clone();
    let (order, hooks) = stop_order(stack, name, &inst, sink);
    let owned = engine
        .owned(&inst.project, name, &identity_of(stack, &registry)?)
        .await?;
    let stopped = engine
        .stop_with_hooks(&owned, &order, &hooks, &|c| {
            sink.send(Progress::Stopped(c.to_string()))
        })
        .await?;
    Ok(StopReport {
        name: name.to_string(),
        project: inst.project,
        stopped,
    })
}

/// Each service with its grace period and its dependencies (stopped after
/// it), and the services' `pre_stop` hooks. If the compose files no longer
/// load, everything still stops, just all at once (and without hooks).
pub(super) fn stop_order(
    stack: &Stack,
    name: &str,
    inst: &crate::registry::Instance,
    sink: &dyn Sink,
) -> (Vec<StopService>, StopHooks) {
    match instance_project(stack, name, inst) {
        Ok(project) => (
            project
                .services
                .values()
                .map(|s| StopService {
                    service: s.name.clone(),
                    grace: s.grace_period_secs(),
                    depends_on: s.depends_on.keys().cloned().collect(),
                })
                .collect(),
            project
                .services
                .values()
                .filter(|s| !s.settings.pre_stop.is_empty())
                .map(|s| (s.name.clone(), s.settings.pre_stop.clone()))
                .collect(),
        ),
        Err(e) => {
            sink.send(Progress::Warning(format!(
                "stopping without dependency order: {e}"
            )));
            (Vec::new(), StopHooks::new())
        }
    }
}

/// Each service's `pre_stop` hooks, by service name.
pub(super) type StopHooks = std::collections::HashMap<String, Vec<crate::compose::Hook>>;
