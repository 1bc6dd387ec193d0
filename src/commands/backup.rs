//! `mrctl backup NAME [-o FILE]` and `mrctl restore FILE [--as NAME] [--force]`.
//! A backup holds the registry entry, the rendered files (secrets and the
//! operator's env file included), the data directory and each named volume
//! read through the engine. A restore verifies the whole archive before it
//! changes anything, then recreates the instance, on fresh ports where the
//! old ones are taken.

use std::path::Path;

use indexmap::IndexMap;

use super::Ctx;
use crate::backup::{self};
use crate::cli::{BackupArgs, RestoreArgs};
use crate::datadir::{self, Marker};
use crate::engine::Engine;
use crate::error::Error;
use crate::ops::instance::{instance_lock, instance_project, registry_file};
use crate::ports::{BindProbe, HostProbe};
use crate::render::InstanceFiles;
use crate::stack::Stack;

pub fn run(ctx: &Ctx, args: &BackupArgs) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    let path =
        super::lifecycle::backup::write_backup(ctx, &stack, &args.name, args.output.as_deref())?;
    if !ctx.printer.json {
        ctx.printer.success(format!(
            "backed up instance `{}` to {}",
            args.name,
            path.display()
        ));
    }
    Ok(())
}

pub fn restore(ctx: &Ctx, args: &RestoreArgs) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    let file = if args.file.is_absolute() {
        args.file.clone()
    } else {
        ctx.cwd.join(&args.file)
    };
    // Verify everything first: a bad archive changes nothing.
    let extracted = backup::read_verified(&file, &stack.dir)?;
    let m = &extracted.manifest;
    let name = args.as_name.clone().unwrap_or_else(|| m.instance.clone());
    crate::names::validate_instance_name(&name)?;
    let domain = args
        .domain
        .as_deref()
        .map(crate::names::validate_domain)
        .transpose()?;
    let p = ctx.printer;
    if m.stack != stack.name() {
        p.warn(format!(
            "the backup is of stack `{}`, restoring into stack `{}`",
            m.stack,
            stack.name()
        ));
    }
    let registry = registry_file(&stack).load()?;
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
        }
        .into());
    }
    if registry.instances.contains_key(&name) {
        if !args.force {
            return Err(anyhow::Error::new(Error::InstanceExists {
                name: name.clone(),
                stack: stack.name().to_string(),
            })
            .context(
                "restore refuses to replace it: pass `--force`, or `--as NEWNAME` for a copy",
            ));
        }
        remove_existing(ctx, &stack, &name)?;
    }
    let registry = registry_file(&stack).load()?;
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
            p.message(format!(
                "  port {port} (`{port_name}`) is taken: a fresh one is allocated"
            ));
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
        p.warn(format!(
            "tier `{}` is not defined here; the instance has no tier",
            old.tier.as_deref().unwrap_or_default()
        ));
    }
    let spec = super::lifecycle::create::Spec {
        name: name.clone(),
        domain,
        index: index_free
            .then_some(old.index)
            .filter(|_| crate::names::numeric_index(&name).is_none()),
        pinned,
        tier,
        limits: old.limits.clone(),
    };
    let seen = super::lifecycle::create::engine_precheck(ctx, &stack, &spec)?;
    let inst = super::lifecycle::create::create(&stack, &spec, seen.as_deref())?;
    let _lock = instance_lock(&stack, &name)?;

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
    crate::render::rerender(&stack, &name, &inst, services)?;
    let data_src = extracted.path("data");
    if data_src.is_dir() {
        copy_tree(&data_src, &inst.data_dir)?;
    }
    let identity = crate::ops::instance::identity(&stack)?;
    let marker = Marker::new(stack.name(), Some(&identity.id), &name, "data");
    datadir::write_marker(&inst.data_dir, &marker)?;

    if !m.volumes.is_empty() {
        let engine = ctx.block_on(ctx.engine())?;
        let project = instance_project(&stack, &name, &inst)?;
        ctx.block_on(async {
            for h in engine.remove_helpers(&identity, &name).await? {
                p.message(format!(
                    "  helper container `{h}` left by an interrupted restore removed"
                ));
            }
            for v in &m.volumes {
                let Some(target) = project.volumes.get(&v.key) else {
                    p.warn(format!(
                        "volume `{}` is no longer in the compose files; not restored",
                        v.key
                    ));
                    continue;
                };
                let tar = std::fs::read(extracted.path(&format!("volumes/{}.tar", v.key)))
                    .map_err(|e| Error::io("read", &v.key, e))?;
                let labels = Engine::volume_labels(&project.name, &v.key, &identity, &name);
                engine
                    .import_volume(&target.name, labels, &v.image, &identity, &name, tar)
                    .await?;
                p.message(format!("  volume `{}` restored", target.name));
            }
            anyhow::Ok(())
        })?;
    }
    if p.json {
        return p.json(&crate::commands::view::InstanceView::new(
            &stack, &name, &inst,
        ));
    }
    p.success(format!(
        "restored instance `{name}` from {} (ports: {}); `mrctl start {name}` runs it",
        file.display(),
        crate::commands::view::ports_inline(&inst.ports)
    ));
    Ok(())
}

/// `restore --force`: the existing instance goes first, Docker resources
/// included.
fn remove_existing(ctx: &Ctx, stack: &Stack, name: &str) -> anyhow::Result<()> {
    let _lock = instance_lock(stack, name)?;
    let mut locked = registry_file(stack).lock()?;
    let inst = locked.registry.instances[name].clone();
    let identity = crate::ops::instance::read_identity(stack, &locked.registry);
    ctx.block_on(async {
        let engine = ctx.engine().await?;
        let owned = engine.owned(&inst.project, name, &identity).await?;
        engine.remove_helpers(&identity, name).await?;
        engine.remove_owned(&owned, true).await
    })?;
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
