//! `mrctl stop NAME|--all`: stop containers in reverse dependency order, in
//! parallel within a wave, each with its service's grace period.

use super::{Ctx, for_each, instance_lock, instance_project, lookup, registry_file, targets};
use crate::cli::TargetArgs;
use crate::engine::Engine;
use crate::stack::Stack;

pub fn run(ctx: &Ctx, target: &TargetArgs) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    let registry = registry_file(&stack).load()?;
    let names = targets(&stack, &registry, target)?;
    let rt = super::runtime()?;
    rt.block_on(async {
        let engine = Engine::connect().await?;
        for_each("stop", &names, |name| {
            let (stack, engine) = (&stack, &engine);
            async move {
                stop_one(ctx, stack, engine, &name).await?;
                ctx.printer.success(format!("instance `{name}` is stopped"));
                Ok(())
            }
        })
        .await
    })
}

/// Stops one instance's containers.
pub async fn stop_one(ctx: &Ctx, stack: &Stack, engine: &Engine, name: &str) -> anyhow::Result<()> {
    let _lock = instance_lock(stack, name)?;
    let registry = registry_file(stack).load()?;
    let inst = lookup(stack, &registry, name)?.clone();
    // The stop order comes from the compose files; if they no longer load,
    // everything still stops, just all at once.
    let order: Vec<Vec<(String, i64)>> = match instance_project(stack, name, &inst) {
        Ok(project) => {
            let waves = crate::compose::waves(&project).unwrap_or_default();
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
    engine
        .stop(&inst.project, &order, &|c| {
            p.message(format!("  container `{c}` stopped"))
        })
        .await?;
    Ok(())
}
