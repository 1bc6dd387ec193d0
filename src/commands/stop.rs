//! `mrctl stop NAME|--all`: stop containers in reverse dependency order, in
//! parallel within a wave, each with its service's grace period.

use super::Ctx;
use crate::cli::TargetArgs;
use crate::commands::args::each_instance;
use crate::ops::stop::stop;

pub fn run(ctx: &Ctx, target: &TargetArgs) -> anyhow::Result<()> {
    each_instance(ctx, target, "stop", async |stack, engine, line, name| {
        let report = stop(stack, engine, &name, line).await?;
        line.success(format!("instance `{name}` is stopped"));
        Ok(report)
    })
}
