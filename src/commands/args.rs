//! Arguments several commands share, validated: the instances a
//! `NAME | --all` command acts on, `--timeout`, and running one command on
//! each of several instances.

use crate::error::Error;
use crate::ops::instance::lookup;
use crate::registry::Registry;
use crate::stack::Stack;

/// The instances a `NAME | --all` command acts on.
pub fn targets(
    stack: &Stack,
    registry: &Registry,
    target: &crate::cli::TargetArgs,
) -> Result<Vec<String>, Error> {
    if target.all {
        return Ok(registry
            .names_sorted()
            .into_iter()
            .map(str::to_string)
            .collect());
    }
    let name = target.name.clone().unwrap_or_default();
    lookup(stack, registry, &name)?;
    Ok(vec![name])
}

/// Runs `each` on every target and collects its reports; with several, a
/// failure is reported on standard error and the rest still run. `print`
/// then gets the reports of those that succeeded (a `--json` command prints
/// them as one document: an object for one target, an array for `--all`),
/// and the end result says how many failed.
pub async fn for_each<T, F, Fut>(
    what: &str,
    names: &[String],
    all: bool,
    mut each: F,
    print: impl FnOnce(&[T], bool) -> anyhow::Result<()>,
) -> anyhow::Result<()>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    if !all && names.len() == 1 {
        let report = each(names[0].clone()).await?;
        return print(std::slice::from_ref(&report), false);
    }
    let mut failed = 0;
    let mut reports = Vec::new();
    for name in names {
        match each(name.clone()).await {
            Ok(r) => reports.push(r),
            Err(e) => {
                failed += 1;
                let mut err = anstream::stderr();
                use std::io::Write;
                let _ = writeln!(
                    err,
                    "{}error:{} instance `{name}`: {}",
                    crate::output::RED,
                    crate::output::RED.render_reset(),
                    crate::mask::mask(&format!("{e:#}"))
                );
            }
        }
    }
    print(&reports, true)?;
    if failed > 0 {
        return Err(Error::Partial {
            what: what.to_string(),
            count: failed,
            total: names.len(),
        }
        .into());
    }
    Ok(())
}

/// `--timeout` as a duration.
pub fn parse_timeout(text: &str) -> Result<std::time::Duration, Error> {
    crate::units::parse_duration(text).ok_or_else(|| Error::InvalidArgument {
        option: "--timeout".into(),
        reason: format!("`{text}` is not a duration (e.g. `90s`, `5m`)"),
    })
}

/// Runs a `NAME | --all` command: `each` on every target instance with the
/// stack, the engine and a progress renderer, a failure of one not stopping
/// the others; with `--json` the reports are printed as one document.
pub fn each_instance<T: serde::Serialize>(
    ctx: &super::Ctx,
    target: &crate::cli::TargetArgs,
    what: &str,
    each: impl AsyncFn(
        &crate::stack::Stack,
        &crate::engine::Engine,
        &super::progress::Renderer,
        String,
    ) -> anyhow::Result<T>,
) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    let registry = crate::ops::instance::registry_file(&stack).load()?;
    let names = targets(&stack, &registry, target)?;
    let sink = super::progress::Renderer::new(ctx.printer);
    ctx.block_on(async {
        let engine = ctx.engine().await?;
        for_each(
            what,
            &names,
            target.all,
            |name| each(&stack, engine, &sink, name),
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
