//! `mrctl stop NAME|--all`: stop containers in reverse dependency order, in
//! parallel within a wave, each with its service's grace period.

use super::Ctx;
use crate::cli::TargetArgs;
use crate::commands::args::{for_each, targets};
use crate::ops::instance::registry_file;

pub fn run(ctx: &Ctx, target: &TargetArgs) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    let registry = registry_file(&stack).load()?;
    let names = targets(&stack, &registry, target)?;
    ctx.block_on(async {
        let engine = ctx.engine().await?;
        for_each("stop", &names, |name| {
            let (stack, engine) = (&stack, &engine);
            async move {
                super::lifecycle::stop::stop_one(ctx, stack, engine, &name).await?;
                ctx.printer.success(format!("instance `{name}` is stopped"));
                Ok(())
            }
        })
        .await
    })
}
