//! Deadlines on engine calls. A half-alive engine (it answers `/_ping` and
//! `/version`, then never answers anything else) cannot be made from the
//! real daemon without wedging it for everyone, so these tests serve one on
//! a unix socket of their own; an unreachable engine is a TCP port that
//! accepts connections and never answers.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::common::Fixture;

/// An engine that answers the version handshake and hangs on every other
/// call, until dropped.
struct HalfAliveEngine {
    socket: std::path::PathBuf,
    stop: Arc<AtomicBool>,
    _dir: tempfile::TempDir,
}

const VERSION: &str = r#"{"Version":"20.10.24","ApiVersion":"1.41","MinAPIVersion":"1.12","Os":"linux","Arch":"amd64"}"#;

impl HalfAliveEngine {
    fn start() -> HalfAliveEngine {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("engine.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let flag = flag.clone();
                        std::thread::spawn(move || serve(stream, &flag));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        HalfAliveEngine {
            socket,
            stop,
            _dir: dir,
        }
    }

    fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }
}

impl Drop for HalfAliveEngine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Answers `/_ping` and `/version` on one connection; hangs (holding the
/// connection open) on the first other request.
fn serve(stream: std::os::unix::net::UnixStream, stop: &AtomicBool) {
    stream.set_nonblocking(false).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header == "\r\n" {
                break;
            }
            if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        let _ = reader.read_exact(&mut body);
        let path = request_line.split_whitespace().nth(1).unwrap_or("");
        let answer = if path.ends_with("/_ping") {
            Some(("text/plain", "OK"))
        } else if path.ends_with("/version") {
            Some(("application/json", VERSION))
        } else {
            None
        };
        match answer {
            Some((kind, text)) => {
                let _ = write!(
                    writer,
                    "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nApi-Version: 1.41\r\nContent-Length: {}\r\n\r\n{text}",
                    text.len()
                );
            }
            None => {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(50));
                }
                return;
            }
        }
    }
}

fn timed(f: &Fixture, host: &str, args: &[&str]) -> (super::common::Run, Duration) {
    let started = Instant::now();
    let out = f
        .command(args)
        .env("DOCKER_HOST", host)
        .env("MRCTL_ENGINE_TIMEOUT", "2s")
        .output()
        .unwrap();
    (super::common::Run::from(out), started.elapsed())
}

#[test]
fn a_half_alive_engine_ends_every_command_at_its_deadline() {
    let engine = HalfAliveEngine::start();
    let f = Fixture::mindroom();
    // create checks the engine for projects in use; a wedged engine only
    // costs it the deadline, with a warning.
    let (run, took) = timed(&f, &engine.host(), &["create", "w"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .contains("did not answer within 2s to list containers"),
        "{run:?}"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
    let before = f.snapshot();
    let mut figures = Vec::new();
    for args in [
        &["start", "w"][..],
        &["stop", "w"],
        &["clean", "w", "--yes"],
        &["status", "w"],
        &["update", "w", "--memory", "64m"],
        &["backup", "w", "-o", "w.tgz"],
    ] {
        let (run, took) = timed(&f, &engine.host(), args);
        assert_eq!(run.code, 6, "{args:?}: {run:?}");
        assert!(
            run.stderr.contains(&format!(
                "the Docker engine at `{}` did not answer within 2s to ",
                engine.host()
            )),
            "{args:?}: {}",
            run.stderr
        );
        assert!(took < Duration::from_secs(10), "{args:?} took {took:?}");
        figures.push(format!("{} {:.1}s", args[0], took.as_secs_f64()));
        // Nothing on disk changed, and the instance lock was released.
        assert_eq!(f.snapshot(), before, "{args:?}");
    }
    eprintln!("FIGURES half-alive-engine: {}", figures.join(", "));
}

#[test]
fn an_unreachable_engine_is_reported_within_two_seconds() {
    // Accepts connections (the kernel does) and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!("tcp://{}", listener.local_addr().unwrap());
    let f = Fixture::mindroom();
    f.run(&["create", "u"]).success();
    let mut worst = Duration::ZERO;
    for args in [&["start", "u"][..], &["status", "u"], &["stop", "u"]] {
        let started = Instant::now();
        let out = f.command(args).env("DOCKER_HOST", &host).output().unwrap();
        let took = started.elapsed();
        let run = super::common::Run::from(out);
        assert_eq!(run.code, 6, "{run:?}");
        assert!(
            run.stderr
                .contains(&format!("cannot reach the Docker engine at `{host}`")),
            "{}",
            run.stderr
        );
        // The connect deadline is 1.5 s; the bound leaves room for a busy machine.
        assert!(took < Duration::from_secs(3), "{args:?} took {took:?}");
        worst = worst.max(took);
    }
    eprintln!(
        "FIGURES unreachable-engine: slowest of start/status/stop answered in {:.2}s",
        worst.as_secs_f64()
    );
    drop(listener);
}
