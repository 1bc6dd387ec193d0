//! `mrctl render NAME`: re-render an instance's env file and override. The
//! env file belongs to the operator: values they changed or added are kept
//! (three-way merge against the last render) and the previous file is kept
//! as `.env.bak`.

use super::Ctx;
use crate::commands::view::rel;
use crate::ops::instance::{lookup, registry_file};
use crate::render::{self, Rerendered};

pub fn run(ctx: &Ctx, name: &str) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    let services = crate::compose::service_names(&stack.compose_paths())?;
    // Hold the registry lock so a concurrent clean cannot remove the files underneath.
    let locked = registry_file(&stack).lock()?;
    let inst = lookup(&stack, &locked.registry, name)?.clone();
    let out = render::rerender(&stack, name, &inst, services)?;
    drop(locked);
    report(ctx, &stack, name, &out)
}

/// Prints what a re-render did.
pub fn report(
    ctx: &Ctx,
    stack: &crate::stack::Stack,
    name: &str,
    out: &Rerendered,
) -> anyhow::Result<()> {
    let p = &ctx.printer;
    if let Some(backup) = &out.env_backup {
        p.message(format!(
            "kept the previous env file as {}",
            rel(stack, backup)
        ));
    }
    for key in &out.kept_changed {
        p.message(format!("kept your value of `{key}`"));
    }
    for key in &out.kept_added {
        p.message(format!("kept `{key}`, which you added"));
    }
    if p.json {
        return p.json(&serde_json::json!({
            "name": name,
            "env_changed": out.env_changed,
            "override_changed": out.override_changed,
            "kept_changed": out.kept_changed,
            "kept_added": out.kept_added,
        }));
    }
    if out.env_changed || out.override_changed {
        p.success(format!("re-rendered instance `{name}`"));
    } else {
        p.success(format!("instance `{name}` is up to date: nothing changed"));
    }
    Ok(())
}
