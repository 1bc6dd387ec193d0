//! Env files as compose reads them (the grammar is in [`parse`]); the
//! three-way merge that lets `mrctl render` refresh an env file without
//! losing what the operator added, and the masking of secret values.

mod parse;

use indexmap::IndexMap;

use parse::entries_unexpanded_on_error;
pub use parse::{Entry, ParseError, entries, raw_entries};

/// The lookup that sets nothing: an env file read on its own.
pub fn no_lookup(_: &str) -> Option<String> {
    None
}

/// The statements of `text` without failing: a line compose would refuse
/// (an unclosed quote, a bad name) is skipped with what follows it on that
/// line, and a value whose expansion fails (`${VAR:?}` unset) is kept as
/// written, so tools that show or merge a file still see all the rest.
pub fn entries_lenient<'a>(
    text: &'a str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Vec<Entry<'a>> {
    let mut out = Vec::new();
    let mut offset_lines = 0;
    let mut rest = text;
    loop {
        match entries_unexpanded_on_error(rest, lookup) {
            Ok(found) => {
                out.extend(found.into_iter().map(|e| shift(e, offset_lines)));
                return out;
            }
            Err(err) => {
                // Keep what precedes the bad line, then go on after it.
                let bad = err.line - 1;
                let head_end = nth_line_start(rest, bad);
                if let Ok(found) = entries_unexpanded_on_error(&rest[..head_end], lookup) {
                    out.extend(found.into_iter().map(|e| shift(e, offset_lines)));
                }
                let next = nth_line_start(rest, bad + 1);
                if next >= rest.len() {
                    return out;
                }
                rest = &rest[next..];
                offset_lines += bad + 1;
            }
        }
    }
}

fn shift(e: Entry<'_>, by: usize) -> Entry<'_> {
    Entry {
        lines: e.lines.start() + by..=e.lines.end() + by,
        ..e
    }
}

/// The byte offset where line `n` (0-based) starts, or the end.
fn nth_line_start(text: &str, n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    text.match_indices('\n')
        .nth(n - 1)
        .map_or(text.len(), |(i, _)| i + 1)
}

/// The assignments of an env file, last one winning, as compose reads the
/// file on its own (no variable set outside it); lines compose would refuse
/// are skipped.
pub fn parse_env(text: &str) -> IndexMap<String, String> {
    to_map(entries_lenient(text, &no_lookup))
}

/// The assignments of an env file, last one winning, expanding variables
/// from `lookup` first; the first line compose would refuse is an error.
pub fn parse_env_with(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<IndexMap<String, String>, ParseError> {
    entries(text, lookup).map(to_map)
}

fn to_map(entries: Vec<Entry<'_>>) -> IndexMap<String, String> {
    let mut map = IndexMap::new();
    for e in entries {
        if let Some(v) = e.value {
            map.insert(e.key.to_string(), v);
        }
    }
    map
}

/// The interpolation variables compose derives from one `--env-file` and
/// the process environment: the file's values (expanded with the process
/// environment looked up first), under the process environment, which wins.
/// Also returns the keys the file sets.
pub fn interpolation_variables(
    text: &str,
    process: impl IntoIterator<Item = (String, String)>,
) -> Result<Variables, ParseError> {
    interpolation_variables_of(&[text], process).map_err(|(_, e)| e)
}

/// Interpolation variables, and the keys the env files set.
pub type Variables = (IndexMap<String, String>, Vec<String>);

/// `interpolation_variables` of several `--env-file`s read in order, as
/// compose reads them: a later file's value replaces an earlier one's, and
/// its `${VAR}` looks in the process environment, then its own earlier
/// lines, then the earlier files. An error names the file by its index.
pub fn interpolation_variables_of(
    texts: &[&str],
    process: impl IntoIterator<Item = (String, String)>,
) -> Result<Variables, (usize, ParseError)> {
    let process: IndexMap<String, String> = process.into_iter().collect();
    let mut vars: IndexMap<String, String> = IndexMap::new();
    for (i, text) in texts.iter().enumerate() {
        let entries = parse::entries_over(text, &|k| process.get(k).cloned(), &|k| {
            vars.get(k).cloned()
        })
        .map_err(|e| (i, e))?;
        let file = to_map(entries);
        vars.extend(file);
    }
    let file_keys: Vec<String> = vars.keys().cloned().collect();
    vars.extend(process);
    Ok((vars, file_keys))
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
/// losing an operator's value is worse than a stale one. Kept statements are
/// copied byte for byte, all their lines (a quoted value may span several).
pub fn merge_env(current: &str, base: Option<&str>, fresh: &str) -> (String, MergeReport) {
    let cur = entries_lenient(current, &no_lookup);
    let fresh_entries = entries_lenient(fresh, &no_lookup);
    let map = |es: &[Entry<'_>]| -> IndexMap<String, Option<String>> {
        es.iter()
            .map(|e| (e.key.to_string(), e.value.clone()))
            .collect()
    };
    let current_map = map(&cur);
    let base_map = base.map(|b| map(&entries_lenient(b, &no_lookup)));
    let fresh_map = map(&fresh_entries);
    let cur_lines: Vec<&str> = current.lines().collect();
    let fresh_lines: Vec<&str> = fresh.lines().collect();
    let operator_statement = |key: &str| -> Vec<&str> {
        cur.iter()
            .rev()
            .find(|e| e.key == key)
            .map(|e| {
                cur_lines[*e.lines.start()..=(*e.lines.end()).min(cur_lines.len() - 1)].to_vec()
            })
            .unwrap_or_default()
    };
    let mut report = MergeReport::default();
    let mut out = String::with_capacity(fresh.len() + current.len());
    let mut push = |lines: &[&str]| {
        for l in lines {
            out.push_str(l);
            out.push('\n');
        }
    };
    let mut i = 0;
    while i < fresh_lines.len() {
        let Some(e) = fresh_entries.iter().find(|e| *e.lines.start() == i) else {
            push(&fresh_lines[i..=i]);
            i += 1;
            continue;
        };
        let end = (*e.lines.end()).min(fresh_lines.len() - 1);
        let key = e.key;
        let keep = match (current_map.get(key), fresh_map.get(key)) {
            (Some(mine), Some(theirs)) => {
                let operator_changed = match &base_map {
                    Some(b) => b.get(key) != Some(mine),
                    None => mine != theirs,
                };
                operator_changed && mine != theirs
            }
            _ => false,
        };
        if keep {
            report.kept_changed.push(key.to_string());
            push(&operator_statement(key));
        } else {
            push(&fresh_lines[i..=end]);
        }
        i = end + 1;
    }
    let mut added: Vec<&str> = Vec::new();
    for e in &cur {
        let key = e.key;
        let rendered_before = base_map.as_ref().is_some_and(|b| b.contains_key(key));
        if !fresh_map.contains_key(key) && !rendered_before && !added.contains(&key) {
            added.push(key);
            report.kept_added.push(key.to_string());
        }
    }
    if !added.is_empty() {
        push(&[
            "",
            "# Kept by `mrctl render`: values added by the operator.",
        ]);
        for key in added {
            push(&operator_statement(key));
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
mod tests;
