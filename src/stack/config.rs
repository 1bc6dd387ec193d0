//! `mrctl.toml` as written: its typed form, parsed with unknown keys
//! refused by name and position, then validated key by key.

use std::path::Path;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, position_of};
use crate::limits::Limits;
use crate::names;

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
            // A size is the one value whose form is not obvious: show one.
            let example = if e.field == "memory" {
                " (e.g. `256m`, `1g`)"
            } else {
                ""
            };
            return bad(
                &format!("{key}.{}", e.field),
                format!("{}{example}", e.reason),
            );
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
    fn bad_tier_limits_are_named_by_key_and_value() {
        for (text, message) in [
            (
                "memory = \"lots\"",
                "key `tiers.free.memory`: `lots` is not a memory size of at least 6m (e.g. `256m`, `1g`)",
            ),
            (
                "cpus = 0.0",
                "key `tiers.free.cpus`: 0 is not a positive number of CPUs",
            ),
            (
                "pids = -1",
                "key `tiers.free.pids`: -1 is not a positive limit",
            ),
        ] {
            let err = parse(&format!("name = \"d\"\n[tiers.free]\n{text}\n")).unwrap_err();
            assert_eq!(err.to_string(), format!("`mrctl.toml`: {message}"));
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
