//! Env files and YAML scalars, resolved by mrctl and by `docker compose
//! config` on the same files: the values must be the same. `docker compose`
//! must be installed; without it these tests fail.

use std::collections::BTreeMap;
use std::path::Path;

use indexmap::IndexMap;

use super::common::Fixture;

/// The process environment both sides see, on top of PATH and HOME.
const PROCESS: &[(&str, &str)] = &[("PROC", "from-process"), ("SHARED", "process-wins")];

/// `docker compose config --format json` of `files` in `dir`: each
/// service's environment, `$$` turned back into the `$` it stands for.
fn compose_environment(
    dir: &Path,
    files: &[&Path],
    env_files: &[&Path],
) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut cmd = std::process::Command::new("docker");
    cmd.arg("compose").arg("--project-directory").arg(dir);
    for f in files {
        cmd.arg("-f").arg(f);
    }
    for e in env_files {
        cmd.arg("--env-file").arg(e);
    }
    cmd.args(["config", "--format", "json"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(PROCESS.iter().copied());
    if let Some(home) = std::env::var_os("HOME") {
        cmd.env("HOME", home);
    }
    let out = cmd
        .output()
        .expect("`docker compose` must be installed for this test");
    assert!(
        out.status.success(),
        "docker compose config failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut services = BTreeMap::new();
    for (name, svc) in doc["services"].as_object().unwrap() {
        let env = svc["environment"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        let v = v.as_str().unwrap_or_default().replace("$$", "$");
                        (k.clone(), v)
                    })
                    .collect()
            })
            .unwrap_or_default();
        services.insert(name.clone(), env);
    }
    services
}

fn process() -> Vec<(String, String)> {
    PROCESS
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// What mrctl resolves for the same files: the env file read as the
/// instance env file, the process environment on top.
fn mrctl_environment(
    dir: &Path,
    files: &[&Path],
    env_text: &str,
) -> BTreeMap<String, BTreeMap<String, String>> {
    let (variables, _) = mrctl::envfile::interpolation_variables(env_text, process()).unwrap();
    let files: Vec<std::path::PathBuf> = files.iter().map(|f| f.to_path_buf()).collect();
    let project = mrctl::compose::load_project(&mrctl::compose::LoadOptions {
        project: "demo",
        working_dir: dir,
        files: &files,
        variables: &variables,
        profiles: &[],
    })
    .unwrap();
    project
        .services
        .iter()
        .map(|(name, s)| {
            let env: IndexMap<String, String> = s.environment.clone();
            (name.clone(), env.into_iter().collect())
        })
        .collect()
}

/// Env files, each with the variables its compose file echoes.
const ENV_FILES: &[&str] = &[
    "A=plain\nB=  spaced value  \nC=val # comment\nD=val#kept\nW=#start\n",
    "E='single $PROC \\n # x'\nF='it\\'s'\nU='say \"hi\"'\nO='a'b\n",
    "F=\"double $PROC \\n\\t \\\\ \\\" \\$PROC end\" # c\nG=\"multi\nline\"\nN=\"a\"b\nY=\"\\a\\b\\r\\u0041\\'\"\n",
    "export H=exported\n\texport   I=indented\nJ = spaced\nK: yaml\n",
    "A=plain\nI=${A}_x\nJ=${NOPE:-def}\nK=$A$A\nP=${NOPE-dash}\nR=\"${A:+alt}\"\n",
    "PROC\nNOT_SET_ANYWHERE\nM=\n",
    "SHARED=file\nB=$SHARED\nC=${PROC}\n",
    "C=$$A\nD=\"$$A\"\nQ=x\\ny\nS=a=b\nV=tabbed\t# t\n",
    "\u{feff}A=1\nA=2\n# comment\n\n   # indented\nB=last\r\n",
    "BACKEND_PORT=8765  # the port\nDOMAIN=\"app.example.com\" # quoted\nDSN=pg://u:p@h/db?x=1#frag\n",
    "A-B=dash\nA.B=dot\nT=\"it's\"\n",
    "LONG=\"-----BEGIN KEY-----\nabc\\ndef\n-----END KEY-----\"\nAFTER=ok\n",
];

fn keys_of(text: &str) -> Vec<String> {
    mrctl::envfile::entries_lenient(text, &mrctl::envfile::no_lookup)
        .into_iter()
        .map(|e| e.key.to_string())
        .collect()
}

fn echo_compose(keys: &[String]) -> String {
    let mut text = String::from("services:\n  s:\n    image: busybox\n    environment:\n");
    for k in keys {
        if k.contains(['-', '.']) {
            continue; // not a name interpolation accepts
        }
        text.push_str(&format!("      {k}: ${{{k}-UNSET}}\n"));
    }
    text.push_str("      SENTINEL: x\n");
    text
}

#[test]
fn env_files_resolve_as_docker_compose_resolves_them() {
    for (i, env) in ENV_FILES.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let mut keys = keys_of(env);
        keys.push("NOT_SET_ANYWHERE".to_string());
        keys.sort();
        keys.dedup();
        std::fs::write(dir.path().join("compose.yml"), echo_compose(&keys)).unwrap();
        std::fs::write(dir.path().join("inst.env"), env).unwrap();
        let compose_yml = dir.path().join("compose.yml");
        let theirs =
            compose_environment(dir.path(), &[&compose_yml], &[&dir.path().join("inst.env")]);
        let ours = mrctl_environment(dir.path(), &[&compose_yml], env);
        assert_eq!(ours, theirs, "env file #{i}:\n{env}");
    }
}

#[test]
fn service_env_files_resolve_as_docker_compose_resolves_them() {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(
        "compose.yml",
        "services:\n  s:\n    image: busybox\n    env_file:\n      - sub/svc.env\n      - path: raw.env\n        format: raw\n      - path: missing.env\n        required: false\n    environment:\n      W: declared\n      OVER: environment-wins\n",
    );
    for (i, env) in ENV_FILES.iter().enumerate() {
        let mut text = format!("{env}\n");
        text.push_str("X=file\nY=$X\nZ=${W}\nPROC=file-not-process\nOVER=file\nFROM_INST=$INST\n");
        write("sub/svc.env", &text);
        write("raw.env", "RAW=\"q\" # x\nRAW2=$PROC\n RAW3=sp \n");
        write("inst.env", "INST=instance\nX=inst\n");
        let compose_yml = dir.path().join("compose.yml");
        let theirs =
            compose_environment(dir.path(), &[&compose_yml], &[&dir.path().join("inst.env")]);
        let ours = mrctl_environment(dir.path(), &[&compose_yml], "INST=instance\nX=inst\n");
        assert_eq!(ours, theirs, "env file #{i}:\n{text}");
    }
}

/// Plain YAML scalars whose reading differs between YAML 1.1 and 1.2.
const SCALARS: &[&str] = &[
    "yes", "no", "on", "Off", "y", "N", "True", "TRUE", "false", "0o17", "010", "0x1F", "0b11",
    "1_000", ".5", "+1", "1e3", "1.0", "3.10", "-0", "12:30", "'yes'", "\"010\"",
];

#[test]
fn yaml_scalars_resolve_as_docker_compose_resolves_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("services:\n  s:\n    image: busybox\n    environment:\n");
    for (i, s) in SCALARS.iter().enumerate() {
        text.push_str(&format!("      V{i}: {s}\n"));
    }
    text.push_str("    networks: [on, no]\nnetworks:\n  on: {}\n  no: {}\n");
    let compose_yml = dir.path().join("compose.yml");
    std::fs::write(&compose_yml, &text).unwrap();
    let theirs = compose_environment(dir.path(), &[&compose_yml], &[]);
    let ours = mrctl_environment(dir.path(), &[&compose_yml], "");
    assert_eq!(ours, theirs, "{text}");
}

/// The stack directory's own `.env` is the first env file and the
/// instance's the second, as with `docker compose --env-file STACK/.env
/// --env-file .instances/NAME/.env` (the command `mrctl info` prints): a
/// shared value comes from the stack's file, the instance's file wins where
/// both set a key, and its `${VAR}` sees the stack's values.
#[test]
fn an_instance_interpolates_from_the_stack_dotenv_under_its_own_env_file() {
    let f = Fixture::mindroom();
    f.write(
        "docker-compose.yml",
        "services:\n  backend:\n    image: busybox:latest\n    environment:\n      FROM_DOTENV: ${ONLY_IN_DOTENV-UNSET}\n      IN_BOTH: ${IN_BOTH-UNSET}\n      PORT: ${BACKEND_PORT-UNSET}\n      NOTE: ${NOTE-UNSET}\n      DERIVED: ${DERIVED-UNSET}\n  frontend:\n    image: busybox:latest\n",
    );
    f.run(&["create", "prod"]).success();
    f.write(".env", "ONLY_IN_DOTENV=dotenv\nIN_BOTH=dotenv\n");
    let env_path = f.path(".instances/prod/.env");
    let mut env = f.read(".instances/prod/.env");
    env.push_str(
        "IN_BOTH=instance  # the instance's\nNOTE=\"a # b\"\nDERIVED=${ONLY_IN_DOTENV}-x\n",
    );
    std::fs::write(&env_path, &env).unwrap();

    let stack = mrctl::stack::Stack::load(f.dir()).unwrap();
    let inst = mrctl::ops::instance::load_instance(&stack, "prod").unwrap();
    let project = mrctl::ops::instance::instance_project(&stack, "prod", &inst).unwrap();
    let ours: BTreeMap<String, String> = project.services["backend"]
        .environment
        .clone()
        .into_iter()
        .collect();
    let files: Vec<std::path::PathBuf> = project.config_files.clone();
    let file_refs: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let dotenv = f.path(".env");
    let theirs = compose_environment(f.dir(), &file_refs, &[&dotenv, &env_path]);
    let theirs = &theirs["backend"];
    for key in ["FROM_DOTENV", "IN_BOTH", "PORT", "NOTE", "DERIVED"] {
        assert_eq!(ours.get(key), theirs.get(key), "`{key}`");
    }
    assert_eq!(ours["FROM_DOTENV"], "dotenv");
    assert_eq!(ours["IN_BOTH"], "instance");
    assert_eq!(ours["NOTE"], "a # b");
    assert_eq!(ours["DERIVED"], "dotenv-x");

    // The command `mrctl info` prints names both files, the stack's first.
    let info = f.run(&["--json", "info", "prod"]).success().json();
    let line = info["compose_command"].as_str().unwrap().to_string();
    let dir = f.dir().display();
    assert!(
        line.contains(&format!(
            "--env-file {dir}/.env --env-file {dir}/.instances/prod/.env "
        )),
        "{line}"
    );

    let out = f.run(&["env", "prod", "--json"]).success();
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["IN_BOTH"], "instance");
    assert_eq!(json["NOTE"], "a # b");
}
