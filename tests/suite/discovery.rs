//! Finding the stack directory: `-C`, `MRCTL_PROJECT_DIR`, walking up.

use super::common::Fixture;

#[test]
fn flag_env_and_walk_up() {
    let f = Fixture::mindroom();
    f.run(&["create", "a"]).success();
    std::fs::create_dir_all(f.path("deep/er")).unwrap();

    let mut walk = f.command(&["project-name", "a"]);
    walk.current_dir(f.path("deep/er"));
    assert_eq!(
        String::from_utf8(walk.output().unwrap().stdout).unwrap(),
        "mindroom-a\n"
    );

    let elsewhere = Fixture::empty();
    let mut by_env = elsewhere.command(&["list", "--json"]);
    by_env.env("MRCTL_PROJECT_DIR", f.dir());
    let out = by_env.output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"name\": \"a\""));

    let dir = f.dir().to_string_lossy().into_owned();
    elsewhere
        .run(&["-C", &dir, "ports", "a", "--format", "env"])
        .success()
        .stdout_is("BACKEND_PORT=8765\nFRONTEND_PORT=3003\n");

    // The flag wins over the environment.
    let mut both = elsewhere.command(&["-C", &dir, "project-name", "a"]);
    both.env("MRCTL_PROJECT_DIR", elsewhere.dir());
    assert!(both.output().unwrap().status.success());
}
