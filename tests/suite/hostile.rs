//! The hostile input catalogue: every case must end with one clear error, a
//! non-zero exit, nothing changed on disk and nothing changed in Docker, and
//! no value ever reaches a shell.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::engine_harness::EngineTest;

/// What a case does before running mrctl: files it writes (restored after).
type Setup = Vec<(&'static str, String)>;

struct Case {
    what: String,
    setup: Setup,
    args: Vec<String>,
    code: i32,
    needle: String,
}

fn case(what: impl Into<String>, args: &[&str], code: i32, needle: impl Into<String>) -> Case {
    Case {
        what: what.into(),
        setup: Vec::new(),
        args: args.iter().map(|s| s.to_string()).collect(),
        code,
        needle: needle.into(),
    }
}

fn with(mut c: Case, file: &'static str, text: impl Into<String>) -> Case {
    c.setup.push((file, text.into()));
    c
}

const PWNED: &str = "/tmp/mrctl-hostile-pwned";

fn catalogue(held_port: u16, listened_port: u16) -> Vec<Case> {
    let mut cases = Vec::new();
    // Instance names (create, info, clean): path traversal, shell, case, unicode, size.
    let long = "a".repeat(41);
    for (name, needle) in [
        ("../x", "`.` is not allowed"),
        ("..", "`.` is not allowed"),
        ("a/b", "`/` is not allowed"),
        ("/etc", "`/` is not allowed"),
        ("a;b", "`;` is not allowed"),
        ("a|b", "`|` is not allowed"),
        ("a&b", "`&` is not allowed"),
        ("a>b", "`>` is not allowed"),
        ("$(touch /tmp/mrctl-hostile-pwned)", "`$` is not allowed"),
        (
            "`touch /tmp/mrctl-hostile-pwned`",
            "a backtick is not allowed",
        ),
        ("Prod", "uppercase letters are not allowed"),
        ("é", "`é` is not allowed"),
        ("名前", "`名` is not allowed"),
        ("a b", "a space is not allowed"),
        ("a\nb", "control character U+000A"),
        ("a\tb", "control character U+0009"),
        ("", "a name cannot be empty"),
        (long.as_str(), "at most 40 characters"),
        ("-rf", "starts with a letter or a digit"),
        ("a-", "cannot end with `-`"),
        ("all", "reserved"),
        ("007", "no leading zeros"),
        ("*", "`*` is not allowed"),
        ("~root", "`~` is not allowed"),
    ] {
        cases.push(case(
            format!("name {name:?}"),
            &["create", "--", name],
            2,
            needle,
        ));
    }
    cases.push(case(
        "info of a traversal name",
        &["info", "../../etc"],
        2,
        "`.` is not allowed",
    ));
    cases.push(case(
        "clean of a traversal name",
        &["clean", "--yes", "--", "../live"],
        2,
        "`.` is not allowed",
    ));
    cases.push(case(
        "logs of a shell name",
        &["logs", "a;reboot"],
        2,
        "`;` is not allowed",
    ));
    // Domains.
    for (domain, needle) in [
        ("a..b", "no empty labels"),
        ("x.com.", "no empty labels"),
        ("-x.com", "starts or ends with `-`"),
        ("a_b.com", "`_` is not allowed"),
        ("x`y`.com", "a backtick is not allowed"),
        (
            "$(touch /tmp/mrctl-hostile-pwned).com",
            "`$` is not allowed",
        ),
        ("a b.com", "a space is not allowed"),
        ("a/b.com", "`/` is not allowed"),
        ("évil.com", "`é` is not allowed"),
    ] {
        cases.push(case(
            format!("domain {domain:?}"),
            &["create", "--", "x", domain],
            2,
            needle,
        ));
    }
    cases.push(case(
        "domain of 254 characters",
        &["create", "x", &format!("{}.com", "a.".repeat(125))],
        2,
        "at most 253 characters",
    ));
    cases.push(case(
        "label of 64 characters",
        &["create", "x", &format!("{}.com", "a".repeat(64))],
        2,
        "longer than 63",
    ));
    cases.push(case(
        "domain already used",
        &["create", "x", "live.localhost"],
        5,
        "instance `live` already uses it",
    ));
    // Ports.
    for (spec, code, needle) in [
        (
            "web=0".to_string(),
            2,
            "a port is between 1 and 65535".to_string(),
        ),
        (
            "web=65536".to_string(),
            2,
            "a port is between 1 and 65535".to_string(),
        ),
        (
            "web=99999999999".to_string(),
            2,
            "a port is between 1 and 65535".to_string(),
        ),
        (
            "web=80".to_string(),
            5,
            "outside the allowed range 1024-65535".to_string(),
        ),
        (
            "web=1023".to_string(),
            5,
            "outside the allowed range".to_string(),
        ),
        (
            "web=9000".to_string(),
            5,
            "listed in `reserved_ports`".to_string(),
        ),
        (
            format!("web={held_port}"),
            5,
            "held by instance `live` as `web`".to_string(),
        ),
        (
            format!("web={listened_port}"),
            5,
            "another process on this host listens on it".to_string(),
        ),
        ("web".to_string(), 2, "write it as NAME=PORT".to_string()),
        (
            "web=http".to_string(),
            2,
            "the port is not a number".to_string(),
        ),
        ("db=5432".to_string(), 2, "no named port `db`".to_string()),
    ] {
        cases.push(case(
            format!("port {spec}"),
            &["create", "x", "--port", &spec],
            code,
            needle,
        ));
    }
    cases.push(case(
        "index already held",
        &["create", "x", "--index", "0"],
        5,
        "index 0 for instance `x` is already held by instance `live`",
    ));
    cases.push(case(
        "unknown instance",
        &["start", "ghost"],
        4,
        "no instance `ghost`",
    ));
    cases.push(case(
        "existing instance",
        &["create", "live"],
        5,
        "instance `live` already exists",
    ));
    cases.push(case(
        "clean without --yes",
        &["clean", "live"],
        2,
        "needs confirmation",
    ));
    cases.push(case(
        "bad --timeout",
        &["start", "live", "--timeout", "soon"],
        2,
        "`soon` is not a duration",
    ));
    cases.push(case(
        "bad --since",
        &["logs", "live", "--since", "yesterday"],
        2,
        "`yesterday` is not a time",
    ));
    cases.push(case(
        "bad tier",
        &["create", "x", "--tier", "gold"],
        2,
        "no tier `gold`",
    ));
    cases.push(case(
        "bad --memory",
        &["update", "live", "--memory", "lots"],
        2,
        "`lots` is not a memory size",
    ));
    // mrctl.toml.
    let base = "name = \"STACK\"\n[ports]\nrange = [1024, 65535]\n[ports.base]\nweb = PORT\n";
    for (what, text, needle) in [
        ("malformed", "name = \"x\"\n[ports\n", "mrctl.toml:2:"),
        ("truncated", "name = \"x", "mrctl.toml:1:"),
        (
            "unknown key",
            "name = \"x\"\nportz = 1\n",
            "unknown field `portz`",
        ),
        (
            "wrong type",
            "name = 5\n",
            "invalid type: integer `5`, expected a string",
        ),
        (
            "port beyond u16",
            "name = \"x\"\n[ports.base]\nweb = 70000\n",
            "mrctl.toml:3:7",
        ),
        (
            "zero stride",
            "name = \"x\"\n[ports]\nstride = 0\n",
            "key `ports.stride`",
        ),
        (
            "reversed range",
            "name = \"x\"\n[ports]\nrange = [9000, 1000]\n",
            "key `ports.range`",
        ),
        (
            "unknown strategy",
            "name = \"x\"\n[ports]\nstrategy = \"random\"\n",
            "unknown variant `random`",
        ),
        (
            "undefined default tier",
            "name = \"x\"\n[instances]\ndefault_tier = \"gold\"\n",
            "no `[tiers.gold]`",
        ),
        (
            "traversal subdir",
            "name = \"x\"\n[instances]\ndata_subdirs = [\"../../etc\"]\n",
            "without `..`",
        ),
        (
            "root data_root",
            "name = \"x\"\n[instances]\ndata_root = \"/\"\n",
            "cannot be the root directory",
        ),
        (
            "bad stack name",
            "name = \"a b\"\n",
            "not a valid stack name",
        ),
        ("empty file", "", "missing field `name`"),
    ] {
        let _ = base;
        cases.push(with(
            case(format!("mrctl.toml {what}"), &["create", "x"], 3, needle),
            "mrctl.toml",
            text,
        ));
    }
    // instances.json.
    for (what, text, needle) in [
        (
            "truncated",
            "{\"version\": 1, \"instances\": {",
            "EOF while parsing",
        ),
        (
            "future version",
            "{\"version\": 9, \"instances\": {}}",
            "has version 9, but this mrctl understands only version 2",
        ),
        (
            "unknown key",
            "{\"version\": 1, \"instancez\": {}}",
            "unknown field `instancez`",
        ),
        (
            "string version",
            "{\"version\": \"1\"}",
            "`version` must be a positive integer",
        ),
        ("no version", "{\"instances\": {}}", "missing key `version`"),
        (
            "port beyond u16",
            "{\"version\": 1, \"reserved_ports\": [70000]}",
            "invalid value: integer `70000`",
        ),
        ("array", "[1, 2]", "must be a JSON object"),
        ("empty", "", "EOF while parsing"),
        (
            "traversal key",
            "{\"version\": 1, \"instances\": {\"../etc\": {\"index\": 0, \"domain\": \"a.b\", \"project\": \"p\", \"ports\": {}, \"data_dir\": \"/tmp\", \"created_at\": \"x\"}}}",
            "key `instances.../etc`",
        ),
        (
            "relative data_dir",
            "{\"version\": 1, \"instances\": {\"a\": {\"index\": 0, \"domain\": \"a.b\", \"project\": \"p\", \"ports\": {}, \"data_dir\": \"rel\", \"created_at\": \"x\"}}}",
            "not an absolute path",
        ),
        (
            "wrong type",
            "{\"version\": 1, \"instances\": {\"a\": 5}}",
            "invalid type: integer `5`",
        ),
    ] {
        cases.push(with(
            case(
                format!("instances.json {what}"),
                &["create", "x"],
                3,
                needle,
            ),
            "instances.json",
            text,
        ));
    }
    // Templates.
    let cfg_with_template = "TEMPLATE_CONFIG";
    for (what, text, needle) in [
        (
            "undefined variable",
            "A={{ nmae }}\n",
            "line 1: undefined variable `nmae`",
        ),
        (
            "undefined attribute",
            "A={{ ports.nope }}\n",
            "undefined variable `ports.nope`",
        ),
        ("syntax error", "A={% if %}\n", "syntax error"),
        ("unknown filter", "A={{ name|shout }}\n", "line 1"),
        (
            "runaway loop",
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}\n",
            "line 1",
        ),
        (
            "bad secret key",
            "A={{ secret('../../x') }}\n",
            "secret key `../../x`",
        ),
    ] {
        let c = with(
            case(format!("template {what}"), &["create", "x"], 3, needle),
            "templates/env.j2",
            text,
        );
        cases.push(with(c, "mrctl.toml", cfg_with_template));
    }
    // Compose files, loaded by `start`.
    let deep = format!(
        "services:\n  app:\n    image: busybox:latest\n    labels: {}{}\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let bomb = "a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\nservices:\n  app:\n    image: busybox:latest\n";
    let huge = format!(
        "services:\n  app:\n    image: busybox:latest\n    labels:\n{}",
        "      k: v\n".repeat(900_000)
    );
    for (what, text, needle) in [
        ("unknown key", "services:\n  app:\n    image: busybox:latest\n    no_such_key: {size: 1G}\n".to_string(), "service `app`: key `no_such_key` is not supported".to_string()),
        ("Windows credential spec", "services:\n  app:\n    image: busybox:latest\n    credential_spec: {file: spec.json}\n".to_string(), "service `app`: `credential_spec` is not supported by mrctl".to_string()),
        ("models top level", "services:\n  app:\n    image: busybox:latest\nmodels: {}\n".to_string(), "top-level key `models`".to_string()),
        ("yaml bomb", bomb.to_string(), "compose file `".to_string()),
        ("huge file", huge, "the file is larger than 8 MiB, the limit for a compose file".to_string()),
        ("deep nesting", deep, "compose file `".to_string()),
        ("duplicate keys", "services:\n  app:\n    image: a\n    image: b\n".to_string(), "compose file `".to_string()),
        ("required variable", "services:\n  app:\n    image: ${IMAGE:?set IMAGE}\n".to_string(), "required variable `IMAGE` is missing a value: set IMAGE".to_string()),
        ("unterminated interpolation", "services:\n  app:\n    image: ${IMAGE\n".to_string(), "unterminated".to_string()),
        ("malformed yaml", "services:\n  app: [\n".to_string(), "compose file `".to_string()),
        ("dependency cycle", "services:\n  app:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [app]\n".to_string(), "dependency cycle".to_string()),
        ("service only in the override", "services:\n  other:\n    image: x\n".to_string(), "service `app` is only in".to_string()),
        ("undeclared volume", "services:\n  app:\n    image: x\n    volumes: ['data:/d']\n".to_string(), "volume `data` is not declared".to_string()),
        ("port out of range", "services:\n  app:\n    image: x\n    ports: ['70000:80']\n".to_string(), "is not a port".to_string()),
    ] {
        cases.push(with(case(format!("compose {what}"), &["start", "live"], 3, needle), "docker-compose.yml", text));
    }
    cases
}

#[test]
fn hostile_input_catalogue() {
    let compose = "services:\n  app:\n    image: busybox:latest\n    command: [\"sleep\", \"1000\"]\n    ports: [\"${WEB_PORT}:80\"]\n";
    let Some(t) = EngineTest::new("hostile_input_catalogue", &["web"], compose, "") else {
        return;
    };
    let f = &t.f;
    let _ = std::fs::remove_file(PWNED);
    f.run(&["up", "live"]).success();
    let reg = f.registry();
    let held = reg["instances"]["live"]["ports"]["web"].as_u64().unwrap() as u16;
    let mut reg2 = reg.clone();
    reg2["reserved_ports"] = serde_json::json!([9000]);
    f.write(
        "instances.json",
        &serde_json::to_string_pretty(&reg2).unwrap(),
    );
    let listener = std::net::TcpListener::bind(("0.0.0.0", t.port_base + 300)).unwrap();
    let listened = listener.local_addr().unwrap().port();
    let docker_state = || {
        let mut c: Vec<String> = t
            .containers()
            .into_iter()
            .map(|c| format!("{:?} {:?}", c.id, c.state))
            .collect();
        c.sort();
        (c, t.project_resources(&format!("{}-live", t.stack)))
    };
    let docker_before = docker_state();
    let template_config = format!(
        "{}\n[instances]\nenv_template = \"templates/env.j2\"\n",
        f.read("mrctl.toml")
    );
    let cases = catalogue(held, listened);
    let mut passed = 0;
    for c in &cases {
        let mut originals: BTreeMap<PathBuf, Option<Vec<u8>>> = BTreeMap::new();
        for (file, text) in &c.setup {
            let path = f.path(file);
            originals
                .entry(path.clone())
                .or_insert_with(|| std::fs::read(&path).ok());
            let text = if text == "TEMPLATE_CONFIG" {
                template_config.clone()
            } else {
                text.clone()
            };
            f.write(file, &text);
        }
        let before = f.snapshot();
        let args: Vec<&str> = c.args.iter().map(String::as_str).collect();
        let run = f.run(&args);
        assert_eq!(run.code, c.code, "{}: {run:?}", c.what);
        let lines: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| !l.starts_with("warning:"))
            .collect();
        assert!(
            !lines.is_empty()
                && lines[0].starts_with("error: ")
                && lines.iter().skip(1).all(|l| l.starts_with("  caused by: ")),
            "{}: not one clear error: {:?}",
            c.what,
            run.stderr
        );
        assert!(
            run.stderr.contains(&c.needle),
            "{}: expected {:?} in {:?}",
            c.what,
            c.needle,
            run.stderr
        );
        assert!(run.stderr.len() < 2000, "{}: error too long", c.what);
        super::common::assert_same(&before, &f.snapshot(), &c.what);
        assert_eq!(docker_state(), docker_before, "{}: Docker changed", c.what);
        for (path, original) in originals {
            match original {
                Some(bytes) => std::fs::write(&path, bytes).unwrap(),
                None => {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        passed += 1;
    }
    assert!(
        !std::path::Path::new(PWNED).exists(),
        "a value reached a shell"
    );
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    drop(listener);
    eprintln!(
        "FIGURES hostile-input: {passed} cases, each one error line, non-zero exit, no change on disk or in Docker"
    );
}
