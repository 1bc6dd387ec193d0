//! `mrctl exec NAME SERVICE [--index N] -- CMD…`: run a command in a service's
//! container (the first, or number N of several).
//! On a terminal it is interactive (a TTY, raw mode, the terminal's size);
//! otherwise standard input is piped when there is any. mrctl exits with the
//! command's exit code.

use std::io::IsTerminal;

use super::Ctx;
use crate::cli::ExecArgs;
use crate::engine::{ExecIo, ExecOptions};
use crate::error::{Error, ExitWith};
use crate::ops::instance::{lookup, registry_file};

/// Puts the terminal in raw mode and restores it when dropped.
#[cfg(unix)]
struct RawMode {
    original: libc::termios,
}

#[cfg(unix)]
impl RawMode {
    fn enable() -> Option<RawMode> {
        // SAFETY: tcgetattr/tcsetattr on fd 0 with a zeroed termios that
        // tcgetattr fills in; nothing is kept past these calls.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return None;
            }
            let original = t;
            libc::cfmakeraw(&mut t);
            if libc::tcsetattr(0, libc::TCSANOW, &t) != 0 {
                return None;
            }
            Some(RawMode { original })
        }
    }
}

#[cfg(unix)]
impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restores the attributes read in `enable`.
        unsafe {
            libc::tcsetattr(0, libc::TCSANOW, &self.original);
        }
    }
}

/// The terminal's size (columns, rows).
#[cfg(unix)]
fn terminal_size() -> Option<(u16, u16)> {
    // SAFETY: TIOCGWINSZ fills a winsize struct we own.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        (libc::ioctl(1, libc::TIOCGWINSZ, &mut ws) == 0 && ws.ws_col > 0)
            .then_some((ws.ws_col, ws.ws_row))
    }
}

pub fn run(ctx: &Ctx, args: &ExecArgs) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    let registry = registry_file(&stack).load()?;
    let inst = lookup(&stack, &registry, &args.name)?.clone();
    let terminal = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let tty = terminal && !args.no_tty;
    let opts = ExecOptions {
        tty,
        // On a terminal stdin is the user; in a pipe only when something is piped.
        interactive: terminal || !std::io::stdin().is_terminal(),
        user: args.user.clone(),
        workdir: args.workdir.clone(),
        env: args.env.clone(),
        #[cfg(unix)]
        size: terminal_size(),
        #[cfg(not(unix))]
        size: None,
        privileged: false,
    };
    let result = ctx.block_on(async {
        let engine = ctx.engine().await?;
        let identity = crate::ops::instance::identity(&stack)?;
        let containers = engine
            .owned(&inst.project, &args.name, &identity)
            .await?
            .containers;
        let of_service: Vec<&crate::engine::ContainerInfo> = containers
            .iter()
            .filter(|c| c.service == args.service)
            .collect();
        let found = of_service.iter().find(|c| c.number() == args.index);
        if let (None, false) = (found, of_service.is_empty()) {
            let numbers: Vec<String> = of_service.iter().map(|c| c.number().to_string()).collect();
            return Err(Error::InvalidArgument {
                option: "--index".into(),
                reason: format!(
                    "service `{}` of instance `{}` has no container number {} (it has {})",
                    args.service,
                    args.name,
                    args.index,
                    numbers.join(", ")
                ),
            }
            .into());
        }
        let Some(c) = found else {
            let known: Vec<String> = containers
                .iter()
                .map(|c| format!("`{}`", c.service))
                .collect();
            return Err(Error::InvalidArgument {
                option: "SERVICE".into(),
                reason: format!(
                    "instance `{}` has no container for service `{}`{}",
                    args.name,
                    args.service,
                    if known.is_empty() {
                        " (start it first)".to_string()
                    } else {
                        format!(" (services: {})", known.join(", "))
                    }
                ),
            }
            .into());
        };
        if c.state != "running" {
            return Err(Error::InvalidArgument {
                option: "SERVICE".into(),
                reason: format!(
                    "container `{}` is {}, not running: `mrctl start {}` first",
                    c.name, c.state, args.name
                ),
            }
            .into());
        }
        #[cfg(unix)]
        let _raw = if tty { RawMode::enable() } else { None };
        anyhow::Ok(
            engine
                .exec(
                    &c.id,
                    args.command.clone(),
                    &opts,
                    ExecIo {
                        stdin: Some(Box::new(tokio::io::stdin())),
                        stdout: &mut tokio::io::stdout(),
                        stderr: &mut tokio::io::stderr(),
                    },
                )
                .await?,
        )
    });
    // A read of standard input may still be blocked: the context's runtime
    // is shut down without waiting for it.
    let code = result?;
    if code != 0 {
        return Err(ExitWith(code.clamp(1, 255) as i32).into());
    }
    Ok(())
}
