//! `mrctl start NAME|--all`, `restart`, and `up NAME` (create if missing,
//! then start). Before anything is created, every published host port is
//! checked: free, or held by this instance's own containers.

use super::Ctx;
use crate::cli::{StartOpts, TargetArgs, UpArgs};
use crate::commands::args::{for_each, parse_timeout, targets};
use crate::ops::instance::registry_file;

pub fn run(ctx: &Ctx, target: &TargetArgs, opts: &StartOpts, restart: bool) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    let registry = registry_file(&stack).load()?;
    let names = targets(&stack, &registry, target)?;
    let timeout = parse_timeout(&opts.timeout)?;
    ctx.block_on(async {
        let engine = ctx.engine().await?;
        let what = if restart { "restart" } else { "start" };
        for_each(what, &names, |name| {
            let stack = &stack;
            async move {
                if restart {
                    super::lifecycle::stop::stop_one(ctx, stack, engine, &name).await?;
                }
                super::lifecycle::start::start_one(ctx, stack, engine, &name, timeout, opts.wait)
                    .await
            }
        })
        .await
    })
}

pub fn up(ctx: &Ctx, args: &UpArgs) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    let timeout = parse_timeout(&args.opts.timeout)?;
    crate::names::validate_instance_name(&args.create.name)?;
    let registry = registry_file(&stack).load()?;
    if !registry.instances.contains_key(&args.create.name) {
        let spec = super::lifecycle::create::Spec::from_args(&stack, &args.create)?;
        let seen = super::lifecycle::create::engine_precheck(ctx, &stack, &spec)?;
        super::lifecycle::create::create(&stack, &spec, seen.as_deref())?;
        ctx.printer
            .success(format!("created instance `{}`", spec.name));
    } else if args.create.domain.is_some()
        || args.create.index.is_some()
        || !args.create.ports.is_empty()
    {
        ctx.printer.warn(format!(
            "instance `{}` exists: its domain, index and ports stay as they are",
            args.create.name
        ));
    }
    ctx.block_on(async {
        let engine = ctx.engine().await?;
        super::lifecycle::start::start_one(
            ctx,
            &stack,
            engine,
            &args.create.name,
            timeout,
            args.opts.wait,
        )
        .await
    })
}
