//! Port allocation. `sequential`: per named port, the lowest free port at or
//! above its base. `offset`: instance N gets base + N × stride for every
//! named port. A port is free when no instance holds it, it is not reserved,
//! and (with `host_check`) no process on this host listens on it. Callers run
//! this under the registry lock and persist the result under the same lock.

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};

use indexmap::IndexMap;

use crate::error::{Error, PortConflict, Result};
use crate::names;
use crate::registry::Registry;
use crate::stack::{PortsConfig, Strategy};

/// Tells whether some process on this host listens on a port.
pub trait HostProbe {
    fn in_use(&self, port: u16) -> bool;
}

/// Probes by binding: a port is in use when binding it on 0.0.0.0 or
/// 127.0.0.1 (or `::`, where IPv6 exists) fails with "address in use".
pub struct BindProbe;

impl HostProbe for BindProbe {
    fn in_use(&self, port: u16) -> bool {
        let addrs = [
            SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)),
            SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)),
        ];
        addrs.iter().any(|addr| match TcpListener::bind(addr) {
            Ok(_) => false,
            Err(e) => e.kind() == std::io::ErrorKind::AddrInUse,
        })
    }
}

/// A probe that reports every port free (for `host_check = false`).
pub struct NoProbe;

impl HostProbe for NoProbe {
    fn in_use(&self, _port: u16) -> bool {
        false
    }
}

/// What the caller asks for.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The instance's name (a number names its own index).
    pub name: String,
    /// `--index N`.
    pub index: Option<u32>,
    /// `--port NAME=PORT`.
    pub pinned: IndexMap<String, u16>,
}

/// What the allocator hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub index: u32,
    pub ports: IndexMap<String, u16>,
}

/// Parses `NAME=PORT` as given to `--port`.
pub fn parse_pin(spec: &str) -> Result<(String, u16)> {
    let fail = |reason: &str| Error::InvalidPort {
        spec: spec.to_string(),
        reason: reason.to_string(),
    };
    let (name, port) = spec
        .split_once('=')
        .ok_or_else(|| fail("write it as NAME=PORT, e.g. `backend=8765`"))?;
    let port = port.trim();
    if port.is_empty() || !port.chars().all(|c| c.is_ascii_digit()) {
        return Err(fail("the port is not a number"));
    }
    let port: u64 = port.parse().unwrap_or(u64::MAX);
    if port == 0 || port > 65535 {
        return Err(fail("a port is between 1 and 65535"));
    }
    Ok((name.trim().to_string(), port as u16))
}

struct Taken<'a> {
    registry: &'a Registry,
    reserved: HashSet<u16>,
    held: HashSet<u16>,
    cfg: &'a PortsConfig,
    probe: &'a dyn HostProbe,
}

impl Taken<'_> {
    /// Whether `port` can be had: the cheap test the allocators loop on (the
    /// reason, which scans the registry, is only worked out for errors).
    fn is_free(&self, port: u16) -> bool {
        let [lo, hi] = self.cfg.range;
        let taken = self.held.contains(&port) || self.reserved.contains(&port);
        (lo..=hi).contains(&port) && !taken && !(self.cfg.host_check && self.probe.in_use(port))
    }

    /// Why `port` cannot be had, checking cheap reasons before the host probe.
    fn conflict(&self, port: u16) -> Option<PortConflict> {
        let [lo, hi] = self.cfg.range;
        if port < lo || port > hi {
            return Some(PortConflict::OutOfRange(lo, hi));
        }
        if self.held.contains(&port) {
            let (inst, pn) = self.registry.holder_of(port).unwrap_or(("?", "?"));
            return Some(PortConflict::HeldBy(inst.to_string(), pn.to_string()));
        }
        if self.reserved.contains(&port) {
            return Some(PortConflict::Reserved);
        }
        if self.cfg.host_check && self.probe.in_use(port) {
            return Some(PortConflict::HostInUse);
        }
        None
    }
}

/// Allocates an index and a port for every named port of `cfg`.
pub fn allocate(
    cfg: &PortsConfig,
    registry: &Registry,
    req: &Request,
    probe: &dyn HostProbe,
) -> Result<Allocation> {
    for name in req.pinned.keys() {
        if !cfg.base.contains_key(name) {
            let known: Vec<_> = cfg.base.keys().map(|k| format!("`{k}`")).collect();
            return Err(Error::InvalidPort {
                spec: name.clone(),
                reason: if known.is_empty() {
                    "mrctl.toml defines no `[ports.base]`".into()
                } else {
                    format!("no named port `{name}` (ports: {})", known.join(", "))
                },
            });
        }
    }
    let taken = Taken {
        registry,
        reserved: registry.reserved_ports.iter().copied().collect(),
        held: registry
            .instances
            .values()
            .flat_map(|i| i.ports.values().copied())
            .collect(),
        cfg,
        probe,
    };
    let explicit = req.index.or_else(|| names::numeric_index(&req.name));
    if let Some(index) = explicit
        && let Some(holder) = registry.index_holder(index)
    {
        return Err(Error::IndexTaken {
            index,
            instance: req.name.clone(),
            holder: holder.to_string(),
        });
    }
    let used_indexes: HashSet<u32> = registry.instances.values().map(|i| i.index).collect();
    match cfg.strategy {
        Strategy::Sequential => {
            let index = explicit.unwrap_or_else(|| lowest_free(&used_indexes, 0));
            let ports = sequential(cfg, &taken, req)?;
            Ok(Allocation { index, ports })
        }
        Strategy::Offset => match explicit {
            Some(index) => {
                let ports = offset_ports(cfg, &taken, req, index, true)?
                    .expect("strict offset allocation returns ports or an error");
                Ok(Allocation { index, ports })
            }
            None => {
                let mut index = lowest_free(&used_indexes, 0);
                loop {
                    if beyond_range(cfg, index) {
                        return Err(Error::NoFreeIndex {
                            instance: req.name.clone(),
                            last: index.saturating_sub(1),
                            max: cfg.range[1],
                        });
                    }
                    if let Some(ports) = offset_ports(cfg, &taken, req, index, false)? {
                        return Ok(Allocation { index, ports });
                    }
                    index = lowest_free(&used_indexes, index + 1);
                }
            }
        },
    }
}

fn lowest_free(used: &HashSet<u32>, from: u32) -> u32 {
    (from..=u32::MAX)
        .find(|i| !used.contains(i))
        .unwrap_or(u32::MAX)
}

/// The port `base + index × stride`, if it fits in a u16.
fn offset_port(base: u16, index: u32, stride: u32) -> Option<u16> {
    let port = base as u64 + index as u64 * stride as u64;
    u16::try_from(port).ok()
}

/// True when index's ports would all lie past the range.
fn beyond_range(cfg: &PortsConfig, index: u32) -> bool {
    let min_base = cfg.base.values().copied().min().unwrap_or(cfg.range[0]);
    offset_port(min_base, index, cfg.stride).is_none_or(|p| p > cfg.range[1])
}

/// Ports of `index` under the offset strategy. With `strict`, a taken port is
/// an error naming it; otherwise `None` says "try the next index".
fn offset_ports(
    cfg: &PortsConfig,
    taken: &Taken<'_>,
    req: &Request,
    index: u32,
    strict: bool,
) -> Result<Option<IndexMap<String, u16>>> {
    let mut ports = IndexMap::new();
    for (port_name, &base) in &cfg.base {
        let pinned = req.pinned.get(port_name).copied();
        let port = match pinned.or_else(|| offset_port(base, index, cfg.stride)) {
            Some(p) => p,
            None if strict => {
                return Err(Error::PortUnavailable {
                    port: u16::MAX,
                    port_name: port_name.clone(),
                    instance: req.name.clone(),
                    conflict: PortConflict::OutOfRange(cfg.range[0], cfg.range[1]),
                });
            }
            None => return Ok(None),
        };
        if taken.is_free(port) && duplicate(&ports, port).is_none() {
            ports.insert(port_name.clone(), port);
            continue;
        }
        let conflict = taken.conflict(port).or_else(|| duplicate(&ports, port));
        if let Some(conflict) = conflict {
            if strict || pinned.is_some() {
                return Err(Error::PortUnavailable {
                    port,
                    port_name: port_name.clone(),
                    instance: req.name.clone(),
                    conflict,
                });
            }
            return Ok(None);
        }
        ports.insert(port_name.clone(), port);
    }
    Ok(Some(ports))
}

fn duplicate(ports: &IndexMap<String, u16>, port: u16) -> Option<PortConflict> {
    ports
        .iter()
        .find(|(_, p)| **p == port)
        .map(|(n, _)| PortConflict::Duplicate(n.clone()))
}

fn sequential(
    cfg: &PortsConfig,
    taken: &Taken<'_>,
    req: &Request,
) -> Result<IndexMap<String, u16>> {
    let mut ports: IndexMap<String, u16> = IndexMap::new();
    // Pinned ports first, so the automatic ones step around them.
    for (port_name, &port) in &req.pinned {
        if let Some(conflict) = taken.conflict(port).or_else(|| duplicate(&ports, port)) {
            return Err(Error::PortUnavailable {
                port,
                port_name: port_name.clone(),
                instance: req.name.clone(),
                conflict,
            });
        }
        ports.insert(port_name.clone(), port);
    }
    let mut result = IndexMap::new();
    for (port_name, &base) in &cfg.base {
        if let Some(&port) = ports.get(port_name) {
            result.insert(port_name.clone(), port);
            continue;
        }
        let mut candidate = base.max(cfg.range[0]) as u32;
        let found = loop {
            if candidate > cfg.range[1] as u32 {
                break None;
            }
            let port = candidate as u16;
            let chosen = ports.values().any(|p| *p == port);
            if !chosen && taken.is_free(port) {
                break Some(port);
            }
            candidate += 1;
        };
        let port = found.ok_or_else(|| Error::NoFreePort {
            port_name: port_name.clone(),
            instance: req.name.clone(),
            from: base,
            to: cfg.range[1],
        })?;
        ports.insert(port_name.clone(), port);
        result.insert(port_name.clone(), port);
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
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
}
