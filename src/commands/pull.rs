//! `mrctl pull NAME|--all`: pull the images of an instance's services that
//! are pulled rather than built, whatever is already there (services with
//! `pull_policy: never` or `build` are left alone).

use serde::Serialize;

use super::Ctx;
use super::progress::Renderer;
use crate::cli::TargetArgs;
use crate::commands::args::{for_each, targets};
use crate::ops::instance::{instance_project, lookup, registry_file};
use crate::ops::{Progress, Sink};

#[derive(Serialize)]
struct Pulled {
    name: String,
    pulled: Vec<String>,
}

pub fn run(ctx: &Ctx, target: &TargetArgs) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    let registry = registry_file(&stack).load()?;
    let names = targets(&stack, &registry, target)?;
    let sink = Renderer::new(ctx.printer);
    ctx.block_on(async {
        let engine = ctx.engine().await?;
        for_each(
            "pull",
            &names,
            target.all,
            |name| {
                let (stack, registry, sink) = (&stack, &registry, &sink);
                async move {
                    let inst = lookup(stack, registry, &name)?;
                    let project = instance_project(stack, &name, inst)?;
                    let pulled = engine
                        .pull_images(&project, &|e| sink.send(Progress::Engine(e)))
                        .await?;
                    ctx.printer.success(format!(
                        "pulled {} image{} for instance `{name}`",
                        pulled.len(),
                        if pulled.len() == 1 { "" } else { "s" }
                    ));
                    Ok(Pulled { name, pulled })
                }
            },
            |reports, all| {
                if ctx.printer.json {
                    ctx.printer.json_reports(reports, all)?;
                }
                Ok(())
            },
        )
        .await
    })
}
