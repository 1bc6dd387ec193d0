//! Compose files: loading YAML with positions in errors. The engine issue
//! grows this into merge, interpolation, validation and planning; the offline
//! core needs only the service names, for templates.

use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;

use crate::error::{Error, Position, Result};

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
    Error::Compose {
        path: path.to_path_buf(),
        position,
        message: message
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// The service names of the base compose files, in first-seen order.
pub fn service_names(paths: &[impl AsRef<Path>]) -> Result<Vec<String>> {
    #[derive(Deserialize)]
    struct Names {
        #[serde(default)]
        services: Option<IndexMap<String, serde::de::IgnoredAny>>,
    }
    let mut names: Vec<String> = Vec::new();
    for path in paths {
        let path = path.as_ref();
        let text =
            std::fs::read_to_string(path).map_err(|e| Error::io("read compose file", path, e))?;
        let doc: Names = serde_saphyr::from_str(&text).map_err(|e| yaml_error(path, &e))?;
        for name in doc.services.unwrap_or_default().into_keys() {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_order_across_files() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.yml");
        let b = dir.path().join("b.yml");
        std::fs::write(&a, "services:\n  web:\n    image: x\n  db:\n    image: y\n").unwrap();
        std::fs::write(
            &b,
            "services:\n  db:\n    ports: []\n  cache:\n    image: z\n",
        )
        .unwrap();
        assert_eq!(service_names(&[a, b]).unwrap(), ["web", "db", "cache"]);
    }

    #[test]
    fn yaml_errors_have_positions() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.yml");
        std::fs::write(&a, "services:\n  web:\n    image: [x\n").unwrap();
        let err = service_names(&[&a]).unwrap_err().to_string();
        assert!(err.contains("a.yml:"), "{err}");
    }
}
