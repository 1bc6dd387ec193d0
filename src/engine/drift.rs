//! Drift: what a container whose configuration hash still matches can have
//! lost behind mrctl's back: a network it was disconnected from, a network
//! removed and created again under it (the container holds the old id), its
//! aliases, published ports that differ from the service's. `compare` is
//! pure; `start` reconnects or recreates (see `plan`), `doctor` and `health`
//! report it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use bollard::models::{ContainerInspectResponse, NetworkConnectRequest};

use super::up::Event;
use super::{ContainerInfo, Engine, reason};
use crate::compose::{Project, Service};
use crate::error::Error;

/// One way a container differs from its service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// Not attached to a network the service is on.
    Detached { network: String },
    /// Attached to a network of that name which no longer exists: it was
    /// removed (and maybe created again, under another id).
    StaleNetwork { network: String },
    /// Attached, but without some of the service's aliases.
    Aliases {
        network: String,
        missing: Vec<String>,
    },
    /// The published ports (HostConfig.PortBindings) differ from the service's.
    Ports { want: String, have: String },
}

impl Drift {
    /// Whether connecting the container again heals it; anything else needs
    /// a new container.
    pub fn reconnects(&self) -> bool {
        matches!(self, Drift::Detached { .. })
    }
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Drift::Detached { network } => write!(f, "is not attached to network `{network}`"),
            Drift::StaleNetwork { network } => write!(
                f,
                "is attached to a network `{network}` that was removed (the id it holds is gone)"
            ),
            Drift::Aliases { network, missing } => {
                let list: Vec<String> = missing.iter().map(|a| format!("`{a}`")).collect();
                write!(
                    f,
                    "lacks the alias {} on network `{network}`",
                    list.join(", ")
                )
            }
            Drift::Ports { want, have } => write!(f, "publishes {have} instead of {want}"),
        }
    }
}

/// Published ports by `target/protocol`, each a sorted list of (host ip, host port).
type Bindings = BTreeMap<String, Vec<(String, String)>>;

/// What the service wants of its container's attachments and ports.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Desired {
    /// Network name, the ids the engine knows under that name now, aliases.
    pub networks: Vec<(String, Vec<String>, Vec<String>)>,
    pub ports: Bindings,
}

/// What the engine reports of a container (inspect).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observed {
    /// Network name → (network id, aliases).
    pub networks: HashMap<String, (String, Vec<String>)>,
    pub ports: Bindings,
}

impl Desired {
    /// The service's wishes; `ids` maps network names to the ids the engine has.
    pub fn of(project: &Project, svc: &Service, ids: &HashMap<String, Vec<String>>) -> Desired {
        let networks = svc
            .networks
            .iter()
            .filter_map(|(key, aliases)| {
                let name = project.networks.get(key)?.name.clone();
                let mut all = vec![svc.name.clone()];
                all.extend(aliases.iter().cloned());
                let known = ids.get(&name).cloned().unwrap_or_default();
                Some((name, known, all))
            })
            .collect();
        let mut ports = Bindings::new();
        for p in &svc.ports {
            ports
                .entry(format!("{}/{}", p.target, p.protocol))
                .or_default()
                .push((
                    p.host_ip.clone().unwrap_or_default(),
                    p.host_port().unwrap_or_default(),
                ));
        }
        for v in ports.values_mut() {
            v.sort();
        }
        Desired { networks, ports }
    }
}

impl Observed {
    pub fn of(inspect: &ContainerInspectResponse) -> Observed {
        let networks = inspect
            .network_settings
            .as_ref()
            .and_then(|s| s.networks.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|(name, e)| {
                (
                    name,
                    (
                        e.network_id.unwrap_or_default(),
                        e.aliases.unwrap_or_default(),
                    ),
                )
            })
            .collect();
        let mut ports = Bindings::new();
        let bindings = inspect
            .host_config
            .as_ref()
            .and_then(|h| h.port_bindings.clone())
            .unwrap_or_default();
        for (key, list) in bindings {
            let mut v: Vec<(String, String)> = list
                .unwrap_or_default()
                .into_iter()
                .map(|b| {
                    (
                        b.host_ip.unwrap_or_default(),
                        b.host_port.unwrap_or_default(),
                    )
                })
                .collect();
            v.sort();
            ports.insert(key, v);
        }
        ports.retain(|_, v| !v.is_empty());
        Observed { networks, ports }
    }
}

/// `127.0.0.1:8080->80/tcp, 9000->9000/udp`, or `no ports`.
fn describe_ports(b: &Bindings) -> String {
    let mut out = Vec::new();
    for (key, list) in b {
        let target = key.split_once('/').map(|(t, _)| t).unwrap_or(key);
        let proto = key.split_once('/').map(|(_, p)| p).unwrap_or("tcp");
        for (ip, port) in list {
            let host = match (ip.as_str(), port.as_str()) {
                ("", "") => "any port".to_string(),
                ("", p) => p.to_string(),
                (ip, "") => format!("{ip}:any port"),
                (ip, p) => format!("{ip}:{p}"),
            };
            out.push(format!("{host}->{target}/{proto}"));
        }
    }
    if out.is_empty() {
        "no ports".into()
    } else {
        format!("`{}`", out.join(", "))
    }
}

/// Every way `observed` differs from `desired`, networks first. Networks the
/// container is on beyond the service's are left alone.
pub fn compare(desired: &Desired, observed: &Observed) -> Vec<Drift> {
    let mut out = Vec::new();
    for (name, ids, aliases) in &desired.networks {
        match observed.networks.get(name) {
            None => out.push(Drift::Detached {
                network: name.clone(),
            }),
            Some((id, _)) if !ids.contains(id) => out.push(Drift::StaleNetwork {
                network: name.clone(),
            }),
            Some((_, have)) => {
                let missing: Vec<String> = aliases
                    .iter()
                    .filter(|a| !have.contains(a))
                    .cloned()
                    .collect();
                if !missing.is_empty() {
                    out.push(Drift::Aliases {
                        network: name.clone(),
                        missing,
                    });
                }
            }
        }
    }
    if desired.ports != observed.ports {
        out.push(Drift::Ports {
            want: describe_ports(&desired.ports),
            have: describe_ports(&observed.ports),
        });
    }
    out
}

/// One container's drift, for doctor.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerDrift {
    pub service: String,
    pub container: String,
    pub drift: Drift,
}

impl Engine {
    async fn inspect_named(&self, container: &str) -> Result<ContainerInspectResponse, Error> {
        self.docker
            .inspect_container(container, None)
            .await
            .map_err(|e| self.error(&format!("inspect container `{container}`"), &e))
    }

    /// The drift of every container of `project` from its service.
    pub async fn project_drift(&self, project: &Project) -> Result<Vec<ContainerDrift>, Error> {
        let ids = self.network_ids().await?;
        let mut out = Vec::new();
        for c in self.project_containers(&project.name).await? {
            let Some(svc) = project.services.get(&c.service) else {
                continue;
            };
            let inspect = self.inspect_named(&c.name).await?;
            let desired = Desired::of(project, svc, &ids);
            for drift in compare(&desired, &Observed::of(&inspect)) {
                out.push(ContainerDrift {
                    service: c.service.clone(),
                    container: c.name.clone(),
                    drift,
                });
            }
        }
        Ok(out)
    }

    /// Connects container `c` of `svc` again to `network`, which it lost,
    /// with the service's aliases there.
    pub(crate) async fn reconnect(
        &self,
        project: &Project,
        svc: &Service,
        c: &ContainerInfo,
        network: &str,
        on: &(dyn Fn(Event) + Sync),
    ) -> Result<(), Error> {
        let key = svc
            .networks
            .keys()
            .find(|k| project.networks.get(*k).is_some_and(|n| n.name == network));
        let request = NetworkConnectRequest {
            container: c.name.clone(),
            endpoint_config: Some(super::translate::endpoint(
                svc,
                key.map(String::as_str).unwrap_or_default(),
                c.name.trim_start_matches('/'),
            )),
        };
        self.docker
            .connect_network(network, request)
            .await
            .map_err(|e| Error::Docker {
                action: format!(
                    "connect container `{}` to network `{network}` again",
                    c.name
                ),
                reason: reason(&e),
            })?;
        on(Event::Reconnected {
            container: c.name.clone(),
            network: network.to_string(),
        });
        Ok(())
    }
}

/// How the container `inspect` shows differs from `svc` (`ids`: the
/// engine's network ids by name): what the hash cannot see.
pub(super) fn drift_seen(
    project: &Project,
    svc: &Service,
    ids: &HashMap<String, Vec<String>>,
    inspect: &ContainerInspectResponse,
) -> Vec<Drift> {
    compare(&Desired::of(project, svc, ids), &Observed::of(inspect))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A project `p` resolved from one compose text.
    pub(crate) fn project(yaml: &str) -> Project {
        let files = [std::path::PathBuf::from("docker-compose.yml")];
        crate::compose::resolve(
            &crate::compose::LoadOptions {
                project: "p",
                working_dir: std::path::Path::new("/srv"),
                files: &files,
                variables: &Default::default(),
                profiles: &[],
            },
            &[yaml.to_string()],
        )
        .unwrap()
    }

    fn bindings(list: &[(&str, &str, &str)]) -> Bindings {
        let mut b = Bindings::new();
        for (key, ip, port) in list {
            b.entry(key.to_string())
                .or_default()
                .push((ip.to_string(), port.to_string()));
        }
        b
    }

    fn desired() -> Desired {
        Desired {
            networks: vec![
                (
                    "p_default".into(),
                    vec!["id1".into()],
                    vec!["web".into(), "www".into()],
                ),
                ("p_back".into(), vec!["id2".into()], vec!["web".into()]),
            ],
            ports: bindings(&[("80/tcp", "", "8080")]),
        }
    }

    fn observed() -> Observed {
        Observed {
            networks: HashMap::from([
                (
                    "p_default".to_string(),
                    (
                        "id1".to_string(),
                        vec!["web".into(), "www".into(), "abc123".into()],
                    ),
                ),
                (
                    "p_back".to_string(),
                    ("id2".to_string(), vec!["web".into()]),
                ),
            ]),
            ports: bindings(&[("80/tcp", "", "8080")]),
        }
    }

    #[test]
    fn a_container_as_created_has_no_drift() {
        assert_eq!(compare(&desired(), &observed()), []);
        // A network it is on beyond the service's is not drift.
        let mut o = observed();
        o.networks
            .insert("bridge".into(), ("id9".into(), Vec::new()));
        assert_eq!(compare(&desired(), &o), []);
    }

    #[test]
    fn a_disconnected_network_is_reconnected() {
        let mut o = observed();
        o.networks.remove("p_back");
        let d = compare(&desired(), &o);
        assert_eq!(
            d,
            [Drift::Detached {
                network: "p_back".into()
            }]
        );
        assert!(d[0].reconnects());
        assert_eq!(d[0].to_string(), "is not attached to network `p_back`");
    }

    #[test]
    fn a_network_removed_and_made_again_is_stale() {
        let mut o = observed();
        o.networks
            .insert("p_back".into(), ("old-id".into(), vec!["web".into()]));
        let d = compare(&desired(), &o);
        assert_eq!(
            d,
            [Drift::StaleNetwork {
                network: "p_back".into()
            }]
        );
        assert!(!d[0].reconnects());
        // Gone altogether (no id under that name) is stale too.
        let mut want = desired();
        want.networks[1].1.clear();
        assert_eq!(compare(&want, &o), d);
    }

    #[test]
    fn missing_aliases_are_named() {
        let mut o = observed();
        o.networks
            .insert("p_default".into(), ("id1".into(), vec!["web".into()]));
        let d = compare(&desired(), &o);
        assert_eq!(
            d[0].to_string(),
            "lacks the alias `www` on network `p_default`"
        );
        assert!(!d[0].reconnects());
    }

    #[test]
    fn different_ports_are_named_as_the_engine_reports_them() {
        let mut o = observed();
        o.ports = bindings(&[("80/tcp", "127.0.0.1", "9090"), ("81/udp", "", "")]);
        let d = compare(&desired(), &o);
        assert_eq!(
            d[0].to_string(),
            "publishes `127.0.0.1:9090->80/tcp, any port->81/udp` instead of `8080->80/tcp`"
        );
        o.ports.clear();
        assert_eq!(
            compare(&desired(), &o)[0].to_string(),
            "publishes no ports instead of `8080->80/tcp`"
        );
    }

    #[test]
    fn desired_comes_from_the_service() {
        let yaml = "services:\n  web:\n    image: busybox\n    ports: [\"127.0.0.1:8080:80\", \"9000:9000/udp\"]\n    networks:\n      default:\n        aliases: [www]\n";
        let project = project(yaml);
        let ids = HashMap::from([("p_default".to_string(), vec!["n1".to_string()])]);
        let d = Desired::of(&project, &project.services["web"], &ids);
        assert_eq!(
            d.networks,
            [(
                "p_default".to_string(),
                vec!["n1".to_string()],
                vec!["web".to_string(), "www".to_string()]
            )]
        );
        assert_eq!(
            d.ports,
            bindings(&[("80/tcp", "127.0.0.1", "8080"), ("9000/udp", "", "9000")])
        );
    }
}
