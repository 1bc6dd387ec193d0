//! The env file grammar of compose v2 (its `dotenv` reader), as
//! `docker compose config` shows it resolving each form:
//!
//! - A UTF-8 byte order mark is skipped; blank lines and lines whose first
//!   non-blank character is `#` are comments.
//! - A statement is `KEY=VALUE`, `KEY: VALUE` or `export KEY=VALUE`, with
//!   blanks allowed around the separator. A key is letters, digits, `_`,
//!   `.` and `-`; any other character is an error naming the line.
//! - `KEY` alone (no separator) takes its value from the lookup
//!   environment, and is left out when that does not set it.
//! - Unquoted: the value runs to the end of the line, cut at the first
//!   ` #` (a `#` after a blank starts a comment; `a#b` keeps its `#`), with
//!   blanks trimmed on both sides. Backslashes are literal.
//! - Single quotes: literal up to the next `'` not preceded by `\`; the only
//!   escape is `\'`. No expansion. The value may span lines.
//! - Double quotes: up to the next `"` not preceded by `\`, spanning lines
//!   if need be; `\n`, `\r`, `\t`, `\a`, `\b`, `\f`, `\v`, `\\`, `\"` are
//!   escapes, `\$` is a literal `$`, any other `\x` stays as written.
//! - After a closing quote the rest of the line is ignored (`"a"b` is `a`,
//!   `"a" # note` is `a`). A quote left open is an error.
//! - Unquoted and double-quoted values expand `$VAR`, `${VAR}`,
//!   `${VAR:-default}` and the other interpolation forms, `$$` being a
//!   literal `$`: a variable is looked up in the lookup environment first,
//!   then among the earlier keys of the same file; an unset one is empty.
//! - The last assignment of a key wins.
//!
//! The `raw` format (`env_file: {format: raw}`) takes each non-comment line
//! as `KEY=VALUE` literally: no quotes, no expansion, no inline comments;
//! only the line's leading blanks are dropped.

/// One statement of an env file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    pub key: &'a str,
    /// `None`: `KEY` alone, and the lookup environment does not set it.
    pub value: Option<String>,
    /// The statement's first and last lines (0-based): a quoted value may
    /// span several.
    pub lines: std::ops::RangeInclusive<usize>,
}

/// Why an env file cannot be read, and on which line (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

type Lookup<'l> = &'l dyn Fn(&str) -> Option<String>;

fn is_blank(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\r' | '\u{b}' | '\u{c}' | '\u{85}' | '\u{a0}'
    )
}

fn key_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// The statements of `text`, in order, by the rules of the module doc.
pub fn entries<'a>(text: &'a str, lookup: Lookup<'_>) -> Result<Vec<Entry<'a>>, ParseError> {
    parse(text, lookup, &|_| None, true)
}

/// `entries` of a file read after others (compose's second `--env-file`):
/// a variable is looked up in `lookup` (the process environment), then in
/// the file's own earlier statements, then in `earlier_files`; `KEY` alone
/// takes `lookup`, then `earlier_files`.
pub fn entries_over<'a>(
    text: &'a str,
    lookup: Lookup<'_>,
    earlier_files: Lookup<'_>,
) -> Result<Vec<Entry<'a>>, ParseError> {
    parse(text, lookup, earlier_files, true)
}

/// `entries`, but a value whose expansion fails (`${VAR:?}` with VAR unset)
/// is kept as written instead of being an error.
pub(super) fn entries_unexpanded_on_error<'a>(
    text: &'a str,
    lookup: Lookup<'_>,
) -> Result<Vec<Entry<'a>>, ParseError> {
    parse(text, lookup, &|_| None, false)
}

fn parse<'a>(
    text: &'a str,
    lookup: Lookup<'_>,
    earlier_files: Lookup<'_>,
    strict: bool,
) -> Result<Vec<Entry<'a>>, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let line_at = |pos: usize| text[..pos].bytes().filter(|&b| b == b'\n').count();
    let err = |pos: usize, message: String| ParseError {
        line: line_at(pos) + 1,
        message,
    };
    let mut out: Vec<Entry<'a>> = Vec::new();
    let mut earlier: indexmap::IndexMap<&'a str, String> = indexmap::IndexMap::new();
    let mut pos = 0;
    loop {
        pos += text[pos..].len() - text[pos..].trim_start().len();
        if pos >= text.len() {
            break;
        }
        let start = pos;
        if text[pos..].starts_with('#') {
            pos = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
            continue;
        }
        if let Some(r) = text[pos..].strip_prefix("export")
            && r.starts_with([' ', '\t'])
        {
            pos = text.len() - r.trim_start_matches([' ', '\t']).len();
        }
        let key_start = pos;
        let mut sep = None;
        for (i, c) in text[pos..].char_indices() {
            match c {
                '=' | ':' | '\n' => {
                    sep = Some((pos + i, c));
                    break;
                }
                c if is_blank(c) || key_char(c) => {}
                c => {
                    return Err(err(
                        pos,
                        format!("unexpected character `{c}` in a variable name"),
                    ));
                }
            }
        }
        let key_end = sep.map_or(text.len(), |(i, _)| i);
        let key = text[key_start..key_end].trim_end_matches(is_blank);
        if key.is_empty() {
            return Err(err(pos, "a variable name is missing".into()));
        }
        if key.contains(is_blank) {
            return Err(err(pos, format!("variable name `{key}` contains a blank")));
        }
        let Some((sep_at, '=' | ':')) = sep else {
            // `KEY` alone: inherited from the lookup environment.
            out.push(Entry {
                key,
                value: lookup(key).or_else(|| earlier_files(key)),
                lines: line_at(start)..=line_at(start),
            });
            pos = key_end;
            continue;
        };
        pos = sep_at + 1;
        pos += text[pos..].len() - text[pos..].trim_start_matches(is_blank).len();
        let expand_lookup = |name: &str| {
            lookup(name)
                .or_else(|| earlier.get(name).cloned())
                .or_else(|| earlier_files(name))
        };
        let (value, end) = match text[pos..].chars().next() {
            Some(q @ ('"' | '\'')) => {
                let body = &text[pos + 1..];
                let close = body
                    .char_indices()
                    .find(|&(i, c)| c == q && !body[..i].ends_with('\\'))
                    .map(|(i, _)| i)
                    .ok_or_else(|| {
                        err(pos, format!("the quoted value of `{key}` is not closed"))
                    })?;
                let inner = &body[..close];
                let value = if q == '"' {
                    match expand(&unescape(inner), &expand_lookup) {
                        Ok(v) => v,
                        Err(_) if !strict => inner.to_string(),
                        Err(m) => return Err(err(pos, format!("`{key}`: {m}"))),
                    }
                } else {
                    inner.replace("\\'", "'")
                };
                let after = pos + 1 + close + 1;
                let end = text[after..].find('\n').map_or(text.len(), |i| after + i);
                (value, end)
            }
            _ => {
                let end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
                let line = &text[pos..end];
                let line = line.split(" #").next().unwrap_or_default();
                let line = line.trim_end_matches(is_blank);
                let value = match expand(line, &expand_lookup) {
                    Ok(v) => v,
                    Err(_) if !strict => line.to_string(),
                    Err(m) => return Err(err(pos, format!("`{key}`: {m}"))),
                };
                (value, end)
            }
        };
        earlier.insert(key, value.clone());
        out.push(Entry {
            key,
            value: Some(value),
            lines: line_at(start)..=line_at(end),
        });
        pos = end;
    }
    Ok(out)
}

/// The statements of a `format: raw` env file.
pub fn raw_entries<'a>(text: &'a str, lookup: Lookup<'_>) -> Result<Vec<Entry<'a>>, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (line.trim_end(), None),
        };
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(ParseError {
                line: n + 1,
                message: format!("variable name `{key}` is empty or contains a blank"),
            });
        }
        out.push(Entry {
            key,
            value: value.or_else(|| lookup(key)),
            lines: n..=n,
        });
    }
    Ok(out)
}

/// The escapes of a double-quoted value; `\$` becomes `$$`, which the
/// expansion then turns into a literal `$`.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(&next) = chars.peek().filter(|&&n| n != '\n') else {
            out.push(c);
            continue;
        };
        chars.next();
        match next {
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'v' => out.push('\u{b}'),
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            '$' => out.push_str("$$"),
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    out
}

fn expand(s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut unset = Vec::new();
    crate::interpolate::interpolate(s, lookup, &mut unset).map_err(|e| e.to_string())
}
