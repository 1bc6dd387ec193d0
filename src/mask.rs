//! The process-wide masker: the secret values of the instances this process
//! has loaded, replaced by `***` in everything it prints on stderr (errors,
//! warnings, messages, tracing). Values are registered where an instance's
//! variables are loaded (`commands::instance_variables`), so no command can
//! forget it; a secret interpolated into an image tag, a user, a path or a
//! network name and echoed back by validation or by the engine stays hidden.

use std::borrow::Cow;
use std::io::Write;
use std::sync::RwLock;

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// Values shorter than this are not masked: a secret of one to three
/// characters would hit ports, numbers and words all over the messages, and
/// hide more than it protects.
pub const MIN_LEN: usize = 4;

/// Registered secrets, longest first (so a secret that contains another is
/// masked whole).
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Registers a value to mask from now on. Short values are ignored (see
/// `MIN_LEN`).
pub fn register(value: &str) {
    if value.chars().count() < MIN_LEN {
        return;
    }
    let mut secrets = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    if secrets.iter().any(|s| s == value) {
        return;
    }
    secrets.push(value.to_string());
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// Registers an instance's secrets: its generated secrets (`secrets.json`)
/// and the values of variables whose key names a secret (the rule
/// `mrctl env` masks by).
pub fn register_instance<'a>(
    generated: impl IntoIterator<Item = &'a String>,
    variables: impl IntoIterator<Item = (&'a String, &'a String)>,
) {
    for value in generated {
        register(value);
    }
    for (key, value) in variables {
        if crate::envfile::is_secret_key(key) {
            register(value);
        }
    }
}

/// `text` with every registered secret replaced by `***`.
pub fn mask(text: &str) -> Cow<'_, str> {
    let secrets = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    if !secrets.iter().any(|s| text.contains(s.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for s in secrets.iter() {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), MASK);
        }
    }
    Cow::Owned(out)
}

/// A writer that masks what passes through it. Tracing formats each event
/// into one buffer and writes it at once, so a secret is never split
/// between two writes.
pub struct Masked<W>(pub W);

impl<W: Write> Write for Masked<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(mask(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_and_short_values_are_not() {
        register("s3cr3t-value-for-mask-test");
        register("s3cr3t-value");
        register("abc");
        assert_eq!(
            mask("image `busybox:s3cr3t-value-for-mask-test` and s3cr3t-value, abc"),
            "image `busybox:***` and ***, abc"
        );
        assert!(matches!(mask("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn only_variables_with_a_secret_key_are_registered() {
        let generated = ["generated-mask-test-1".to_string()];
        let vars = [
            ("DB_PASSWORD".to_string(), "hunter2-mask-test".to_string()),
            ("api_key".to_string(), "key-mask-test".to_string()),
            ("DOMAIN".to_string(), "plain-mask-test".to_string()),
        ];
        register_instance(&generated, vars.iter().map(|(k, v)| (k, v)));
        assert_eq!(
            mask("generated-mask-test-1 hunter2-mask-test key-mask-test plain-mask-test"),
            "*** *** *** plain-mask-test"
        );
    }

    #[test]
    fn the_writer_masks_what_it_writes() {
        register("written-mask-test");
        let mut w = Masked(Vec::new());
        w.write_all(b"a written-mask-test b\n").unwrap();
        assert_eq!(w.0, b"a *** b\n");
    }
}
