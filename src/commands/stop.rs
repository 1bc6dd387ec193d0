//! `mrctl stop NAME|--all`: stop containers in reverse dependency order, in
//! parallel within a wave, each with its service's grace period.

use super::Ctx;
use super::progress::Renderer;
use crate::cli::TargetArgs;
use crate::commands::args::{for_each, targets};
use crate::ops::instance::registry_file;
use crate::ops::stop::stop;

pub fn run(ctx: &Ctx, target: &TargetArgs) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    let registry = registry_file(&stack).load()?;
    let names = targets(&stack, &registry, target)?;
    let sink = Renderer::new(ctx.printer);
    ctx.block_on(async {
        let engine = ctx.engine().await?;
        for_each(
            "stop",
            &names,
            target.all,
            |name| {
                let (stack, sink) = (&stack, &sink);
                async move {
                    let report = stop(stack, engine, &name, sink).await?;
                    ctx.printer.success(format!("instance `{name}` is stopped"));
                    Ok(report)
                }
            },
            |reports, all| {
                if ctx.printer.json {
                    ctx.printer.json_reports(reports, all)?;
                }
                Ok(())
            },
        )
        .await
    })
}
