//! What of a compose project is this stack directory's own. Every command
//! that changes or removes an instance's Docker resources first takes its
//! project's inventory through `owned`, which refuses — before anything is
//! touched — when a resource with the project's label belongs to someone
//! else; the engine's removal and stop calls take only that inventory.
//! Also finds the helper containers of volume backups by their labels.

use std::collections::HashMap;
use std::time::Duration;

use bollard::query_parameters::RemoveContainerOptionsBuilder;

use super::{ContainerInfo, Engine, Resource, is_not_found, labels};
use crate::error::Error;
use crate::identity::{Identity, Ownership};

/// A project's containers, networks and volumes, all of them this stack
/// directory's own (or adopted from an earlier mrctl on this directory).
#[derive(Debug, Clone, Default)]
pub struct Owned {
    pub project: String,
    pub instance: String,
    pub containers: Vec<ContainerInfo>,
    pub resources: Vec<Resource>,
}

/// A resource of the project that is not this stack directory's.
#[derive(Debug, Clone, PartialEq)]
pub struct Foreign {
    pub kind: String,
    pub name: String,
    pub owner: String,
}

/// Splits a project's resources into this stack directory's and the
/// others'. A network or volume without an identity is adopted only when
/// a container of the project without one is adopted (an instance made by
/// an earlier mrctl or by docker compose on these files): on its own,
/// nothing proves whose it is.
pub fn classify(
    identity: &Identity,
    containers: Vec<ContainerInfo>,
    resources: Vec<Resource>,
) -> (Vec<ContainerInfo>, Vec<Resource>, Vec<Foreign>) {
    let mut foreign = Vec::new();
    let mut adopted_any = false;
    let mut mine = Vec::new();
    for c in containers {
        match identity.classify(&c.labels) {
            Ownership::Own => mine.push(c),
            Ownership::Adopted => {
                adopted_any = true;
                mine.push(c);
            }
            Ownership::Foreign(owner) => foreign.push(Foreign {
                kind: "container".into(),
                name: c.name,
                owner,
            }),
        }
    }
    let mut mine_res = Vec::new();
    for r in resources {
        let has_id = r.labels.contains_key(labels::STACK_ID);
        match identity.classify(&r.labels) {
            Ownership::Own => mine_res.push(r),
            Ownership::Adopted => mine_res.push(r),
            Ownership::Foreign(_) if !has_id && adopted_any => mine_res.push(r),
            Ownership::Foreign(owner) => foreign.push(Foreign {
                kind: r.kind.to_string(),
                name: r.name,
                owner,
            }),
        }
    }
    (mine, mine_res, foreign)
}

/// The error for the first foreign resource, naming it, its owner and what to do.
pub fn foreign_error(project: &str, instance: &str, foreign: &[Foreign]) -> Option<Error> {
    let first = foreign.first()?;
    let others = match foreign.len() - 1 {
        0 => String::new(),
        1 => " (1 more resource of the project is not this stack's either)".to_string(),
        n => format!(" ({n} more resources of the project are not this stack's either)"),
    };
    Some(Error::Foreign {
        resource: format!("{} `{}`", first.kind, first.name),
        project: project.to_string(),
        instance: instance.to_string(),
        owner: first.owner.clone(),
        hint: format!(
            "run mrctl from its own stack directory, remove it yourself if it is not wanted (`docker {} rm {}`), or give this instance another project name{others}",
            if first.kind == "container" {
                "container"
            } else {
                first.kind.as_str()
            },
            first.name
        ),
    })
}

/// A container, network or volume that carries a compose project label.
#[derive(Debug, Clone)]
pub struct Labelled {
    pub kind: &'static str,
    pub name: String,
    pub labels: HashMap<String, String>,
}

impl Engine {
    /// Every container, network and volume on the engine that carries a
    /// compose project label, with its labels: `create` checks against
    /// these that no other stack directory uses the project it picks.
    pub async fn compose_resources(&self) -> Result<Vec<Labelled>, Error> {
        let containers = self
            .list_containers_raw(vec![labels::PROJECT.to_string()], "list containers")
            .await?;
        let mut out: Vec<Labelled> = containers
            .into_iter()
            .map(|c| Labelled {
                kind: "container",
                name: super::first_name(c.names),
                labels: c.labels.unwrap_or_default(),
            })
            .collect();
        out.extend(
            self.labelled_resources(labels::PROJECT, "")
                .await?
                .into_iter()
                .map(|r| Labelled {
                    kind: r.kind,
                    name: r.name,
                    labels: r.labels,
                }),
        );
        Ok(out)
    }

    /// The project's resources, all this stack directory's own; an error
    /// naming the first one that is someone else's, before anything is touched.
    pub async fn owned(
        &self,
        project: &str,
        instance: &str,
        identity: &Identity,
    ) -> Result<Owned, Error> {
        let (containers, resources, foreign) = self.inventory(project, identity).await?;
        if let Some(e) = foreign_error(project, instance, &foreign) {
            return Err(e);
        }
        Ok(Owned {
            project: project.to_string(),
            instance: instance.to_string(),
            containers,
            resources,
        })
    }

    /// The project's resources split into this stack directory's and the
    /// others' (for `doctor` and `create`, which report rather than refuse).
    pub async fn inventory(
        &self,
        project: &str,
        identity: &Identity,
    ) -> Result<(Vec<ContainerInfo>, Vec<Resource>, Vec<Foreign>), Error> {
        let containers = self.project_containers(project).await?;
        let resources = self.labelled_resources(labels::PROJECT, project).await?;
        Ok(classify(identity, containers, resources))
    }

    /// Helper containers of volume backups and restores made by this stack
    /// directory (of one instance, or of all), as (id, name, instance).
    pub async fn helpers(
        &self,
        identity: &Identity,
        instance: Option<&str>,
    ) -> Result<Vec<(String, String, String)>, Error> {
        let mut wanted = vec![
            labels::HELPER.to_string(),
            format!("{}={}", labels::STACK_ID, identity.id),
        ];
        if let Some(i) = instance {
            wanted.push(format!("{}={i}", labels::INSTANCE));
        }
        let list = self
            .list_containers_raw(wanted, "list helper containers")
            .await?;
        Ok(list
            .into_iter()
            .filter(|c| {
                let l = c.labels.clone().unwrap_or_default();
                identity.classify(&l) == Ownership::Own
            })
            .map(|c| {
                let instance = c
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(labels::INSTANCE).cloned())
                    .unwrap_or_default();
                (
                    c.id.unwrap_or_default(),
                    super::first_name(c.names),
                    instance,
                )
            })
            .collect())
    }

    /// Removes the helper containers a killed backup or restore of
    /// `instance` left behind (they hold its volumes). Call under the
    /// instance's lock, so no live backup's helper is removed. Returns
    /// their names.
    pub async fn remove_helpers(
        &self,
        identity: &Identity,
        instance: &str,
    ) -> Result<Vec<String>, Error> {
        let mut removed = Vec::new();
        for (id, name, _) in self.helpers(identity, Some(instance)).await? {
            let options = RemoveContainerOptionsBuilder::new()
                .force(true)
                .v(true)
                .build();
            match self
                .patient(Duration::ZERO)
                .remove_container(&id, Some(options))
                .await
            {
                Ok(()) => removed.push(name),
                Err(e) if is_not_found(&e) => {}
                Err(e) => {
                    return Err(self.error(&format!("remove helper container `{name}`"), &e));
                }
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn me() -> Identity {
        Identity {
            stack: "app".into(),
            id: "1234".into(),
            dir: PathBuf::from("/srv/app"),
        }
    }

    fn container(name: &str, labels: HashMap<String, String>) -> ContainerInfo {
        ContainerInfo {
            id: name.into(),
            name: name.into(),
            project: "app-1".into(),
            service: "web".into(),
            instance: None,
            stack: None,
            state: "running".into(),
            health: None,
            status: String::new(),
            image: "busybox".into(),
            config_hash: None,
            ports: vec![],
            labels,
        }
    }

    fn volume(name: &str, labels: HashMap<String, String>) -> Resource {
        Resource {
            kind: "volume",
            id: name.into(),
            name: name.into(),
            project: "app-1".into(),
            instance: None,
            labels,
        }
    }

    fn l(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn own_resources_pass_and_foreign_ones_are_named() {
        let (c, r, f) = classify(
            &me(),
            vec![
                container("app-1-web-1", me().labels("1")),
                container(
                    "app-1-db-1",
                    l(&[
                        (labels::STACK_ID, "9999"),
                        (labels::STACK_DIR, "/home/u/app"),
                    ]),
                ),
            ],
            vec![volume("app-1_data", me().labels("1"))],
        );
        assert_eq!(c.len(), 1);
        assert_eq!(r.len(), 1);
        assert_eq!(
            f,
            vec![Foreign {
                kind: "container".into(),
                name: "app-1-db-1".into(),
                owner: "the stack directory `/home/u/app`".into(),
            }]
        );
        let e = foreign_error("app-1", "1", &f).unwrap().to_string();
        assert!(
            e.starts_with("container `app-1-db-1` is in the way of instance `1` (compose project `app-1`) and belongs to the stack directory `/home/u/app`;"),
            "{e}"
        );
    }

    #[test]
    fn id_less_volumes_need_an_adopted_container() {
        let bare = || volume("app-1_data", l(&[("com.docker.compose.project", "app-1")]));
        let (_, r, f) = classify(&me(), vec![], vec![bare()]);
        assert!(r.is_empty());
        assert_eq!(f.len(), 1);
        let legacy = container(
            "app-1-web-1",
            l(&[("com.docker.compose.project.working_dir", "/srv/app")]),
        );
        let (c, r, f) = classify(&me(), vec![legacy], vec![bare()]);
        assert_eq!((c.len(), r.len(), f.len()), (1, 1, 0));
        // A volume with another stack's identity is never adopted.
        let theirs = volume("app-1_x", l(&[(labels::STACK_ID, "9999")]));
        let legacy = container(
            "app-1-web-1",
            l(&[("com.docker.compose.project.working_dir", "/srv/app")]),
        );
        let (_, r, f) = classify(&me(), vec![legacy], vec![theirs]);
        assert_eq!((r.len(), f.len()), (0, 1));
    }
}
