//! How operations' progress looks: a line per step on standard error, and
//! progress bars for image pulls on a terminal.

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
        let p = &self.printer;
        match progress {
            Progress::Engine(e) => self.engine_event(&e),
            Progress::Ready(r) => {
                let mark = if r.ready { "✔" } else { "…" };
                p.message(format!("  {mark} `{}` {}", r.label(), r.describe()));
            }
            Progress::Stopped(c) => p.message(format!("  container `{c}` stopped")),
            Progress::Note(text) => p.message(format!("  {text}")),
            Progress::Warning(text) => p.warn(text),
        }
    }
}

fn print_event(p: &Printer, e: &Event) {
    match e {
        Event::Pulling(image) => p.message(format!("  pulling image `{image}`…")),
        Event::PullProgress { .. } => {}
        Event::Pulled(image) => p.message(format!("  pulled image `{image}`")),
        Event::Building(image) => p.message(format!("  building image `{image}`…")),
        Event::BuildOutput { line, .. } => p.message(format!("    | {line}")),
        Event::Built(image) => p.message(format!("  built image `{image}`")),
        Event::NetworkCreated(n) => p.message(format!("  network `{n}` created")),
        Event::VolumeCreated(v) => p.message(format!("  volume `{v}` created")),
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
            p.message(format!("  `{service}` waits for `{on}` {what}"));
        }
        Event::Created(c) => p.message(format!("  container `{c}` created and started")),
        Event::Recreated(c) => p.message(format!(
            "  container `{c}` recreated: its configuration changed"
        )),
        Event::Started(c) => p.message(format!("  container `{c}` started")),
        Event::Running(c) => p.message(format!("  container `{c}` is running and up to date")),
        Event::Updated(c) => p.message(format!("  container `{c}`: limits changed in place")),
        Event::Reconnected { container, network } => p.message(format!(
            "  container `{container}` reconnected to network `{network}`: it had been disconnected"
        )),
        Event::Repaired { container, why } => {
            p.message(format!("  container `{container}` recreated: {why}"))
        }
        Event::Removed(c) => p.message(format!(
            "  container `{c}` removed: the service runs fewer containers"
        )),
        Event::Orphan(c) => p.warn(format!(
            "container `{c}` belongs to no service of the compose files; `mrctl clean` removes it"
        )),
    }
}
