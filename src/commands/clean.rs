//! `mrctl clean NAME [--yes] [--keep-data] [--backup [-o FILE]]`: confirm,
//! optionally back up, then delete the instance (see `ops::clean`).

use serde::Serialize;

use super::Ctx;
use crate::cli::CleanArgs;
use crate::commands::view::confirm;
use crate::error::Error;
use crate::names;
use crate::ops::backup::BackupReport;
use crate::ops::clean::{CleanReport, CleanSpec, clean};
use crate::ops::instance::registry_file;

/// `clean --json`: the clean's report, with the backup's when one was made.
#[derive(Serialize)]
struct Output<'a> {
    #[serde(flatten)]
    clean: &'a CleanReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    backup: Option<&'a BackupReport>,
}

pub fn run(ctx: &Ctx, args: &CleanArgs) -> anyhow::Result<()> {
    names::validate_instance_name(&args.name)?;
    let stack = ctx.stack()?;
    let name = args.name.as_str();

    // Confirm before taking the lock: a prompt must not hold other commands up.
    let registry = registry_file(&stack).load()?;
    let data_dir = registry
        .instances
        .get(name)
        .map(|i| i.data_dir.clone())
        .unwrap_or_else(|| stack.data_root.join(name));
    let what = if args.keep_data {
        format!(
            "instance `{name}` (keeping its data in `{}`)",
            data_dir.display()
        )
    } else {
        format!("instance `{name}` and its data in `{}`", data_dir.display())
    };
    confirm(
        args.yes,
        &format!("clean of instance `{name}`"),
        &format!("Delete {what}?"),
    )?;

    let backup = if args.backup {
        if !registry.instances.contains_key(name) {
            return Err(Error::UnknownInstance {
                name: name.to_string(),
                stack: stack.name().to_string(),
                hint: Some("nothing to back up".into()),
            }
            .into());
        }
        Some(super::backup::write_backup(
            ctx,
            &stack,
            name,
            args.output.as_deref(),
        )?)
    } else {
        None
    };
    let spec = CleanSpec {
        name: name.to_string(),
        keep_data: args.keep_data,
    };
    let sink = super::progress::Renderer::new(ctx.printer);
    let report = ctx.block_on(async { clean(&stack, ctx.engine().await?, &spec, &sink).await })?;
    let p = &ctx.printer;
    if p.json {
        return p.json(&Output {
            clean: &report,
            backup: backup.as_ref(),
        });
    }
    for (what, list) in [
        ("container", &report.removed.containers),
        ("network", &report.removed.networks),
        ("volume", &report.removed.volumes),
    ] {
        for item in list {
            p.message(format!("  {what} `{item}` removed"));
        }
    }
    if !report.registered {
        p.success(format!(
            "removed what an interrupted create or clean left of `{name}`"
        ));
    } else if report.freed_ports.is_empty() {
        p.success(format!("cleaned instance `{name}`"));
    } else {
        p.success(format!(
            "cleaned instance `{name}`; freed ports {}",
            report
                .freed_ports
                .values()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(dir) = &report.kept_data_dir {
        p.message(format!(
            "kept the data directory {} and the named volumes",
            dir.display()
        ));
    }
    Ok(())
}
