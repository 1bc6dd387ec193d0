//! `mrctl project-name NAME`: the compose project of an instance. For an
//! instance not created yet it prints the name `create` would give it, so
//! scripts can use it before the instance exists.

use super::Ctx;
use crate::names;
use crate::ops::instance::registry_file;

pub fn run(ctx: &Ctx, name: &str) -> anyhow::Result<()> {
    names::validate_instance_name(name)?;
    let stack = ctx.stack()?;
    let (registry, _) = registry_file(&stack).load_one(name)?;
    let project = match registry.instances.get(name) {
        Some(inst) => inst.project.clone(),
        None => crate::naming::project_name(&stack, name, names::numeric_index(name).unwrap_or(0))?,
    };
    let p = &ctx.printer;
    if p.json {
        return p.json(&serde_json::json!({ "name": name, "project": project }));
    }
    p.line(project)
}
