//! The engine's layers as the library exposes them: a command run in a
//! container writes to the streams its caller gives, never to the
//! process's own.

use super::engine_harness::EngineTest;

const SLEEPER: &str =
    "[\"sh\", \"-c\", \"trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done\"]";

#[test]
fn exec_writes_to_the_callers_streams_and_reads_its_input() {
    let compose = format!("services:\n  app:\n    image: busybox:latest\n    command: {SLEEPER}\n");
    let Some(t) = EngineTest::new("exec_writes_to_the_callers_streams", &[], &compose, "") else {
        return;
    };
    t.f.run(&["up", "x"]).success();
    let id = t.containers()[0].id.clone().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let run = |interactive: bool| {
        rt.block_on(async {
            let engine = mrctl::engine::Engine::connect().await.unwrap();
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let opts = mrctl::engine::ExecOptions {
                interactive,
                ..Default::default()
            };
            let io = mrctl::engine::ExecIo {
                stdin: Some(Box::new(std::io::Cursor::new(b"piped in\n".to_vec()))),
                stdout: &mut out,
                stderr: &mut err,
            };
            let cmd = ["sh", "-c", "echo out; echo err >&2; cat; exit 3"];
            let code = engine
                .exec(&id, cmd.map(String::from).to_vec(), &opts, io)
                .await
                .unwrap();
            (
                code,
                String::from_utf8(out).unwrap(),
                String::from_utf8(err).unwrap(),
            )
        })
    };
    assert_eq!(
        run(true),
        (3, "out\npiped in\n".to_string(), "err\n".to_string())
    );
    // Not interactive: the input is not forwarded (`cat` reads nothing).
    assert_eq!(run(false), (3, "out\n".to_string(), "err\n".to_string()));
}
