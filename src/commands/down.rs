//! `mrctl down NAME|--all`: remove an instance's containers and networks,
//! keeping its volumes, files, data and registry entry (see `ops::down`).

use super::Ctx;
use crate::cli::TargetArgs;
use crate::commands::args::each_instance;
use crate::ops::down::down;

pub fn run(ctx: &Ctx, target: &TargetArgs) -> anyhow::Result<()> {
    each_instance(ctx, target, "down", async |stack, engine, sink, name| {
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
    })
}
