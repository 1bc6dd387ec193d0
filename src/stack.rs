//! The stack directory and its `mrctl.toml`: discovery, parsing and
//! validation into a typed configuration whose paths are absolute.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, position_of};
use crate::limits::Limits;
use crate::names;

/// File name of the stack configuration.
pub const CONFIG_FILE: &str = "mrctl.toml";
/// Environment variable naming the stack directory.
pub const PROJECT_DIR_ENV: &str = "MRCTL_PROJECT_DIR";

/// How ports are handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Per named port, the lowest free port at or above its base.
    #[default]
    Sequential,
    /// Instance N gets every base port + N × stride.
    Offset,
}

/// `mrctl.toml` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackConfig {
    pub name: String,
    #[serde(default = "default_compose_files")]
    pub compose_files: Vec<String>,
    #[serde(default = "default_project_name")]
    pub project_name: String,
    #[serde(default)]
    pub instances: InstancesConfig,
    #[serde(default)]
    pub ports: PortsConfig,
    /// `[tiers.<name>]`: resource limits applied to every container of an instance.
    #[serde(default)]
    pub tiers: IndexMap<String, Limits>,
}

fn default_compose_files() -> Vec<String> {
    vec!["docker-compose.yml".into()]
}
fn default_project_name() -> String {
    "{{ stack }}-{{ name }}".into()
}

/// `[instances]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InstancesConfig {
    pub dir: String,
    pub data_root: String,
    pub data_subdirs: Vec<String>,
    pub default_domain: String,
    pub env_template: Option<String>,
    pub override_template: Option<String>,
    pub default_tier: Option<String>,
}

impl Default for InstancesConfig {
    fn default() -> Self {
        InstancesConfig {
            dir: ".instances".into(),
            data_root: "instance_data".into(),
            data_subdirs: vec!["config".into(), "tmp".into(), "logs".into()],
            default_domain: "{{ name }}.localhost".into(),
            env_template: None,
            override_template: None,
            default_tier: None,
        }
    }
}

/// `[ports]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PortsConfig {
    pub strategy: Strategy,
    pub stride: u32,
    pub range: [u16; 2],
    pub host_check: bool,
    pub base: IndexMap<String, u16>,
}

impl Default for PortsConfig {
    fn default() -> Self {
        PortsConfig {
            strategy: Strategy::Sequential,
            stride: 100,
            range: [1024, 65535],
            host_check: true,
            base: IndexMap::new(),
        }
    }
}

/// A loaded, validated stack.
#[derive(Debug, Clone)]
pub struct Stack {
    /// The stack directory (absolute).
    pub dir: PathBuf,
    /// Its `mrctl.toml`.
    pub config_path: PathBuf,
    pub config: StackConfig,
    /// `[instances] dir`, absolute.
    pub instances_dir: PathBuf,
    /// `[instances] data_root`, absolute.
    pub data_root: PathBuf,
}

impl Stack {
    /// Finds the stack directory: `-C DIR`, else `MRCTL_PROJECT_DIR`, else
    /// the first directory at or above `cwd` holding `mrctl.toml`.
    pub fn discover(explicit: Option<&Path>, cwd: &Path) -> Result<Stack> {
        let env_dir = std::env::var_os(PROJECT_DIR_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        if let Some(dir) = explicit.map(Path::to_path_buf).or(env_dir) {
            let dir = if dir.is_absolute() {
                dir
            } else {
                cwd.join(dir)
            };
            if !dir.join(CONFIG_FILE).is_file() {
                return Err(Error::StackNotFound { start: dir });
            }
            return Stack::load(&dir);
        }
        let mut here = Some(cwd);
        while let Some(dir) = here {
            if dir.join(CONFIG_FILE).is_file() {
                return Stack::load(dir);
            }
            here = dir.parent();
        }
        Err(Error::StackNotFound {
            start: cwd.to_path_buf(),
        })
    }

    /// Loads and validates `DIR/mrctl.toml`.
    pub fn load(dir: &Path) -> Result<Stack> {
        let dir = dir
            .canonicalize()
            .map_err(|e| Error::io("open the stack directory", dir, e))?;
        let config_path = dir.join(CONFIG_FILE);
        let text = crate::fsutil::read_to_string_limited(
            &config_path,
            crate::fsutil::FileKind::StackConfig,
        )?;
        let config = parse_config(&config_path, &text)?;
        let root = |key: &str, value: &str| resolve_root(&dir, &config_path, key, value);
        let instances_dir = root("instances.dir", &config.instances.dir)?;
        let data_root = root("instances.data_root", &config.instances.data_root)?;
        Ok(Stack {
            dir,
            config_path,
            config,
            instances_dir,
            data_root,
        })
    }

    /// The stack's name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The directory of an instance's rendered files.
    pub fn instance_dir(&self, name: &str) -> PathBuf {
        self.instances_dir.join(name)
    }

    /// The base compose files, absolute, in merge order.
    pub fn compose_paths(&self) -> Vec<PathBuf> {
        self.config
            .compose_files
            .iter()
            .map(|f| self.dir.join(f))
            .collect()
    }

    /// A path relative to the stack directory where it lies inside it, for messages.
    pub fn display_path<'a>(&self, path: &'a Path) -> std::borrow::Cow<'a, str> {
        match path.strip_prefix(&self.dir) {
            Ok(rel) => rel.to_string_lossy(),
            Err(_) => path.to_string_lossy(),
        }
    }

    /// The tier named `name`, or an error listing the tiers there are.
    pub fn tier(&self, name: &str) -> Result<&Limits> {
        self.config.tiers.get(name).ok_or_else(|| {
            let known: Vec<_> = self.config.tiers.keys().map(|k| format!("`{k}`")).collect();
            Error::InvalidArgument {
                option: "--tier".into(),
                reason: if known.is_empty() {
                    format!("no tier `{name}`: mrctl.toml defines no `[tiers]`")
                } else {
                    format!("no tier `{name}` (tiers: {})", known.join(", "))
                },
            }
        })
    }
}

/// Resolves a root directory of the stack (`instances.dir`, `data_root`) to
/// the real path mrctl will create in and delete under: symlinks and `..`
/// resolved, also when the directory does not exist yet. Refuses a root that
/// is `/`, the stack directory or one of its parents, and a relative one
/// that leads outside the stack directory (an absolute one may lie anywhere
/// else), naming the key and what it resolves to.
fn resolve_root(stack_dir: &Path, config_path: &Path, key: &str, value: &str) -> Result<PathBuf> {
    let configured = Path::new(value);
    let joined = stack_dir.join(configured);
    let resolved = canonicalize_lenient(&joined).map_err(|e| Error::io("resolve", &joined, e))?;
    let refuse = |what: String| {
        Err(Error::Config {
            path: config_path.to_path_buf(),
            position: None,
            message: format!(
                "key `{key}`: `{value}` resolves to `{}`, {what}",
                resolved.display()
            ),
        })
    };
    if resolved.parent().is_none() {
        return refuse("the root directory".into());
    }
    if resolved == stack_dir {
        return refuse("the stack directory itself".into());
    }
    if stack_dir.starts_with(&resolved) {
        return refuse(format!(
            "a parent of the stack directory `{}`",
            stack_dir.display()
        ));
    }
    if !configured.is_absolute() && !resolved.starts_with(stack_dir) {
        return refuse(format!(
            "outside the stack directory `{}` (a relative path must stay inside it; write an absolute path for a directory elsewhere)",
            stack_dir.display()
        ));
    }
    Ok(resolved)
}

/// `canonicalize` for a path that may not exist yet: the nearest existing
/// ancestor is canonicalised and the rest appended (`..` in the rest taken
/// lexically: those components do not exist, so they are no symlinks).
pub fn canonicalize_lenient(path: &Path) -> std::io::Result<PathBuf> {
    use std::path::Component;
    let components: Vec<Component> = path.components().collect();
    for split in (1..=components.len()).rev() {
        let head: PathBuf = components[..split].iter().collect();
        match head.canonicalize() {
            Ok(mut out) => {
                for c in &components[split..] {
                    match c {
                        Component::ParentDir => {
                            out.pop();
                        }
                        Component::CurDir => {}
                        other => out.push(other),
                    }
                }
                return Ok(out);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        "no part of the path exists",
    ))
}

/// Parses and validates the text of an `mrctl.toml`.
pub fn parse_config(path: &Path, text: &str) -> Result<StackConfig> {
    let config: StackConfig = toml::from_str(text).map_err(|e| Error::Config {
        path: path.to_path_buf(),
        position: e.span().map(|s| position_of(text, s.start)),
        message: e.message().trim().to_string(),
    })?;
    validate(&config).map_err(|(key, reason)| Error::Config {
        path: path.to_path_buf(),
        position: None,
        message: format!("key `{key}`: {reason}"),
    })?;
    Ok(config)
}

type Invalid = (String, String);

fn validate(c: &StackConfig) -> std::result::Result<(), Invalid> {
    let bad = |key: &str, reason: String| Err((key.to_string(), reason));
    if !names::valid_project_name(&c.name) {
        return bad(
            "name",
            format!(
                "`{}` is not a valid stack name (lowercase letters, digits, `-` and `_`, starting with a letter or digit)",
                c.name
            ),
        );
    }
    if c.compose_files.is_empty() {
        return bad("compose_files", "list at least one compose file".into());
    }
    for f in &c.compose_files {
        if f.trim().is_empty() {
            return bad("compose_files", "a compose file path is empty".into());
        }
    }
    if c.project_name.trim().is_empty() {
        return bad("project_name", "the template is empty".into());
    }
    for (key, value) in [
        ("instances.dir", &c.instances.dir),
        ("instances.data_root", &c.instances.data_root),
    ] {
        if value.trim().is_empty() {
            return bad(key, "the path is empty".into());
        }
        if Path::new(value) == Path::new("/") {
            return bad(key, "the path cannot be the root directory".into());
        }
    }
    if Path::new(&c.instances.dir).is_absolute() {
        return bad(
            "instances.dir",
            "must be relative to the stack directory".into(),
        );
    }
    for sub in &c.instances.data_subdirs {
        let p = Path::new(sub);
        if sub.is_empty()
            || p.is_absolute()
            || p.components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return bad(
                "instances.data_subdirs",
                format!("`{sub}` must be a plain relative path without `..`"),
            );
        }
    }
    let [lo, hi] = c.ports.range;
    if lo == 0 || lo > hi {
        return bad(
            "ports.range",
            format!("[{lo}, {hi}] is not a range of ports (1-65535, low first)"),
        );
    }
    if c.ports.stride == 0 {
        return bad("ports.stride", "must be at least 1".into());
    }
    let mut seen: IndexMap<u16, &str> = IndexMap::new();
    for (name, &port) in &c.ports.base {
        let key = format!("ports.base.{name}");
        if !names::valid_port_name(name) {
            return bad(
                &key,
                "a port name is lowercase letters, digits and `_`, starting with a letter (it becomes `NAME_PORT`)".into(),
            );
        }
        if port < lo || port > hi {
            return bad(
                &key,
                format!("port {port} is outside `ports.range` {lo}-{hi}"),
            );
        }
        if let Some(other) = seen.insert(port, name) {
            return bad(&key, format!("port {port} is also the base of `{other}`"));
        }
    }
    for (tier, limits) in &c.tiers {
        let key = format!("tiers.{tier}");
        if !names::valid_port_name(tier) && !names::valid_project_name(tier) {
            return bad(
                &key,
                "a tier name is lowercase letters, digits, `-` and `_`".into(),
            );
        }
        if let Err(e) = limits.validate() {
            return bad(&format!("{key}.{}", e.field), e.reason);
        }
    }
    if let Some(t) = &c.instances.default_tier
        && !c.tiers.contains_key(t)
    {
        return bad(
            "instances.default_tier",
            format!("no `[tiers.{t}]` is defined"),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<StackConfig> {
        parse_config(Path::new("mrctl.toml"), text)
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let c = parse("name = \"demo\"\n").unwrap();
        assert_eq!(c.compose_files, vec!["docker-compose.yml"]);
        assert_eq!(c.project_name, "{{ stack }}-{{ name }}");
        assert_eq!(c.ports.strategy, Strategy::Sequential);
        assert_eq!(c.instances.data_subdirs, vec!["config", "tmp", "logs"]);
    }

    #[test]
    fn keeps_port_order() {
        let c = parse("name = \"d\"\n[ports.base]\nfrontend = 3003\nbackend = 8765\n").unwrap();
        let names: Vec<_> = c.ports.base.keys().collect();
        assert_eq!(names, ["frontend", "backend"]);
    }

    #[test]
    fn unknown_key_is_named_with_position() {
        let err = parse("name = \"d\"\n[ports]\nstrat = \"offset\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("mrctl.toml:3:1"), "{err}");
        assert!(err.contains("unknown field `strat`"), "{err}");
    }

    #[test]
    fn syntax_error_has_position() {
        let err = parse("name = \"d\"\nports = [\n").unwrap_err().to_string();
        assert!(err.starts_with("`mrctl.toml:"), "{err}");
    }

    #[test]
    fn lenient_canonicalisation_resolves_what_exists() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().canonicalize().unwrap();
        std::fs::create_dir(real.join("a")).unwrap();
        let c = |p: &str| canonicalize_lenient(&tmp.path().join(p)).unwrap();
        assert_eq!(c("a"), real.join("a"));
        assert_eq!(c("a/new/deeper"), real.join("a/new/deeper"));
        assert_eq!(c("a/../b"), real.join("b"));
        assert_eq!(c("missing/../.."), real.parent().unwrap());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/", real.join("root")).unwrap();
            assert_eq!(c("root/x"), Path::new("/x"));
        }
    }

    #[test]
    fn semantic_errors_name_the_key() {
        let cases = [
            ("name = \"Bad Name\"", "key `name`"),
            ("name = \"d\"\ncompose_files = []", "key `compose_files`"),
            (
                "name = \"d\"\n[ports]\nrange = [2000, 1000]",
                "key `ports.range`",
            ),
            ("name = \"d\"\n[ports]\nstride = 0", "key `ports.stride`"),
            (
                "name = \"d\"\n[ports.base]\nweb = 80",
                "key `ports.base.web`",
            ),
            (
                "name = \"d\"\n[ports.base]\nWeb = 8080",
                "key `ports.base.Web`",
            ),
            (
                "name = \"d\"\n[ports.base]\na = 8080\nb = 8080",
                "also the base of `a`",
            ),
            (
                "name = \"d\"\n[tiers.free]\nmemory = \"lots\"",
                "key `tiers.free.memory`",
            ),
            (
                "name = \"d\"\n[tiers.free]\ncpus = -1.0",
                "key `tiers.free.cpus`",
            ),
            (
                "name = \"d\"\n[instances]\ndefault_tier = \"gold\"",
                "`[tiers.gold]`",
            ),
            (
                "name = \"d\"\n[instances]\ndata_subdirs = [\"../x\"]",
                "without `..`",
            ),
            (
                "name = \"d\"\n[ports]\nstrategy = \"random\"",
                "unknown variant",
            ),
        ];
        for (text, needle) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text:?} gave {err}");
        }
    }
}
