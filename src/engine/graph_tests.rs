//! The executor driven by a fake engine that records what it is asked, in
//! what order, and how many calls it has in flight.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};

use super::*;

#[derive(Default)]
struct Fake {
    nodes: Vec<String>,
    log: Mutex<Vec<String>>,
    in_flight: AtomicUsize,
    max: AtomicUsize,
    /// A service whose start waits until the notify is triggered.
    held: HashMap<String, Notify>,
    /// A service whose start triggers a held one's notify.
    releases: HashMap<String, String>,
    fail_run: HashSet<String>,
    fail_wait: HashSet<String>,
    /// How long each call takes.
    pause: Duration,
}

impl Fake {
    fn new(graph: &Graph) -> Fake {
        Fake {
            nodes: graph.nodes.clone(),
            ..Fake::default()
        }
    }
    fn record(&self, line: String) {
        self.log.lock().unwrap().push(line);
    }
    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
    fn pos(&self, line: &str) -> usize {
        let log = self.log();
        log.iter()
            .position(|l| l == line)
            .unwrap_or_else(|| panic!("`{line}` not in {log:?}"))
    }
    async fn call(&self) {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        if self.pause.is_zero() {
            tokio::task::yield_now().await;
        } else {
            tokio::time::sleep(self.pause).await;
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Work for Fake {
    type Error = String;
    async fn ahead(&self, node: usize) -> Result<(), String> {
        self.call().await;
        self.record(format!("create {}", self.nodes[node]));
        Ok(())
    }
    async fn wait(&self, service: &str, dep: &str, _: Condition) -> Result<(), String> {
        tokio::task::yield_now().await;
        self.record(format!("wait {service} on {dep}"));
        if self.fail_wait.contains(dep) {
            return Err(format!("{dep} is unhealthy"));
        }
        Ok(())
    }
    async fn run(&self, node: usize) -> Result<(), String> {
        let service = &self.nodes[node];
        self.call().await;
        if let Some(n) = self.held.get(service) {
            let released = tokio::time::timeout(Duration::from_secs(10), n.notified()).await;
            assert!(released.is_ok(), "`{service}` was never released");
        }
        if let Some(other) = self.releases.get(service) {
            self.held[other].notify_one();
        }
        self.record(format!("start {service}"));
        if self.fail_run.contains(service) {
            return Err(format!("{service} failed"));
        }
        Ok(())
    }
}

/// A graph of one node per service, `deps` as (service, [(dep, condition)]).
fn graph(deps: &[(&str, &[(&str, Condition)])]) -> Graph {
    let mut g = Graph::default();
    for (s, list) in deps {
        g.nodes.push(s.to_string());
        g.depends_on.insert(
            s.to_string(),
            list.iter().map(|(d, c)| (d.to_string(), *c)).collect(),
        );
    }
    g
}

const STARTED: Condition = Condition::ServiceStarted;
const HEALTHY: Condition = Condition::ServiceHealthy;
const COMPLETED: Condition = Condition::ServiceCompletedSuccessfully;

async fn run(g: &Graph, fake: &Fake, bound: usize) -> Outcome<String> {
    execute(g, fake, &Semaphore::new(bound)).await
}

#[tokio::test]
async fn a_service_starts_when_its_own_dependencies_allow() {
    // B is slow; D needs only C: D starts while B is still starting (B
    // finishes only once D has started, so waiting for B would hang).
    let g = graph(&[
        ("a", &[]),
        ("b", &[("a", STARTED)]),
        ("c", &[("a", STARTED)]),
        ("d", &[("c", STARTED)]),
    ]);
    let mut fake = Fake::new(&g);
    fake.held.insert("b".into(), Notify::new());
    fake.releases.insert("d".into(), "b".into());
    let out = run(&g, &fake, 16).await;
    assert!(out.errors.is_empty() && out.skipped.is_empty());
    assert!(fake.pos("start a") < fake.pos("start c"));
    assert!(fake.pos("start c") < fake.pos("start d"));
    assert!(fake.pos("start d") < fake.pos("start b"));
}

#[tokio::test]
async fn every_container_is_created_ahead_and_a_chain_starts_in_order() {
    let g = graph(&[
        ("d", &[("c", STARTED)]),
        ("c", &[("b", STARTED)]),
        ("b", &[("a", STARTED)]),
        ("a", &[]),
    ]);
    let fake = Fake::new(&g);
    let out = run(&g, &fake, 16).await;
    assert!(out.errors.is_empty() && out.skipped.is_empty());
    let log = fake.log();
    // Creation needs no dependency: all four before the first start.
    assert!(log[..4].iter().all(|l| l.starts_with("create")), "{log:?}");
    assert_eq!(log[4..], ["start a", "start b", "start c", "start d"]);
}

#[tokio::test]
async fn conditions_are_awaited_after_the_dependency_started() {
    let g = graph(&[
        ("db", &[]),
        ("migrate", &[("db", HEALTHY)]),
        ("web", &[("db", HEALTHY), ("migrate", COMPLETED)]),
    ]);
    let fake = Fake::new(&g);
    let out = run(&g, &fake, 16).await;
    assert!(out.errors.is_empty());
    assert!(fake.pos("start db") < fake.pos("wait migrate on db"));
    assert!(fake.pos("wait migrate on db") < fake.pos("start migrate"));
    assert!(fake.pos("start migrate") < fake.pos("wait web on migrate"));
    assert!(fake.pos("wait web on migrate") < fake.pos("start web"));
    assert!(fake.pos("wait web on db") < fake.pos("start web"));
    // A started condition needs no wait at all.
    let g = graph(&[("db", &[]), ("web", &[("db", STARTED)])]);
    let fake = Fake::new(&g);
    run(&g, &fake, 16).await;
    assert!(!fake.log().iter().any(|l| l.starts_with("wait")));
}

#[tokio::test]
async fn a_failure_stops_its_dependants_and_nothing_else() {
    let g = graph(&[
        ("a", &[]),
        ("b", &[("a", STARTED)]),
        ("c", &[("b", STARTED)]),
        ("x", &[]),
        ("y", &[("x", STARTED)]),
        ("z", &[("a", HEALTHY), ("x", STARTED)]),
    ]);
    let mut fake = Fake::new(&g);
    fake.fail_run.insert("a".into());
    let out = run(&g, &fake, 16).await;
    assert_eq!(out.errors, ["a failed"]);
    let mut skipped = out.skipped.clone();
    skipped.sort();
    assert_eq!(skipped, [(1, "a".into()), (2, "b".into()), (5, "a".into())]);
    let log = fake.log();
    for started in ["start x", "start y"] {
        assert!(log.contains(&started.to_string()), "{log:?}");
    }
    for never in ["start b", "start c", "start z", "wait z on a"] {
        assert!(!log.contains(&never.to_string()), "{log:?}");
    }
    // A condition that fails closes the gate of the service waiting.
    let g = graph(&[("db", &[]), ("web", &[("db", HEALTHY)]), ("other", &[])]);
    let mut fake = Fake::new(&g);
    fake.fail_wait.insert("db".into());
    let out = run(&g, &fake, 16).await;
    assert_eq!(out.errors, ["db is unhealthy"]);
    assert_eq!(out.skipped, [(1, "db".to_string())]);
    assert!(!fake.log().contains(&"start web".to_string()));
    assert!(fake.log().contains(&"start other".to_string()));
}

#[tokio::test]
async fn the_bound_holds() {
    let names: Vec<String> = (0..24).map(|i| format!("s{i}")).collect();
    let mut g = Graph::default();
    for (i, n) in names.iter().enumerate() {
        g.nodes.push(n.clone());
        let deps = if i % 2 == 1 {
            vec![(names[i - 1].clone(), STARTED)]
        } else {
            Vec::new()
        };
        g.depends_on.insert(n.clone(), deps);
    }
    let mut fake = Fake::new(&g);
    fake.pause = Duration::from_millis(5);
    let out = run(&g, &fake, 3).await;
    assert!(out.errors.is_empty());
    let max = fake.max.load(Ordering::SeqCst);
    assert!((2..=3).contains(&max), "{max} calls in flight");
    assert_eq!(fake.log().len(), 48);
}

#[tokio::test]
async fn replicas_are_nodes_and_a_service_waits_once() {
    let mut g = graph(&[("db", &[]), ("web", &[("db", HEALTHY)])]);
    g.nodes
        .extend(["db".to_string(), "web".into(), "web".into()]);
    let fake = Fake::new(&g);
    let out = run(&g, &fake, 16).await;
    assert!(out.errors.is_empty());
    let log = fake.log();
    let starts: Vec<usize> = log
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("start"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(starts.len(), 5, "{log:?}");
    let wait = fake.pos("wait web on db");
    // Both db containers started before the wait, the three web ones after.
    let db: Vec<usize> = starts
        .iter()
        .copied()
        .filter(|i| log[*i] == "start db")
        .collect();
    assert!(db.iter().all(|i| *i < wait), "{log:?}");
    assert_eq!(log.iter().filter(|l| l.starts_with("wait")).count(), 1);
}
