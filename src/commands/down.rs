//! `mrctl down NAME|--all`: remove an instance's containers and networks,
//! keeping its volumes, files, data and registry entry (see `ops::down`).

use super::Ctx;
use crate::cli::TargetArgs;
use crate::commands::args::each_instance;
use crate::ops::down::down;

pub fn run(ctx: &Ctx, target: &TargetArgs) -> anyhow::Result<()> {
    each_instance(ctx, target, "down", async |stack, engine, line, name| {
        let report = down(stack, engine, &name, line).await?;
        for (what, list) in [
            ("container", &report.removed.containers),
            ("network", &report.removed.networks),
        ] {
            for item in list {
                line.detail(format!("  {what} `{item}` removed"));
            }
        }
        line.success(format!(
            "instance `{name}` is down; its volumes and data stay (`mrctl start {name}` brings it back)"
        ));
        Ok(report)
    })
}
