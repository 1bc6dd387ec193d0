//! Secrets, configs and network settings: each refusal names the key.

use super::tests::Files;

#[test]
fn secrets_and_network_settings_are_checked_by_name() {
    for (yaml, needle) in [
        (
            "services:\n  web:\n    image: x\n    secrets: [nope]\n",
            "service `web`: `secrets`: `nope` is not declared under the top-level `secrets`",
        ),
        (
            "services:\n  web:\n    image: x\n    secrets: [s]\nsecrets:\n  s: {content: x}\n",
            "`secrets.s`: key `content` is not supported",
        ),
        (
            "services:\n  web:\n    image: x\n    configs: [c]\nconfigs:\n  c: {file: a, content: b}\n",
            "`configs.c` needs exactly one of `file`, `environment`, `content`",
        ),
        (
            "services:\n  web:\n    image: x\n    secrets: [s]\nsecrets:\n  s: {file: a, driver: vault}\n",
            "`secrets.s.driver` is not supported: it needs Docker Swarm",
        ),
        (
            "services:\n  web:\n    image: x\n    secrets: [{source: s, uid: nobody}]\nsecrets:\n  s: {file: a}\n",
            "`secrets.s.uid` must be a numeric id",
        ),
        (
            "services:\n  web:\n    image: x\n    networks:\n      n: {priority: high}\nnetworks:\n  n: {}\n",
            "`networks.n.priority` must be a whole number",
        ),
        (
            "services:\n  web:\n    image: x\n    networks: [n]\nnetworks:\n  n: {ipam: {config: [{subnet: 10.0.0.0/8, range: x}]}}\n",
            "`networks.n.ipam.config`: key `range` is not supported",
        ),
    ] {
        let f = Files::new(&[("c.yml", yaml)]);
        let err = f.load(&["c.yml"], &[]).unwrap_err().to_string();
        assert!(err.contains(needle), "{yaml}\n{err}");
    }
}

#[test]
fn secret_references_merge_by_source_and_target() {
    let f = Files::new(&[
        (
            "a.yml",
            "services:\n  app:\n    image: x\n    secrets: [a, {source: c, target: t1}]\n    configs: [x]\n\
             secrets:\n  a: {file: ./a}\n  b: {file: ./b}\n  c: {file: ./c}\nconfigs:\n  x: {file: ./x}\n",
        ),
        (
            "b.yml",
            "services:\n  app:\n    secrets: [{source: a, target: x}, b, {source: c, target: t2}]\n    \
             configs: [{source: x, mode: 0400}]\n",
        ),
    ]);
    let p = f.load(&["a.yml", "b.yml"], &[]).unwrap();
    let app = &p.services["app"];
    let refs: Vec<(&str, Option<&str>)> = app
        .secrets
        .iter()
        .map(|r| (r.source.as_str(), r.target.as_deref()))
        .collect();
    // As docker compose merges them.
    assert_eq!(
        refs,
        [
            ("a", None),
            ("c", Some("t1")),
            ("a", Some("x")),
            ("b", None),
            ("c", Some("t2"))
        ]
    );
    assert_eq!(app.configs.len(), 1);
    assert_eq!(app.configs[0].mode, Some(0o400));
}
