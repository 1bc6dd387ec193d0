use std::collections::HashMap;

use bollard::models::{
    DeviceRequest, HostConfigCgroupnsModeEnum, HostConfigIsolationEnum, ResourcesBlkioWeightDevice,
    ThrottleDevice,
};

use super::*;
use crate::engine::drift::tests::project;

fn host(p: &Project, name: &str) -> HostConfig {
    let svc = &p.services[name];
    HostConfig {
        network_mode: None,
        ..settings_more(&svc.settings, HostConfig::default())
    }
}

#[test]
fn network_mode_of_a_service_is_its_containers_namespace() {
    let p = project(concat!(
        "services:\n  db:\n    image: x\n    container_name: the-db\n",
        "  app:\n    image: x\n  side:\n    image: x\n    network_mode: service:app\n",
        "  near:\n    image: x\n    network_mode: service:db\n",
    ));
    assert_eq!(network_mode(&p, "service:app"), "container:p-app-1");
    assert_eq!(network_mode(&p, "service:db"), "container:the-db");
    for own in ["host", "none", "bridge", "container:other"] {
        assert_eq!(network_mode(&p, own), own);
    }
    // It joins none of the project's networks, and starts after `app`.
    assert!(p.services["side"].networks.is_empty());
    assert!(p.services["side"].depends_on.contains_key("app"));
}

#[test]
fn links_name_the_linked_container_three_ways_and_external_ones_once() {
    let p = project(concat!(
        "services:\n  db:\n    image: x\n  app:\n    image: x\n",
        "    links: [db, \"db:database\"]\n    external_links: [\"legacy:cache\", other]\n",
    ));
    assert_eq!(
        links(&p, &p.services["app"]).unwrap(),
        [
            "p-db-1:db",
            "p-db-1:db-1",
            "p-db-1:p-db-1",
            "p-db-1:database",
            "p-db-1:db-1",
            "p-db-1:p-db-1",
            "legacy:cache",
            "other:other",
        ]
    );
    assert_eq!(links(&p, &p.services["db"]), None);
    assert!(p.services["app"].depends_on.contains_key("db"));
}

#[test]
fn volumes_from_names_containers_and_keeps_the_mode() {
    let p = project(concat!(
        "services:\n  db:\n    image: x\n  app:\n    image: x\n",
        "    volumes_from: [db, \"db:ro\", \"container:archive\", \"container:old:rw\"]\n",
    ));
    assert_eq!(
        volumes_from(&p, &p.services["app"]).unwrap(),
        ["p-db-1", "p-db-1:ro", "archive", "old:rw"]
    );
    assert_eq!(volumes_from(&p, &p.services["db"]), None);
}

#[test]
fn block_io_cpu_namespaces_and_gpus_go_to_the_host_config() {
    let p = project(concat!(
        "services:\n  app:\n    image: x\n",
        "    blkio_config:\n",
        "      weight_device: [{path: /dev/vda, weight: 400}]\n",
        "      device_read_bps: [{path: /dev/vda, rate: 12mb}]\n",
        "      device_write_bps: [{path: /dev/vda, rate: 1k}]\n",
        "      device_read_iops: [{path: /dev/vda, rate: 120}]\n",
        "      device_write_iops: [{path: /dev/vda, rate: \"30\"}]\n",
        "    cpu_rt_runtime: 950000\n    cpu_rt_period: 1000000\n",
        "    cpu_count: 2\n    cpu_percent: 50\n",
        "    storage_opt: {size: 1G}\n    uts: host\n    cgroup: host\n",
        "    device_cgroup_rules: [\"c 1:3 mr\"]\n    isolation: default\n",
        "    annotations: [a=b]\n",
        "    gpus: [{driver: nvidia, count: all}, {device_ids: [\"0\"], capabilities: [compute]}]\n",
    ));
    let throttle = |rate| {
        Some(vec![ThrottleDevice {
            path: Some("/dev/vda".into()),
            rate: Some(rate),
        }])
    };
    let want = HostConfig {
        blkio_weight_device: Some(vec![ResourcesBlkioWeightDevice {
            path: Some("/dev/vda".into()),
            weight: Some(400),
        }]),
        blkio_device_read_bps: throttle(12 << 20),
        blkio_device_write_bps: throttle(1024),
        blkio_device_read_iops: throttle(120),
        blkio_device_write_iops: throttle(30),
        cpu_realtime_runtime: Some(950_000),
        cpu_realtime_period: Some(1_000_000),
        cpu_count: Some(2),
        cpu_percent: Some(50),
        storage_opt: Some(HashMap::from([("size".into(), "1G".into())])),
        annotations: Some(HashMap::from([("a".into(), "b".into())])),
        uts_mode: Some("host".into()),
        cgroupns_mode: Some(HostConfigCgroupnsModeEnum::HOST),
        device_cgroup_rules: Some(vec!["c 1:3 mr".into()]),
        isolation: Some(HostConfigIsolationEnum::DEFAULT),
        device_requests: Some(vec![
            DeviceRequest {
                driver: Some("nvidia".into()),
                count: Some(-1),
                capabilities: Some(vec![vec!["gpu".into()]]),
                ..Default::default()
            },
            DeviceRequest {
                device_ids: Some(vec!["0".into()]),
                capabilities: Some(vec![vec!["compute".into()]]),
                ..Default::default()
            },
        ]),
        ..Default::default()
    };
    assert_eq!(host(&p, "app"), want);
    // Nothing of it for a service without these keys.
    let plain = project("services:\n  app:\n    image: x\n");
    assert_eq!(host(&plain, "app"), HostConfig::default());
}

#[test]
fn the_api_version_gate_names_the_service_the_key_and_the_version() {
    let p = project(concat!(
        "services:\n  app:\n    image: x\n",
        "    healthcheck: {test: [CMD, \"true\"], start_interval: 2s}\n",
    ));
    let err = api_gate(&p, "1.41").unwrap_err();
    assert_eq!(
        err,
        "service `app`: `healthcheck.start_interval` needs engine API 1.44 (Docker Engine 25 or later); this engine speaks 1.41"
    );
    assert_eq!(api_gate(&p, "1.44"), Ok(()));
    let p = project("services:\n  app:\n    image: x\n    annotations: {a: b}\n");
    assert!(
        api_gate(&p, "1.42")
            .unwrap_err()
            .contains("`annotations` needs engine API 1.43")
    );
    assert_eq!(api_gate(&p, "1.43"), Ok(()));
    let p = project("services:\n  app:\n    image: x\n    mac_address: 02:42:ac:11:65:43\n");
    assert!(api_gate(&p, "1.43").unwrap_err().contains("`mac_address`"));
    assert_eq!(api_gate(&p, "1.51"), Ok(()));
    let p = project("services:\n  app:\n    image: x\n");
    assert_eq!(api_gate(&p, "1.24"), Ok(()));
}

fn opts() -> crate::engine::up::UpOptions {
    crate::engine::up::UpOptions {
        timeout: std::time::Duration::from_secs(1),
        identity: crate::identity::Identity {
            stack: "shop".into(),
            id: "id-1".into(),
            dir: std::path::PathBuf::from("/srv"),
        },
        instance: "alpha".into(),
        env_files: Vec::new(),
        build: false,
    }
}

fn stamp() -> crate::engine::translate::Stamp {
    crate::engine::translate::Stamp {
        hash: "h".into(),
        image_id: None,
    }
}

#[test]
fn the_create_body_carries_them() {
    use crate::engine::translate::container_body;
    let p = project(concat!(
        "services:\n  db:\n    image: x\n",
        "  side:\n    image: x\n    network_mode: service:db\n    uts: host\n",
        "    volumes_from: [\"db:ro\"]\n",
        "  app:\n    image: x\n    links: [db]\n    mac_address: 02:42:ac:11:65:43\n",
        "    healthcheck: {test: [CMD, \"true\"], start_interval: 2s}\n",
    ));
    let side = container_body(&p, &p.services["side"], 1, &stamp(), &opts());
    let host = side.host_config.unwrap();
    assert_eq!(host.network_mode.as_deref(), Some("container:p-db-1"));
    assert_eq!(host.volumes_from, Some(vec!["p-db-1:ro".to_string()]));
    assert_eq!(host.uts_mode.as_deref(), Some("host"));
    // It joins no network of the project.
    assert!(side.networking_config.is_none());
    let app = container_body(&p, &p.services["app"], 1, &stamp(), &opts());
    let endpoints = app.networking_config.unwrap().endpoints_config.unwrap();
    let endpoint = &endpoints["p_default"];
    assert_eq!(
        endpoint.links,
        Some(vec![
            "p-db-1:db".to_string(),
            "p-db-1:db-1".to_string(),
            "p-db-1:p-db-1".to_string(),
        ])
    );
    assert_eq!(endpoint.mac_address.as_deref(), Some("02:42:ac:11:65:43"));
    assert_eq!(
        endpoint.aliases,
        Some(vec!["p-app-1".to_string(), "app".to_string()])
    );
    assert_eq!(app.healthcheck.unwrap().start_interval, Some(2_000_000_000));
    assert_eq!(
        app.host_config.unwrap().network_mode.as_deref(),
        Some("p_default")
    );
}
