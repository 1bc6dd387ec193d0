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
    // The file as written, each statement's lines as they are unless its
    // value is masked (then one `KEY=********` line stands for them all).
    let lines: Vec<&str> = text.lines().collect();
    let statements = envfile::entries_lenient(&text, &envfile::no_lookup);
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < lines.len() {
        let statement = statements.iter().find(|e| *e.lines.start() == i);
        let end = statement.map_or(i, |e| (*e.lines.end()).min(lines.len() - 1));
        let masked = statement.and_then(|e| {
            let value = e.value.as_deref().unwrap_or_default();
            let shown = shown(e.key, value);
            (shown != value).then(|| format!("{}={shown}", e.key))
        });
        match masked {
            Some(line) => {
                out.push_str(&line);
                out.push('\n');
            }
            None => {
                for line in &lines[i..=end] {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        i = end + 1;
    }
    p.out(&out)
}
