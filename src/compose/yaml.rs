//! Compose YAML with the compose specification's merge tags: `!reset`
//! removes a value from the merged result, `!override` replaces it instead
//! of merging into it. The document is read by [`super::yaml_options`]
//! (the same scalars as every other compose file read), each node with its
//! tag; the tags come back as key paths beside the plain document.

use std::fmt;
use std::path::Path;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use serde_saphyr::Tagged;

use crate::error::Result;

/// What a merge tag asks of the files merged before this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// `!reset`: the key is gone from the merged result.
    Reset,
    /// `!override`: this file's value replaces the earlier one whole.
    Override,
}

/// A key path (`services`, `web`, `ports`) and the tag found on its value.
pub type Marks = Vec<(Vec<String>, Tag)>;

/// One file's document: `!reset` keys already removed, the tagged paths
/// listed.
pub struct Parsed {
    pub doc: Value,
    pub marks: Marks,
}

/// Parses one compose file, keeping its merge tags.
pub fn parse(path: &Path, text: &str) -> Result<Parsed> {
    let node: Tagged<Node> = serde_saphyr::from_str_with_options(text, super::yaml_options())
        .map_err(|e| super::yaml_error(path, &e))?;
    let mut marks = Vec::new();
    let doc = lower(node, &mut Vec::new(), &mut marks);
    Ok(Parsed { doc, marks })
}

/// The merge tag a YAML tag names, if any (in the local `!` spelling).
fn merge_tag(tag: Option<&str>) -> Option<Tag> {
    match tag? {
        "!reset" => Some(Tag::Reset),
        "!override" => Some(Tag::Override),
        _ => None,
    }
}

/// A parsed node; each child keeps its own tag.
enum Node {
    Scalar(Value),
    Seq(Vec<Tagged<Node>>),
    Map(Vec<(String, Tagged<Node>)>),
}

/// Turns the tagged tree into a plain value, recording each merge tag's
/// key path and dropping `!reset` keys.
fn lower(node: Tagged<Node>, at: &mut Vec<String>, marks: &mut Marks) -> Value {
    let Tagged(node, _) = node;
    match node {
        Node::Scalar(v) => v,
        Node::Seq(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| {
                    at.push(format!("[{i}]"));
                    let v = lower(item, at, marks);
                    at.pop();
                    v
                })
                .collect(),
        ),
        Node::Map(entries) => {
            let mut map = Map::new();
            for (key, item) in entries {
                at.push(key.clone());
                let tag = merge_tag(item.1.as_deref());
                if let Some(tag) = tag {
                    marks.push((at.clone(), tag));
                }
                let v = lower(item, at, marks);
                at.pop();
                if tag != Some(Tag::Reset) {
                    map.insert(key, v);
                }
            }
            Value::Object(map)
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_bool<E>(self, v: bool) -> std::result::Result<Node, E> {
        Ok(Node::Scalar(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> std::result::Result<Node, E> {
        Ok(Node::Scalar(Value::Number(v.into())))
    }

    fn visit_u64<E>(self, v: u64) -> std::result::Result<Node, E> {
        Ok(Node::Scalar(Value::Number(v.into())))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> std::result::Result<Node, E> {
        Number::from_i128(v)
            .map(|n| Node::Scalar(Value::Number(n)))
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> std::result::Result<Node, E> {
        Number::from_u128(v)
            .map(|n| Node::Scalar(Value::Number(n)))
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_f64<E>(self, v: f64) -> std::result::Result<Node, E> {
        Ok(Node::Scalar(
            Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }

    fn visit_str<E>(self, v: &str) -> std::result::Result<Node, E> {
        Ok(Node::Scalar(Value::String(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> std::result::Result<Node, E> {
        Ok(Node::Scalar(Value::String(v)))
    }

    fn visit_unit<E>(self) -> std::result::Result<Node, E> {
        Ok(Node::Scalar(Value::Null))
    }

    fn visit_none<E>(self) -> std::result::Result<Node, E> {
        Ok(Node::Scalar(Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Node, D::Error> {
        Node::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Tagged<Node>>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Node, A::Error> {
        let mut entries: Vec<(String, Tagged<Node>)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value::<Tagged<Node>>()?;
            // A later duplicate wins, in the first one's place (as a map does).
            match entries.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => entries.push((key, value)),
            }
        }
        Ok(Node::Map(entries))
    }
}

#[cfg(test)]
mod tests;
