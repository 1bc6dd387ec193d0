//! Env files as compose reads them: `KEY=VALUE` lines, `export ` allowed,
//! comments and blank lines skipped, one level of matching quotes removed.

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
