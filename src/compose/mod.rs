//! Compose files, pure: load the stack's base files plus an instance's
//! override, interpolate, merge by the compose specification's rules,
//! validate the supported subset, and plan the dependency waves. Nothing here
//! talks to Docker.

pub mod canonical;
mod convert;
mod deploy;
mod extends;
mod fields;
pub mod hash;
mod include;
mod load;
mod merge;
pub mod model;
mod settings;
mod settings_more;
mod yaml;

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::{Map, Value};

pub use crate::interpolate::{InterpolationError, interpolate};
pub use model::*;

use crate::error::{Error, Position, Result};

/// How compose files are parsed, matching what `docker compose config`
/// makes of each plain scalar: booleans are only `true`/`false` in any case
/// (`yes`, `no`, `on`, `off`, `y` stay strings, so `networks: [on]` names a
/// network), `0o17` and `0b11` are numbers, a leading `0` is octal (`010` is
/// 8), `1_000` is 1000. Anchors and aliases are not rationed against each
/// other (a real file may merge one anchor into hundreds of services), but
/// the expanded document stays bounded, so an alias bomb is refused.
pub(crate) fn yaml_options() -> serde_saphyr::Options {
    let mut opts = serde_saphyr::Options::default();
    opts.strict_booleans = true;
    #[allow(deprecated)]
    {
        opts.legacy_octal_numbers = true;
    }
    opts.non_finite_float_policy = serde_saphyr::NonFiniteFloatPolicy::AsString;
    let mut budget = serde_saphyr::Budget::default();
    budget.enforce_alias_anchor_ratio = false;
    opts.budget = Some(budget);
    opts
}

/// Parses one compose file's YAML by [`yaml_options`], tags dropped (the
/// loader reads files with their tags through `yaml::parse`; the tests
/// check the two read every untagged document alike).
#[cfg(test)]
pub(crate) fn parse_yaml<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T> {
    serde_saphyr::from_str_with_options(text, yaml_options()).map_err(|e| yaml_error(path, &e))
}

/// Turns a YAML error into one naming the file, line and column.
pub fn yaml_error(path: &Path, err: &serde_saphyr::Error) -> Error {
    let position = err.location().and_then(|l| {
        (l.line() > 0).then(|| Position {
            line: l.line() as usize,
            column: l.column() as usize,
        })
    });
    let message = err.without_snippet().to_string();
    // The position is carried separately; drop the parser's own trailer.
    let message = match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    };
    let message = message.lines().next().unwrap_or_default().trim();
    let message = match message.strip_prefix("budget breached: ") {
        Some(limit) => format!(
            "the document is too large once its aliases are expanded (an alias bomb?): {limit}"
        ),
        None => message.to_string(),
    };
    Error::Compose {
        path: path.to_path_buf(),
        position,
        message,
    }
}

/// The service names of the base compose files, in first-seen order, with
/// those of the files they include and without those a later file
/// `!reset`s. (Cheap: used by templates, before any interpolation; an
/// include path naming a variable is left to the full load.)
pub fn service_names(paths: &[impl AsRef<Path>]) -> Result<Vec<String>> {
    let mut names: Vec<String> = Vec::new();
    for path in paths {
        let path = path.as_ref();
        let dir = path.parent().unwrap_or(Path::new("."));
        names_of(path, dir, &mut names, &mut Vec::new())?;
    }
    Ok(names)
}

fn names_of(
    path: &Path,
    dir: &Path,
    names: &mut Vec<String>,
    chain: &mut Vec<PathBuf>,
) -> Result<()> {
    if chain.iter().any(|p| p == path) {
        return Ok(()); // the full load names the cycle
    }
    let text = crate::fsutil::read_to_string_limited(path, crate::fsutil::FileKind::Compose)?;
    if text.trim().is_empty() {
        return Ok(());
    }
    let parsed = yaml::parse(path, &text)?;
    for (at, _) in &parsed.marks {
        if let [services, name] = at.as_slice()
            && services == "services"
        {
            names.retain(|n| n != name);
        }
    }
    chain.push(path.to_path_buf());
    for (files, project_dir) in include::targets(parsed.doc.get("include"), dir) {
        for file in files {
            names_of(&file, &project_dir, names, chain)?;
        }
    }
    chain.pop();
    if let Some(Value::Object(services)) = parsed.doc.get("services") {
        for name in services.keys() {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    Ok(())
}

/// What `load_project` needs.
pub struct LoadOptions<'a> {
    /// Compose project name.
    pub project: &'a str,
    /// Directory relative paths resolve against (the stack directory).
    pub working_dir: &'a Path,
    /// Files in merge order: the base files, then the instance override.
    pub files: &'a [PathBuf],
    /// Interpolation variables: the instance env file under the process environment.
    pub variables: &'a IndexMap<String, String>,
    /// Active profiles (`COMPOSE_PROFILES`).
    pub profiles: &'a [String],
}

/// Loads, merges, validates and resolves a project.
pub fn load_project(opts: &LoadOptions<'_>) -> Result<Project> {
    let texts = opts
        .files
        .iter()
        .map(|f| load::read_file(f))
        .collect::<Result<Vec<String>>>()?;
    resolve(opts, &texts)
}

/// `load_project` on texts already read (`texts[i]` is `opts.files[i]`):
/// pure, for tests and fuzzing.
pub fn resolve(opts: &LoadOptions<'_>, texts: &[String]) -> Result<Project> {
    let lookup = |k: &str| opts.variables.get(k).cloned();
    let mut unset = Vec::new();
    let mut merged: Map<String, Value> = Map::new();
    let mut defined_in: IndexMap<String, Vec<&PathBuf>> = IndexMap::new();
    for (file, text) in opts.files.iter().zip(texts) {
        let loaded = load::load_str(
            file,
            text,
            opts.working_dir,
            &lookup,
            &mut unset,
            &mut Vec::new(),
        )?;
        if let Some(Value::Object(services)) = loaded.doc.get("services") {
            for name in services.keys() {
                defined_in.entry(name.clone()).or_default().push(file);
            }
        }
        merge::apply_marks(&mut merged, &loaded.marks);
        merge::merge_docs(&mut merged, loaded.doc);
    }
    load::default_build_context(&mut merged, opts.working_dir);
    let first = opts.files.first().cloned().unwrap_or_default();
    let err = |message: String| Error::Compose {
        path: first.clone(),
        position: None,
        message,
    };
    let networks =
        convert::resources(merged.get("networks"), opts.project, "networks").map_err(&err)?;
    let volumes: IndexMap<String, Volume> =
        convert::resources(merged.get("volumes"), opts.project, "volumes")
            .map_err(&err)?
            .into_iter()
            .map(|(k, n)| {
                (
                    k,
                    Volume {
                        name: n.name,
                        external: n.external,
                        driver: n.driver,
                        labels: n.labels,
                        driver_opts: n.driver_opts,
                    },
                )
            })
            .collect();
    let secrets = convert::file_objects(merged.get("secrets"), opts.project, "secrets", &lookup)
        .map_err(&err)?;
    let configs = convert::file_objects(merged.get("configs"), opts.project, "configs", &lookup)
        .map_err(&err)?;
    let declared = convert::Declared {
        volumes: &volumes,
        secrets: &secrets,
        configs: &configs,
    };
    let mut services = IndexMap::new();
    if let Some(Value::Object(raw)) = merged.get("services") {
        for (name, svc) in raw {
            if !valid_service_name(name) {
                return Err(err(format!(
                    "service name `{name}` is not valid (letters, digits, `.`, `_` and `-`)"
                )));
            }
            let Value::Object(svc) = svc else { continue };
            // A service only the last file (the instance override) names was
            // removed from the base files after the override was rendered.
            if opts.files.len() > 1
                && let Some(last) = opts.files.last()
                && defined_in
                    .get(name)
                    .is_some_and(|f| f.len() == 1 && f[0] == last)
                && !svc.contains_key("image")
            {
                return Err(Error::Compose {
                    path: last.clone(),
                    position: None,
                    message: format!(
                        "service `{name}` is only in this file, not in the base compose files (they changed since it was rendered: `mrctl render` the instance)"
                    ),
                });
            }
            let service = convert::service(opts.project, name, svc, &declared, &lookup)
                .map_err(|m| err(format!("service `{name}`: {m}")))?;
            services.insert(name.clone(), service);
        }
    }
    // Profiles: a service with profiles runs only when one of them is active.
    services.retain(|_, s: &mut Service| {
        s.profiles.is_empty() || s.profiles.iter().any(|p| opts.profiles.contains(p))
    });
    if services.is_empty() {
        return Err(err(
            "no services to run (none defined, or all behind inactive profiles)".into(),
        ));
    }
    let warnings = skip_optional_dependencies(&mut services, &merged);
    let mut used_networks: IndexMap<String, Network> = IndexMap::new();
    for svc in services.values() {
        for dep in svc.depends_on.keys() {
            if !services.contains_key(dep) {
                return Err(err(format!(
                    "service `{}` depends on `{dep}`, which is not defined or not active",
                    svc.name
                )));
            }
        }
        for key in svc.networks.keys() {
            let net = match networks.get(key) {
                Some(n) => n.clone(),
                None if key == "default" => Network {
                    name: format!("{}_default", opts.project),
                    external: false,
                    driver: None,
                    internal: false,
                    labels: IndexMap::new(),
                    driver_opts: IndexMap::new(),
                    attachable: false,
                    enable_ipv6: None,
                    ipam: Ipam::default(),
                },
                None => {
                    return Err(err(format!(
                        "service `{}` uses network `{key}`, which is not declared under the top-level `networks`",
                        svc.name
                    )));
                }
            };
            used_networks.entry(key.clone()).or_insert(net);
        }
    }
    let used_volumes: IndexMap<String, Volume> = volumes
        .into_iter()
        .filter(|(k, _)| {
            services.values().any(|s| {
                s.mounts
                    .iter()
                    .any(|m| m.kind == MountKind::Volume && m.source.as_deref() == Some(k.as_str()))
            })
        })
        .collect();
    let used = |objects: IndexMap<String, FileObject>, refs: fn(&Service) -> &Vec<FileRef>| {
        objects
            .into_iter()
            .filter(|(k, _)| {
                services
                    .values()
                    .any(|s| refs(s).iter().any(|r| &r.source == k))
            })
            .collect::<IndexMap<_, _>>()
    };
    let used_secrets = used(secrets, |s| &s.secrets);
    let used_configs = used(configs, |s| &s.configs);
    let mut container_names: IndexMap<String, &str> = IndexMap::new();
    for s in services.values() {
        if let Some(cn) = &s.container_name
            && let Some(other) = container_names.insert(cn.clone(), &s.name)
        {
            return Err(err(format!(
                "services `{other}` and `{}` both use container_name `{cn}`",
                s.name
            )));
        }
    }
    let mut project = Project {
        name: opts.project.to_string(),
        working_dir: opts.working_dir.to_path_buf(),
        config_files: opts.files.to_vec(),
        services,
        networks: used_networks,
        volumes: used_volumes,
        secrets: used_secrets,
        configs: used_configs,
        unset_variables: unset,
        warnings,
        waves: Vec::new(),
        document: merged,
    };
    project.waves = waves(&project).map_err(err)?;
    Ok(project)
}

/// Drops each dependency marked `required: false` on a service that is
/// defined but not active (behind a profile), as compose does, and says so.
fn skip_optional_dependencies(
    services: &mut IndexMap<String, Service>,
    merged: &Map<String, Value>,
) -> Vec<String> {
    let defined = merged.get("services").and_then(Value::as_object);
    let active: Vec<String> = services.keys().cloned().collect();
    let mut warnings = Vec::new();
    for svc in services.values_mut() {
        let written = defined
            .and_then(|d| d.get(&svc.name))
            .and_then(|s| s.get("depends_on"));
        svc.depends_on.retain(|dep, _| {
            let optional = written
                .and_then(|w| w.get(dep))
                .and_then(|d| d.get("required"))
                .is_some_and(|r| *r == false || *r == "false");
            let skip =
                optional && !active.contains(dep) && defined.is_some_and(|d| d.contains_key(dep));
            if skip {
                warnings.push(format!(
                    "service `{}`: optional dependency `{dep}` is not active; starting without it",
                    svc.name
                ));
            }
            !skip
        });
    }
    warnings
}

fn valid_service_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// Services in dependency waves: each wave depends only on earlier ones, so
/// a wave's services can start together. Order within a wave follows the file.
pub fn waves(project: &Project) -> std::result::Result<Vec<Vec<String>>, String> {
    let mut placed: IndexMap<&str, usize> = IndexMap::new();
    let mut waves: Vec<Vec<String>> = Vec::new();
    while placed.len() < project.services.len() {
        let ready: Vec<&str> = project
            .services
            .values()
            .filter(|s| !placed.contains_key(s.name.as_str()))
            .filter(|s| s.depends_on.keys().all(|d| placed.contains_key(d.as_str())))
            .map(|s| s.name.as_str())
            .collect();
        if ready.is_empty() {
            let stuck: Vec<String> = project
                .services
                .keys()
                .filter(|n| !placed.contains_key(n.as_str()))
                .map(|n| format!("`{n}`"))
                .collect();
            return Err(format!(
                "dependency cycle among services {}",
                stuck.join(", ")
            ));
        }
        let wave = waves.len();
        for name in &ready {
            placed.insert(name, wave);
        }
        waves.push(ready.into_iter().map(str::to_string).collect());
    }
    Ok(waves)
}

/// The name of a service's first container: `container_name`, else `<project>-<service>-1`.
pub fn container_name(project: &str, svc: &Service) -> String {
    replica_name(project, svc, 1)
}

/// The name of a service's container number `number` (from 1):
/// `container_name` (which allows one container), else
/// `<project>-<service>-<number>`, as docker compose names them.
pub fn replica_name(project: &str, svc: &Service, number: u32) -> String {
    svc.container_name
        .clone()
        .unwrap_or_else(|| format!("{project}-{}-{number}", svc.name))
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod tests_env;

#[cfg(test)]
mod tests_attach;
