//! The merged document → the typed project, validating values on the way.
//! Every error names the service and the key.

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::fields::*;
use super::load::{kind, scalar};
use super::model::*;
use super::settings::{build, settings};

mod attach;
pub(super) use attach::file_objects;
use attach::{file_refs, ipam, service_networks};

/// The project's top-level objects a service may refer to.
pub struct Declared<'a> {
    pub volumes: &'a IndexMap<String, Volume>,
    pub secrets: &'a IndexMap<String, FileObject>,
    pub configs: &'a IndexMap<String, FileObject>,
}

fn restart(v: Option<String>) -> R<Option<String>> {
    match v.as_deref() {
        None => Ok(None),
        Some("no" | "always" | "unless-stopped" | "on-failure") => Ok(v),
        Some(s) if s.starts_with("on-failure:") && s[11..].parse::<u32>().is_ok() => Ok(v),
        Some("false") => Ok(Some("no".into())),
        Some(s) => Err(format!(
            "`restart`: `{s}` is not one of `no`, `always`, `on-failure[:N]`, `unless-stopped`"
        )),
    }
}

/// The service's environment: its `env_file`s in order, then its
/// `environment`, which wins. An env file's `${VAR}` looks in the
/// interpolation variables first, then in the service's `environment`, then
/// in the file's earlier keys (as compose v2 resolves them); its values are
/// not overridden by the process environment.
fn environment(
    svc: &Map<String, Value>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> R<IndexMap<String, String>> {
    let mut declared = IndexMap::new();
    if let Some(Value::Object(m)) = svc.get("environment") {
        for (k, v) in m {
            match v {
                // `- KEY` without a value passes the variable through, if it is set.
                Value::Null => {
                    if let Some(val) = lookup(k) {
                        declared.insert(k.clone(), val);
                    }
                }
                v => {
                    declared.insert(k.clone(), string(v, &format!("environment.{k}"))?);
                }
            }
        }
    }
    let mut env = IndexMap::new();
    if let Some(Value::Array(files)) = svc.get("env_file") {
        let file_lookup = |k: &str| lookup(k).or_else(|| declared.get(k).cloned());
        for f in files {
            let path = f.get("path").and_then(Value::as_str).unwrap_or_default();
            let required = f.get("required").and_then(Value::as_bool).unwrap_or(true);
            let raw = f.get("format").and_then(Value::as_str) == Some("raw");
            let text = match crate::fsutil::read_optional(
                std::path::Path::new(path),
                crate::fsutil::FileKind::EnvFile,
            ) {
                Ok(Some(text)) => text,
                Ok(None) if !required => continue,
                Ok(None) => return Err(format!("`env_file`: `{path}` does not exist")),
                Err(e) => return Err(format!("`env_file`: {e}")),
            };
            let parsed = if raw {
                crate::envfile::raw_entries(&text, &file_lookup)
            } else {
                crate::envfile::entries(&text, &file_lookup)
            }
            .map_err(|e| format!("`env_file`: `{path}` {e}"))?;
            for e in parsed {
                if let Some(v) = e.value {
                    env.insert(e.key.to_string(), v);
                }
            }
        }
    }
    env.extend(declared);
    Ok(env)
}

/// `depends_on`, then the services the service names elsewhere
/// (`settings_more::implied_dependencies`), which it is started after too.
/// `restart` and `required` must be booleans; `required: false` is applied
/// when the project is resolved (a missing optional dependency is skipped).
fn depends_on(v: Option<&Value>, implied: &[String]) -> R<IndexMap<String, Condition>> {
    let mut out = IndexMap::new();
    if let Some(Value::Object(m)) = v {
        for (dep, spec) in m {
            let condition = match spec.get("condition").and_then(Value::as_str) {
                None | Some("service_started") => Condition::ServiceStarted,
                Some("service_healthy") => Condition::ServiceHealthy,
                Some("service_completed_successfully") => Condition::ServiceCompletedSuccessfully,
                Some(other) => {
                    return Err(format!(
                        "`depends_on.{dep}.condition`: unknown condition `{other}`"
                    ));
                }
            };
            if let Value::Object(s) = spec {
                for (k, v) in s {
                    match k.as_str() {
                        "condition" => {}
                        "restart" | "required" => {
                            if !matches!(v, Value::Bool(_))
                                && !matches!(v.as_str(), Some("true" | "false"))
                            {
                                return Err(format!(
                                    "`depends_on.{dep}.{k}` must be true or false, not {}",
                                    kind(v)
                                ));
                            }
                        }
                        _ => {
                            return Err(format!("`depends_on.{dep}`: key `{k}` is not supported"));
                        }
                    }
                }
            }
            out.insert(dep.clone(), condition);
        }
    }
    for dep in implied {
        out.entry(dep.clone()).or_insert(Condition::ServiceStarted);
    }
    Ok(out)
}

/// Converts one merged service.
pub fn service(
    project: &str,
    name: &str,
    svc: &Map<String, Value>,
    declared: &Declared<'_>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> R<Service> {
    let build = build(svc.get("build"), lookup)?;
    let image = match (
        opt_string(svc, "image")?.filter(|s| !s.trim().is_empty()),
        &build,
    ) {
        (Some(image), _) => image,
        (None, Some(_)) => format!("{project}-{name}"),
        (None, None) => return Err("`image` or `build` is required".into()),
    };
    let pull_policy = match opt_string(svc, "pull_policy")?.as_deref() {
        None => None,
        Some("always") => Some("always".to_string()),
        Some("missing" | "if_not_present") => Some("missing".to_string()),
        Some("never") => Some("never".to_string()),
        Some("build") if build.is_some() => Some("build".to_string()),
        Some("build") => return Err("`pull_policy: build` needs a `build` section".into()),
        Some(other) => {
            return Err(format!(
                "`pull_policy`: `{other}` is not supported by mrctl (`always`, `missing`, `never` or `build`)"
            ));
        }
    };
    let profiles = match svc.get("profiles") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().filter_map(scalar).collect(),
        Some(other) => return Err(format!("`profiles` must be a list, not {}", kind(other))),
    };
    let expose = match svc.get("expose") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().filter_map(scalar).collect(),
        Some(other) => return Err(format!("`expose` must be a list, not {}", kind(other))),
    };
    let extra_hosts = match svc.get("extra_hosts") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|x| {
                let s = scalar(x).unwrap_or_default();
                // Compose accepts `host=ip` too; the engine wants `host:ip`.
                match s.split_once('=') {
                    Some((h, ip)) if !s.contains(':') || s.find('=') < s.find(':') => {
                        format!("{h}:{ip}")
                    }
                    _ => s,
                }
            })
            .collect(),
        _ => Vec::new(),
    };
    if let Some(cn) = opt_string(svc, "container_name")?
        && !valid_container_name(&cn)
    {
        return Err(format!(
            "`container_name`: `{cn}` is not a valid container name"
        ));
    }
    let settings = settings(svc)?;
    let (networks, endpoints) = service_networks(svc.get("networks"))?;
    // A service in another's network namespace joins no network itself.
    let (networks, endpoints) = if settings.network_mode.is_some() {
        (IndexMap::new(), IndexMap::new())
    } else {
        (networks, endpoints)
    };
    Ok(Service {
        name: name.to_string(),
        image,
        build,
        command: command(svc.get("command"), "command")?,
        entrypoint: command(svc.get("entrypoint"), "entrypoint")?,
        environment: environment(svc, lookup)?,
        ports: ports(svc.get("ports"))?,
        expose,
        mounts: mounts(svc.get("volumes"), declared.volumes)?,
        networks,
        endpoints,
        secrets: file_refs(svc.get("secrets"), "secrets", declared.secrets)?,
        configs: file_refs(svc.get("configs"), "configs", declared.configs)?,
        depends_on: depends_on(
            svc.get("depends_on"),
            &super::settings_more::implied_dependencies(&settings),
        )?,
        healthcheck: healthcheck(svc.get("healthcheck"))?,
        labels: super::settings_more::labels(svc, lookup)?,
        restart: restart(opt_string(svc, "restart")?)?,
        container_name: opt_string(svc, "container_name")?,
        hostname: opt_string(svc, "hostname")?,
        user: opt_string(svc, "user")?,
        working_dir: opt_string(svc, "working_dir")?,
        extra_hosts,
        stop_grace_period_ms: duration_ms(svc.get("stop_grace_period"), "stop_grace_period")?,
        stop_signal: opt_string(svc, "stop_signal")?,
        ulimits: ulimits(svc.get("ulimits"))?,
        profiles,
        pull_policy,
        settings,
        deploy: super::deploy::deploy(svc)?,
        replicas: super::deploy::replicas(svc)?,
        limits: limits(svc)?,
    })
}

fn valid_container_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// Converts the top-level `networks` or `volumes` entries (volumes use the
/// same shape, less `internal`).
pub fn resources(v: Option<&Value>, project: &str, what: &str) -> R<IndexMap<String, Network>> {
    let mut out = IndexMap::new();
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(out);
    };
    let Value::Object(m) = v else {
        return Err(format!(
            "top-level `{what}` must be a mapping, not {}",
            kind(v)
        ));
    };
    let allowed: &[&str] = if what == "networks" {
        &[
            "name",
            "external",
            "driver",
            "driver_opts",
            "labels",
            "internal",
            "attachable",
            "enable_ipv6",
            "ipam",
        ]
    } else {
        &["name", "external", "driver", "driver_opts", "labels"]
    };
    for (key, spec) in m {
        let spec = match spec {
            Value::Null => Map::new(),
            Value::Object(s) => s.clone(),
            other => {
                return Err(format!(
                    "`{what}.{key}` must be a mapping, not {}",
                    kind(other)
                ));
            }
        };
        for k in spec.keys() {
            if !allowed.contains(&k.as_str()) && !k.starts_with("x-") {
                return Err(format!("`{what}.{key}`: key `{k}` is not supported"));
            }
        }
        let external = match spec.get("external") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::Object(_)) => true,
            Some(other) => {
                return Err(format!(
                    "`{what}.{key}.external` must be true or false, not {}",
                    kind(other)
                ));
            }
        };
        let explicit = spec.get("name").and_then(scalar).or_else(|| {
            spec.get("external")
                .and_then(|e| e.get("name"))
                .and_then(scalar)
        });
        let name = match explicit {
            Some(n) => n,
            None if external => key.clone(),
            None => format!("{project}_{key}"),
        };
        out.insert(
            key.clone(),
            Network {
                name,
                external,
                driver: spec.get("driver").and_then(scalar),
                internal: spec
                    .get("internal")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                labels: string_map(spec.get("labels"), &format!("{what}.{key}.labels"))?,
                driver_opts: string_map(
                    spec.get("driver_opts"),
                    &format!("{what}.{key}.driver_opts"),
                )?,
                attachable: spec
                    .get("attachable")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                enable_ipv6: spec.get("enable_ipv6").and_then(Value::as_bool),
                ipam: ipam(spec.get("ipam"), key)?,
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_port_forms() {
        let p = short_ports("8080:80").unwrap();
        assert_eq!(p[0].published, Some(8080));
        assert_eq!(p[0].target, 80);
        let p = short_ports("127.0.0.1:8080:80/udp").unwrap();
        assert_eq!(p[0].host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(p[0].protocol, "udp");
        let p = short_ports("80").unwrap();
        assert_eq!(p[0].published, None);
        let p = short_ports("3000-3002:4000-4002").unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!((p[2].published, p[2].target), (Some(3002), 4002));
        // A host range for one container port: one port, the engine picks.
        let p = short_ports("8000-8002:80").unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(
            (p[0].published, p[0].published_end),
            (Some(8000), Some(8002))
        );
        assert_eq!(p[0].host_port().as_deref(), Some("8000-8002"));
        let p = short_ports("[::1]:8080:80").unwrap();
        assert_eq!(p[0].host_ip.as_deref(), Some("::1"));
        // Host port 0: the engine picks one, as compose lets it.
        let p = short_ports("0:83").unwrap();
        assert_eq!((p[0].published, p[0].target), (Some(0), 83));
        for bad in [
            "", "x:80", "8080:0", "70000:80", "80/icmp", "1:2:3:4", "5-3:5-3", "1-3:1-2",
        ] {
            assert!(short_ports(bad).is_err(), "{bad}");
        }
    }
}
