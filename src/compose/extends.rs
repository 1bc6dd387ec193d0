//! `extends`: a service starts from another one, of the same file or of
//! another file, and merges its own keys over it by the rules files merge
//! by. The other file's relative paths resolve against its own directory;
//! chains are followed, cycles refused. As in compose, everything is
//! inherited, `depends_on`, `links` and `volumes_from` included.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde_json::{Map, Value};

use super::load::{self, Loaded, absolutize, kind, scalar};
use super::merge::{apply_marks, merge_service, service_marks};
use super::yaml::Marks;
use crate::error::{Error, Result};

/// One file's services as loaded, their `extends` still to resolve.
struct File {
    path: PathBuf,
    dir: PathBuf,
    services: Map<String, Value>,
    marks: Marks,
}

/// The other files extended so far, each loaded once.
struct Files<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    unset: &'a mut Vec<String>,
    loaded: HashMap<PathBuf, Rc<File>>,
}

impl Files<'_> {
    fn get(&mut self, path: &Path) -> Result<Rc<File>> {
        if let Some(f) = self.loaded.get(path) {
            return Ok(f.clone());
        }
        let text = load::read_file(path)?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let Loaded { mut doc, marks } =
            load::load_plain(path, &text, &dir, self.lookup, self.unset)?;
        load::default_build_context(&mut doc, &dir);
        let services = match doc.remove("services") {
            Some(Value::Object(s)) => s,
            _ => Map::new(),
        };
        let file = Rc::new(File {
            path: path.to_path_buf(),
            dir,
            services,
            marks,
        });
        self.loaded.insert(path.to_path_buf(), file.clone());
        Ok(file)
    }
}

/// Resolves every `extends` of one loaded file in place.
pub fn apply(
    path: &Path,
    loaded: &mut Loaded,
    working_dir: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
) -> Result<()> {
    let Some(Value::Object(services)) = loaded.doc.get("services") else {
        return Ok(());
    };
    if !services.values().any(|s| s.get("extends").is_some()) {
        return Ok(());
    }
    let file = File {
        path: path.to_path_buf(),
        dir: working_dir.to_path_buf(),
        services: services.clone(),
        marks: loaded.marks.clone(),
    };
    let mut files = Files {
        lookup,
        unset,
        loaded: HashMap::new(),
    };
    let mut resolved = Map::new();
    for name in file.services.keys() {
        let svc = service(&file, name, &mut files, &mut Vec::new())?;
        resolved.insert(name.clone(), Value::Object(svc));
    }
    loaded
        .doc
        .insert("services".into(), Value::Object(resolved));
    Ok(())
}

/// Service `name` of `file` with its `extends` chain merged in. `stack`
/// holds the services being resolved, against cycles.
fn service(
    file: &File,
    name: &str,
    files: &mut Files<'_>,
    stack: &mut Vec<(PathBuf, String)>,
) -> Result<Map<String, Value>> {
    let err = |message: String| Error::Compose {
        path: file.path.clone(),
        position: None,
        message: format!("service `{name}`: {message}"),
    };
    let mut svc = match file.services.get(name) {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    let Some(ext) = svc.shift_remove("extends") else {
        return Ok(svc);
    };
    let (other, base_name) = target(&ext).map_err(&err)?;
    let here = (file.path.clone(), name.to_string());
    if let Some(start) = stack.iter().position(|s| *s == here) {
        let cycle: Vec<String> = stack[start..]
            .iter()
            .chain([&here])
            .map(|(_, n)| format!("`{n}`"))
            .collect();
        return Err(err(format!(
            "`extends` runs in a cycle: {}",
            cycle.join(" → ")
        )));
    }
    stack.push(here);
    let mut base = match other {
        None => {
            if !matches!(
                file.services.get(&base_name),
                Some(Value::Object(_) | Value::Null)
            ) {
                return Err(err(format!(
                    "`extends` names service `{base_name}`, which this file does not define"
                )));
            }
            service(file, &base_name, files, stack)?
        }
        Some(other) if super::include::is_remote(&other) => {
            return Err(err(format!(
                "`extends.file` `{other}` is a remote resource; mrctl extends local files only"
            )));
        }
        Some(other) => {
            let other_path = PathBuf::from(absolutize(&other, &file.dir));
            let other_file = files
                .get(&other_path)
                .map_err(|e| err(format!("`extends.file` `{other}` cannot be loaded: {e}")))?;
            if !other_file.services.contains_key(&base_name) {
                return Err(err(format!(
                    "`extends` names service `{base_name}`, which `{}` does not define",
                    other_path.display()
                )));
            }
            service(&other_file, &base_name, files, stack)?
        }
    };
    stack.pop();
    apply_marks(&mut base, &service_marks(&file.marks, name));
    merge_service(&mut base, svc);
    Ok(base)
}

/// `extends: NAME` or `extends: {service: NAME, file: PATH}`.
fn target(ext: &Value) -> std::result::Result<(Option<String>, String), String> {
    match ext {
        Value::String(s) => Ok((None, s.clone())),
        Value::Object(m) => {
            if let Some(k) = m
                .keys()
                .find(|k| !["service", "file"].contains(&k.as_str()))
            {
                return Err(format!("`extends`: key `{k}` is not valid"));
            }
            let service = m
                .get("service")
                .and_then(scalar)
                .ok_or("`extends` needs a `service`")?;
            let file = match m.get("file") {
                None | Some(Value::Null) => None,
                Some(v) => Some(
                    scalar(v)
                        .ok_or_else(|| format!("`extends.file` must be a path, not {}", kind(v)))?,
                ),
            };
            Ok((file, service))
        }
        other => Err(format!(
            "`extends` must be a service name or a mapping, not {}",
            kind(other)
        )),
    }
}

#[cfg(test)]
mod tests;
