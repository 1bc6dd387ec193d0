//! Bad input: one clear sentence, a non-zero exit, nothing on disk changed.

use super::common::Fixture;

/// Runs `args` on a stack that already has instance `prod`, and checks the
/// error, the exit code and that no file changed.
fn refused(f: &Fixture, args: &[&str], code: i32, expected: &str) {
    let before = f.snapshot();
    let run = f.run(args).code(code).one_error_line();
    assert!(
        run.stderr.contains(expected),
        "{args:?}: expected {expected:?} in {:?}",
        run.stderr
    );
    super::common::assert_same(&before, &f.snapshot(), &format!("{args:?}"));
}

fn with_prod() -> Fixture {
    let f = Fixture::mindroom();
    f.run(&["create", "prod", "prod.example.com"]).success();
    f
}

#[test]
fn invalid_names() {
    let f = with_prod();
    let long = "a".repeat(41);
    let cases: &[(&str, &str)] = &[
        (
            "Prod",
            "error: invalid instance name `Prod`: uppercase letters are not allowed",
        ),
        (
            "../x",
            "error: invalid instance name `../x`: `.` is not allowed",
        ),
        (
            "a;b",
            "error: invalid instance name `a;b`: `;` is not allowed",
        ),
        (
            "",
            "error: invalid instance name ``: a name cannot be empty",
        ),
        (&long, "a name has at most 40 characters"),
        (
            "-a",
            "error: invalid instance name `-a`: a name starts with a letter or a digit",
        ),
        ("a-", "cannot end with `-`"),
        ("a b", "a space is not allowed"),
        ("$(id)", "`$` is not allowed"),
        ("all", "reserved"),
        ("01", "no leading zeros"),
    ];
    for (name, expected) in cases {
        // `--` so a leading dash is a name, not a flag.
        refused(&f, &["create", "--", name], 2, expected);
        refused(&f, &["info", "--", name], 2, expected);
        refused(&f, &["clean", "--yes", "--", name], 2, expected);
    }
}

#[test]
fn invalid_domains() {
    let f = with_prod();
    for (domain, expected) in [
        ("a..b", "no empty labels"),
        ("-x.com", "starts or ends with `-`"),
        ("a_b.com", "`_` is not allowed"),
        ("x`y.com", "a backtick is not allowed"),
        ("a b", "a space is not allowed"),
    ] {
        let run = f
            .run(&["create", "--", "x", domain])
            .code(2)
            .one_error_line();
        assert!(
            run.stderr
                .starts_with(&format!("error: invalid domain `{domain}`")),
            "{domain}: {}",
            run.stderr
        );
        assert!(run.stderr.contains(expected), "{domain}: {}", run.stderr);
    }
    refused(
        &f,
        &["create", "x", "prod.example.com"],
        5,
        "instance `prod` already uses it",
    );
}

#[test]
fn invalid_and_taken_ports() {
    let f = with_prod();
    refused(
        &f,
        &["create", "x", "--port", "backend=0"],
        2,
        "error: invalid port `backend=0`: a port is between 1 and 65535",
    );
    refused(
        &f,
        &["create", "x", "--port", "backend=65536"],
        2,
        "a port is between 1 and 65535",
    );
    refused(
        &f,
        &["create", "x", "--port", "backend"],
        2,
        "write it as NAME=PORT",
    );
    refused(
        &f,
        &["create", "x", "--port", "backend=http"],
        2,
        "the port is not a number",
    );
    refused(
        &f,
        &["create", "x", "--port", "db=5432"],
        2,
        "no named port `db` (ports: `backend`, `frontend`)",
    );
    refused(
        &f,
        &["create", "x", "--port", "backend=80"],
        5,
        "error: port 80 for `backend` of instance `x` is not available: it is outside the allowed range 1024-65535 (`ports.range`)",
    );
    refused(
        &f,
        &["create", "x", "--port", "frontend=8765"],
        5,
        "error: port 8765 for `frontend` of instance `x` is not available: it is held by instance `prod` as `backend`",
    );
    refused(
        &f,
        &[
            "create",
            "x",
            "--port",
            "backend=9000",
            "--port",
            "backend=9001",
        ],
        2,
        "pinned twice",
    );
}

#[test]
fn reserved_port_pinned() {
    let f = Fixture::mindroom();
    f.write(
        "instances.json",
        "{\"version\": 1, \"reserved_ports\": [9000]}",
    );
    refused(
        &f,
        &["create", "x", "--port", "backend=9000"],
        5,
        "it is listed in `reserved_ports`",
    );
}

#[test]
fn unknown_and_existing_instances() {
    let f = with_prod();
    for cmd in ["info", "ports", "env", "render"] {
        refused(
            &f,
            &[cmd, "nope"],
            4,
            "error: no instance `nope` in stack `mindroom` (`mrctl list` shows the instances)",
        );
    }
    refused(
        &f,
        &["create", "prod"],
        5,
        "error: instance `prod` already exists in stack `mindroom`",
    );
}

#[test]
fn unregistered_instance_directory_is_not_overwritten() {
    let f = with_prod();
    f.write(".instances/ghost/.env", "API_KEY=mine\n");
    refused(
        &f,
        &["create", "ghost"],
        5,
        "exists but instance `ghost` is not registered",
    );
    f.write("instance_data/ghost2/file", "x");
    refused(
        &f,
        &["create", "ghost2"],
        5,
        "mrctl did not create it (no marker inside)",
    );
}

#[test]
fn template_with_undefined_variable() {
    let f = with_prod();
    f.write("templates/env.j2", "NAME={{ name }}\nHOST={{ hostname }}\n");
    let cfg = f.read("mrctl.toml") + "\n[instances]\nenv_template = \"templates/env.j2\"\n";
    f.write("mrctl.toml", &cfg);
    refused(
        &f,
        &["create", "x"],
        3,
        "error: template `templates/env.j2` line 2: undefined variable `hostname`",
    );
    refused(
        &f,
        &["render", "prod"],
        3,
        "error: template `templates/env.j2` line 2: undefined variable `hostname`",
    );
    f.write("templates/env.j2", "NAME={% if name %}\n");
    refused(
        &f,
        &["create", "x"],
        3,
        "error: template `templates/env.j2` line ",
    );
    f.write("templates/env.j2", "NAME={{ name }}\n");
    f.write(
        "templates/docker-compose.override.yml.j2",
        "x: {{ prots.web }}\n",
    );
    let cfg =
        f.read("mrctl.toml") + "override_template = \"templates/docker-compose.override.yml.j2\"\n";
    f.write("mrctl.toml", &cfg);
    refused(
        &f,
        &["create", "x"],
        3,
        "template `templates/docker-compose.override.yml.j2` line 1: undefined variable `prots.web`",
    );
}

#[test]
fn missing_template_file() {
    let f = with_prod();
    let cfg = f.read("mrctl.toml") + "\n[instances]\nenv_template = \"templates/nope.j2\"\n";
    f.write("mrctl.toml", &cfg);
    refused(&f, &["create", "x"], 1, "error: cannot read template `");
}

#[test]
fn malformed_config() {
    let f = with_prod();
    let good = f.read("mrctl.toml");
    let cases = [
        ("name = \"mindroom\"\n[ports\n", 3, "mrctl.toml:2:"),
        (
            "name = \"mindroom\"\nnmae = \"x\"\n",
            3,
            "mrctl.toml:2:1`: unknown field `nmae`",
        ),
        (
            "name = 5\n",
            3,
            "mrctl.toml:1:8`: invalid type: integer `5`, expected a string",
        ),
        (
            "name = \"mindroom\"\n[ports.base]\nweb = 70000\n",
            3,
            "mrctl.toml:3:7`",
        ),
        (
            "name = \"mindroom\"\n[ports.base]\nweb = 22\n",
            3,
            "key `ports.base.web`: port 22 is outside `ports.range` 1024-65535",
        ),
        ("", 3, "missing field `name`"),
    ];
    for (text, code, expected) in cases {
        f.write("mrctl.toml", text);
        refused(&f, &["create", "x"], code, expected);
        refused(&f, &["list"], code, expected);
    }
    f.write("mrctl.toml", &good);
}

#[test]
fn malformed_registry_is_never_overwritten() {
    let f = with_prod();
    let cases = [
        (
            "{\n  \"version\": 1,\n  \"instances\": {\n",
            "instances.json:4:1` is invalid: EOF while parsing an object",
        ),
        (
            "{\"version\": 1, \"instances\": {}, \"reserved\": []}",
            "unknown field `reserved`",
        ),
        (
            "{\"version\": 3, \"instances\": {}}",
            "has version 3, but this mrctl understands only version 2: upgrade mrctl",
        ),
        (
            "{\"version\": \"1\"}",
            "`version` must be a positive integer",
        ),
        ("{\"instances\": {}}", "missing key `version`"),
        ("", "EOF while parsing a value"),
        ("[]", "the registry must be a JSON object"),
        (
            "{\"version\": 1, \"reserved_ports\": [70000]}",
            "invalid value: integer `70000`",
        ),
    ];
    for (text, expected) in cases {
        f.write("instances.json", text);
        refused(&f, &["create", "x"], 3, expected);
        refused(&f, &["list"], 3, expected);
        refused(&f, &["clean", "prod", "--yes"], 3, expected);
        assert_eq!(f.read("instances.json"), text);
    }
}

#[test]
fn bad_compose_file() {
    let f = with_prod();
    f.write("docker-compose.yml", "services:\n  web:\n    image: [x\n");
    refused(&f, &["create", "x"], 3, "error: compose file `");
    std::fs::remove_file(f.path("docker-compose.yml")).unwrap();
    refused(&f, &["create", "x"], 1, "error: cannot read compose file `");
}

#[test]
fn no_stack_directory() {
    let f = Fixture::empty();
    let run = f.run(&["list"]).code(4).one_error_line();
    assert!(
        run.stderr.contains("no `mrctl.toml` found in `"),
        "{}",
        run.stderr
    );
    f.run(&["-C", "nowhere", "list"]).code(4).one_error_line();
}
