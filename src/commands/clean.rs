//! `mrctl clean NAME`: delete an instance's rendered files, its data
//! directory (unless `--keep-data`) and its registry entry, freeing its
//! ports. Every directory is checked before anything is deleted: mrctl
//! removes only directories it created (marker inside) under the configured
//! roots. Files go first and the registry entry last, so an interrupted clean
//! is finished by running it again.

use super::{Ctx, confirm, registry_file};
use crate::cli::CleanArgs;
use crate::datadir::{self, Marker};
use crate::error::Error;
use crate::names;

pub fn run(ctx: &Ctx, args: &CleanArgs) -> anyhow::Result<()> {
    names::validate_instance_name(&args.name)?;
    let stack = ctx.stack()?;
    let name = args.name.as_str();
    let marker = |kind: &str| Marker {
        stack: stack.name().to_string(),
        instance: name.to_string(),
        kind: kind.to_string(),
    };
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

    let mut locked = registry_file(&stack).lock()?;
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
    if registered.is_none() && !files_exist && !data_exists {
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
    let p = &ctx.printer;
    if p.json {
        return p.json(&serde_json::json!({
            "name": name,
            "registered": registered.is_some(),
            "files_deleted": files_exist,
            "data_deleted": data_exists,
            "freed_ports": registered.as_ref().map(|i| i.ports.clone()).unwrap_or_default(),
        }));
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
        p.message(format!("kept the data directory {}", data_dir.display()));
    }
    Ok(())
}
