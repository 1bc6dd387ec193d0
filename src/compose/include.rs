//! Top-level `include`: other compose files loaded as projects of their
//! own (their relative paths resolve against their project directory,
//! their variables come from their own env file under the including
//! project's) whose services, networks and volumes join the including
//! file's. A name both define is refused unless both define it alike.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::load::{self, absolutize, kind, scalar};
use super::merge::{apply_marks, merge_docs};
use crate::error::{Error, Result};

/// One `include` entry.
#[derive(Debug, PartialEq)]
struct Entry {
    /// The files, merged in order (the first sets the project directory).
    paths: Vec<String>,
    project_directory: Option<String>,
    env_files: Option<Vec<String>>,
}

/// Loads the files `doc`'s `include` names and adds what they define to
/// `doc`. `chain` holds the including files, against cycles.
pub fn apply(
    path: &Path,
    doc: &mut Map<String, Value>,
    working_dir: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
    chain: &mut Vec<PathBuf>,
) -> Result<()> {
    let Some(include) = doc.shift_remove("include") else {
        return Ok(());
    };
    let err = |message: String| Error::Compose {
        path: path.to_path_buf(),
        position: None,
        message,
    };
    for entry in entries(&include).map_err(&err)? {
        let files: Vec<PathBuf> = entry
            .paths
            .iter()
            .map(|p| PathBuf::from(absolutize(p, working_dir)))
            .collect();
        let project_dir = project_dir(&entry, &files, working_dir);
        let env_files: Vec<(PathBuf, bool)> = match &entry.env_files {
            Some(list) => list
                .iter()
                .map(|f| (PathBuf::from(absolutize(f, working_dir)), true))
                .collect(),
            None => vec![(project_dir.join(".env"), false)],
        };
        let mut own: IndexMap<String, String> = IndexMap::new();
        for (file, required) in env_files {
            if !required && !file.is_file() {
                continue;
            }
            let text =
                crate::fsutil::read_to_string_limited(&file, crate::fsutil::FileKind::EnvFile)?;
            // A variable resolves to the file's own earlier value, then to the
            // earlier env files', then to the including project's.
            let defines = crate::envfile::parse_env(&text);
            let vars = crate::envfile::parse_env_with(&text, &|k| {
                if defines.contains_key(k) {
                    return None;
                }
                own.get(k).cloned().or_else(|| lookup(k))
            })
            .map_err(|e| err(format!("`include`: env file `{}`: {e}", file.display())))?;
            own.extend(vars);
        }
        // The including project's variables win over the included file's.
        let inner_lookup = |k: &str| lookup(k).or_else(|| own.get(k).cloned());
        let mut merged: Map<String, Value> = Map::new();
        for file in &files {
            if chain.contains(file) || file == path {
                let cycle: Vec<String> = chain
                    .iter()
                    .chain([&path.to_path_buf(), file])
                    .map(|p| format!("`{}`", p.display()))
                    .collect();
                return Err(err(format!(
                    "`include` runs in a cycle: {}",
                    cycle.join(" → ")
                )));
            }
            let text = load::read_file(file)?;
            chain.push(path.to_path_buf());
            let loaded = load::load_str(file, &text, &project_dir, &inner_lookup, unset, chain);
            chain.pop();
            let loaded = loaded?;
            apply_marks(&mut merged, &loaded.marks);
            merge_docs(&mut merged, loaded.doc);
        }
        load::default_build_context(&mut merged, &project_dir);
        import(doc, merged, &files[0]).map_err(&err)?;
    }
    Ok(())
}

/// The files each `include` entry names and the directory they resolve
/// against, as written (an entry naming a variable is skipped; a malformed
/// `include` gives nothing, the full load refuses it by name).
pub fn targets(include: Option<&Value>, working_dir: &Path) -> Vec<(Vec<PathBuf>, PathBuf)> {
    let Some(Ok(entries)) = include.map(entries) else {
        return Vec::new();
    };
    entries
        .into_iter()
        .filter(|e| {
            !e.paths.iter().any(|p| p.contains('$'))
                && !e
                    .project_directory
                    .as_ref()
                    .is_some_and(|d| d.contains('$'))
        })
        .map(|e| {
            let files: Vec<PathBuf> = e
                .paths
                .iter()
                .map(|p| PathBuf::from(absolutize(p, working_dir)))
                .collect();
            let dir = project_dir(&e, &files, working_dir);
            (files, dir)
        })
        .collect()
}

fn project_dir(entry: &Entry, files: &[PathBuf], working_dir: &Path) -> PathBuf {
    match &entry.project_directory {
        Some(d) => PathBuf::from(absolutize(d, working_dir)),
        None => files[0].parent().map(Path::to_path_buf).unwrap_or_default(),
    }
}

/// Adds what an included project defines to the including document.
fn import(
    doc: &mut Map<String, Value>,
    included: Map<String, Value>,
    from: &Path,
) -> std::result::Result<(), String> {
    for (section, value) in included {
        let Value::Object(items) = value else {
            continue;
        };
        if section == "name" {
            continue;
        }
        let target = doc
            .entry(section.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if target.is_null() {
            *target = Value::Object(Map::new());
        }
        let Value::Object(target) = target else {
            return Err(format!(
                "`{section}` must be a mapping, not {}",
                kind(target)
            ));
        };
        for (name, item) in items {
            match target.get(&name) {
                Some(existing) if *existing != item => {
                    return Err(format!(
                        "`{section}.{name}` is defined both here and, differently, in the included `{}` (compose refuses this too)",
                        from.display()
                    ));
                }
                Some(_) => {}
                None => {
                    target.insert(name, item);
                }
            }
        }
    }
    Ok(())
}

/// The entries of `include`: paths, or mappings of `path`,
/// `project_directory` and `env_file`.
fn entries(include: &Value) -> std::result::Result<Vec<Entry>, String> {
    let Value::Array(items) = include else {
        return Err(format!("`include` must be a list, not {}", kind(include)));
    };
    let strings = |v: &Value, what: &str| -> std::result::Result<Vec<String>, String> {
        match v {
            Value::Array(items) => items
                .iter()
                .map(|i| {
                    scalar(i).ok_or_else(|| format!("`include`: `{what}` items must be paths"))
                })
                .collect(),
            other => Ok(vec![scalar(other).ok_or_else(|| {
                format!(
                    "`include`: `{what}` must be a path or a list, not {}",
                    kind(other)
                )
            })?]),
        }
    };
    let mut out = Vec::new();
    for item in items {
        let entry = match item {
            Value::String(s) => Entry {
                paths: vec![s.clone()],
                project_directory: None,
                env_files: None,
            },
            Value::Object(m) => {
                if let Some(k) = m
                    .keys()
                    .find(|k| !["path", "project_directory", "env_file"].contains(&k.as_str()))
                {
                    return Err(format!("`include`: key `{k}` is not valid"));
                }
                let paths = strings(
                    m.get("path").ok_or("`include` entries need a `path`")?,
                    "path",
                )?;
                let project_directory = match m.get("project_directory") {
                    None | Some(Value::Null) => None,
                    Some(v) => {
                        Some(scalar(v).ok_or("`include`: `project_directory` must be a path")?)
                    }
                };
                let env_files = match m.get("env_file") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(strings(v, "env_file")?),
                };
                Entry {
                    paths,
                    project_directory,
                    env_files,
                }
            }
            other => {
                return Err(format!(
                    "`include` entries must be paths or mappings, not {}",
                    kind(other)
                ));
            }
        };
        if entry.paths.is_empty() {
            return Err("`include`: an entry names no file".into());
        }
        if let Some(remote) = entry.paths.iter().find(|p| is_remote(p)) {
            return Err(format!(
                "`include`: `{remote}` is a remote resource; mrctl includes local files only"
            ));
        }
        out.push(entry);
    }
    Ok(out)
}

/// A git or OCI reference rather than a path.
pub(super) fn is_remote(p: &str) -> bool {
    p.contains("://") || p.starts_with("git@")
}

#[cfg(test)]
mod tests;
