//! How operations' progress looks: a line per step on standard error, and
//! progress bars for image pulls on a terminal. When several instances run
//! at once, each has its own `Line`: on a terminal one line per instance
//! that updates in place, otherwise plain lines prefixed with its name.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::compose::Condition;
use crate::engine::Event;
use crate::ops::{Progress, Sink};
use crate::output::Printer;

/// Shows progress through the printer (nothing with `-q`; with `--json`
/// only on standard error, never mixed into the document).
pub struct Renderer {
    printer: Printer,
    multi: Option<indicatif::MultiProgress>,
    bars: Mutex<HashMap<String, indicatif::ProgressBar>>,
}

impl Renderer {
    pub fn new(printer: Printer) -> Renderer {
        use std::io::IsTerminal;
        let on_terminal = !printer.quiet && !printer.json && std::io::stderr().is_terminal();
        Renderer {
            printer,
            multi: on_terminal.then(indicatif::MultiProgress::new),
            bars: Default::default(),
        }
    }

    /// Where one instance's progress and outcome go: unprefixed, as for a
    /// command on one instance, when `instance` is `None`; else a line of
    /// its own (on a terminal), or lines prefixed with its name.
    pub fn line(&self, instance: Option<&str>) -> Line<'_> {
        let bar = match (&self.multi, instance) {
            (Some(multi), Some(name)) => {
                let bar = multi.add(indicatif::ProgressBar::new_spinner());
                bar.set_style(
                    indicatif::ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                );
                bar.set_prefix(name.to_string());
                bar.set_message("waiting");
                bar.enable_steady_tick(std::time::Duration::from_millis(120));
                Some(bar)
            }
            _ => None,
        };
        Line {
            renderer: self,
            instance: instance.map(str::to_string),
            bar,
        }
    }

    fn engine_event(&self, e: &Event) {
        // Bars write to the terminal themselves: mask the image names here.
        let mask = |image: &str| crate::mask::mask(image).into_owned();
        let Some(multi) = &self.multi else {
            return print_event(&self.printer, e);
        };
        let mut bars = self.bars.lock().expect("progress bars");
        match e {
            Event::Pulling(image) => {
                let bar = multi.add(indicatif::ProgressBar::new(0));
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "  pulling {msg} {bar:30} {bytes}/{total_bytes}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                bar.set_message(mask(image));
                bars.insert(image.clone(), bar);
            }
            Event::PullProgress {
                image,
                current,
                total,
            } => {
                if let Some(bar) = bars.get(image) {
                    bar.set_length(*total);
                    bar.set_position(*current);
                }
            }
            Event::Pulled(image) => {
                if let Some(bar) = bars.remove(image) {
                    bar.finish_and_clear();
                }
                let _ = multi.println(format!("  pulled image `{}`", mask(image)));
            }
            other => {
                drop(bars);
                print_event(&self.printer, other);
            }
        }
    }
}

impl Drop for Renderer {
    fn drop(&mut self) {
        for (_, bar) in self.bars.lock().expect("progress bars").drain() {
            bar.abandon();
        }
    }
}

impl Sink for Renderer {
    fn send(&self, progress: Progress) {
        match progress {
            Progress::Engine(e) => self.engine_event(&e),
            other => match text_of(&other) {
                Some(Text::Message(m)) => self.printer.message(format!("  {m}")),
                Some(Text::Warning(w)) => self.printer.warn(w),
                None => {}
            },
        }
    }
}

/// One instance's share of the display (see `Renderer::line`).
pub struct Line<'r> {
    renderer: &'r Renderer,
    instance: Option<String>,
    bar: Option<indicatif::ProgressBar>,
}

impl Line<'_> {
    /// A message about the instance (silenced by `-q`).
    pub fn message(&self, msg: impl std::fmt::Display) {
        let msg = crate::mask::mask(&msg.to_string()).into_owned();
        match (&self.bar, &self.instance) {
            (Some(bar), _) => bar.set_message(msg.trim_start().to_string()),
            (None, Some(name)) => self
                .renderer
                .printer
                .message(format!("{name}: {}", msg.trim_start())),
            (None, None) => self.renderer.printer.message(msg),
        }
    }

    /// A line that stays above the live lines on a terminal.
    fn above(&self, msg: String) {
        match (&self.renderer.multi, &self.instance) {
            (Some(multi), Some(name)) if !self.renderer.printer.quiet => {
                let _ = multi.println(format!("{name}: {}", crate::mask::mask(&msg)));
            }
            (_, Some(name)) => self.renderer.printer.message(format!("{name}: {msg}")),
            (_, None) => self.renderer.printer.message(msg),
        }
    }

    /// A message that stays (an endpoint, a removed resource).
    pub fn detail(&self, msg: impl std::fmt::Display) {
        self.above(msg.to_string())
    }

    /// A success that is not the end (a line of its own that stays).
    pub fn checked(&self, msg: impl std::fmt::Display) {
        match &self.instance {
            Some(_) => self.above(format!("✔ {msg}")),
            None => self.renderer.printer.success(msg),
        }
    }

    /// The instance is done: its line ends with `msg`.
    pub fn success(&self, msg: impl std::fmt::Display) {
        let msg = crate::mask::mask(&msg.to_string()).into_owned();
        match (&self.bar, &self.instance) {
            (Some(bar), _) => bar.finish_with_message(format!("✔ {msg}")),
            _ => self.renderer.printer.success(msg),
        }
    }

    /// A warning (not silenced by `-q`).
    pub fn warn(&self, msg: impl std::fmt::Display) {
        match (&self.renderer.multi, &self.instance) {
            (Some(multi), Some(name)) => {
                let _ = multi.println(&*crate::mask::mask(&format!("{name}: warning: {msg}")));
            }
            (_, Some(name)) => self.renderer.printer.warn(format!("{name}: {msg}")),
            (_, None) => self.renderer.printer.warn(msg),
        }
    }

    /// The instance failed: its line ends with the error, which is also
    /// printed as `error: instance `NAME`: …` (never silenced).
    pub fn failed(&self, err: &anyhow::Error) {
        let text = crate::mask::mask(&format!("{err:#}")).into_owned();
        let name = self.instance.as_deref().unwrap_or_default();
        let line = format!(
            "{}error:{} instance `{name}`: {text}",
            crate::output::RED,
            crate::output::RED.render_reset()
        );
        match (&self.bar, &self.renderer.multi) {
            (Some(bar), Some(multi)) => {
                bar.abandon_with_message("✘ failed");
                let _ = multi.println(line);
            }
            _ => {
                use std::io::Write;
                let _ = writeln!(anstream::stderr(), "{line}");
            }
        }
    }
}

impl Drop for Line<'_> {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take().filter(|b| !b.is_finished()) {
            bar.abandon();
        }
    }
}

impl Sink for Line<'_> {
    fn send(&self, progress: Progress) {
        if self.instance.is_none() {
            return self.renderer.send(progress);
        }
        match &progress {
            Progress::Engine(
                e @ (Event::Pulling(_) | Event::PullProgress { .. } | Event::Pulled(_)),
            ) if self.renderer.multi.is_some() => self.renderer.engine_event(e),
            Progress::Engine(e) => match event_text(e) {
                Some(Text::Message(m)) => self.message(m),
                Some(Text::Warning(w)) => self.warn(w),
                None => {}
            },
            other => match text_of(other) {
                Some(Text::Message(m)) => self.message(m),
                Some(Text::Warning(w)) => self.warn(w),
                None => {}
            },
        }
    }
}

/// What a step shows: a message, or a warning.
#[derive(Debug, PartialEq)]
enum Text {
    Message(String),
    Warning(String),
}

/// The text of progress other than the engine's.
fn text_of(progress: &Progress) -> Option<Text> {
    Some(match progress {
        Progress::Engine(e) => return event_text(e),
        Progress::Ready(r) => {
            let mark = if r.ready { "✔" } else { "…" };
            Text::Message(format!("{mark} `{}` {}", r.label(), r.describe()))
        }
        Progress::Stopped(c) => Text::Message(format!("container `{c}` stopped")),
        Progress::Note(text) => Text::Message(text.clone()),
        Progress::Warning(text) => Text::Warning(text.clone()),
    })
}

fn print_event(p: &Printer, e: &Event) {
    match event_text(e) {
        Some(Text::Message(m)) if matches!(e, Event::BuildOutput { .. }) => {
            p.message(format!("    {m}"))
        }
        Some(Text::Message(m)) => p.message(format!("  {m}")),
        Some(Text::Warning(w)) => p.warn(w),
        None => {}
    }
}

/// The text of an engine event (none for a pull's progress).
fn event_text(e: &Event) -> Option<Text> {
    let m = match e {
        Event::Pulling(image) => format!("pulling image `{image}`…"),
        Event::PullProgress { .. } => return None,
        Event::Pulled(image) => format!("pulled image `{image}`"),
        Event::Building(image) => format!("building image `{image}`…"),
        Event::BuildOutput { line, .. } => format!("| {line}"),
        Event::Built(image) => format!("built image `{image}`"),
        Event::NetworkCreated(n) => format!("network `{n}` created"),
        Event::VolumeCreated(v) => format!("volume `{v}` created"),
        Event::Waiting {
            service,
            on,
            condition,
        } => {
            let what = match condition {
                Condition::ServiceHealthy => "to be healthy",
                Condition::ServiceCompletedSuccessfully => "to complete",
                Condition::ServiceStarted => "to start",
            };
            format!("`{service}` waits for `{on}` {what}")
        }
        Event::Created(c) => format!("container `{c}` created and started"),
        Event::Recreated(c) => format!("container `{c}` recreated: its configuration changed"),
        Event::Started(c) => format!("container `{c}` started"),
        Event::Running(c) => format!("container `{c}` is running and up to date"),
        Event::Updated(c) => format!("container `{c}`: limits changed in place"),
        Event::Reconnected { container, network } => format!(
            "container `{container}` reconnected to network `{network}`: it had been disconnected"
        ),
        Event::Repaired { container, why } => format!("container `{container}` recreated: {why}"),
        Event::Removed(c) => format!("container `{c}` removed: the service runs fewer containers"),
        Event::Orphan(c) => {
            return Some(Text::Warning(format!(
                "container `{c}` belongs to no service of the compose files; `mrctl clean` removes it"
            )));
        }
    };
    Some(Text::Message(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_read_as_one_line_each() {
        assert_eq!(
            text_of(&Progress::Stopped("p-web-1".into())),
            Some(Text::Message("container `p-web-1` stopped".into()))
        );
        assert_eq!(
            text_of(&Progress::Engine(Event::Recreated("p-db-1".into()))),
            Some(Text::Message(
                "container `p-db-1` recreated: its configuration changed".into()
            ))
        );
        assert_eq!(
            event_text(&Event::Waiting {
                service: "web".into(),
                on: "db".into(),
                condition: Condition::ServiceHealthy
            }),
            Some(Text::Message("`web` waits for `db` to be healthy".into()))
        );
        assert!(matches!(
            event_text(&Event::Orphan("x".into())),
            Some(Text::Warning(_))
        ));
        assert_eq!(
            event_text(&Event::PullProgress {
                image: "i".into(),
                current: 1,
                total: 2
            }),
            None
        );
    }
}
