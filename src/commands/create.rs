//! `mrctl create NAME [DOMAIN]`: register an instance (see `ops::create`).

use indexmap::IndexMap;

use super::Ctx;
use crate::cli::CreateArgs;
use crate::commands::view::{InstanceView, ports_inline, rel};
use crate::error::Error;
use crate::names;
use crate::ops::create::{Spec, create, engine_precheck};
use crate::ports;
use crate::stack::Stack;

pub fn run(ctx: &Ctx, args: &CreateArgs) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    let spec = spec_from_args(&stack, args)?;
    let seen = ctx.block_on(async { engine_precheck(ctx.engine().await, &stack, &spec).await })?;
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

/// `create`'s arguments validated into what to create (`up` uses it too).
pub fn spec_from_args(stack: &Stack, args: &CreateArgs) -> Result<Spec, Error> {
    names::validate_instance_name(&args.name)?;
    let domain = args
        .domain
        .as_deref()
        .map(names::validate_domain)
        .transpose()?;
    let mut pinned = IndexMap::new();
    for spec in &args.ports {
        let (name, port) = ports::parse_pin(spec)?;
        if pinned.insert(name.clone(), port).is_some() {
            return Err(Error::InvalidPort {
                spec: spec.clone(),
                reason: format!("`{name}` is pinned twice"),
            });
        }
    }
    let tier = args
        .tier
        .clone()
        .or_else(|| stack.config.instances.default_tier.clone());
    if let Some(t) = &tier {
        stack.tier(t)?;
    }
    Ok(Spec {
        name: args.name.clone(),
        domain,
        index: args.index,
        pinned,
        tier,
        limits: crate::limits::Limits::from_flags(&args.limits)?,
    })
}
