//! `mrctl doctor [--fix [--yes]]`: check the engine, the stack directory and
//! the registry against Docker and the disk, print each finding with the
//! command that fixes it, and with `--fix` repair what is safe (orphaned
//! Docker resources only with `--yes`). Exits non-zero while problems remain.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Ctx, instance_project, registry_file};
use crate::cli::DoctorArgs;
use crate::compose::Project;
use crate::datadir::{self, Marker};
use crate::engine::{ContainerInfo, Engine, labels};
use crate::error::Error;
use crate::ports::{BindProbe, HostProbe};
use crate::registry::Registry;
use crate::render::InstanceFiles;
use crate::stack::Stack;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Severity {
    Ok,
    Warning,
    Error,
}

/// A repair doctor can do itself.
#[derive(Debug, Clone, PartialEq)]
enum Repair {
    /// Run start on the instance (recreates missing containers).
    Start(String),
    /// Re-render the instance's files.
    Render(String),
    /// Recreate a missing data directory.
    DataDir(String),
    /// Remove a project's Docker resources (orphans): needs `--yes`.
    RemoveProject(String),
    /// Remove files left by an interrupted create or clean: needs `--yes`.
    RemoveLeftover(String),
    /// Remove the volume helpers a killed backup or restore left.
    RemoveHelpers(String),
    /// Mark a data directory the engine made (as a bind-mount source) as the instance's.
    MarkDataDir(String),
}

#[derive(Debug, Serialize)]
struct Finding {
    check: &'static str,
    severity: Severity,
    message: String,
    /// The command that fixes it.
    fix: Option<String>,
    fixed: bool,
    #[serde(skip)]
    repair: Option<Repair>,
}

impl Finding {
    fn ok(check: &'static str, message: String) -> Finding {
        Finding {
            check,
            severity: Severity::Ok,
            message,
            fix: None,
            fixed: false,
            repair: None,
        }
    }

    fn problem(
        check: &'static str,
        severity: Severity,
        message: String,
        fix: Option<String>,
        repair: Option<Repair>,
    ) -> Finding {
        Finding {
            check,
            severity,
            message,
            fix,
            fixed: false,
            repair,
        }
    }
}

pub fn run(ctx: &Ctx, args: &DoctorArgs) -> anyhow::Result<()> {
    let mut findings = Vec::new();
    let stack = match ctx.stack() {
        Ok(s) => {
            findings.push(Finding::ok(
                "config",
                format!("`{}` is valid", s.config_path.display()),
            ));
            Some(s)
        }
        Err(e) => {
            findings.push(Finding::problem(
                "config",
                Severity::Error,
                e.to_string(),
                Some("edit mrctl.toml".into()),
                None,
            ));
            None
        }
    };
    let rt = super::runtime()?;
    let engine = rt.block_on(async {
        match Engine::connect().await {
            Ok(engine) => {
                let version = engine.server_version().await.unwrap_or_default();
                findings.push(Finding::ok(
                    "engine",
                    format!(
                        "Docker {version} at `{}`, API {}",
                        engine.address, engine.api_version
                    ),
                ));
                Some(engine)
            }
            Err(e) => {
                findings.push(Finding::problem(
                    "engine",
                    Severity::Error,
                    e.to_string(),
                    Some("start Docker, or set DOCKER_HOST".into()),
                    None,
                ));
                None
            }
        }
    });
    if let Some(stack) = &stack {
        match registry_file(stack).load() {
            Ok(registry) => {
                findings.push(Finding::ok(
                    "registry",
                    format!("{} instances registered", registry.instances.len()),
                ));
                let projects = check_instances(stack, &registry, &mut findings);
                if let Some(engine) = &engine {
                    rt.block_on(check_docker(
                        stack,
                        &registry,
                        &projects,
                        engine,
                        &mut findings,
                    ))?;
                }
            }
            Err(e) => findings.push(Finding::problem(
                "registry",
                Severity::Error,
                e.to_string(),
                Some("fix instances.json by hand (it is never overwritten while invalid)".into()),
                None,
            )),
        }
    }
    if args.fix
        && let Some(stack) = &stack
    {
        rt.block_on(repair(ctx, stack, engine.as_ref(), args.yes, &mut findings));
    }
    let problems = findings
        .iter()
        .filter(|f| f.severity != Severity::Ok && !f.fixed)
        .count();
    let p = &ctx.printer;
    if p.json {
        p.json(
            &serde_json::json!({ "ok": problems == 0, "problems": problems, "findings": findings }),
        )?;
    } else {
        let rows: Vec<Vec<String>> = findings
            .iter()
            .map(|f| {
                let status = match (f.severity, f.fixed) {
                    (_, true) => "fixed",
                    (Severity::Ok, _) => "ok",
                    (Severity::Warning, _) => "warning",
                    (Severity::Error, _) => "error",
                };
                vec![
                    f.check.to_string(),
                    status.to_string(),
                    f.message.clone(),
                    if f.fixed {
                        "-".into()
                    } else {
                        f.fix.clone().unwrap_or_else(|| "-".into())
                    },
                ]
            })
            .collect();
        p.table(&["CHECK", "STATUS", "FINDING", "FIX"], &rows)?;
    }
    if problems > 0 {
        return Err(Error::DoctorProblems { count: problems }.into());
    }
    Ok(())
}

/// Files on disk against the registry: rendered files, data directories,
/// templates and compose files, leftovers of interrupted creates. Returns
/// the instances' projects that load, for the Docker checks.
fn check_instances(
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
fn provably_own_data_dir(
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
async fn check_docker(
    stack: &Stack,
    registry: &Registry,
    projects: &BTreeMap<String, Project>,
    engine: &Engine,
    findings: &mut Vec<Finding>,
) -> Result<(), Error> {
    let identity = super::read_identity(stack, registry);
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

/// Repairs what is safe; orphan and leftover removal only with `--yes`.
async fn repair(
    ctx: &Ctx,
    stack: &Stack,
    engine: Option<&Engine>,
    yes: bool,
    findings: &mut [Finding],
) {
    let p = ctx.printer;
    let mut done: Vec<Repair> = Vec::new();
    for f in findings.iter_mut() {
        let Some(repair) = f.repair.clone() else {
            continue;
        };
        // One start repairs every finding about that instance's containers.
        if done.contains(&repair) {
            f.fixed = true;
            continue;
        }
        let result: anyhow::Result<bool> = async {
            match &repair {
                Repair::Render(name) => {
                    let registry = registry_file(stack).lock()?;
                    let inst = registry.registry.instances[name].clone();
                    let services = crate::compose::service_names(&stack.compose_paths())?;
                    crate::render::rerender(stack, name, &inst, services)?;
                    Ok(true)
                }
                Repair::MarkDataDir(name) => {
                    let _lock = super::instance_lock(stack, name)?;
                    let registry = registry_file(stack).load()?;
                    let inst = &registry.instances[name];
                    let project = instance_project(stack, name, inst).ok();
                    if datadir::read_marker(&inst.data_dir).is_some()
                        || !provably_own_data_dir(stack, inst, project.as_ref())
                    {
                        return Ok(false);
                    }
                    let identity = super::identity(stack)?;
                    let marker = Marker::new(stack.name(), Some(&identity.id), name, "data");
                    datadir::write_marker(&inst.data_dir, &marker)?;
                    Ok(true)
                }
                Repair::DataDir(name) => {
                    let registry = registry_file(stack).load()?;
                    let inst = &registry.instances[name];
                    let identity = super::identity(stack)?;
                    let marker = Marker::new(stack.name(), Some(&identity.id), name, "data");
                    datadir::ensure_dir(
                        &inst.data_dir,
                        &stack.config.instances.data_subdirs,
                        &marker,
                    )?;
                    Ok(true)
                }
                Repair::Start(name) => {
                    let Some(engine) = engine else {
                        return Ok(false);
                    };
                    super::lifecycle::start::start_one(
                        ctx,
                        stack,
                        engine,
                        name,
                        std::time::Duration::from_secs(120),
                        false,
                    )
                    .await?;
                    Ok(true)
                }
                Repair::RemoveProject(project) => {
                    let Some(engine) = engine else {
                        return Ok(false);
                    };
                    if !yes {
                        p.warn(format!(
                            "not removing project `{project}`'s resources without `--yes`"
                        ));
                        return Ok(false);
                    }
                    let identity = super::identity(stack)?;
                    let owned = engine.owned(project, "(unregistered)", &identity).await?;
                    engine.remove_owned(&owned, true).await?;
                    Ok(true)
                }
                Repair::RemoveHelpers(instance) => {
                    let Some(engine) = engine else {
                        return Ok(false);
                    };
                    // Under the instance's lock: a live backup's helper stays.
                    let Some(_lock) = super::try_instance_lock(stack, instance)? else {
                        p.warn(format!(
                            "instance `{instance}` is busy (a backup or restore may be running); its helpers stay"
                        ));
                        return Ok(false);
                    };
                    let identity = super::identity(stack)?;
                    engine.remove_helpers(&identity, instance).await?;
                    Ok(true)
                }
                Repair::RemoveLeftover(name) => {
                    if !yes {
                        p.warn(format!(
                            "not removing the leftovers of `{name}` without `--yes`"
                        ));
                        return Ok(false);
                    }
                    let registry = registry_file(stack).lock()?;
                    if registry.registry.instances.contains_key(name) {
                        return Ok(false);
                    }
                    let identity = super::identity(stack)?;
                    let marker = Marker::new(stack.name(), Some(&identity.id), name, "files");
                    datadir::remove_checked(
                        &stack.instance_dir(name),
                        &stack.instances_dir,
                        &marker,
                    )?;
                    Ok(true)
                }
            }
        }
        .await;
        match result {
            Ok(fixed) => {
                f.fixed = fixed;
                if fixed {
                    done.push(repair);
                }
            }
            Err(e) => p.warn(format!("could not fix \"{}\": {e:#}", f.message)),
        }
    }
}
