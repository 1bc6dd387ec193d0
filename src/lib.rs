//! mrctl: run many isolated instances of one docker-compose stack on one
//! server. `run` parses the command line, runs one command and returns the
//! exit code; nothing else in the crate exits the process.

pub mod backup;
pub mod buildctx;
pub mod cli;
pub mod commands;
pub mod compose;
pub mod datadir;
pub mod engine;
pub mod envfile;
pub mod error;
pub mod fsutil;
pub mod identity;
pub mod interpolate;
pub mod limits;
pub mod mask;
pub mod names;
pub mod naming;
pub mod ops;
pub mod output;
pub mod ports;
pub mod registry;
pub mod render;
pub mod secrets;
pub mod stack;
pub mod units;

use std::io::Write;

use clap::Parser;

use error::exit;
use output::{Closed, RED};

/// Runs mrctl with the process's arguments and returns the exit code.
pub fn run() -> i32 {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return code;
        }
    };
    init_tracing(cli.verbose);
    let cwd = match std::env::current_dir() {
        Ok(d) => d,
        Err(e) => {
            report(&anyhow::Error::new(e).context("cannot read the current directory"));
            return exit::FAILURE;
        }
    };
    let printer = output::Printer {
        quiet: cli.quiet,
        json: cli.json,
    };
    // `--parallel`, else `MRCTL_PARALLEL` (refused here, naming it, when it
    // is not a number of at least 1), else the defaults.
    let parallel = match cli.parallel {
        Some(n) => Some(n),
        None if std::env::var(engine::PARALLEL_ENV).is_ok_and(|v| !v.trim().is_empty()) => {
            match engine::parallel_from_env() {
                Ok(n) => Some(u32::try_from(n).unwrap_or(u32::MAX)),
                Err(e) => {
                    let e = anyhow::Error::new(e);
                    report(&e);
                    return exit_code(&e);
                }
            }
        }
        None => None,
    };
    let ctx = match commands::Ctx::new(printer, cli.project_dir, cwd) {
        Ok(ctx) => ctx.with_parallel(parallel),
        Err(e) => {
            report(&anyhow::Error::new(e).context("cannot start the async runtime"));
            return exit::FAILURE;
        }
    };
    match commands::dispatch(&ctx, cli.command) {
        Ok(()) => exit::OK,
        Err(e) if e.downcast_ref::<Closed>().is_some() => exit::OK,
        Err(e) if e.downcast_ref::<error::ExitWith>().is_some() => e
            .downcast_ref::<error::ExitWith>()
            .map(|x| x.0)
            .unwrap_or(exit::FAILURE),
        Err(e) => {
            report(&e);
            exit_code(&e)
        }
    }
}

/// The exit code of the first mrctl error in the chain, else FAILURE.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    err.chain()
        .find_map(|e| e.downcast_ref::<error::Error>())
        .map(error::Error::exit_code)
        .unwrap_or(exit::FAILURE)
}

/// Prints `error: <sentence>` and a `caused by:` line per cause, with the
/// loaded instances' secrets masked.
fn report(err: &anyhow::Error) {
    let mut stderr = anstream::stderr().lock();
    let _ = writeln!(
        stderr,
        "{RED}error:{RED:#} {}",
        mask::mask(&err.to_string())
    );
    for cause in err.chain().skip(1) {
        let _ = writeln!(stderr, "  caused by: {}", mask::mask(&cause.to_string()));
    }
}

fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "mrctl=info,warn",
        2 => "mrctl=debug,info",
        _ => "mrctl=trace,debug",
    };
    let filter = if verbose == 0 {
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default))
    } else {
        EnvFilter::new(default)
    };
    // The Docker client's debug logs would print container env, i.e. secrets.
    let filter = filter.add_directive(engine::LOG_CAP.parse().expect("static directive"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| mask::Masked(std::io::stderr()))
        .with_target(false)
        .without_time()
        .try_init();
}
