//! Writing an instance's backup archive (used by `backup` and `clean --backup`).

use std::path::{Path, PathBuf};

use super::super::Ctx;
use crate::backup::{self, Manifest, VolumeRecord, Writer};
use crate::error::Error;
use crate::ops::instance::{instance_lock, instance_project, lookup, registry_file};
use crate::render::InstanceFiles;
use crate::stack::Stack;

/// Writes the backup archive of `name` and returns its path (used by `clean --backup` too).
pub fn write_backup(
    ctx: &Ctx,
    stack: &Stack,
    name: &str,
    output: Option<&Path>,
) -> anyhow::Result<PathBuf> {
    crate::names::validate_instance_name(name)?;
    let registry = registry_file(stack).load()?;
    let inst = lookup(stack, &registry, name)?.clone();
    let _lock = instance_lock(stack, name)?;
    let dest = match output {
        Some(p) if p.is_absolute() => p.to_path_buf(),
        Some(p) => ctx.cwd.join(p),
        None => {
            let stamp = crate::ops::instance::now_rfc3339().replace([':', '-'], "");
            ctx.cwd
                .join(format!("{}-{name}-{stamp}.mrctl.tgz", stack.name()))
        }
    };
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
        ctx.printer.warn(format!(
            "the data directory `{}` is missing; the backup has none",
            inst.data_dir.display()
        ));
    }
    let p = ctx.printer;
    let identity = crate::ops::instance::identity(stack)?;
    ctx.block_on(async {
        let engine = match ctx.engine().await {
            Ok(e) => e,
            Err(e) if volumes.is_empty() => {
                p.warn(format!("{e}; the instance has no named volumes, so none are needed"));
                return anyhow::Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        let owned = engine.owned(&inst.project, name, &identity).await?;
        // Under the instance lock: helpers of this instance are leftovers.
        for h in engine.remove_helpers(&identity, name).await? {
            p.message(format!(
                "  helper container `{h}` left by an interrupted backup or restore removed"
            ));
        }
        let running = owned.containers.iter().any(|c| c.state == "running");
        if running {
            p.warn(format!(
                "instance `{name}` is running: files written during the backup may be inconsistent (`mrctl stop {name}` first for a consistent copy)"
            ));
        }
        let mut kept = Vec::new();
        for v in &volumes {
            // A volume the instance never created has nothing to save, and
            // mounting it in a helper would create it unlabelled.
            if !engine.volume_exists(&v.name).await? {
                p.message(format!("  volume `{}` does not exist yet: nothing to back up", v.name));
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
            p.message(format!("  volume `{}`: {size} bytes", v.name));
            kept.push(v.clone());
        }
        volumes = kept;
        anyhow::Ok(())
    })?;
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
    if p.json {
        let bytes: u64 = manifest.files.iter().map(|f| f.size).sum();
        p.json(&serde_json::json!({
            "path": dest,
            "instance": name,
            "files": manifest.files.len(),
            "bytes": bytes,
            "volumes": manifest.volumes,
        }))?;
    }
    Ok(dest)
}
