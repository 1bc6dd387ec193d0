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

/// How many instances a `--all` command works on at once when
/// `--parallel` does not say.
pub const DEFAULT_INSTANCES_AT_ONCE: usize = 8;

/// Runs `each` on every target, at most `at_once` at a time, and collects
/// the reports in the targets' order. With one target (no `--all`) its
/// error is the command's. With several, a failure does not stop the
/// others; `print` gets the reports of those that succeeded
/// (a `--json` command prints them as one document: an object for one
/// target, an array for `--all`), and the end result names the failed ones
/// (`each` reports each failure itself, as it happens).
pub async fn for_each<T, Fut>(
    what: &str,
    names: &[String],
    all: bool,
    at_once: usize,
    each: impl Fn(String) -> Fut,
    print: impl FnOnce(&[T], bool) -> anyhow::Result<()>,
) -> anyhow::Result<()>
where
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    use futures_util::StreamExt;
    if !all && names.len() == 1 {
        let report = each(names[0].clone()).await?;
        return print(std::slice::from_ref(&report), false);
    }
    let mut results: Vec<(usize, anyhow::Result<T>)> =
        futures_util::stream::iter(names.iter().enumerate())
            .map(|(i, name)| {
                let run = each(name.clone());
                async move { (i, run.await) }
            })
            .buffer_unordered(at_once.max(1))
            .collect()
            .await;
    results.sort_by_key(|(i, _)| *i);
    let mut reports = Vec::new();
    let mut failures = Vec::new();
    for (i, result) in results {
        match result {
            Ok(r) => reports.push(r),
            Err(_) => failures.push(names[i].clone()),
        }
    }
    print(&reports, true)?;
    match partial(what, names.len(), failures) {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// The error of a `--all` command some of whose instances failed.
pub fn partial(what: &str, total: usize, failed: Vec<String>) -> Option<Error> {
    (!failed.is_empty()).then(|| Error::Partial {
        what: what.to_string(),
        count: failed.len(),
        total,
        names: failed,
    })
}

/// `--timeout` as a duration.
pub fn parse_timeout(text: &str) -> Result<std::time::Duration, Error> {
    crate::units::parse_duration(text).ok_or_else(|| Error::InvalidArgument {
        option: "--timeout".into(),
        reason: format!("`{text}` is not a duration (e.g. `90s`, `5m`)"),
    })
}

/// Runs a `NAME | --all` command: `each` on every target instance with the
/// stack, the engine and the instance's progress line, several at once
/// (`--parallel`), a failure of one not stopping the others; with `--json`
/// the reports are printed as one document.
pub fn each_instance<T: serde::Serialize>(
    ctx: &super::Ctx,
    target: &crate::cli::TargetArgs,
    what: &str,
    each: impl AsyncFn(
        &crate::stack::Stack,
        &crate::engine::Engine,
        &super::progress::Line<'_>,
        String,
    ) -> anyhow::Result<T>,
) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    let registry = crate::ops::instance::registry_file(&stack).load()?;
    let names = targets(&stack, &registry, target)?;
    let renderer = super::progress::Renderer::new(ctx.printer);
    let prefixed = target.all || names.len() > 1;
    ctx.block_on(async {
        let engine = ctx.engine().await?;
        let (stack, renderer, each) = (&stack, &renderer, &each);
        for_each(
            what,
            &names,
            target.all,
            ctx.instances_at_once(),
            |name| async move {
                let line = renderer.line(prefixed.then_some(name.as_str()));
                let result = each(stack, engine, &line, name.clone()).await;
                if let Err(e) = &result
                    && prefixed
                {
                    line.failed(e);
                }
                result
            },
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

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn run<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn a_failure_does_not_stop_the_others_and_is_named() {
        let all = names(&["a", "b", "c", "d", "e"]);
        let mut printed = Vec::new();
        let result = run(for_each(
            "start",
            &all,
            true,
            2,
            |name| async move {
                match name.as_str() {
                    "b" | "d" => Err(anyhow::anyhow!("boom")),
                    _ => Ok(name),
                }
            },
            |reports: &[String], all| {
                assert!(all);
                printed = reports.to_vec();
                Ok(())
            },
        ));
        assert_eq!(printed, names(&["a", "c", "e"]));
        let err = result.unwrap_err();
        assert_eq!(
            err.to_string(),
            "start failed for 2 of 5 instances: `b`, `d`"
        );
        assert_eq!(crate::exit_code(&err), crate::error::exit::FAILURE);
    }

    #[test]
    fn instances_run_at_once_up_to_the_bound_and_reports_keep_their_order() {
        let all = names(&["a", "b", "c", "d", "e", "f"]);
        let (now, peak) = (Cell::new(0), Cell::new(0));
        let mut printed = Vec::new();
        run(for_each(
            "stop",
            &all,
            true,
            3,
            |name| {
                let (now, peak) = (&now, &peak);
                async move {
                    now.set(now.get() + 1);
                    peak.set(peak.get().max(now.get()));
                    // The later names finish first.
                    let wait = 60 - 10 * (name.as_bytes()[0] - b'a') as u64;
                    tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
                    now.set(now.get() - 1);
                    Ok(name)
                }
            },
            |reports: &[String], _| {
                printed = reports.to_vec();
                Ok(())
            },
        ))
        .unwrap();
        assert_eq!(peak.get(), 3);
        assert_eq!(printed, all);
    }

    #[test]
    fn one_named_instance_fails_with_its_own_error() {
        let err = run(for_each(
            "stop",
            &names(&["a"]),
            false,
            4,
            |_| async { Err::<(), _>(anyhow::anyhow!("the engine said no")) },
            |_, _| Ok(()),
        ))
        .unwrap_err();
        assert_eq!(err.to_string(), "the engine said no");
    }

    #[test]
    fn no_failure_no_error() {
        assert!(partial("start", 3, Vec::new()).is_none());
        assert_eq!(
            partial("down", 3, names(&["x"])).unwrap().to_string(),
            "down failed for 1 of 3 instances: `x`"
        );
    }
}
