use std::collections::HashMap;
use std::path::PathBuf;

use bollard::models::{
    EndpointSettings, HealthConfig, Mount as DockerMount, MountType, MountVolumeOptions,
    PortBinding, ResourcesUlimits, RestartPolicy, RestartPolicyNameEnum,
};

use bollard::models::{EndpointIpamConfig, MountBindOptions, MountTmpfsOptions};

use super::*;
use crate::compose::Limits;
use crate::engine::drift::tests::project;
use crate::identity::Identity;

fn opts() -> UpOptions {
    UpOptions {
        timeout: std::time::Duration::from_secs(1),
        identity: Identity {
            stack: "shop".into(),
            id: "id-1".into(),
            dir: PathBuf::from("/srv"),
        },
        instance: "alpha".into(),
        env_files: Vec::new(),
        build: false,
    }
}

fn stamp(hash: &str) -> Stamp {
    Stamp {
        hash: hash.into(),
        image_id: None,
    }
}

/// The one service of a project resolved from `services:\n  web:\n` + `body`.
fn web(body: &str) -> (Project, Service) {
    let p = project(&format!("services:\n  web:\n    image: busybox\n{body}"));
    let svc = p.services["web"].clone();
    (p, svc)
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn base_labels_name_the_project_the_version_and_the_instance() {
    let (p, _) = web("");
    let l = base_labels(&p, &opts());
    let want: HashMap<String, String> = [
        ("com.docker.compose.project", "p"),
        ("com.docker.compose.version", "2.40.3"),
        ("mrctl.stack", "shop"),
        ("mrctl.instance", "alpha"),
        ("mrctl.stack-id", "id-1"),
        ("mrctl.stack-dir", "/srv"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(l, want);
}

#[test]
fn container_labels_are_the_services_then_compose_and_identity() {
    let (p, svc) = web(concat!(
        "    labels: {team: web, com.docker.compose.project: other}\n",
        "    depends_on:\n      db: {condition: service_healthy}\n",
        "  db:\n    image: busybox\n    healthcheck: {test: [CMD, 'true']}\n",
    ));
    let l = container_labels(&p, &svc, 1, &stamp("abc"), &opts());
    let get = |k: &str| l.get(k).map(String::as_str);
    assert_eq!(get("team"), Some("web"));
    // mrctl's labels win over a service's label of the same key.
    assert_eq!(get(labels::PROJECT), Some("p"));
    assert_eq!(get(labels::SERVICE), Some("web"));
    assert_eq!(get(labels::NUMBER), Some("1"));
    assert_eq!(get(labels::ONEOFF), Some("False"));
    assert_eq!(get(labels::CONFIG_HASH), Some("abc"));
    assert_eq!(get(labels::WORKING_DIR), Some("/srv"));
    assert_eq!(get(labels::CONFIG_FILES), Some("docker-compose.yml"));
    assert_eq!(get(labels::DEPENDS_ON), Some("db:service_healthy:false"));
    assert_eq!(get(labels::INSTANCE), Some("alpha"));
    assert_eq!(l.len(), 14);
}

#[test]
fn container_labels_record_the_image_the_env_files_and_dependency_restarts() {
    let (p, svc) = web(concat!(
        "    depends_on:\n",
        "      db: {condition: service_started, restart: true}\n",
        "      cache: {condition: service_healthy}\n",
        "  db:\n    image: busybox\n",
        "  cache:\n    image: busybox\n    healthcheck: {test: [CMD, 'true']}\n",
    ));
    let mut o = opts();
    o.env_files = vec![PathBuf::from("/srv/.instances/alpha/.env")];
    let stamp = Stamp {
        hash: "h".into(),
        image_id: Some("sha256:abc".into()),
    };
    let l = container_labels(&p, &svc, 1, &stamp, &o);
    assert_eq!(l[labels::IMAGE], "sha256:abc");
    assert_eq!(l[labels::ENVIRONMENT_FILE], "/srv/.instances/alpha/.env");
    assert_eq!(
        l[labels::DEPENDS_ON],
        "db:service_started:true,cache:service_healthy:false"
    );
}

#[test]
fn published_ports_come_first_then_exposed_as_written() {
    let (_, svc) = web(concat!(
        "    ports: [\"8080:80\", \"127.0.0.1:8081:80\", \"53/udp\"]\n",
        "    expose: [\"80\", \"9000\", \"9001/udp\"]\n",
    ));
    assert_eq!(
        exposed_ports(&svc),
        strings(&["80/tcp", "53/udp", "80", "9000", "9001/udp"])
    );
    let b = |ip: Option<&str>, port: &str| PortBinding {
        host_ip: ip.map(str::to_string),
        host_port: Some(port.to_string()),
    };
    assert_eq!(
        port_bindings(&svc),
        HashMap::from([
            (
                "80/tcp".to_string(),
                Some(vec![b(None, "8080"), b(Some("127.0.0.1"), "8081")])
            ),
            // No host port: the engine chooses one.
            ("53/udp".to_string(), Some(vec![b(None, "")])),
        ])
    );
    let (_, bare) = web("");
    assert_eq!(exposed_ports(&bare), Vec::<String>::new());
    assert!(port_bindings(&bare).is_empty());
}

#[test]
fn binds_volumes_and_tmpfs_are_translated() {
    let p = project(concat!(
        "services:\n  web:\n    image: busybox\n    volumes:\n",
        "      - ./data:/data:ro\n      - cache:/cache\n      - /anon\n",
        "      - {type: tmpfs, target: /tmp}\n",
        "volumes:\n  cache: {}\n",
    ));
    let svc = &p.services["web"];
    assert_eq!(binds(svc), strings(&["/srv/data:/data:ro"]));
    // Short named and anonymous volumes carry empty volume options.
    assert_eq!(
        mounts(&p, svc, &opts()),
        [
            DockerMount {
                target: Some("/cache".into()),
                source: Some("p_cache".into()),
                typ: Some(MountType::VOLUME),
                read_only: Some(false),
                volume_options: Some(MountVolumeOptions::default()),
                ..Default::default()
            },
            // An anonymous volume carries the instance's labels.
            DockerMount {
                target: Some("/anon".into()),
                typ: Some(MountType::VOLUME),
                read_only: Some(false),
                volume_options: Some(MountVolumeOptions {
                    labels: Some(base_labels(&p, &opts())),
                    ..Default::default()
                }),
                ..Default::default()
            },
            DockerMount {
                target: Some("/tmp".into()),
                typ: Some(MountType::TMPFS),
                read_only: Some(false),
                ..Default::default()
            },
        ]
    );
}

#[test]
fn restart_policies() {
    let policy = |name, count| {
        Some(RestartPolicy {
            name: Some(name),
            maximum_retry_count: count,
        })
    };
    assert_eq!(restart_policy(None), None);
    assert_eq!(
        restart_policy(Some("always")),
        policy(RestartPolicyNameEnum::ALWAYS, None)
    );
    assert_eq!(
        restart_policy(Some("unless-stopped")),
        policy(RestartPolicyNameEnum::UNLESS_STOPPED, None)
    );
    assert_eq!(
        restart_policy(Some("on-failure")),
        policy(RestartPolicyNameEnum::ON_FAILURE, None)
    );
    assert_eq!(
        restart_policy(Some("on-failure:3")),
        policy(RestartPolicyNameEnum::ON_FAILURE, Some(3))
    );
    assert_eq!(
        restart_policy(Some("no")),
        policy(RestartPolicyNameEnum::NO, None)
    );
}

#[test]
fn healthcheck_durations_are_nanoseconds() {
    let (_, svc) = web(concat!(
        "    healthcheck:\n      test: [CMD-SHELL, 'true']\n",
        "      interval: 2s\n      timeout: 500ms\n      start_period: 1m\n      retries: 4\n",
    ));
    assert_eq!(
        healthcheck(svc.healthcheck.as_ref()),
        Some(HealthConfig {
            test: Some(strings(&["CMD-SHELL", "true"])),
            interval: Some(2_000_000_000),
            timeout: Some(500_000_000),
            start_period: Some(60_000_000_000),
            retries: Some(4),
            ..Default::default()
        })
    );
    assert_eq!(healthcheck(None), None);
}

#[test]
fn the_first_network_by_priority_is_joined_at_create_with_its_endpoint() {
    let p = project(concat!(
        "services:\n  web:\n    image: busybox\n    networks:\n",
        "      front: {aliases: [www], priority: 5, ipv4_address: 10.1.2.3, ",
        "mac_address: \"02:42:ac:11:00:99\", link_local_ips: [169.254.1.1], ",
        "driver_opts: {a: b}, gw_priority: 2}\n",
        "      back: {}\n      aa:\n",
        "networks:\n  front: {}\n  back: {name: shared-back}\n  aa: {}\n",
    ));
    let svc = &p.services["web"];
    // By priority, then by key, as compose joins them.
    assert_eq!(svc.networks_by_priority(), ["front", "aa", "back"]);
    assert_eq!(network_mode(&p, svc).as_deref(), Some("p_front"));
    let front = EndpointSettings {
        aliases: Some(strings(&["p-web-1", "web", "www"])),
        ipam_config: Some(EndpointIpamConfig {
            ipv4_address: Some("10.1.2.3".into()),
            ipv6_address: None,
            link_local_ips: Some(strings(&["169.254.1.1"])),
        }),
        ip_address: Some("10.1.2.3".into()),
        mac_address: Some("02:42:ac:11:00:99".into()),
        driver_opts: Some(HashMap::from([("a".to_string(), "b".to_string())])),
        gw_priority: Some(2),
        ..Default::default()
    };
    assert_eq!(
        networking_config(&p, svc, 1),
        Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([("p_front".to_string(), front)])),
        })
    );
    // A network listed without settings: the names only.
    assert_eq!(
        endpoint(svc, "aa", "p-web-1"),
        EndpointSettings {
            aliases: Some(strings(&["p-web-1", "web"])),
            ..Default::default()
        }
    );
}

#[test]
fn mount_options_follow_compose() {
    let p = project(concat!(
        "services:\n  web:\n    image: busybox\n    volumes:\n",
        "      - ./a:/a:ro,z\n      - ./b:/b:rslave\n",
        "      - {type: bind, source: /c, target: /c, bind: {selinux: Z}}\n",
        "      - {type: bind, source: /d, target: /d}\n",
        "      - data:/e:nocopy\n",
        "      - {type: tmpfs, target: /t, tmpfs: {size: 1m, mode: 0o1777}}\n",
        "    secrets: [s, {source: e, target: /e2}]\n",
        "    configs: [{source: c, target: conf}]\n",
        "volumes:\n  data: {}\n",
        "secrets:\n  s: {file: /run/s.txt}\n  e: {environment: NOPE}\n",
        "configs:\n  c: {file: /etc/c.conf}\n",
    ));
    let svc = &p.services["web"];
    // Strings for the binds that create their host path and have no propagation.
    assert_eq!(binds(svc), strings(&["/srv/a:/a:ro,z", "/d:/d:rw"]));
    let m = mounts(&p, svc, &opts());
    let at = |t: &str| {
        m.iter()
            .find(|m| m.target.as_deref() == Some(t))
            .unwrap()
            .clone()
    };
    assert_eq!(
        at("/b").bind_options,
        Some(MountBindOptions {
            propagation: Some(bollard::models::MountBindOptionsPropagationEnum::RSLAVE),
            ..Default::default()
        })
    );
    // SELinux relabelling needs the string form; compose drops it here too.
    assert_eq!(at("/c").bind_options, Some(MountBindOptions::default()));
    assert_eq!(at("/e").volume_options.unwrap().no_copy, Some(true));
    assert_eq!(
        at("/t").tmpfs_options,
        Some(MountTmpfsOptions {
            size_bytes: Some(1 << 20),
            mode: Some(0o1777),
            ..Default::default()
        })
    );
    // File secrets and configs are read-only binds; the others are copied in.
    assert_eq!(at("/run/secrets/s").source.as_deref(), Some("/run/s.txt"));
    assert_eq!(at("/run/secrets/s").read_only, Some(true));
    assert_eq!(at("/conf").source.as_deref(), Some("/etc/c.conf"));
    assert!(m.iter().all(|m| m.target.as_deref() != Some("/e2")));
}

#[test]
fn networks_carry_their_address_pools() {
    let p = project(concat!(
        "services:\n  web:\n    image: busybox\n    networks: [n]\n",
        "networks:\n  n:\n    attachable: true\n    enable_ipv6: false\n",
        "    ipam: {driver: default, config: [{subnet: 10.9.0.0/24, gateway: 10.9.0.1, ",
        "aux_addresses: {h: 10.9.0.5}}], options: {x: y}}\n",
    ));
    let r = network_request(&p, "n", &p.networks["n"], &opts());
    assert_eq!(r.attachable, Some(true));
    assert_eq!(r.enable_ipv6, Some(false));
    let ipam = r.ipam.unwrap();
    assert_eq!(ipam.driver.as_deref(), Some("default"));
    let pool = &ipam.config.unwrap()[0];
    assert_eq!(pool.subnet.as_deref(), Some("10.9.0.0/24"));
    assert_eq!(pool.gateway.as_deref(), Some("10.9.0.1"));
    assert_eq!(
        pool.auxiliary_addresses,
        Some(HashMap::from([("h".to_string(), "10.9.0.5".to_string())]))
    );
    // Compose drops ipam options: so does mrctl.
    assert_eq!(ipam.options, None);
}

#[test]
fn limits_ulimits_and_extra_hosts_go_to_the_host_config() {
    let (p, mut svc) = web(concat!(
        "    extra_hosts: [\"db.local:10.0.0.2\"]\n",
        "    ulimits:\n      nofile: {soft: 1024, hard: 2048}\n      nproc: 64\n",
    ));
    svc.limits = Limits {
        memory: Some(64 << 20),
        nano_cpus: Some(500_000_000),
        pids: Some(100),
    };
    let hc = host_config(&p, &svc, &opts());
    assert_eq!(hc.memory, Some(64 << 20));
    assert_eq!(hc.nano_cpus, Some(500_000_000));
    assert_eq!(hc.pids_limit, Some(100));
    assert_eq!(hc.extra_hosts, Some(strings(&["db.local:10.0.0.2"])));
    let u = |n: &str, soft, hard| ResourcesUlimits {
        name: Some(n.into()),
        soft: Some(soft),
        hard: Some(hard),
    };
    assert_eq!(
        hc.ulimits,
        Some(vec![u("nofile", 1024, 2048), u("nproc", 64, 64)])
    );
    // Nothing asked for, nothing sent.
    let (p, bare) = web("");
    let hc = host_config(&p, &bare, &opts());
    assert_eq!(
        (
            hc.binds,
            hc.mounts,
            hc.port_bindings,
            hc.ulimits,
            hc.extra_hosts
        ),
        (None, None, None, None, None)
    );
    assert_eq!((hc.memory, hc.nano_cpus, hc.pids_limit), (None, None, None));
    assert_eq!(hc.network_mode.as_deref(), Some("p_default"));
}

#[test]
fn the_whole_body() {
    let (p, svc) = web(concat!(
        "    command: [sleep, '60']\n    entrypoint: [/bin/sh, -c]\n",
        "    environment: {A: '1', B: two}\n    hostname: h\n    user: '1000'\n",
        "    working_dir: /w\n    stop_signal: SIGINT\n    stop_grace_period: 3s\n",
        "    expose: ['9000']\n",
    ));
    let body = container_body(&p, &svc, 1, &stamp("h1"), &opts());
    assert_eq!(body.image.as_deref(), Some("busybox"));
    assert_eq!(body.cmd, Some(strings(&["sleep", "60"])));
    assert_eq!(body.entrypoint, Some(strings(&["/bin/sh", "-c"])));
    assert_eq!(body.env, Some(strings(&["A=1", "B=two"])));
    assert_eq!(body.exposed_ports, Some(strings(&["9000"])));
    assert_eq!(body.hostname.as_deref(), Some("h"));
    assert_eq!(body.user.as_deref(), Some("1000"));
    assert_eq!(body.working_dir.as_deref(), Some("/w"));
    assert_eq!(body.stop_signal.as_deref(), Some("SIGINT"));
    assert_eq!(body.stop_timeout, Some(3));
    assert_eq!(body.healthcheck, None);
    assert_eq!(
        body.labels,
        Some(container_labels(&p, &svc, 1, &stamp("h1"), &opts()))
    );
    assert_eq!(body.host_config, Some(host_config(&p, &svc, &opts())));
    assert_eq!(body.networking_config, networking_config(&p, &svc, 1));
    // Without a grace period, none: the engine's default is compose's ten
    // seconds.
    let (p, bare) = web("");
    let body = container_body(&p, &bare, 1, &stamp("h1"), &opts());
    assert_eq!(body.stop_timeout, None);
    assert_eq!(body.exposed_ports, None);
    assert_eq!(body.env, Some(Vec::new()));
}

#[test]
fn networks_and_volumes_carry_their_key_and_own_labels() {
    let p = project(concat!(
        "services:\n  web:\n    image: busybox\n    networks: [back]\n    volumes: [data:/data]\n",
        "networks:\n  back:\n    driver: bridge\n    internal: true\n    labels: {tier: back}\n",
        "    driver_opts: {com.docker.network.bridge.enable_icc: 'true'}\n",
        "volumes:\n  data:\n    labels: {keep: 'yes'}\n",
    ));
    let n = network_request(&p, "back", &p.networks["back"], &opts());
    assert_eq!(n.name, "p_back");
    assert_eq!(n.driver.as_deref(), Some("bridge"));
    assert_eq!(n.internal, Some(true));
    let nl = n.labels.unwrap();
    assert_eq!(nl[labels::NETWORK], "back");
    assert_eq!(nl["tier"], "back");
    assert_eq!(nl[labels::INSTANCE], "alpha");
    assert_eq!(
        n.options,
        Some(HashMap::from([(
            "com.docker.network.bridge.enable_icc".to_string(),
            "true".to_string()
        )]))
    );
    let v = volume_request(&p, "data", &p.volumes["data"], &opts());
    assert_eq!(v.name.as_deref(), Some("p_data"));
    assert_eq!(v.driver, None);
    assert_eq!(v.driver_opts, None);
    let vl = v.labels.unwrap();
    assert_eq!(vl[labels::VOLUME], "data");
    assert_eq!(vl["keep"], "yes");
    assert_eq!(vl[labels::STACK_ID], "id-1");
    // The config hashes docker compose compares: theirs, exactly.
    let hashes = p.config_hashes();
    assert_eq!(nl[labels::CONFIG_HASH], hashes.networks["back"]);
    assert_eq!(vl[labels::CONFIG_HASH], hashes.volumes["data"]);
}

#[test]
fn settings_go_to_the_host_config_and_the_config() {
    let p = project(
        "services:\n  app:\n    image: busybox\n    privileged: true\n    init: false\n    tty: true\n    stdin_open: true\n    read_only: true\n    cap_add: [NET_ADMIN]\n    dns: 1.1.1.1\n    shm_size: 1m\n    sysctls: [\"net.ipv4.ip_forward=1\"]\n    tmpfs: [\"/run\", \"/tmp:size=1m\"]\n    memswap_limit: 2m\n    domainname: example.org\n    cpu_shares: 512\n    cpuset: \"0-1\"\n    blkio_config: {weight: 300}\n",
    );
    let body = container_body(&p, &p.services["app"], 1, &stamp("h"), &opts());
    let hc = body.host_config.unwrap();
    assert_eq!(hc.privileged, Some(true));
    assert_eq!(hc.init, Some(false));
    assert_eq!(hc.readonly_rootfs, Some(true));
    assert_eq!(hc.cap_add, Some(vec!["CAP_NET_ADMIN".to_string()]));
    assert_eq!(hc.dns, Some(vec!["1.1.1.1".to_string()]));
    assert_eq!(hc.shm_size, Some(1 << 20));
    assert_eq!(hc.sysctls.unwrap()["net.ipv4.ip_forward"], "1");
    let tmpfs = hc.tmpfs.unwrap();
    assert_eq!(tmpfs["/run"], "");
    assert_eq!(tmpfs["/tmp"], "size=1m");
    assert_eq!(hc.memory_swap, Some(2 << 20));
    assert_eq!(hc.cpu_shares, Some(512));
    assert_eq!(hc.cpuset_cpus.as_deref(), Some("0-1"));
    assert_eq!(hc.blkio_weight, Some(300));
    assert_eq!(body.tty, Some(true));
    assert_eq!(body.open_stdin, Some(true));
    assert_eq!(body.domainname.as_deref(), Some("example.org"));
    // Unset settings stay unset: the engine's defaults apply.
    let plain = project("services:\n  app:\n    image: busybox\n");
    let hc = container_body(&plain, &plain.services["app"], 1, &stamp("h"), &opts())
        .host_config
        .unwrap();
    assert_eq!((hc.privileged, hc.init, hc.tmpfs), (None, None, None));
}

#[test]
fn deploy_gives_the_restart_policy_reservation_devices_and_the_number() {
    let (p, svc) = web(concat!(
        "    restart: always\n",
        "    scale: 3\n",
        "    deploy:\n",
        "      restart_policy: {condition: on-failure, max_attempts: 3}\n",
        "      labels: {swarm.only: x}\n",
        "      resources:\n",
        "        reservations:\n",
        "          memory: 20M\n",
        "          devices: [{capabilities: [gpu], driver: nvidia, count: all}]\n",
    ));
    let body = container_body(&p, &svc, 2, &stamp("h"), &opts());
    // The second container answers to its own name, as compose aliases it.
    let endpoints = body.networking_config.unwrap().endpoints_config.unwrap();
    assert_eq!(
        endpoints["p_default"].aliases,
        Some(strings(&["p-web-2", "web"]))
    );
    let host = body.host_config.unwrap();
    assert_eq!(
        host.restart_policy,
        Some(RestartPolicy {
            name: Some(RestartPolicyNameEnum::ON_FAILURE),
            maximum_retry_count: Some(3),
        })
    );
    assert_eq!(host.memory_reservation, Some(20 << 20));
    let devices = host.device_requests.unwrap();
    assert_eq!(devices[0].count, Some(-1));
    assert_eq!(devices[0].capabilities, Some(vec![vec!["gpu".to_string()]]));
    let labels = body.labels.unwrap();
    assert_eq!(labels.get(labels::NUMBER).map(String::as_str), Some("2"));
    // `deploy.labels` label a swarm service, never a container.
    assert!(!labels.contains_key("swarm.only"));
}
