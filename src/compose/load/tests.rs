//! Unit tests of `load`.
use super::*;
use crate::compose::merge::merge_docs;
use serde_json::json;

fn norm(v: Value) -> Value {
    let Value::Object(mut m) = v else { panic!() };
    normalize_service(&mut m, Path::new("/stack")).unwrap();
    Value::Object(m)
}

#[test]
fn merge_follows_compose_rules() {
    let mut base = json!({"services": {"web": norm(json!({
        "image": "a", "command": ["x", "y"], "ports": ["80:80"],
        "environment": ["A=1", "B=2"], "labels": {"l": "1"},
        "volumes": ["data:/data", "./conf:/conf:ro"],
        "depends_on": ["db"],
    }))}});
    let over = json!({"services": {"web": norm(json!({
        "image": "b", "command": ["z"], "ports": ["81:81", "80:80"],
        "environment": {"B": "3", "C": "4"}, "labels": ["m=2"],
        "volumes": ["other:/data"],
        "depends_on": {"cache": {"condition": "service_healthy"}},
    })), "db": {"image": "pg"}}, "volumes": {"data": {}}});
    let (Value::Object(b), Value::Object(o)) = (&mut base, over) else {
        panic!()
    };
    merge_docs(b, o);
    let web = &base["services"]["web"];
    assert_eq!(web["image"], "b");
    assert_eq!(web["command"], json!(["z"]));
    assert_eq!(web["ports"], json!(["80:80", "81:81"]));
    assert_eq!(web["environment"], json!({"A": "1", "B": "3", "C": "4"}));
    assert_eq!(web["labels"], json!({"l": "1", "m": "2"}));
    assert_eq!(
        web["volumes"][0],
        json!({"type": "volume", "source": "other", "target": "/data", "volume": {}})
    );
    assert_eq!(
        web["volumes"][1],
        json!({"type": "bind", "source": "/stack/conf", "target": "/conf", "read_only": true, "bind": {"create_host_path": true}})
    );
    assert_eq!(web["depends_on"]["db"]["condition"], "service_started");
    assert_eq!(web["depends_on"]["cache"]["condition"], "service_healthy");
    assert_eq!(base["services"]["db"]["image"], "pg");
}
