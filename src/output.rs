//! The one printer: data (tables, JSON, values) on stdout; messages, warnings
//! and progress on stderr. Colour only on a terminal and never with NO_COLOR
//! (anstream decides). A reader that goes away (`mrctl list | head -1`) is
//! not an error; a stdout that cannot be written (closed with `>&-`, a full
//! disk) is.

use std::fmt::Display;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use anstyle::{AnsiColor, Style};
use serde::Serialize;

/// Stdout was closed by the reader; the command ends quietly with success.
#[derive(Debug, thiserror::Error)]
#[error("standard output was closed")]
pub struct Closed;

pub const BOLD: Style = Style::new().bold();
pub const GREEN: Style = AnsiColor::Green.on_default();
pub const YELLOW: Style = AnsiColor::Yellow.on_default();
pub const RED: Style = AnsiColor::Red.on_default().bold();
pub const DIM: Style = Style::new().dimmed();

#[derive(Debug, Clone, Copy, Default)]
pub struct Printer {
    pub quiet: bool,
    pub json: bool,
}

/// A message with the loaded instances' secrets replaced by `***`.
fn masked(msg: impl Display) -> String {
    crate::mask::mask(&msg.to_string()).into_owned()
}

/// Set before `main` when file descriptor 1 was closed at exec, as by
/// `mrctl list >&-`. The Rust runtime then reopens it on `/dev/null` before
/// `main`, so every write would "succeed" and the data vanish; this flag
/// remembers that nobody can read what mrctl prints.
static STDOUT_CLOSED_AT_START: AtomicBool = AtomicBool::new(false);

#[cfg(any(target_os = "linux", target_os = "android"))]
#[used]
#[unsafe(link_section = ".init_array")]
static NOTE_STDOUT_AT_START: extern "C" fn() = note_stdout_at_start;

/// Runs from `.init_array`, before the runtime touches the standard streams.
#[cfg(any(target_os = "linux", target_os = "android"))]
extern "C" fn note_stdout_at_start() {
    // SAFETY: fcntl(F_GETFD) only queries the descriptor's flags.
    let closed = unsafe { libc::fcntl(libc::STDOUT_FILENO, libc::F_GETFD) } == -1
        && std::io::Error::last_os_error().raw_os_error() == Some(libc::EBADF);
    STDOUT_CLOSED_AT_START.store(closed, Ordering::Relaxed);
}

fn write_out(bytes: &[u8]) -> anyhow::Result<()> {
    if STDOUT_CLOSED_AT_START.load(Ordering::Relaxed) {
        return Err(crate::error::Error::StdoutClosed.into());
    }
    let mut out = anstream::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Closed.into()),
        Err(e) => Err(anyhow::Error::new(e).context("cannot write to standard output")),
    }
}

impl Printer {
    /// A message for the user on stderr (silenced by `-q`). Messages,
    /// like warnings and errors, have the instances' secrets masked.
    pub fn message(&self, msg: impl Display) {
        if !self.quiet {
            let _ = writeln!(anstream::stderr(), "{}", masked(msg));
        }
    }

    /// A success message with a green mark.
    pub fn success(&self, msg: impl Display) {
        if !self.quiet {
            let _ = writeln!(anstream::stderr(), "{GREEN}✔{GREEN:#} {}", masked(msg));
        }
    }

    /// A warning on stderr (not silenced by `-q`).
    pub fn warn(&self, msg: impl Display) {
        let _ = writeln!(
            anstream::stderr(),
            "{YELLOW}warning:{YELLOW:#} {}",
            masked(msg)
        );
    }

    /// Text on stdout, exactly as given.
    pub fn out(&self, text: &str) -> anyhow::Result<()> {
        write_out(text.as_bytes())
    }

    /// A line on stdout.
    pub fn line(&self, text: impl Display) -> anyhow::Result<()> {
        write_out(format!("{text}\n").as_bytes())
    }

    /// A value as pretty JSON on stdout.
    /// The reports of a `NAME | --all` command as one JSON document: the
    /// object for one target, an array for `--all`.
    pub fn json_reports<T: Serialize>(&self, reports: &[T], all: bool) -> anyhow::Result<()> {
        match (all, reports) {
            (false, [one]) => self.json(one),
            _ => self.json(&reports),
        }
    }

    /// One JSON document on stdout, written as it is serialised (a list of
    /// 100,000 instances is never held as one string). JSON escapes control
    /// characters, so it needs no terminal filtering.
    pub fn json(&self, value: &impl Serialize) -> anyhow::Result<()> {
        if STDOUT_CLOSED_AT_START.load(Ordering::Relaxed) {
            return Err(crate::error::Error::StdoutClosed.into());
        }
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
        let written = serde_json::to_writer_pretty(&mut out, value)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush());
        match written {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Closed.into()),
            Err(e) => Err(anyhow::Error::new(e).context("cannot write to standard output")),
        }
    }

    /// A table on stdout: a header row, then rows, columns padded, no borders.
    pub fn table(&self, header: &[&str], rows: &[Vec<String>]) -> anyhow::Result<()> {
        self.out(&table(header, rows))
    }
}

/// Renders a borderless table; the header is bold on a terminal.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::NOTHING)
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
        .set_header(header.to_vec());
    for row in rows {
        t.add_row(row.clone());
    }
    for col in t.column_iter_mut() {
        col.set_padding((0, 3));
    }
    let mut out = String::new();
    for (i, line) in t.lines().enumerate() {
        let line = line.trim_end();
        if i == 0 {
            out.push_str(&format!("{BOLD}{line}{BOLD:#}\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn table_aligns_columns_without_trailing_space() {
        let t = super::table(
            &["NAME", "PORTS"],
            &[
                vec!["prod".into(), "8765".into()],
                vec!["customer-7".into(), "8766".into()],
            ],
        );
        let plain = anstream::adapter::strip_str(&t).to_string();
        assert_eq!(
            plain,
            "NAME         PORTS\nprod         8765\ncustomer-7   8766\n"
        );
    }
}
