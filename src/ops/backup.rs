//! Writing an instance's backup archive (used by `backup` and `clean --backup`).

use std::path::PathBuf;

use serde::Serialize;

use super::{Progress, Sink};
use crate::backup::{self, Manifest, VolumeRecord, Writer};
use crate::engine::Engine;
use crate::error::Error;
use crate::ops::instance::{instance_lock, instance_project, lookup, registry_file};
use crate::render::InstanceFiles;
use crate::stack::Stack;

/// What to back up, and where to.
#[derive(Debug, Clone)]
pub struct BackupSpec {
    pub name: String,
    /// The archive to write (absolute).
    pub dest: PathBuf,
}

/// The archive written.
#[derive(Debug, Clone, Serialize)]
pub struct BackupReport {
    pub path: PathBuf,
    pub instance: String,
    pub files: usize,
    pub bytes: u64,
    pub volumes: Vec<VolumeRecord>,
}

/// The archive name used when none is given: `<stack>-<name>-<time>.mrctl.tgz`.
pub fn default_file_name(stack: &Stack, name: &str) -> String {
    let stamp = crate::ops::instance::now_rfc3339().replace([':', '-'], "");
    format!("{}-{name}-{stamp}.mrctl.tgz", stack.name())
}

/// Writes the backup archive of an instance (used by `clean --backup` too).
/// The engine is needed only when the instance has named volumes.
pub async fn backup(
    stack: &Stack,
    engine: Result<&Engine, Error>,
    spec: &BackupSpec,
    sink: &dyn Sink,
) -> Result<BackupReport, Error> {
    let name = spec.name.as_str();
    crate::names::validate_instance_name(name)?;
    let registry = registry_file(stack).load()?;
    let inst = lookup(stack, &registry, name)?.clone();
    let _lock = instance_lock(stack, name)?;
    let dest = spec.dest.clone();
    let project = instance_project(stack, name, &inst)?;
    let mut volumes: Vec<VolumeRecord> = project
        .volumes
        .iter()
        .filter(|(_, v)| !v.external)
        .filter_map(|(key, v)| {
            let image = project.services.values().find(|s| {
                s.mounts
                    .iter()
                    .any(|m| m.source.as_deref() == Some(key.as_str()))
            })?;
            Some(VolumeRecord {
                key: key.clone(),
                name: v.name.clone(),
                image: image.image.clone(),
            })
        })
        .collect();
    let files = InstanceFiles::in_dir(stack.instance_dir(name));
    let mut writer = Writer::create(&dest)?;
    writer.add_tree("files", &files.dir, &|rel| {
        rel.extension().is_some_and(|e| e == "bak" || e == "lock")
    })?;
    if inst.data_dir.is_dir() {
        writer.add_tree("data", &inst.data_dir, &|_| false)?;
    } else {
        sink.send(Progress::Warning(format!(
            "the data directory `{}` is missing; the backup has none",
            inst.data_dir.display()
        )));
    }
    let identity = crate::ops::instance::identity(stack)?;
    let volumes_done: Result<(), Error> = async {
        let engine = match engine {
            Ok(e) => e,
            Err(e) if volumes.is_empty() => {
                sink.send(Progress::Warning(format!(
                    "{e}; the instance has no named volumes, so none are needed"
                )));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let owned = engine.owned(&inst.project, name, &identity).await?;
        // Under the instance lock: helpers of this instance are leftovers.
        for h in engine.remove_helpers(&identity, name).await? {
            sink.send(Progress::Note(format!(
                "helper container `{h}` left by an interrupted backup or restore removed"
            )));
        }
        let running = owned.containers.iter().any(|c| c.state == "running");
        if running {
            sink.send(Progress::Warning(format!(
                "instance `{name}` is running: files written during the backup may be inconsistent (`mrctl stop {name}` first for a consistent copy)"
            )));
        }
        let mut kept = Vec::new();
        for v in &volumes {
            // A volume the instance never created has nothing to save, and
            // mounting it in a helper would create it unlabelled.
            if !engine.volume_exists(&v.name).await? {
                sink.send(Progress::Note(format!(
                    "volume `{}` does not exist yet: nothing to back up",
                    v.name
                )));
                continue;
            }
            let mut tmp = tempfile::tempfile()
                .map_err(|e| Error::io("create a temporary file for volume", &v.name, e))?;
            let size = engine
                .export_volume(&v.name, &v.image, &identity, name, &mut tmp)
                .await?;
            use std::io::Seek;
            tmp.rewind()
                .map_err(|e| Error::io("read back volume", &v.name, e))?;
            writer.add_reader(&format!("volumes/{}.tar", v.key), size, 0o644, tmp)?;
            sink.send(Progress::Note(format!("volume `{}`: {size} bytes", v.name)));
            kept.push(v.clone());
        }
        volumes = kept;
        Ok(())
    }
    .await;
    volumes_done?;
    let manifest = writer.finish(Manifest {
        format: backup::FORMAT.into(),
        version: backup::VERSION,
        mrctl_version: env!("CARGO_PKG_VERSION").into(),
        stack: stack.name().to_string(),
        instance: name.to_string(),
        created_at: crate::ops::instance::now_rfc3339(),
        entry: inst.clone(),
        services: project.services.keys().cloned().collect(),
        volumes,
        files: Vec::new(),
    })?;
    Ok(BackupReport {
        path: dest,
        instance: name.to_string(),
        files: manifest.files.len(),
        bytes: manifest.files.iter().map(|f| f.size).sum(),
        volumes: manifest.volumes,
    })
}
