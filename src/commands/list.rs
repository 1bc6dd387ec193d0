//! `mrctl list`: every instance of the stack from the registry, with its
//! live state from one Docker list call for the whole stack. When Docker
//! cannot be reached the registry is still listed and the state is unknown.

use std::collections::HashMap;

use serde::Serialize;

use super::Ctx;
use crate::commands::view::{InstanceView, ports_inline};
use crate::engine::{ContainerInfo, is_one_shot, ready_count};
use crate::ops::instance::{instance_project, registry_file};

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

/// The state of an instance from its listed containers; `services` are its
/// services as (name, one-shot). Ready services are counted by the rule
/// `health` uses, so `partial 4/5` here is `health`'s verdict too.
fn state_of(containers: &[&ContainerInfo], services: &[(String, bool)]) -> State {
    let total = services.len();
    let any_running = containers.iter().any(|c| c.state == "running");
    let (status, running) = if containers.is_empty() {
        ("not created", 0)
    } else if !any_running {
        ("stopped", 0)
    } else {
        let ready = ready_count(services, containers);
        (if ready >= total { "running" } else { "partial" }, ready)
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
    // One list call for the whole stack, not one per instance. Containers
    // are matched by their compose project, so ones docker compose made
    // from the rendered files count too.
    let live: Option<Vec<ContainerInfo>> = if names.is_empty() {
        Some(Vec::new())
    } else {
        match ctx.block_on(async {
            let engine = ctx.engine().await?;
            crate::ops::instance::stack_containers(engine, &stack, &registry).await
        }) {
            Ok(list) => Some(list),
            Err(e) => {
                p.warn(format!("{e}; instance state is unknown"));
                None
            }
        }
    };
    // Services per instance, from the base files (parsed once for the stack).
    let services: Vec<(String, bool)> = crate::compose::service_names(&stack.compose_paths())
        .unwrap_or_default()
        .into_iter()
        .map(|s| (s, false))
        .collect();
    // The stack's containers by project, grouped once: a scan per instance
    // would cost instances × containers.
    let by_project: Option<HashMap<&str, Vec<&ContainerInfo>>> = live.as_ref().map(|all| {
        let mut map: HashMap<&str, Vec<&ContainerInfo>> = HashMap::new();
        for c in all {
            map.entry(c.project.as_str()).or_default().push(c);
        }
        map
    });
    let rows: Vec<Row> = names
        .iter()
        .map(|n| {
            let inst = &registry.instances[*n];
            let state = match &by_project {
                Some(by_project) => {
                    let mine: &[&ContainerInfo] = by_project
                        .get(inst.project.as_str())
                        .map_or(&[], Vec::as_slice);
                    // Whether an exited service counts depends on whether it
                    // is a one-shot, and a service without a container may
                    // run none (`scale: 0`): only then is the instance's
                    // project read.
                    let mixed = mine.iter().any(|c| c.state == "running")
                        && mine.iter().any(|c| c.state != "running");
                    let missing = services
                        .iter()
                        .any(|(s, _)| !mine.iter().any(|c| &c.service == s));
                    let kinds = (mixed || (missing && !mine.is_empty()))
                        .then(|| instance_project(&stack, n, inst).ok())
                        .flatten()
                        .map(|project| {
                            project
                                .services
                                .values()
                                .filter(|s| s.replicas > 0)
                                .map(|s| (s.name.clone(), is_one_shot(&project, s)))
                                .collect::<Vec<_>>()
                        });
                    state_of(mine, kinds.as_deref().unwrap_or(&services))
                }
                None => State {
                    status: "unknown",
                    running: 0,
                    total: services.len(),
                },
            };
            Row {
                instance: InstanceView::new(&stack, n, inst),
                state,
            }
        })
        .collect();
    if p.json {
        let doc = ListJson {
            stack: stack.name().to_string(),
            instances: rows,
        };
        let printed = p.json(&doc);
        // The process exits next: freeing 100,000 rows and registry entries
        // one by one would be a tenth of the command's time.
        std::mem::forget(doc);
        std::mem::forget(registry);
        return printed;
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

    fn c(service: &str, state: &str) -> ContainerInfo {
        ContainerInfo {
            id: "x".into(),
            name: "x".into(),
            project: "p".into(),
            service: service.into(),
            instance: None,
            stack: None,
            state: state.into(),
            health: None,
            status: if state == "exited" {
                "Exited (0) 1 second ago".into()
            } else {
                "Up 1 second".into()
            },
            image: String::new(),
            config_hash: None,
            ports: Vec::new(),
            labels: Default::default(),
        }
    }

    fn services(names: &[&str]) -> Vec<(String, bool)> {
        names.iter().map(|n| (n.to_string(), false)).collect()
    }

    #[test]
    fn states() {
        let (a, b, c3) = (c("a", "running"), c("b", "running"), c("c", "running"));
        let (ea, eb) = (c("a", "exited"), c("b", "exited"));
        let two = services(&["a", "b"]);
        let three = services(&["a", "b", "c"]);
        assert_eq!(state_of(&[], &three).status, "not created");
        assert_eq!(state_of(&[&ea, &eb], &two).status, "stopped");
        assert_eq!(state_of(&[&a, &eb], &two).status, "partial");
        assert_eq!(state_of(&[&a, &b], &three).status, "partial");
        assert_eq!(state_of(&[&a, &b, &c3], &three).status, "running");
    }

    #[test]
    fn a_one_shot_that_exited_0_counts_as_health_counts_it() {
        let (a, eb) = (c("a", "running"), c("b", "exited"));
        let one_shot_b = vec![("a".to_string(), false), ("b".to_string(), true)];
        let s = state_of(&[&a, &eb], &one_shot_b);
        assert_eq!((s.status, s.running, s.total), ("running", 2, 2));
        // A long-running service that exited 0 is not running.
        let s = state_of(&[&a, &eb], &services(&["a", "b"]));
        assert_eq!((s.status, s.running, s.total), ("partial", 1, 2));
    }
}
