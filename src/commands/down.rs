//! `mrctl down NAME|--all`: remove an instance's containers and networks,
//! keeping its volumes, files, data and registry entry (see `ops::down`).

use super::Ctx;
use super::progress::Renderer;
use crate::cli::TargetArgs;
use crate::commands::args::{for_each, targets};
use crate::ops::down::down;
use crate::ops::instance::registry_file;

pub fn run(ctx: &Ctx, target: &TargetArgs) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    let registry = registry_file(&stack).load()?;
    let names = targets(&stack, &registry, target)?;
    let sink = Renderer::new(ctx.printer);
    ctx.block_on(async {
        let engine = ctx.engine().await?;
        for_each(
            "down",
            &names,
            target.all,
            |name| {
                let (stack, sink) = (&stack, &sink);
                async move {
                    let report = down(stack, engine, &name, sink).await?;
                    let p = &ctx.printer;
                    for (what, list) in [
                        ("container", &report.removed.containers),
                        ("network", &report.removed.networks),
                    ] {
                        for item in list {
                            p.message(format!("  {what} `{item}` removed"));
                        }
                    }
                    p.success(format!(
                        "instance `{name}` is down; its volumes and data stay (`mrctl start {name}` brings it back)"
                    ));
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
