//! Deleting an instance: its containers, networks and volumes (only those
//! with this stack directory's identity), then its rendered files, its data
//! directory (unless kept) and its registry entry, freeing its ports.
//! Docker goes first: if the engine cannot be reached, nothing is deleted.
//! Every directory is checked before anything is deleted: mrctl removes only
//! directories it created (marker inside) under the configured roots. Files
//! go first and the registry entry last, so an interrupted clean is
//! finished by running it again.

use std::path::PathBuf;

use indexmap::IndexMap;
use serde::Serialize;

use super::instance::{identity_of, instance_lock, registry_file, remove_stale_work};
use super::{Progress, Sink};
use crate::datadir::{self, Marker};
use crate::engine::{Engine, RemoveReport};
use crate::error::Error;
use crate::names;
use crate::stack::Stack;

/// What to clean.
#[derive(Debug, Clone)]
pub struct CleanSpec {
    pub name: String,
    /// Keep the data directory and the named volumes.
    pub keep_data: bool,
}

/// What `clean` removed.
#[derive(Debug, Clone, Serialize)]
pub struct CleanReport {
    pub name: String,
    /// Whether the instance had a registry entry (else: leftovers only).
    pub registered: bool,
    pub files_deleted: bool,
    pub data_deleted: bool,
    pub freed_ports: IndexMap<String, u16>,
    pub removed: RemoveReport,
    pub helpers_removed: Vec<String>,
    /// The data directory kept by `keep_data`, if it exists.
    #[serde(skip)]
    pub kept_data_dir: Option<PathBuf>,
}

/// Deletes instance `spec.name` (or what an interrupted create or clean
/// left of it).
pub async fn clean(
    stack: &Stack,
    engine: &Engine,
    spec: &CleanSpec,
    sink: &dyn Sink,
) -> Result<CleanReport, Error> {
    let name = spec.name.as_str();
    names::validate_instance_name(name)?;
    let files_dir = stack.instance_dir(name);
    let _instance = instance_lock(stack, name)?;
    let registry = registry_file(stack).load()?;
    let identity = identity_of(stack, &registry)?;
    let marker = |kind: &str| Marker::new(stack.name(), Some(&identity.id), name, kind);
    let data_dir_of = |inst: Option<&crate::registry::Instance>| {
        inst.map(|i| i.data_dir.clone())
            .unwrap_or_else(|| stack.data_root.join(name))
    };
    let refused = |e: Error| Error::CleanRefused {
        instance: name.to_string(),
        source: Box::new(e),
    };
    // Check the directories before Docker: a refusal must leave everything,
    // volumes included, as it was.
    let data_dir = data_dir_of(registry.instances.get(name));
    datadir::check_removable(&files_dir, &stack.instances_dir, &marker("files"))?;
    if !spec.keep_data {
        datadir::check_removable(&data_dir, &stack.data_root, &marker("data")).map_err(refused)?;
    }
    let project = match registry.instances.get(name) {
        Some(i) => i.project.clone(),
        None => crate::naming::project_name(stack, name, names::numeric_index(name).unwrap_or(0))?,
    };
    // Only what carries this stack directory's identity goes; anything else
    // with the project's label stops the clean before anything is deleted.
    let owned = engine.owned(&project, name, &identity).await?;
    // Helpers a killed backup or restore left hold the volumes.
    let helpers = engine.remove_helpers(&identity, name).await?;
    for h in &helpers {
        sink.send(Progress::Note(format!(
            "helper container `{h}` left by an interrupted backup or restore removed"
        )));
    }
    let removed = engine.remove_owned(&owned, !spec.keep_data).await?;

    let mut locked = registry_file(stack).lock()?;
    remove_stale_work(stack);
    let registered = locked.registry.instances.get(name).cloned();
    let data_dir = data_dir_of(registered.as_ref());

    // Check everything first; delete only when every check passed.
    let files_exist = datadir::check_removable(&files_dir, &stack.instances_dir, &marker("files"))?;
    let data_exists = !spec.keep_data
        && datadir::check_removable(&data_dir, &stack.data_root, &marker("data"))
            .map_err(refused)?;
    let docker_removed = !(removed.containers.is_empty()
        && helpers.is_empty()
        && removed.networks.is_empty()
        && removed.volumes.is_empty());
    if registered.is_none() && !files_exist && !data_exists && !docker_removed {
        return Err(Error::UnknownInstance {
            name: name.to_string(),
            stack: stack.name().to_string(),
            hint: None,
        });
    }
    if files_exist {
        datadir::remove_checked(&files_dir, &stack.instances_dir, &marker("files"))?;
    }
    if data_exists {
        datadir::remove_checked(&data_dir, &stack.data_root, &marker("data"))?;
    }
    if registered.is_some() {
        locked.registry.instances.remove(name);
        locked.commit()?;
    }
    let _ = std::fs::remove_file(stack.instances_dir.join(format!("{name}.lock")));
    Ok(CleanReport {
        name: name.to_string(),
        registered: registered.is_some(),
        files_deleted: files_exist,
        data_deleted: data_exists,
        freed_ports: registered.map(|i| i.ports).unwrap_or_default(),
        removed,
        helpers_removed: helpers,
        kept_data_dir: (spec.keep_data && data_dir.exists()).then_some(data_dir),
    })
}
