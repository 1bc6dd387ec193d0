//! `mrctl doctor [--fix [--yes]]`: check the engine, the stack directory and
//! the registry against Docker and the disk, print each finding with the
//! command that fixes it, and with `--fix` repair what is safe (orphaned
//! Docker resources only with `--yes`). Exits non-zero while problems remain.

use super::Ctx;
use crate::cli::DoctorArgs;
use crate::error::Error;
use crate::ops::doctor::{DoctorSpec, Severity, doctor};

pub fn run(ctx: &Ctx, args: &DoctorArgs) -> anyhow::Result<()> {
    let spec = DoctorSpec {
        fix: args.fix,
        yes: args.yes,
    };
    let sink = super::progress::Renderer::new(ctx.printer);
    let report = ctx.block_on(doctor(ctx.stack(), ctx, &spec, &sink))?;
    let (findings, problems) = (&report.findings, report.problems);
    let p = &ctx.printer;
    if p.json {
        p.json(&report)?;
    } else {
        let rows: Vec<Vec<String>> = findings
            .iter()
            .map(|f| {
                let status = match (f.severity, f.fixed) {
                    (_, true) => "fixed",
                    (Severity::Ok, _) => "ok",
                    (Severity::Warning, _) => "warning",
                    (Severity::Error, _) => "error",
                };
                vec![
                    f.check.to_string(),
                    status.to_string(),
                    f.message.clone(),
                    if f.fixed {
                        "-".into()
                    } else {
                        f.fix.clone().unwrap_or_else(|| "-".into())
                    },
                ]
            })
            .collect();
        p.table(&["CHECK", "STATUS", "FINDING", "FIX"], &rows)?;
    }
    if problems > 0 {
        return Err(Error::DoctorProblems { count: problems }.into());
    }
    Ok(())
}
