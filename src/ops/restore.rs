//! Restoring an instance from a backup archive. The whole archive is
//! verified before anything changes; then the instance is created again (on
//! fresh ports where the old ones are taken; under another name with that
//! name's domain and project), its files, data directory and volumes come
//! back, and the three-way merge brings the env file up to date.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::instance::{instance_lock, instance_project, registry_file};
use super::{Engines, Progress, Sink};
use crate::backup;
use crate::datadir::{self, Marker};
use crate::engine::Engine;
use crate::error::Error;
use crate::ports::{BindProbe, HostProbe};
use crate::registry::Instance;
use crate::render::InstanceFiles;
use crate::stack::Stack;

/// What to restore, and as what.
#[derive(Debug, Clone)]
pub struct RestoreSpec {
    /// The archive (absolute).
    pub file: PathBuf,
    /// Restore under this name instead of the archived one.
    pub as_name: Option<String>,
    /// The domain of the restored instance.
    pub domain: Option<String>,
    /// Replace an instance of the same name.
    pub force: bool,
}

/// The instance restored.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    pub name: String,
    pub instance: Instance,
}

/// Restores an instance from a backup archive.
pub async fn restore<E: Engines>(
    stack: &Stack,
    engines: &E,
    spec: &RestoreSpec,
    sink: &dyn Sink,
) -> Result<RestoreReport, Error> {
    let file = &spec.file;
    // Verify everything first: a bad archive changes nothing.
    let extracted = backup::read_verified(file, &stack.dir)?;
    let m = &extracted.manifest;
    let name = spec.as_name.clone().unwrap_or_else(|| m.instance.clone());
    crate::names::validate_instance_name(&name)?;
    let domain = spec
        .domain
        .as_deref()
        .map(crate::names::validate_domain)
        .transpose()?;
    if m.stack != stack.name() {
        sink.send(Progress::Warning(format!(
            "the backup is of stack `{}`, restoring into stack `{}`",
            m.stack,
            stack.name()
        )));
    }
    let registry = registry_file(stack).load()?;
    // Refused before anything happens (create checks again under the lock).
    if let Some(d) = &domain
        && let Some((holder, _)) = registry
            .instances
            .iter()
            .find(|(other, i)| **other != name && &i.domain == d)
    {
        return Err(Error::DomainTaken {
            domain: d.clone(),
            instance: name.clone(),
            holder: holder.clone(),
        });
    }
    if registry.instances.contains_key(&name) {
        if !spec.force {
            return Err(Error::InstanceExists {
                name: name.clone(),
                stack: stack.name().to_string(),
            });
        }
        remove_existing(stack, engines.engine().await?, &name).await?;
    }
    let registry = registry_file(stack).load()?;
    let old = &m.entry;
    let held: Vec<u16> = registry
        .instances
        .values()
        .flat_map(|i| i.ports.values().copied())
        .collect();
    let mut pinned = IndexMap::new();
    for (port_name, port) in &old.ports {
        if !stack.config.ports.base.contains_key(port_name) {
            continue;
        }
        let host_busy = stack.config.ports.host_check && BindProbe.in_use(*port);
        if !held.contains(port) && !registry.reserved_ports.contains(port) && !host_busy {
            pinned.insert(port_name.clone(), *port);
        } else {
            sink.send(Progress::Note(format!(
                "port {port} (`{port_name}`) is taken: a fresh one is allocated"
            )));
        }
    }
    // A copy under another name is another instance: it takes that name's
    // default domain (and project), never the original's, so the original
    // can be restored or created again beside it.
    let domain = domain.or_else(|| {
        let same_name = name == m.instance;
        let free = !registry.instances.values().any(|i| i.domain == old.domain);
        (same_name && free).then(|| old.domain.clone())
    });
    let index_free = registry.index_holder(old.index).is_none();
    let tier = old
        .tier
        .clone()
        .filter(|t| stack.config.tiers.contains_key(t));
    if old.tier.is_some() && tier.is_none() {
        sink.send(Progress::Warning(format!(
            "tier `{}` is not defined here; the instance has no tier",
            old.tier.as_deref().unwrap_or_default()
        )));
    }
    let create_spec = crate::ops::create::Spec {
        name: name.clone(),
        domain,
        index: index_free
            .then_some(old.index)
            .filter(|_| crate::names::numeric_index(&name).is_none()),
        pinned,
        tier,
        limits: old.limits.clone(),
    };
    let seen =
        crate::ops::create::engine_precheck(engines.engine().await, stack, &create_spec).await?;
    let inst = crate::ops::create::create(stack, &create_spec, seen.as_deref())?;
    let _lock = instance_lock(stack, &name)?;

    // The operator's env file and the secrets come back; the three-way merge
    // then updates what mrctl manages (ports, name, paths) and keeps the rest.
    let files = InstanceFiles::in_dir(stack.instance_dir(&name));
    for f in [".env", ".env.rendered", "secrets.json"] {
        let src = extracted.path(&format!("files/{f}"));
        if src.is_file() {
            std::fs::copy(&src, files.dir.join(f))
                .map_err(|e| Error::io("restore", files.dir.join(f), e))?;
        }
    }
    let services = crate::compose::service_names(&stack.compose_paths())?;
    crate::render::rerender(stack, &name, &inst, services)?;
    let data_src = extracted.path("data");
    if data_src.is_dir() {
        copy_tree(&data_src, &inst.data_dir)?;
    }
    let identity = crate::ops::instance::identity(stack)?;
    let marker = Marker::new(stack.name(), Some(&identity.id), &name, "data");
    datadir::write_marker(&inst.data_dir, &marker)?;

    if !m.volumes.is_empty() {
        let engine = engines.engine().await?;
        let project = instance_project(stack, &name, &inst)?;
        for h in engine.remove_helpers(&identity, &name).await? {
            sink.send(Progress::Note(format!(
                "helper container `{h}` left by an interrupted restore removed"
            )));
        }
        for v in &m.volumes {
            let Some(target) = project.volumes.get(&v.key) else {
                sink.send(Progress::Warning(format!(
                    "volume `{}` is no longer in the compose files; not restored",
                    v.key
                )));
                continue;
            };
            let tar = std::fs::read(extracted.path(&format!("volumes/{}.tar", v.key)))
                .map_err(|e| Error::io("read", &v.key, e))?;
            let labels = Engine::volume_labels(&project.name, &v.key, &identity, &name);
            engine
                .import_volume(&target.name, labels, &v.image, &identity, &name, tar)
                .await?;
            sink.send(Progress::Note(format!("volume `{}` restored", target.name)));
        }
    }
    Ok(RestoreReport {
        name,
        instance: inst,
    })
}

/// `restore --force`: the existing instance goes first, Docker resources
/// included.
async fn remove_existing(stack: &Stack, engine: &Engine, name: &str) -> Result<(), Error> {
    let _lock = instance_lock(stack, name)?;
    let mut locked = registry_file(stack).lock()?;
    let inst = locked.registry.instances[name].clone();
    let identity = crate::ops::instance::read_identity(stack, &locked.registry);
    let owned = engine.owned(&inst.project, name, &identity).await?;
    engine.remove_helpers(&identity, name).await?;
    engine.remove_owned(&owned, true).await?;
    let marker = |kind: &str| Marker::new(stack.name(), Some(&identity.id), name, kind);
    datadir::remove_checked(
        &stack.instance_dir(name),
        &stack.instances_dir,
        &marker("files"),
    )?;
    datadir::remove_checked(&inst.data_dir, &stack.data_root, &marker("data"))?;
    locked.registry.instances.remove(name);
    locked.commit()?;
    Ok(())
}

/// Copies a tree, keeping modes and symbolic links, skipping the marker.
fn copy_tree(src: &Path, dst: &Path) -> Result<(), Error> {
    for entry in std::fs::read_dir(src)
        .map_err(|e| Error::io("read directory", src, e))?
        .flatten()
    {
        let from = entry.path();
        let name = entry.file_name();
        if name == datadir::MARKER {
            continue;
        }
        let to = dst.join(&name);
        let meta = std::fs::symlink_metadata(&from).map_err(|e| Error::io("inspect", &from, e))?;
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&from).map_err(|e| Error::io("read link", &from, e))?;
            let _ = std::fs::remove_file(&to);
            #[cfg(unix)]
            std::os::unix::fs::symlink(target, &to)
                .map_err(|e| Error::io("create link", &to, e))?;
        } else if meta.is_dir() {
            std::fs::create_dir_all(&to).map_err(|e| Error::io("create directory", &to, e))?;
            copy_tree(&from, &to)?;
        } else {
            std::fs::copy(&from, &to).map_err(|e| Error::io("restore", &to, e))?;
        }
    }
    Ok(())
}
