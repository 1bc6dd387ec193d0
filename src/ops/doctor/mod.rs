//! `doctor`: checks of the engine, the stack directory and the registry
//! against Docker and the disk, each finding with the command that fixes
//! it, and the repairs that are safe (orphaned Docker resources and
//! leftovers only when asked).

mod checks;

use serde::Serialize;

use super::instance::{instance_project, registry_file};
use super::{Engines, Progress, Sink};
use crate::datadir::{self, Marker};
use crate::engine::Engine;
use crate::error::Error;
use crate::stack::Stack;
use checks::{check_docker, check_instances, provably_own_data_dir};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    Warning,
    Error,
}

/// A repair doctor can do itself.
#[derive(Debug, Clone, PartialEq)]
pub enum Repair {
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
pub struct Finding {
    pub check: &'static str,
    pub severity: Severity,
    pub message: String,
    /// The command that fixes it.
    pub fix: Option<String>,
    pub fixed: bool,
    #[serde(skip)]
    pub repair: Option<Repair>,
}

impl Finding {
    pub(super) fn ok(check: &'static str, message: String) -> Finding {
        Finding {
            check,
            severity: Severity::Ok,
            message,
            fix: None,
            fixed: false,
            repair: None,
        }
    }

    pub(super) fn problem(
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

/// What to do besides checking.
#[derive(Debug, Clone, Copy, Default)]
pub struct DoctorSpec {
    /// Repair what is safe.
    pub fix: bool,
    /// Also remove orphaned resources and leftovers.
    pub yes: bool,
}

/// Every finding, repaired or not.
#[derive(Debug, Serialize)]
pub struct DoctorReport {
    pub ok: bool,
    /// Findings that are problems and were not fixed.
    pub problems: usize,
    pub findings: Vec<Finding>,
}

/// Checks the engine, the stack directory (`stack`, or why it did not
/// load) and the registry against Docker and the disk; with `fix`, repairs
/// what is safe.
pub async fn doctor<E: Engines>(
    stack: Result<Stack, Error>,
    engines: &E,
    spec: &DoctorSpec,
    sink: &dyn Sink,
) -> Result<DoctorReport, Error> {
    let mut findings = Vec::new();
    let stack = match stack {
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
    let engine = {
        match engines.engine().await {
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
    };
    if let Some(stack) = &stack {
        match registry_file(stack).load() {
            Ok(registry) => {
                findings.push(Finding::ok(
                    "registry",
                    format!("{} instances registered", registry.instances.len()),
                ));
                let projects = check_instances(stack, &registry, &mut findings);
                if let Some(engine) = &engine {
                    check_docker(stack, &registry, &projects, engine, &mut findings).await?;
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
    if spec.fix
        && let Some(stack) = &stack
    {
        repair(stack, engine, spec.yes, &mut findings, sink).await;
    }
    let problems = findings
        .iter()
        .filter(|f| f.severity != Severity::Ok && !f.fixed)
        .count();
    Ok(DoctorReport {
        ok: problems == 0,
        problems,
        findings,
    })
}

/// Repairs what is safe; orphan and leftover removal only with `--yes`.
async fn repair(
    stack: &Stack,
    engine: Option<&Engine>,
    yes: bool,
    findings: &mut [Finding],
    sink: &dyn Sink,
) {
    let warn = |text: String| sink.send(Progress::Warning(text));
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
                    let _lock = crate::ops::instance::instance_lock(stack, name)?;
                    let registry = registry_file(stack).load()?;
                    let inst = &registry.instances[name];
                    let project = instance_project(stack, name, inst).ok();
                    if datadir::read_marker(&inst.data_dir).is_some()
                        || !provably_own_data_dir(stack, inst, project.as_ref())
                    {
                        return Ok(false);
                    }
                    let identity = crate::ops::instance::identity(stack)?;
                    let marker = Marker::new(stack.name(), Some(&identity.id), name, "data");
                    datadir::write_marker(&inst.data_dir, &marker)?;
                    Ok(true)
                }
                Repair::DataDir(name) => {
                    let registry = registry_file(stack).load()?;
                    let inst = &registry.instances[name];
                    let identity = crate::ops::instance::identity(stack)?;
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
                    let spec = crate::ops::start::StartSpec {
                        name: name.clone(),
                        timeout: std::time::Duration::from_secs(120),
                        wait: false,
                        build: false,
                        profiles: Vec::new(),
                    };
                    let report = crate::ops::start::start(stack, engine, &spec, sink).await?;
                    sink.send(Progress::Note(format!(
                        "instance `{name}` is up (project `{}`)",
                        report.project
                    )));
                    Ok(true)
                }
                Repair::RemoveProject(project) => {
                    let Some(engine) = engine else {
                        return Ok(false);
                    };
                    if !yes {
                        warn(format!(
                            "not removing project `{project}`'s resources without `--yes`"
                        ));
                        return Ok(false);
                    }
                    let identity = crate::ops::instance::identity(stack)?;
                    let owned = engine.owned(project, "(unregistered)", &identity).await?;
                    engine.remove_owned(&owned, true).await?;
                    Ok(true)
                }
                Repair::RemoveHelpers(instance) => {
                    let Some(engine) = engine else {
                        return Ok(false);
                    };
                    // Under the instance's lock: a live backup's helper stays.
                    let Some(_lock) = crate::ops::instance::try_instance_lock(stack, instance)? else {
                        warn(format!(
                            "instance `{instance}` is busy (a backup or restore may be running); its helpers stay"
                        ));
                        return Ok(false);
                    };
                    let identity = crate::ops::instance::identity(stack)?;
                    engine.remove_helpers(&identity, instance).await?;
                    Ok(true)
                }
                Repair::RemoveLeftover(name) => {
                    if !yes {
                        warn(format!(
                            "not removing the leftovers of `{name}` without `--yes`"
                        ));
                        return Ok(false);
                    }
                    let registry = registry_file(stack).lock()?;
                    if registry.registry.instances.contains_key(name) {
                        return Ok(false);
                    }
                    let identity = crate::ops::instance::identity(stack)?;
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
            Err(e) => warn(format!("could not fix \"{}\": {e:#}", f.message)),
        }
    }
}
