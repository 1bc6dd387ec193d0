//! The real work of `graph`'s nodes in `up`: the plan's steps on the
//! engine. Ahead, a container to create is created (not started; one that
//! takes another container's namespace, volumes or links is created at its
//! turn, when that container is final) and a
//! container whose hash matches is inspected; at its turn, the first is
//! started, the second gets what its inspection called for, and a
//! container to make again is stopped, removed, created and started: a
//! recreate replaces the old container only at its turn, so a dependant
//! still running keeps its dependency until that dependency's own
//! dependencies are ready, as docker compose does.

use std::collections::HashMap;
use std::sync::Mutex;

use super::graph::{Graph, Work};
use super::plan::{Action, Step};
use super::up::{Event, UpOptions};
use super::watch::Watcher;
use super::{Engine, translate_more};
use crate::compose::{self, Condition, Project};
use crate::error::Error;

/// The graph of `steps` (the plan's steps but the removals of surplus
/// containers): one node per step, and each service's dependencies.
pub(super) fn graph(project: &Project, steps: &[&Step<'_>]) -> Graph {
    let mut g = Graph::default();
    for step in steps {
        g.nodes.push(step.service.to_string());
    }
    for svc in project.services.values() {
        let deps = svc
            .depends_on
            .iter()
            .filter(|(d, _)| project.services.contains_key(*d))
            .map(|(d, c)| (d.clone(), *c))
            .collect();
        g.depends_on.insert(svc.name.clone(), deps);
    }
    g
}

/// Whether a container of `svc` is created at its turn rather than ahead:
/// it takes another service's container at its create (network namespace,
/// volumes, links), which may itself be made again before then.
fn created_at_its_turn(svc: &crate::compose::Service) -> bool {
    !translate_more::held_services(&svc.settings).is_empty() || !svc.settings.links.is_empty()
}

/// The steps of one `up` on the engine.
pub(super) struct UpWork<'a> {
    pub engine: &'a Engine,
    pub project: &'a Project,
    pub steps: Vec<&'a Step<'a>>,
    pub opts: &'a UpOptions,
    pub on: &'a (dyn Fn(Event) + Sync),
    pub watch: Watcher,
    /// What this `up` looks up once (network ids, image ids).
    pub looks: super::converge::Looks,
    /// What each inspected step's inspection called for, by node.
    pub inspected: Mutex<HashMap<usize, Vec<Action>>>,
}

impl UpWork<'_> {
    fn name(&self, step: &Step<'_>) -> String {
        let svc = &self.project.services[step.service];
        compose::replica_name(&self.project.name, svc, step.number)
    }
}

impl Work for UpWork<'_> {
    type Error = Error;

    async fn ahead(&self, node: usize) -> Result<(), Error> {
        let step = self.steps[node];
        let svc = &self.project.services[step.service];
        match &step.action {
            Action::Create { .. } if !created_at_its_turn(svc) => {
                let name = self.name(step);
                let image_id = self.looks.image_id(self.engine, &svc.image).await;
                self.engine
                    .create(self.project, svc, (&name, step.number), image_id, self.opts)
                    .await
            }
            Action::Inspect { .. } => {
                let actions = self
                    .engine
                    .inspected(self.project, step, &self.looks)
                    .await?;
                self.inspected.lock().unwrap().insert(node, actions);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    async fn wait(&self, service: &str, dep: &str, condition: Condition) -> Result<(), Error> {
        (self.on)(Event::Waiting {
            service: service.to_string(),
            on: dep.to_string(),
            condition,
        });
        let dep = &self.project.services[dep];
        self.engine
            .await_condition(self.project, dep, condition, self.opts, &self.watch)
            .await
    }

    async fn run(&self, node: usize) -> Result<(), Error> {
        let step = self.steps[node];
        let svc = &self.project.services[step.service];
        let actions = match &step.action {
            Action::Create { .. } if !created_at_its_turn(svc) => {
                let name = self.name(step);
                self.engine
                    .start(self.project, svc, &name, self.opts)
                    .await?;
                (self.on)(Event::Created(name));
                return Ok(());
            }
            Action::Inspect { .. } => self
                .inspected
                .lock()
                .unwrap()
                .remove(&node)
                .unwrap_or_default(),
            other => vec![other.clone()],
        };
        for action in actions {
            self.engine
                .apply(
                    self.project,
                    step,
                    action,
                    (self.opts, &self.looks),
                    self.on,
                )
                .await?;
        }
        Ok(())
    }
}
