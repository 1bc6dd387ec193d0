//! The engine's event stream of one project, for the waits of `up`: one
//! subscription (started on the first wait that has to wait, filtered by
//! the project label to container start, die and health_status events)
//! whose events name the container they concern. A waiter subscribes
//! before it inspects, so no change falls between its look and its
//! subscription; the stream asks for events since the `up` began, so none
//! falls between the subscription and the engine's answer either. When
//! the stream fails or ends, waiters fall back to polling.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard::query_parameters::EventsOptionsBuilder;
use futures_util::StreamExt;
use tokio::sync::{OnceCell, broadcast};

use super::{Engine, labels};

/// What a waiter hears: a container's name, or that the stream ended.
pub(super) const ENDED: &str = "";

/// The event stream of one project, shared by the waits of one `up`.
pub(super) struct Watcher {
    engine: Engine,
    project: String,
    /// Seconds since the epoch when the `up` began, less a margin.
    since: u64,
    events: OnceCell<broadcast::Sender<String>>,
    pump: Mutex<Option<tokio::task::AbortHandle>>,
    ended: Arc<AtomicBool>,
}

impl Watcher {
    pub(super) fn new(engine: &Engine, project: &str) -> Watcher {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Watcher {
            engine: engine.clone(),
            project: project.to_string(),
            since: now.as_secs().saturating_sub(2),
            events: OnceCell::new(),
            pump: Mutex::new(None),
            ended: Arc::new(AtomicBool::new(false)),
        }
    }

    /// A receiver of the names of the project's containers that started,
    /// died or changed health, from now on (`ENDED` once the stream ends);
    /// none when it has ended.
    pub(super) async fn subscribe(&self) -> Option<broadcast::Receiver<String>> {
        let tx = self
            .events
            .get_or_init(|| async {
                let (tx, _) = broadcast::channel(256);
                let filters = HashMap::from([
                    ("type", vec!["container".to_string()]),
                    (
                        "label",
                        vec![format!("{}={}", labels::PROJECT, self.project)],
                    ),
                    (
                        "event",
                        vec!["start".into(), "die".into(), "health_status".into()],
                    ),
                ]);
                let options = EventsOptionsBuilder::new()
                    .since(&self.since.to_string())
                    .filters(&filters)
                    .build();
                // The stream's body is not cut by the call's deadline; each
                // wait keeps its own.
                let mut stream = self.engine.docker.events(Some(options));
                let sender = tx.clone();
                let ended = self.ended.clone();
                let pump = tokio::spawn(async move {
                    while let Some(Ok(event)) = stream.next().await {
                        let name = event
                            .actor
                            .and_then(|a| a.attributes)
                            .and_then(|mut a| a.remove("name"));
                        if let Some(name) = name.filter(|n| !n.is_empty()) {
                            let _ = sender.send(name);
                        }
                    }
                    tracing::debug!("the engine's event stream ended; waits poll");
                    ended.store(true, Ordering::SeqCst);
                    let _ = sender.send(ENDED.to_string());
                });
                *self.pump.lock().unwrap() = Some(pump.abort_handle());
                tx
            })
            .await;
        let rx = tx.subscribe();
        (!self.ended.load(Ordering::SeqCst)).then_some(rx)
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        if let Some(pump) = self.pump.lock().unwrap().take() {
            pump.abort();
        }
    }
}

/// Waits until `rx` names `container` (true), or the stream ended or
/// dropped events (false: look again, then poll).
pub(super) async fn heard(rx: &mut broadcast::Receiver<String>, container: &str) -> bool {
    loop {
        match rx.recv().await {
            Ok(name) if name == container => return true,
            Ok(name) if name == ENDED => return false,
            Ok(_) => {}
            // Events were dropped: one of them may have been ours.
            Err(broadcast::error::RecvError::Lagged(_)) => return true,
            Err(broadcast::error::RecvError::Closed) => return false,
        }
    }
}
