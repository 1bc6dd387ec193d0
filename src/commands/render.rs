//! `mrctl render NAME`: re-render an instance's env file and override. The
//! env file belongs to the operator: values they changed or added are kept
//! (three-way merge against the last render) and the previous file is kept
//! as `.env.bak`.

use super::{Ctx, lookup, registry_file, rel};
use crate::datadir::{self, Marker};
use crate::error::Error;
use crate::registry::write_atomic;
use crate::render::{self, InstanceFiles, Secrets};

pub fn run(ctx: &Ctx, name: &str) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    let services = crate::compose::service_names(&stack.compose_paths())?;
    // Hold the registry lock so a concurrent clean cannot remove the files underneath.
    let locked = registry_file(&stack).lock()?;
    let inst = lookup(&stack, &locked.registry, name)?.clone();
    let files = InstanceFiles::in_dir(stack.instance_dir(name));
    if std::fs::symlink_metadata(&files.dir).is_err() {
        datadir::create_private_dir_all(&files.dir)?;
        datadir::write_marker(
            &files.dir,
            &Marker {
                stack: stack.name().to_string(),
                instance: name.to_string(),
                kind: "files".into(),
            },
        )?;
    }
    let secrets = Secrets::load(&files.secrets)?;
    let context = render::context_for(&stack, name, &inst, services);
    let fresh = render::render_instance(&stack, &context, &secrets)?;

    let read = |path: &std::path::Path| match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", path, e)),
    };
    let current = read(&files.env)?;
    let base = read(&files.env_rendered)?;
    let (env, report) = match &current {
        Some(cur) => render::merge_env(cur, base.as_deref(), &fresh.env),
        None => (fresh.env.clone(), Default::default()),
    };
    let old_override = read(&files.override_file)?;
    let p = &ctx.printer;
    let env_changed = current.as_deref() != Some(env.as_str());
    let override_changed = old_override.as_deref() != Some(fresh.override_file.as_str());
    if let Some(cur) = current.as_deref().filter(|_| env_changed) {
        let backup = files.dir.join(".env.bak");
        write_atomic(&backup, cur.as_bytes(), 0o600)?;
        p.message(format!(
            "kept the previous env file as {}",
            rel(&stack, &backup)
        ));
    }
    if let Some(old) = old_override.as_deref().filter(|_| override_changed) {
        let backup = files.dir.join("docker-compose.override.yml.bak");
        write_atomic(&backup, old.as_bytes(), 0o644)?;
    }
    render::write_files(&files, &env, &fresh.env, &fresh.override_file, &secrets)?;
    for key in &report.kept_changed {
        p.message(format!("kept your value of `{key}`"));
    }
    for key in &report.kept_added {
        p.message(format!("kept `{key}`, which you added"));
    }
    if p.json {
        return p.json(&serde_json::json!({
            "name": name,
            "env_changed": env_changed,
            "override_changed": override_changed,
            "kept_changed": report.kept_changed,
            "kept_added": report.kept_added,
        }));
    }
    if env_changed || override_changed {
        p.success(format!("re-rendered instance `{name}`"));
    } else {
        p.success(format!("instance `{name}` is up to date: nothing changed"));
    }
    Ok(())
}
