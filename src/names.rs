//! Validation of the names users type: instance names, domains, port names,
//! stack and compose project names. Everything here is refused before any
//! file is touched, and none of these values ever reaches a shell.

use crate::error::{Error, Result};

/// Longest instance name accepted.
pub const MAX_NAME_LEN: usize = 40;

/// Names that mean something else on the command line (`stop all`).
const RESERVED: &[&str] = &["all"];

/// Checks an instance name: lowercase `[a-z0-9][a-z0-9-]*`, at most 40
/// characters, no trailing `-`, numbers without leading zeros.
pub fn validate_instance_name(name: &str) -> Result<()> {
    let fail = |reason: &str| {
        Err(Error::InvalidName {
            name: name.to_string(),
            reason: reason.to_string(),
        })
    };
    if name.is_empty() {
        return fail("a name cannot be empty");
    }
    if name.chars().count() > MAX_NAME_LEN {
        return fail(&format!("a name has at most {MAX_NAME_LEN} characters"));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        let what = if bad.is_ascii_uppercase() {
            "uppercase letters are not allowed".to_string()
        } else {
            format!("{} is not allowed (use a-z, 0-9 and -)", describe_char(bad))
        };
        return fail(&what);
    }
    if name.starts_with('-') {
        return fail("a name starts with a letter or a digit");
    }
    if name.ends_with('-') {
        return fail("a name cannot end with `-`");
    }
    if RESERVED.contains(&name) {
        return fail("this word is reserved (`--all` acts on every instance)");
    }
    if name.len() > 1 && name.starts_with('0') && name.chars().all(|c| c.is_ascii_digit()) {
        return fail("a numbered instance has no leading zeros");
    }
    Ok(())
}

fn describe_char(c: char) -> String {
    match c {
        ' ' => "a space".to_string(),
        '/' => "`/`".to_string(),
        '`' => "a backtick".to_string(),
        c if c.is_control() => format!("the control character U+{:04X}", c as u32),
        c => format!("`{c}`"),
    }
}

/// The index a numbered instance name stands for (`"3"` → 3).
pub fn numeric_index(name: &str) -> Option<u32> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

/// Checks a domain (RFC 1123 host name) and returns it lowercased.
pub fn validate_domain(domain: &str) -> Result<String> {
    let fail = |reason: String| {
        Err(Error::InvalidDomain {
            domain: domain.to_string(),
            reason,
        })
    };
    if domain.is_empty() {
        return fail("a domain cannot be empty".into());
    }
    if domain.len() > 253 {
        return fail("a domain has at most 253 characters".into());
    }
    for label in domain.split('.') {
        if label.is_empty() {
            return fail(
                "a domain has no empty labels (`..`, or a leading or trailing `.`)".into(),
            );
        }
        if label.len() > 63 {
            return fail(format!("the label `{label}` is longer than 63 characters"));
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return fail(format!(
                "{} is not allowed (use letters, digits, `-` and `.`)",
                describe_char(bad)
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return fail(format!("the label `{label}` starts or ends with `-`"));
        }
    }
    Ok(domain.to_ascii_lowercase())
}

/// Checks a named port (`backend`): it becomes `BACKEND_PORT` in env files,
/// so it must make a shell identifier.
pub fn valid_port_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 40
}

/// Checks a compose project name as docker compose does:
/// `[a-z0-9][a-z0-9_-]*`.
pub fn valid_project_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && name.len() <= 63
}

/// The environment variable that carries a named port: `backend` → `BACKEND_PORT`.
pub fn port_env_var(port_name: &str) -> String {
    format!("{}_PORT", port_name.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_good_names() {
        for name in ["prod", "0", "1", "42", "a", "customer-7", "a1-b2"] {
            validate_instance_name(name).unwrap();
        }
        validate_instance_name(&"a".repeat(40)).unwrap();
    }

    #[test]
    fn refuses_bad_names_with_a_reason() {
        let cases = [
            ("", "empty"),
            ("Prod", "uppercase"),
            ("../x", "`.`"),
            ("a;b", "`;`"),
            ("a b", "a space"),
            ("-a", "starts with"),
            ("a-", "end with"),
            ("all", "reserved"),
            ("007", "leading zeros"),
            ("é", "`é`"),
            ("a\nb", "control character"),
        ];
        for (name, needle) in cases {
            let err = validate_instance_name(name).unwrap_err().to_string();
            assert!(err.contains(needle), "{name:?}: {err}");
        }
        let long = "a".repeat(41);
        assert!(
            validate_instance_name(&long)
                .unwrap_err()
                .to_string()
                .contains("at most 40")
        );
    }

    #[test]
    fn numeric_names_are_indexes() {
        assert_eq!(numeric_index("0"), Some(0));
        assert_eq!(numeric_index("12"), Some(12));
        assert_eq!(numeric_index("a1"), None);
        assert_eq!(numeric_index(""), None);
        assert_eq!(numeric_index("99999999999"), None);
    }

    #[test]
    fn domains() {
        assert_eq!(
            validate_domain("Prod.Example.com").unwrap(),
            "prod.example.com"
        );
        validate_domain("localhost").unwrap();
        for bad in [
            "", "a..b", ".a", "a.", "-a.com", "a_b.com", "a b", "x`y", "a/b",
        ] {
            assert!(validate_domain(bad).is_err(), "{bad:?}");
        }
        assert!(validate_domain(&format!("{}.com", "a".repeat(64))).is_err());
    }

    #[test]
    fn port_and_project_names() {
        assert!(valid_port_name("backend"));
        assert!(valid_port_name("mesh_grpc2"));
        assert!(!valid_port_name("Backend"));
        assert!(!valid_port_name("2x"));
        assert!(!valid_port_name("a-b"));
        assert!(valid_project_name("shipsec-dev-1"));
        assert!(!valid_project_name("-x"));
        assert!(!valid_project_name("A"));
        assert_eq!(port_env_var("backend"), "BACKEND_PORT");
    }
}
