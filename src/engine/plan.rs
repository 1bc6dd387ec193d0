//! Convergence as data, pure: what `up` does to each service, decided from
//! the resolved project and what the engine showed. `plan` goes from the
//! project's inventory (containers with their config-hash label, number and
//! state) to one step per container a service runs (`replicas` of them,
//! numbered from 1) and one per container past that count (removed, the
//! highest number first), wave by wave; a container whose hash matches is
//! inspected when its turn comes, and `after_inspection` turns what was seen
//! (drift, limits, state) into the actions that follow. The executor
//! (`converge`) makes one kind of engine call per action.

use std::fmt;

use super::ContainerInfo;
use super::drift::Drift;
use super::limits::LimitSync;
use crate::compose::Project;

/// Why a container is made again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reason {
    /// Its config-hash label differs from the service's hash.
    ConfigChanged,
    /// A limit is to be lifted, which the engine cannot do in place.
    LimitLifted,
    /// Its image label names another image than the service's image is
    /// now (pulled or built since), as docker compose checks.
    ImageChanged,
    /// It drifted in a way connecting again cannot heal (`it …`).
    Drifted(String),
}

/// One thing `up` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// A container of the project with no service: reported, left alone.
    ReportOrphan { container: String },
    /// No container yet: create and start one.
    Create { service: String },
    /// Remove the container, create and start a new one.
    Recreate { service: String, reason: Reason },
    /// The hash matches: inspect the container (drift, limits), then act
    /// as `after_inspection` says.
    Inspect { service: String },
    /// Connect the container again to a network it lost.
    Reconnect { service: String, network: String },
    /// Change the container's limits in place.
    UpdateLimits { service: String },
    /// Start the (stopped) container.
    Start { service: String },
    /// Running as wanted: nothing to do.
    Keep { service: String },
    /// A container numbered past the service's count (it was scaled
    /// down): stop and remove it.
    RemoveSurplus { container: String },
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::ReportOrphan { container } => write!(f, "report orphan `{container}`"),
            Action::Create { service } => write!(f, "create `{service}`"),
            Action::Recreate { service, reason } => {
                let why = match reason {
                    Reason::ConfigChanged => "its configuration changed",
                    Reason::LimitLifted => "a limit is lifted",
                    Reason::ImageChanged => "its image changed",
                    Reason::Drifted(why) => why,
                };
                write!(f, "recreate `{service}`: {why}")
            }
            Action::Inspect { service } => write!(f, "inspect `{service}`"),
            Action::Reconnect { service, network } => {
                write!(f, "reconnect `{service}` to `{network}`")
            }
            Action::UpdateLimits { service } => write!(f, "update the limits of `{service}`"),
            Action::Start { service } => write!(f, "start `{service}`"),
            Action::Keep { service } => write!(f, "keep `{service}`"),
            Action::RemoveSurplus { container } => {
                write!(f, "remove `{container}`: the service runs fewer containers")
            }
        }
    }
}

/// The first action on one container of a service (its number, from 1),
/// with the container there now.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Step<'a> {
    pub service: &'a str,
    pub number: u32,
    pub current: Option<&'a ContainerInfo>,
    pub action: Action,
}

/// What `up` does, in order: orphans reported first, then the services
/// wave by wave (a wave's steps run together).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan<'a> {
    pub orphans: Vec<Action>,
    pub waves: Vec<Vec<Step<'a>>>,
}

#[cfg(test)]
impl Plan<'_> {
    /// One line per action, `N: action` for a step of wave N (from 1),
    /// with ` #K` for a container numbered K past the first.
    pub fn lines(&self) -> Vec<String> {
        let orphans = self.orphans.iter().map(|a| a.to_string());
        let steps = self.waves.iter().enumerate().flat_map(|(i, wave)| {
            wave.iter().map(move |s| match (&s.action, s.number) {
                (Action::RemoveSurplus { .. }, _) | (_, 1) => format!("{}: {}", i + 1, s.action),
                (_, n) => format!("{}: {} #{n}", i + 1, s.action),
            })
        });
        orphans.chain(steps).collect()
    }
}

/// The plan of bringing `project` up over the containers it has now.
pub(crate) fn plan<'a>(project: &'a Project, existing: &'a [ContainerInfo]) -> Plan<'a> {
    let orphans = existing
        .iter()
        .filter(|c| !project.services.contains_key(&c.service))
        .map(|c| Action::ReportOrphan {
            container: c.name.clone(),
        })
        .collect();
    let hashes = project.config_hashes().services;
    // Services whose container this plan makes (again): a container that
    // holds one of theirs by id (its network namespace, its volumes) is
    // made again after them.
    let mut remade: Vec<&str> = Vec::new();
    let waves = project
        .waves
        .iter()
        .map(|wave| {
            let steps: Vec<Step<'a>> = wave
                .iter()
                .flat_map(|name| service_steps(project, name, existing, hashes.get(name), &remade))
                .collect();
            for step in &steps {
                if matches!(step.action, Action::Create { .. } | Action::Recreate { .. }) {
                    remade.push(step.service);
                }
            }
            steps
        })
        .collect();
    Plan { orphans, waves }
}

/// Whether a container made from image `recorded` (its image label) is
/// out of date now that the service's image is `current`: both known and
/// different. A container without the label (made by hand or by an older
/// tool) is not judged by it.
pub(crate) fn image_changed(recorded: Option<&str>, current: Option<&str>) -> bool {
    matches!((recorded, current), (Some(r), Some(c)) if r != c)
}

/// The steps of one service: its surplus containers removed, the highest
/// number first (as compose scales down), then one step per number from 1
/// to its count, on the container of that number if there is one.
///
/// `hash` is the service's config hash; a service holding the container of
/// one in `remade` (its network namespace, its volumes, by id) is made again
/// after it.
fn service_steps<'a>(
    project: &'a Project,
    name: &'a String,
    existing: &'a [ContainerInfo],
    hash: Option<&String>,
    remade: &[&str],
) -> Vec<Step<'a>> {
    let svc = &project.services[name];
    let holds = super::translate_more::held_services(&svc.settings)
        .into_iter()
        .find(|h| remade.contains(&h.as_str()));
    let mut mine: Vec<&ContainerInfo> = existing.iter().filter(|c| &c.service == name).collect();
    mine.sort_by_key(|c| c.number());
    let mut steps = Vec::new();
    let mut taken = Vec::new();
    for number in 1..=svc.replicas {
        // Of two containers with one number, the second listed is surplus.
        let current = mine.iter().find(|c| c.number() == number).copied();
        if let Some(c) = current {
            taken.push(c.id.as_str());
        }
        let service = svc.name.clone();
        let action = match (current, &holds) {
            (None, _) => Action::Create { service },
            (Some(_), Some(held)) => Action::Recreate {
                service,
                reason: Reason::Drifted(format!(
                    "the container of `{held}` it shares is made again"
                )),
            },
            (Some(c), None) if c.config_hash.as_ref() == hash => Action::Inspect { service },
            (Some(_), None) => Action::Recreate {
                service,
                reason: Reason::ConfigChanged,
            },
        };
        steps.push(Step {
            service: name.as_str(),
            number,
            current,
            action,
        });
    }
    let surplus = mine
        .iter()
        .rev()
        .filter(|c| !taken.contains(&c.id.as_str()))
        .map(|c| Step {
            service: name.as_str(),
            number: c.number(),
            current: Some(*c),
            action: Action::RemoveSurplus {
                container: c.name.clone(),
            },
        });
    surplus.chain(steps).collect()
}

/// What to do with a container whose hash matches, given how it `drift`s
/// from its service, what its `limits` need, and whether it is `running`.
/// Drift that connecting again cannot heal wins: the container is made
/// again (and gets the limits with it). Otherwise lost networks are
/// connected again, then the limits are changed in place or, when one is
/// lifted, the container is made again; a container kept is started if
/// it is not running.
pub(crate) fn after_inspection(
    service: &str,
    running: bool,
    drift: &[Drift],
    limits: LimitSync,
) -> Vec<Action> {
    let service = service.to_string();
    if let Some(d) = drift.iter().find(|d| !d.reconnects()) {
        return vec![Action::Recreate {
            service,
            reason: Reason::Drifted(format!("it {d}")),
        }];
    }
    let mut actions: Vec<Action> = drift
        .iter()
        .filter_map(|d| match d {
            Drift::Detached { network } => Some(Action::Reconnect {
                service: service.clone(),
                network: network.clone(),
            }),
            _ => None,
        })
        .collect();
    match limits {
        LimitSync::NeedsRecreate => {
            actions.push(Action::Recreate {
                service,
                reason: Reason::LimitLifted,
            });
            return actions;
        }
        LimitSync::Updated => actions.push(Action::UpdateLimits {
            service: service.clone(),
        }),
        LimitSync::Same => {}
    }
    actions.push(if running {
        Action::Keep { service }
    } else {
        Action::Start { service }
    });
    actions
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::engine::drift::tests::project;

    const YAML: &str = concat!(
        "services:\n",
        "  web:\n    image: busybox\n    depends_on: [api]\n",
        "  api:\n    image: busybox\n    depends_on: [db, cache]\n",
        "  db:\n    image: busybox\n",
        "  cache:\n    image: busybox\n",
    );

    fn container(p: &Project, service: &str, hash: Option<String>, state: &str) -> ContainerInfo {
        ContainerInfo {
            id: format!("id-{service}"),
            name: format!("p-{service}-1"),
            project: p.name.clone(),
            service: service.to_string(),
            instance: Some("alpha".into()),
            stack: Some("shop".into()),
            state: state.to_string(),
            health: None,
            status: String::new(),
            image: "busybox".into(),
            config_hash: hash,
            ports: Vec::new(),
            labels: HashMap::new(),
        }
    }

    /// A container of `service` as `up` would have made it.
    fn current(p: &Project, service: &str, state: &str) -> ContainerInfo {
        let hash = p.config_hash(service);
        container(p, service, Some(hash), state)
    }

    #[test]
    fn a_container_of_another_image_is_out_of_date() {
        assert!(image_changed(Some("sha256:a"), Some("sha256:b")));
        assert!(!image_changed(Some("sha256:a"), Some("sha256:a")));
        assert!(!image_changed(None, Some("sha256:b")));
        assert!(!image_changed(Some("sha256:a"), None));
    }

    #[test]
    fn nothing_there_creates_everything_in_dependency_order() {
        let p = project(YAML);
        assert_eq!(
            plan(&p, &[]).lines(),
            [
                "1: create `db`",
                "1: create `cache`",
                "2: create `api`",
                "3: create `web`"
            ]
        );
    }

    #[test]
    fn a_matching_hash_is_inspected_a_changed_one_recreated() {
        let p = project(YAML);
        let existing = [
            current(&p, "db", "running"),
            container(&p, "cache", Some("old".into()), "running"),
            // No hash label at all (made by hand): made again too.
            container(&p, "api", None, "exited"),
        ];
        let plan = plan(&p, &existing);
        assert_eq!(
            plan.lines(),
            [
                "1: inspect `db`",
                "1: recreate `cache`: its configuration changed",
                "2: recreate `api`: its configuration changed",
                "3: create `web`"
            ]
        );
        // Each step carries the container it acts on.
        assert_eq!(plan.waves[0][1].current, Some(&existing[1]));
        assert_eq!(plan.waves[2][0].current, None);
    }

    #[test]
    fn orphans_are_reported_first_and_left_alone() {
        let p = project(YAML);
        let existing = [
            container(&p, "old", Some("x".into()), "running"),
            current(&p, "db", "running"),
        ];
        let lines = plan(&p, &existing).lines();
        assert_eq!(lines[0], "report orphan `p-old-1`");
        assert_eq!(lines[1], "1: inspect `db`");
        assert_eq!(lines.len(), 5);
    }

    /// Container number `n` of `service`, with `hash` (the service's own
    /// when `None`).
    fn replica(p: &Project, service: &str, n: u32, hash: Option<&str>) -> ContainerInfo {
        let hash = hash.map_or_else(|| p.config_hash(service), str::to_string);
        let mut c = container(p, service, Some(hash), "running");
        c.id = format!("id-{service}-{n}");
        c.name = format!("p-{service}-{n}");
        c.labels
            .insert(crate::engine::labels::NUMBER.into(), n.to_string());
        c
    }

    #[test]
    fn scaling_up_creates_the_missing_numbers() {
        let p = project("services:\n  web:\n    image: busybox\n    scale: 3\n");
        let existing = [replica(&p, "web", 1, None)];
        let plan = plan(&p, &existing);
        assert_eq!(
            plan.lines(),
            [
                "1: inspect `web`",
                "1: create `web` #2",
                "1: create `web` #3"
            ]
        );
        assert_eq!(plan.waves[0][0].current, Some(&existing[0]));
        assert_eq!(plan.waves[0][2].number, 3);
    }

    #[test]
    fn scaling_down_removes_the_highest_numbers_first() {
        let p = project("services:\n  web:\n    image: busybox\n    deploy: {replicas: 1}\n");
        let existing = [
            replica(&p, "web", 2, None),
            replica(&p, "web", 1, None),
            replica(&p, "web", 3, Some("old")),
        ];
        assert_eq!(
            plan(&p, &existing).lines(),
            [
                "1: remove `p-web-3`: the service runs fewer containers",
                "1: remove `p-web-2`: the service runs fewer containers",
                "1: inspect `web`"
            ]
        );
        // Zero replicas: every container goes, none is made.
        let none = project("services:\n  web:\n    image: busybox\n    scale: 0\n");
        let lines = plan(&none, &existing).lines();
        assert_eq!(lines.len(), 3);
        assert!(lines.iter().all(|l| l.contains("remove")), "{lines:?}");
    }

    #[test]
    fn one_replica_whose_configuration_changed_is_recreated_alone() {
        let p = project(concat!(
            "services:\n  web:\n    image: busybox\n    scale: 2\n    depends_on: [db]\n",
            "  db:\n    image: busybox\n",
        ));
        let existing = [
            replica(&p, "web", 1, None),
            replica(&p, "web", 2, Some("old")),
            // Two containers claim number 1 (a killed start): one is surplus.
            replica(&p, "db", 1, None),
            {
                let mut twin = replica(&p, "db", 1, None);
                twin.id = "id-db-twin".into();
                twin.name = "p-db-1-twin".into();
                twin
            },
        ];
        assert_eq!(
            plan(&p, &existing).lines(),
            [
                "1: remove `p-db-1-twin`: the service runs fewer containers",
                "1: inspect `db`",
                "2: inspect `web`",
                "2: recreate `web`: its configuration changed #2"
            ]
        );
    }

    #[test]
    fn a_container_as_wanted_is_kept_or_started() {
        assert_eq!(
            after_inspection("db", true, &[], LimitSync::Same),
            [Action::Keep {
                service: "db".into()
            }]
        );
        assert_eq!(
            after_inspection("db", false, &[], LimitSync::Same),
            [Action::Start {
                service: "db".into()
            }]
        );
    }

    fn lines(actions: Vec<Action>) -> Vec<String> {
        actions.into_iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn limits_change_in_place_before_the_start_or_recreate_when_lifted() {
        assert_eq!(
            lines(after_inspection("db", false, &[], LimitSync::Updated)),
            ["update the limits of `db`", "start `db`"]
        );
        assert_eq!(
            lines(after_inspection("db", true, &[], LimitSync::NeedsRecreate)),
            ["recreate `db`: a limit is lifted"]
        );
    }

    #[test]
    fn lost_networks_are_reconnected_other_drift_recreates() {
        let detached = |n: &str| Drift::Detached { network: n.into() };
        assert_eq!(
            lines(after_inspection(
                "web",
                true,
                &[detached("p_front"), detached("p_back")],
                LimitSync::Updated
            )),
            [
                "reconnect `web` to `p_front`",
                "reconnect `web` to `p_back`",
                "update the limits of `web`",
                "keep `web`"
            ]
        );
        // Reconnected, then made again for a lifted limit.
        assert_eq!(
            lines(after_inspection(
                "web",
                true,
                &[detached("p_front")],
                LimitSync::NeedsRecreate
            )),
            [
                "reconnect `web` to `p_front`",
                "recreate `web`: a limit is lifted"
            ]
        );
        // Drift a reconnect cannot heal recreates, whatever else is seen.
        let stale = Drift::StaleNetwork {
            network: "p_back".into(),
        };
        let actions = after_inspection(
            "web",
            true,
            &[detached("p_front"), stale.clone()],
            LimitSync::Updated,
        );
        assert_eq!(
            actions,
            [Action::Recreate {
                service: "web".into(),
                reason: Reason::Drifted(format!("it {stale}")),
            }]
        );
        assert_eq!(
            lines(actions),
            [
                "recreate `web`: it is attached to a network `p_back` that was removed (the id it holds is gone)"
            ]
        );
    }
    #[test]
    fn a_container_sharing_one_made_again_is_made_again_after_it() {
        let yaml = concat!(
            "services:\n  db:\n    image: busybox\n",
            "  side:\n    image: busybox\n    network_mode: service:db\n",
            "  reader:\n    image: busybox\n    volumes_from: [db]\n",
            "  linked:\n    image: busybox\n    links: [db]\n",
        );
        let p = project(yaml);
        let mut existing: Vec<ContainerInfo> = ["side", "reader", "linked"]
            .iter()
            .map(|s| current(&p, s, "running"))
            .collect();
        // db's configuration changed: it is made again, and so are the
        // containers holding its namespace or its volumes (a link follows
        // the name).
        existing.push(container(&p, "db", Some("old".into()), "running"));
        assert_eq!(
            plan(&p, &existing).lines(),
            [
                "1: recreate `db`: its configuration changed",
                "2: recreate `side`: the container of `db` it shares is made again",
                "2: recreate `reader`: the container of `db` it shares is made again",
                "2: inspect `linked`",
            ]
        );
        // db kept: nothing else is made again.
        existing.pop();
        existing.push(current(&p, "db", "running"));
        assert_eq!(
            plan(&p, &existing).lines(),
            [
                "1: inspect `db`",
                "2: inspect `side`",
                "2: inspect `reader`",
                "2: inspect `linked`",
            ]
        );
    }
}
