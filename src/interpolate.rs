//! Variable interpolation as compose does it: `$VAR`, `${VAR}`,
//! `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`,
//! `${VAR:+alternative}`, `${VAR+alternative}`, and `$$` for a literal `$`.
//! Defaults may nest (`${A:-${B}}`). Values are never re-expanded, so a
//! variable whose value holds `${...}` cannot loop.

/// How deep `${A:-${B:-${C}}}` may nest.
const MAX_DEPTH: usize = 16;

/// What went wrong in one string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpolationError {
    /// `${VAR:?msg}` with VAR unset (or empty).
    Required { var: String, message: String },
    /// Unterminated `${`, a bad name, or too deep.
    Invalid(String),
}

impl std::fmt::Display for InterpolationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InterpolationError::Required { var, message } if message.is_empty() => {
                write!(f, "required variable `{var}` is missing a value")
            }
            InterpolationError::Required { var, message } => {
                write!(f, "required variable `{var}` is missing a value: {message}")
            }
            InterpolationError::Invalid(why) => write!(f, "invalid interpolation: {why}"),
        }
    }
}

/// Interpolates `input`. `lookup` gives a variable's value; unset variables
/// become empty strings and are reported through `unset`.
pub fn interpolate(
    input: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
) -> Result<String, InterpolationError> {
    expand(input, lookup, unset, 0)
}

fn expand(
    input: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
    depth: usize,
) -> Result<String, InterpolationError> {
    if depth > MAX_DEPTH {
        return Err(InterpolationError::Invalid(format!(
            "nested more than {MAX_DEPTH} levels deep"
        )));
    }
    if !input.contains('$') {
        return Ok(input.to_string());
    }
    let mut out = String::with_capacity(input.len());
    let chars: Vec<char> = input.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '$' {
            out.push(c);
            i += 1;
            continue;
        }
        match chars.get(i + 1) {
            Some('$') => {
                out.push('$');
                i += 2;
            }
            Some('{') => {
                let close = matching_brace(&chars, i + 1).ok_or_else(|| {
                    InterpolationError::Invalid(format!("`{input}` has an unterminated `${{`"))
                })?;
                let body: String = chars[i + 2..close].iter().collect();
                out.push_str(&braced(&body, lookup, unset, depth)?);
                i = close + 1;
            }
            Some(&n) if n == '_' || n.is_ascii_alphabetic() => {
                let start = i + 1;
                let mut end = start;
                while end < chars.len() && (chars[end] == '_' || chars[end].is_ascii_alphanumeric())
                {
                    end += 1;
                }
                let name: String = chars[start..end].iter().collect();
                out.push_str(&value_of(&name, lookup, unset));
                i = end;
            }
            _ => {
                // A lone `$` (before a space, a digit, the end): kept as written.
                out.push('$');
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Index of the `}` closing the `{` at `open`, honouring nested `${`.
fn matching_brace(chars: &[char], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < chars.len() {
        match chars[i] {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn value_of(
    name: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
) -> String {
    match lookup(name) {
        Some(v) => v,
        None => {
            if !unset.iter().any(|u| u == name) {
                unset.push(name.to_string());
            }
            String::new()
        }
    }
}

fn braced(
    body: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
    depth: usize,
) -> Result<String, InterpolationError> {
    let name_end = body
        .find(|c: char| !(c == '_' || c.is_ascii_alphanumeric()))
        .unwrap_or(body.len());
    let name = &body[..name_end];
    let valid_name = name
        .chars()
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic());
    if !valid_name {
        return Err(InterpolationError::Invalid(format!(
            "`${{{body}}}` does not start with a variable name"
        )));
    }
    let rest = &body[name_end..];
    let value = lookup(name);
    let (op, arg) = [":-", ":?", ":+", "-", "?", "+"]
        .into_iter()
        .find_map(|op| rest.strip_prefix(op).map(|arg| (op, arg)))
        .unwrap_or(("", rest));
    if op.is_empty() && !rest.is_empty() {
        return Err(InterpolationError::Invalid(format!(
            "`${{{body}}}`: unknown operator after `{name}`"
        )));
    }
    let colon = op.starts_with(':');
    // With a colon, an empty value counts as unset.
    let present = match &value {
        Some(v) => !(colon && v.is_empty()),
        None => false,
    };
    match op.trim_start_matches(':') {
        "" => Ok(value_of(name, lookup, unset)),
        "-" => {
            if present {
                Ok(value.unwrap_or_default())
            } else {
                expand(arg, lookup, unset, depth + 1)
            }
        }
        "?" => {
            if present {
                Ok(value.unwrap_or_default())
            } else {
                Err(InterpolationError::Required {
                    var: name.to_string(),
                    message: expand(arg, lookup, unset, depth + 1)?,
                })
            }
        }
        "+" => {
            if present {
                expand(arg, lookup, unset, depth + 1)
            } else {
                Ok(String::new())
            }
        }
        _ => unreachable!("operators are from the list above"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &str) -> Result<String, InterpolationError> {
        let lookup = |k: &str| match k {
            "NAME" => Some("prod".to_string()),
            "EMPTY" => Some(String::new()),
            "UID" => Some("1000".to_string()),
            "LOOP" => Some("${LOOP}".to_string()),
            _ => None,
        };
        let mut unset = Vec::new();
        interpolate(input, &lookup, &mut unset)
    }

    #[test]
    fn forms() {
        assert_eq!(run("${NAME}-backend").unwrap(), "prod-backend");
        assert_eq!(run("$NAME/x").unwrap(), "prod/x");
        assert_eq!(run("${MISSING:-app}-backend").unwrap(), "app-backend");
        assert_eq!(run("${EMPTY:-d}").unwrap(), "d");
        assert_eq!(run("${EMPTY-d}").unwrap(), "");
        assert_eq!(run("${MISSING-d}").unwrap(), "d");
        assert_eq!(run("${NAME:+set}").unwrap(), "set");
        assert_eq!(run("${EMPTY:+set}").unwrap(), "");
        assert_eq!(run("${EMPTY+set}").unwrap(), "set");
        assert_eq!(run("${MISSING+set}").unwrap(), "");
        assert_eq!(run("$$HOME and $$$$").unwrap(), "$HOME and $$");
        assert_eq!(run("${UID:-1000}:${GID:-1000}").unwrap(), "1000:1000");
        assert_eq!(run("${MISSING:-${NAME}}").unwrap(), "prod");
        assert_eq!(run("${MISSING:-${ALSO:-deep}}").unwrap(), "deep");
        assert_eq!(run("cost $5").unwrap(), "cost $5");
        assert_eq!(
            run("Host(`${NAME}.example.com`) && PathPrefix(`/`)").unwrap(),
            "Host(`prod.example.com`) && PathPrefix(`/`)"
        );
    }

    #[test]
    fn values_are_not_re_expanded() {
        assert_eq!(run("${LOOP}").unwrap(), "${LOOP}");
    }

    #[test]
    fn required() {
        assert_eq!(
            run("${MISSING:?set MISSING in .env}")
                .unwrap_err()
                .to_string(),
            "required variable `MISSING` is missing a value: set MISSING in .env"
        );
        assert!(run("${EMPTY:?}").is_err());
        assert_eq!(run("${EMPTY?}").unwrap(), "");
    }

    #[test]
    fn invalid() {
        assert!(run("${NAME").is_err());
        assert!(run("${}").is_err());
        assert!(run("${1A}").is_err());
        assert!(run("${NAME!x}").is_err());
        let deep = format!("{}x{}", "${A:-".repeat(40), "}".repeat(40));
        assert!(run(&deep).is_err());
    }

    #[test]
    fn unset_are_reported_once() {
        let mut unset = Vec::new();
        interpolate("$A ${A} ${B:-x}", &|_| None, &mut unset).unwrap();
        assert_eq!(unset, ["A"]);
    }
}
