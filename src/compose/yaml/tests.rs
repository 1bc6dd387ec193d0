use std::path::Path;

use serde_json::{Value, json};

use super::{Tag, parse};

fn plain(text: &str) -> Value {
    crate::compose::parse_yaml(Path::new("c.yml"), text).unwrap()
}

fn tagged(text: &str) -> super::Parsed {
    parse(Path::new("c.yml"), text).unwrap()
}

#[test]
fn untagged_documents_read_as_the_plain_parser_reads_them() {
    for text in [
        "a: yes\nb: on\nc: true\nd: FALSE\n",
        "a: 0o17\nb: 010\nc: 1_000\nd: 0x1f\ne: 1.5\nf: .inf\ng: .nan\n",
        "a: ~\nb: null\nc:\nd: ''\n",
        "x: &a {p: 1, q: [1, 2]}\ny: *a\nz:\n  <<: *a\n  q: 3\n",
        "s: !!str 123\nn: !!int '7'\nl: [a, {b: c}]\n",
        "k: 18446744073709551615\nm: -9223372036854775808\n",
        "'80': x\n80: y\n",
    ] {
        assert_eq!(tagged(text).doc, plain(text), "{text}");
    }
}

#[test]
fn reset_drops_the_key_and_override_keeps_it_both_marked() {
    let p = tagged(
        "services:\n  web:\n    ports: !reset []\n    environment: !override {A: 1}\n    image: !reset null\n",
    );
    assert_eq!(
        p.doc,
        json!({"services": {"web": {"environment": {"A": 1}}}})
    );
    let path = |s: &str| s.split('.').map(str::to_string).collect::<Vec<_>>();
    assert_eq!(
        p.marks,
        vec![
            (path("services.web.ports"), Tag::Reset),
            (path("services.web.environment"), Tag::Override),
            (path("services.web.image"), Tag::Reset),
        ]
    );
}

#[test]
fn tags_behind_an_alias_mark_every_place_the_alias_is_used() {
    let p = tagged("x: &a {ports: !reset []}\nservices:\n  web: *a\n");
    assert_eq!(p.doc, json!({"x": {}, "services": {"web": {}}}));
    assert_eq!(p.marks.len(), 2);
}

#[test]
fn bad_yaml_names_line_and_column() {
    let Err(e) = parse(Path::new("c.yml"), "a: [1,\nb: 2\n") else {
        panic!("accepted")
    };
    assert!(e.to_string().contains("c.yml:"), "{e}");
}

#[test]
fn an_alias_bomb_is_refused_when_tags_are_read_too() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    assert!(parse(Path::new("c.yml"), &text).is_err());
}

#[test]
fn duplicate_keys_and_odd_documents_fare_as_with_the_plain_parser() {
    for text in [
        "a: 1\na: 2\n",
        "- 1\n- 2\n",
        "just text\n",
        "a: [1, 2\n",
        "? [a]\n: b\n",
    ] {
        let plain = crate::compose::parse_yaml::<Value>(Path::new("c.yml"), text);
        let tagged = parse(Path::new("c.yml"), text);
        match (plain, tagged) {
            (Ok(p), Ok(t)) => assert_eq!(t.doc, p, "{text}"),
            (Err(p), Err(t)) => assert_eq!(t.to_string(), p.to_string(), "{text}"),
            (p, t) => panic!("{text}: plain {p:?}, tagged {:?}", t.map(|t| t.doc)),
        }
    }
}

/// README, "Differences from docker compose": beside a `<<` merge key,
/// `!reset` removes the key, where compose fills it in from the merge key
/// again (the parser applies merge keys before tags are seen).
#[test]
fn reset_beside_a_merge_key_removes_the_key() {
    let p = tagged("x: &a {p: 1, q: 1}\ny:\n  <<: *a\n  p: !reset 2\n");
    assert_eq!(p.doc["y"], json!({"q": 1}));
}
