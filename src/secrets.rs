//! Per-instance secrets: random values made once, on first use by a
//! template's `secret("key")`, and kept in the instance's `secrets.json`
//! (mode 0600) so every later render gives the same ones.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::fsutil::write_atomic;

/// Per-instance secrets: generated once on first use, kept in `secrets.json` (0600).
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    values: Arc<Mutex<BTreeMap<String, String>>>,
}

impl Secrets {
    /// Reads `secrets.json`; a missing file is an empty store.
    pub fn load(path: &Path) -> Result<Secrets> {
        let values = match crate::fsutil::read_optional(path, crate::fsutil::FileKind::Secrets)? {
            Some(text) => serde_json::from_str(&text).map_err(|e| Error::Config {
                path: path.to_path_buf(),
                position: Some(crate::error::Position {
                    line: e.line(),
                    column: e.column(),
                }),
                message: "is not a JSON object of strings".into(),
            })?,
            None => BTreeMap::new(),
        };
        Ok(Secrets {
            values: Arc::new(Mutex::new(values)),
        })
    }

    /// The secret called `key`, generated now if it does not exist yet.
    pub fn get_or_create(&self, key: &str) -> std::result::Result<String, String> {
        if key.is_empty()
            || key.len() > 64
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(format!(
                "secret key `{key}` must be 1-64 letters, digits, `_` or `-`"
            ));
        }
        let mut values = self.values.lock().expect("secrets lock");
        if let Some(v) = values.get(key) {
            return Ok(v.clone());
        }
        let value = random_secret(32).map_err(|e| format!("cannot generate a secret: {e}"))?;
        values.insert(key.to_string(), value.clone());
        Ok(value)
    }

    /// All secret values (for masking).
    pub fn values(&self) -> Vec<String> {
        self.values
            .lock()
            .expect("secrets lock")
            .values()
            .cloned()
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.values.lock().expect("secrets lock").is_empty()
    }

    /// Writes `secrets.json` with mode 0600.
    pub fn save(&self, path: &Path) -> Result<()> {
        let values = self.values.lock().expect("secrets lock").clone();
        let mut text = serde_json::to_vec_pretty(&values).expect("secrets serialize");
        text.push(b'\n');
        write_atomic(path, &text, 0o600)
    }
}

/// `len` random characters from [A-Za-z0-9], from the OS generator.
pub fn random_secret(len: usize) -> std::result::Result<String, getrandom::Error> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buf)?;
        for b in buf {
            // 248 = 4 × 62: rejecting the rest keeps every character equally likely.
            if b < 248 && out.len() < len {
                out.push(ALPHABET[(b % 62) as usize] as char);
            }
        }
    }
    Ok(out)
}

/// A random id of 16 hex digits, from the OS generator (stack identities,
/// helper container names).
pub fn random_id() -> std::result::Result<String, getrandom::Error> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_secrets_differ() {
        let a = random_secret(32).unwrap();
        let b = random_secret(32).unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
