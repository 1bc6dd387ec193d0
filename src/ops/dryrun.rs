//! `--dry-run`: what `start`, `up`, `stop`, `down` and `clean` would do to
//! an instance, as numbered actions in execution order, each with its
//! reason and the earlier actions it waits on. Only reads: the registry is
//! loaded without its lock, the identity is read as recorded (never
//! written), no instance lock is taken, nothing is rendered or created, and
//! the engine is only listed and inspected.

use serde::Serialize;

use super::instance::{instance_project_with, lookup, read_identity, registry_file};
use crate::datadir::{self, Marker};
use crate::engine::dryrun::Planned;
use crate::engine::{Engine, StopService};
use crate::error::Error;
use crate::stack::Stack;

/// One action of a dry run, numbered from 1 within its instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DryAction {
    pub instance: String,
    pub order: usize,
    pub action: String,
    pub target: String,
    pub reason: String,
    /// The orders of the earlier actions this one waits on.
    pub after: Vec<usize>,
}

/// Numbers an instance's planned actions and turns the targets each waits
/// on into their orders (a target no earlier action has is dropped: it is
/// there already).
pub fn number(instance: &str, planned: Vec<Planned>) -> Vec<DryAction> {
    let mut out: Vec<DryAction> = Vec::with_capacity(planned.len());
    for (i, p) in planned.into_iter().enumerate() {
        let mut after: Vec<usize> = p
            .after
            .iter()
            .filter_map(|t| out.iter().rev().find(|a| &a.target == t).map(|a| a.order))
            .collect();
        after.sort_unstable();
        after.dedup();
        out.push(DryAction {
            instance: instance.to_string(),
            order: i + 1,
            action: p.action.to_string(),
            target: p.target,
            reason: p.reason,
            after,
        });
    }
    out
}

/// What `start NAME` would do.
pub async fn start(
    stack: &Stack,
    engine: &Engine,
    name: &str,
    profiles: &[String],
    build: bool,
) -> Result<Vec<DryAction>, Error> {
    let registry = registry_file(stack).load()?;
    let inst = lookup(stack, &registry, name)?;
    let project = instance_project_with(stack, name, inst, profiles)?;
    let identity = read_identity(stack, &registry);
    let owned = engine.owned(&project.name, name, &identity).await?;
    let mut planned = Vec::new();
    if !inst.data_dir.exists() {
        planned.push(Planned::new(
            "create-dir",
            inst.data_dir.display().to_string(),
            "the instance's data directory is missing",
        ));
    }
    planned.extend(engine.up_preview(&project, &owned, build).await?);
    Ok(number(name, planned))
}

/// What `up NAME` would do for an instance that does not exist: create
/// it (allocating its index and ports, rendering its files, making its
/// data directory), then make every container, network and volume.
pub fn up_missing(name: &str) -> Vec<DryAction> {
    number(
        name,
        vec![
            Planned::new(
                "create-instance",
                name,
                "it is not registered: its index and ports are allocated, its files rendered, its data directory made",
            ),
            Planned {
                after: vec![name.to_string()],
                ..Planned::new(
                    "start",
                    name,
                    "every container, network and volume of the new instance is created",
                )
            },
        ],
    )
}

/// What `stop NAME` (or, with `down`, `down NAME`) would do.
pub async fn stop(
    stack: &Stack,
    engine: &Engine,
    name: &str,
    down: bool,
) -> Result<Vec<DryAction>, Error> {
    let registry = registry_file(stack).load()?;
    let inst = lookup(stack, &registry, name)?.clone();
    let (order, hooks) = super::stop::stop_order(stack, name, &inst, &super::Quiet);
    let owned = engine
        .owned(&inst.project, name, &read_identity(stack, &registry))
        .await?;
    let mut planned = stop_steps(&owned, &order, &hooks);
    if down {
        planned.extend(down_steps(&owned, &planned));
    }
    Ok(number(name, planned))
}

/// The stops as `stop` does them: the containers of no known service
/// first, then each service once every service depending on it has stopped
/// (the dependency graph in reverse), listed by depth, each naming the
/// stops it comes after.
pub(crate) fn stop_steps(
    owned: &crate::engine::Owned,
    order: &[StopService],
    hooks: &super::stop::StopHooks,
) -> Vec<Planned> {
    let running = |c: &&crate::engine::ContainerInfo| {
        matches!(c.state.as_str(), "running" | "restarting" | "paused")
    };
    let known: Vec<&str> = order.iter().map(|s| s.service.as_str()).collect();
    let of = |svc: &str| -> Vec<&crate::engine::ContainerInfo> {
        owned
            .containers
            .iter()
            .filter(running)
            .filter(|c| c.service == svc)
            .collect()
    };
    let unknown: Vec<&crate::engine::ContainerInfo> = owned
        .containers
        .iter()
        .filter(running)
        .filter(|c| !known.contains(&c.service.as_str()))
        .collect();
    let mut out = Vec::new();
    for c in &unknown {
        out.push(Planned::new(
            "stop",
            &c.name,
            "running, of no service of the compose files; grace period 10s".to_string(),
        ));
    }
    // Depth in the reversed graph: 0 for a service nothing depends on.
    let dependants = |svc: &str| -> Vec<&StopService> {
        order
            .iter()
            .filter(|o| o.depends_on.iter().any(|d| d == svc))
            .collect()
    };
    let mut depth: std::collections::HashMap<&str, usize> = Default::default();
    fn depth_of<'a>(
        svc: &'a str,
        dependants: &dyn Fn(&str) -> Vec<&'a StopService>,
        depth: &mut std::collections::HashMap<&'a str, usize>,
        seen: usize,
    ) -> usize {
        if let Some(d) = depth.get(svc) {
            return *d;
        }
        // A cycle cannot load; the bound only guards against one.
        let d = if seen > 1_000 {
            0
        } else {
            dependants(svc)
                .iter()
                .map(|o| 1 + depth_of(&o.service, dependants, depth, seen + 1))
                .max()
                .unwrap_or(0)
        };
        depth.insert(svc, d);
        d
    }
    let mut services: Vec<&StopService> = order.iter().collect();
    for s in &services {
        depth_of(&s.service, &dependants, &mut depth, 0);
    }
    services.sort_by_key(|s| (depth[s.service.as_str()], s.service.clone()));
    for svc in services {
        let mut after: Vec<String> = unknown.iter().map(|c| c.name.clone()).collect();
        for d in dependants(&svc.service) {
            after.extend(of(&d.service).iter().map(|c| c.name.clone()));
        }
        for c in of(&svc.service) {
            let mut reason = format!("running; grace period {}s", svc.grace);
            if c.state == "running" && hooks.get(&c.service).is_some_and(|l| !l.is_empty()) {
                reason.push_str("; its `pre_stop` hooks run first");
            }
            out.push(Planned {
                after: after.clone(),
                ..Planned::new("stop", &c.name, reason)
            });
        }
    }
    out
}

/// What `down` removes after the stops: every container, then the networks.
fn down_steps(owned: &crate::engine::Owned, stops: &[Planned]) -> Vec<Planned> {
    let mut out = Vec::new();
    for c in &owned.containers {
        let stopped = stops.iter().any(|s| s.target == c.name);
        out.push(Planned {
            after: if stopped {
                vec![c.name.clone()]
            } else {
                Vec::new()
            },
            ..Planned::new(
                "remove",
                &c.name,
                "`down` removes the instance's containers",
            )
        });
    }
    let containers: Vec<String> = owned.containers.iter().map(|c| c.name.clone()).collect();
    for r in owned.resources.iter().filter(|r| r.kind == "network") {
        out.push(Planned {
            after: containers.clone(),
            ..Planned::new(
                "remove-network",
                &r.name,
                "`down` removes the instance's networks (its volumes stay)",
            )
        });
    }
    out
}

/// What `clean NAME` would remove, refusing as `clean` would (a directory
/// mrctl did not make, a resource of the project someone else owns).
pub async fn clean(
    stack: &Stack,
    engine: &Engine,
    name: &str,
    keep_data: bool,
) -> Result<Vec<DryAction>, Error> {
    crate::names::validate_instance_name(name)?;
    let registry = registry_file(stack).load()?;
    let identity = read_identity(stack, &registry);
    let inst = registry.instances.get(name);
    let marker = |kind: &str| Marker::new(stack.name(), Some(&identity.id), name, kind);
    let files_dir = stack.instance_dir(name);
    let data_dir = inst
        .map(|i| i.data_dir.clone())
        .unwrap_or_else(|| stack.data_root.join(name));
    let files = datadir::check_removable(&files_dir, &stack.instances_dir, &marker("files"))?;
    let data = !keep_data
        && datadir::check_removable(&data_dir, &stack.data_root, &marker("data")).map_err(|e| {
            Error::CleanRefused {
                instance: name.to_string(),
                source: Box::new(e),
            }
        })?;
    let project = match inst {
        Some(i) => i.project.clone(),
        None => crate::naming::project_name(
            stack,
            name,
            crate::names::numeric_index(name).unwrap_or(0),
        )?,
    };
    let owned = engine.owned(&project, name, &identity).await?;
    let helpers = engine.helpers(&identity, Some(name)).await?;
    let mut planned = Vec::new();
    for (_, helper, _) in &helpers {
        planned.push(Planned::new(
            "remove",
            helper,
            "a helper container an interrupted backup or restore left",
        ));
    }
    let mut docker = Vec::new();
    for c in &owned.containers {
        planned.push(Planned::new(
            "remove",
            &c.name,
            "a container of the instance (stopped and removed)",
        ));
        docker.push(c.name.clone());
    }
    for r in &owned.resources {
        if r.kind == "volume" && keep_data {
            continue;
        }
        planned.push(Planned {
            after: docker.clone(),
            ..Planned::new(
                if r.kind == "network" {
                    "remove-network"
                } else {
                    "remove-volume"
                },
                &r.name,
                format!("a {} of the instance", r.kind),
            )
        });
    }
    let docker: Vec<String> = planned.iter().map(|p| p.target.clone()).collect();
    if files {
        planned.push(Planned {
            after: docker.clone(),
            ..Planned::new(
                "remove-files",
                files_dir.display().to_string(),
                "the instance's rendered files and secrets",
            )
        });
    }
    if data {
        planned.push(Planned {
            after: docker.clone(),
            ..Planned::new(
                "remove-data",
                data_dir.display().to_string(),
                "the instance's data directory",
            )
        });
    }
    if let Some(i) = inst {
        let ports: Vec<String> = i.ports.values().map(u16::to_string).collect();
        let reason = if ports.is_empty() {
            "the registry entry goes last".to_string()
        } else {
            format!(
                "the registry entry goes last, freeing ports {}",
                ports.join(", ")
            )
        };
        planned.push(Planned {
            after: planned.iter().map(|p| p.target.clone()).collect(),
            ..Planned::new("unregister", name, reason)
        });
    }
    if planned.is_empty() {
        return Err(Error::UnknownInstance {
            name: name.to_string(),
            stack: stack.name().to_string(),
            hint: None,
        });
    }
    Ok(number(name, planned))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(action: &'static str, target: &str, after: &[&str]) -> Planned {
        Planned {
            after: after.iter().map(|s| s.to_string()).collect(),
            ..Planned::new(action, target, "why")
        }
    }

    #[test]
    fn actions_are_numbered_and_wait_on_earlier_orders() {
        let actions = number(
            "a",
            vec![
                p("pull", "img", &[]),
                p("create-network", "net", &[]),
                p("create", "db-1", &["img", "net"]),
                p("create", "web-1", &["img", "net", "db-1", "there-already"]),
            ],
        );
        let shape: Vec<(usize, &str, Vec<usize>)> = actions
            .iter()
            .map(|a| (a.order, a.target.as_str(), a.after.clone()))
            .collect();
        assert_eq!(
            shape,
            vec![
                (1, "img", vec![]),
                (2, "net", vec![]),
                (3, "db-1", vec![1, 2]),
                (4, "web-1", vec![1, 2, 3]),
            ]
        );
        assert!(actions.iter().all(|a| a.instance == "a"));
    }

    #[test]
    fn up_of_a_missing_instance_creates_it_first() {
        let actions = up_missing("new");
        assert_eq!(actions[0].action, "create-instance");
        assert_eq!(actions[1].action, "start");
        assert_eq!(actions[1].after, vec![1]);
    }

    #[test]
    fn the_json_shape() {
        let json = serde_json::to_value(&up_missing("x")[1]).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            ["instance", "order", "action", "target", "reason", "after"]
        );
    }
}
