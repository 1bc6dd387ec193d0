//! Operations: what mrctl does to instances, below the commands. Each takes
//! a typed spec (validated from the command line at the edge), reports
//! progress to a sink and returns a typed report; none prints, reads clap's
//! types or exits the process, so the same operations can serve the command
//! line and, later, an HTTP API or several engines.

pub mod backup;
pub mod clean;
pub mod create;
pub mod doctor;
pub mod down;
pub mod dryrun;
pub mod instance;
pub mod restore;
pub mod start;
pub mod stop;
pub mod update;

/// What an operation reports while it works; the caller decides how (or
/// whether) to show it.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// What the engine did while converging an instance.
    Engine(crate::engine::Event),
    /// A service's readiness changed while waiting for it.
    Ready(crate::engine::Readiness),
    /// A container was stopped.
    Stopped(String),
    /// A step worth a line of its own.
    Note(String),
    /// Something the user should know (the operation goes on).
    Warning(String),
}

/// Where progress goes.
pub trait Sink: Sync {
    fn send(&self, progress: Progress);
}

impl<F: Fn(Progress) + Sync> Sink for F {
    fn send(&self, progress: Progress) {
        self(progress)
    }
}

/// Where an operation gets the engine when (and only if) it needs one: the
/// command line's context connects on first use and keeps the connection.
#[allow(async_fn_in_trait)]
pub trait Engines {
    async fn engine(&self) -> Result<&crate::engine::Engine, crate::error::Error>;
}

/// A sink that drops everything (for callers that only want the report).
pub struct Quiet;

impl Sink for Quiet {
    fn send(&self, _: Progress) {}
}
