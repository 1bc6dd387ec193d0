//! Stopping one instance in reverse dependency order.

use super::super::{Ctx, instance_lock, instance_project, lookup, registry_file};
use crate::engine::Engine;
use crate::stack::Stack;

/// Stops one instance's containers.
pub async fn stop_one(ctx: &Ctx, stack: &Stack, engine: &Engine, name: &str) -> anyhow::Result<()> {
    let _lock = instance_lock(stack, name)?;
    let registry = registry_file(stack).load()?;
    let inst = lookup(stack, &registry, name)?.clone();
    // The stop order comes from the compose files; if they no longer load,
    // everything still stops, just all at once.
    let order: Vec<Vec<(String, i64)>> = match instance_project(stack, name, &inst) {
        Ok(project) => {
            let waves = project.waves.clone();
            waves
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
                .collect()
        }
        Err(e) => {
            ctx.printer
                .warn(format!("stopping without dependency order: {e}"));
            Vec::new()
        }
    };
    let p = ctx.printer;
    let owned = engine
        .owned(&inst.project, name, &super::super::identity(stack)?)
        .await?;
    engine
        .stop(&owned, &order, &|c| {
            p.message(format!("  container `{c}` stopped"))
        })
        .await?;
    Ok(())
}
