//! `mrctl status NAME|--all`: each service's containers (one row per
//! container number, a missing one as `not created`), state, health,
//! published ports and image, read live from Docker.

use serde::Serialize;

use super::Ctx;
use crate::cli::TargetArgs;
use crate::commands::args::targets;
use crate::engine::ContainerInfo;
use crate::ops::instance::{instance_project, registry_file};

#[derive(Serialize)]
struct Row {
    instance: String,
    service: String,
    container: Option<String>,
    state: String,
    health: Option<String>,
    ports: Vec<String>,
    image: Option<String>,
    status: Option<String>,
    /// Limits the container runs with (memory bytes, nano-CPUs, pids).
    limits: Option<crate::compose::Limits>,
}

fn port_text(c: &ContainerInfo) -> Vec<String> {
    c.ports
        .iter()
        .map(|p| {
            let ip = p.host_ip.as_deref().unwrap_or("0.0.0.0");
            format!("{ip}:{}->{}/{}", p.host_port, p.container_port, p.protocol)
        })
        .collect()
}

pub fn run(ctx: &Ctx, target: &TargetArgs) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    let registry = registry_file(&stack).load()?;
    let names = targets(&stack, &registry, target)?;
    let rows = ctx.block_on(async {
        let engine = ctx.engine().await?;
        // One list call for the whole stack.
        let all = crate::ops::instance::stack_containers(engine, &stack, &registry).await?;
        let mut rows = Vec::new();
        for name in &names {
            let inst = &registry.instances[name];
            let containers: Vec<&ContainerInfo> =
                all.iter().filter(|c| c.project == inst.project).collect();
            let project = match instance_project(&stack, name, inst) {
                Ok(p) => Some(p),
                Err(e) => {
                    ctx.printer.warn(format!("instance `{name}`: {e}"));
                    None
                }
            };
            let services: Vec<String> = project
                .iter()
                .flat_map(|p| p.services.keys().cloned())
                .collect();
            // One slot per container the service runs, by number, and
            // any container past that count (not yet removed).
            let mut slots: Vec<(&str, Option<&ContainerInfo>)> = Vec::new();
            for svc in project.iter().flat_map(|p| p.services.values()) {
                let mine: Vec<&ContainerInfo> = containers
                    .iter()
                    .filter(|c| c.service == svc.name)
                    .copied()
                    .collect();
                let mut numbers: Vec<u32> = (1..=svc.replicas).collect();
                numbers.extend(mine.iter().map(|c| c.number()));
                numbers.sort_unstable();
                numbers.dedup();
                for n in numbers {
                    let found: Vec<_> = mine.iter().filter(|c| c.number() == n).collect();
                    if found.is_empty() {
                        slots.push((&svc.name, None));
                    }
                    slots.extend(found.into_iter().map(|c| (svc.name.as_str(), Some(*c))));
                }
            }
            for (svc, c) in slots {
                let limits = match c {
                    Some(c) => Some(engine.limits_of(&c.id).await?),
                    None => None,
                };
                rows.push(Row {
                    limits,
                    instance: name.clone(),
                    service: svc.to_string(),
                    container: c.map(|c| c.name.clone()),
                    state: c
                        .map(|c| c.state.clone())
                        .unwrap_or_else(|| "not created".into()),
                    health: c.and_then(|c| c.health.clone()),
                    ports: c.map(port_text).unwrap_or_default(),
                    image: c.map(|c| c.image.clone()),
                    status: c.map(|c| c.status.clone()),
                });
            }
            for c in containers.iter().filter(|c| !services.contains(&c.service)) {
                rows.push(Row {
                    instance: name.clone(),
                    service: c.service.clone(),
                    container: Some(c.name.clone()),
                    state: format!("{} (orphan)", c.state),
                    health: c.health.clone(),
                    ports: port_text(c),
                    image: Some(c.image.clone()),
                    status: Some(c.status.clone()),
                    limits: None,
                });
            }
        }
        anyhow::Ok(rows)
    })?;
    let p = &ctx.printer;
    if p.json {
        return p.json(&rows);
    }
    let many = names.len() > 1;
    let mut header = vec![
        "SERVICE",
        "CONTAINER",
        "STATE",
        "HEALTH",
        "PORTS",
        "LIMITS",
        "IMAGE",
    ];
    if many {
        header.insert(0, "INSTANCE");
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut row = vec![
                r.service.clone(),
                r.container.clone().unwrap_or_else(|| "-".into()),
                r.state.clone(),
                r.health.clone().unwrap_or_else(|| "-".into()),
                if r.ports.is_empty() {
                    "-".into()
                } else {
                    r.ports.join(", ")
                },
                r.limits
                    .as_ref()
                    .map(crate::limits::describe)
                    .unwrap_or_else(|| "-".into()),
                r.image.clone().unwrap_or_else(|| "-".into()),
            ];
            if many {
                row.insert(0, r.instance.clone());
            }
            row
        })
        .collect();
    p.table(&header, &table)
}
