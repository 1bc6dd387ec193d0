//! `mrctl list`: every instance of the stack from the registry, with its
//! live state from one Docker list call for the whole stack. When Docker
//! cannot be reached the registry is still listed and the state is unknown.

use serde::Serialize;

use super::{Ctx, InstanceView, ports_inline, registry_file};
use crate::engine::{ContainerInfo, Engine};

/// The live state of one instance.
#[derive(Debug, Clone, Serialize)]
pub struct State {
    /// `running`, `partial`, `stopped`, `not created`, or `unknown`.
    pub status: &'static str,
    pub running: usize,
    pub total: usize,
}

#[derive(Serialize)]
struct Row {
    #[serde(flatten)]
    instance: InstanceView,
    state: State,
}

#[derive(Serialize)]
struct ListJson {
    stack: String,
    instances: Vec<Row>,
}

fn state_of(containers: &[&ContainerInfo], services: usize) -> State {
    let running = containers.iter().filter(|c| c.state == "running").count();
    let total = services.max(containers.len());
    let status = if containers.is_empty() {
        "not created"
    } else if running == 0 {
        "stopped"
    } else if running >= total {
        "running"
    } else {
        "partial"
    };
    State {
        status,
        running,
        total,
    }
}

pub fn run(ctx: &Ctx) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    let registry = registry_file(&stack).load()?;
    let names = registry.names_sorted();
    let p = &ctx.printer;
    if names.is_empty() && !p.json {
        p.message(format!(
            "stack `{}` has no instances yet: `mrctl create NAME` makes one",
            stack.name()
        ));
        return Ok(());
    }
    // One list call for the whole stack, not one per instance.
    let live: Option<Vec<ContainerInfo>> = if names.is_empty() {
        Some(Vec::new())
    } else {
        let rt = super::runtime()?;
        match rt.block_on(async {
            let engine = Engine::connect().await?;
            super::stack_containers(&engine, &stack, &registry).await
        }) {
            Ok(list) => Some(list),
            Err(e) => {
                p.warn(format!("{e}; instance state is unknown"));
                None
            }
        }
    };
    // Services per instance, from the base files (parsed once for the stack).
    let services = crate::compose::service_names(&stack.compose_paths())
        .map(|s| s.len())
        .unwrap_or(0);
    let rows: Vec<Row> = names
        .iter()
        .map(|n| {
            let inst = &registry.instances[*n];
            let state = match &live {
                Some(all) => {
                    let mine: Vec<&ContainerInfo> =
                        all.iter().filter(|c| c.project == inst.project).collect();
                    state_of(&mine, services)
                }
                None => State {
                    status: "unknown",
                    running: 0,
                    total: services,
                },
            };
            Row {
                instance: InstanceView::new(&stack, n, inst),
                state,
            }
        })
        .collect();
    if p.json {
        return p.json(&ListJson {
            stack: stack.name().to_string(),
            instances: rows,
        });
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let i = &r.instance;
            let state = match r.state.status {
                "running" | "partial" => {
                    format!("{} {}/{}", r.state.status, r.state.running, r.state.total)
                }
                other => other.to_string(),
            };
            vec![
                i.name.clone(),
                state,
                i.index.to_string(),
                i.domain.clone(),
                i.project.clone(),
                ports_inline(&i.ports),
                i.tier.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    p.table(
        &[
            "NAME", "STATE", "INDEX", "DOMAIN", "PROJECT", "PORTS", "TIER",
        ],
        &table,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(state: &str) -> ContainerInfo {
        ContainerInfo {
            id: "x".into(),
            name: "x".into(),
            project: "p".into(),
            service: "s".into(),
            instance: None,
            stack: None,
            state: state.into(),
            health: None,
            status: String::new(),
            image: String::new(),
            config_hash: None,
            ports: Vec::new(),
            labels: Default::default(),
        }
    }

    #[test]
    fn states() {
        let (r, e) = (c("running"), c("exited"));
        assert_eq!(state_of(&[], 3).status, "not created");
        assert_eq!(state_of(&[&e, &e], 2).status, "stopped");
        assert_eq!(state_of(&[&r, &e], 2).status, "partial");
        assert_eq!(state_of(&[&r, &r], 3).status, "partial");
        assert_eq!(state_of(&[&r, &r, &r], 3).status, "running");
    }
}
