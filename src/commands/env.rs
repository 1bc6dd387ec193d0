//! `mrctl env NAME`: the instance's env file with secret values masked
//! (keys that name a secret, and the instance's generated secrets) unless
//! `--show-secrets`.

use indexmap::IndexMap;

use super::Ctx;
use crate::cli::EnvArgs;
use crate::envfile;
use crate::render::InstanceFiles;
use crate::secrets::Secrets;

pub fn run(ctx: &Ctx, args: &EnvArgs) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    crate::ops::instance::load_instance(&stack, &args.name)?;
    let files = InstanceFiles::in_dir(stack.instance_dir(&args.name));
    let text = crate::fsutil::read_to_string_limited(&files.env, crate::fsutil::FileKind::EnvFile)?;
    let secrets = Secrets::load(&files.secrets)?.values();
    let shown = |key: &str, value: &str| {
        if args.show_secrets {
            value.to_string()
        } else {
            envfile::mask_value(key, value, &secrets)
        }
    };
    let p = &ctx.printer;
    if p.json {
        let map: IndexMap<String, String> = envfile::parse_env(&text)
            .into_iter()
            .map(|(k, v)| {
                let v = shown(&k, &v);
                (k, v)
            })
            .collect();
        return p.json(&map);
    }
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        match envfile::parse_env_line(line) {
            Some((key, value)) => {
                let raw = value.trim();
                let unquoted = raw.trim_matches(|c| c == '"' || c == '\'');
                let masked = shown(key, unquoted);
                out.push_str(key);
                out.push('=');
                out.push_str(if masked == unquoted { raw } else { &masked });
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    p.out(&out)
}
