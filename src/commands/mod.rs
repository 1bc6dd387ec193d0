//! One file per command, each orchestration only; `dispatch` is the single
//! match from the parsed command line to them.

mod backup;
mod clean;
mod completions;
mod create;
mod doctor;
mod env;
mod exec;
mod health;
mod info;
mod init;
mod lifecycle;
mod list;
mod logs;
mod man;
mod ports;
mod project_name;
mod render;
mod start;
mod status;
mod stop;
mod update;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cli::Command;
use crate::error::Error;
use crate::limits::Limits;
use crate::output::Printer;
use crate::registry::{Instance, Registry, RegistryFile};
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
        Command::Update(args) => update::run(ctx, &args),
        Command::Start(args) => start::run(ctx, &args.target, &args.opts, false),
        Command::Restart(args) => start::run(ctx, &args.target, &args.opts, true),
        Command::Up(args) => start::up(ctx, &args),
        Command::Stop(args) => stop::run(ctx, &args),
        Command::Status(args) => status::run(ctx, &args),
        Command::Health(args) => health::run(ctx, &args.name),
        Command::Exec(args) => exec::run(ctx, &args),
        Command::Man => man::run(),
        Command::Logs(args) => logs::run(ctx, &args),
        Command::Clean(args) => clean::run(ctx, &args),
        Command::Backup(args) => backup::run(ctx, &args),
        Command::Restore(args) => backup::restore(ctx, &args),
        Command::Doctor(args) => doctor::run(ctx, &args),
        Command::Completions(args) => completions::run(&args),
    }
}

/// The registry file of a stack, checked against its `mrctl.toml` on every
/// load and write.
pub fn registry_file(stack: &Stack) -> RegistryFile {
    RegistryFile::for_stack(&stack.dir, &stack.config)
}

/// The stack directory's identity, made (and recorded) on first use.
pub fn identity(stack: &Stack) -> Result<crate::identity::Identity, Error> {
    registry_file(stack).identity(stack.name())
}

/// The identity as the registry records it, for read-only commands that
/// must not write: before the first write there is none, and only
/// resources adopted from this directory count as its own.
pub fn read_identity(stack: &Stack, registry: &Registry) -> crate::identity::Identity {
    let id = registry
        .stack
        .as_ref()
        .filter(|rec| rec.dir == stack.dir)
        .map(|rec| rec.id.clone())
        .unwrap_or_else(|| "-".to_string());
    crate::identity::Identity {
        stack: stack.name().to_string(),
        id,
        dir: stack.dir.clone(),
    }
}

/// The containers of the registry's instances that are this stack
/// directory's own (or adopted from it), in one list call: containers of a
/// copy of the stack with the same project names are not shown as ours.
pub async fn stack_containers(
    engine: &crate::engine::Engine,
    stack: &Stack,
    registry: &Registry,
) -> Result<Vec<crate::engine::ContainerInfo>, Error> {
    let identity = read_identity(stack, registry);
    let projects: std::collections::HashSet<&str> = registry
        .instances
        .values()
        .map(|i| i.project.as_str())
        .collect();
    Ok(engine
        .containers_labelled(crate::engine::labels::PROJECT, "")
        .await?
        .into_iter()
        .filter(|c| projects.contains(c.project.as_str()) && identity.classify(&c.labels).is_mine())
        .collect())
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

/// One instance's entry, read without building the rest of the registry
/// (the read path of `ports`, `info`, `env`).
pub fn load_instance(stack: &Stack, name: &str) -> Result<Instance, Error> {
    crate::names::validate_instance_name(name)?;
    let (registry, count) = registry_file(stack).load_one(name)?;
    registry
        .instances
        .get(name)
        .cloned()
        .ok_or_else(|| Error::UnknownInstance {
            name: name.to_string(),
            stack: stack.name().to_string(),
            hint: Some(match count {
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

/// Removes staging directories left by a create that was killed, and trash
/// left by a killed deletion, when mrctl's marker says they are this stack's
/// (a directory of that name made by hand is kept). Call only under the
/// registry lock: then no live create or clean owns one.
pub fn remove_stale_work(stack: &Stack) {
    crate::datadir::remove_own_leftovers(&stack.instances_dir, stack.name(), true);
    crate::datadir::remove_own_leftovers(&stack.data_root, stack.name(), false);
}

/// A runtime for the commands that talk to Docker: one thread is plenty,
/// the work is waiting on the engine.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Serialises Docker work on one instance across processes (two `start`s
/// of one instance must not race). Held until dropped.
pub fn instance_lock(stack: &Stack, name: &str) -> Result<std::fs::File, Error> {
    let (file, path) = open_instance_lock(stack, name)?;
    file.lock().map_err(|e| Error::io("lock", &path, e))?;
    Ok(file)
}

/// `instance_lock` without waiting: `None` when another process holds it.
pub fn try_instance_lock(stack: &Stack, name: &str) -> Result<Option<std::fs::File>, Error> {
    let (file, path) = open_instance_lock(stack, name)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io("lock", &path, e)),
    }
}

fn open_instance_lock(stack: &Stack, name: &str) -> Result<(std::fs::File, PathBuf), Error> {
    crate::datadir::create_private_dir_all(&stack.instances_dir)?;
    let path = stack.instances_dir.join(format!("{name}.lock"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io("open the lock file", &path, e))?;
    Ok((file, path))
}

/// The interpolation variables of an instance: its env file, under the
/// process environment (the process wins, as in compose).
pub fn instance_variables(
    stack: &Stack,
    name: &str,
) -> Result<indexmap::IndexMap<String, String>, Error> {
    let files = InstanceFiles::in_dir(stack.instance_dir(name));
    let text = crate::fsutil::read_to_string_limited(&files.env, crate::fsutil::FileKind::EnvFile)?;
    let mut vars = crate::envfile::parse_env(&text);
    let file_keys: Vec<String> = vars.keys().cloned().collect();
    for (k, v) in std::env::vars() {
        vars.insert(k, v);
    }
    // From here on, whatever this process prints hides the instance's
    // secrets (generated ones, and the env file's variables whose key names
    // a secret, as they are in force), wherever they were interpolated.
    let generated = crate::secrets::Secrets::load(&files.secrets)
        .map(|s| s.values())
        .unwrap_or_default();
    crate::mask::register_instance(
        &generated,
        vars.iter().filter(|(k, _)| file_keys.contains(k)),
    );
    Ok(vars)
}

/// The resolved compose project of an instance: the base files plus its override.
pub fn instance_project(
    stack: &Stack,
    name: &str,
    inst: &Instance,
) -> Result<crate::compose::Project, Error> {
    let variables = instance_variables(stack, name)?;
    let mut files = stack.compose_paths();
    files.push(InstanceFiles::in_dir(stack.instance_dir(name)).override_file);
    let profiles: Vec<String> = variables
        .get("COMPOSE_PROFILES")
        .map(|p| {
            p.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let mut project = crate::compose::load_project(&crate::compose::LoadOptions {
        project: &inst.project,
        working_dir: &stack.dir,
        files: &files,
        variables: &variables,
        profiles: &profiles,
    })?;
    project.apply_limits(
        crate::limits::in_force(&stack.config.tiers, inst.tier.as_deref(), &inst.limits)
            .to_engine(),
    );
    Ok(project)
}

/// The instances a `NAME | --all` command acts on.
pub fn targets(
    stack: &Stack,
    registry: &Registry,
    target: &crate::cli::TargetArgs,
) -> Result<Vec<String>, Error> {
    if target.all {
        return Ok(registry
            .names_sorted()
            .into_iter()
            .map(str::to_string)
            .collect());
    }
    let name = target.name.clone().unwrap_or_default();
    lookup(stack, registry, &name)?;
    Ok(vec![name])
}

/// Runs `each` on every target; with several, a failure is reported and the
/// rest still run, and the end result says how many failed.
pub async fn for_each<F, Fut>(what: &str, names: &[String], mut each: F) -> anyhow::Result<()>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    if names.len() == 1 {
        return each(names[0].clone()).await;
    }
    let mut failed = 0;
    for name in names {
        if let Err(e) = each(name.clone()).await {
            failed += 1;
            let mut err = anstream::stderr();
            use std::io::Write;
            let _ = writeln!(
                err,
                "{}error:{} instance `{name}`: {}",
                crate::output::RED,
                crate::output::RED.render_reset(),
                crate::mask::mask(&format!("{e:#}"))
            );
        }
    }
    if failed > 0 {
        return Err(Error::Partial {
            what: what.to_string(),
            count: failed,
            total: names.len(),
        }
        .into());
    }
    Ok(())
}

/// `--timeout` as a duration.
pub fn parse_timeout(text: &str) -> Result<std::time::Duration, Error> {
    crate::units::parse_duration(text).ok_or_else(|| Error::InvalidArgument {
        option: "--timeout".into(),
        reason: format!("`{text}` is not a duration (e.g. `90s`, `5m`)"),
    })
}
