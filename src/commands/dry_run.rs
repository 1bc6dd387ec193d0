//! `--dry-run` of `start`, `up`, `stop`, `down` and `clean`: prints what the
//! command would do (see `ops::dryrun`), one line per action in order with
//! its reason and the actions it waits on, or with `--json` one array of
//! every action; changes nothing.

use super::Ctx;
use crate::cli::{CleanArgs, StartOpts, TargetArgs, UpArgs};
use crate::commands::args::targets;
use crate::ops::dryrun::{self, DryAction};
use crate::ops::instance::registry_file;

pub fn start(ctx: &Ctx, target: &TargetArgs, opts: &StartOpts) -> anyhow::Result<()> {
    crate::commands::args::parse_timeout(&opts.timeout)?;
    let stack = ctx.stack()?;
    let (names, actions) = plans(ctx, &stack, target, async |engine, name| {
        dryrun::start(&stack, engine, name, &opts.profiles, opts.build).await
    })?;
    print(ctx, "start", &names, &actions)
}

pub fn up(ctx: &Ctx, args: &UpArgs) -> anyhow::Result<()> {
    let Some(name) = args.name.as_deref().filter(|_| !args.all) else {
        let target = TargetArgs {
            name: None,
            all: true,
        };
        return start(ctx, &target, &args.opts);
    };
    crate::names::validate_instance_name(name)?;
    let stack = ctx.stack()?;
    let registry = registry_file(&stack).load()?;
    if registry.instances.contains_key(name) {
        let target = TargetArgs {
            name: Some(name.to_string()),
            all: false,
        };
        return start(ctx, &target, &args.opts);
    }
    // What create would be given is checked as create checks it.
    super::create::spec_from_args(&stack, &super::start::create_args(args))?;
    print(ctx, "up", &[name.to_string()], &dryrun::up_missing(name))
}

pub fn stop(ctx: &Ctx, target: &TargetArgs, down: bool) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    let (names, actions) = plans(ctx, &stack, target, async |engine, name| {
        dryrun::stop(&stack, engine, name, down).await
    })?;
    print(ctx, if down { "down" } else { "stop" }, &names, &actions)
}

pub fn clean(ctx: &Ctx, args: &CleanArgs) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    let actions = ctx.block_on(async {
        dryrun::clean(&stack, ctx.engine().await?, &args.name, args.keep_data).await
    })?;
    print(ctx, "clean", std::slice::from_ref(&args.name), &actions)
}

/// The target instances and the plan of each, one after the other.
fn plans(
    ctx: &Ctx,
    stack: &crate::stack::Stack,
    target: &TargetArgs,
    plan: impl AsyncFn(&crate::engine::Engine, &str) -> Result<Vec<DryAction>, crate::error::Error>,
) -> anyhow::Result<(Vec<String>, Vec<DryAction>)> {
    let registry = registry_file(stack).load()?;
    let names = targets(stack, &registry, target)?;
    let actions = ctx.block_on(async {
        let engine = ctx.engine().await?;
        let mut all = Vec::new();
        for name in &names {
            all.extend(plan(engine, name).await?);
        }
        anyhow::Ok(all)
    })?;
    Ok((names, actions))
}

/// The actions on stdout: as JSON, or as text per instance.
fn print(ctx: &Ctx, verb: &str, names: &[String], actions: &[DryAction]) -> anyhow::Result<()> {
    if ctx.printer.json {
        return ctx.printer.json(&actions);
    }
    ctx.printer.out(&text(verb, names, actions))
}

/// The text of a dry run: for each instance a heading, then one line per
/// action: its order, action, target, reason and what it waits on.
pub fn text(verb: &str, names: &[String], actions: &[DryAction]) -> String {
    let mut out = String::new();
    for name in names {
        let mine: Vec<&DryAction> = actions.iter().filter(|a| &a.instance == name).collect();
        out.push_str(&format!("{verb} `{name}` would:\n"));
        if mine.is_empty() {
            out.push_str("  nothing to do\n");
            continue;
        }
        let width = mine.iter().map(|a| a.action.len()).max().unwrap_or(0);
        for a in mine {
            let after = if a.after.is_empty() {
                String::new()
            } else {
                let list: Vec<String> = a.after.iter().map(usize::to_string).collect();
                format!(" (after {})", list.join(", "))
            };
            out.push_str(&format!(
                "  {:>2}. {:width$}  {}: {}{after}\n",
                a.order, a.action, a.target, a.reason
            ));
        }
    }
    crate::mask::mask(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(order: usize, action: &str, target: &str, after: Vec<usize>) -> DryAction {
        DryAction {
            instance: "a".into(),
            order,
            action: action.into(),
            target: target.into(),
            reason: "why".into(),
            after,
        }
    }

    #[test]
    fn one_line_per_action_in_order() {
        let actions = vec![
            action(1, "create-network", "p_default", vec![]),
            action(2, "create", "p-db-1", vec![1]),
            action(3, "keep", "p-web-1", vec![]),
        ];
        assert_eq!(
            text("start", &["a".into(), "b".into()], &actions),
            "start `a` would:\n\
             \x20  1. create-network  p_default: why\n\
             \x20  2. create          p-db-1: why (after 1)\n\
             \x20  3. keep            p-web-1: why\n\
             start `b` would:\n\
             \x20 nothing to do\n"
        );
    }
}
