//! One file per command, each orchestration only; `dispatch` is the single
//! match from the parsed command line to them.

mod clean;
mod completions;
mod create;
mod env;
mod info;
mod init;
mod list;
mod ports;
mod project_name;
mod render;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cli::Command;
use crate::error::Error;
use crate::output::Printer;
use crate::registry::{Instance, Limits, Registry, RegistryFile};
use crate::render::InstanceFiles;
use crate::stack::Stack;

/// What every command gets: the printer and where to find the stack.
pub struct Ctx {
    pub printer: Printer,
    pub project_dir: Option<PathBuf>,
    pub cwd: PathBuf,
}

impl Ctx {
    /// Finds and loads the stack.
    pub fn stack(&self) -> Result<Stack, Error> {
        Stack::discover(self.project_dir.as_deref(), &self.cwd)
    }
}

pub fn dispatch(ctx: &Ctx, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Init(args) => init::run(ctx, &args),
        Command::Create(args) => create::run(ctx, &args),
        Command::List => list::run(ctx),
        Command::Info(args) => info::run(ctx, &args.name),
        Command::Ports(args) => ports::run(ctx, &args),
        Command::ProjectName(args) => project_name::run(ctx, &args.name),
        Command::Env(args) => env::run(ctx, &args),
        Command::Render(args) => render::run(ctx, &args.name),
        Command::Clean(args) => clean::run(ctx, &args),
        Command::Completions(args) => completions::run(&args),
    }
}

/// The registry file of a stack.
pub fn registry_file(stack: &Stack) -> RegistryFile {
    RegistryFile::in_dir(&stack.dir)
}

/// The instance `name` of `registry`, or an error naming it and the stack.
pub fn lookup<'r>(
    stack: &Stack,
    registry: &'r Registry,
    name: &str,
) -> Result<&'r Instance, Error> {
    crate::names::validate_instance_name(name)?;
    registry
        .instances
        .get(name)
        .ok_or_else(|| Error::UnknownInstance {
            name: name.to_string(),
            stack: stack.name().to_string(),
            hint: Some(match registry.instances.len() {
                0 => "the stack has no instances yet: `mrctl create NAME`".to_string(),
                _ => "`mrctl list` shows the instances".to_string(),
            }),
        })
}

/// An instance as `list --json` and `info --json` print it (stable schema).
#[derive(Debug, Serialize)]
pub struct InstanceView {
    pub name: String,
    pub index: u32,
    pub domain: String,
    pub project: String,
    pub ports: indexmap::IndexMap<String, u16>,
    pub data_dir: PathBuf,
    pub tier: Option<String>,
    pub limits: Limits,
    pub created_at: String,
    pub instance_dir: PathBuf,
    pub env_file: PathBuf,
    pub override_file: PathBuf,
}

impl InstanceView {
    pub fn new(stack: &Stack, name: &str, inst: &Instance) -> InstanceView {
        let files = InstanceFiles::in_dir(stack.instance_dir(name));
        InstanceView {
            name: name.to_string(),
            index: inst.index,
            domain: inst.domain.clone(),
            project: inst.project.clone(),
            ports: inst.ports.clone(),
            data_dir: inst.data_dir.clone(),
            tier: inst.tier.clone(),
            limits: inst.limits.clone(),
            created_at: inst.created_at.clone(),
            instance_dir: files.dir,
            env_file: files.env,
            override_file: files.override_file,
        }
    }
}

/// `backend=8765 frontend=3003`.
pub fn ports_inline(ports: &indexmap::IndexMap<String, u16>) -> String {
    ports
        .iter()
        .map(|(n, p)| format!("{n}={p}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Quotes a word for POSIX sh when it needs it.
pub fn shell_quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The `docker compose` command that sees the same stack as mrctl.
pub fn compose_command(stack: &Stack, name: &str, inst: &Instance) -> String {
    let files = InstanceFiles::in_dir(stack.instance_dir(name));
    let mut words = vec![
        "docker".to_string(),
        "compose".to_string(),
        "--project-directory".to_string(),
        shell_quote(&stack.dir.to_string_lossy()),
        "-p".to_string(),
        shell_quote(&inst.project),
    ];
    for f in stack.compose_paths() {
        words.push("-f".into());
        words.push(shell_quote(&f.to_string_lossy()));
    }
    words.push("-f".into());
    words.push(shell_quote(&files.override_file.to_string_lossy()));
    words.push("--env-file".into());
    words.push(shell_quote(&files.env.to_string_lossy()));
    words.push("ps".into());
    words.join(" ")
}

/// Asks on a terminal; without one, `--yes` is required.
pub fn confirm(yes: bool, action: &str, question: &str) -> Result<(), Error> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::NotConfirmed {
            action: action.to_string(),
        });
    }
    use std::io::Write;
    let mut err = anstream::stderr();
    let _ = write!(err, "{question} [y/N] ");
    let _ = err.flush();
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(Error::Cancelled {
            action: action.to_string(),
        })
    }
}

/// Now, as RFC 3339 UTC to the second.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// A path shown relative to the stack directory when inside it.
pub fn rel(stack: &Stack, path: &Path) -> String {
    stack.display_path(path).into_owned()
}

/// Refuses to create over an existing `.instances/<name>` that the registry
/// does not know: it may hold an env file with the operator's keys.
pub fn lookup_files_dir_free(dir: &Path, name: &str) -> Result<(), Error> {
    if std::fs::symlink_metadata(dir).is_ok() {
        return Err(Error::PathExists {
            path: dir.to_path_buf(),
            reason: format!(
                "instance `{name}` is not registered; it may hold an env file with your keys: move it away, or run `mrctl clean {name}` to remove what an interrupted create left"
            ),
        });
    }
    Ok(())
}

/// Removes staging directories left by a create that was killed. Call only
/// under the registry lock: then no live create owns one.
pub fn remove_stale_staging(stack: &Stack) {
    let Ok(entries) = std::fs::read_dir(&stack.instances_dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(".staging-") {
            tracing::debug!(dir = %entry.path().display(), "removing a staging directory left by a killed create");
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
