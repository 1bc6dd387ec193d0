//! The project's networks: each created once, labelled as the instance's,
//! a same-named network of someone else's refused, the unused twins a
//! killed start can leave removed, external networks checked to exist.

use std::collections::HashMap;

use bollard::query_parameters::ListNetworksOptionsBuilder;

use super::up::{Event, UpOptions};
use super::{Engine, labels};
use crate::compose::Project;
use crate::error::Error;

impl Engine {
    /// Networks named exactly `name` (the filter matches substrings), as
    /// (id, labels), oldest first.
    async fn networks_named(
        &self,
        name: &str,
    ) -> Result<Vec<(String, HashMap<String, String>)>, Error> {
        let mut filters = HashMap::new();
        filters.insert("name".to_string(), vec![name.to_string()]);
        let options = ListNetworksOptionsBuilder::new().filters(&filters).build();
        let list = self
            .docker
            .list_networks(Some(options))
            .await
            .map_err(|e| self.error("list networks", &e))?;
        let mut found: Vec<_> = list
            .into_iter()
            .filter(|n| n.name.as_deref() == Some(name))
            .map(|n| {
                (
                    n.created.map(|c| c.to_string()).unwrap_or_default(),
                    n.id.unwrap_or_default(),
                    n.labels.unwrap_or_default(),
                )
            })
            .collect();
        found.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        Ok(found.into_iter().map(|(_, id, l)| (id, l)).collect())
    }

    /// Ids of the networks the project's containers (running or not) are attached to.
    async fn referenced_networks(&self, project: &str) -> Vec<String> {
        let mut ids = Vec::new();
        for c in self.project_containers(project).await.unwrap_or_default() {
            if let Ok(i) = self.docker.inspect_container(&c.id, None).await {
                for n in i
                    .network_settings
                    .and_then(|s| s.networks)
                    .unwrap_or_default()
                    .into_values()
                {
                    ids.extend(n.network_id);
                }
            }
        }
        ids
    }

    /// Removes this stack directory's networks of the project named `name`
    /// that none of its containers is attached to, keeping the attached ones
    /// (or, if none is, the oldest). Returns what is left, oldest first.
    async fn dedupe_network(
        &self,
        name: &str,
        project: &str,
        identity: &crate::identity::Identity,
    ) -> Vec<(String, HashMap<String, String>)> {
        let Ok(found) = self.networks_named(name).await else {
            return Vec::new();
        };
        if found.len() < 2 {
            return found;
        }
        let referenced = self.referenced_networks(project).await;
        let mut used: Vec<String> = found
            .iter()
            .map(|(id, _)| id.clone())
            .filter(|id| referenced.contains(id))
            .collect();
        if used.is_empty() {
            used.push(found[0].0.clone());
        }
        let mut left = Vec::new();
        for (id, l) in found {
            let removable = l.get(labels::PROJECT).map(String::as_str) == Some(project)
                && identity.classify(&l) == crate::identity::Ownership::Own;
            if used.contains(&id) || !removable {
                left.push((id, l));
            } else {
                tracing::info!(network = %name, %id, "removing a duplicate network");
                if self.docker.remove_network(&id).await.is_err() {
                    left.push((id, l));
                }
            }
        }
        left
    }

    pub(super) async fn dedupe_networks(&self, project: &Project, opts: &UpOptions) {
        for net in project.networks.values().filter(|n| !n.external) {
            self.dedupe_network(&net.name, &project.name, &opts.identity)
                .await;
        }
    }

    /// Makes sure every network of the project exists exactly once and
    /// Docker allows two networks of one name: a `start` killed while the
    /// engine was still creating its network can leave a second one behind,
    /// even after this check, which makes the name ambiguous. The project's
    /// unused twins are removed here, and again whenever a create or start
    /// meets "is ambiguous". A network of the name that is not this stack
    /// directory's (and not declared external) is refused, naming its owner.
    pub(super) async fn ensure_networks(
        &self,
        project: &Project,
        owned: &super::Owned,
        opts: &UpOptions,
        on: &(dyn Fn(Event) + Sync),
    ) -> Result<(), Error> {
        for (key, net) in &project.networks {
            let mut found = self.networks_named(&net.name).await?;
            if !net.external {
                let mine = |id: &str, l: &HashMap<String, String>| {
                    owned.resources.iter().any(|r| r.id == id)
                        || opts.identity.classify(l) == crate::identity::Ownership::Own
                };
                if let Some((_, l)) = found.iter().find(|(id, l)| !mine(id, l)) {
                    return Err(Error::Foreign {
                        resource: format!("network `{}`", net.name),
                        project: project.name.clone(),
                        instance: opts.instance.clone(),
                        owner: crate::identity::owner_of(l),
                        hint: format!(
                            "remove it if it is not wanted (`docker network rm {}`), mark the network `external: true` in the compose file to share it, or give this instance another project name",
                            net.name
                        ),
                    });
                }
            }
            if found.is_empty() {
                if net.external {
                    return Err(Error::Docker {
                        action: format!("use external network `{}`", net.name),
                        reason: format!(
                            "it does not exist; create it with `docker network create {}`",
                            net.name
                        ),
                    });
                }
                let request = super::translate::network_request(project, key, net, opts);
                let created = self
                    .docker
                    .create_network(request)
                    .await
                    .map_err(|e| self.error(&format!("create network `{}`", net.name), &e))?;
                on(Event::NetworkCreated(net.name.clone()));
                tracing::debug!(network = %net.name, id = %created.id, "network created");
            } else if found.len() > 1 && !net.external {
                found = self
                    .dedupe_network(&net.name, &project.name, &opts.identity)
                    .await;
                tracing::debug!(network = %net.name, left = found.len(), "duplicates removed");
            }
        }
        Ok(())
    }

    /// Network name → ids of every network the engine has (one call).
    /// Two networks may share a name.
    pub(crate) async fn network_ids(&self) -> Result<HashMap<String, Vec<String>>, Error> {
        let list = self
            .docker
            .list_networks(None::<bollard::query_parameters::ListNetworksOptions>)
            .await
            .map_err(|e| self.error("list networks", &e))?;
        let mut ids: HashMap<String, Vec<String>> = HashMap::new();
        for n in list {
            if let (Some(name), Some(id)) = (n.name, n.id) {
                ids.entry(name).or_default().push(id);
            }
        }
        Ok(ids)
    }

    /// The external networks of `project` that do not exist, by name.
    pub async fn missing_external_networks(&self, project: &Project) -> Result<Vec<String>, Error> {
        let external: Vec<&String> = project
            .networks
            .values()
            .filter(|n| n.external)
            .map(|n| &n.name)
            .collect();
        if external.is_empty() {
            return Ok(Vec::new());
        }
        let ids = self.network_ids().await?;
        Ok(external
            .into_iter()
            .filter(|n| !ids.contains_key(*n))
            .cloned()
            .collect())
    }

    /// Fails, naming the network and the command that creates it, when an
    /// external network of `project` does not exist. `start` asks before it
    /// touches anything.
    pub async fn check_external_networks(
        &self,
        project: &Project,
        instance: &str,
    ) -> Result<(), Error> {
        match self
            .missing_external_networks(project)
            .await?
            .into_iter()
            .next()
        {
            Some(network) => Err(Error::NetworkMissing {
                network,
                instance: instance.to_string(),
            }),
            None => Ok(()),
        }
    }
}
