//! The checks of `doctor`: files on disk against the registry, and Docker
//! against the registry.

use std::collections::BTreeMap;

use super::{Finding, Repair, Severity};
use crate::compose::Project;
use crate::datadir::{self, Marker};
use crate::engine::{ContainerInfo, Engine, labels};
use crate::error::Error;
use crate::ops::instance::instance_project;
use crate::ports::{BindProbe, HostProbe};
use crate::registry::Registry;
use crate::render::InstanceFiles;
use crate::stack::Stack;

/// Files on disk against the registry: rendered files, data directories,
/// templates and compose files, leftovers of interrupted creates. Returns
/// the instances' projects that load, for the Docker checks.
pub(super) fn check_instances(
    stack: &Stack,
    registry: &Registry,
    findings: &mut Vec<Finding>,
) -> BTreeMap<String, Project> {
    let mut projects = BTreeMap::new();
    let stack_id = registry
        .stack
        .as_ref()
        .filter(|r| r.dir == stack.dir)
        .map(|r| r.id.as_str());
    let services = crate::compose::service_names(&stack.compose_paths());
    if let Err(e) = &services {
        findings.push(Finding::problem(
            "compose",
            Severity::Error,
            e.to_string(),
            Some("fix the compose file".into()),
            None,
        ));
    }
    for name in registry.names_sorted() {
        let inst = &registry.instances[name];
        let files = InstanceFiles::in_dir(stack.instance_dir(name));
        if !files.env.is_file() || !files.override_file.is_file() {
            findings.push(Finding::problem(
                "files",
                Severity::Error,
                format!(
                    "instance `{name}`: its rendered files in `{}` are missing",
                    files.dir.display()
                ),
                Some(format!("mrctl render {name}")),
                Some(Repair::Render(name.to_string())),
            ));
        } else {
            match instance_project(stack, name, inst) {
                Ok(project) => {
                    projects.insert(name.to_string(), project);
                }
                Err(e) => findings.push(Finding::problem(
                    "compose",
                    Severity::Error,
                    format!("instance `{name}`: {e}"),
                    Some("fix the compose file or the instance's env file".into()),
                    None,
                )),
            }
        }
        if let Ok(services) = &services {
            let context = crate::render::context_for(stack, name, inst, services.clone());
            let secrets = crate::secrets::Secrets::load(&files.secrets).unwrap_or_default();
            if let Err(e) = crate::render::render_instance(stack, &context, &secrets) {
                findings.push(Finding::problem(
                    "templates",
                    Severity::Error,
                    format!("instance `{name}`: {e}"),
                    Some("fix the template".into()),
                    None,
                ));
            }
        }
        let marker = Marker::new(stack.name(), stack_id, name, "data");
        match std::fs::symlink_metadata(&inst.data_dir) {
            Err(_) => findings.push(Finding::problem(
                "data",
                Severity::Error,
                format!("instance `{name}`: its data directory `{}` is missing", inst.data_dir.display()),
                Some("mrctl doctor --fix (recreates it empty), or restore a backup: mrctl restore FILE --force".to_string()),
                Some(Repair::DataDir(name.to_string())),
            )),
            Ok(_) => {
                if datadir::read_marker(&inst.data_dir).as_ref() != Some(&marker) {
                    let provable = provably_own_data_dir(stack, inst, projects.get(name));
                    findings.push(Finding::problem(
                        "data",
                        Severity::Warning,
                        format!(
                            "instance `{name}`: `{}` has no marker for this instance, so `clean` will not delete it{}",
                            inst.data_dir.display(),
                            if provable {
                                " (it holds only this instance's data and mount directories: the engine made it)"
                            } else {
                                ""
                            }
                        ),
                        Some(if provable {
                            "mrctl doctor --fix (marks it as this instance's)".into()
                        } else {
                            "check the directory; `clean --keep-data` leaves it alone".into()
                        }),
                        provable.then(|| Repair::MarkDataDir(name.to_string())),
                    ));
                }
            }
        }
    }
    // Rendered-file directories with no registry entry: an interrupted create or clean.
    if let Ok(entries) = std::fs::read_dir(&stack.instances_dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir()
                && crate::names::validate_instance_name(&name).is_ok()
                && !registry.instances.contains_key(&name)
            {
                findings.push(Finding::problem(
                    "files",
                    Severity::Warning,
                    format!(
                        "`{}` belongs to no registered instance (an interrupted create or clean?)",
                        entry.path().display()
                    ),
                    Some(format!("mrctl clean {name} --yes")),
                    Some(Repair::RemoveLeftover(name)),
                ));
            }
        }
    }
    projects
}

/// Whether an unmarked data directory can be proved to be the instance's:
/// it is the registered one, it lies under the data root, it holds no
/// marker, and each entry at its top is a directory that the instance's
/// configuration names (a data subdirectory, or the start of a bind-mount
/// source of one of its services) — what the engine leaves when it creates
/// missing bind-mount sources.
pub(super) fn provably_own_data_dir(
    stack: &Stack,
    inst: &crate::registry::Instance,
    project: Option<&Project>,
) -> bool {
    let dir = &inst.data_dir;
    let (Ok(real), Ok(root)) = (dir.canonicalize(), stack.data_root.canonicalize()) else {
        return false;
    };
    if !real.starts_with(&root) || real == root || datadir::read_marker(dir).is_some() {
        return false;
    }
    let mut known: Vec<std::ffi::OsString> = stack
        .config
        .instances
        .data_subdirs
        .iter()
        .map(Into::into)
        .collect();
    for svc in project.map(|p| p.services.values()).into_iter().flatten() {
        for m in &svc.mounts {
            if m.kind != crate::compose::MountKind::Bind {
                continue;
            }
            let Some(rest) = m
                .source
                .as_deref()
                .and_then(|s| std::path::Path::new(s).strip_prefix(dir).ok())
            else {
                continue;
            };
            if let Some(first) = rest.components().next() {
                known.push(first.as_os_str().to_owned());
            }
        }
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries
        .flatten()
        .all(|e| e.file_type().is_ok_and(|t| t.is_dir()) && known.contains(&e.file_name()))
}

/// Docker against the registry: missing containers, orphans, resources of
/// other stack directories holding an instance's project, helpers left by
/// killed backups, foreign ports. Three list calls see the whole engine.
pub(super) async fn check_docker(
    stack: &Stack,
    registry: &Registry,
    projects: &BTreeMap<String, Project>,
    engine: &Engine,
    findings: &mut Vec<Finding>,
) -> Result<(), Error> {
    let identity = crate::ops::instance::read_identity(stack, registry);
    let all_containers = engine.containers_labelled(labels::PROJECT, "").await?;
    let all_resources = engine.labelled_resources(labels::PROJECT, "").await?;
    let registered: BTreeMap<&str, &str> = registry
        .instances
        .iter()
        .map(|(n, i)| (i.project.as_str(), n.as_str()))
        .collect();
    // Per project: this stack directory's containers and resources, and the others'.
    let mut by_project: BTreeMap<String, (Vec<ContainerInfo>, Vec<crate::engine::Resource>)> =
        BTreeMap::new();
    for c in all_containers {
        by_project.entry(c.project.clone()).or_default().0.push(c);
    }
    for r in all_resources {
        by_project.entry(r.project.clone()).or_default().1.push(r);
    }
    let mut containers: Vec<ContainerInfo> = Vec::new();
    let mut orphans: BTreeMap<String, (usize, Vec<String>)> = BTreeMap::new();
    for (project, (cs, rs)) in by_project {
        let (mine, mine_res, foreign) = crate::engine::owned::classify(&identity, cs, rs);
        if let Some(instance) = registered.get(project.as_str()) {
            for f in &foreign {
                findings.push(Finding::problem(
                    "ownership",
                    Severity::Error,
                    format!(
                        "instance `{instance}`: {} `{}` carries its project `{project}` but belongs to {}; mrctl will not start, stop or clean the instance while it exists",
                        f.kind, f.name, f.owner
                    ),
                    Some(format!(
                        "remove it from its owner, or give `{instance}` another project name"
                    )),
                    None,
                ));
            }
            containers.extend(mine);
        } else if !mine.is_empty() || !mine_res.is_empty() {
            let entry = orphans.entry(project).or_default();
            entry.0 += mine.len();
            entry
                .1
                .extend(mine_res.iter().map(|r| format!("{} `{}`", r.kind, r.name)));
        }
    }
    for (project, (n_containers, others)) in &orphans {
        findings.push(Finding::problem(
            "orphans",
            Severity::Warning,
            format!(
                "project `{project}` has no registry entry but {n_containers} containers{}{}",
                if others.is_empty() { "" } else { " and " },
                others.join(", ")
            ),
            Some("mrctl doctor --fix --yes (removes them, volumes included)".into()),
            Some(Repair::RemoveProject(project.clone())),
        ));
    }
    for (_, helper, instance) in engine.helpers(&identity, None).await? {
        findings.push(Finding::problem(
            "helpers",
            Severity::Warning,
            format!(
                "helper container `{helper}` left by an interrupted backup or restore of instance `{instance}` holds its volumes"
            ),
            Some("mrctl doctor --fix (removes it)".into()),
            Some(Repair::RemoveHelpers(instance)),
        ));
    }
    for name in registry.names_sorted() {
        let inst = &registry.instances[name];
        let mine: Vec<&ContainerInfo> = containers
            .iter()
            .filter(|c| c.project == inst.project)
            .collect();
        if !mine.is_empty()
            && let Some(project) = projects.get(name)
        {
            let missing: Vec<&String> = project
                .services
                .keys()
                .filter(|s| !mine.iter().any(|c| &c.service == *s))
                .collect();
            if !missing.is_empty() {
                let list: Vec<String> = missing.iter().map(|s| format!("`{s}`")).collect();
                findings.push(Finding::problem(
                    "containers",
                    Severity::Error,
                    format!("instance `{name}`: no container for {}", list.join(", ")),
                    Some(format!("mrctl start {name}")),
                    Some(Repair::Start(name.to_string())),
                ));
            }
        }
        drift_findings(engine, name, projects.get(name), mine.is_empty(), findings).await?;
        let own_ports: Vec<u16> = mine
            .iter()
            .flat_map(|c| c.ports.iter().map(|p| p.host_port))
            .collect();
        for (port_name, port) in &inst.ports {
            if !own_ports.contains(port) && BindProbe.in_use(*port) {
                let holder = engine
                    .container_publishing(*port)
                    .await
                    .map(|c| format!("container `{c}`"))
                    .unwrap_or_else(|| "another process".into());
                findings.push(Finding::problem(
                    "ports",
                    Severity::Error,
                    format!("instance `{name}`: port {port} (`{port_name}`) is taken by {holder}"),
                    Some(format!("stop what holds port {port}, or pin another: edit `{name}` in instances.json")),
                    None,
                ));
            }
        }
    }
    Ok(())
}

/// What the engine holds for one instance against what it should: no
/// containers at all, containers that lost a network or publish other ports,
/// external networks that do not exist.
async fn drift_findings(
    engine: &Engine,
    name: &str,
    project: Option<&Project>,
    no_containers: bool,
    findings: &mut Vec<Finding>,
) -> Result<(), Error> {
    let start = format!("mrctl start {name}");
    if no_containers {
        findings.push(Finding::problem(
            "containers",
            Severity::Warning,
            format!(
                "instance `{name}` has no containers: it was never started or was removed; `{start}`"
            ),
            Some(start.clone()),
            Some(Repair::Start(name.to_string())),
        ));
    }
    let Some(project) = project else {
        return Ok(());
    };
    for network in engine.missing_external_networks(project).await? {
        findings.push(Finding::problem(
            "networks",
            Severity::Error,
            format!("instance `{name}`: external network `{network}` does not exist"),
            Some(format!("docker network create {network}")),
            None,
        ));
    }
    if no_containers {
        return Ok(());
    }
    for d in engine.project_drift(project).await? {
        findings.push(Finding::problem(
            "containers",
            Severity::Error,
            format!(
                "instance `{name}`: container `{}` of service `{}` {}",
                d.container, d.service, d.drift
            ),
            Some(start.clone()),
            Some(Repair::Start(name.to_string())),
        ));
    }
    Ok(())
}
