//! `mrctl info NAME`: everything about one instance, and the docker compose
//! command that sees the same stack.

use serde::Serialize;

use super::Ctx;
use crate::commands::view::{InstanceView, compose_command, ports_inline, rel};

#[derive(Serialize)]
struct InfoJson {
    stack: String,
    #[serde(flatten)]
    instance: InstanceView,
    compose_files: Vec<std::path::PathBuf>,
    compose_command: String,
}

pub fn run(ctx: &Ctx, name: &str) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    let inst = &crate::ops::instance::load_instance(&stack, name)?;
    let view = InstanceView::new(&stack, name, inst);
    let command = compose_command(&stack, name, inst);
    let p = &ctx.printer;
    if p.json {
        return p.json(&InfoJson {
            stack: stack.name().to_string(),
            instance: view,
            compose_files: stack.compose_paths(),
            compose_command: command,
        });
    }
    let limits = {
        let l = crate::limits::in_force(&stack.config.tiers, inst.tier.as_deref(), &inst.limits);
        let mut parts = Vec::new();
        if let Some(m) = l.memory {
            parts.push(format!("memory {m}"));
        }
        if let Some(c) = l.cpus {
            parts.push(format!("cpus {c}"));
        }
        if let Some(pids) = l.pids {
            parts.push(format!("pids {pids}"));
        }
        if parts.is_empty() {
            "none".to_string()
        } else {
            parts.join(", ")
        }
    };
    let rows = [
        ("name", name.to_string()),
        ("stack", stack.name().to_string()),
        ("project", inst.project.clone()),
        ("index", inst.index.to_string()),
        ("domain", inst.domain.clone()),
        ("ports", ports_inline(&inst.ports)),
        ("tier", inst.tier.clone().unwrap_or_else(|| "-".into())),
        ("limits", limits),
        ("data dir", inst.data_dir.display().to_string()),
        ("env file", rel(&stack, &view.env_file)),
        ("override", rel(&stack, &view.override_file)),
        ("created", inst.created_at.clone()),
        ("compose", command),
    ];
    let mut out = String::new();
    for (k, v) in rows {
        out.push_str(&format!("{:<10}{v}\n", format!("{k}:")));
    }
    p.out(&out)
}
