//! The canonical form on shapes the typed model does not keep.

use super::*;

#[test]
fn durations_print_as_go_does() {
    for (ms, text) in [
        (0, "0s"),
        (500, "500ms"),
        (1000, "1s"),
        (1500, "1.5s"),
        (60_000, "1m0s"),
        (90_000, "1m30s"),
        (3_600_000, "1h0m0s"),
        (3_723_000, "1h2m3s"),
        (3_723_250, "1h2m3.25s"),
    ] {
        assert_eq!(go_duration(ms), text, "{ms}");
    }
}

fn canonical(yaml: &str, vars: &[(&str, &str)]) -> Value {
    let files = vec![std::path::PathBuf::from("/srv/app/docker-compose.yml")];
    let variables: indexmap::IndexMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let p = super::super::resolve(
        &super::super::LoadOptions {
            project: "app-prod",
            working_dir: std::path::Path::new("/srv/app"),
            files: &files,
            variables: &variables,
            profiles: &[],
        },
        &[yaml.to_string()],
    )
    .unwrap();
    project(&p)
}

#[test]
fn shapes_the_typed_model_does_not_keep_come_from_the_document() {
    let v = canonical(
        "services:\n  web:\n    image: busybox\n    environment: [SET, UNSET]\n    \
         volumes: [./d:/d, data:/data, {type: bind, source: /x, target: /x}]\n    \
         depends_on: {db: {condition: service_started, required: false}}\n    \
         ulimits: {nproc: 100, nofile: {soft: 1, hard: 2}}\n    mem_limit: 64m\n    \
         extra_hosts: [b:1.1.1.1, a=2.2.2.2]\n  db:\n    image: busybox\n\
         volumes:\n  data:\n",
        &[("SET", "yes")],
    );
    let web = &v["services"]["web"];
    assert_eq!(web["environment"], json!({"SET": "yes", "UNSET": null}));
    assert_eq!(
        web["volumes"],
        json!([
            {"type": "bind", "source": "/srv/app/d", "target": "/d",
             "bind": {"create_host_path": true}},
            {"type": "volume", "source": "data", "target": "/data", "volume": {}},
            {"type": "bind", "source": "/x", "target": "/x"},
        ])
    );
    assert_eq!(
        web["depends_on"],
        json!({"db": {"condition": "service_started", "required": false}})
    );
    assert_eq!(
        web["ulimits"],
        json!({"nproc": 100, "nofile": {"soft": 1, "hard": 2}})
    );
    assert_eq!(web["mem_limit"], json!("67108864"));
    assert_eq!(web["extra_hosts"], json!(["a=2.2.2.2", "b=1.1.1.1"]));
    assert_eq!(web["networks"], json!({"default": null}));
    assert_eq!(web["command"], Value::Null);
    assert_eq!(
        v["networks"],
        json!({"default": {"name": "app-prod_default", "ipam": {}}})
    );
    assert_eq!(v["volumes"], json!({"data": {"name": "app-prod_data"}}));
}

#[test]
fn whole_numbers_print_without_a_fraction() {
    assert_eq!(json_number(2.0).to_string(), "2");
    assert_eq!(json_number(0.5).to_string(), "0.5");
}

#[test]
fn secrets_print_their_source_never_their_value() {
    let v = canonical(
        "services:\n  web:\n    image: busybox\n    secrets: [token, {source: key, target: k, mode: 0400}]\n    \
         configs: [{source: conf, target: c.conf}]\n\
         secrets:\n  token: {environment: TOKEN}\n  key: {file: ./key.pem}\n  unused: {file: ./x}\n\
         configs:\n  conf: {content: \"a $$b\"}\n",
        &[("TOKEN", "s3cret-value")],
    );
    assert!(!v.to_string().contains("s3cret-value"));
    assert_eq!(
        v["secrets"],
        json!({"token": {"name": "app-prod_token", "environment": "TOKEN"},
               "key": {"name": "app-prod_key", "file": "/srv/app/key.pem"}})
    );
    assert_eq!(
        v["services"]["web"]["secrets"],
        json!([{"source": "token", "target": "/run/secrets/token"},
               {"source": "key", "target": "k", "mode": "0400"}])
    );
    assert_eq!(
        v["configs"],
        json!({"conf": {"name": "app-prod_conf", "content": "a $b"}})
    );
    assert_eq!(
        v["services"]["web"]["configs"],
        json!([{"source": "conf", "target": "c.conf"}])
    );
}

#[test]
fn printed_dollars_are_escaped_as_compose_escapes_them() {
    let mut v =
        json!({"environment": {"A": "x$y", "B": "plain"}, "command": ["echo", "$HOME"], "l$": 1});
    escape_dollars(&mut v);
    assert_eq!(
        v,
        json!({"environment": {"A": "x$$y", "B": "plain"}, "command": ["echo", "$$HOME"], "l$$": 1})
    );
}
