//! `mrctl list`: every instance of the stack from the registry.

use serde::Serialize;

use super::{Ctx, InstanceView, ports_inline, registry_file};

#[derive(Serialize)]
struct ListJson {
    stack: String,
    instances: Vec<InstanceView>,
}

pub fn run(ctx: &Ctx) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    let registry = registry_file(&stack).load()?;
    let names = registry.names_sorted();
    let p = &ctx.printer;
    if p.json {
        let instances = names
            .iter()
            .map(|n| InstanceView::new(&stack, n, &registry.instances[*n]))
            .collect();
        return p.json(&ListJson {
            stack: stack.name().to_string(),
            instances,
        });
    }
    if names.is_empty() {
        p.message(format!(
            "stack `{}` has no instances yet: `mrctl create NAME` makes one",
            stack.name()
        ));
        return Ok(());
    }
    let rows: Vec<Vec<String>> = names
        .iter()
        .map(|n| {
            let i = &registry.instances[*n];
            vec![
                n.to_string(),
                i.index.to_string(),
                i.domain.clone(),
                i.project.clone(),
                ports_inline(&i.ports),
                i.tier.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    p.table(
        &["NAME", "INDEX", "DOMAIN", "PROJECT", "PORTS", "TIER"],
        &rows,
    )
}
