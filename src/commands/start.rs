//! `mrctl start NAME|--all`, `restart`, and `up NAME` (create if missing,
//! then start) or `up --all` (start every registered instance, creating
//! none). Before anything is created, every published host port is
//! checked: free, or held by this instance's own containers.

use super::Ctx;
use super::progress::Line;
use crate::cli::{CreateArgs, StartOpts, TargetArgs, UpArgs};
use crate::commands::args::{each_instance, parse_timeout};
use crate::ops::instance::registry_file;
use crate::ops::start::{StartReport, StartSpec, start};
use crate::ops::stop::stop;

pub fn run(ctx: &Ctx, target: &TargetArgs, opts: &StartOpts, restart: bool) -> anyhow::Result<()> {
    let timeout = parse_timeout(&opts.timeout)?;
    let what = if restart { "restart" } else { "start" };
    each_instance(ctx, target, what, async |stack, engine, line, name| {
        if restart {
            stop(stack, engine, &name, line).await?;
        }
        let spec = StartSpec {
            name,
            timeout,
            wait: opts.wait,
            build: opts.build,
            profiles: opts.profiles.clone(),
        };
        let report = start(stack, engine, &spec, line).await?;
        print_started(line, &report, opts.wait);
        Ok(report)
    })
}

/// What `up` creates when the instance does not exist.
pub fn create_args(args: &UpArgs) -> CreateArgs {
    CreateArgs {
        name: args.name.clone().unwrap_or_default(),
        domain: args.domain.clone(),
        index: args.index,
        ports: args.ports.clone(),
        tier: args.tier.clone(),
        limits: args.limits.clone(),
    }
}

pub fn up(ctx: &Ctx, args: &UpArgs) -> anyhow::Result<()> {
    if args.all {
        let target = TargetArgs {
            name: None,
            all: true,
        };
        return run(ctx, &target, &args.opts, false);
    }
    let create = create_args(args);
    let stack = ctx.stack()?;
    let timeout = parse_timeout(&args.opts.timeout)?;
    crate::names::validate_instance_name(&create.name)?;
    let registry = registry_file(&stack).load()?;
    if !registry.instances.contains_key(&create.name) {
        let spec = super::create::spec_from_args(&stack, &create)?;
        let seen = ctx.block_on(async {
            crate::ops::create::engine_precheck(ctx.engine().await, &stack, &spec).await
        })?;
        crate::ops::create::create(&stack, &spec, seen.as_deref())?;
        ctx.printer
            .success(format!("created instance `{}`", spec.name));
    } else if create.domain.is_some() || create.index.is_some() || !create.ports.is_empty() {
        ctx.printer.warn(format!(
            "instance `{}` exists: its domain, index and ports stay as they are",
            create.name
        ));
    }
    let renderer = super::progress::Renderer::new(ctx.printer);
    let line = renderer.line(None);
    let spec = StartSpec {
        name: create.name.clone(),
        timeout,
        wait: args.opts.wait,
        build: args.opts.build,
        profiles: args.opts.profiles.clone(),
    };
    let report = ctx.block_on(async { start(&stack, ctx.engine().await?, &spec, &line).await })?;
    print_started(&line, &report, args.opts.wait);
    if ctx.printer.json {
        return ctx.printer.json(&report);
    }
    Ok(())
}

/// The lines that say an instance is up, and where to reach it.
pub fn print_started(line: &Line<'_>, report: &StartReport, waited: bool) {
    if waited {
        line.checked(format!("every service of `{}` is ready", report.name));
    }
    line.success(format!(
        "instance `{}` is up (project `{}`)",
        report.name, report.project
    ));
    for e in &report.endpoints {
        line.detail(format!("  {}: {}", e.service, e.url));
    }
}
