//! The dependency-graph executor of `up` (and, reversed, of `stop`),
//! generic over the work (`Work`) so that its scheduling is tested with a
//! fake engine. Each container a service runs is a node. A node first does
//! its work ahead (creating its container needs no running dependency),
//! then waits for its service's gate: every dependency started (all its nodes run),
//! then its condition awaited (healthy, completed) once per service. A node
//! runs (starts) as soon as its own gate opens, whatever the rest of the
//! project does. A failed node closes the gates of its dependants, which are
//! skipped; unrelated branches go on to the end. Every `ahead` and `run`
//! holds one permit of the engine's bound (`Engine::bound`); waits hold none.

use std::collections::{HashMap, HashSet};
use std::future::Future;

use futures_util::future::{join, join_all, try_join_all};
use tokio::sync::{Semaphore, watch};

use crate::compose::Condition;

/// What the executor needs of an engine; `node` indexes `Graph::nodes`.
pub(crate) trait Work {
    type Error;
    /// What the node does before any dependency allows it (create).
    fn ahead(&self, node: usize) -> impl Future<Output = Result<(), Self::Error>>;
    /// Waits until `dep`'s containers meet `condition`, for `service`.
    fn wait(
        &self,
        service: &str,
        dep: &str,
        condition: Condition,
    ) -> impl Future<Output = Result<(), Self::Error>>;
    /// What the node does once its dependencies allow it (start).
    fn run(&self, node: usize) -> impl Future<Output = Result<(), Self::Error>>;
}

/// The services, what each waits on, and one node per container.
#[derive(Debug, Clone, Default)]
pub(crate) struct Graph {
    /// The service of each node.
    pub nodes: Vec<String>,
    /// Each service (with or without nodes): its dependencies and their
    /// conditions.
    pub depends_on: HashMap<String, Vec<(String, Condition)>>,
}

/// How the run went: the errors of the nodes and waits that failed, in
/// the order they failed, and the nodes skipped with the dependency that
/// failed them.
#[derive(Debug)]
pub(crate) struct Outcome<E> {
    pub errors: Vec<E>,
    pub skipped: Vec<(usize, String)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Gate {
    Pending,
    Open,
    /// Closed by a failed dependency (named).
    Closed(String),
}

/// What every node and gate watches.
#[derive(Debug, Clone)]
struct State {
    total: HashMap<String, usize>,
    started: HashMap<String, usize>,
    failed: HashSet<String>,
    gates: HashMap<String, Gate>,
}

impl State {
    fn count(map: &HashMap<String, usize>, s: &str) -> usize {
        map.get(s).copied().unwrap_or(0)
    }
    fn all(&self, map: &HashMap<String, usize>, s: &str) -> bool {
        Self::count(map, s) >= Self::count(&self.total, s)
    }
}

impl Graph {
    fn services(&self) -> Vec<&String> {
        let mut out: Vec<&String> = self.depends_on.keys().collect();
        for s in &self.nodes {
            if !out.contains(&s) {
                out.push(s);
            }
        }
        out.sort();
        out
    }
}

/// Runs `graph` with `work`, at most `bound`'s permits of work at a time.
pub(crate) async fn execute<W: Work>(
    graph: &Graph,
    work: &W,
    bound: &Semaphore,
) -> Outcome<W::Error> {
    let mut total = HashMap::new();
    for s in &graph.nodes {
        *total.entry(s.clone()).or_insert(0) += 1;
    }
    let state = watch::Sender::new(State {
        total,
        started: HashMap::new(),
        failed: HashSet::new(),
        gates: HashMap::new(),
    });
    let errors = std::sync::Mutex::new(Vec::new());
    let fail = |service: &str, e: Option<W::Error>| {
        if let Some(e) = e {
            errors.lock().unwrap().push(e);
        }
        state.send_modify(|st| {
            st.failed.insert(service.to_string());
        });
    };
    // A dependency's fate: Ok when it finished, Err(name) when it failed.
    let settled = |dep: String| {
        let mut rx = state.subscribe();
        async move {
            let st = rx
                .wait_for(|st| st.failed.contains(&dep) || st.all(&st.started, &dep))
                .await
                .expect("the state outlives its watchers");
            if st.failed.contains(&dep) {
                Err(dep)
            } else {
                Ok(())
            }
        }
    };
    let gates = graph.services().into_iter().map(|service| {
        let deps = graph.depends_on.get(service).cloned().unwrap_or_default();
        let settled = &settled;
        let fail = &fail;
        let state = &state;
        async move {
            let waits = deps.into_iter().map(|(dep, condition)| async move {
                settled(dep.clone()).await.map_err(|d| (d, None))?;
                if condition == Condition::ServiceStarted {
                    return Ok(());
                }
                work.wait(service, &dep, condition)
                    .await
                    .map_err(|e| (dep, Some(e)))
            });
            let gate = match try_join_all(waits).await {
                Ok(_) => Gate::Open,
                Err((dep, e)) => {
                    fail(service, e);
                    Gate::Closed(dep)
                }
            };
            state.send_modify(|st| {
                st.gates.insert(service.clone(), gate);
            });
        }
    });
    let nodes = graph.nodes.iter().enumerate().map(|(i, service)| {
        let (fail, state) = (&fail, &state);
        async move {
            let ahead = {
                let _permit = bound.acquire().await.expect("the bound is never closed");
                work.ahead(i).await
            };
            if let Err(e) = ahead {
                fail(service, Some(e));
                return None;
            }
            let gate = state
                .subscribe()
                .wait_for(|st| st.gates.get(service).is_some_and(|g| *g != Gate::Pending))
                .await
                .expect("the state outlives its watchers")
                .gates[service]
                .clone();
            if let Gate::Closed(dep) = gate {
                return Some((i, dep));
            }
            let run = {
                let _permit = bound.acquire().await.expect("the bound is never closed");
                work.run(i).await
            };
            match run {
                Ok(()) => {
                    state.send_modify(|st| *st.started.entry(service.clone()).or_insert(0) += 1);
                }
                Err(e) => fail(service, Some(e)),
            }
            None
        }
    });
    let (_, skipped) = join(join_all(gates), join_all(nodes)).await;
    Outcome {
        errors: errors.into_inner().unwrap(),
        skipped: skipped.into_iter().flatten().collect(),
    }
}

#[cfg(test)]
#[path = "graph_tests.rs"]
mod tests;
