//! `mrctl logs NAME [SERVICE…] [-f] [--tail N] [--since T] [--timestamps]`,
//! or `--all`: every container's lines merged, each prefixed `service |`
//! (or `instance/service |`), coloured per source on a terminal.

use std::time::{SystemTime, UNIX_EPOCH};

use anstyle::AnsiColor;
use futures_util::StreamExt;

use super::Ctx;
use crate::cli::LogsArgs;
use crate::engine::{LogOptions, LogSource};
use crate::error::Error;
use crate::ops::instance::{lookup, registry_file};

const COLOURS: [AnsiColor; 6] = [
    AnsiColor::Cyan,
    AnsiColor::Yellow,
    AnsiColor::Green,
    AnsiColor::Magenta,
    AnsiColor::Blue,
    AnsiColor::BrightRed,
];

/// `--since`: an RFC 3339 time, a duration ago, or Unix seconds.
fn parse_since(text: &str) -> Result<i64, Error> {
    if let Ok(t) = humantime::parse_rfc3339_weak(text) {
        return Ok(t
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0));
    }
    if let Some(d) =
        crate::units::parse_duration(text).filter(|_| !text.chars().all(|c| c.is_ascii_digit()))
    {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        return Ok(now.saturating_sub(d).as_secs() as i64);
    }
    text.parse::<i64>().map_err(|_| Error::InvalidArgument {
        option: "--since".into(),
        reason: format!(
            "`{text}` is not a time (`10m`, `2h`, `2026-11-22T16:00:00Z` or Unix seconds)"
        ),
    })
}

pub fn run(ctx: &Ctx, args: &LogsArgs) -> anyhow::Result<()> {
    let stack = ctx.stack()?;
    let registry = registry_file(&stack).load()?;
    let names: Vec<String> = if args.all {
        registry
            .names_sorted()
            .into_iter()
            .map(str::to_string)
            .collect()
    } else {
        let name = args.name.clone().unwrap_or_default();
        lookup(&stack, &registry, &name)?;
        vec![name]
    };
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let opts = LogOptions {
        follow: args.follow,
        tail: args.tail.map(|n| n.to_string()),
        since,
        timestamps: args.timestamps,
    };
    ctx.block_on(async {
        let engine = ctx.engine().await?;
        let all = crate::ops::instance::stack_containers(engine, &stack, &registry).await?;
        let mut sources = Vec::new();
        for name in &names {
            let project = &registry.instances[name].project;
            let mine: Vec<_> = all.iter().filter(|c| &c.project == project).collect();
            for wanted in &args.services {
                if !mine.iter().any(|c| &c.service == wanted) {
                    let known: Vec<String> =
                        mine.iter().map(|c| format!("`{}`", c.service)).collect();
                    return Err(Error::InvalidArgument {
                        option: "SERVICE".into(),
                        reason: format!(
                            "instance `{name}` has no container for service `{wanted}`{}",
                            if known.is_empty() {
                                " (it has no containers: `mrctl start` it first)".to_string()
                            } else {
                                format!(" (services: {})", known.join(", "))
                            }
                        ),
                    }
                    .into());
                }
            }
            for c in &mine {
                if args.services.is_empty() || args.services.contains(&c.service) {
                    // A service of several containers labels each with its
                    // number, as compose does (`web-2`).
                    let several = mine.iter().filter(|o| o.service == c.service).count() > 1;
                    let service = if several {
                        format!("{}-{}", c.service, c.number())
                    } else {
                        c.service.clone()
                    };
                    let label = if args.all {
                        format!("{name}/{service}")
                    } else {
                        service
                    };
                    sources.push(LogSource {
                        label,
                        container: c.id.clone(),
                    });
                }
            }
        }
        if sources.is_empty() {
            ctx.printer.message("no containers: nothing has logged yet");
            return Ok(());
        }
        let width = sources.iter().map(|s| s.label.len()).max().unwrap_or(0);
        let mut stream = engine.logs(&sources, &opts);
        while let Some(line) = stream.next().await {
            let line = line?;
            let style = COLOURS[line.source % COLOURS.len()].on_default();
            let label = &sources[line.source].label;
            if ctx.printer.json {
                // One JSON object per line, for `jq` and log shippers.
                let obj = serde_json::json!({ "source": label, "stream": if line.stderr { "stderr" } else { "stdout" }, "line": line.text });
                ctx.printer.out(&format!("{obj}\n"))?;
                continue;
            }
            ctx.printer.out(&format!(
                "{style}{label:<width$} |{style:#} {}\n",
                line.text
            ))?;
        }
        anyhow::Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::parse_since;

    #[test]
    fn since_forms() {
        assert_eq!(parse_since("2026-11-22T16:00:00Z").unwrap(), 1_795_363_200);
        assert_eq!(parse_since("1700000000").unwrap(), 1_700_000_000);
        let ten_min_ago = parse_since("10m").unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        assert!((now - 600 - ten_min_ago).abs() <= 2);
        assert!(parse_since("yesterday").is_err());
    }
}
