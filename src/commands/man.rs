//! `mrctl man`: the manual page in roff, from the same clap tree as `--help`.

use clap::CommandFactory;

use crate::cli::Cli;

pub fn run() -> anyhow::Result<()> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut buf)?;
    crate::output::Printer::default().out(&String::from_utf8_lossy(&buf))
}
