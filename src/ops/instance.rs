//! What every operation on one instance needs: its registry entry, the
//! stack directory's identity, the instance's lock, its interpolation
//! variables and its resolved compose project, and the containers of the
//! stack's instances as this directory owns them.

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::registry::{Instance, Registry, RegistryFile};
use crate::render::InstanceFiles;
use crate::stack::Stack;

/// The registry file of a stack, checked against its `mrctl.toml` on every
/// load and write.
pub fn registry_file(stack: &Stack) -> RegistryFile {
    RegistryFile::for_stack(&stack.dir, &stack.config)
}

/// The stack directory's identity, made (and recorded) on first use.
pub fn identity(stack: &Stack) -> Result<crate::identity::Identity, Error> {
    let record = registry_file(stack).identity()?;
    Ok(crate::identity::Identity {
        stack: stack.name().to_string(),
        id: record.id,
        dir: record.dir,
    })
}

/// The identity of a registry just loaded, without reading the file again
/// when it records one for this directory (made and recorded otherwise).
pub fn identity_of(stack: &Stack, registry: &Registry) -> Result<crate::identity::Identity, Error> {
    match &registry.stack {
        Some(rec) if rec.dir == stack.dir => Ok(crate::identity::Identity {
            stack: stack.name().to_string(),
            id: rec.id.clone(),
            dir: rec.dir.clone(),
        }),
        _ => identity(stack),
    }
}

/// The identity as the registry records it, for read-only commands that
/// must not write: before the first write there is none, and only
/// resources adopted from this directory count as its own.
pub fn read_identity(stack: &Stack, registry: &Registry) -> crate::identity::Identity {
    let id = registry
        .stack
        .as_ref()
        .filter(|rec| rec.dir == stack.dir)
        .map(|rec| rec.id.clone())
        .unwrap_or_else(|| "-".to_string());
    crate::identity::Identity {
        stack: stack.name().to_string(),
        id,
        dir: stack.dir.clone(),
    }
}

/// The containers of the registry's instances that are this stack
/// directory's own (or adopted from it), in one list call: containers of a
/// copy of the stack with the same project names are not shown as ours.
pub async fn stack_containers(
    engine: &crate::engine::Engine,
    stack: &Stack,
    registry: &Registry,
) -> Result<Vec<crate::engine::ContainerInfo>, Error> {
    let identity = read_identity(stack, registry);
    let projects: std::collections::HashSet<&str> = registry
        .instances
        .values()
        .map(|i| i.project.as_str())
        .collect();
    Ok(engine
        .containers_labelled(crate::engine::labels::PROJECT, "")
        .await?
        .into_iter()
        .filter(|c| projects.contains(c.project.as_str()) && identity.classify(&c.labels).is_mine())
        .collect())
}

/// The instance `name` of `registry`, or an error naming it and the stack.
pub fn lookup<'r>(
    stack: &Stack,
    registry: &'r Registry,
    name: &str,
) -> Result<&'r Instance, Error> {
    crate::names::validate_instance_name(name)?;
    registry
        .instances
        .get(name)
        .ok_or_else(|| Error::UnknownInstance {
            name: name.to_string(),
            stack: stack.name().to_string(),
            hint: Some(match registry.instances.len() {
                0 => "the stack has no instances yet: `mrctl create NAME`".to_string(),
                _ => "`mrctl list` shows the instances".to_string(),
            }),
        })
}

/// One instance's entry, read without building the rest of the registry
/// (the read path of `ports`, `info`, `env`).
pub fn load_instance(stack: &Stack, name: &str) -> Result<Instance, Error> {
    crate::names::validate_instance_name(name)?;
    let (registry, count) = registry_file(stack).load_one(name)?;
    registry
        .instances
        .get(name)
        .cloned()
        .ok_or_else(|| Error::UnknownInstance {
            name: name.to_string(),
            stack: stack.name().to_string(),
            hint: Some(match count {
                0 => "the stack has no instances yet: `mrctl create NAME`".to_string(),
                _ => "`mrctl list` shows the instances".to_string(),
            }),
        })
}

/// Now, as RFC 3339 UTC to the second.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// Refuses to create over an existing `.instances/<name>` that the registry
/// does not know: it may hold an env file with the operator's keys.
pub fn lookup_files_dir_free(dir: &Path, name: &str) -> Result<(), Error> {
    if std::fs::symlink_metadata(dir).is_ok() {
        return Err(Error::PathExists {
            path: dir.to_path_buf(),
            reason: format!(
                "instance `{name}` is not registered; it may hold an env file with your keys: move it away, or run `mrctl clean {name}` to remove what an interrupted create left"
            ),
        });
    }
    Ok(())
}

/// Removes staging directories left by a create that was killed, and trash
/// left by a killed deletion, when mrctl's marker says they are this stack's
/// (a directory of that name made by hand is kept). Call only under the
/// registry lock: then no live create or clean owns one.
pub fn remove_stale_work(stack: &Stack) {
    crate::datadir::remove_own_leftovers(&stack.instances_dir, stack.name(), true);
    crate::datadir::remove_own_leftovers(&stack.data_root, stack.name(), false);
}

/// Serialises Docker work on one instance across processes (two `start`s
/// of one instance must not race). Held until dropped.
pub fn instance_lock(stack: &Stack, name: &str) -> Result<std::fs::File, Error> {
    let (file, path) = open_instance_lock(stack, name)?;
    file.lock().map_err(|e| Error::io("lock", &path, e))?;
    Ok(file)
}

/// `instance_lock` for work that runs beside other instances' on one
/// thread (`--all`): while another process holds the lock it waits without
/// blocking the thread, so the other instances go on meanwhile, and a
/// process holding one instance's lock while it waits for another's cannot
/// deadlock with this one.
pub async fn instance_lock_shared(stack: &Stack, name: &str) -> Result<std::fs::File, Error> {
    let mut logged = false;
    loop {
        if let Some(file) = try_instance_lock(stack, name)? {
            return Ok(file);
        }
        if !logged {
            tracing::info!(instance = name, "waiting for the instance lock");
            logged = true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// `instance_lock` without waiting: `None` when another process holds it.
pub fn try_instance_lock(stack: &Stack, name: &str) -> Result<Option<std::fs::File>, Error> {
    let (file, path) = open_instance_lock(stack, name)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io("lock", &path, e)),
    }
}

fn open_instance_lock(stack: &Stack, name: &str) -> Result<(std::fs::File, PathBuf), Error> {
    crate::datadir::create_private_dir_all(&stack.instances_dir)?;
    let path = stack.instances_dir.join(format!("{name}.lock"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io("open the lock file", &path, e))?;
    Ok((file, path))
}

/// The interpolation variables of an instance, as `docker compose
/// --project-directory STACK [--env-file STACK/.env] --env-file
/// .instances/NAME/.env` has them: the stack directory's own `.env` when
/// there is one, then the instance env file over it (a later file's value
/// wins; its `${VAR}` looks in the process environment first), all under the
/// process environment, which wins. (`mrctl info` prints that command.)
pub fn instance_variables(
    stack: &Stack,
    name: &str,
) -> Result<indexmap::IndexMap<String, String>, Error> {
    let files = InstanceFiles::in_dir(stack.instance_dir(name));
    let mut paths = Vec::new();
    if let Some(shared) = stack_env_file(stack) {
        paths.push(shared);
    }
    paths.push(files.env.clone());
    let texts = paths
        .iter()
        .map(|p| crate::fsutil::read_to_string_limited(p, crate::fsutil::FileKind::EnvFile))
        .collect::<Result<Vec<_>, _>>()?;
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let (vars, file_keys) = crate::envfile::interpolation_variables_of(&texts, std::env::vars())
        .map_err(|(i, e)| Error::Config {
            path: paths[i].clone(),
            position: Some(crate::error::Position {
                line: e.line,
                column: 1,
            }),
            message: e.message,
        })?;
    // From here on, whatever this process prints hides the instance's
    // secrets (generated ones, and the env file's variables whose key names
    // a secret, as they are in force), wherever they were interpolated.
    let generated = crate::secrets::Secrets::load(&files.secrets)
        .map(|s| s.values())
        .unwrap_or_default();
    crate::mask::register_instance(
        &generated,
        vars.iter().filter(|(k, _)| file_keys.contains(k)),
    );
    Ok(vars)
}

/// The stack directory's own `.env` (compose's project env file), when it
/// is a file.
pub fn stack_env_file(stack: &Stack) -> Option<std::path::PathBuf> {
    let path = stack.dir.join(".env");
    path.is_file().then_some(path)
}

/// The resolved compose project of an instance: the base files plus its override.
pub fn instance_project(
    stack: &Stack,
    name: &str,
    inst: &Instance,
) -> Result<crate::compose::Project, Error> {
    instance_project_with(stack, name, inst, &[])
}

/// `instance_project` with the profiles named on the command line
/// (`--profile`), which, as in compose, replace `COMPOSE_PROFILES` when given.
pub fn instance_project_with(
    stack: &Stack,
    name: &str,
    inst: &Instance,
    profiles: &[String],
) -> Result<crate::compose::Project, Error> {
    let mut project = load_instance_compose(stack, name, inst, profiles)?;
    project.apply_limits(instance_limits(stack, inst));
    Ok(project)
}

/// The instance's compose project as its files say, without the instance's
/// limits: what `docker compose config` sees.
pub fn instance_compose(
    stack: &Stack,
    name: &str,
    inst: &Instance,
) -> Result<crate::compose::Project, Error> {
    load_instance_compose(stack, name, inst, &[])
}

fn load_instance_compose(
    stack: &Stack,
    name: &str,
    inst: &Instance,
    cli_profiles: &[String],
) -> Result<crate::compose::Project, Error> {
    let variables = instance_variables(stack, name)?;
    let mut files = stack.compose_paths();
    files.push(InstanceFiles::in_dir(stack.instance_dir(name)).override_file);
    let profiles: Vec<String> = if cli_profiles.is_empty() {
        variables
            .get("COMPOSE_PROFILES")
            .map(|p| {
                p.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    } else {
        cli_profiles.to_vec()
    };
    crate::compose::load_project(&crate::compose::LoadOptions {
        project: &inst.project,
        working_dir: &stack.dir,
        files: &files,
        variables: &variables,
        profiles: &profiles,
    })
}

/// The limits in force for an instance, as the engine applies them: its
/// tier's, with its own on top.
pub fn instance_limits(stack: &Stack, inst: &Instance) -> crate::compose::Limits {
    crate::limits::in_force(&stack.config.tiers, inst.tier.as_deref(), &inst.limits).to_engine()
}
