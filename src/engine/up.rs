//! Converging a project: images present, networks and volumes created,
//! services started wave by wave (a wave's services in parallel), each
//! dependency condition awaited with a deadline. A container whose config
//! hash matches is left alone (or started); one whose hash differs is recreated.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::models::{ContainerUpdateBody, NetworkConnectRequest};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, ListNetworksOptionsBuilder,
    RemoveContainerOptionsBuilder, StopContainerOptionsBuilder,
};
use futures_util::StreamExt;
use futures_util::future::try_join_all;

use super::{ContainerInfo, Engine, is_not_found, labels, reason};
use crate::compose::{self, Condition, Limits, Project, Service};
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
}

// Cheap inspect calls; a short poll keeps a health-gated start close to the
// moment the dependency turns healthy.
const POLL: Duration = Duration::from_millis(50);

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
        let existing = owned.containers.as_slice();
        for c in existing {
            if !project.services.contains_key(&c.service) {
                on(Event::Orphan(c.name.clone()));
            }
        }
        self.ensure_images(project, on).await?;
        let resources_before = owned.resources.as_slice();
        let result = async {
            self.ensure_networks(project, owned, opts, on).await?;
            self.ensure_volumes(project, owned, opts, on).await?;
            for wave in &project.waves {
                let jobs = wave.iter().map(|name| {
                    let svc = &project.services[name];
                    let current = existing.iter().find(|c| &c.service == name);
                    self.converge(project, svc, current, opts, on)
                });
                try_join_all(jobs).await?;
            }
            Ok(())
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

    async fn ensure_images(
        &self,
        project: &Project,
        on: &(dyn Fn(Event) + Sync),
    ) -> Result<(), Error> {
        let mut images: Vec<&str> = project
            .services
            .values()
            .map(|s| s.image.as_str())
            .collect();
        images.sort();
        images.dedup();
        for image in images {
            if self.docker.inspect_image(image).await.is_ok() {
                continue;
            }
            on(Event::Pulling(image.to_string()));
            let (repo, tag) = split_image(image);
            let options = CreateImageOptionsBuilder::new()
                .from_image(repo)
                .tag(tag)
                .build();
            let mut stream = self.docker.create_image(Some(options), None, None);
            let mut failure = None;
            let mut layers: HashMap<String, (u64, u64)> = HashMap::new();
            while let Some(item) = stream.next().await {
                match item {
                    Ok(info) => {
                        if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                            failure = Some(detail);
                        }
                        if let (Some(id), Some(p)) = (info.id, info.progress_detail) {
                            let current = p.current.unwrap_or(0).max(0) as u64;
                            let total = p.total.unwrap_or(0).max(0) as u64;
                            layers.insert(id, (current, total));
                            let (c, t) = layers
                                .values()
                                .fold((0, 0), |(c, t), (a, b)| (c + a, t + b));
                            on(Event::PullProgress {
                                image: image.to_string(),
                                current: c,
                                total: t,
                            });
                        }
                    }
                    Err(e) => {
                        failure = Some(reason(&e));
                        break;
                    }
                }
            }
            if let Some(reason) = failure {
                return Err(Error::ImageUnavailable {
                    image: image.to_string(),
                    reason: format!("it is not on this machine and pulling it failed: {reason}"),
                });
            }
            if let Err(e) = self.docker.inspect_image(image).await {
                return Err(Error::ImageUnavailable {
                    image: image.to_string(),
                    reason: reason(&e),
                });
            }
            on(Event::Pulled(image.to_string()));
        }
        Ok(())
    }

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

    async fn dedupe_networks(&self, project: &Project, opts: &UpOptions) {
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
    async fn ensure_networks(
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

    async fn ensure_volumes(
        &self,
        project: &Project,
        owned: &super::Owned,
        opts: &UpOptions,
        on: &(dyn Fn(Event) + Sync),
    ) -> Result<(), Error> {
        for (key, vol) in &project.volumes {
            match self.docker.inspect_volume(&vol.name).await {
                Ok(found) => {
                    let mine = vol.external
                        || owned.resources.iter().any(|r| r.name == vol.name)
                        || opts.identity.classify(&found.labels) == crate::identity::Ownership::Own;
                    if !mine {
                        return Err(Error::Foreign {
                            resource: format!("volume `{}`", vol.name),
                            project: project.name.clone(),
                            instance: opts.instance.clone(),
                            owner: crate::identity::owner_of(&found.labels),
                            hint: format!(
                                "mark the volume `external: true` in the compose file to share it on purpose, remove it yourself if it is not wanted (`docker volume rm {}`), or give this instance another project name",
                                vol.name
                            ),
                        });
                    }
                    continue;
                }
                Err(e) if is_not_found(&e) => {}
                Err(e) => {
                    return Err(self.error(&format!("inspect volume `{}`", vol.name), &e));
                }
            }
            if vol.external {
                return Err(Error::Docker {
                    action: format!("use external volume `{}`", vol.name),
                    reason: format!(
                        "it does not exist; create it with `docker volume create {}`",
                        vol.name
                    ),
                });
            }
            let request = super::translate::volume_request(project, key, vol, opts);
            self.docker
                .create_volume(request)
                .await
                .map_err(|e| self.error(&format!("create volume `{}`", vol.name), &e))?;
            on(Event::VolumeCreated(vol.name.clone()));
        }
        Ok(())
    }

    /// Brings one service to its desired state, after its dependencies' conditions hold.
    async fn converge(
        &self,
        project: &Project,
        svc: &Service,
        current: Option<&ContainerInfo>,
        opts: &UpOptions,
        on: &(dyn Fn(Event) + Sync),
    ) -> Result<(), Error> {
        for (dep, condition) in &svc.depends_on {
            let dep_svc = &project.services[dep];
            if *condition != Condition::ServiceStarted {
                on(Event::Waiting {
                    service: svc.name.clone(),
                    on: dep.clone(),
                    condition: *condition,
                });
            }
            self.await_condition(project, dep_svc, *condition, opts)
                .await?;
        }
        let name = compose::container_name(&project.name, svc);
        let hash = svc.config_hash();
        let mut drift = None;
        if let Some(c) = current
            && c.config_hash.as_deref() == Some(hash.as_str())
        {
            // What the hash cannot see: lost networks, different ports.
            drift = self.heal_drift(project, svc, c, on).await?;
            let sync = self.sync_limits(&c.name, svc.limits).await?;
            if drift.is_none() && !matches!(sync, LimitSync::NeedsRecreate) {
                if matches!(sync, LimitSync::Updated) {
                    on(Event::Updated(name.clone()));
                }
                if c.state == "running" {
                    on(Event::Running(name));
                } else {
                    self.start(project, svc, &name, opts).await?;
                    on(Event::Started(name));
                }
                return Ok(());
            }
        }
        let recreate = current.is_some();
        if let Some(c) = current {
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
                .map_err(|e| {
                    self.error(&format!("remove container `{}` to recreate it", c.name), &e)
                })?;
        }
        self.create(project, svc, &name, &hash, opts).await?;
        self.start(project, svc, &name, opts).await?;
        on(match (recreate, drift) {
            (true, Some(why)) => Event::Repaired {
                container: name,
                why,
            },
            (true, None) => Event::Recreated(name),
            (false, _) => Event::Created(name),
        });
        Ok(())
    }

    async fn create(
        &self,
        project: &Project,
        svc: &Service,
        name: &str,
        hash: &str,
        opts: &UpOptions,
    ) -> Result<(), Error> {
        let body = super::translate::container_body(project, svc, hash, opts);
        let options = CreateContainerOptionsBuilder::new().name(name).build();
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
        for _ in 0..3 {
            let Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409, ..
            }) = &created
            else {
                break;
            };
            let labels = match self.docker.inspect_container(name, None).await {
                Ok(found) => found.config.and_then(|c| c.labels).unwrap_or_default(),
                // Gone again: the engine abandoned a dead client's create.
                Err(e) if is_not_found(&e) => {
                    created = self
                        .docker
                        .create_container(Some(options.clone()), body.clone())
                        .await;
                    continue;
                }
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
        // API 1.41 attaches one network at create; the others are connected now.
        for (key, aliases) in svc.networks.iter().skip(1) {
            let net = &project.networks[key];
            let request = NetworkConnectRequest {
                container: name.to_string(),
                endpoint_config: Some(super::translate::endpoint(svc, aliases)),
            };
            self.docker
                .connect_network(&net.name, request)
                .await
                .map_err(|e| {
                    self.error(&format!("connect `{name}` to network `{}`", net.name), &e)
                })?;
        }
        Ok(())
    }

    async fn start(
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
        Ok(())
    }

    /// Waits until `dep` meets `condition`, or fails naming it with its last log lines.
    async fn await_condition(
        &self,
        project: &Project,
        dep: &Service,
        condition: Condition,
        opts: &UpOptions,
    ) -> Result<(), Error> {
        let name = compose::container_name(&project.name, dep);
        let deadline = Instant::now() + opts.timeout;
        let fail = |what: String, state: String| async {
            Error::ServiceFailed {
                service: dep.name.clone(),
                instance: opts.instance.clone(),
                what,
                state,
                logs: self.tail(&name, 20).await,
            }
        };
        if condition == Condition::ServiceHealthy && !dep.has_healthcheck() {
            return Err(fail(
                "is a `service_healthy` dependency but has no healthcheck".into(),
                "running".into(),
            )
            .await);
        }
        loop {
            let inspect = self
                .docker
                .inspect_container(&name, None)
                .await
                .map_err(|e| self.error(&format!("inspect container `{name}`"), &e))?;
            let state = inspect.state.unwrap_or_default();
            let status = state.status.map(|s| s.to_string()).unwrap_or_default();
            let exit_code = state.exit_code.unwrap_or_default();
            let health = state
                .health
                .and_then(|h| h.status)
                .map(|s| s.to_string())
                .unwrap_or_default();
            let running = state.running.unwrap_or(false);
            let describe = || {
                if running {
                    if health.is_empty() {
                        status.clone()
                    } else {
                        format!("{status}, {health}")
                    }
                } else {
                    format!("{status} ({exit_code})")
                }
            };
            match condition {
                Condition::ServiceStarted => return Ok(()),
                Condition::ServiceHealthy => {
                    if health == "healthy" {
                        return Ok(());
                    }
                    if health == "unhealthy" {
                        return Err(fail("failed its healthcheck".into(), describe()).await);
                    }
                    if !running && status != "restarting" {
                        return Err(fail("exited before becoming healthy".into(), describe()).await);
                    }
                }
                Condition::ServiceCompletedSuccessfully => {
                    if status == "exited" || status == "dead" {
                        if exit_code == 0 {
                            return Ok(());
                        }
                        return Err(fail(format!("exited with code {exit_code}"), describe()).await);
                    }
                }
            }
            if Instant::now() >= deadline {
                let what = match condition {
                    Condition::ServiceHealthy => "did not become healthy",
                    _ => "did not complete",
                };
                return Err(fail(
                    format!(
                        "{what} within {}s (`--timeout` waits longer)",
                        opts.timeout.as_secs()
                    ),
                    describe(),
                )
                .await);
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// What bringing a container's limits in line took.
pub(crate) enum LimitSync {
    Same,
    Updated,
    /// A limit is to be lifted: the engine's update call cannot do that.
    NeedsRecreate,
}

impl Engine {
    /// The limits a container runs with.
    pub async fn limits_of(&self, container: &str) -> Result<Limits, Error> {
        let inspect = self
            .docker
            .inspect_container(container, None)
            .await
            .map_err(|e| self.error(&format!("inspect container `{container}`"), &e))?;
        let hc = inspect.host_config.unwrap_or_default();
        let positive = |v: Option<i64>| v.filter(|x| *x > 0);
        Ok(Limits {
            memory: positive(hc.memory),
            nano_cpus: positive(hc.nano_cpus),
            pids: positive(hc.pids_limit),
        })
    }

    /// Changes a container's limits in place when they differ from `desired`.
    pub(crate) async fn sync_limits(
        &self,
        container: &str,
        desired: Limits,
    ) -> Result<LimitSync, Error> {
        let cur = self.limits_of(container).await?;
        if cur == desired {
            return Ok(LimitSync::Same);
        }
        if (desired.memory.is_none() && cur.memory.is_some())
            || (desired.nano_cpus.is_none() && cur.nano_cpus.is_some())
        {
            return Ok(LimitSync::NeedsRecreate);
        }
        let body = ContainerUpdateBody {
            memory: desired.memory,
            // Docker's default swap allowance on create is twice the memory.
            memory_swap: desired.memory.map(|m| m.saturating_mul(2)),
            nano_cpus: desired.nano_cpus,
            pids_limit: Some(desired.pids.unwrap_or(-1)),
            ..Default::default()
        };
        self.docker
            .update_container(container, body)
            .await
            .map_err(|e| {
                match self.error(&format!("update the limits of container `{container}`"), &e) {
                    Error::Docker { action, reason } => Error::Docker {
                        action,
                        reason: super::limits::with_name(&reason, container),
                    },
                    other => other,
                }
            })?;
        Ok(LimitSync::Updated)
    }

    /// Applies the project's limits to its existing containers in place.
    /// Returns the containers changed, and those that need a recreate (a
    /// limit lifted) which the next `start` does. When the engine refuses a
    /// container's new limits, those already changed get their old ones back.
    /// Only the containers of `owned` (this stack directory's) are changed.
    pub async fn update_limits(
        &self,
        project: &Project,
        owned: &super::Owned,
    ) -> Result<(Vec<String>, Vec<String>), Error> {
        let instance = owned.instance.as_str();
        let mut updated = Vec::new();
        let mut recreate = Vec::new();
        let mut before = Vec::new();
        for c in owned.containers.iter().cloned() {
            let Some(svc) = project.services.get(&c.service) else {
                continue;
            };
            before.push((c.name.clone(), self.limits_of(&c.name).await?));
            match self.sync_limits(&c.name, svc.limits).await {
                Ok(LimitSync::Same) => {}
                Ok(LimitSync::Updated) => updated.push(c.name),
                Ok(LimitSync::NeedsRecreate) => recreate.push(c.name),
                Err(e) => return Err(self.undo_limits(instance, &c, e, &updated, &before).await),
            }
        }
        Ok((updated, recreate))
    }
}

/// `repo:tag` → (`repo`, `tag`), defaulting the tag to `latest`; digests stay whole.
fn split_image(image: &str) -> (&str, &str) {
    if image.contains('@') {
        return (image, "");
    }
    match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (image, "latest"),
    }
}

#[cfg(test)]
mod tests {
    use super::split_image;

    #[test]
    fn image_names() {
        assert_eq!(split_image("busybox"), ("busybox", "latest"));
        assert_eq!(split_image("busybox:1.36"), ("busybox", "1.36"));
        assert_eq!(split_image("reg:5000/app"), ("reg:5000/app", "latest"));
        assert_eq!(split_image("reg:5000/app:v2"), ("reg:5000/app", "v2"));
    }
}
