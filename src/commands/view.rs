//! How instances and confirmations look to the user: the stable JSON view of
//! an instance, inline port lists, the docker compose command that sees the
//! same stack, paths relative to the stack, and the terminal prompt.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::Error;
use crate::limits::Limits;
use crate::registry::Instance;
use crate::render::InstanceFiles;
use crate::stack::Stack;

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
    if let Some(shared) = crate::ops::instance::stack_env_file(stack) {
        words.push("--env-file".into());
        words.push(shell_quote(&shared.to_string_lossy()));
    }
    words.push("--env-file".into());
    words.push(shell_quote(&files.env.to_string_lossy()));
    words.push("ps".into());
    words.join(" ")
}

/// A path shown relative to the stack directory when inside it.
pub fn rel(stack: &Stack, path: &Path) -> String {
    stack.display_path(path).into_owned()
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
