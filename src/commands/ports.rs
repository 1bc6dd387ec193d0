//! `mrctl ports NAME [--format table|env|json]`. The env format prints
//! `NAME_PORT=PORT` lines: port names are validated identifiers and ports are
//! numbers, so the output is safe to `eval` in sh.

use super::Ctx;
use crate::cli::{PortsArgs, PortsFormat};
use crate::names::port_env_var;

pub fn run(ctx: &Ctx, args: &PortsArgs) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    let inst = &crate::ops::instance::load_instance(&stack, &args.name)?;
    let p = &ctx.printer;
    let format = if p.json {
        PortsFormat::Json
    } else {
        args.format
    };
    match format {
        PortsFormat::Json => p.json(&inst.ports),
        PortsFormat::Env => {
            let mut out = String::new();
            for (name, port) in &inst.ports {
                out.push_str(&format!("{}={port}\n", port_env_var(name)));
            }
            p.out(&out)
        }
        PortsFormat::Table => {
            let rows: Vec<Vec<String>> = inst
                .ports
                .iter()
                .map(|(n, port)| vec![n.clone(), port_env_var(n), port.to_string()])
                .collect();
            p.table(&["NAME", "VARIABLE", "PORT"], &rows)
        }
    }
}
