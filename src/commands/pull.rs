//! `mrctl pull NAME|--all`: pull the images of an instance's services that
//! are pulled rather than built, whatever is already there (services with
//! `pull_policy: never` or `build` are left alone).

use serde::Serialize;

use super::Ctx;
use crate::cli::TargetArgs;
use crate::commands::args::each_instance;
use crate::ops::instance::{instance_project, lookup, registry_file};
use crate::ops::{Progress, Sink};

#[derive(Serialize)]
struct Pulled {
    name: String,
    pulled: Vec<String>,
}

pub fn run(ctx: &Ctx, target: &TargetArgs) -> anyhow::Result<()> {
    each_instance(ctx, target, "pull", async |stack, engine, line, name| {
        let registry = registry_file(stack).load()?;
        let project = instance_project(stack, &name, lookup(stack, &registry, &name)?)?;
        let pulled = engine
            .pull_images(&project, &|e| line.send(Progress::Engine(e)))
            .await?;
        line.success(format!(
            "pulled {} image{} for instance `{name}`",
            pulled.len(),
            if pulled.len() == 1 { "" } else { "s" }
        ));
        Ok(Pulled { name, pulled })
    })
}
