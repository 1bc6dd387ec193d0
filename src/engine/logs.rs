//! Logs of many containers merged into one stream of lines, each tagged with
//! its source, like `docker compose logs`.

use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::stream::{BoxStream, SelectAll, StreamExt};

use super::Engine;
use crate::error::Error;

/// Where a log line comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSource {
    pub label: String,
    pub container: String,
}

/// One line of output.
#[derive(Debug, Clone)]
pub struct LogLine {
    /// Index into the sources passed to `logs`.
    pub source: usize,
    pub text: String,
    pub stderr: bool,
}

#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    pub follow: bool,
    pub tail: Option<String>,
    /// Unix seconds.
    pub since: Option<i64>,
    pub timestamps: bool,
}

impl Engine {
    /// A merged stream of the containers' log lines.
    pub fn logs(
        &self,
        sources: &[LogSource],
        opts: &LogOptions,
    ) -> BoxStream<'static, Result<LogLine, Error>> {
        let mut all: SelectAll<BoxStream<'static, Result<LogLine, Error>>> = SelectAll::new();
        for (i, src) in sources.iter().enumerate() {
            let mut b = LogsOptionsBuilder::new()
                .stdout(true)
                .stderr(true)
                .follow(opts.follow)
                .timestamps(opts.timestamps)
                .tail(opts.tail.as_deref().unwrap_or("all"));
            if let Some(since) = opts.since {
                b = b.since(since.clamp(0, i32::MAX as i64) as i32);
            }
            let container = src.container.clone();
            let engine = self.clone();
            let mut pending = String::new();
            let stream = self
                .docker
                .logs(&src.container, Some(b.build()))
                .map(move |item| match item {
                    Ok(out) => {
                        let stderr = matches!(out, LogOutput::StdErr { .. });
                        Ok((String::from_utf8_lossy(out.as_ref()).into_owned(), stderr))
                    }
                    Err(e) => Err(engine.error(&format!("read the logs of `{container}`"), &e)),
                })
                // Chunks are not lines: split them, carrying a partial line over.
                .flat_map(move |item| {
                    let lines: Vec<Result<LogLine, Error>> = match item {
                        Ok((text, stderr)) => {
                            pending.push_str(&text);
                            let mut out = Vec::new();
                            while let Some(pos) = pending.find('\n') {
                                let line: String = pending.drain(..=pos).collect();
                                out.push(Ok(LogLine {
                                    source: i,
                                    text: line.trim_end_matches(['\n', '\r']).to_string(),
                                    stderr,
                                }));
                            }
                            out
                        }
                        Err(e) => vec![Err(e)],
                    };
                    futures_util::stream::iter(lines)
                })
                .boxed();
            all.push(stream);
        }
        all.boxed()
    }
}
