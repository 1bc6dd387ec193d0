//! Bringing a project up: images present (`images`), networks and volumes
//! created (`networks`, `volumes`), all three at once; then the plan
//! (`plan`) carried out as a dependency graph (`graph`, `nodes`): every
//! container created ahead, each started as soon as its own dependencies
//! meet their conditions (`conditions`, awaited from the engine's events),
//! at most `Engine::bound` at a time (`converge` makes the calls). A
//! failure stops its dependants, not the rest. What a failed start had
//! created is rolled back when the engine refused something.

use std::collections::HashMap;
use std::time::Duration;

use bollard::query_parameters::RemoveContainerOptionsBuilder;

use super::{ContainerInfo, Engine, labels};
use crate::compose::{Condition, Project};
use crate::error::Error;

/// What `up` reports as it goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Pulling(String),
    /// Bytes of an image pulled so far, summed over its layers.
    PullProgress {
        image: String,
        current: u64,
        total: u64,
    },
    Pulled(String),
    /// An image is being built from a service's `build:`.
    Building(String),
    /// A line of the builder's output.
    BuildOutput {
        image: String,
        line: String,
    },
    Built(String),
    NetworkCreated(String),
    VolumeCreated(String),
    Waiting {
        service: String,
        on: String,
        condition: Condition,
    },
    Created(String),
    Recreated(String),
    Started(String),
    Running(String),
    /// Limits changed in place (no recreate).
    Updated(String),
    Orphan(String),
    /// A container removed because its service runs fewer now (scaled down).
    Removed(String),
    /// A container connected again to a network it had lost.
    Reconnected {
        container: String,
        network: String,
    },
    /// A container recreated because it drifted (`why` says how).
    Repaired {
        container: String,
        why: String,
    },
}

/// Options of `up`.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// How long to wait for each depends_on condition.
    pub timeout: Duration,
    /// The stack directory's identity and the instance, for mrctl's labels.
    pub identity: crate::identity::Identity,
    pub instance: String,
    /// The env files the compose command `mrctl info` prints passes
    /// (`--env-file`), for compose's label of them.
    pub env_files: Vec<std::path::PathBuf>,
    /// Build the images of services with `build:` even when they exist.
    pub build: bool,
}

impl Engine {
    /// Brings the project to its desired state. `owned` is the project's
    /// inventory as the caller just took it (it needed it to check ports),
    /// so nothing is listed twice; a network or volume of the project that
    /// exists but is not in it belongs to someone else, and is refused.
    pub async fn up(
        &self,
        project: &Project,
        owned: &super::Owned,
        opts: &UpOptions,
        on: &(dyn Fn(Event) + Sync),
    ) -> Result<(), Error> {
        // What cannot be provided is refused before anything is created.
        super::translate_more::api_gate(project, &self.api_version)
            .and_then(|()| super::secrets::check_attachments(project, &self.api_version))
            .map_err(|message| Error::Compose {
                path: project.config_files.first().cloned().unwrap_or_default(),
                position: None,
                message,
            })?;
        // What compose's model accepts but no engine can run, before
        // anything is touched (compose fails at the container's create).
        for svc in project.services.values() {
            if let Some(condition) = svc.deploy.restart.as_ref().and_then(|r| r.unknown()) {
                return Err(Error::ServiceFailed {
                    service: svc.name.clone(),
                    instance: opts.instance.clone(),
                    what: format!(
                        "cannot run: `deploy.restart_policy.condition` is `{condition}`, not `none`, `on-failure`, `any` or `unless-stopped`"
                    ),
                    state: "not created".into(),
                    logs: String::new(),
                });
            }
        }
        let existing = owned.containers.as_slice();
        let plan = super::plan::plan(project, existing);
        for orphan in &plan.orphans {
            if let super::plan::Action::ReportOrphan { container } = orphan {
                on(Event::Orphan(container.clone()));
            }
        }
        let resources_before = owned.resources.as_slice();
        let result = async {
            // Ahead and at once: images, networks, volumes.
            let (images, networks, volumes) = tokio::join!(
                self.ensure_images(project, opts.build, on),
                self.ensure_networks(project, owned, opts, on),
                self.ensure_volumes(project, owned, opts, on),
            );
            images.and(networks).and(volumes)?;
            // Containers past a service's count go first, one by one in the
            // plan's order (the highest number first), as compose scales
            // down; the rest run as a graph.
            let (surplus, rest): (Vec<_>, Vec<_>) = plan
                .waves
                .iter()
                .flatten()
                .partition(|s| matches!(s.action, super::plan::Action::RemoveSurplus { .. }));
            for step in surplus {
                self.remove_surplus(project, step, on).await?;
            }
            let work = super::nodes::UpWork {
                engine: self,
                project,
                steps: rest,
                opts,
                on,
                watch: super::watch::Watcher::new(self, &project.name),
                looks: Default::default(),
                inspected: Default::default(),
            };
            let graph = super::nodes::graph(project, &work.steps);
            let outcome = super::graph::execute(&graph, &work, &self.bound).await;
            for (node, dep) in &outcome.skipped {
                tracing::info!(service = %graph.nodes[*node], "not started: `{dep}` failed");
            }
            let mut errors = outcome.errors.into_iter();
            match errors.next() {
                Some(first) => {
                    for other in errors {
                        tracing::warn!("also failed: {other}");
                    }
                    Err(first)
                }
                None => Ok(()),
            }
        }
        .await;
        match result {
            // The engine refused something: undo what this call created, by
            // label, so a failed start leaves what was there before.
            Err(Error::Docker { action, reason }) => {
                let undone = self
                    .roll_back(&project.name, &opts.identity, existing, resources_before)
                    .await;
                Err(Error::Docker {
                    action,
                    reason: format!("{reason}; rolled back what this start had created ({undone})"),
                })
            }
            Err(Error::Foreign {
                resource,
                project: p,
                instance,
                owner,
                hint,
            }) => {
                let undone = self
                    .roll_back(&project.name, &opts.identity, existing, resources_before)
                    .await;
                Err(Error::Foreign {
                    resource,
                    project: p,
                    instance,
                    owner,
                    hint: format!("{hint} (rolled back what this start had created: {undone})"),
                })
            }
            other => other,
        }
    }

    /// Removes the project's containers, networks and volumes that are not
    /// in the `before` lists and carry this stack directory's identity (this
    /// start made them). Returns what it removed, for the message.
    async fn roll_back(
        &self,
        project: &str,
        identity: &crate::identity::Identity,
        before: &[ContainerInfo],
        resources_before: &[super::Resource],
    ) -> String {
        let own =
            |l: &HashMap<String, String>| identity.classify(l) == crate::identity::Ownership::Own;
        let mut removed = Vec::new();
        if let Ok(now) = self.project_containers(project).await {
            for c in now
                .iter()
                .filter(|c| own(&c.labels) && !before.iter().any(|b| b.id == c.id))
            {
                let rm = RemoveContainerOptionsBuilder::new()
                    .force(true)
                    .v(true)
                    .build();
                if self
                    .patient(Duration::ZERO)
                    .remove_container(&c.id, Some(rm))
                    .await
                    .is_ok()
                {
                    removed.push(format!("container `{}`", c.name));
                }
            }
        }
        if let Ok(now) = self.labelled_resources(labels::PROJECT, project).await {
            for r in now
                .iter()
                .filter(|r| own(&r.labels) && !resources_before.iter().any(|b| b.id == r.id))
            {
                let ok = if r.kind == "network" {
                    self.docker.remove_network(&r.id).await.is_ok()
                } else {
                    self.docker
                        .remove_volume(
                            &r.id,
                            None::<bollard::query_parameters::RemoveVolumeOptions>,
                        )
                        .await
                        .is_ok()
                };
                if ok {
                    removed.push(format!("{} `{}`", r.kind, r.name));
                }
            }
        }
        if removed.is_empty() {
            "nothing".to_string()
        } else {
            removed.join(", ")
        }
    }
}
