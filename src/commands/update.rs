//! `mrctl update NAME --tier T | --memory M | --cpus C | --pids N |
//! --clear-limits` (see `ops::update`).

use super::Ctx;
use crate::cli::UpdateArgs;
use crate::error::Error;
use crate::ops::update::{UpdateSpec, update};

pub fn run(ctx: &Ctx, args: &UpdateArgs) -> anyhow::Result<()> {
    crate::names::validate_instance_name(&args.name)?;
    let stack = ctx.stack()?;
    let name = args.name.as_str();
    let limits = crate::limits::Limits::from_flags(&args.limits)?;
    if args.tier.is_none() && limits.is_empty() && !args.clear_limits {
        return Err(Error::InvalidArgument {
            option: "update".into(),
            reason:
                "say what to change: `--tier`, `--memory`, `--cpus`, `--pids` or `--clear-limits`"
                    .into(),
        }
        .into());
    }
    let spec = UpdateSpec {
        name: name.to_string(),
        tier: args.tier.clone(),
        clear_limits: args.clear_limits,
        limits,
    };
    let sink = super::progress::Renderer::new(ctx.printer);
    let report = ctx.block_on(update(&stack, ctx, &spec, &sink))?;
    let p = &ctx.printer;
    if p.json {
        return p.json(&report);
    }
    p.success(format!(
        "updated instance `{name}`: {}",
        crate::limits::describe(&report.limits)
    ));
    for c in &report.updated {
        p.message(format!("  container `{c}`: limits changed in place"));
    }
    for c in &report.recreate_on_start {
        p.message(format!(
            "  container `{c}`: a lifted limit applies when `mrctl start {name}` recreates it"
        ));
    }
    Ok(())
}
