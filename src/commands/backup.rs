//! `mrctl backup NAME [-o FILE]` and `mrctl restore FILE [--as NAME]
//! [--domain D] [--force]` (see `ops::backup` and `ops::restore`).

use std::path::Path;

use super::Ctx;
use crate::cli::{BackupArgs, RestoreArgs};
use crate::error::Error;
use crate::ops::backup::{BackupReport, BackupSpec, backup, default_file_name};
use crate::ops::restore::{RestoreSpec, restore as restore_op};
use crate::stack::Stack;

pub fn run(ctx: &Ctx, args: &BackupArgs) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    let report = write_backup(ctx, &stack, &args.name, args.output.as_deref())?;
    if ctx.printer.json {
        return ctx.printer.json(&report);
    }
    Ok(())
}

/// Backs up `name` to `output` (relative to the current directory; a
/// dated name there by default), showing progress; says where on success.
/// `clean --backup` uses it too.
pub fn write_backup(
    ctx: &Ctx,
    stack: &Stack,
    name: &str,
    output: Option<&Path>,
) -> anyhow::Result<BackupReport> {
    let dest = match output {
        Some(p) if p.is_absolute() => p.to_path_buf(),
        Some(p) => ctx.cwd.join(p),
        None => ctx.cwd.join(default_file_name(stack, name)),
    };
    let spec = BackupSpec {
        name: name.to_string(),
        dest,
    };
    let sink = super::progress::Renderer::new(ctx.printer);
    let report = ctx.block_on(async { backup(stack, ctx.engine().await, &spec, &sink).await })?;
    if !ctx.printer.json {
        ctx.printer.success(format!(
            "backed up instance `{name}` to {}",
            report.path.display()
        ));
    }
    Ok(report)
}

pub fn restore(ctx: &Ctx, args: &RestoreArgs) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    let file = if args.file.is_absolute() {
        args.file.clone()
    } else {
        ctx.cwd.join(&args.file)
    };
    let spec = RestoreSpec {
        file: file.clone(),
        as_name: args.as_name.clone(),
        domain: args.domain.clone(),
        force: args.force,
    };
    let sink = super::progress::Renderer::new(ctx.printer);
    let report = match ctx.block_on(restore_op(&stack, ctx, &spec, &sink)) {
        Ok(r) => r,
        Err(e @ Error::InstanceExists { .. }) if !args.force => {
            return Err(anyhow::Error::new(e).context(
                "restore refuses to replace it: pass `--force`, or `--as NEWNAME` for a copy",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let (p, name, inst) = (&ctx.printer, &report.name, &report.instance);
    if p.json {
        return p.json(&super::view::InstanceView::new(&stack, name, inst));
    }
    p.success(format!(
        "restored instance `{name}` from {} (ports: {}); `mrctl start {name}` runs it",
        file.display(),
        super::view::ports_inline(&inst.ports)
    ));
    Ok(())
}
