//! Taking an instance down: its containers stopped (in reverse dependency
//! order, with their grace periods) and removed, and its networks removed,
//! as `docker compose down` does; its volumes, files, data directory and
//! registry entry stay, so `start` brings it back with its data.

use serde::Serialize;

use super::instance::{identity_of, instance_lock_shared, lookup, registry_file};
use super::{Progress, Sink};
use crate::engine::{Engine, RemoveReport};
use crate::error::Error;
use crate::stack::Stack;

/// What `down` removed.
#[derive(Debug, Clone, Serialize)]
pub struct DownReport {
    pub name: String,
    pub project: String,
    /// Containers and networks removed (no volumes).
    pub removed: RemoveReport,
}

/// Takes instance `name` down (only this stack directory's resources).
pub async fn down(
    stack: &Stack,
    engine: &Engine,
    name: &str,
    sink: &dyn Sink,
) -> Result<DownReport, Error> {
    let _lock = instance_lock_shared(stack, name).await?;
    let registry = registry_file(stack).load()?;
    let inst = lookup(stack, &registry, name)?.clone();
    let (order, hooks) = super::stop::stop_order(stack, name, &inst, sink);
    let owned = engine
        .owned(&inst.project, name, &identity_of(stack, &registry)?)
        .await?;
    engine
        .stop_with_hooks(&owned, &order, &hooks, &|c| {
            sink.send(Progress::Stopped(c.to_string()))
        })
        .await?;
    let removed = engine.remove_owned(&owned, false).await?;
    Ok(DownReport {
        name: name.to_string(),
        project: inst.project,
        removed,
    })
}
