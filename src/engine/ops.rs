//! Stopping by the dependency graph in reverse, and removing everything a
//! project label marks: containers in parallel (within the engine's
//! bound), then networks and volumes.

use std::collections::HashMap;
use std::time::Duration;

use bollard::query_parameters::{
    ListNetworksOptionsBuilder, ListVolumesOptionsBuilder, RemoveContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};
use futures_util::future::join_all;

use super::graph::Work;
use super::{ContainerInfo, Engine, is_not_found, labels};
use crate::error::Error;

/// A network or volume found by label.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Resource {
    pub kind: &'static str,
    pub id: String,
    pub name: String,
    pub project: String,
    pub instance: Option<String>,
    /// Every label, for ownership checks (not part of the JSON output).
    #[serde(skip)]
    pub labels: HashMap<String, String>,
}

/// What `remove_project` removed.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize)]
pub struct RemoveReport {
    pub containers: Vec<String>,
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
}

/// One service of a stop: its grace period (seconds) and the services it
/// depends on, which stop only after it.
#[derive(Debug, Clone, PartialEq)]
pub struct StopService {
    pub service: String,
    pub grace: i64,
    pub depends_on: Vec<String>,
}

impl Engine {
    /// Stops the project's running containers (only those of `owned`, this
    /// stack directory's) as a graph in reverse: a service's containers
    /// stop, each within its grace period and after its `pre_stop` hooks
    /// (by service name), once every service depending on it has stopped.
    /// Containers of services not in `order` go first. A failed stop (or
    /// hook) leaves the failed service's dependencies running, stops the
    /// rest, and is returned. Returns the names of the containers stopped.
    pub async fn stop_with_hooks(
        &self,
        owned: &super::Owned,
        order: &[StopService],
        hooks: &HashMap<String, Vec<crate::compose::Hook>>,
        on: &(dyn Fn(&str) + Sync),
    ) -> Result<Vec<String>, Error> {
        let running: Vec<&ContainerInfo> = owned
            .containers
            .iter()
            .filter(|c| matches!(c.state.as_str(), "running" | "restarting" | "paused"))
            .collect();
        let known = |c: &&&ContainerInfo| order.iter().any(|s| s.service == c.service);
        let (ours, strays): (Vec<&ContainerInfo>, Vec<&ContainerInfo>) =
            running.iter().partition(|c| known(c));
        let work = StopWork {
            engine: self,
            containers: strays,
            grace: HashMap::new(),
            hooks,
            on,
            stopped: Default::default(),
        };
        let strays = &work;
        join_all((0..strays.containers.len()).map(|i| async move {
            let _permit = self.permit().await;
            strays.run(i).await
        }))
        .await
        .into_iter()
        .collect::<Result<Vec<()>, Error>>()?;
        let mut graph = super::graph::Graph::default();
        for s in order {
            let dependants = order
                .iter()
                .filter(|d| d.depends_on.contains(&s.service))
                .map(|d| (d.service.clone(), crate::compose::Condition::ServiceStarted))
                .collect();
            graph.depends_on.insert(s.service.clone(), dependants);
        }
        graph.nodes = ours.iter().map(|c| c.service.clone()).collect();
        let work = StopWork {
            containers: ours,
            grace: order.iter().map(|s| (s.service.clone(), s.grace)).collect(),
            ..work
        };
        let outcome = super::graph::execute(&graph, &work, &self.bound).await;
        if let Some(e) = outcome.errors.into_iter().next() {
            return Err(e);
        }
        Ok(work.stopped.into_inner().unwrap())
    }

    /// Networks and volumes carrying `label=value` (any value when `value`
    /// is empty), each listed in one call.
    pub async fn labelled_resources(
        &self,
        label: &str,
        value: &str,
    ) -> Result<Vec<Resource>, Error> {
        let mut filters = HashMap::new();
        let filter = if value.is_empty() {
            label.to_string()
        } else {
            format!("{label}={value}")
        };
        filters.insert("label".to_string(), vec![filter]);
        let networks = self
            .docker
            .list_networks(Some(
                ListNetworksOptionsBuilder::new().filters(&filters).build(),
            ))
            .await
            .map_err(|e| self.error("list networks", &e))?;
        let volumes = self
            .docker
            .list_volumes(Some(
                ListVolumesOptionsBuilder::new().filters(&filters).build(),
            ))
            .await
            .map_err(|e| self.error("list volumes", &e))?;
        let mut out = Vec::new();
        for n in networks {
            let l = n.labels.unwrap_or_default();
            out.push(Resource {
                kind: "network",
                // Removal by id: Docker allows two networks with one name.
                id: n.id.unwrap_or_default(),
                name: n.name.unwrap_or_default(),
                project: l.get(labels::PROJECT).cloned().unwrap_or_default(),
                instance: l.get(labels::INSTANCE).cloned(),
                labels: l,
            });
        }
        for v in volumes.volumes.unwrap_or_default() {
            out.push(Resource {
                kind: "volume",
                id: v.name.clone(),
                project: v.labels.get(labels::PROJECT).cloned().unwrap_or_default(),
                instance: v.labels.get(labels::INSTANCE).cloned(),
                name: v.name,
                labels: v.labels,
            });
        }
        Ok(out)
    }

    /// Removes the containers, networks and (with `volumes`) volumes of
    /// `owned`, which holds only this stack directory's. Goes on past single
    /// failures and reports the first.
    pub async fn remove_owned(
        &self,
        owned: &super::Owned,
        volumes: bool,
    ) -> Result<RemoveReport, Error> {
        let mut report = RemoveReport::default();
        let mut first_error = None;
        let results = join_all(owned.containers.iter().map(|c| async move {
            let _permit = self.permit().await;
            let options = RemoveContainerOptionsBuilder::new()
                .force(true)
                .v(volumes)
                .build();
            match self
                .patient(Duration::ZERO)
                .remove_container(&c.id, Some(options))
                .await
            {
                Ok(()) => Ok(c.name.clone()),
                Err(e) if is_not_found(&e) => Ok(c.name.clone()),
                Err(e) => Err(self.error(&format!("remove container `{}`", c.name), &e)),
            }
        }))
        .await;
        for r in results {
            match r {
                Ok(n) => report.containers.push(n),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        // Networks and volumes together, once no container holds them.
        let results = join_all(owned.resources.iter().map(|r| async move {
            let _permit = self.permit().await;
            let result = match r.kind {
                "network" => self.docker.remove_network(&r.id).await,
                _ if volumes => {
                    self.docker
                        .remove_volume(
                            &r.id,
                            None::<bollard::query_parameters::RemoveVolumeOptions>,
                        )
                        .await
                }
                _ => return None,
            };
            Some((r, result))
        }))
        .await;
        for (r, result) in results.into_iter().flatten() {
            match result {
                Ok(()) if r.kind == "network" => report.networks.push(r.name.clone()),
                Ok(()) => report.volumes.push(r.name.clone()),
                Err(e) if is_not_found(&e) => {}
                Err(e) => {
                    first_error
                        .get_or_insert(self.error(&format!("remove {} `{}`", r.kind, r.name), &e));
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }
}

/// Stopping containers, as the graph's work (nothing ahead, nothing to
/// await: a dependency stops once its dependants have).
struct StopWork<'a> {
    engine: &'a Engine,
    containers: Vec<&'a ContainerInfo>,
    /// Each service's grace period in seconds (10 when not known).
    grace: HashMap<String, i64>,
    hooks: &'a HashMap<String, Vec<crate::compose::Hook>>,
    on: &'a (dyn Fn(&str) + Sync),
    stopped: std::sync::Mutex<Vec<String>>,
}

impl super::graph::Work for StopWork<'_> {
    type Error = Error;

    async fn ahead(&self, _: usize) -> Result<(), Error> {
        Ok(())
    }

    async fn wait(&self, _: &str, _: &str, _: crate::compose::Condition) -> Result<(), Error> {
        Ok(())
    }

    async fn run(&self, node: usize) -> Result<(), Error> {
        let c = self.containers[node];
        let grace = self.grace.get(&c.service).copied().unwrap_or(10);
        if c.state == "running"
            && let Some(list) = self.hooks.get(&c.service).filter(|l| !l.is_empty())
        {
            let instance = c.instance.clone().unwrap_or_default();
            self.engine
                .pre_stop(&c.service, &instance, &c.name, list, grace)
                .await?;
        }
        let options = StopContainerOptionsBuilder::new().t(grace as i32).build();
        let client = self
            .engine
            .patient(Duration::from_secs(grace.max(0) as u64));
        match client.stop_container(&c.id, Some(options)).await {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => {
                return Err(self
                    .engine
                    .error(&format!("stop container `{}`", c.name), &e));
            }
        }
        (self.on)(&c.name);
        self.stopped.lock().unwrap().push(c.name.clone());
        Ok(())
    }
}
