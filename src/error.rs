//! Errors a caller branches on, each carrying the names it is about, and the
//! exit codes they map to. `Display` writes one lowercase sentence with the
//! names in backticks; context added with anyhow becomes `caused by:` lines.

use std::fmt;
use std::path::PathBuf;

/// Process exit codes, documented in the README.
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// The operation failed (I/O, the engine refused, a service failed).
    pub const FAILURE: i32 = 1;
    /// Bad arguments: an invalid name, domain or port, a missing `--yes`.
    pub const USAGE: i32 = 2;
    /// A file mrctl reads is invalid: mrctl.toml, instances.json, a template, a compose file.
    pub const CONFIG: i32 = 3;
    /// Something named does not exist: an instance, the stack directory.
    pub const NOT_FOUND: i32 = 4;
    /// The request conflicts with what exists: instance exists, port, index,
    /// domain or project taken.
    pub const CONFLICT: i32 = 5;
    /// The Docker engine cannot be reached.
    pub const DOCKER_UNAVAILABLE: i32 = 6;
    /// `mrctl health`: the instance is not healthy; `doctor`: it found problems.
    pub const UNHEALTHY: i32 = 7;
}

/// Why a port cannot be given to an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortConflict {
    /// Another instance holds it (instance, port name).
    HeldBy(String, String),
    /// It is listed in the registry's `reserved_ports`.
    Reserved,
    /// A process on this host listens on it.
    HostInUse,
    /// It lies outside the configured `ports.range`.
    OutOfRange(u16, u16),
    /// The same instance asked for it twice.
    Duplicate(String),
}

impl fmt::Display for PortConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortConflict::HeldBy(instance, port) => {
                write!(f, "it is held by instance `{instance}` as `{port}`")
            }
            PortConflict::Reserved => write!(f, "it is listed in `reserved_ports`"),
            PortConflict::HostInUse => write!(f, "another process on this host listens on it"),
            PortConflict::OutOfRange(lo, hi) => {
                write!(
                    f,
                    "it is outside the allowed range {lo}-{hi} (`ports.range`)"
                )
            }
            PortConflict::Duplicate(other) => {
                write!(f, "this instance already uses it as `{other}`")
            }
        }
    }
}

/// A position in a file, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

fn at(path: &std::path::Path, pos: &Option<Position>) -> String {
    match pos {
        Some(p) => format!("{}:{}:{}", path.display(), p.line, p.column),
        None => path.display().to_string(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid instance name `{}`: {reason}", printable(name))]
    InvalidName { name: String, reason: String },

    #[error("invalid domain `{}`: {reason}", printable(domain))]
    InvalidDomain { domain: String, reason: String },

    #[error("invalid port `{}`: {reason}", printable(spec))]
    InvalidPort { spec: String, reason: String },

    #[error("invalid value for `{option}`: {}", printable(reason))]
    InvalidArgument { option: String, reason: String },

    #[error("no instance `{name}` in stack `{stack}`{}", hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default())]
    UnknownInstance {
        name: String,
        stack: String,
        hint: Option<String>,
    },

    #[error("instance `{name}` already exists in stack `{stack}`")]
    InstanceExists { name: String, stack: String },

    #[error("port {port} for `{port_name}` of instance `{instance}` is not available: {conflict}")]
    PortUnavailable {
        port: u16,
        port_name: String,
        instance: String,
        conflict: PortConflict,
    },

    #[error(
        "domain `{domain}` for instance `{instance}` is taken: instance `{holder}` already uses it"
    )]
    DomainTaken {
        domain: String,
        instance: String,
        holder: String,
    },

    #[error(
        "project `{project}` for instance `{instance}` is taken: instance `{holder}` already uses it (`project_name` in `mrctl.toml` gives it)"
    )]
    ProjectTaken {
        project: String,
        instance: String,
        holder: String,
    },

    #[error("index {index} for instance `{instance}` is already held by instance `{holder}`")]
    IndexTaken {
        index: u32,
        instance: String,
        holder: String,
    },

    #[error("no free port for `{port_name}` of instance `{instance}` between {from} and {to}")]
    NoFreePort {
        port_name: String,
        instance: String,
        from: u16,
        to: u16,
    },

    #[error(
        "no free index for instance `{instance}`: every index up to {last} has a port taken or beyond {max}"
    )]
    NoFreeIndex {
        instance: String,
        last: u32,
        max: u16,
    },

    #[error(
        "no `mrctl.toml` found in `{}` or any parent directory (run `mrctl init`, or pass `-C DIR`)",
        start.display()
    )]
    StackNotFound { start: PathBuf },

    #[error("`{}`: {message}", at(path, position))]
    Config {
        path: PathBuf,
        position: Option<Position>,
        message: String,
    },

    #[error("registry `{}` is invalid: {message}", at(path, position))]
    Registry {
        path: PathBuf,
        position: Option<Position>,
        message: String,
    },

    #[error(
        "registry `{}` has version {found}, but this mrctl understands only version {supported}: upgrade mrctl",
        path.display()
    )]
    RegistryVersion {
        path: PathBuf,
        found: u64,
        supported: u32,
    },

    #[error("template `{template}`{}: {message}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Template {
        template: String,
        line: Option<usize>,
        message: String,
    },

    #[error("compose file `{}`: {message}", at(path, position))]
    Compose {
        path: PathBuf,
        position: Option<Position>,
        message: String,
    },

    #[error("refusing to delete `{}`: {reason}", path.display())]
    UnsafeDelete { path: PathBuf, reason: String },

    #[error("`{path}` exists but {reason}", path = path.display())]
    PathExists { path: PathBuf, reason: String },

    #[error("{action} needs confirmation: pass `--yes` (standard input is not a terminal)")]
    NotConfirmed { action: String },

    #[error("{action} cancelled")]
    Cancelled { action: String },

    #[error(
        "cannot reach the Docker engine at `{address}`: {reason} (is Docker running? DOCKER_HOST selects another engine)"
    )]
    DockerUnavailable { address: String, reason: String },

    #[error("the Docker engine refused to {action}: {reason}")]
    Docker { action: String, reason: String },

    #[error("building image `{image}` for service `{service}` failed: {reason}")]
    BuildFailed {
        service: String,
        image: String,
        reason: String,
    },

    #[error("image `{image}` is not available: {reason}")]
    ImageUnavailable { image: String, reason: String },

    #[error("service `{service}` of instance `{instance}` {what} (state: {state}){}", if logs.is_empty() { String::new() } else { format!("; its last log lines:\n{logs}") })]
    ServiceFailed {
        service: String,
        instance: String,
        what: String,
        state: String,
        logs: String,
    },

    #[error("port {port} of service `{service}` of instance `{instance}` is taken: {holder}")]
    PortBusy {
        port: u16,
        service: String,
        instance: String,
        holder: String,
    },

    #[error(
        "{resource} is in the way of instance `{instance}` (compose project `{project}`) and belongs to {owner}; mrctl changes nothing it did not create, so it was left alone: {hint}"
    )]
    Foreign {
        /// `container `x-1-web-1``
        resource: String,
        project: String,
        instance: String,
        owner: String,
        hint: String,
    },

    #[error(
        "the compose project `{project}` of instance `{instance}` is already used on this engine by {owner}: choose another instance name, or make `project_name` in mrctl.toml unique to this stack directory"
    )]
    ProjectInUse {
        project: String,
        instance: String,
        owner: String,
    },

    #[error(
        "the Docker engine at `{address}` did not answer within {after} to {action}; nothing more was attempted (is the engine overloaded or wedged? `MRCTL_ENGINE_TIMEOUT` allows longer)"
    )]
    EngineTimeout {
        address: String,
        action: String,
        after: String,
    },

    #[error(
        "external network `{network}` of instance `{instance}` does not exist: create it with `docker network create {network}`"
    )]
    NetworkMissing { network: String, instance: String },

    #[error(
        "the Docker engine refuses the limits of instance `{instance}`{target}: {reason}; nothing was changed"
    )]
    LimitsRefused {
        instance: String,
        /// `, service `s` (container `c`)`, or empty.
        target: String,
        reason: String,
    },

    #[error(
        "cannot clean instance `{instance}`; nothing was deleted (`--keep-data` leaves the data directory alone)"
    )]
    CleanRefused {
        instance: String,
        #[source]
        source: Box<Error>,
    },

    #[error("doctor found {count} problem{}", if *count == 1 { "" } else { "s" })]
    DoctorProblems { count: usize },

    #[error("backup `{}` is not usable: {reason}; nothing was changed", path.display())]
    BadArchive { path: PathBuf, reason: String },

    #[error("instance `{instance}` is not healthy: {services}")]
    Unhealthy { instance: String, services: String },

    #[error(
        "{what} failed for {count} of {total} instances: {}",
        names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
    )]
    Partial {
        what: String,
        count: usize,
        total: usize,
        /// The instances that failed, in the order they were named.
        names: Vec<String>,
    },

    #[error("cannot write to standard output: it is closed")]
    StdoutClosed,

    #[error("cannot {action} `{}`: {err}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        err: std::io::Error,
    },
}

impl Error {
    /// The exit code this error ends the process with.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::InvalidName { .. }
            | Error::InvalidDomain { .. }
            | Error::InvalidPort { .. }
            | Error::InvalidArgument { .. }
            | Error::NotConfirmed { .. }
            | Error::Cancelled { .. } => exit::USAGE,
            Error::Config { .. }
            | Error::Registry { .. }
            | Error::RegistryVersion { .. }
            | Error::Template { .. }
            | Error::Compose { .. } => exit::CONFIG,
            Error::UnknownInstance { .. }
            | Error::StackNotFound { .. }
            | Error::NetworkMissing { .. } => exit::NOT_FOUND,
            Error::InstanceExists { .. }
            | Error::PortUnavailable { .. }
            | Error::IndexTaken { .. }
            | Error::DomainTaken { .. }
            | Error::ProjectTaken { .. }
            | Error::NoFreePort { .. }
            | Error::NoFreeIndex { .. }
            | Error::PathExists { .. }
            | Error::UnsafeDelete { .. } => exit::CONFLICT,
            Error::DockerUnavailable { .. } => exit::DOCKER_UNAVAILABLE,
            Error::PortBusy { .. } | Error::Foreign { .. } | Error::ProjectInUse { .. } => {
                exit::CONFLICT
            }
            Error::EngineTimeout { .. } => exit::DOCKER_UNAVAILABLE,
            Error::Docker { .. }
            | Error::ImageUnavailable { .. }
            | Error::BuildFailed { .. }
            | Error::ServiceFailed { .. }
            | Error::LimitsRefused { .. }
            | Error::Partial { .. }
            | Error::StdoutClosed
            | Error::Io { .. } => exit::FAILURE,
            Error::Unhealthy { .. } | Error::DoctorProblems { .. } => exit::UNHEALTHY,
            Error::BadArchive { .. } => exit::CONFIG,
            Error::CleanRefused { source, .. } => source.exit_code(),
        }
    }

    /// Wraps an I/O error with what was being done and to which path.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            action,
            path: path.into(),
            err: source,
        }
    }
}

/// Ends the process with this exit code and no message (`exec` passes its
/// command's code through).
#[derive(Debug, thiserror::Error)]
#[error("exit status {0}")]
pub struct ExitWith(pub i32);

/// `Result` with mrctl's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A value as it may be echoed in a message: control characters (newlines,
/// terminal escapes) are shown escaped, so hostile input cannot forge lines
/// or drive the terminal.
pub fn printable(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Line and column (1-based) of a byte offset in `text`.
pub fn position_of(text: &str, offset: usize) -> Position {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before[line_start..].chars().count() + 1;
    Position { line, column }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_counts_lines_and_chars() {
        let text = "a\nbé c\n";
        assert_eq!(position_of(text, 0), Position { line: 1, column: 1 });
        assert_eq!(position_of(text, 2), Position { line: 2, column: 1 });
        // `c` sits after a two-byte `é`: column counts characters, not bytes.
        assert_eq!(position_of(text, 6), Position { line: 2, column: 4 });
    }
}
