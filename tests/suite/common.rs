//! The test fixture: a temporary stack directory, a clean environment, and
//! helpers to run mrctl and compare the tree before and after.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const MINDROOM: &str = r#"name = "mindroom"

[ports.base]
backend = 8765
frontend = 3003
"#;

pub const TWO_SERVICES: &str =
    "services:\n  backend:\n    image: busybox:latest\n  frontend:\n    image: busybox:latest\n";

/// A stack directory in a temp dir. Tests never see the user's own config:
/// HOME points into the temp dir and MRCTL_* variables are cleared.
pub struct Fixture {
    pub tmp: tempfile::TempDir,
}

impl Fixture {
    /// A stack with the given mrctl.toml and a two-service compose file.
    pub fn new(config: &str) -> Fixture {
        let f = Fixture::empty();
        f.write("mrctl.toml", config);
        f.write("docker-compose.yml", TWO_SERVICES);
        f
    }

    /// The seed stack: mindroom with backend 8765 and frontend 3003, no host check
    /// (so tests do not depend on what else listens on this machine).
    pub fn mindroom() -> Fixture {
        Fixture::new(&MINDROOM.replace(
            "[ports.base]",
            "[ports]\nhost_check = false\n\n[ports.base]",
        ))
    }

    pub fn empty() -> Fixture {
        Fixture {
            tmp: tempfile::Builder::new()
                .prefix("mrctl-test-")
                .tempdir()
                .unwrap(),
        }
    }

    pub fn dir(&self) -> &Path {
        self.tmp.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir().join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    /// A Command running mrctl in the stack directory with a clean environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mrctl"));
        cmd.args(args)
            .current_dir(self.dir())
            .env_remove("MRCTL_PROJECT_DIR")
            .env_remove("RUST_LOG")
            .env("HOME", self.dir())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs mrctl to completion; the caller must check the outcome.
    #[must_use = "check the outcome: .success(), .code(n), ..."]
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().unwrap())
    }

    /// Every file under the stack directory with its bytes, for "nothing changed"
    /// checks. Lock files are left out: taking a lock creates one, and it
    /// holds nothing.
    pub fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                let rel = p.strip_prefix(root).unwrap().to_path_buf();
                if rel.extension().is_some_and(|e| e == "lock") {
                    continue;
                }
                let meta = std::fs::symlink_metadata(&p).unwrap();
                if meta.is_dir() {
                    out.insert(rel.join(""), Vec::new());
                    walk(root, &p, out);
                } else {
                    out.insert(rel, std::fs::read(&p).unwrap_or_default());
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(self.dir(), self.dir(), &mut out);
        out
    }

    /// The registry as JSON, if the file exists.
    pub fn registry_opt(&self) -> Option<serde_json::Value> {
        let text = std::fs::read_to_string(self.path("instances.json")).ok()?;
        Some(
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("instances.json does not parse: {e}\n{text}")),
        )
    }

    /// The registry as JSON.
    pub fn registry(&self) -> serde_json::Value {
        serde_json::from_str(&self.read("instances.json")).unwrap()
    }
}

/// The outcome of one mrctl run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    pub fn success(self) -> Run {
        assert_eq!(self.code, 0, "expected success, got {self:#?}");
        self
    }

    pub fn code(self, code: i32) -> Run {
        assert_eq!(self.code, code, "expected exit {code}, got {self:#?}");
        self
    }

    pub fn stdout_is(self, expected: &str) -> Run {
        assert_eq!(
            self.stdout, expected,
            "stdout differs; stderr: {}",
            self.stderr
        );
        self
    }

    pub fn stderr_is(self, expected: &str) -> Run {
        assert_eq!(
            self.stderr, expected,
            "stderr differs; stdout: {}",
            self.stdout
        );
        self
    }

    pub fn stderr_has(self, needle: &str) -> Run {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}: {self:#?}"
        );
        self
    }

    pub fn stdout_has(self, needle: &str) -> Run {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}: {self:#?}"
        );
        self
    }

    /// Fails with one clear line: `error: ...` and nothing else on stderr.
    pub fn one_error_line(self) -> Run {
        assert_ne!(self.code, 0, "expected failure: {self:#?}");
        let lines: Vec<_> = self.stderr.lines().collect();
        assert!(
            lines.len() == 1 && lines[0].starts_with("error: "),
            "expected one `error:` line, got {:?}",
            self.stderr
        );
        assert!(
            self.stdout.is_empty(),
            "stdout should be empty: {:?}",
            self.stdout
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {:?}", self.stdout))
    }
}

/// Asserts two snapshots are equal, naming only the paths that differ.
pub fn assert_same(
    before: &BTreeMap<PathBuf, Vec<u8>>,
    after: &BTreeMap<PathBuf, Vec<u8>>,
    what: &str,
) {
    let mut diffs = Vec::new();
    for (k, v) in before {
        match after.get(k) {
            None => diffs.push(format!("removed {}", k.display())),
            Some(w) if w != v => diffs.push(format!("changed {}", k.display())),
            _ => {}
        }
    }
    for k in after.keys() {
        if !before.contains_key(k) {
            diffs.push(format!("added {}", k.display()));
        }
    }
    assert!(diffs.is_empty(), "{what} changed files on disk: {diffs:?}");
}
