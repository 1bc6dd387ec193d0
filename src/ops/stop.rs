//! Stopping one instance in reverse dependency order, in parallel within a
//! wave, each container with its service's grace period.

use serde::Serialize;

use super::instance::{identity, instance_lock, instance_project, lookup, registry_file};
use super::{Progress, Sink};
use crate::engine::Engine;
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
    let _lock = instance_lock(stack, name)?;
    let registry = registry_file(stack).load()?;
    let inst = lookup(stack, &registry, name)?.clone();
    // The stop order comes from the compose files; if they no longer load,
    // everything still stops, just all at once.
    let order: Vec<Vec<(String, i64)>> = match instance_project(stack, name, &inst) {
        Ok(project) => project
            .waves
            .clone()
            .into_iter()
            .rev()
            .map(|wave| {
                wave.into_iter()
                    .map(|s| {
                        let grace = project.services[&s].grace_period_secs();
                        (s, grace)
                    })
                    .collect()
            })
            .collect(),
        Err(e) => {
            sink.send(Progress::Warning(format!(
                "stopping without dependency order: {e}"
            )));
            Vec::new()
        }
    };
    let owned = engine.owned(&inst.project, name, &identity(stack)?).await?;
    let stopped = engine
        .stop(&owned, &order, &|c| {
            sink.send(Progress::Stopped(c.to_string()))
        })
        .await?;
    Ok(StopReport {
        name: name.to_string(),
        project: inst.project,
        stopped,
    })
}
