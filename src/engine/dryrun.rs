//! What `start` would do to a project, found with read-only engine calls
//! (image inspections) over the inventory the caller took: the images it
//! would pull or build, the networks and volumes it would create, and per
//! service container the planner's action with its reason and what it
//! waits on, in execution order. Nothing is created, started or removed.

use super::plan::{Action, Reason, plan};
use super::{Engine, Owned};
use crate::compose::{MountKind, Project, Service, replica_name};
use crate::error::Error;

/// One thing a command would do. `after` names the targets of earlier
/// actions it waits on (the caller numbers them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub action: &'static str,
    pub target: String,
    pub reason: String,
    pub after: Vec<String>,
}

impl Planned {
    pub fn new(action: &'static str, target: impl Into<String>, reason: impl Into<String>) -> Self {
        Planned {
            action,
            target: target.into(),
            reason: reason.into(),
            after: Vec::new(),
        }
    }
}

impl Engine {
    /// What `up` would do to `project` over `owned`; with `build`, every
    /// service with `build:` is built again (`start --build`).
    pub async fn up_preview(
        &self,
        project: &Project,
        owned: &Owned,
        build: bool,
    ) -> Result<Vec<Planned>, Error> {
        let mut present = Vec::new();
        for svc in project.services.values() {
            if !present.iter().any(|(i, _)| i == &svc.image) {
                let here = self.image_id(&svc.image).await.is_some();
                present.push((svc.image.clone(), here));
            }
        }
        let has = |image: &str| present.iter().any(|(i, here)| i == image && *here);
        Ok(preview(project, owned, build, &has))
    }
}

/// The pure part of `up_preview`, given which images the engine has.
pub(crate) fn preview(
    project: &Project,
    owned: &Owned,
    build: bool,
    has_image: &dyn Fn(&str) -> bool,
) -> Vec<Planned> {
    let mut out = images(project, build, has_image);
    let the_plan = plan(project, &owned.containers);
    for orphan in &the_plan.orphans {
        if let Action::ReportOrphan { container } = orphan {
            out.push(Planned::new(
                "report-orphan",
                container,
                "it belongs to no service of the compose files; left alone (`mrctl clean` removes it)",
            ));
        }
    }
    let exists = |kind: &str, name: &str| {
        owned
            .resources
            .iter()
            .any(|r| r.kind == kind && r.name == name)
    };
    for net in project.networks.values().filter(|n| !n.external) {
        if !exists("network", &net.name) {
            out.push(Planned::new(
                "create-network",
                &net.name,
                "the project does not have it yet",
            ));
        }
    }
    for vol in project.volumes.values().filter(|v| !v.external) {
        if !exists("volume", &vol.name) {
            out.push(Planned::new(
                "create-volume",
                &vol.name,
                "the project does not have it yet",
            ));
        }
    }
    let made: Vec<String> = out.iter().map(|p| p.target.clone()).collect();
    for wave in &the_plan.waves {
        for step in wave {
            let svc = &project.services[step.service];
            let target = replica_name(&project.name, svc, step.number);
            let running = step.current.is_some_and(|c| c.state == "running");
            let (action, reason) = match &step.action {
                Action::Create { .. } => ("create", "no container yet".to_string()),
                Action::Recreate { reason, .. } => ("recreate", reason_text(reason)),
                Action::Inspect { .. } if running => (
                    "keep",
                    "running, and its configuration is unchanged (checked for drift when its turn comes)"
                        .to_string(),
                ),
                Action::Inspect { .. } => (
                    "start",
                    "stopped, and its configuration is unchanged".to_string(),
                ),
                Action::RemoveSurplus { .. } => (
                    "remove",
                    "the service runs fewer containers".to_string(),
                ),
                other => ("other", other.to_string()),
            };
            let target = match &step.action {
                Action::RemoveSurplus { container } => container.clone(),
                _ => target,
            };
            let mut planned = Planned::new(action, target, reason);
            if matches!(action, "create" | "recreate" | "start") {
                planned.after = waits_on(project, svc, &made);
                let conditions: Vec<String> = svc
                    .depends_on
                    .iter()
                    .filter(|(dep, _)| project.services.contains_key(*dep))
                    .map(|(dep, c)| format!("`{dep}` {}", condition_text(*c)))
                    .collect();
                if !conditions.is_empty() {
                    planned.reason = format!("{}; after {}", planned.reason, conditions.join(", "));
                }
            }
            out.push(planned);
        }
    }
    out
}

/// The images `up` would build or pull, each once, in its order.
fn images(project: &Project, build: bool, has_image: &dyn Fn(&str) -> bool) -> Vec<Planned> {
    let mut out = Vec::new();
    let mut done: Vec<&str> = Vec::new();
    for svc in project.services.values().filter(|s| s.build.is_some()) {
        if done.contains(&svc.image.as_str()) {
            continue;
        }
        done.push(&svc.image);
        let policy = svc.pull_policy.as_deref().unwrap_or("missing");
        let why = if build {
            "`--build` builds it again"
        } else if policy == "build" {
            "the service has `pull_policy: build`"
        } else if !has_image(&svc.image) {
            "it is not on this machine"
        } else {
            continue;
        };
        out.push(Planned::new("build", &svc.image, why));
    }
    for svc in project.services.values() {
        if done.contains(&svc.image.as_str()) {
            continue;
        }
        done.push(&svc.image);
        let policy = svc.pull_policy.as_deref().unwrap_or("missing");
        let (action, why) = match policy {
            "always" => ("pull", "the service has `pull_policy: always`".to_string()),
            _ if has_image(&svc.image) => continue,
            "never" => (
                "fail",
                format!(
                    "it is not on this machine and service `{}` has `pull_policy: never`: start would stop here",
                    svc.name
                ),
            ),
            _ => ("pull", "it is not on this machine".to_string()),
        };
        out.push(Planned::new(action, &svc.image, why));
    }
    out
}

/// The targets of earlier actions a service's container waits on: its
/// image, its networks and volumes made by this plan, and the containers
/// of the services it depends on.
fn waits_on(project: &Project, svc: &Service, made: &[String]) -> Vec<String> {
    let mut after = Vec::new();
    let mut add = |target: &str| {
        if made.iter().any(|m| m == target) && !after.iter().any(|a| a == target) {
            after.push(target.to_string());
        }
    };
    add(&svc.image);
    for key in svc.networks.keys() {
        if let Some(net) = project.networks.get(key) {
            add(&net.name);
        }
    }
    for m in svc.mounts.iter().filter(|m| m.kind == MountKind::Volume) {
        if let Some(vol) = m.source.as_ref().and_then(|k| project.volumes.get(k)) {
            add(&vol.name);
        }
    }
    for dep in svc.depends_on.keys() {
        if let Some(d) = project.services.get(dep) {
            for n in 1..=d.replicas {
                after.push(replica_name(&project.name, d, n));
            }
        }
    }
    after
}

fn reason_text(reason: &Reason) -> String {
    match reason {
        Reason::ConfigChanged => "its configuration changed".to_string(),
        Reason::LimitLifted => "a limit is lifted, which the engine cannot do in place".to_string(),
        Reason::ImageChanged => "its image changed".to_string(),
        Reason::Drifted(why) => why.clone(),
    }
}

fn condition_text(c: crate::compose::Condition) -> &'static str {
    match c {
        crate::compose::Condition::ServiceHealthy => "is healthy",
        crate::compose::Condition::ServiceCompletedSuccessfully => "completed successfully",
        crate::compose::Condition::ServiceStarted => "started",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::engine::ContainerInfo;
    use crate::engine::drift::tests::project;

    const YAML: &str = concat!(
        "services:\n",
        "  web:\n    image: busybox\n    depends_on:\n      db:\n        condition: service_healthy\n",
        "  db:\n    image: busybox\n    volumes: [\"data:/data\"]\n",
        "volumes:\n  data: {}\n",
    );

    fn owned(p: &Project, containers: Vec<ContainerInfo>) -> Owned {
        Owned {
            project: p.name.clone(),
            instance: "a".into(),
            containers,
            resources: Vec::new(),
        }
    }

    fn container(p: &Project, service: &str, state: &str, same: bool) -> ContainerInfo {
        ContainerInfo {
            id: format!("id-{service}"),
            name: format!("{}-{service}-1", p.name),
            project: p.name.clone(),
            service: service.to_string(),
            instance: Some("a".into()),
            stack: Some("s".into()),
            state: state.to_string(),
            health: None,
            status: String::new(),
            image: "busybox".into(),
            config_hash: Some(if same {
                p.config_hash(service)
            } else {
                "old".into()
            }),
            ports: Vec::new(),
            labels: HashMap::new(),
        }
    }

    fn lines(list: &[Planned]) -> Vec<String> {
        list.iter()
            .map(|p| format!("{} {}: {} {:?}", p.action, p.target, p.reason, p.after))
            .collect()
    }

    #[test]
    fn from_nothing_the_image_network_and_volume_come_first() {
        let p = project(YAML);
        let net = format!("{}_default", p.name);
        let vol = format!("{}_data", p.name);
        let got = lines(&preview(&p, &owned(&p, Vec::new()), false, &|_| false));
        assert_eq!(
            got,
            [
                "pull busybox: it is not on this machine []".to_string(),
                format!("create-network {net}: the project does not have it yet []"),
                format!("create-volume {vol}: the project does not have it yet []"),
                format!(
                    "create {}-db-1: no container yet [\"busybox\", \"{net}\", \"{vol}\"]",
                    p.name
                ),
                format!(
                    "create {0}-web-1: no container yet; after `db` is healthy [\"busybox\", \"{net}\", \"{0}-db-1\"]",
                    p.name
                ),
            ]
        );
    }

    #[test]
    fn running_unchanged_is_kept_stopped_started_changed_recreated() {
        let p = project(YAML);
        let mut have = owned(
            &p,
            vec![
                container(&p, "db", "exited", true),
                container(&p, "web", "running", false),
            ],
        );
        for (kind, name) in [
            ("network", format!("{}_default", p.name)),
            ("volume", format!("{}_data", p.name)),
        ] {
            have.resources.push(crate::engine::Resource {
                kind,
                id: name.clone(),
                name,
                project: p.name.clone(),
                instance: Some("a".into()),
                labels: HashMap::new(),
            });
        }
        let got: Vec<(&str, String)> = preview(&p, &have, false, &|_| true)
            .into_iter()
            .map(|p| (p.action, p.reason))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "start",
                    "stopped, and its configuration is unchanged".to_string()
                ),
                (
                    "recreate",
                    "its configuration changed; after `db` is healthy".to_string()
                ),
            ]
        );
        have.containers[0].state = "running".into();
        assert_eq!(preview(&p, &have, false, &|_| true)[0].action, "keep");
        assert_eq!(
            lines(&preview(&p, &have, true, &|_| true)).len(),
            2,
            "--build builds only services with `build:`"
        );
    }
}
