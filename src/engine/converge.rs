//! The engine calls of each action of `plan` on one container, each
//! reported as an event; `graph` decides when each runs. Creating a
//! container copes with what a killed start can leave: a network made
//! twice, a container name taken.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::NetworkConnectRequest;
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder, StopContainerOptionsBuilder,
};

use super::limits::limit_change;
use super::plan::{self, Action, Reason, Step};
use super::up::{Event, UpOptions};
use super::{ContainerInfo, Engine, is_not_found, reason};

/// What one `up` looks up once and shares: the networks' ids by name (for
/// drift), each image's id (for the image label and its check).
#[derive(Default)]
pub(super) struct Looks {
    networks: tokio::sync::OnceCell<HashMap<String, Vec<String>>>,
    images:
        std::sync::Mutex<HashMap<String, std::sync::Arc<tokio::sync::OnceCell<Option<String>>>>>,
}

impl Looks {
    async fn network_ids(&self, engine: &Engine) -> Result<&HashMap<String, Vec<String>>, Error> {
        self.networks.get_or_try_init(|| engine.network_ids()).await
    }

    /// The id of `image` (none when it is missing), inspected once.
    pub(super) async fn image_id(&self, engine: &Engine, image: &str) -> Option<String> {
        let cell = self
            .images
            .lock()
            .unwrap()
            .entry(image.to_string())
            .or_default()
            .clone();
        cell.get_or_init(|| engine.image_id(image)).await.clone()
    }
}
use crate::compose::{self, Project, Service};
use crate::error::Error;

impl Engine {
    /// Removes a container past its service's count (scaled down).
    pub(super) async fn remove_surplus(
        &self,
        project: &Project,
        step: &Step<'_>,
        on: &(dyn Fn(Event) + Sync),
    ) -> Result<(), Error> {
        if let (Action::RemoveSurplus { container }, Some(c)) = (&step.action, step.current) {
            self.remove_to_recreate(&project.services[step.service], c)
                .await?;
            on(Event::Removed(container.clone()));
        }
        Ok(())
    }

    /// What a container whose hash matches needs, from one look at it: made
    /// again if its image changed, else what its drift, limits and state
    /// call for (`plan::after_inspection`). Needs no other service, so it
    /// is done ahead; the actions wait for the service's turn.
    pub(super) async fn inspected(
        &self,
        project: &Project,
        step: &Step<'_>,
        looks: &Looks,
    ) -> Result<Vec<Action>, Error> {
        let svc = &project.services[step.service];
        let Some(c) = step.current else {
            return Ok(vec![step.action.clone()]);
        };
        let recorded = c.labels.get(super::labels::IMAGE).map(String::as_str);
        if plan::image_changed(recorded, looks.image_id(self, &svc.image).await.as_deref()) {
            return Ok(vec![Action::Recreate {
                service: svc.name.clone(),
                reason: Reason::ImageChanged,
            }]);
        }
        // What the hash cannot see: lost networks, different ports, limits;
        // one inspection shows them all.
        let inspect = self
            .docker
            .inspect_container(&c.name, None)
            .await
            .map_err(|e| self.error(&format!("inspect container `{}`", c.name), &e))?;
        let drift =
            super::drift::drift_seen(project, svc, looks.network_ids(self).await?, &inspect);
        let limits = limit_change(super::limits::limits_seen(&inspect), svc.limits);
        Ok(plan::after_inspection(
            &svc.name,
            c.state == "running",
            &drift,
            limits,
        ))
    }

    /// Makes the engine calls of one action on the step's container (its
    /// service's container of the step's number) and reports it.
    pub(super) async fn apply(
        &self,
        project: &Project,
        step: &Step<'_>,
        action: Action,
        (opts, looks): (&UpOptions, &Looks),
        on: &(dyn Fn(Event) + Sync),
    ) -> Result<(), Error> {
        let svc = &project.services[step.service];
        let (number, current) = (step.number, step.current);
        let image_id = || looks.image_id(self, &svc.image);
        let name = compose::replica_name(&project.name, svc, number);
        match (action, current) {
            (Action::ReportOrphan { container }, _) => on(Event::Orphan(container)),
            (Action::Keep { .. }, _) => on(Event::Running(name)),
            (Action::Start { .. }, _) => {
                self.start(project, svc, &name, opts).await?;
                on(Event::Started(name));
            }
            (Action::UpdateLimits { .. }, Some(c)) => {
                self.set_limits(&c.name, svc.limits).await?;
                on(Event::Updated(name));
            }
            (Action::Reconnect { network, .. }, Some(c)) => {
                self.reconnect(project, svc, c, &network, on).await?;
            }
            (Action::Create { .. }, _) => {
                self.create(project, svc, (&name, number), image_id().await, opts)
                    .await?;
                self.start(project, svc, &name, opts).await?;
                on(Event::Created(name));
            }
            (Action::Recreate { reason, .. }, current) => {
                if let Some(c) = current {
                    self.remove_to_recreate(svc, c).await?;
                }
                self.create(project, svc, (&name, number), image_id().await, opts)
                    .await?;
                self.start(project, svc, &name, opts).await?;
                on(match reason {
                    Reason::Drifted(why) => Event::Repaired {
                        container: name,
                        why,
                    },
                    Reason::ConfigChanged | Reason::LimitLifted | Reason::ImageChanged => {
                        Event::Recreated(name)
                    }
                });
            }
            // `plan` inspects only a service with a container, and gives
            // the actions on a container only with one.
            (
                Action::Inspect { .. }
                | Action::UpdateLimits { .. }
                | Action::Reconnect { .. }
                | Action::RemoveSurplus { .. },
                _,
            ) => {}
        }
        Ok(())
    }

    /// Stops (within the service's grace period) and removes a container
    /// that is to be made again, or that the service no longer runs.
    async fn remove_to_recreate(&self, svc: &Service, c: &ContainerInfo) -> Result<(), Error> {
        if c.state == "running" && !svc.settings.pre_stop.is_empty() {
            let instance = c.instance.clone().unwrap_or_default();
            self.pre_stop(
                &svc.name,
                &instance,
                &c.name,
                &svc.settings.pre_stop,
                svc.grace_period_secs(),
            )
            .await?;
        }
        let stop = StopContainerOptionsBuilder::new()
            .t(svc.grace_period_secs() as i32)
            .build();
        let _ = self
            .patient(Duration::from_secs(svc.grace_period_secs().max(0) as u64))
            .stop_container(&c.id, Some(stop))
            .await;
        let rm = RemoveContainerOptionsBuilder::new().force(true).build();
        self.patient(Duration::ZERO)
            .remove_container(&c.id, Some(rm))
            .await
            .map_err(|e| self.error(&format!("remove container `{}` to recreate it", c.name), &e))
    }

    /// Creates container `name` (number `number`) of `svc`, connects it to
    /// its other networks and writes its secrets and configs into it.
    pub(super) async fn create(
        &self,
        project: &Project,
        svc: &Service,
        (name, number): (&str, u32),
        image_id: Option<String>,
        opts: &UpOptions,
    ) -> Result<(), Error> {
        let stamp = super::translate::Stamp {
            hash: project.config_hash(&svc.name),
            image_id,
        };
        let body = super::translate::container_body(project, svc, number, &stamp, opts);
        let mut options = CreateContainerOptionsBuilder::new().name(name);
        if let Some(platform) = &svc.settings.platform {
            options = options.platform(platform);
        }
        let options = options.build();
        let mut created = self
            .docker
            .create_container(Some(options.clone()), body.clone())
            .await;
        if let Err(e) = &created
            && reason(e).contains("is ambiguous")
        {
            self.dedupe_networks(project, opts).await;
            created = self
                .docker
                .create_container(Some(options.clone()), body.clone())
                .await;
        }
        // The engine finishes the create of a start killed mid-call after that
        // start's client is gone (or abandons it), so the name can be taken
        // by a container this start did not list, or reserved for a moment.
        // Replace such a container only if it is this stack directory's own;
        // anything else is refused, naming its owner.
        // The name of a create still in flight is reserved without a
        // container to inspect: retry for a few seconds, until the engine
        // has finished or abandoned it.
        let settle = std::time::Instant::now() + Duration::from_secs(10);
        for attempt in 0u64..50 {
            let Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409, ..
            }) = &created
            else {
                break;
            };
            let labels = match self.docker.inspect_container(name, None).await {
                Ok(found) => found.config.and_then(|c| c.labels).unwrap_or_default(),
                // Gone again, or not there yet: a dead client's create.
                Err(e) if is_not_found(&e) && std::time::Instant::now() < settle => {
                    tokio::time::sleep(Duration::from_millis(50 * (attempt + 1).min(10))).await;
                    created = self
                        .docker
                        .create_container(Some(options.clone()), body.clone())
                        .await;
                    continue;
                }
                Err(e) if is_not_found(&e) => break,
                Err(e) => return Err(self.error(&format!("inspect container `{name}`"), &e)),
            };
            if opts.identity.classify(&labels) != crate::identity::Ownership::Own {
                return Err(Error::Foreign {
                    resource: format!("container `{name}`"),
                    project: project.name.clone(),
                    instance: opts.instance.clone(),
                    owner: crate::identity::owner_of(&labels),
                    hint: format!(
                        "it has the name service `{}` needs; remove it yourself if it is not wanted (`docker container rm {name}`), or give this instance another project name",
                        svc.name
                    ),
                });
            }
            tracing::info!(container = %name, "replacing a container a killed start left");
            let rm = RemoveContainerOptionsBuilder::new().force(true).build();
            match self
                .patient(Duration::ZERO)
                .remove_container(name, Some(rm))
                .await
            {
                Ok(()) => {}
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(self.error(&format!("remove container `{name}`"), &e)),
            }
            created = self
                .docker
                .create_container(Some(options.clone()), body.clone())
                .await;
        }
        created.map_err(|e| {
            self.error(
                &format!("create container `{name}` for service `{}`", svc.name),
                &e,
            )
        })?;
        // API 1.41 attaches one network at create; the others are connected
        // now, by priority as compose connects them.
        for key in svc.networks_by_priority().into_iter().skip(1) {
            let net = &project.networks[key];
            let request = NetworkConnectRequest {
                container: name.to_string(),
                endpoint_config: Some(super::translate::endpoint(svc, key, name)),
            };
            self.docker
                .connect_network(&net.name, request)
                .await
                .map_err(|e| {
                    self.error(&format!("connect `{name}` to network `{}`", net.name), &e)
                })?;
        }
        self.inject_files(project, svc, name).await
    }

    /// Starts container `name` of `svc`, then runs its `post_start` hooks.
    pub(super) async fn start(
        &self,
        project: &Project,
        svc: &Service,
        name: &str,
        opts: &UpOptions,
    ) -> Result<(), Error> {
        let mut result = self
            .patient(Duration::ZERO)
            .start_container(name, None)
            .await;
        // A network created by a killed start may have appeared beside ours
        // after `ensure_networks` looked: remove the unused twin, try again.
        if let Err(e) = &result
            && reason(e).contains("is ambiguous")
        {
            self.dedupe_networks(project, opts).await;
            result = self
                .patient(Duration::ZERO)
                .start_container(name, None)
                .await;
        }
        if let Err(e) = result {
            return Err(Error::ServiceFailed {
                service: svc.name.clone(),
                instance: opts.instance.clone(),
                what: format!("could not start: {}", reason(&e)),
                state: "created".into(),
                logs: self.tail(name, 20).await,
            });
        }
        self.post_start(svc, name, opts).await
    }
}
