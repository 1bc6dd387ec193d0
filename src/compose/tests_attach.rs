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
