//! Running a command in a service's container, attached to this terminal
//! when there is one (raw mode, the terminal's size), piped otherwise.

use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use bollard::query_parameters::ResizeExecOptionsBuilder;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

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
}

impl Engine {
    /// Runs `cmd` in `container` and returns its exit code.
    pub async fn exec(
        &self,
        container: &str,
        cmd: Vec<String>,
        opts: &ExecOptions,
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
            if opts.interactive {
                tokio::spawn(async move {
                    let mut stdin = tokio::io::stdin();
                    let _ = tokio::io::copy(&mut stdin, &mut input).await;
                    let _ = input.shutdown().await;
                });
            }
            let mut stdout = tokio::io::stdout();
            let mut stderr = tokio::io::stderr();
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
