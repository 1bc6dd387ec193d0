//! Changing an instance's tier or limits: running containers' limits change
//! in place through the engine's update call, without recreating them, then
//! the registry and the rendered files. Limits the engine refuses (more CPUs
//! than it has, a container's update refused) change nothing: containers
//! already updated get their old limits back and the registry is not
//! written.

use serde::Serialize;

use super::instance::{
    identity, instance_limits, instance_lock, instance_project, lookup, registry_file,
};
use super::{Engines, Progress, Sink};
use crate::error::Error;
use crate::limits::Limits;
use crate::registry::Instance;
use crate::stack::Stack;

/// What to change.
#[derive(Debug, Clone)]
pub struct UpdateSpec {
    pub name: String,
    pub tier: Option<String>,
    /// Drop the instance's own limits before applying `limits`.
    pub clear_limits: bool,
    pub limits: Limits,
}

/// The limits in force now, and what changed.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateReport {
    pub name: String,
    pub tier: Option<String>,
    pub limits: crate::compose::Limits,
    /// Containers whose limits changed in place.
    pub updated: Vec<String>,
    /// Containers that keep a lifted limit until the next start recreates them.
    pub recreate_on_start: Vec<String>,
}

/// Applies `spec` to the instance's containers, then to its registry entry.
pub async fn update<E: Engines>(
    stack: &Stack,
    engines: &E,
    spec: &UpdateSpec,
    sink: &dyn Sink,
) -> Result<UpdateReport, Error> {
    let name = spec.name.as_str();
    crate::names::validate_instance_name(name)?;
    if let Some(t) = &spec.tier {
        stack.tier(t)?;
    }
    let services = crate::compose::service_names(&stack.compose_paths())?;
    // The instance lock keeps every other writer of this entry out, so the
    // entry can be worked out on a copy and written only once the engine
    // has taken the new limits: a refused update changes nothing.
    let _instance = instance_lock(stack, name)?;
    let identity = identity(stack)?;
    let mut inst = lookup(stack, &registry_file(stack).load()?, name)?.clone();
    apply(&mut inst, spec);
    let project = instance_project(stack, name, &inst)?;
    let in_force = instance_limits(stack, &inst);
    let outcome = async {
        let engine = engines.engine().await?;
        // Only this stack directory's containers; anything else with the
        // project's label refuses the update before anything is written.
        let owned = engine.owned(&project.name, name, &identity).await?;
        engine.check_limits(name, &in_force).await?;
        engine.update_limits(&project, &owned).await
    }
    .await;
    let (updated, recreate) = match outcome {
        Ok(r) => r,
        Err(e @ Error::DockerUnavailable { .. }) => {
            sink.send(Progress::Warning(format!(
                "{e}; the new limits apply at the next `mrctl start {name}`"
            )));
            (Vec::new(), Vec::new())
        }
        Err(e) => return Err(e),
    };
    let inst = {
        let mut locked = registry_file(stack).lock()?;
        lookup(stack, &locked.registry, name)?;
        let entry = locked.registry.instances.get_mut(name).expect("looked up");
        apply(entry, spec);
        let inst = entry.clone();
        locked.commit()?;
        crate::render::rerender(stack, name, &inst, services)?;
        inst
    };
    Ok(UpdateReport {
        name: name.to_string(),
        tier: inst.tier,
        limits: in_force,
        updated,
        recreate_on_start: recreate,
    })
}

/// Applies the requested tier and limits to an instance's entry.
fn apply(inst: &mut Instance, spec: &UpdateSpec) {
    if let Some(t) = &spec.tier {
        inst.tier = Some(t.clone());
    }
    if spec.clear_limits {
        inst.limits = Limits::default();
    }
    inst.limits.memory = spec.limits.memory.clone().or(inst.limits.memory.take());
    inst.limits.cpus = spec.limits.cpus.or(inst.limits.cpus);
    inst.limits.pids = spec.limits.pids.or(inst.limits.pids);
}
