//! `mrctl health NAME`: exit 0 when every service is ready (running, healthy
//! where it has a healthcheck, or a one-shot that exited 0), non-zero
//! otherwise. For cron jobs and monitors; `--json` gives the detail.

use super::Ctx;
use crate::error::Error;
use crate::ops::instance::{instance_project, lookup, registry_file};

pub fn run(ctx: &Ctx, name: &str) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    let registry = registry_file(&stack).load()?;
    let inst = lookup(&stack, &registry, name)?;
    let project = instance_project(&stack, name, inst)?;
    let readiness = ctx.block_on(async { ctx.engine().await?.readiness(&project).await })?;
    // All services exited (a stopped instance) is not healthy, even if each
    // exited 0 like a finished one-shot would.
    let healthy =
        readiness.iter().all(|r| r.ready) && readiness.iter().any(|r| r.state == "running");
    let p = &ctx.printer;
    if p.json {
        p.json(&serde_json::json!({ "name": name, "healthy": healthy, "services": readiness }))?;
    } else {
        let rows: Vec<Vec<String>> = readiness
            .iter()
            .map(|r| {
                vec![
                    r.label(),
                    if r.ready {
                        "ready".into()
                    } else {
                        "not ready".into()
                    },
                    r.describe(),
                ]
            })
            .collect();
        p.table(&["SERVICE", "READY", "STATE"], &rows)?;
    }
    if healthy {
        return Ok(());
    }
    // Every service "ready" yet unhealthy means nothing runs: name them all.
    let all_exited = readiness.iter().all(|r| r.ready);
    let bad: Vec<String> = readiness
        .iter()
        .filter(|r| !r.ready || all_exited)
        .map(|r| format!("`{}` ({})", r.label(), r.describe()))
        .collect();
    Err(Error::Unhealthy {
        instance: name.to_string(),
        services: bad.join(", "),
    }
    .into())
}
