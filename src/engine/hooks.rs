//! A service's lifecycle hooks: commands run in its container, one after
//! the other, as docker compose runs them: `post_start` once it has
//! started, `pre_stop` before it is stopped. A hook that fails, or outlasts
//! its time limit, fails the start (or aborts the stop), naming it.

use std::time::Duration;

use super::Engine;
use super::exec::{ExecIo, ExecOptions};
use super::up::UpOptions;
use crate::compose::{Hook, Service};
use crate::error::Error;

impl Engine {
    pub(super) async fn post_start(
        &self,
        svc: &Service,
        container: &str,
        opts: &UpOptions,
    ) -> Result<(), Error> {
        self.run_hooks(container, &svc.settings.post_start, opts.timeout)
            .await
            .map_err(|(what, logs)| Error::ServiceFailed {
                service: svc.name.clone(),
                instance: opts.instance.clone(),
                what: format!("has a post_start hook {what}"),
                state: "running".into(),
                logs,
            })
    }

    /// Runs the `pre_stop` hooks of a running container (`service` of
    /// `instance`), each within the grace period plus the call deadline.
    pub(super) async fn pre_stop(
        &self,
        service: &str,
        instance: &str,
        container: &str,
        hooks: &[Hook],
        grace_secs: i64,
    ) -> Result<(), Error> {
        let limit = self.deadline + Duration::from_secs(grace_secs.max(0) as u64);
        self.run_hooks(container, hooks, limit)
            .await
            .map_err(|(what, logs)| Error::ServiceFailed {
                service: service.to_string(),
                instance: instance.to_string(),
                what: format!("has a pre_stop hook {what}, so it was not stopped"),
                state: "running".into(),
                logs,
            })
    }

    /// Runs `hooks` in `container`; a failure is what happened (after the
    /// hook's command) and the hook's output.
    async fn run_hooks(
        &self,
        container: &str,
        hooks: &[Hook],
        limit: Duration,
    ) -> Result<(), (String, String)> {
        for hook in hooks {
            let exec = ExecOptions {
                user: hook.user.clone(),
                workdir: hook.working_dir.clone(),
                env: hook
                    .environment
                    .iter()
                    .map(|(k, v)| match v {
                        Some(v) => format!("{k}={v}"),
                        None => k.clone(),
                    })
                    .collect(),
                privileged: hook.privileged,
                ..Default::default()
            };
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let io = ExecIo {
                stdin: None,
                stdout: &mut out,
                stderr: &mut err,
            };
            let shown = hook.command.join(" ");
            let run = self.exec(container, hook.command.clone(), &exec, io);
            let result = tokio::time::timeout(limit, run).await;
            let logs = || {
                let mut logs = String::from_utf8_lossy(&out).into_owned();
                logs.push_str(&String::from_utf8_lossy(&err));
                logs.trim_end().to_string()
            };
            match result {
                Ok(Ok(0)) => {}
                Ok(Ok(code)) => {
                    return Err((format!("`{shown}` that exited with status {code}"), logs()));
                }
                Ok(Err(e)) => return Err((format!("`{shown}` that could not run: {e}"), logs())),
                Err(_) => {
                    return Err((
                        format!(
                            "`{shown}` that did not finish within {}",
                            humantime::format_duration(limit)
                        ),
                        logs(),
                    ));
                }
            }
        }
        Ok(())
    }
}
