//! Compose loading on real-world shapes.

use super::*;

pub(super) struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    pub(super) fn new(files: &[(&str, &str)]) -> Files {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        Files { dir }
    }

    pub(super) fn load(&self, names: &[&str], vars: &[(&str, &str)]) -> Result<Project> {
        let files: Vec<PathBuf> = names.iter().map(|n| self.dir.path().join(n)).collect();
        let variables: IndexMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        load_project(&LoadOptions {
            project: "demo-prod",
            working_dir: self.dir.path(),
            files: &files,
            variables: &variables,
            profiles: &[],
        })
    }
}

const REAL_WORLD: &str = r#"
version: "3.8"
x-common: &common
  restart: unless-stopped
  stop_grace_period: 5s
services:
  backend:
    <<: *common
    image: ghcr.io/acme/backend:${TAG:-latest}
    container_name: ${INSTANCE_NAME:-app}-backend
    user: "${UID:-1000}:${GID:-1000}"
    env_file:
      - .env.shared
      - path: .env.optional
        required: false
    environment:
      - LOG_LEVEL=debug
      - DATABASE_URL=postgres://db:5432/app
      - PASSTHROUGH
    ports:
      - "${BACKEND_PORT}:8000"
      - target: 9000
        published: "${METRICS_PORT:-9100}"
        host_ip: 127.0.0.1
        protocol: tcp
    volumes:
      - ${DATA_DIR}/config:/app/config:ro
      - type: volume
        source: cache
        target: /cache
      - type: bind
        source: ./logs
        target: /logs
    depends_on:
      db:
        condition: service_healthy
      migrate:
        condition: service_completed_successfully
    healthcheck:
      test: ["CMD-SHELL", "wget -q -O /dev/null http://localhost:8000/health || exit 1"]
      interval: 10s
      timeout: 5s
      retries: 3
      start_period: 30s
    labels:
      - "traefik.enable=true"
      - "traefik.http.routers.${INSTANCE_NAME}-api.rule=Host(`api.${INSTANCE_DOMAIN}`) && PathPrefix(`/v1`)"
    ulimits:
      nofile:
        soft: 20000
        hard: 40000
      nproc: 65535
    extra_hosts:
      - "host.docker.internal:host-gateway"
    networks:
      - internal
      - proxy
    deploy:
      resources:
        limits:
          memory: 512m
          cpus: "0.5"
  db:
    image: postgres:16
    restart: "no"
    entrypoint: ["docker-entrypoint.sh", "postgres"]
    healthcheck:
      test: pg_isready -U app
      interval: 2s
    networks:
      internal:
        aliases: [database]
    volumes:
      - dbdata:/var/lib/postgresql/data
  migrate:
    image: ghcr.io/acme/backend:${TAG:-latest}
    command: ./manage migrate --noinput
    depends_on: [db]
    networks: [internal]
  debug:
    image: busybox
    profiles: [debug]
networks:
  internal: {}
  proxy:
    external: true
    name: traefik-proxy
volumes:
  dbdata: {}
  cache:
"#;

#[test]
fn real_world_file_resolves() {
    let f = Files::new(&[
        ("docker-compose.yml", REAL_WORLD),
        (".env.shared", "SHARED=1\nLOG_LEVEL=info\n"),
    ]);
    let p = f
        .load(
            &["docker-compose.yml"],
            &[
                ("INSTANCE_NAME", "prod"),
                ("INSTANCE_DOMAIN", "prod.example.com"),
                ("BACKEND_PORT", "8765"),
                ("DATA_DIR", "/data/prod"),
                ("PASSTHROUGH", "yes"),
            ],
        )
        .unwrap();
    assert_eq!(
        p.services.keys().collect::<Vec<_>>(),
        ["backend", "db", "migrate"]
    );
    let b = &p.services["backend"];
    assert_eq!(b.image, "ghcr.io/acme/backend:latest");
    assert_eq!(b.container_name.as_deref(), Some("prod-backend"));
    assert_eq!(b.user.as_deref(), Some("1000:1000"));
    assert_eq!(b.restart.as_deref(), Some("unless-stopped"));
    assert_eq!(b.stop_grace_period_ms, Some(5000));
    assert_eq!(b.environment["SHARED"], "1");
    assert_eq!(
        b.environment["LOG_LEVEL"], "debug",
        "environment wins over env_file"
    );
    assert_eq!(b.environment["PASSTHROUGH"], "yes");
    assert_eq!(b.ports.len(), 2);
    assert_eq!(b.ports[0].published, Some(8765));
    assert_eq!(b.ports[1].published, Some(9100));
    assert_eq!(b.ports[1].host_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(b.mounts[0].source.as_deref(), Some("/data/prod/config"));
    assert!(b.mounts[0].read_only);
    assert_eq!(b.mounts[1].kind, MountKind::Volume);
    let logs = f.dir.path().join("logs");
    assert_eq!(b.mounts[2].source.as_deref(), Some(logs.to_str().unwrap()));
    assert_eq!(b.depends_on["db"], Condition::ServiceHealthy);
    assert_eq!(
        b.depends_on["migrate"],
        Condition::ServiceCompletedSuccessfully
    );
    assert_eq!(b.healthcheck.as_ref().unwrap().test[0], "CMD-SHELL");
    assert_eq!(
        b.healthcheck.as_ref().unwrap().start_period_ms,
        Some(30_000)
    );
    assert_eq!(
        b.labels["traefik.http.routers.prod-api.rule"],
        "Host(`api.prod.example.com`) && PathPrefix(`/v1`)"
    );
    assert_eq!(
        b.ulimits["nofile"],
        Ulimit {
            soft: 20000,
            hard: 40000
        }
    );
    assert_eq!(
        b.ulimits["nproc"],
        Ulimit {
            soft: 65535,
            hard: 65535
        }
    );
    assert_eq!(b.extra_hosts, ["host.docker.internal:host-gateway"]);
    assert_eq!(b.limits.memory, Some(512 << 20));
    assert_eq!(b.limits.nano_cpus, Some(500_000_000));
    let db = &p.services["db"];
    assert_eq!(db.restart.as_deref(), Some("no"));
    assert_eq!(
        db.healthcheck.as_ref().unwrap().test,
        ["CMD-SHELL", "pg_isready -U app"]
    );
    assert_eq!(db.entrypoint.as_ref().unwrap()[0], "docker-entrypoint.sh");
    assert_eq!(db.networks["internal"], ["database"]);
    let m = &p.services["migrate"];
    assert_eq!(
        m.command.as_ref().unwrap(),
        &["./manage", "migrate", "--noinput"]
    );
    assert_eq!(p.networks["internal"].name, "demo-prod_internal");
    assert_eq!(p.networks["proxy"].name, "traefik-proxy");
    assert!(p.networks["proxy"].external);
    assert_eq!(p.volumes["dbdata"].name, "demo-prod_dbdata");
    assert!(p.volumes.contains_key("cache"));
    assert_eq!(
        waves(&p).unwrap(),
        [vec!["db"], vec!["migrate"], vec!["backend"]]
    );
    // A variable with a default is not "unset": compose does not warn about it either.
    assert!(p.unset_variables.is_empty(), "{:?}", p.unset_variables);
}

#[test]
fn override_file_merges() {
    let f = Files::new(&[
        (
            "base.yml",
            "services:\n  web:\n    image: busybox\n    ports: ['${WEB_PORT}:80']\n    labels: {a: '1'}\n",
        ),
        (
            ".instances/p/override.yml",
            "services:\n  web:\n    labels:\n      mrctl.instance: p\n    mem_limit: 256m\n",
        ),
    ]);
    let p = f
        .load(
            &["base.yml", ".instances/p/override.yml"],
            &[("WEB_PORT", "8080")],
        )
        .unwrap();
    let web = &p.services["web"];
    assert_eq!(web.labels["a"], "1");
    assert_eq!(web.labels["mrctl.instance"], "p");
    assert_eq!(web.limits.memory, Some(256 << 20));
    assert_eq!(p.networks["default"].name, "demo-prod_default");
}

#[test]
fn unsupported_keys_name_file_service_and_key() {
    let f = Files::new(&[(
        "c.yml",
        "services:\n  web:\n    no_such_key: {size: 1G}\n    image: x\n",
    )]);
    let err = f.load(&["c.yml"], &[]).unwrap_err().to_string();
    assert!(
        err.contains("c.yml`: service `web`: key `no_such_key` is not supported"),
        "{err}"
    );
    // A key of the specification mrctl does not run: refused with the reason.
    let f = Files::new(&[(
        "c.yml",
        "services:\n  web:\n    image: x\n    credential_spec: {file: spec.json}\n",
    )]);
    let err = f.load(&["c.yml"], &[]).unwrap_err().to_string();
    assert!(
        err.contains("service `web`: `credential_spec` is not supported by mrctl: it configures a Windows container"),
        "{err}"
    );
    let f = Files::new(&[("c.yml", "services:\n  web:\n    image: x\nmodels: {}\n")]);
    let err = f.load(&["c.yml"], &[]).unwrap_err().to_string();
    assert!(err.contains("top-level key `models`"), "{err}");
}

#[test]
fn yaml_errors_carry_positions() {
    let f = Files::new(&[("c.yml", "services:\n  web:\n    image: [x\n")]);
    let err = f.load(&["c.yml"], &[]).unwrap_err().to_string();
    assert!(err.contains("c.yml:"), "{err}");
    assert!(err.chars().filter(|c| *c == ':').count() >= 2, "{err}");
}

#[test]
fn required_variable_error_names_the_key() {
    let f = Files::new(&[(
        "c.yml",
        "services:\n  web:\n    image: ${IMAGE:?set IMAGE}\n",
    )]);
    let err = f.load(&["c.yml"], &[]).unwrap_err().to_string();
    assert!(
        err.contains(
            "`services.web.image`: required variable `IMAGE` is missing a value: set IMAGE"
        ),
        "{err}"
    );
}

#[test]
fn semantic_errors() {
    let cases = [
        (
            "services:\n  web:\n    image: x\n    depends_on: [db]\n",
            "depends on `db`, which is not defined",
        ),
        (
            "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n",
            "dependency cycle among services `a`, `b`",
        ),
        (
            "services:\n  web:\n    image: x\n    volumes: ['data:/d']\n",
            "volume `data` is not declared",
        ),
        (
            "services:\n  web:\n    image: x\n    networks: [front]\n",
            "network `front`, which is not declared",
        ),
        (
            "services:\n  web:\n    command: x\n",
            "`image` or `build` is required",
        ),
        (
            "services:\n  web:\n    image: x\n    ports: ['99999:80']\n",
            "is not a port",
        ),
        (
            "services:\n  web:\n    image: x\n    restart: sometimes\n",
            "`restart`: `sometimes`",
        ),
        (
            "services:\n  web:\n    image: x\n    healthcheck:\n      test: [echo]\n",
            "must start with `CMD`",
        ),
        (
            "services:\n  web:\n    image: x\n    stop_grace_period: soon\n",
            "is not a duration",
        ),
        (
            "services:\n  web:\n    image: x\n    mem_limit: lots\n",
            "`mem_limit`: `lots`",
        ),
        (
            "services:\n  web:\n    image: x\n    container_name: c\n    deploy:\n      replicas: 2\n",
            "service `web`: `container_name` names one container, but the service runs 2",
        ),
        (
            "services:\n  web:\n    image: x\n    scale: 2\n    deploy:\n      replicas: 3\n",
            "service `web`: `scale` (2) and `deploy.replicas` (3) differ",
        ),
        (
            "services:\n  web:\n    image: x\n    mem_limit: 30m\n    deploy:\n      resources:\n        limits:\n          memory: 20m\n",
            "`mem_limit` and `deploy.resources.limits.memory` differ",
        ),
        (
            "services:\n  a:\n    image: x\n    container_name: c\n  b:\n    image: x\n    container_name: c\n",
            "both use container_name `c`",
        ),
        ("services: {}\n", "no services to run"),
        (
            "services:\n  web:\n    image: x\n    environment: 5\n",
            "`environment` must be a mapping or a list",
        ),
        ("- a\n- b\n", "the top level must be a mapping"),
    ];
    for (text, needle) in cases {
        let f = Files::new(&[("c.yml", text)]);
        let err = f.load(&["c.yml"], &[]).unwrap_err().to_string();
        assert!(err.contains(needle), "{text:?}: {err}");
    }
}

#[test]
fn yaml_bomb_is_refused() {
    let bomb = r#"
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
services:
  web:
    image: x
"#;
    let f = Files::new(&[("c.yml", bomb)]);
    assert!(f.load(&["c.yml"], &[]).is_err());
}

#[test]
fn profiles_exclude_services() {
    let f = Files::new(&[(
        "c.yml",
        "services:\n  web:\n    image: x\n  dbg:\n    image: y\n    profiles: [debug]\n",
    )]);
    let p = f.load(&["c.yml"], &[]).unwrap();
    assert!(!p.services.contains_key("dbg"));
}

#[test]
fn waves_run_independent_services_together() {
    let f = Files::new(&[(
        "c.yml",
        "services:\n  api:\n    image: x\n    depends_on: [mesh]\n  security:\n    image: x\n  model:\n    image: x\n  mesh:\n    image: x\n    depends_on: [security, model]\n  ui:\n    image: x\n    depends_on: [api]\n",
    )]);
    let p = f.load(&["c.yml"], &[]).unwrap();
    assert_eq!(
        waves(&p).unwrap(),
        [
            vec!["security", "model"],
            vec!["mesh"],
            vec!["api"],
            vec!["ui"]
        ]
    );
}

#[test]
fn the_resolved_project_carries_its_waves() {
    let f = Files::new(&[(
        "c.yml",
        "services:\n  web:\n    image: x\n    depends_on: [db]\n  db:\n    image: x\n  cache:\n    image: x\n",
    )]);
    let p = f.load(&["c.yml"], &[]).unwrap();
    assert_eq!(p.waves, [vec!["db", "cache"], vec!["web"]]);
    assert_eq!(p.waves, waves(&p).unwrap());
}

#[test]
fn build_sections_are_resolved_with_an_absolute_context() {
    let f = Files::new(&[(
        "c.yml",
        "services:\n  web:\n    build: ./web\n  api:\n    image: shop/api:1\n    build:\n      context: api\n      dockerfile: docker/Dockerfile\n      target: final\n      args: [\"VERSION=2\", \"FROM_ENV\"]\n      labels: {team: x}\n      shm_size: 64m\n  db:\n    image: busybox:latest\n",
    )]);
    let p = f.load(&["c.yml"], &[]).unwrap();
    let web = &p.services["web"];
    // Built only: named as docker compose names it.
    assert_eq!(web.image, "demo-prod-web");
    let b = web.build.as_ref().unwrap();
    assert!(std::path::Path::new(&b.context).is_absolute());
    assert!(b.context.ends_with("/web"), "{}", b.context);
    let api = &p.services["api"];
    assert_eq!(api.image, "shop/api:1");
    let b = api.build.as_ref().unwrap();
    assert_eq!(b.dockerfile.as_deref(), Some("docker/Dockerfile"));
    assert_eq!(b.target.as_deref(), Some("final"));
    assert_eq!(b.args["VERSION"], "2");
    assert!(
        !b.args.contains_key("FROM_ENV"),
        "unset: left out as compose does"
    );
    assert_eq!(b.labels["team"], "x");
    assert_eq!(b.shm_size, Some(64 << 20));
    // A service without build keeps the hash it had (no `build` key in it).
    assert!(p.services["db"].build.is_none());
    let remote = Files::new(&[(
        "c.yml",
        "services:\n  web:\n    build: https://example.com/repo.git\n",
    )]);
    let err = remote.load(&["c.yml"], &[]).unwrap_err().to_string();
    assert!(err.contains("is a remote context"), "{err}");
}

#[test]
fn the_count_of_containers_merges_and_stays_out_of_the_hash() {
    let f = Files::new(&[
        (
            "base.yml",
            "services:\n  web:\n    image: x\n    deploy:\n      replicas: 3\n  db:\n    image: x\n",
        ),
        (
            "over.yml",
            "services:\n  web:\n    deploy:\n      resources:\n        limits:\n          memory: 64m\n  db:\n    scale: ${DB_COUNT}\n",
        ),
    ]);
    let p = f
        .load(&["base.yml", "over.yml"], &[("DB_COUNT", "0")])
        .unwrap();
    assert_eq!(p.services["web"].replicas, 3);
    assert_eq!(p.services["web"].limits.memory, Some(64 << 20));
    assert_eq!(p.services["db"].replicas, 0);
    // Scaling changes no container: the hash is the same for any count.
    let one = Files::new(&[("c.yml", "services:\n  web:\n    image: x\n")]);
    let three = Files::new(&[("c.yml", "services:\n  web:\n    image: x\n    scale: 3\n")]);
    assert_eq!(
        one.load(&["c.yml"], &[]).unwrap().config_hash("web"),
        three.load(&["c.yml"], &[]).unwrap().config_hash("web")
    );
}
