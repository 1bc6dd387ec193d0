//! `mrctl init [DIR]`: write a starter mrctl.toml, docker-compose.yml and
//! the two templates. Existing files are never overwritten without `--force`.

use std::path::{Path, PathBuf};

use super::Ctx;
use crate::cli::InitArgs;
use crate::error::Error;
use crate::names;
use crate::render::{BUILTIN_ENV, BUILTIN_OVERRIDE};

const STARTER_CONFIG: &str = include_str!("../../templates/starter/mrctl.toml");
const STARTER_COMPOSE: &str = include_str!("../../templates/starter/docker-compose.yml");
const STARTER_GITIGNORE: &str = include_str!("../../templates/starter/gitignore");

/// A stack name from a directory name: lowercase, other characters as `-`.
fn name_from_dir(dir: &Path) -> String {
    let raw = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let cleaned: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let cleaned = cleaned.trim_matches(|c| c == '-' || c == '_').to_string();
    if names::valid_project_name(&cleaned) {
        cleaned
    } else {
        "stack".to_string()
    }
}

pub fn run(ctx: &Ctx, args: &InitArgs) -> anyhow::Result<()> {
    let dir = match &args.dir {
        Some(d) if d.is_absolute() => d.clone(),
        Some(d) => ctx.cwd.join(d),
        None => ctx.cwd.clone(),
    };
    let name = match &args.name {
        Some(n) if names::valid_project_name(n) => n.clone(),
        Some(n) => {
            return Err(Error::InvalidArgument {
                option: "--name".into(),
                reason: format!(
                    "`{n}` is not a valid stack name (lowercase letters, digits, `-` and `_`, starting with a letter or digit)"
                ),
            }
            .into());
        }
        None => name_from_dir(&dir),
    };
    let files: Vec<(PathBuf, String)> = vec![
        (
            dir.join("mrctl.toml"),
            STARTER_CONFIG.replace("__NAME__", &name),
        ),
        (dir.join("docker-compose.yml"), STARTER_COMPOSE.to_string()),
        (dir.join("templates/env.j2"), BUILTIN_ENV.to_string()),
        (
            dir.join("templates/docker-compose.override.yml.j2"),
            BUILTIN_OVERRIDE.to_string(),
        ),
    ];
    if !args.force
        && let Some((existing, _)) = files.iter().find(|(p, _)| p.exists())
    {
        return Err(Error::PathExists {
            path: existing.clone(),
            reason:
                "`mrctl init` does not overwrite it (pass `--force` to replace the starter files)"
                    .into(),
        }
        .into());
    }
    for (path, text) in &files {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io("create directory", parent, e))?;
        }
        std::fs::write(path, text).map_err(|e| Error::io("write", path, e))?;
    }
    let gitignore = dir.join(".gitignore");
    if !gitignore.exists() {
        std::fs::write(&gitignore, STARTER_GITIGNORE)
            .map_err(|e| Error::io("write", &gitignore, e))?;
    }
    let p = &ctx.printer;
    if p.json {
        return p.json(&serde_json::json!({
            "dir": dir,
            "name": name,
            "files": files.iter().map(|(p, _)| p).collect::<Vec<_>>(),
        }));
    }
    p.success(format!("initialised stack `{name}` in {}", dir.display()));
    p.message("next: `mrctl create dev`, then edit .instances/dev/.env");
    Ok(())
}
