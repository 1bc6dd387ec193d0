//! Running a command in a service's container with a terminal (the
//! terminal's size) or without. The caller gives the streams: the command's
//! output goes to its writers, its input comes from its reader; nothing
//! here touches the process's own standard streams.

use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use bollard::query_parameters::ResizeExecOptionsBuilder;
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use super::Engine;
use crate::error::Error;

/// How to run the command.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// Allocate a terminal (and put ours in raw mode).
    pub tty: bool,
    /// Forward our standard input.
    pub interactive: bool,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub env: Vec<String>,
    /// Terminal size (columns, rows).
    pub size: Option<(u16, u16)>,
    /// Run the command with extended privileges (a `post_start` hook's).
    pub privileged: bool,
}

/// Where a command's streams go. Output is flushed chunk by chunk, as it comes.
pub struct ExecIo<'a> {
    /// Forwarded to the command when `ExecOptions::interactive`; read on a
    /// task of its own until it ends.
    pub stdin: Option<Box<dyn AsyncRead + Unpin + Send>>,
    /// The command's standard output (and, with a terminal, everything).
    pub stdout: &'a mut (dyn AsyncWrite + Unpin + Send),
    pub stderr: &'a mut (dyn AsyncWrite + Unpin + Send),
}

impl Engine {
    /// Runs `cmd` in `container` with the streams of `io` and returns its exit code.
    pub async fn exec(
        &self,
        container: &str,
        cmd: Vec<String>,
        opts: &ExecOptions,
        io: ExecIo<'_>,
    ) -> Result<i64, Error> {
        let config = ExecConfig {
            attach_stdin: Some(opts.interactive),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(opts.tty),
            cmd: Some(cmd),
            user: opts.user.clone(),
            working_dir: opts.workdir.clone(),
            env: (!opts.env.is_empty()).then(|| opts.env.clone()),
            privileged: opts.privileged.then_some(true),
            ..Default::default()
        };
        let created = self
            .docker
            .create_exec(container, config)
            .await
            .map_err(|e| self.error(&format!("run a command in `{container}`"), &e))?;
        let start = StartExecOptions {
            detach: false,
            tty: opts.tty,
            output_capacity: None,
        };
        let started = self
            .docker
            .start_exec(&created.id, Some(start))
            .await
            .map_err(|e| self.error(&format!("run a command in `{container}`"), &e))?;
        if let (true, Some((w, h))) = (opts.tty, opts.size) {
            let size = ResizeExecOptionsBuilder::new()
                .w(w as i32)
                .h(h as i32)
                .build();
            let _ = self.docker.resize_exec(&created.id, size).await;
        }
        if let StartExecResults::Attached {
            mut output,
            mut input,
        } = started
        {
            if opts.interactive
                && let Some(mut stdin) = io.stdin
            {
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut stdin, &mut input).await;
                    let _ = input.shutdown().await;
                });
            }
            let (stdout, stderr) = (io.stdout, io.stderr);
            while let Some(chunk) = output.next().await {
                use bollard::container::LogOutput;
                let chunk = chunk.map_err(|e| {
                    self.error(
                        &format!("read the output of the command in `{container}`"),
                        &e,
                    )
                })?;
                let result = match &chunk {
                    LogOutput::StdErr { message } => {
                        stderr.write_all(message).await.and(stderr.flush().await)
                    }
                    LogOutput::StdOut { message } | LogOutput::Console { message } => {
                        stdout.write_all(message).await.and(stdout.flush().await)
                    }
                    LogOutput::StdIn { .. } => Ok(()),
                };
                if result.is_err() {
                    break;
                }
            }
        }
        let inspect = self.docker.inspect_exec(&created.id).await.map_err(|e| {
            self.error(
                &format!("read the exit code of the command in `{container}`"),
                &e,
            )
        })?;
        Ok(inspect.exit_code.unwrap_or(0))
    }
}
