//! Unit tests of `ports`.
use super::*;
use crate::limits::Limits;
use crate::registry::Instance;

struct Busy(Vec<u16>);
impl HostProbe for Busy {
    fn in_use(&self, port: u16) -> bool {
        self.0.contains(&port)
    }
}

fn cfg(strategy: Strategy) -> PortsConfig {
    PortsConfig {
        strategy,
        stride: 100,
        range: [1024, 65535],
        host_check: true,
        base: IndexMap::from([("backend".into(), 8765), ("frontend".into(), 3003)]),
    }
}

fn add(r: &mut Registry, name: &str, a: Allocation) {
    r.instances.insert(
        name.into(),
        Instance {
            index: a.index,
            domain: format!("{name}.localhost"),
            project: format!("s-{name}"),
            ports: a.ports,
            data_dir: "/d".into(),
            tier: None,
            limits: Limits::default(),
            created_at: "x".into(),
        },
    );
}

fn req(name: &str) -> Request {
    Request {
        name: name.into(),
        ..Request::default()
    }
}

#[test]
fn sequential_hands_out_next_free() {
    let c = cfg(Strategy::Sequential);
    let mut r = Registry::default();
    for (i, name) in ["prod", "dev", "personal"].iter().enumerate() {
        let a = allocate(&c, &r, &req(name), &NoProbe).unwrap();
        assert_eq!(a.index, i as u32);
        assert_eq!(a.ports["backend"], 8765 + i as u16);
        assert_eq!(a.ports["frontend"], 3003 + i as u16);
        add(&mut r, name, a);
    }
}

#[test]
fn sequential_skips_reserved_and_host_busy() {
    let c = cfg(Strategy::Sequential);
    let mut r = Registry::default();
    r.reserved_ports.push(8765);
    let a = allocate(&c, &r, &req("a"), &Busy(vec![8766, 3003])).unwrap();
    assert_eq!(a.ports["backend"], 8767);
    assert_eq!(a.ports["frontend"], 3004);
}

#[test]
fn sequential_reuses_freed_ports() {
    let c = cfg(Strategy::Sequential);
    let mut r = Registry::default();
    for name in ["a", "b", "c"] {
        let a = allocate(&c, &r, &req(name), &NoProbe).unwrap();
        add(&mut r, name, a);
    }
    r.instances.remove("b");
    let a = allocate(&c, &r, &req("d"), &NoProbe).unwrap();
    assert_eq!(a.index, 1);
    assert_eq!(a.ports["backend"], 8766);
}

#[test]
fn sequential_never_gives_a_port_another_name_holds() {
    // Bases 5000 and 5001: the second instance's first port must skip 5001.
    let mut c = cfg(Strategy::Sequential);
    c.base = IndexMap::from([("a".into(), 5000), ("b".into(), 5001)]);
    let mut r = Registry::default();
    let first = allocate(&c, &r, &req("x"), &NoProbe).unwrap();
    add(&mut r, "x", first);
    let second = allocate(&c, &r, &req("y"), &NoProbe).unwrap();
    assert_eq!(second.ports["a"], 5002);
    assert_eq!(second.ports["b"], 5003);
}

#[test]
fn pinned_ports_are_checked() {
    let c = cfg(Strategy::Sequential);
    let mut r = Registry::default();
    let mut rq = req("a");
    rq.pinned.insert("backend".into(), 9999);
    let a = allocate(&c, &r, &rq, &NoProbe).unwrap();
    assert_eq!(a.ports["backend"], 9999);
    add(&mut r, "a", a);

    let mut rq = req("b");
    rq.pinned.insert("frontend".into(), 9999);
    let err = allocate(&c, &r, &rq, &NoProbe).unwrap_err().to_string();
    assert!(
        err.contains("port 9999") && err.contains("instance `a`"),
        "{err}"
    );

    let mut rq = req("b");
    rq.pinned.insert("frontend".into(), 80);
    let err = allocate(&c, &r, &rq, &NoProbe).unwrap_err().to_string();
    assert!(err.contains("outside the allowed range"), "{err}");

    let mut rq = req("b");
    rq.pinned.insert("db".into(), 5432);
    let err = allocate(&c, &r, &rq, &NoProbe).unwrap_err().to_string();
    assert!(err.contains("no named port `db`"), "{err}");

    let mut rq = req("b");
    rq.pinned.insert("frontend".into(), 4000);
    let err = allocate(&c, &r, &rq, &Busy(vec![4000]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("listens on it"), "{err}");
}

#[test]
fn offset_uses_numeric_names_and_stride() {
    let c = cfg(Strategy::Offset);
    let mut r = Registry::default();
    let a = allocate(&c, &r, &req("5"), &NoProbe).unwrap();
    assert_eq!(a.index, 5);
    assert_eq!(a.ports["backend"], 9265);
    assert_eq!(a.ports["frontend"], 3503);
    add(&mut r, "5", a);
    let b = allocate(&c, &r, &req("feature"), &NoProbe).unwrap();
    assert_eq!(b.index, 0);
    assert_eq!(b.ports["backend"], 8765);
}

#[test]
fn offset_explicit_index_conflicts_name_the_port() {
    let c = cfg(Strategy::Offset);
    let r = Registry::default();
    let err = allocate(&c, &r, &req("1"), &Busy(vec![8865]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("port 8865 for `backend`"), "{err}");
    let mut rq = req("x");
    rq.index = Some(2);
    let err = allocate(&c, &r, &rq, &Busy(vec![3203]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("port 3203 for `frontend`"), "{err}");
}

#[test]
fn offset_automatic_index_moves_on() {
    let c = cfg(Strategy::Offset);
    let mut r = Registry::default();
    r.reserved_ports.push(3003);
    let a = allocate(&c, &r, &req("x"), &Busy(vec![8865])).unwrap();
    assert_eq!(a.index, 2);
    add(&mut r, "x", a);
    let err = allocate(&c, &r, &req("2"), &NoProbe)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("index 2") && err.contains("instance `x`"),
        "{err}"
    );
}

#[test]
fn offset_runs_out_of_range() {
    let mut c = cfg(Strategy::Offset);
    c.range = [1024, 9000];
    let err = allocate(&c, &Registry::default(), &req("3"), &NoProbe)
        .unwrap_err()
        .to_string();
    assert!(err.contains("outside the allowed range"), "{err}");
    let mut r = Registry::default();
    r.reserved_ports.extend([8765, 8865, 8965]);
    let err = allocate(&c, &r, &req("x"), &NoProbe).unwrap_err();
    assert!(matches!(err, Error::NoFreeIndex { .. }), "{err}");
}

#[test]
fn offset_overlapping_bases_do_not_collide() {
    // backend of instance 1 would be frontend of instance 0.
    let mut c = cfg(Strategy::Offset);
    c.base = IndexMap::from([("backend".into(), 5000), ("frontend".into(), 5100)]);
    let mut r = Registry::default();
    let a = allocate(&c, &r, &req("a"), &NoProbe).unwrap();
    add(&mut r, "a", a);
    let b = allocate(&c, &r, &req("b"), &NoProbe).unwrap();
    assert_eq!(b.index, 2);
}

#[test]
fn bind_probe_sees_a_listener() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    assert!(BindProbe.in_use(port));
    drop(listener);
}

#[test]
fn parse_pins() {
    assert_eq!(parse_pin("backend=8765").unwrap(), ("backend".into(), 8765));
    assert!(parse_pin("backend").is_err());
    assert!(parse_pin("backend=0").is_err());
    assert!(parse_pin("backend=65536").is_err());
    assert!(parse_pin("backend=x").is_err());
}
