//! The fast path of a read-only command on one instance: a visitor that
//! deserializes one named entry and skips the rest.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

use super::Instance;

struct Top<'a>(&'a str);
struct Instances<'a>(&'a str);

type Found = (u64, Option<Instance>, usize);

impl<'de> Visitor<'de> for Top<'_> {
    type Value = Found;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a registry object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Found, A::Error> {
        let (mut version, mut inst, mut count) = (None, None, 0);
        let mut seen_instances = false;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "version" if version.is_some() => {
                    return Err(de::Error::duplicate_field("version"));
                }
                "instances" if seen_instances => {
                    return Err(de::Error::duplicate_field("instances"));
                }
                "version" => version = Some(map.next_value::<u64>()?),
                "instances" => {
                    seen_instances = true;
                    let (i, c) = map.next_value_seed(Instances(self.0))?;
                    inst = i;
                    count = c;
                }
                "reserved_ports" => {
                    map.next_value::<Vec<u16>>()?;
                }
                "stack" => {
                    map.next_value::<super::StackRecord>()?;
                }
                other => {
                    return Err(de::Error::unknown_field(
                        other,
                        &["version", "stack", "reserved_ports", "instances"],
                    ));
                }
            }
        }
        Ok((
            version.ok_or_else(|| de::Error::missing_field("version"))?,
            inst,
            count,
        ))
    }
}

impl<'de> DeserializeSeed<'de> for Instances<'_> {
    type Value = (Option<Instance>, usize);
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Instances<'_> {
    type Value = (Option<Instance>, usize);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of instances")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut found, mut count) = (None, 0);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            count += 1;
            if key == self.0 {
                if found.is_some() {
                    return Err(super::unique::twice(self.0));
                }
                found = Some(map.next_value::<Instance>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok((found, count))
    }
}

/// (version, the instance if present, number of instances).
pub fn parse(text: &str, name: &str) -> serde_json::Result<Found> {
    let mut de = serde_json::Deserializer::from_str(text);
    let found = serde::Deserializer::deserialize_map(&mut de, Top(name))?;
    de.end()?;
    Ok(found)
}
