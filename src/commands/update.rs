//! `mrctl update NAME --tier T | --memory M | --cpus C | --pids N`: change
//! running containers' limits in place through the engine's update call,
//! without recreating them, then the registry and the rendered files. Limits
//! the engine refuses (more CPUs than it has, a container's update refused)
//! change nothing: containers already updated get their old limits back and
//! the registry is not written.

use super::{Ctx, instance_lock, instance_project, lookup, registry_file};
use crate::cli::UpdateArgs;
use crate::engine::Engine;
use crate::error::Error;
use crate::limits::Limits;

pub fn run(ctx: &Ctx, args: &UpdateArgs) -> anyhow::Result<()> {
    crate::names::validate_instance_name(&args.name)?;
    let stack = ctx.stack()?;
    let name = args.name.as_str();
    let limits = Limits::from_flags(&args.limits)?;
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
    // The instance lock keeps every other writer of this entry out, so the
    // entry can be worked out on a copy and written only once the engine
    // has taken the new limits: a refused update changes nothing.
    let _instance = instance_lock(&stack, name)?;
    let identity = super::identity(&stack)?;
    let rt = super::runtime()?;
    let mut inst = lookup(&stack, &registry_file(&stack).load()?, name)?.clone();
    apply(&mut inst, args, &limits);
    let p = &ctx.printer;
    let project = instance_project(&stack, name, &inst)?;
    let in_force = crate::limits::in_force(&stack.config.tiers, inst.tier.as_deref(), &inst.limits)
        .to_engine();
    let outcome = rt.block_on(async {
        let engine = Engine::connect().await?;
        // Only this stack directory's containers; anything else with the
        // project's label refuses the update before anything is written.
        let owned = engine.owned(&project.name, name, &identity).await?;
        engine.check_limits(name, &in_force).await?;
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
    let inst = {
        let mut locked = registry_file(&stack).lock()?;
        lookup(&stack, &locked.registry, name)?;
        let entry = locked.registry.instances.get_mut(name).expect("looked up");
        apply(entry, args, &limits);
        let inst = entry.clone();
        locked.commit()?;
        crate::render::rerender(&stack, name, &inst, services)?;
        inst
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
        crate::limits::describe(&in_force)
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

/// Applies the requested tier and limits to an instance's entry.
fn apply(inst: &mut crate::registry::Instance, args: &UpdateArgs, limits: &Limits) {
    if let Some(t) = &args.tier {
        inst.tier = Some(t.clone());
    }
    if args.clear_limits {
        inst.limits = Limits::default();
    }
    inst.limits.memory = limits.memory.clone().or(inst.limits.memory.take());
    inst.limits.cpus = limits.cpus.or(inst.limits.cpus);
    inst.limits.pids = limits.pids.or(inst.limits.pids);
}
