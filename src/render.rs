//! Rendering an instance's files from templates (minijinja, strict undefined,
//! no escaping): the context templates see, the env file and compose
//! override of `.instances/<name>/`, and the re-render that keeps what the
//! operator changed.

use std::path::PathBuf;

use indexmap::IndexMap;
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::fsutil::write_atomic;
use crate::limits::Limits;
use crate::secrets::Secrets;
use crate::stack::Stack;

/// Built-in env template (`instances.env_template` absent).
pub const BUILTIN_ENV: &str = include_str!("../templates/env.j2");
/// Built-in override template (`instances.override_template` absent).
pub const BUILTIN_OVERRIDE: &str = include_str!("../templates/docker-compose.override.yml.j2");

/// File names inside `.instances/<name>/`.
pub const ENV_FILE: &str = ".env";
pub const OVERRIDE_FILE: &str = "docker-compose.override.yml";
pub const SECRETS_FILE: &str = "secrets.json";
/// The env file as last rendered, the base of the three-way merge.
pub const ENV_RENDERED_FILE: &str = ".env.rendered";

/// Upper bound on template work, against a template that loops forever.
const FUEL: u64 = 5_000_000;

/// What templates see.
#[derive(Debug, Clone, Serialize)]
pub struct Context {
    pub name: String,
    pub index: u32,
    pub domain: String,
    pub project: String,
    pub stack: String,
    pub data_dir: String,
    pub instance_dir: String,
    pub ports: IndexMap<String, u16>,
    pub tier: Option<String>,
    /// Limits in force (tier, then per-instance overrides); every key present, `none` when unset.
    #[serde(serialize_with = "crate::limits::serialize_every_key")]
    pub limits: Limits,
    pub services: Vec<String>,
}

/// The rendered outputs of one instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub env: String,
    pub override_file: String,
}

fn environment(secrets: Option<Secrets>) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_debug(true);
    env.set_fuel(Some(FUEL));
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()
            .expect("default syntax with kept newlines is valid"),
    );
    match secrets {
        Some(s) => env.add_function("secret", move |key: &str| {
            s.get_or_create(key)
                .map_err(|msg| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, msg))
        }),
        None => env.add_function(
            "secret",
            |_key: &str| -> std::result::Result<String, minijinja::Error> {
                Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    "`secret()` is not available here",
                ))
            },
        ),
    }
    env
}

/// One template error as one sentence: the template, its line, the undefined name.
fn template_error(name: &str, err: &minijinja::Error) -> Error {
    let snippet = match (err.template_source(), err.range()) {
        (Some(src), Some(range)) => src.get(range).map(str::trim).map(str::to_string),
        _ => None,
    };
    let message = match err.kind() {
        minijinja::ErrorKind::UndefinedError => match snippet {
            Some(s) => format!("undefined variable `{s}`"),
            None => "undefined variable".to_string(),
        },
        minijinja::ErrorKind::SyntaxError => {
            format!("syntax error: {}", err.detail().unwrap_or("invalid syntax"))
        }
        minijinja::ErrorKind::OutOfFuel => {
            "the template does too much work (a runaway loop?)".into()
        }
        _ => {
            let detail = err
                .detail()
                .map(str::to_string)
                .unwrap_or_else(|| err.kind().to_string());
            match snippet {
                Some(s) => format!("{detail} (in `{s}`)"),
                None => detail,
            }
        }
    };
    Error::Template {
        template: name.to_string(),
        line: err.line(),
        message,
    }
}

/// Renders a one-line template such as `project_name` (context: `stack`, `name`, `index`).
pub fn render_small(key: &str, source: &str, ctx: minijinja::Value) -> Result<String> {
    let env = environment(None);
    let out = env
        .render_named_str(key, source, ctx)
        .map_err(|e| template_error(&format!("mrctl.toml: {key}"), &e))?;
    Ok(out.trim().to_string())
}

/// A template's source: the user's file from mrctl.toml, or the built-in one.
fn template_source(
    stack: &Stack,
    custom: Option<&String>,
    builtin: &str,
) -> Result<(String, String)> {
    match custom {
        Some(rel) => {
            let path = stack.dir.join(rel);
            let text =
                crate::fsutil::read_to_string_limited(&path, crate::fsutil::FileKind::Template)?;
            Ok((rel.clone(), text))
        }
        None => Ok((
            format!("built-in {}", builtin_name(builtin)),
            builtin.to_string(),
        )),
    }
}

fn builtin_name(builtin: &str) -> &'static str {
    if builtin == BUILTIN_ENV {
        "env.j2"
    } else {
        "docker-compose.override.yml.j2"
    }
}

/// Renders the env file and the compose override of one instance.
pub fn render_instance(stack: &Stack, ctx: &Context, secrets: &Secrets) -> Result<Rendered> {
    let env = environment(Some(secrets.clone()));
    let value = minijinja::Value::from(minijinja::value::Serde(ctx));
    let mut outputs = Vec::new();
    for (custom, builtin) in [
        (stack.config.instances.env_template.as_ref(), BUILTIN_ENV),
        (
            stack.config.instances.override_template.as_ref(),
            BUILTIN_OVERRIDE,
        ),
    ] {
        let (name, source) = template_source(stack, custom, builtin)?;
        let out = env
            .render_named_str(&name, &source, value.clone())
            .map_err(|e| template_error(&name, &e))?;
        outputs.push(out);
    }
    let override_file = outputs.pop().expect("two outputs");
    let env_text = outputs.pop().expect("two outputs");
    Ok(Rendered {
        env: env_text,
        override_file,
    })
}

/// Paths of an instance's rendered files.
#[derive(Debug, Clone)]
pub struct InstanceFiles {
    pub dir: PathBuf,
    pub env: PathBuf,
    pub env_rendered: PathBuf,
    pub override_file: PathBuf,
    pub secrets: PathBuf,
}

impl InstanceFiles {
    pub fn in_dir(dir: PathBuf) -> InstanceFiles {
        InstanceFiles {
            env: dir.join(ENV_FILE),
            env_rendered: dir.join(ENV_RENDERED_FILE),
            override_file: dir.join(OVERRIDE_FILE),
            secrets: dir.join(SECRETS_FILE),
            dir,
        }
    }
}

/// The template context of a registered instance.
pub fn context_for(
    stack: &Stack,
    name: &str,
    inst: &crate::registry::Instance,
    services: Vec<String>,
) -> Context {
    Context {
        name: name.to_string(),
        index: inst.index,
        domain: inst.domain.clone(),
        project: inst.project.clone(),
        stack: stack.name().to_string(),
        data_dir: inst.data_dir.to_string_lossy().into_owned(),
        instance_dir: stack.instance_dir(name).to_string_lossy().into_owned(),
        ports: inst.ports.clone(),
        tier: inst.tier.clone(),
        limits: crate::limits::in_force(&stack.config.tiers, inst.tier.as_deref(), &inst.limits),
        services,
    }
}

/// Writes rendered files into `dir`: the env file and its pristine copy
/// (0600), the override (0644), and the secrets (0600) when there are any.
pub fn write_files(
    files: &InstanceFiles,
    env: &str,
    rendered_env: &str,
    override_file: &str,
    secrets: &Secrets,
) -> Result<()> {
    write_atomic(&files.env, env.as_bytes(), 0o600)?;
    write_atomic(&files.env_rendered, rendered_env.as_bytes(), 0o600)?;
    write_atomic(&files.override_file, override_file.as_bytes(), 0o644)?;
    if !secrets.is_empty() {
        secrets.save(&files.secrets)?;
    }
    Ok(())
}

/// What a re-render changed and kept.
#[derive(Debug, Default, Serialize)]
pub struct Rerendered {
    pub env_changed: bool,
    pub override_changed: bool,
    pub kept_changed: Vec<String>,
    pub kept_added: Vec<String>,
    /// Where the previous env file was kept, if it changed.
    pub env_backup: Option<PathBuf>,
}

/// Re-renders an instance's env file and override. Values the operator
/// changed or added to the env file are kept (three-way merge against the
/// last render); the previous files are kept as `.bak`. Recreates the
/// directory (with its marker) when it was deleted by hand.
pub fn rerender(
    stack: &Stack,
    name: &str,
    inst: &crate::registry::Instance,
    services: Vec<String>,
) -> Result<Rerendered> {
    let files = InstanceFiles::in_dir(stack.instance_dir(name));
    if std::fs::symlink_metadata(&files.dir).is_err() {
        crate::datadir::create_private_dir_all(&files.dir)?;
        crate::datadir::write_marker(
            &files.dir,
            &crate::datadir::Marker::new(stack.name(), None, name, "files"),
        )?;
    }
    let secrets = Secrets::load(&files.secrets)?;
    let context = context_for(stack, name, inst, services);
    let fresh = render_instance(stack, &context, &secrets)?;
    use crate::fsutil::{FileKind, read_optional};
    let current = read_optional(&files.env, FileKind::EnvFile)?;
    let base = read_optional(&files.env_rendered, FileKind::EnvFile)?;
    let (env, report) = match &current {
        Some(cur) => crate::envfile::merge_env(cur, base.as_deref(), &fresh.env),
        None => (fresh.env.clone(), crate::envfile::MergeReport::default()),
    };
    let old_override = read_optional(&files.override_file, FileKind::Compose)?;
    let mut out = Rerendered {
        env_changed: current.as_deref() != Some(env.as_str()),
        override_changed: old_override.as_deref() != Some(fresh.override_file.as_str()),
        kept_changed: report.kept_changed,
        kept_added: report.kept_added,
        env_backup: None,
    };
    if let Some(cur) = current.as_deref().filter(|_| out.env_changed) {
        let backup = files.dir.join(".env.bak");
        write_atomic(&backup, cur.as_bytes(), 0o600)?;
        out.env_backup = Some(backup);
    }
    if let Some(old) = old_override.as_deref().filter(|_| out.override_changed) {
        write_atomic(
            &files.dir.join("docker-compose.override.yml.bak"),
            old.as_bytes(),
            0o644,
        )?;
    }
    write_files(&files, &env, &fresh.env, &fresh.override_file, &secrets)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::envfile::parse_env;

    fn stack(dir: &Path, extra: &str) -> Stack {
        std::fs::write(
            dir.join("mrctl.toml"),
            format!("name = \"demo\"\n{extra}\n[ports.base]\nbackend = 8765\nfrontend = 3003\n"),
        )
        .unwrap();
        Stack::load(dir).unwrap()
    }

    fn ctx() -> Context {
        Context {
            name: "prod".into(),
            index: 0,
            domain: "prod.example.com".into(),
            project: "demo-prod".into(),
            stack: "demo".into(),
            data_dir: "/data/prod".into(),
            instance_dir: "/s/.instances/prod".into(),
            ports: IndexMap::from([("backend".into(), 8765), ("frontend".into(), 3003)]),
            tier: None,
            limits: Limits::default(),
            services: vec!["backend".into(), "frontend".into()],
        }
    }

    #[test]
    fn builtin_env_has_the_seed_variables() {
        let dir = tempfile::tempdir().unwrap();
        let s = stack(dir.path(), "");
        let r = render_instance(&s, &ctx(), &Secrets::default()).unwrap();
        let env = parse_env(&r.env);
        assert_eq!(env["INSTANCE_NAME"], "prod");
        assert_eq!(env["INSTANCE_INDEX"], "0");
        assert_eq!(env["INSTANCE_DOMAIN"], "prod.example.com");
        assert_eq!(env["DATA_DIR"], "/data/prod");
        assert_eq!(env["COMPOSE_PROJECT_NAME"], "demo-prod");
        assert_eq!(env["BACKEND_PORT"], "8765");
        assert_eq!(env["FRONTEND_PORT"], "3003");
        assert!(r.override_file.contains("services:"));
        assert!(r.override_file.contains("  backend:"));
    }

    #[test]
    fn undefined_variable_names_template_line_and_variable() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("env.j2"), "A={{ name }}\nB={{ nmae }}\n").unwrap();
        let s = stack(dir.path(), "[instances]\nenv_template = \"env.j2\"");
        let err = render_instance(&s, &ctx(), &Secrets::default())
            .unwrap_err()
            .to_string();
        assert_eq!(err, "template `env.j2` line 2: undefined variable `nmae`");
    }

    #[test]
    fn undefined_attribute_is_an_error_too() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("env.j2"), "A={{ ports.db }}\n").unwrap();
        let s = stack(dir.path(), "[instances]\nenv_template = \"env.j2\"");
        let err = render_instance(&s, &ctx(), &Secrets::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1") && err.contains("ports.db"), "{err}");
    }

    #[test]
    fn syntax_error_names_the_template() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("env.j2"), "A={{ name \n").unwrap();
        let s = stack(dir.path(), "[instances]\nenv_template = \"env.j2\"");
        let err = render_instance(&s, &ctx(), &Secrets::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("template `env.j2` line 1: syntax error"),
            "{err}"
        );
    }

    #[test]
    fn no_html_escaping() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("env.j2"), "R={{ \"Host(`a`) && <b>\" }}\n").unwrap();
        let s = stack(dir.path(), "[instances]\nenv_template = \"env.j2\"");
        let r = render_instance(&s, &ctx(), &Secrets::default()).unwrap();
        assert_eq!(r.env, "R=Host(`a`) && <b>\n");
    }

    #[test]
    fn secrets_are_stable_and_saved() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("env.j2"),
            "A={{ secret(\"db\") }}\nB={{ secret(\"db\") }}\nC={{ secret(\"other\") }}\n",
        )
        .unwrap();
        let s = stack(dir.path(), "[instances]\nenv_template = \"env.j2\"");
        let secrets = Secrets::default();
        let r = render_instance(&s, &ctx(), &secrets).unwrap();
        let env = parse_env(&r.env);
        assert_eq!(env["A"], env["B"]);
        assert_ne!(env["A"], env["C"]);
        assert_eq!(env["A"].len(), 32);
        let path = dir.path().join("secrets.json");
        secrets.save(&path).unwrap();
        let again = Secrets::load(&path).unwrap();
        let r2 = render_instance(&s, &ctx(), &again).unwrap();
        assert_eq!(r.env, r2.env);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }
}
