//! One file per command, each orchestration only; `dispatch` is the single
//! match from the parsed command line to them.

mod args;
mod backup;
mod build;
mod clean;
mod completions;
mod config;
mod create;
mod doctor;
mod down;
mod dry_run;
mod env;
mod exec;
mod health;
mod info;
mod init;
mod list;
mod logs;
mod man;
mod ports;
mod progress;
mod project_name;
mod pull;
mod render;
mod start;
mod status;
mod stop;
mod update;
mod view;

use std::path::PathBuf;

use crate::cli::Command;
use crate::error::Error;
use crate::output::Printer;
use crate::stack::Stack;

/// What every command gets: the printer, where to find the stack, the
/// process's one async runtime and its one engine connection, made on first
/// use and shared by everything the command does.
pub struct Ctx {
    pub printer: Printer,
    pub project_dir: Option<PathBuf>,
    pub cwd: PathBuf,
    /// `--parallel` (or `MRCTL_PARALLEL`): how many instances a `--all`
    /// command works on at once, and the engine's bound on concurrent calls.
    pub parallel: Option<std::num::NonZeroUsize>,
    /// Always `Some` until dropped.
    rt: Option<tokio::runtime::Runtime>,
    engine: tokio::sync::OnceCell<crate::engine::Engine>,
}

impl Drop for Ctx {
    /// The command is done with everything it awaited; a read of standard
    /// input that `exec` left blocked must not hold the process up.
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl Ctx {
    pub fn new(
        printer: Printer,
        project_dir: Option<PathBuf>,
        cwd: PathBuf,
    ) -> std::io::Result<Ctx> {
        // One thread is plenty: the work is waiting on the engine.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Ctx {
            printer,
            project_dir,
            cwd,
            parallel: None,
            rt: Some(rt),
            engine: tokio::sync::OnceCell::new(),
        })
    }

    /// With `--parallel N`.
    pub fn with_parallel(mut self, parallel: Option<u32>) -> Ctx {
        self.parallel = parallel.and_then(|n| std::num::NonZeroUsize::new(n as usize));
        self
    }

    /// How many instances a `--all` command works on at once.
    pub fn instances_at_once(&self) -> usize {
        self.parallel
            .map_or(args::DEFAULT_INSTANCES_AT_ONCE, std::num::NonZeroUsize::get)
    }

    /// Finds and loads the stack.
    pub fn stack(&self) -> Result<Stack, Error> {
        Stack::discover(self.project_dir.as_deref(), &self.cwd)
    }

    /// Runs a future on the process's runtime (from synchronous code only).
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.rt
            .as_ref()
            .expect("the runtime lives as long as the context")
            .block_on(future)
    }

    /// The engine, connected on first use; a failed connection is not kept,
    /// so the next call tries again.
    pub async fn engine(&self) -> Result<&crate::engine::Engine, Error> {
        self.engine
            .get_or_try_init(|| async {
                // `--parallel` bounds the engine's concurrent calls too
                // (without it, `MRCTL_PARALLEL` or the default does).
                let engine = crate::engine::Engine::connect().await?;
                Ok(match self.parallel {
                    Some(n) => engine.with_parallel(n.get()),
                    None => engine,
                })
            })
            .await
    }
}

impl crate::ops::Engines for Ctx {
    async fn engine(&self) -> Result<&crate::engine::Engine, Error> {
        Ctx::engine(self).await
    }
}

pub fn dispatch(ctx: &Ctx, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Init(args) => init::run(ctx, &args),
        Command::Create(args) => create::run(ctx, &args),
        Command::List => list::run(ctx),
        Command::Info(args) => info::run(ctx, &args.name),
        Command::Config(args) => config::run(ctx, &args),
        Command::Ports(args) => ports::run(ctx, &args),
        Command::ProjectName(args) => project_name::run(ctx, &args.name),
        Command::Env(args) => env::run(ctx, &args),
        Command::Render(args) => render::run(ctx, &args.name),
        Command::Update(args) => update::run(ctx, &args),
        Command::Start(args) if args.dry_run => dry_run::start(ctx, &args.target, &args.opts),
        Command::Start(args) => start::run(ctx, &args.target, &args.opts, false),
        Command::Restart(args) => start::run(ctx, &args.target, &args.opts, true),
        Command::Up(args) if args.dry_run => dry_run::up(ctx, &args),
        Command::Up(args) => start::up(ctx, &args),
        Command::Build(args) => build::run(ctx, &args),
        Command::Stop(args) if args.dry_run => dry_run::stop(ctx, &args.target, false),
        Command::Stop(args) => stop::run(ctx, &args.target),
        Command::Down(args) if args.dry_run => dry_run::stop(ctx, &args.target, true),
        Command::Down(args) => down::run(ctx, &args.target),
        Command::Pull(args) => pull::run(ctx, &args),
        Command::Status(args) => status::run(ctx, &args),
        Command::Health(args) => health::run(ctx, &args.name),
        Command::Exec(args) => exec::run(ctx, &args),
        Command::Man => man::run(),
        Command::Logs(args) => logs::run(ctx, &args),
        Command::Clean(args) if args.dry_run => dry_run::clean(ctx, &args),
        Command::Clean(args) => clean::run(ctx, &args),
        Command::Backup(args) => backup::run(ctx, &args),
        Command::Restore(args) => backup::restore(ctx, &args),
        Command::Doctor(args) => doctor::run(ctx, &args),
        Command::Completions(args) => completions::run(&args),
    }
}
