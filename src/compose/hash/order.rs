//! The declaration order of the fields of compose-go's types
//! (`types/types.go`), which Go's encoder writes in: the shapes of a
//! service, a network and a volume as `json.Marshal` sees them.

/// The Go type behind a JSON value, as far as its byte form depends on it.
pub(super) enum Shape {
    /// A scalar, or a value whose inner order needs nothing (lists of strings).
    Leaf,
    /// A struct: its fields in declaration order.
    Struct(&'static [(&'static str, &'static Shape)]),
    /// A map: keys sorted, values of one shape.
    Map(&'static Shape),
    /// A list: elements of one shape.
    List(&'static Shape),
}

use Shape::{Leaf, List, Map as GoMap, Struct};

pub(super) static LEAF: Shape = Leaf;
static STRINGS: Shape = GoMap(&LEAF);

static BLKIO_DEVICE: Shape = Struct(&[("path", &LEAF), ("weight", &LEAF), ("rate", &LEAF)]);
static BLKIO: Shape = Struct(&[
    ("weight", &LEAF),
    ("weight_device", &List(&BLKIO_DEVICE)),
    ("device_read_bps", &List(&BLKIO_DEVICE)),
    ("device_read_iops", &List(&BLKIO_DEVICE)),
    ("device_write_bps", &List(&BLKIO_DEVICE)),
    ("device_write_iops", &List(&BLKIO_DEVICE)),
]);
static FILE_REFERENCE: Shape = Struct(&[
    ("source", &LEAF),
    ("target", &LEAF),
    ("uid", &LEAF),
    ("gid", &LEAF),
    ("mode", &LEAF),
]);
static CREDENTIAL_SPEC: Shape = Struct(&[("config", &LEAF), ("file", &LEAF), ("registry", &LEAF)]);
static DEVICE_REQUEST: Shape = Struct(&[
    ("capabilities", &LEAF),
    ("driver", &LEAF),
    ("count", &LEAF),
    ("device_ids", &LEAF),
    ("options", &STRINGS),
]);
static GENERIC_RESOURCE: Shape = Struct(&[(
    "discrete_resource_spec",
    &Struct(&[("kind", &LEAF), ("value", &LEAF)]),
)]);
static RESOURCE: Shape = Struct(&[
    ("cpus", &LEAF),
    ("memory", &LEAF),
    ("pids", &LEAF),
    ("devices", &List(&DEVICE_REQUEST)),
    ("generic_resources", &List(&GENERIC_RESOURCE)),
]);
static UPDATE_CONFIG: Shape = Struct(&[
    ("parallelism", &LEAF),
    ("delay", &LEAF),
    ("failure_action", &LEAF),
    ("monitor", &LEAF),
    ("max_failure_ratio", &LEAF),
    ("order", &LEAF),
]);
static DEPLOY: Shape = Struct(&[
    ("mode", &LEAF),
    ("replicas", &LEAF),
    ("labels", &STRINGS),
    ("update_config", &UPDATE_CONFIG),
    ("rollback_config", &UPDATE_CONFIG),
    (
        "resources",
        &Struct(&[("limits", &RESOURCE), ("reservations", &RESOURCE)]),
    ),
    (
        "restart_policy",
        &Struct(&[
            ("condition", &LEAF),
            ("delay", &LEAF),
            ("max_attempts", &LEAF),
            ("window", &LEAF),
        ]),
    ),
    (
        "placement",
        &Struct(&[
            ("constraints", &LEAF),
            ("preferences", &List(&Struct(&[("spread", &LEAF)]))),
            ("max_replicas_per_node", &LEAF),
        ]),
    ),
    ("endpoint_mode", &LEAF),
]);
static DEVICE: Shape = Struct(&[("source", &LEAF), ("target", &LEAF), ("permissions", &LEAF)]);
static HOOK: Shape = Struct(&[
    ("command", &LEAF),
    ("copy", &FILE_REFERENCE),
    ("user", &LEAF),
    ("privileged", &LEAF),
    ("working_dir", &LEAF),
    ("environment", &STRINGS),
]);
static DEVELOP: Shape = Struct(&[(
    "watch",
    &List(&Struct(&[
        ("path", &LEAF),
        ("action", &LEAF),
        ("target", &LEAF),
        ("exec", &HOOK),
        ("ignore", &LEAF),
        ("include", &LEAF),
        ("initial_sync", &LEAF),
    ])),
)]);
static ENV_FILE: Shape = Struct(&[("path", &LEAF), ("required", &LEAF), ("format", &LEAF)]);
static EXTENDS: Shape = Struct(&[("file", &LEAF), ("service", &LEAF)]);
static HEALTHCHECK: Shape = Struct(&[
    ("test", &LEAF),
    ("timeout", &LEAF),
    ("interval", &LEAF),
    ("retries", &LEAF),
    ("start_period", &LEAF),
    ("start_interval", &LEAF),
    ("disable", &LEAF),
]);
static LOGGING: Shape = Struct(&[("driver", &LEAF), ("options", &STRINGS)]);
static SERVICE_NETWORK: Shape = Struct(&[
    ("aliases", &LEAF),
    ("driver_opts", &STRINGS),
    ("gw_priority", &LEAF),
    ("interface_name", &LEAF),
    ("ipv4_address", &LEAF),
    ("ipv6_address", &LEAF),
    ("link_local_ips", &LEAF),
    ("mac_address", &LEAF),
    ("priority", &LEAF),
]);
static PORT: Shape = Struct(&[
    ("name", &LEAF),
    ("mode", &LEAF),
    ("host_ip", &LEAF),
    ("target", &LEAF),
    ("published", &LEAF),
    ("protocol", &LEAF),
    ("app_protocol", &LEAF),
]);
static ULIMIT: Shape = Struct(&[("single", &LEAF), ("soft", &LEAF), ("hard", &LEAF)]);
static SERVICE_VOLUME: Shape = Struct(&[
    ("type", &LEAF),
    ("source", &LEAF),
    ("target", &LEAF),
    ("read_only", &LEAF),
    ("consistency", &LEAF),
    (
        "bind",
        &Struct(&[
            ("selinux", &LEAF),
            ("propagation", &LEAF),
            ("create_host_path", &LEAF),
            ("recursive", &LEAF),
        ]),
    ),
    (
        "volume",
        &Struct(&[("labels", &STRINGS), ("nocopy", &LEAF), ("subpath", &LEAF)]),
    ),
    ("tmpfs", &Struct(&[("size", &LEAF), ("mode", &LEAF)])),
    ("image", &Struct(&[("subpath", &LEAF)])),
]);

/// compose-go's `ServiceConfig`.
pub(super) static SERVICE: Shape = Struct(&[
    ("profiles", &LEAF),
    ("annotations", &STRINGS),
    ("attach", &LEAF),
    ("build", &LEAF),
    ("develop", &DEVELOP),
    ("blkio_config", &BLKIO),
    ("cap_add", &LEAF),
    ("cap_drop", &LEAF),
    ("cgroup_parent", &LEAF),
    ("cgroup", &LEAF),
    ("cpu_count", &LEAF),
    ("cpu_percent", &LEAF),
    ("cpu_period", &LEAF),
    ("cpu_quota", &LEAF),
    ("cpu_rt_period", &LEAF),
    ("cpu_rt_runtime", &LEAF),
    ("cpus", &LEAF),
    ("cpuset", &LEAF),
    ("cpu_shares", &LEAF),
    ("command", &LEAF),
    ("configs", &List(&FILE_REFERENCE)),
    ("container_name", &LEAF),
    ("credential_spec", &CREDENTIAL_SPEC),
    ("depends_on", &LEAF),
    ("deploy", &DEPLOY),
    ("device_cgroup_rules", &LEAF),
    ("devices", &List(&DEVICE)),
    ("dns", &LEAF),
    ("dns_opt", &LEAF),
    ("dns_search", &LEAF),
    ("dockerfile", &LEAF),
    ("domainname", &LEAF),
    ("entrypoint", &LEAF),
    (
        "provider",
        &Struct(&[("type", &LEAF), ("options", &STRINGS)]),
    ),
    ("environment", &STRINGS),
    ("env_file", &List(&ENV_FILE)),
    ("expose", &LEAF),
    ("extends", &EXTENDS),
    ("external_links", &LEAF),
    ("extra_hosts", &LEAF),
    ("group_add", &LEAF),
    ("gpus", &List(&DEVICE_REQUEST)),
    ("hostname", &LEAF),
    ("healthcheck", &HEALTHCHECK),
    ("image", &LEAF),
    ("init", &LEAF),
    ("ipc", &LEAF),
    ("isolation", &LEAF),
    ("labels", &STRINGS),
    ("label_file", &LEAF),
    ("links", &LEAF),
    ("logging", &LOGGING),
    ("log_driver", &LEAF),
    ("log_opt", &STRINGS),
    ("mem_limit", &LEAF),
    ("mem_reservation", &LEAF),
    ("memswap_limit", &LEAF),
    ("mem_swappiness", &LEAF),
    ("mac_address", &LEAF),
    ("models", &GoMap(&LEAF)),
    ("net", &LEAF),
    ("network_mode", &LEAF),
    ("networks", &GoMap(&SERVICE_NETWORK)),
    ("oom_kill_disable", &LEAF),
    ("oom_score_adj", &LEAF),
    ("pid", &LEAF),
    ("pids_limit", &LEAF),
    ("platform", &LEAF),
    ("ports", &List(&PORT)),
    ("privileged", &LEAF),
    ("pull_policy", &LEAF),
    ("read_only", &LEAF),
    ("restart", &LEAF),
    ("runtime", &LEAF),
    ("scale", &LEAF),
    ("secrets", &List(&FILE_REFERENCE)),
    ("security_opt", &LEAF),
    ("shm_size", &LEAF),
    ("stdin_open", &LEAF),
    ("stop_grace_period", &LEAF),
    ("stop_signal", &LEAF),
    ("storage_opt", &STRINGS),
    ("sysctls", &STRINGS),
    ("tmpfs", &LEAF),
    ("tty", &LEAF),
    ("ulimits", &GoMap(&ULIMIT)),
    ("use_api_socket", &LEAF),
    ("user", &LEAF),
    ("userns_mode", &LEAF),
    ("uts", &LEAF),
    ("volume_driver", &LEAF),
    ("volumes", &List(&SERVICE_VOLUME)),
    ("volumes_from", &LEAF),
    ("working_dir", &LEAF),
    ("post_start", &List(&HOOK)),
    ("pre_stop", &List(&HOOK)),
]);

/// compose-go's `NetworkConfig`.
pub(super) static NETWORK: Shape = Struct(&[
    ("name", &LEAF),
    ("driver", &LEAF),
    ("driver_opts", &STRINGS),
    (
        "ipam",
        &Struct(&[
            ("driver", &LEAF),
            (
                "config",
                &List(&Struct(&[
                    ("subnet", &LEAF),
                    ("gateway", &LEAF),
                    ("ip_range", &LEAF),
                    ("aux_addresses", &STRINGS),
                ])),
            ),
        ]),
    ),
    ("external", &LEAF),
    ("internal", &LEAF),
    ("attachable", &LEAF),
    ("labels", &STRINGS),
    ("enable_ipv4", &LEAF),
    ("enable_ipv6", &LEAF),
]);

/// compose-go's `VolumeConfig`.
pub(super) static VOLUME: Shape = Struct(&[
    ("name", &LEAF),
    ("driver", &LEAF),
    ("driver_opts", &STRINGS),
    ("external", &LEAF),
    ("labels", &STRINGS),
]);
