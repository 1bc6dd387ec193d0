//! Who holds a host port, for `start`'s port check. A port the instance's
//! own container holds is no conflict whatever that container's state: a
//! start that was killed while the engine was starting it leaves a container
//! that the list still shows as created or exited, without ports, while the
//! engine already listens on them. Any other container is named with its
//! compose project and mrctl instance, so the operator knows what to stop.

use std::collections::HashMap;
use std::fmt;

use bollard::query_parameters::ListContainersOptionsBuilder;

use super::{ContainerInfo, Engine, labels};

/// What holds a host port, as far as the engine knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortHolder {
    /// A container of the project being started (in any state).
    Own,
    /// Another container.
    Container {
        name: String,
        project: Option<String>,
        instance: Option<String>,
        stack: Option<String>,
    },
}

impl fmt::Display for PortHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortHolder::Own => write!(f, "a container of this instance holds it"),
            PortHolder::Container {
                name,
                project,
                instance,
                stack,
            } => {
                write!(f, "container `{name}`")?;
                match (instance, stack) {
                    (Some(i), Some(s)) => write!(f, " of instance `{i}` of stack `{s}`")?,
                    (Some(i), None) => write!(f, " of instance `{i}`")?,
                    _ => {}
                }
                if let Some(p) = project {
                    write!(f, " (project `{p}`)")?;
                }
                write!(f, " publishes it")
            }
        }
    }
}

impl Engine {
    /// The container holding host `port`: one publishing it now (any state),
    /// else one of `own` (the project's containers as listed) whose
    /// configuration binds it. None: no container, another process.
    pub async fn port_holder(
        &self,
        port: u16,
        project: &str,
        own: &[ContainerInfo],
    ) -> Option<PortHolder> {
        let mut filters = HashMap::new();
        filters.insert("publish".to_string(), vec![port.to_string()]);
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        if let Ok(list) = self.docker.list_containers(Some(options)).await
            && let Some(c) = list.into_iter().next()
        {
            let labels = c.labels.unwrap_or_default();
            let c_project = labels.get(labels::PROJECT).cloned();
            if c_project.as_deref() == Some(project) {
                return Some(PortHolder::Own);
            }
            return Some(PortHolder::Container {
                name: super::first_name(c.names),
                project: c_project,
                instance: labels.get(labels::INSTANCE).cloned(),
                stack: labels.get(labels::STACK).cloned(),
            });
        }
        // The list shows no ports for a container that is not running, even
        // while the engine is starting it: read what it is configured to bind.
        for c in own.iter().filter(|c| c.state != "running") {
            let Ok(inspect) = self.docker.inspect_container(&c.id, None).await else {
                continue;
            };
            let bindings = inspect
                .host_config
                .and_then(|h| h.port_bindings)
                .unwrap_or_default();
            let binds = bindings.values().flatten().flatten().any(|b| {
                b.host_port
                    .as_deref()
                    .and_then(|p| p.parse::<u16>().ok())
                    .is_some_and(|p| p == port)
            });
            if binds {
                return Some(PortHolder::Own);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::PortHolder;

    #[test]
    fn a_holder_is_named_with_its_project_and_instance() {
        let holder = |project: Option<&str>, instance: Option<&str>, stack: Option<&str>| {
            PortHolder::Container {
                name: "x-web-1".into(),
                project: project.map(str::to_string),
                instance: instance.map(str::to_string),
                stack: stack.map(str::to_string),
            }
            .to_string()
        };
        assert_eq!(
            holder(Some("shop-b"), Some("b"), Some("shop")),
            "container `x-web-1` of instance `b` of stack `shop` (project `shop-b`) publishes it"
        );
        assert_eq!(
            holder(Some("other"), None, None),
            "container `x-web-1` (project `other`) publishes it"
        );
        assert_eq!(holder(None, None, None), "container `x-web-1` publishes it");
    }
}
