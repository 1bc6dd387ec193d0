//! `mrctl build NAME [SERVICE…] [--no-cache]`: build the images of an
//! instance's services that have `build:` (`start` and `up` build the
//! missing ones themselves, and every one with `--build`).

use serde::Serialize;

use super::Ctx;
use super::progress::Renderer;
use crate::cli::BuildArgs;
use crate::error::Error;
use crate::ops::instance::{instance_project, lookup, registry_file};
use crate::ops::{Progress, Sink};

#[derive(Serialize)]
struct Built {
    name: String,
    /// service → image built.
    built: indexmap::IndexMap<String, String>,
}

pub fn run(ctx: &Ctx, args: &BuildArgs) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    let registry = registry_file(&stack).load()?;
    let inst = lookup(&stack, &registry, &args.name)?;
    let project = instance_project(&stack, &args.name, inst)?;
    for s in &args.services {
        if !project.services.contains_key(s) {
            return Err(Error::InvalidArgument {
                option: "SERVICE".into(),
                reason: format!("instance `{}` has no service `{s}`", args.name),
            }
            .into());
        }
    }
    let sink = Renderer::new(ctx.printer);
    let mut built = indexmap::IndexMap::new();
    ctx.block_on(async {
        let engine = ctx.engine().await?;
        for svc in project.services.values() {
            if !args.services.is_empty() && !args.services.contains(&svc.name) {
                continue;
            }
            if svc.build.is_none() {
                if !args.services.is_empty() {
                    sink.send(Progress::Note(format!(
                        "service `{}` runs image `{}` and has nothing to build",
                        svc.name, svc.image
                    )));
                }
                continue;
            }
            engine
                .build_service(svc, args.no_cache, &|e| sink.send(Progress::Engine(e)))
                .await?;
            built.insert(svc.name.clone(), svc.image.clone());
        }
        anyhow::Ok(())
    })?;
    let p = &ctx.printer;
    if p.json {
        return p.json(&Built {
            name: args.name.clone(),
            built,
        });
    }
    if built.is_empty() {
        p.message(format!("instance `{}` has no service to build", args.name));
    } else {
        p.success(format!(
            "built {} for instance `{}`",
            built
                .values()
                .map(|i| format!("`{i}`"))
                .collect::<Vec<_>>()
                .join(", "),
            args.name
        ));
    }
    Ok(())
}
