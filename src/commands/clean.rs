//! `mrctl clean NAME`: delete an instance's containers, networks and volumes
//! (found by project label), then its rendered files, its data directory
//! (`--keep-data` keeps it and the named volumes) and its registry entry,
//! freeing its ports. Docker goes first: if the engine cannot be reached,
//! nothing is deleted. Every directory is checked before anything is deleted: mrctl
//! removes only directories it created (marker inside) under the configured
//! roots. Files go first and the registry entry last, so an interrupted clean
//! is finished by running it again.

use super::{Ctx, confirm, instance_lock, registry_file};
use crate::cli::CleanArgs;
use crate::datadir::{self, Marker};
use crate::engine::{Engine, RemoveReport};
use crate::error::Error;
use crate::names;

pub fn run(ctx: &Ctx, args: &CleanArgs) -> anyhow::Result<()> {
    names::validate_instance_name(&args.name)?;
    let stack = ctx.stack()?;
    let name = args.name.as_str();
    let files_dir = stack.instance_dir(name);

    // Confirm before taking the lock: a prompt must not hold other commands up.
    let registry = registry_file(&stack).load()?;
    let data_dir = registry
        .instances
        .get(name)
        .map(|i| i.data_dir.clone())
        .unwrap_or_else(|| stack.data_root.join(name));
    let what = if args.keep_data {
        format!(
            "instance `{name}` (keeping its data in `{}`)",
            data_dir.display()
        )
    } else {
        format!("instance `{name}` and its data in `{}`", data_dir.display())
    };
    confirm(
        args.yes,
        &format!("clean of instance `{name}`"),
        &format!("Delete {what}?"),
    )?;

    if args.backup {
        if !registry.instances.contains_key(name) {
            return Err(Error::UnknownInstance {
                name: name.to_string(),
                stack: stack.name().to_string(),
                hint: Some("nothing to back up".into()),
            }
            .into());
        }
        let path =
            super::lifecycle::backup::write_backup(ctx, &stack, name, args.output.as_deref())?;
        ctx.printer
            .success(format!("backed up instance `{name}` to {}", path.display()));
    }
    let _instance = instance_lock(&stack, name)?;
    let identity = super::identity(&stack)?;
    let marker = |kind: &str| Marker::new(stack.name(), Some(&identity.id), name, kind);
    // Check the directories before Docker: a refusal must leave everything,
    // volumes included, as it was.
    datadir::check_removable(&files_dir, &stack.instances_dir, &marker("files"))?;
    if !args.keep_data {
        datadir::check_removable(&data_dir, &stack.data_root, &marker("data")).map_err(|e| {
            anyhow::Error::new(e).context(format!(
                "cannot clean instance `{name}`; nothing was deleted (`--keep-data` leaves the data directory alone)"
            ))
        })?;
    }
    let project = match registry.instances.get(name) {
        Some(i) => i.project.clone(),
        None => crate::naming::project_name(&stack, name, names::numeric_index(name).unwrap_or(0))?,
    };
    // Only what carries this stack directory's identity goes; anything else
    // with the project's label stops the clean before anything is deleted.
    let (removed, helpers): (RemoveReport, Vec<String>) = super::runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let owned = engine.owned(&project, name, &identity).await?;
        // Helpers a killed backup or restore left hold the volumes.
        let helpers = engine.remove_helpers(&identity, name).await?;
        let removed = engine.remove_owned(&owned, !args.keep_data).await?;
        anyhow::Ok((removed, helpers))
    })?;

    let mut locked = registry_file(&stack).lock()?;
    super::remove_stale_work(&stack);
    let registered = locked.registry.instances.get(name).cloned();
    let data_dir = registered
        .as_ref()
        .map(|i| i.data_dir.clone())
        .unwrap_or_else(|| stack.data_root.join(name));

    // Check everything first; delete only when every check passed.
    let files_exist = datadir::check_removable(&files_dir, &stack.instances_dir, &marker("files"))?;
    let data_exists = if args.keep_data {
        false
    } else {
        datadir::check_removable(&data_dir, &stack.data_root, &marker("data")).map_err(|e| {
            anyhow::Error::new(e).context(format!(
                "cannot clean instance `{name}`; nothing was deleted (`--keep-data` leaves the data directory alone)"
            ))
        })?
    };
    let docker_removed = !(removed.containers.is_empty()
        && helpers.is_empty()
        && removed.networks.is_empty()
        && removed.volumes.is_empty());
    if registered.is_none() && !files_exist && !data_exists && !docker_removed {
        return Err(Error::UnknownInstance {
            name: name.to_string(),
            stack: stack.name().to_string(),
            hint: None,
        }
        .into());
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
    let p = &ctx.printer;
    if p.json {
        return p.json(&serde_json::json!({
            "name": name,
            "registered": registered.is_some(),
            "files_deleted": files_exist,
            "data_deleted": data_exists,
            "freed_ports": registered.as_ref().map(|i| i.ports.clone()).unwrap_or_default(),
            "removed": removed,
            "helpers_removed": helpers,
        }));
    }
    for h in &helpers {
        p.message(format!(
            "  helper container `{h}` left by an interrupted backup or restore removed"
        ));
    }
    for (what, list) in [
        ("container", &removed.containers),
        ("network", &removed.networks),
        ("volume", &removed.volumes),
    ] {
        for item in list {
            p.message(format!("  {what} `{item}` removed"));
        }
    }
    match &registered {
        Some(i) if !i.ports.is_empty() => p.success(format!(
            "cleaned instance `{name}`; freed ports {}",
            i.ports
                .values()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Some(_) => p.success(format!("cleaned instance `{name}`")),
        None => p.success(format!(
            "removed what an interrupted create or clean left of `{name}`"
        )),
    }
    if args.keep_data && data_dir.exists() {
        p.message(format!(
            "kept the data directory {} and the named volumes",
            data_dir.display()
        ));
    }
    Ok(())
}
