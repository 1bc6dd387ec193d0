//! Env files as compose reads them: `KEY=VALUE` lines, `export ` allowed,
//! comments and blank lines skipped, one level of matching quotes removed;
//! the three-way merge that lets `mrctl render` refresh an env file without
//! losing what the operator added, and the masking of secret values.

use indexmap::IndexMap;

/// One `KEY=VALUE` assignment of an env file (with `export ` allowed).
pub fn parse_env_line(line: &str) -> Option<(&str, &str)> {
    let t = line.trim_start();
    if t.starts_with('#') || t.is_empty() {
        return None;
    }
    let t = t.strip_prefix("export ").unwrap_or(t);
    let (key, value) = t.split_once('=')?;
    let key = key.trim();
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    Some((key, value))
}

/// The assignments of an env file, last one winning, as compose reads them.
pub fn parse_env(text: &str) -> IndexMap<String, String> {
    let mut map = IndexMap::new();
    for line in text.lines() {
        if let Some((k, v)) = parse_env_line(line) {
            map.insert(k.to_string(), unquote(v.trim()).to_string());
        }
    }
    map
}

fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

/// What a merge kept from the operator's file.
#[derive(Debug, Default, PartialEq)]
pub struct MergeReport {
    /// Keys the operator changed, kept with the operator's value.
    pub kept_changed: Vec<String>,
    /// Keys the operator added, carried over.
    pub kept_added: Vec<String>,
}

/// Three-way merge of env files: `current` (on disk, the operator's),
/// `base` (what mrctl rendered last time, if known) and `fresh` (rendered now).
/// A key whose current value differs from the base was changed by the operator
/// and keeps that value; keys only the operator has are appended; every other
/// key takes the fresh value. Without a base, any differing value is kept:
/// losing an operator's value is worse than a stale one.
pub fn merge_env(current: &str, base: Option<&str>, fresh: &str) -> (String, MergeReport) {
    let current_map = parse_env(current);
    let base_map = base.map(parse_env);
    let fresh_map = parse_env(fresh);
    let mut report = MergeReport::default();
    let mut out = String::with_capacity(fresh.len() + current.len());
    for line in fresh.lines() {
        let replaced = parse_env_line(line).and_then(|(key, _)| {
            let mine = current_map.get(key)?;
            let theirs = fresh_map.get(key)?;
            let operator_changed = match &base_map {
                Some(b) => b.get(key) != Some(mine),
                None => mine != theirs,
            };
            (operator_changed && mine != theirs).then(|| {
                report.kept_changed.push(key.to_string());
                current
                    .lines()
                    .rev()
                    .find(|l| parse_env_line(l).is_some_and(|(k, _)| k == key))
                    .unwrap_or(line)
            })
        });
        out.push_str(replaced.unwrap_or(line));
        out.push('\n');
    }
    let mut added = Vec::new();
    for line in current.lines() {
        if let Some((key, _)) = parse_env_line(line) {
            let rendered_before = base_map.as_ref().is_some_and(|b| b.contains_key(key));
            if !fresh_map.contains_key(key) && !rendered_before && !added.contains(&key) {
                added.push(key);
                report.kept_added.push(key.to_string());
            }
        }
    }
    if !added.is_empty() {
        out.push_str("\n# Kept by `mrctl render`: values added by the operator.\n");
        for key in added {
            let line = current
                .lines()
                .rev()
                .find(|l| parse_env_line(l).is_some_and(|(k, _)| k == key))
                .unwrap_or_default();
            out.push_str(line);
            out.push('\n');
        }
    }
    (out, report)
}

/// Whether an env key names something secret by its name alone.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_uppercase();
    [
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "TOKEN",
        "API_KEY",
        "APIKEY",
        "PRIVATE",
        "CREDENTIAL",
    ]
    .iter()
    .any(|w| k.contains(w))
        || k.ends_with("_KEY")
}

/// The mask shown in place of a secret value.
pub const MASK: &str = "********";

/// Masks a value when its key says so or it is one of the instance's secrets.
pub fn mask_value(key: &str, value: &str, secrets: &[String]) -> String {
    if value.is_empty() {
        return String::new();
    }
    if is_secret_key(key)
        || secrets
            .iter()
            .any(|s| !s.is_empty() && value.contains(s.as_str()))
    {
        MASK.to_string()
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_operator_values_and_takes_new_ones() {
        let base = "A=1\nPORT=8000\nAPI_KEY=\n";
        let current = "A=1\nPORT=8000\nAPI_KEY=sk-123\nEXTRA=yes\n";
        let fresh = "A=1\nPORT=8100\nAPI_KEY=\nNEW=2\n";
        let (out, report) = merge_env(current, Some(base), fresh);
        assert_eq!(
            out,
            "A=1\nPORT=8100\nAPI_KEY=sk-123\nNEW=2\n\n# Kept by `mrctl render`: values added by the operator.\nEXTRA=yes\n"
        );
        assert_eq!(report.kept_changed, ["API_KEY"]);
        assert_eq!(report.kept_added, ["EXTRA"]);
    }

    #[test]
    fn merge_drops_keys_the_template_no_longer_renders() {
        let base = "OLD=1\nA=1\n";
        let current = "OLD=1\nA=1\n";
        let fresh = "A=2\n";
        let (out, report) = merge_env(current, Some(base), fresh);
        assert_eq!(out, "A=2\n");
        assert_eq!(report, MergeReport::default());
    }

    #[test]
    fn merge_without_base_keeps_every_differing_value() {
        let (out, report) = merge_env("A=mine\n", None, "A=new\n");
        assert_eq!(out, "A=mine\n");
        assert_eq!(report.kept_changed, ["A"]);
    }

    #[test]
    fn masking() {
        assert_eq!(mask_value("OPENAI_API_KEY", "sk-1", &[]), MASK);
        assert_eq!(mask_value("DB_PASSWORD", "x", &[]), MASK);
        assert_eq!(mask_value("BACKEND_PORT", "8765", &[]), "8765");
        assert_eq!(mask_value("DSN", "pg://u:abc@h", &["abc".into()]), MASK);
        assert_eq!(mask_value("API_KEY", "", &[]), "");
    }
}
