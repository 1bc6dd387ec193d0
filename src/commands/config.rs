//! `mrctl config NAME [--format yaml|json] [--services] [--volumes]`: the
//! instance's resolved compose model in docker compose's canonical form,
//! equal to what `docker compose config` prints for the same files.

use super::Ctx;
use crate::cli::{ConfigArgs, ConfigFormat};

pub fn run(ctx: &Ctx, args: &ConfigArgs) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    let inst = &crate::ops::instance::load_instance(&stack, &args.name)?;
    let project = crate::ops::instance::instance_compose(&stack, &args.name, inst)?;
    let p = &ctx.printer;
    if args.services {
        // Dependency order, as compose lists them.
        let mut out = String::new();
        for wave in &project.waves {
            let mut wave = wave.clone();
            wave.sort();
            for name in wave {
                out.push_str(&name);
                out.push('\n');
            }
        }
        return p.out(&out);
    }
    if args.volumes {
        let mut names: Vec<&String> = project.volumes.keys().collect();
        names.sort();
        let out: String = names.iter().map(|n| format!("{n}\n")).collect();
        return p.out(&out);
    }
    let mut value = crate::compose::canonical::project(&project);
    crate::compose::canonical::escape_dollars(&mut value);
    if p.json || args.format == ConfigFormat::Json {
        return p.json(&value);
    }
    p.out(&serde_saphyr::to_string(&value)?)
}
