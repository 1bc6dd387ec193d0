//! `mrctl completions SHELL`: a completion script on stdout.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};

pub fn run(args: &CompletionsArgs) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "mrctl", &mut buf);
    crate::output::Printer::default().out(&String::from_utf8_lossy(&buf))
}
