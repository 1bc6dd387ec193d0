//! Unit tests of the merge rules.

use serde_json::{Map, Value, json};

use super::{apply_marks, merge_docs, merge_service, service_marks};
use crate::compose::yaml::Tag;

fn obj(v: Value) -> Map<String, Value> {
    let Value::Object(m) = v else { panic!() };
    m
}

fn path(s: &str) -> Vec<String> {
    s.split('.').map(str::to_string).collect()
}

#[test]
fn lists_append_without_repeating_an_item() {
    let mut base = obj(json!({"cap_add": ["A", "B"], "dns": ["1.1.1.1"], "profiles": ["p1"]}));
    merge_service(
        &mut base,
        obj(json!({"cap_add": ["B", "C"], "dns": ["1.1.1.1"], "profiles": ["p2"]})),
    );
    assert_eq!(
        Value::Object(base),
        json!({"cap_add": ["A", "B", "C"], "dns": ["1.1.1.1"], "profiles": ["p1", "p2"]})
    );
}

#[test]
fn logging_of_another_driver_replaces_and_a_healthcheck_test_is_replaced() {
    let mut base = obj(json!({
        "logging": {"driver": "json-file", "options": {"a": "1"}},
        "healthcheck": {"test": ["CMD", "a"], "interval": "5s"},
    }));
    merge_service(
        &mut base,
        obj(json!({
            "logging": {"driver": "syslog", "options": {"b": "2"}},
            "healthcheck": {"test": ["CMD", "b"]},
        })),
    );
    assert_eq!(
        base["logging"],
        json!({"driver": "syslog", "options": {"b": "2"}})
    );
    assert_eq!(
        base["healthcheck"],
        json!({"test": ["CMD", "b"], "interval": "5s"})
    );
    let mut base = obj(json!({"logging": {"driver": "json-file", "options": {"a": "1"}}}));
    merge_service(&mut base, obj(json!({"logging": {"options": {"b": "2"}}})));
    assert_eq!(
        base["logging"],
        json!({"driver": "json-file", "options": {"a": "1", "b": "2"}})
    );
}

#[test]
fn marks_remove_the_earlier_value_before_the_later_file_merges() {
    let mut merged = obj(json!({"services": {"web": {
        "ports": ["80:80"], "labels": {"a": "1"}, "image": "x"}}}));
    let marks = vec![
        (path("services.web.ports"), Tag::Reset),
        (path("services.web.labels"), Tag::Override),
        (path("services.web.gone.deeper"), Tag::Reset),
        (
            vec!["services".into(), "web".into(), "dns".into(), "[0]".into()],
            Tag::Reset,
        ),
    ];
    apply_marks(&mut merged, &marks);
    merge_docs(
        &mut merged,
        obj(json!({"services": {"web": {"labels": {"b": "2"}}}})),
    );
    assert_eq!(
        Value::Object(merged),
        json!({"services": {"web": {"image": "x", "labels": {"b": "2"}}}})
    );
    assert_eq!(
        service_marks(&marks, "web")[0],
        (vec!["ports".to_string()], Tag::Reset)
    );
    assert!(service_marks(&marks, "db").is_empty());
}
