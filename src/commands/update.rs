//! `mrctl update NAME --tier T | --memory M | --cpus C | --pids N`: change
//! the registry, re-render the override, and change running containers'
//! limits in place through the engine's update call, without recreating them.

use super::{Ctx, instance_lock, instance_project, lookup, registry_file};
use crate::cli::UpdateArgs;
use crate::engine::Engine;
use crate::error::Error;
use crate::registry::Limits;

pub fn run(ctx: &Ctx, args: &UpdateArgs) -> anyhow::Result<()> {
    crate::names::validate_instance_name(&args.name)?;
    let stack = ctx.stack()?;
    let name = args.name.as_str();
    let limits = super::parse_limits(&args.limits)?;
    if args.tier.is_none() && limits.is_empty() && !args.clear_limits {
        return Err(Error::InvalidArgument {
            option: "update".into(),
            reason:
                "say what to change: `--tier`, `--memory`, `--cpus`, `--pids` or `--clear-limits`"
                    .into(),
        }
        .into());
    }
    if let Some(t) = &args.tier {
        stack.tier(t)?;
    }
    let services = crate::compose::service_names(&stack.compose_paths())?;
    let _instance = instance_lock(&stack, name)?;
    let identity = super::identity(&stack)?;
    let rt = super::runtime()?;
    // Nothing is written while the instance's project holds resources that
    // are not this stack directory's (an engine that does not answer is
    // checked at the next start instead).
    {
        let registry = registry_file(&stack).load()?;
        let project = lookup(&stack, &registry, name)?.project.clone();
        rt.block_on(async {
            match Engine::connect().await {
                Ok(engine) => engine.owned(&project, name, &identity).await.map(drop),
                Err(_) => Ok(()),
            }
        })?;
    }
    let inst = {
        let mut locked = registry_file(&stack).lock()?;
        lookup(&stack, &locked.registry, name)?;
        let inst = locked.registry.instances.get_mut(name).expect("looked up");
        if let Some(t) = &args.tier {
            inst.tier = Some(t.clone());
        }
        if args.clear_limits {
            inst.limits = Limits::default();
        }
        inst.limits.memory = limits.memory.or(inst.limits.memory.take());
        inst.limits.cpus = limits.cpus.or(inst.limits.cpus);
        inst.limits.pids = limits.pids.or(inst.limits.pids);
        let inst = inst.clone();
        locked.commit()?;
        crate::render::rerender(&stack, name, &inst, services)?;
        inst
    };
    let p = &ctx.printer;
    let project = instance_project(&stack, name, &inst)?;
    let in_force = super::instance_limits(&stack, &inst);
    let outcome = rt.block_on(async {
        let engine = Engine::connect().await?;
        let owned = engine.owned(&project.name, name, &identity).await?;
        engine.update_limits(&project, &owned).await
    });
    let (updated, recreate) = match outcome {
        Ok(r) => r,
        Err(e @ Error::DockerUnavailable { .. }) => {
            p.warn(format!(
                "{e}; the new limits apply at the next `mrctl start {name}`"
            ));
            (Vec::new(), Vec::new())
        }
        Err(e) => return Err(e.into()),
    };
    if p.json {
        return p.json(&serde_json::json!({
            "name": name,
            "tier": inst.tier,
            "limits": in_force,
            "updated": updated,
            "recreate_on_start": recreate,
        }));
    }
    p.success(format!(
        "updated instance `{name}`: {}",
        super::describe_limits(&in_force)
    ));
    for c in &updated {
        p.message(format!("  container `{c}`: limits changed in place"));
    }
    for c in &recreate {
        p.message(format!(
            "  container `{c}`: a lifted limit applies when `mrctl start {name}` recreates it"
        ));
    }
    Ok(())
}
