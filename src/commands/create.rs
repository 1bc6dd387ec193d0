//! `mrctl create NAME [DOMAIN]`: register an instance (see `lifecycle::create`).

use super::Ctx;
use super::lifecycle::create::{Spec, create};
use crate::cli::CreateArgs;
use crate::commands::view::{InstanceView, ports_inline, rel};

pub fn run(ctx: &Ctx, args: &CreateArgs) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    let spec = Spec::from_args(&stack, args)?;
    let seen = super::lifecycle::create::engine_precheck(ctx, &stack, &spec)?;
    let inst = create(&stack, &spec, seen.as_deref())?;
    let view = InstanceView::new(&stack, &spec.name, &inst);
    let p = &ctx.printer;
    if p.json {
        return p.json(&view);
    }
    p.success(format!(
        "created instance `{}` (project `{}`, domain `{}`)",
        spec.name, inst.project, inst.domain
    ));
    if !inst.ports.is_empty() {
        p.message(format!("  ports:    {}", ports_inline(&inst.ports)));
    }
    p.message(format!("  env file: {}", rel(&stack, &view.env_file)));
    p.message(format!("  data:     {}", view.data_dir.display()));
    Ok(())
}
