//! `mrctl start NAME|--all`, `restart`, and `up NAME` (create if missing,
//! then start). Before anything is created, every published host port is
//! checked: free, or held by this instance's own containers.

use super::Ctx;
use super::progress::Renderer;
use crate::cli::{StartOpts, TargetArgs, UpArgs};
use crate::commands::args::{each_instance, parse_timeout};
use crate::ops::instance::registry_file;
use crate::ops::start::{StartReport, StartSpec, start};
use crate::ops::stop::stop;

pub fn run(ctx: &Ctx, target: &TargetArgs, opts: &StartOpts, restart: bool) -> anyhow::Result<()> {
    let timeout = parse_timeout(&opts.timeout)?;
    let what = if restart { "restart" } else { "start" };
    each_instance(ctx, target, what, async |stack, engine, sink, name| {
        if restart {
            stop(stack, engine, &name, sink).await?;
        }
        let spec = StartSpec {
            name,
            timeout,
            wait: opts.wait,
            build: opts.build,
            profiles: opts.profiles.clone(),
        };
        let report = start(stack, engine, &spec, sink).await?;
        print_started(ctx, &report, opts.wait);
        Ok(report)
    })
}

pub fn up(ctx: &Ctx, args: &UpArgs) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    let timeout = parse_timeout(&args.opts.timeout)?;
    crate::names::validate_instance_name(&args.create.name)?;
    let registry = registry_file(&stack).load()?;
    if !registry.instances.contains_key(&args.create.name) {
        let spec = super::create::spec_from_args(&stack, &args.create)?;
        let seen = ctx.block_on(async {
            crate::ops::create::engine_precheck(ctx.engine().await, &stack, &spec).await
        })?;
        crate::ops::create::create(&stack, &spec, seen.as_deref())?;
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
    let sink = Renderer::new(ctx.printer);
    let spec = StartSpec {
        name: args.create.name.clone(),
        timeout,
        wait: args.opts.wait,
        build: args.opts.build,
        profiles: args.opts.profiles.clone(),
    };
    let report = ctx.block_on(async { start(&stack, ctx.engine().await?, &spec, &sink).await })?;
    print_started(ctx, &report, args.opts.wait);
    if ctx.printer.json {
        return ctx.printer.json(&report);
    }
    Ok(())
}

/// The lines that say an instance is up, and where to reach it.
pub fn print_started(ctx: &Ctx, report: &StartReport, waited: bool) {
    let p = &ctx.printer;
    if waited {
        p.success(format!("every service of `{}` is ready", report.name));
    }
    p.success(format!(
        "instance `{}` is up (project `{}`)",
        report.name, report.project
    ));
    for e in &report.endpoints {
        p.message(format!("  {}: {}", e.service, e.url));
    }
}
