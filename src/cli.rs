//! The clap command tree: raw flags only. Commands validate these into typed
//! values before touching anything.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "mrctl",
    version,
    about = "Run many isolated instances of one docker-compose stack on one server",
    long_about = None,
    after_help = "The stack directory is `-C DIR`, else $MRCTL_PROJECT_DIR, else the first directory \
                  at or above the current one holding mrctl.toml."
)]
pub struct Cli {
    /// Stack directory (holds mrctl.toml).
    #[arg(short = 'C', long = "project-dir", value_name = "DIR", global = true)]
    pub project_dir: Option<PathBuf>,

    /// Print data as JSON (stable schema, see README).
    #[arg(long, global = true)]
    pub json: bool,

    /// Print no messages, only data and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// More log output (-v info, -vv debug, -vvv trace); RUST_LOG works too.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// At most N instances at once with `--all`, and at most N engine calls
    /// at once (default: 8 instances; the engine's own bound).
    #[arg(
        long,
        value_name = "N",
        global = true,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub parallel: Option<u32>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a starter mrctl.toml, docker-compose.yml and templates.
    Init(InitArgs),
    /// Register an instance: allocate its ports, render its files, make its data directory.
    Create(CreateArgs),
    /// List the instances of the stack.
    #[command(visible_alias = "ls")]
    List,
    /// Show everything about one instance, with the docker compose command for it.
    Info(NameArg),
    /// Print an instance's resolved compose model, as `docker compose config` does.
    Config(ConfigArgs),
    /// Print an instance's ports.
    Ports(PortsArgs),
    /// Print an instance's compose project name.
    ProjectName(NameArg),
    /// Print an instance's env file, secrets masked.
    Env(EnvArgs),
    /// Change an instance's tier or limits; running containers change in place.
    Update(UpdateArgs),
    /// Re-render an instance's files, keeping what the operator added to the env file.
    Render(NameArg),
    /// Start an instance: create or update its containers, in dependency order.
    Start(StartArgs),
    /// Stop an instance's containers in reverse dependency order.
    Stop(StopArgs),
    /// Remove an instance's containers and networks; keep its volumes, files and data.
    Down(StopArgs),
    /// Pull the images of an instance's services (by their `pull_policy`).
    Pull(TargetArgs),
    /// Stop, then start an instance.
    Restart(RestartArgs),
    /// Create the instance if it does not exist, then start it; `--all` starts every instance.
    Up(UpArgs),
    /// Build the images of an instance's services that have `build:`.
    Build(BuildArgs),
    /// Run a command in a service's container (interactive on a terminal).
    Exec(ExecArgs),
    /// Print the manual page (roff) on standard output.
    Man,
    /// Exit 0 when every service of the instance is ready, non-zero otherwise.
    Health(NameArg),
    /// Show the containers of an instance: state, health, ports, image.
    #[command(visible_alias = "ps")]
    Status(TargetArgs),
    /// Print the logs of an instance's services.
    Logs(LogsArgs),
    /// Delete an instance: containers, networks, volumes, files, data directory and registry entry.
    Clean(CleanArgs),
    /// Archive an instance: registry entry, files, secrets, data and volumes.
    Backup(BackupArgs),
    /// Recreate an instance from a backup archive.
    Restore(RestoreArgs),
    /// Check the engine, the stack and the registry against Docker; `--fix` repairs.
    Doctor(DoctorArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct NameArg {
    /// Instance name.
    pub name: String,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory to initialise (created if missing; default: the current one).
    pub dir: Option<PathBuf>,
    /// Stack name (default: derived from the directory name).
    #[arg(long)]
    pub name: Option<String>,
    /// Overwrite existing starter files.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Instance name: lowercase letters, digits and `-`; a number is a numbered dev instance.
    pub name: String,
    /// Domain of the instance (default: `instances.default_domain`).
    pub domain: Option<String>,
    /// Index of the instance (offset strategy: ports are base + index × stride).
    #[arg(long, value_name = "N")]
    pub index: Option<u32>,
    /// Pin a named port (repeatable).
    #[arg(long = "port", value_name = "NAME=PORT")]
    pub ports: Vec<String>,
    /// Resource tier from mrctl.toml `[tiers]`.
    #[arg(long)]
    pub tier: Option<String>,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Per-instance limits, over the tier's.
#[derive(Debug, Args, Default, Clone)]
pub struct LimitArgs {
    /// Memory limit of every container (e.g. `512m`, `2g`).
    #[arg(long, value_name = "SIZE")]
    pub memory: Option<String>,
    /// CPU limit of every container (e.g. `0.5`).
    #[arg(long, value_name = "CPUS")]
    pub cpus: Option<String>,
    /// Process limit of every container.
    #[arg(long, value_name = "N")]
    pub pids: Option<String>,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Instance name.
    pub name: String,
    /// Move the instance to this tier.
    #[arg(long)]
    pub tier: Option<String>,
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Drop the per-instance limits, leaving the tier's.
    #[arg(long, conflicts_with_all = ["memory", "cpus", "pids"])]
    pub clear_limits: bool,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The instance.
    pub name: String,
    /// Only these services (default: every service with `build:`).
    pub services: Vec<String>,
    /// Build every layer again, without the builder's cache.
    #[arg(long)]
    pub no_cache: bool,
}

/// An instance, or every instance with `--all`.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Instance name.
    #[arg(required_unless_present = "all")]
    pub name: Option<String>,
    /// Every instance of the stack.
    #[arg(long, conflicts_with = "name")]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct StartOpts {
    /// How long to wait for each dependency condition, and with `--wait`
    /// for the whole instance (e.g. `90s`, `5m`).
    #[arg(long, value_name = "DURATION", default_value = "120s")]
    pub timeout: String,
    /// Wait until every service with a healthcheck is healthy and every
    /// one-shot service has exited 0.
    #[arg(long)]
    pub wait: bool,
    /// Build the images of services with `build:` even when they exist.
    #[arg(long)]
    pub build: bool,
    /// Activate a compose profile (repeatable); replaces `COMPOSE_PROFILES`.
    #[arg(long = "profile", value_name = "PROFILE")]
    pub profiles: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StartArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub opts: StartOpts,
    /// Print what would be done, in order and why; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct RestartArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub opts: StartOpts,
}

/// `stop` and `down`.
#[derive(Debug, Args)]
pub struct StopArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Print what would be done, in order and why; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Instance name: created when it does not exist.
    #[arg(required_unless_present = "all")]
    pub name: Option<String>,
    /// Domain of an instance created (default: `instances.default_domain`).
    pub domain: Option<String>,
    /// Index of an instance created.
    #[arg(long, value_name = "N")]
    pub index: Option<u32>,
    /// Pin a named port of an instance created (repeatable).
    #[arg(long = "port", value_name = "NAME=PORT")]
    pub ports: Vec<String>,
    /// Resource tier of an instance created.
    #[arg(long)]
    pub tier: Option<String>,
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Start every registered instance (none is created).
    #[arg(
        long,
        conflicts_with_all = ["name", "domain", "index", "ports", "tier", "memory", "cpus", "pids"]
    )]
    pub all: bool,
    #[command(flatten)]
    pub opts: StartOpts,
    /// Print what would be done, in order and why; change nothing (an
    /// instance that does not exist is not created).
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Instance name.
    #[arg(required_unless_present = "all")]
    pub name: Option<String>,
    /// Only these services.
    pub services: Vec<String>,
    /// Every instance of the stack.
    #[arg(long)]
    pub all: bool,
    /// Keep printing new lines.
    #[arg(short, long)]
    pub follow: bool,
    /// Only the last N lines of each service.
    #[arg(long, value_name = "N")]
    pub tail: Option<u64>,
    /// Only lines since a time: a duration ago (`10m`) or an RFC 3339 time.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Prefix each line with its time.
    #[arg(short, long)]
    pub timestamps: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum PortsFormat {
    Table,
    Env,
    Json,
}

#[derive(Debug, Args)]
pub struct PortsArgs {
    /// Instance name.
    pub name: String,
    /// Output format; `env` prints NAME_PORT=PORT lines safe to `eval`.
    #[arg(long, value_enum, default_value = "table")]
    pub format: PortsFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ConfigFormat {
    Yaml,
    Json,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Instance name.
    pub name: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "yaml")]
    pub format: ConfigFormat,
    /// Print only the service names, one a line.
    #[arg(long, conflicts_with = "volumes")]
    pub services: bool,
    /// Print only the volume names, one a line.
    #[arg(long)]
    pub volumes: bool,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Instance name.
    pub name: String,
    /// Show secret values instead of masking them.
    #[arg(long)]
    pub show_secrets: bool,
}

#[derive(Debug, Args)]
pub struct CleanArgs {
    /// Instance name.
    pub name: String,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub yes: bool,
    /// Keep the data directory.
    #[arg(long)]
    pub keep_data: bool,
    /// Write a backup archive first (`mrctl backup`); clean only if it succeeds.
    #[arg(long)]
    pub backup: bool,
    /// Where `--backup` writes the archive.
    #[arg(short, long, value_name = "FILE", requires = "backup")]
    pub output: Option<std::path::PathBuf>,
    /// Print what would be removed; change nothing (asks nothing).
    #[arg(long, conflicts_with = "backup")]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Instance name.
    pub name: String,
    /// Service whose container runs the command.
    pub service: String,
    /// The command and its arguments (after `--`).
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
    /// Run as this user.
    #[arg(short, long)]
    pub user: Option<String>,
    /// Working directory inside the container.
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Set an environment variable (repeatable).
    #[arg(short, long, value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Do not allocate a terminal even when attached to one.
    #[arg(short = 'T', long)]
    pub no_tty: bool,
    /// Which of the service's containers (by number, from 1) when it runs several.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub index: u32,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Instance name.
    pub name: String,
    /// Archive to write (default: `<stack>-<name>-<time>.mrctl.tgz` here).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Archive written by `mrctl backup`.
    pub file: std::path::PathBuf,
    /// Restore under another name (a copy beside the original).
    #[arg(long = "as", value_name = "NAME")]
    pub as_name: Option<String>,
    /// Domain of the restored instance (default: the original's when restored
    /// under its own name and free, else `default_domain` of the new name).
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Option<String>,
    /// Replace an existing instance of that name (its containers, volumes and data).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Repair what is safe: re-render missing files, recreate missing data
    /// directories and containers.
    #[arg(long)]
    pub fix: bool,
    /// With `--fix`, also remove orphaned Docker resources and leftover files.
    #[arg(short, long, requires = "fix")]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// Shell to generate completions for.
    pub shell: clap_complete::Shell,
}
