//! The mounts part of the create body: binds as strings or mounts with
//! their options, volumes, tmpfs, and the secrets and configs that come
//! from files, as docker compose sends them.

use bollard::models::{
    Mount as DockerMount, MountBindOptions, MountTmpfsOptions, MountType, MountVolumeOptions,
};

use super::super::up::UpOptions;
use super::base_labels;
use crate::compose::{FileSource, Mount, MountKind, Project, Service};

/// Whether a bind goes to the engine as a `Binds` string, as docker compose
/// sends it: when it creates a missing host path (which `Mounts` cannot)
/// and has no propagation (which the string form would not carry). Other
/// binds are `Mounts`, whose missing source is an error.
fn is_bind_string(m: &Mount) -> bool {
    m.kind == MountKind::Bind
        && m.bind
            .as_ref()
            .is_none_or(|b| b.create_host_path && b.propagation.is_none())
}

/// The binds sent as `source:target:rw|ro[,z|Z]`.
pub(super) fn binds(svc: &Service) -> Vec<String> {
    svc.mounts
        .iter()
        .filter(|m| is_bind_string(m))
        .map(|m| {
            let mut mode = if m.read_only { "ro" } else { "rw" }.to_string();
            if let Some(z) = m.bind.as_ref().and_then(|b| b.selinux.as_ref()) {
                mode = format!("{mode},{z}");
            }
            format!(
                "{}:{}:{mode}",
                m.source.clone().unwrap_or_default(),
                m.target
            )
        })
        .collect()
}

/// The service's other mounts: binds with options, volumes (named by the
/// engine's name of the volume; anonymous ones labelled as the instance's),
/// tmpfs, and the secrets and configs that come from files (read-only
/// binds; a mount of the same target wins, as in compose).
pub(super) fn mounts(project: &Project, svc: &Service, opts: &UpOptions) -> Vec<DockerMount> {
    let mut out: Vec<DockerMount> = svc
        .mounts
        .iter()
        .filter(|m| !is_bind_string(m))
        .map(|m| {
            let mut mount = DockerMount {
                target: Some(m.target.clone()),
                read_only: Some(m.read_only),
                consistency: m.consistency.clone(),
                ..Default::default()
            };
            match m.kind {
                MountKind::Bind => {
                    mount.typ = Some(MountType::BIND);
                    mount.source = m.source.clone();
                    mount.bind_options = m.bind.as_ref().map(|b| MountBindOptions {
                        propagation: b.propagation.as_deref().and_then(|p| p.parse().ok()),
                        ..Default::default()
                    });
                }
                MountKind::Volume => {
                    mount.typ = Some(MountType::VOLUME);
                    mount.source = m.source.as_ref().map(|k| project.volumes[k].name.clone());
                    let labels = mount.source.is_none().then(|| base_labels(project, opts));
                    if labels.is_some() || m.volume.is_some() {
                        let v = m.volume.clone().unwrap_or_default();
                        mount.volume_options = Some(MountVolumeOptions {
                            labels,
                            no_copy: v.nocopy.then_some(true),
                            subpath: v.subpath,
                            ..Default::default()
                        });
                    }
                }
                MountKind::Tmpfs => {
                    mount.typ = Some(MountType::TMPFS);
                    mount.tmpfs_options = m.tmpfs.as_ref().map(|t| MountTmpfsOptions {
                        size_bytes: t.size,
                        mode: t.mode.map(i64::from),
                        ..Default::default()
                    });
                }
            }
            mount
        })
        .collect();
    let mut taken: Vec<String> = svc.mounts.iter().map(|m| m.target.clone()).collect();
    for (refs, objects, secret) in [
        (&svc.secrets, &project.secrets, true),
        (&svc.configs, &project.configs, false),
    ] {
        for r in refs {
            let FileSource::File(file) = &objects[&r.source].source else {
                continue;
            };
            let target = r.path_in_container(secret);
            if taken.contains(&target) {
                continue;
            }
            taken.push(target.clone());
            // Compose gives a secret's bind empty bind options, a config's none.
            out.push(DockerMount {
                target: Some(target),
                source: Some(file.clone()),
                typ: Some(MountType::BIND),
                read_only: Some(true),
                bind_options: secret.then(MountBindOptions::default),
                ..Default::default()
            });
        }
    }
    out
}
