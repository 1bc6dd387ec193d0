//! Reading registry text: syntax first (line and column), then the
//! version, then the schema with unknown keys refused by name, then the
//! values.

use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Position, Result};

use super::check::check_values;
use super::{Registry, VERSION};

/// Parses registry text: syntax first (line and column), then the version,
/// then the schema with unknown keys refused by name, then the values.
pub fn parse(path: &Path, text: &str) -> Result<Registry> {
    let text = strip_bom(text);
    let invalid = |e: serde_json::Error| Error::Registry {
        path: path.to_path_buf(),
        position: (e.line() > 0).then(|| Position {
            line: e.line(),
            column: e.column().max(1),
        }),
        message: strip_position(&e.to_string()),
    };
    #[derive(Deserialize)]
    struct Probe {
        version: Option<serde_json::Value>,
    }
    let trimmed = text.trim_start();
    if !trimmed.is_empty() && !trimmed.starts_with('{') {
        return Err(Error::Registry {
            path: path.to_path_buf(),
            position: Some(crate::error::position_of(text, text.len() - trimmed.len())),
            message: "the registry must be a JSON object (`{\"version\": 1, ...}`)".into(),
        });
    }
    // One strict parse on the happy path; the version probe runs only to
    // explain a failure (a future version may well have keys we refuse).
    let strict: std::result::Result<Registry, serde_json::Error> = serde_json::from_str(text);
    let version_error = |strict_error: Option<serde_json::Error>| -> Error {
        let probe: Probe = match serde_json::from_str(text) {
            Ok(p) => p,
            Err(e) => return invalid(e),
        };
        match probe.version {
            None => Error::Registry {
                path: path.to_path_buf(),
                position: None,
                message: "missing key `version`".into(),
            },
            Some(serde_json::Value::Number(n))
                if n.as_u64().is_some_and(|v| v > VERSION as u64) =>
            {
                Error::RegistryVersion {
                    path: path.to_path_buf(),
                    found: n.as_u64().unwrap_or_default(),
                    supported: VERSION,
                }
            }
            Some(serde_json::Value::Number(n)) if n.as_u64() == Some(0) => Error::Registry {
                path: path.to_path_buf(),
                position: None,
                message: format!(
                    "`version` 0 does not exist (this mrctl writes version {VERSION})"
                ),
            },
            Some(serde_json::Value::Number(n)) if n.as_u64().is_some() => match strict_error {
                Some(e) => invalid(e),
                None => unreachable!("a supported version with no error"),
            },
            Some(other) => Error::Registry {
                path: path.to_path_buf(),
                position: None,
                message: format!("`version` must be a positive integer, not `{other}`"),
            },
        }
    };
    let registry = match strict {
        Ok(r) if r.version >= 1 && r.version <= VERSION => r,
        Ok(_) => return Err(version_error(None)),
        Err(e) => return Err(version_error(Some(e))),
    };
    check_values(&registry).map_err(|message| Error::Registry {
        path: path.to_path_buf(),
        position: None,
        message,
    })?;
    Ok(registry)
}

/// The text without a UTF-8 byte-order mark at its start: an editor may add
/// one; it is accepted on read and never written.
pub(super) fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{RegistryFile, sample, to_json};

    #[test]
    fn syntax_error_names_line_and_column() {
        let err = parse(Path::new("i.json"), "{\n  \"version\": 1,\n  oops\n}")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`i.json:3:3`"), "{err}");
    }

    #[test]
    fn unknown_key_is_named() {
        let text = r#"{"version": 1, "instances": {}, "reserved_port": []}"#;
        let err = parse(Path::new("i.json"), text).unwrap_err().to_string();
        assert!(err.contains("unknown field `reserved_port`"), "{err}");
        let text = r#"{"version": 1, "instances": {"a": {"index": 0, "domain": "a.localhost",
            "project": "s-a", "ports": {}, "data_dir": "/d", "created_at": "x", "colour": 1}}}"#;
        let err = parse(Path::new("i.json"), text).unwrap_err().to_string();
        assert!(err.contains("unknown field `colour`"), "{err}");
    }

    #[test]
    fn future_version_is_refused_naming_both() {
        let text = r#"{"version": 7, "instances": {}, "new_thing": true}"#;
        let err = parse(Path::new("i.json"), text).unwrap_err();
        assert!(matches!(err, Error::RegistryVersion { found: 7, .. }));
        let msg = err.to_string();
        assert!(
            msg.contains("version 7") && msg.contains(&format!("version {VERSION}")),
            "{msg}"
        );
    }

    #[test]
    fn empty_and_truncated_files_are_errors() {
        assert!(parse(Path::new("i.json"), "").is_err());
        let full = String::from_utf8(to_json(&sample())).unwrap();
        for cut in [1, full.len() / 2, full.len() - 3] {
            assert!(
                parse(Path::new("i.json"), &full[..cut]).is_err(),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn unsafe_values_are_refused() {
        let base = |name: &str, data_dir: &str| {
            format!(
                r#"{{"version": 1, "instances": {{"{name}": {{"index": 0, "domain": "a.localhost",
                "project": "s-a", "ports": {{}}, "data_dir": "{data_dir}", "created_at": "x"}}}}}}"#
            )
        };
        let err = parse(Path::new("i.json"), &base("../etc", "/d"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("key `instances.../etc`"), "{err}");
        let err = parse(Path::new("i.json"), &base("a", "rel/dir"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not an absolute path"), "{err}");
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let entry = r#"{"index": 0, "domain": "a.localhost", "project": "s-a",
            "ports": {"web": 8000}, "data_dir": "/d", "created_at": "x"}"#;
        let text = format!(r#"{{"version": 1, "instances": {{"a": {entry}, "a": {entry}}}}}"#);
        let err = parse(Path::new("i.json"), &text).unwrap_err().to_string();
        assert!(err.contains("instance `a` is written twice"), "{err}");
        assert!(err.starts_with("registry `i.json:"), "{err}");
        let text = r#"{"version": 1, "instances": {"a": {"index": 0, "domain": "a.localhost",
            "project": "s-a", "ports": {"web": 8000, "web": 8001}, "data_dir": "/d",
            "created_at": "x"}}}"#;
        let err = parse(Path::new("i.json"), text).unwrap_err().to_string();
        assert!(err.contains("port `web` is written twice"), "{err}");
        let text = r#"{"version": 1, "instances": {}, "instances": {}}"#;
        let err = parse(Path::new("i.json"), text).unwrap_err().to_string();
        assert!(err.contains("duplicate field `instances`"), "{err}");
        // The one-entry path sees a second entry under its own name.
        let dir = tempfile::tempdir().unwrap();
        let file = RegistryFile::in_dir(dir.path());
        let text = format!(
            r#"{{"version": 1, "instances": {{"a": {entry}, "b": {}, "a": {entry}}}}}"#,
            entry
                .replace("s-a", "s-b")
                .replace("a.localhost", "b.localhost")
                .replace("0,", "1,")
                .replace("8000", "8001")
        );
        std::fs::write(&file.path, text).unwrap();
        let err = file.load_one("a").unwrap_err().to_string();
        assert!(err.contains("instance `a` is written twice"), "{err}");
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        let text = String::from_utf8(to_json(&sample())).unwrap();
        let marked = format!("\u{feff}{text}");
        assert_eq!(parse(Path::new("i.json"), &marked).unwrap(), sample());
        let dir = tempfile::tempdir().unwrap();
        let file = RegistryFile::in_dir(dir.path());
        std::fs::write(&file.path, &marked).unwrap();
        assert_eq!(file.load_one("prod").unwrap().1, 1);
    }
}
