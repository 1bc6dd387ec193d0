//! Stopping in reverse dependency order, and removing everything a project
//! label marks: containers, networks, volumes.

use std::collections::HashMap;
use std::time::Duration;

use bollard::query_parameters::{
    ListNetworksOptionsBuilder, ListVolumesOptionsBuilder, RemoveContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};
use futures_util::future::join_all;

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

impl Engine {
    /// Stops the project's running containers: `order` lists groups of
    /// (service, grace seconds), to be stopped group after group, each group
    /// in parallel. Containers of services not in `order` go first.
    /// Returns the names of the containers stopped.
    /// Only the containers of `owned` (this stack directory's) are touched.
    pub async fn stop(
        &self,
        owned: &super::Owned,
        order: &[Vec<(String, i64)>],
        on: &(dyn Fn(&str) + Sync),
    ) -> Result<Vec<String>, Error> {
        self.stop_with_hooks(owned, order, &HashMap::new(), on)
            .await
    }

    /// `stop`, running each service's `pre_stop` hooks (by service name) in
    /// its running container first; a failing hook aborts the stop.
    pub async fn stop_with_hooks(
        &self,
        owned: &super::Owned,
        order: &[Vec<(String, i64)>],
        hooks: &HashMap<String, Vec<crate::compose::Hook>>,
        on: &(dyn Fn(&str) + Sync),
    ) -> Result<Vec<String>, Error> {
        let running: Vec<&ContainerInfo> = owned
            .containers
            .iter()
            .filter(|c| matches!(c.state.as_str(), "running" | "restarting" | "paused"))
            .collect();
        let known: Vec<&str> = order.iter().flatten().map(|(s, _)| s.as_str()).collect();
        let mut groups: Vec<Vec<(&ContainerInfo, i64)>> = vec![
            running
                .iter()
                .filter(|c| !known.contains(&c.service.as_str()))
                .map(|c| (*c, 10))
                .collect(),
        ];
        for group in order {
            groups.push(
                group
                    .iter()
                    .flat_map(|(svc, grace)| {
                        running
                            .iter()
                            .filter(move |c| &c.service == svc)
                            .map(move |c| (*c, *grace))
                    })
                    .collect(),
            );
        }
        let mut stopped = Vec::new();
        for group in groups {
            let results = join_all(group.iter().map(|(c, grace)| async move {
                if c.state == "running"
                    && let Some(list) = hooks.get(&c.service).filter(|l| !l.is_empty())
                {
                    let instance = c.instance.clone().unwrap_or_default();
                    self.pre_stop(&c.service, &instance, &c.name, list, *grace)
                        .await?;
                }
                let options = StopContainerOptionsBuilder::new().t(*grace as i32).build();
                let client = self.patient(Duration::from_secs((*grace).max(0) as u64));
                match client.stop_container(&c.id, Some(options)).await {
                    Ok(()) => Ok(c.name.clone()),
                    Err(e) if is_not_found(&e) => Ok(c.name.clone()),
                    Err(e) => Err(self.error(&format!("stop container `{}`", c.name), &e)),
                }
            }))
            .await;
            for r in results {
                let name = r?;
                on(&name);
                stopped.push(name);
            }
        }
        Ok(stopped)
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
        for r in &owned.resources {
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
                _ => continue,
            };
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
