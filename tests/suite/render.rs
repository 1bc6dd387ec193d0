//! `mrctl render`: the env file belongs to the operator.

use super::common::Fixture;

#[test]
fn render_keeps_operator_values_and_backs_up() {
    let f = Fixture::mindroom();
    f.run(&["create", "prod"]).success();
    let original = f.read(".instances/prod/.env");
    let edited = original.replace(
        "INSTANCE_DOMAIN=prod.localhost",
        "INSTANCE_DOMAIN=custom.example.com",
    ) + "OPENAI_API_KEY=sk-live\n";
    f.write(".instances/prod/.env", &edited);
    // The template changes too: a new variable appears.
    f.write(
        "templates/env.j2",
        &(mrctl_builtin_env() + "LOG_LEVEL=info\n"),
    );
    let cfg = f.read("mrctl.toml") + "\n[instances]\nenv_template = \"templates/env.j2\"\n";
    f.write("mrctl.toml", &cfg);

    f.run(&["render", "prod"])
        .success()
        .stderr_has("kept your value of `INSTANCE_DOMAIN`")
        .stderr_has("kept `OPENAI_API_KEY`, which you added");
    let env = f.read(".instances/prod/.env");
    assert!(
        env.contains("INSTANCE_DOMAIN=custom.example.com\n"),
        "{env}"
    );
    assert!(env.contains("OPENAI_API_KEY=sk-live\n"), "{env}");
    assert!(env.contains("LOG_LEVEL=info\n"), "{env}");
    assert_eq!(f.read(".instances/prod/.env.bak"), edited);

    // A second render changes nothing.
    let before = f.snapshot();
    f.run(&["render", "prod"])
        .success()
        .stderr_has("nothing changed");
    super::common::assert_same(&before, &f.snapshot(), "the command");
}

#[test]
fn render_recreates_deleted_files() {
    // clean removes Docker resources first, so it needs the engine.
    if super::engine_harness::engine_or_skip("render_recreates_deleted_files").is_none() {
        return;
    }
    let f = Fixture::mindroom();
    f.run(&["create", "a"]).success();
    std::fs::remove_dir_all(f.path(".instances/a")).unwrap();
    f.run(&["render", "a"]).success();
    assert!(f.read(".instances/a/.env").contains("INSTANCE_NAME=a"));
    // And clean still recognises the directory as mrctl's.
    f.run(&["clean", "a", "--yes"]).success();
    assert!(!f.path(".instances/a").exists());
}

#[test]
fn render_json() {
    let f = Fixture::mindroom();
    f.run(&["create", "a"]).success();
    let j = f.run(&["render", "a", "--json"]).success().json();
    assert_eq!(j["env_changed"], false);
}

fn mrctl_builtin_env() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/env.j2")).unwrap()
}
