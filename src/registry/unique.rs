//! Maps that refuse a key written twice: serde would keep the last and the
//! next write would silently drop the first.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use indexmap::IndexMap;
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use super::Instance;

trait Map<V>: Default {
    fn has(&self, key: &str) -> bool;
    fn put(&mut self, key: String, value: V);
}

impl<V> Map<V> for BTreeMap<String, V> {
    fn has(&self, key: &str) -> bool {
        self.contains_key(key)
    }
    fn put(&mut self, key: String, value: V) {
        self.insert(key, value);
    }
}

impl<V> Map<V> for IndexMap<String, V> {
    fn has(&self, key: &str) -> bool {
        self.contains_key(key)
    }
    fn put(&mut self, key: String, value: V) {
        self.insert(key, value);
    }
}

struct Unique<M, V> {
    what: &'static str,
    _m: PhantomData<(M, V)>,
}

impl<'de, M: Map<V>, V: Deserialize<'de>> Visitor<'de> for Unique<M, V> {
    type Value = M;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a map of {}", self.what)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<M, A::Error> {
        let mut out = M::default();
        while let Some(key) = map.next_key::<String>()? {
            if out.has(&key) {
                return Err(de::Error::custom(format!(
                    "{} `{key}` is written twice (a second entry would silently replace the first)",
                    self.what
                )));
            }
            let value = map.next_value::<V>()?;
            out.put(key, value);
        }
        Ok(out)
    }
}

fn unique<'de, D: Deserializer<'de>, M: Map<V>, V: Deserialize<'de>>(
    d: D,
    what: &'static str,
) -> Result<M, D::Error> {
    d.deserialize_map(Unique {
        what,
        _m: PhantomData,
    })
}

pub fn instances<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Instance>, D::Error> {
    unique(d, "instance")
}

pub fn ports<'de, D: Deserializer<'de>>(d: D) -> Result<IndexMap<String, u16>, D::Error> {
    unique(d, "port")
}

/// The error for a second entry named `key` (the fast path's visitor).
pub fn twice<E: de::Error>(key: &str) -> E {
    E::custom(format!(
        "instance `{key}` is written twice (a second entry would silently replace the first)"
    ))
}
