//! Creating an instance: validate, allocate ports under the registry lock,
//! make the data directory, render the files into a staging directory, move
//! it into place, then persist the registry entry, all under one lock. A
//! failure undoes what this call made and leaves everything else as it was.

use indexmap::IndexMap;

use crate::datadir::{self, Marker};
use crate::error::Error;
use crate::fsutil::sync_dir;
use crate::limits::Limits;
use crate::ops::instance::{lookup_files_dir_free, now_rfc3339, registry_file, remove_stale_work};
use crate::ports::{self, BindProbe, HostProbe, NoProbe, Request};
use crate::registry::Instance;
use crate::render::{self, InstanceFiles};
use crate::secrets::Secrets;
use crate::stack::Stack;

/// What to create: the arguments of `create` (or `up`, `restore`), validated.
#[derive(Debug, Clone)]
pub struct Spec {
    pub name: String,
    pub domain: Option<String>,
    pub index: Option<u32>,
    pub pinned: IndexMap<String, u16>,
    pub tier: Option<String>,
    pub limits: Limits,
}

/// The checks of a new instance that need the engine, with one connection
/// before the registry lock is taken: limits an answering engine would
/// refuse (more CPUs than it has, less memory than it allows) are refused
/// before anything is written, and the engine's resources that carry a
/// compose project are returned for `create`'s check that no other stack
/// directory uses the project it picks. Without an engine there is nothing
/// to ask (`None`); `start` meets the engine later and checks again.
pub async fn engine_precheck(
    engine: Result<&crate::engine::Engine, Error>,
    stack: &Stack,
    spec: &Spec,
) -> Result<Option<Vec<crate::engine::Labelled>>, Error> {
    let limits = crate::limits::in_force(&stack.config.tiers, spec.tier.as_deref(), &spec.limits)
        .to_engine();
    let engine = match engine {
        Ok(e) => e,
        Err(e) => {
            tracing::info!("not checking the engine for limits and projects in use: {e}");
            return Ok(None);
        }
    };
    if limits != crate::compose::Limits::default()
        && let Err(e @ Error::LimitsRefused { .. }) = engine.check_limits(&spec.name, &limits).await
    {
        return Err(e);
    }
    match engine.compose_resources().await {
        Ok(list) => Ok(Some(list)),
        Err(e) => {
            tracing::warn!("not checking the engine for projects in use: {e}");
            Ok(None)
        }
    }
}

/// Refuses a project that a resource of another stack directory carries.
fn check_project_free(
    identity: &crate::identity::Identity,
    project: &str,
    instance: &str,
    seen: &[crate::engine::Labelled],
) -> Result<(), Error> {
    for r in seen {
        if r.labels
            .get(crate::engine::labels::PROJECT)
            .map(String::as_str)
            != Some(project)
        {
            continue;
        }
        if let crate::identity::Ownership::Foreign(owner) = identity.classify(&r.labels) {
            return Err(Error::ProjectInUse {
                project: project.to_string(),
                instance: instance.to_string(),
                owner: format!("{owner} ({} `{}`)", r.kind, r.name),
            });
        }
    }
    Ok(())
}

/// Creates instance `spec.name` and returns its registry entry. `seen` is
/// what `engine_precheck` found on the engine.
pub fn create(
    stack: &Stack,
    spec: &Spec,
    seen: Option<&[crate::engine::Labelled]>,
) -> Result<Instance, Error> {
    // Read before the lock: service names come from the compose files, which
    // mrctl does not write.
    let services = crate::compose::service_names(&stack.compose_paths())?;
    let mut locked = registry_file(stack).lock()?;
    remove_stale_work(stack);
    if locked.registry.instances.contains_key(&spec.name) {
        return Err(Error::InstanceExists {
            name: spec.name.clone(),
            stack: stack.name().to_string(),
        });
    }
    let files = InstanceFiles::in_dir(stack.instance_dir(&spec.name));
    lookup_files_dir_free(&files.dir, &spec.name)?;

    let probe: &dyn HostProbe = if stack.config.ports.host_check {
        &BindProbe
    } else {
        &NoProbe
    };
    let request = Request {
        name: spec.name.clone(),
        index: spec.index,
        pinned: spec.pinned.clone(),
    };
    let allocation = ports::allocate(&stack.config.ports, &locked.registry, &request, probe)?;
    let project = crate::naming::project_name(stack, &spec.name, allocation.index)?;
    let domain = match &spec.domain {
        Some(d) => d.clone(),
        None => crate::naming::default_domain(stack, &spec.name, allocation.index)?,
    };
    if let (Some(seen), Some(rec)) = (seen, &locked.registry.stack) {
        let identity = crate::identity::Identity {
            stack: stack.name().to_string(),
            id: rec.id.clone(),
            dir: rec.dir.clone(),
        };
        check_project_free(&identity, &project, &spec.name, seen)?;
    }
    for (other, inst) in &locked.registry.instances {
        if inst.project == project {
            return Err(Error::ProjectTaken {
                project,
                instance: spec.name.clone(),
                holder: other.clone(),
            });
        }
        if inst.domain == domain {
            return Err(Error::DomainTaken {
                domain,
                instance: spec.name.clone(),
                holder: other.clone(),
            });
        }
    }
    let inst = Instance {
        index: allocation.index,
        domain,
        project,
        ports: allocation.ports,
        data_dir: stack.data_root.join(&spec.name),
        tier: spec.tier.clone(),
        limits: spec.limits.clone(),
        created_at: now_rfc3339(),
    };

    let stack_id = locked.registry.stack.as_ref().map(|r| r.id.clone());
    let marker = |kind: &str| Marker::new(stack.name(), stack_id.as_deref(), &spec.name, kind);
    let data_existed = datadir::ensure_dir(
        &inst.data_dir,
        &stack.config.instances.data_subdirs,
        &marker("data"),
    )?;
    let undo_data = || {
        if !data_existed {
            let _ = datadir::remove_checked(&inst.data_dir, &stack.data_root, &marker("data"));
        }
    };

    let staged = stage_files(stack, &spec.name, &inst, services, &marker("files"));
    let staging = match staged {
        Ok(dir) => dir,
        Err(e) => {
            undo_data();
            return Err(e);
        }
    };
    if let Err(e) = std::fs::rename(staging.path(), &files.dir) {
        undo_data();
        return Err(Error::io("move into place", &files.dir, e));
    }
    // The directory now lives at its final name; keep TempDir from deleting it.
    let _ = staging.keep();
    let _ = sync_dir(&stack.instances_dir);

    locked
        .registry
        .instances
        .insert(spec.name.clone(), inst.clone());
    if let Err(e) = locked.commit() {
        let _ = datadir::remove_checked(&files.dir, &stack.instances_dir, &marker("files"));
        undo_data();
        return Err(e);
    }
    locked.release();
    if data_existed {
        tracing::info!(dir = %inst.data_dir.display(), "reused the data directory kept by an earlier clean");
    }
    Ok(inst)
}

/// Makes an instance's data directory again, with its marker and
/// subdirectories, when it is missing (before a start, so the engine does
/// not create bind-mount sources in it unmarked). An existing directory is
/// left as it is: `doctor` reports one without this instance's marker.
pub fn ensure_data_dir(
    stack: &Stack,
    identity: &crate::identity::Identity,
    name: &str,
    inst: &Instance,
) -> Result<(), Error> {
    let marker = Marker::new(stack.name(), Some(&identity.id), name, "data");
    let missing = matches!(
        std::fs::symlink_metadata(&inst.data_dir),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound
    );
    let ours = missing || datadir::read_marker(&inst.data_dir).as_ref() == Some(&marker);
    if ours
        && !datadir::ensure_dir(
            &inst.data_dir,
            &stack.config.instances.data_subdirs,
            &marker,
        )?
    {
        tracing::info!(dir = %inst.data_dir.display(), "made the missing data directory again");
    }
    Ok(())
}

/// Renders the instance's files into a fresh staging directory beside their
/// final place, so a failure or a crash never leaves a half-written instance
/// directory under its real name.
fn stage_files(
    stack: &Stack,
    name: &str,
    inst: &Instance,
    services: Vec<String>,
    marker: &Marker,
) -> Result<tempfile::TempDir, Error> {
    datadir::create_private_dir_all(&stack.instances_dir)?;
    let staging = tempfile::Builder::new()
        .prefix(&format!("{}{name}-", datadir::STAGING_PREFIX))
        .tempdir_in(&stack.instances_dir)
        .map_err(|e| Error::io("create a staging directory in", &stack.instances_dir, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(staging.path(), std::fs::Permissions::from_mode(0o750))
            .map_err(|e| Error::io("set permissions of", staging.path(), e))?;
    }
    // Marked first: a create killed from here on leaves a staging directory
    // that a later create recognises as mrctl's and removes.
    datadir::write_marker(staging.path(), marker)?;
    let files = InstanceFiles::in_dir(staging.path().to_path_buf());
    let secrets = Secrets::default();
    let mut ctx = render::context_for(stack, name, inst, services);
    // Templates see the final directory, not the staging one.
    ctx.instance_dir = stack.instance_dir(name).to_string_lossy().into_owned();
    let rendered = render::render_instance(stack, &ctx, &secrets)?;
    render::write_files(
        &files,
        &rendered.env,
        &rendered.env,
        &rendered.override_file,
        &secrets,
    )?;
    Ok(staging)
}
