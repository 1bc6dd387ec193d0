//! `env_file:` and YAML scalars as compose v2 reads them.

use super::*;

fn load(files: &[(&str, &str)], vars: &[(&str, &str)]) -> Result<Project> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let paths = vec![dir.path().join("compose.yml")];
    let variables: IndexMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    load_project(&LoadOptions {
        project: "demo",
        working_dir: dir.path(),
        files: &paths,
        variables: &variables,
        profiles: &[],
    })
}

fn env_of(files: &[(&str, &str)], vars: &[(&str, &str)]) -> IndexMap<String, String> {
    load(files, vars).unwrap().services["s"].environment.clone()
}

#[test]
fn env_file_values_follow_the_env_file_grammar() {
    let env = env_of(
        &[
            (
                "compose.yml",
                "services:\n  s:\n    image: busybox\n    env_file: sub/svc.env\n    environment:\n      W: declared\n",
            ),
            (
                "sub/svc.env",
                "PORT=8765  # the port\nX=file\nY=$X\nZ=${W}\nQ=\"a\\tb\"\nR='$X'\n",
            ),
        ],
        &[("X", "interp")],
    );
    assert_eq!(env["PORT"], "8765");
    assert_eq!(
        env["X"], "file",
        "the interpolation variables do not override a file's keys"
    );
    assert_eq!(
        env["Y"], "interp",
        "expansion looks in the interpolation variables first"
    );
    assert_eq!(env["Z"], "declared", "then in the service's `environment`");
    assert_eq!(env["Q"], "a\tb");
    assert_eq!(env["R"], "$X");
}

#[test]
fn env_file_long_form_raw_and_optional() {
    let env = env_of(
        &[
            (
                "compose.yml",
                "services:\n  s:\n    image: busybox\n    env_file:\n      - path: raw.env\n        format: raw\n      - path: missing.env\n        required: false\n",
            ),
            ("raw.env", "A=\"q\" # x\nB=$HOME\n"),
        ],
        &[],
    );
    assert_eq!(env["A"], "\"q\" # x");
    assert_eq!(env["B"], "$HOME");
}

#[test]
fn a_missing_required_env_file_names_the_file_and_the_service() {
    let err = load(
        &[(
            "compose.yml",
            "services:\n  s:\n    image: busybox\n    env_file: [missing.env]\n",
        )],
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("service `s`"), "{err}");
    assert!(err.contains("missing.env` does not exist"), "{err}");
}

#[test]
fn a_bad_env_file_names_its_line() {
    let err = load(
        &[
            (
                "compose.yml",
                "services:\n  s:\n    image: busybox\n    env_file: bad.env\n",
            ),
            ("bad.env", "A=1\nB=\"open\n"),
        ],
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("bad.env` line 2"), "{err}");
}

#[test]
fn an_unknown_env_file_format_is_refused() {
    let err = load(
        &[
            (
                "compose.yml",
                "services:\n  s:\n    image: busybox\n    env_file:\n      - path: a.env\n        format: toml\n",
            ),
            ("a.env", ""),
        ],
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("format `toml`"), "{err}");
}

/// Each scalar as `docker compose config --format json` shows it in
/// `environment:` (compose v2.40).
pub const SCALARS: &[(&str, &str)] = &[
    ("yes", "yes"),
    ("on", "on"),
    ("Off", "Off"),
    ("y", "y"),
    ("True", "true"),
    ("TRUE", "true"),
    ("0o17", "15"),
    ("010", "8"),
    ("0x1F", "31"),
    ("0b11", "3"),
    ("1_000", "1000"),
    (".5", "0.5"),
    ("+1", "1"),
    ("1e3", "1000"),
    ("1.0", "1"),
    ("3.10", "3.1"),
    ("-0", "0"),
    ("12:30", "12:30"),
];

#[test]
fn yaml_scalars_resolve_as_compose_resolves_them() {
    let mut text = String::from("services:\n  s:\n    image: busybox\n    environment:\n");
    for (i, (yaml, _)) in SCALARS.iter().enumerate() {
        text.push_str(&format!("      V{i}: {yaml}\n"));
    }
    let env = env_of(&[("compose.yml", &text)], &[]);
    for (i, (yaml, want)) in SCALARS.iter().enumerate() {
        assert_eq!(env[&format!("V{i}")], *want, "`{yaml}`");
    }
}

#[test]
fn networks_named_like_yaml_1_1_booleans_stay_names() {
    let p = load(
        &[(
            "compose.yml",
            "services:\n  s:\n    image: busybox\n    networks: [on, no]\nnetworks:\n  on: {}\n  no: {}\n",
        )],
        &[],
    )
    .unwrap();
    let nets: Vec<&String> = p.services["s"].networks.keys().collect();
    assert_eq!(nets, ["on", "no"]);
}

#[test]
fn hundreds_of_aliases_load() {
    let mut text = String::from(
        "x-a: &a\n  restart: unless-stopped\nx-l: &l\n  com.example.team: core\nservices:\n",
    );
    for i in 0..400 {
        text.push_str(&format!(
            "  s{i}:\n    <<: *a\n    image: busybox\n    labels: *l\n"
        ));
    }
    let p = load(&[("compose.yml", &text)], &[]).unwrap();
    assert_eq!(p.services.len(), 400);
    assert_eq!(
        p.services["s399"].restart.as_deref(),
        Some("unless-stopped")
    );
}

#[test]
fn an_alias_bomb_is_refused() {
    let mut text = String::from("x-0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let p = i - 1;
        text.push_str(&format!(
            "x-{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    text.push_str("services:\n  s:\n    image: busybox\n");
    let err = load(&[("compose.yml", &text)], &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("compose.yml"), "{err}");
    assert!(err.contains("alias"), "{err}");
}
