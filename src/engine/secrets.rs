//! Secrets and configs without Swarm, as docker compose v2 provides them:
//! one from a `file` is a read-only bind (see `translate::mounts`); one
//! from an `environment` variable or from `content` is written into the
//! container after it is created and before it starts, as a one-file tar
//! archive with its owner and mode. What cannot work is refused before
//! anything is created. A value never appears in a message.

use std::time::Duration;

use bollard::query_parameters::UploadToContainerOptionsBuilder;

use super::Engine;
use crate::compose::{FileRef, FileSource, Project, Service};
use crate::error::Error;

/// Whether the engine's API version is at least `major.minor`.
pub(super) fn api_at_least(version: &str, major: u32, minor: u32) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let have = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    have >= (major, minor)
}

/// What the project asks that this engine cannot give, or that cannot be
/// provided without Swarm: the first problem, naming the service, the key
/// and the reason. Pure; `start` asks before it creates anything.
pub fn check_attachments(project: &Project, api_version: &str) -> Result<(), String> {
    for svc in project.services.values() {
        for (refs, what, secret) in [
            (&svc.secrets, "secret", true),
            (&svc.configs, "config", false),
        ] {
            let objects = if secret {
                &project.secrets
            } else {
                &project.configs
            };
            for r in refs {
                let object = &objects[&r.source];
                if object.external {
                    return Err(format!(
                        "service `{}`: {what} `{}` is external, which needs Docker Swarm; docker compose refuses it too (give it a `file`, an `environment` or, for a config, a `content`)",
                        svc.name, r.source
                    ));
                }
                let copied = match &object.source {
                    FileSource::Environment {
                        variable,
                        value: None,
                    } => {
                        return Err(format!(
                            "service `{}`: {what} `{}` takes its value from the variable `{variable}`, which is not set",
                            svc.name, r.source
                        ));
                    }
                    FileSource::Environment { .. } | FileSource::Content(_) => true,
                    FileSource::File(_) | FileSource::None => false,
                };
                if copied && svc.settings.read_only {
                    return Err(format!(
                        "service `{}`: {what} `{}` cannot be written into a read-only container (`read_only: true`); only a `file` source works there",
                        svc.name, r.source
                    ));
                }
            }
        }
        if !api_at_least(api_version, 1, 44)
            && let Some(first) = svc.networks_by_priority().first()
            && svc
                .endpoints
                .get(*first)
                .is_some_and(|e| e.mac_address.is_some())
        {
            return Err(format!(
                "service `{}`: `networks.{first}.mac_address` on the network the container joins first needs Docker API 1.44 (Engine 25); this engine speaks {api_version} (docker compose refuses it too)",
                svc.name
            ));
        }
        if !api_at_least(api_version, 1, 45)
            && let Some(m) = svc
                .mounts
                .iter()
                .find(|m| m.volume.as_ref().is_some_and(|v| v.subpath.is_some()))
        {
            return Err(format!(
                "service `{}`: `volumes` (`{}`): `subpath` needs Docker API 1.45 (Engine 26); this engine speaks {api_version} and would mount the whole volume",
                svc.name, m.target
            ));
        }
    }
    Ok(())
}

/// The content an `environment` or `content` source writes, if any.
fn content<'a>(project: &'a Project, r: &FileRef, secret: bool) -> Option<&'a str> {
    let objects = if secret {
        &project.secrets
    } else {
        &project.configs
    };
    match &objects.get(&r.source)?.source {
        FileSource::Environment { value, .. } => value.as_ref().map(|v| v.0.as_str()),
        FileSource::Content(text) => Some(text.0.as_str()),
        FileSource::File(_) | FileSource::None => None,
    }
}

/// A numeric id, or the error that names the reference.
fn id(text: &str, what: &str, svc: &Service, r: &FileRef) -> Result<u64, Error> {
    text.parse::<u64>().map_err(|_| Error::Docker {
        action: format!("write {what} `{}` into service `{}`", r.source, svc.name),
        reason: format!(
            "its owner comes from the container's user `{text}`, which is not a number; set `uid` and `gid`"
        ),
    })
}

/// The one-file archive of `text` at `path`, owned by `uid:gid`, with `mode`.
pub(super) fn archive(path: &str, text: &str, uid: u64, gid: u64, mode: u32) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(text.len() as u64);
    h.set_mode(mode);
    h.set_uid(uid);
    h.set_gid(gid);
    h.set_mtime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    );
    h.set_entry_type(tar::EntryType::Regular);
    // In memory, writing cannot fail.
    tar.append_data(&mut h, path.trim_start_matches('/'), text.as_bytes())
        .expect("an in-memory archive");
    tar.into_inner().expect("an in-memory archive")
}

impl Engine {
    /// Writes the service's `environment` and `content` secrets and configs
    /// into its created container `name`: a secret under `/run/secrets/`
    /// (or its absolute target), a config at `/<source>` (or its target),
    /// mode 0444 unless given, owned by `uid`/`gid` or else by the
    /// container's user, as compose does.
    pub(super) async fn inject_files(
        &self,
        project: &Project,
        svc: &Service,
        name: &str,
    ) -> Result<(), Error> {
        let mut user: Option<String> = None;
        for (refs, secret, what) in [
            (&svc.secrets, true, "secret"),
            (&svc.configs, false, "config"),
        ] {
            for r in refs {
                let Some(text) = content(project, r, secret) else {
                    continue;
                };
                let (uid, gid) = if r.uid.is_some() || r.gid.is_some() {
                    (r.uid.clone(), r.gid.clone())
                } else {
                    if user.is_none() {
                        let inspect = self
                            .docker
                            .inspect_container(name, None)
                            .await
                            .map_err(|e| self.error(&format!("inspect container `{name}`"), &e))?;
                        user = Some(inspect.config.and_then(|c| c.user).unwrap_or_default());
                    }
                    let u = user.clone().unwrap_or_default();
                    let mut parts = u.splitn(2, ':');
                    let uid = parts.next().filter(|s| !s.is_empty()).map(str::to_string);
                    (uid, parts.next().map(str::to_string))
                };
                let uid = match uid {
                    Some(u) => id(&u, what, svc, r)?,
                    None => 0,
                };
                let gid = match gid {
                    Some(g) => id(&g, what, svc, r)?,
                    None => 0,
                };
                let path = r.path_in_container(secret);
                let tar = archive(&path, text, uid, gid, r.mode.unwrap_or(0o444));
                let options = UploadToContainerOptionsBuilder::new()
                    .path("/")
                    .copy_uidgid("true")
                    .build();
                self.patient(Duration::ZERO)
                    .upload_to_container(name, Some(options), bollard::body_full(tar.into()))
                    .await
                    .map_err(|e| {
                        self.error(
                            &format!(
                                "write {what} `{}` to `{path}` in container `{name}`",
                                r.source
                            ),
                            &e,
                        )
                    })?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_by_number() {
        assert!(api_at_least("1.45", 1, 45));
        assert!(api_at_least("1.100", 1, 45));
        assert!(!api_at_least("1.41", 1, 44));
    }

    #[test]
    fn the_archive_holds_one_file_with_its_owner_and_mode() {
        let tar = archive("/run/secrets/token", "s3cret", 1000, 1001, 0o440);
        let mut a = tar::Archive::new(tar.as_slice());
        let mut entries = a.entries().unwrap();
        let mut e = entries.next().unwrap().unwrap();
        assert_eq!(e.path().unwrap().to_str(), Some("run/secrets/token"));
        assert_eq!(e.header().mode().unwrap(), 0o440);
        assert_eq!(e.header().uid().unwrap(), 1000);
        assert_eq!(e.header().gid().unwrap(), 1001);
        let mut body = String::new();
        std::io::Read::read_to_string(&mut e, &mut body).unwrap();
        assert_eq!(body, "s3cret");
        assert!(entries.next().is_none());
    }
}

#[cfg(test)]
mod checks {
    use super::check_attachments;
    use crate::engine::drift::tests::project;

    fn check(yaml: &str, api: &str) -> Result<(), String> {
        check_attachments(&project(yaml), api)
    }

    #[test]
    fn what_cannot_be_provided_is_refused_by_name() {
        let e = check(
            "services:\n  app:\n    image: x\n    secrets: [s]\nsecrets:\n  s: {external: true}\n",
            "1.41",
        )
        .unwrap_err();
        assert!(e.contains("service `app`: secret `s` is external"), "{e}");
        let e = check(
            "services:\n  app:\n    image: x\n    configs: [c]\nconfigs:\n  c: {environment: UNSET_VAR_X}\n",
            "1.41",
        )
        .unwrap_err();
        assert!(
            e.contains(
                "config `c` takes its value from the variable `UNSET_VAR_X`, which is not set"
            ),
            "{e}"
        );
        let e = check(
            "services:\n  app:\n    image: x\n    read_only: true\n    configs: [c]\nconfigs:\n  c: {content: hi}\n",
            "1.41",
        )
        .unwrap_err();
        assert!(e.contains("read-only"), "{e}");
        let subpath = "services:\n  app:\n    image: x\n    volumes: [{type: volume, source: d, target: /d, volume: {subpath: s}}]\nvolumes:\n  d: {}\n";
        assert!(
            check(subpath, "1.41")
                .unwrap_err()
                .contains("`subpath` needs Docker API 1.45")
        );
        assert_eq!(check(subpath, "1.45"), Ok(()));
        let mac = "services:\n  app:\n    image: x\n    networks:\n      n: {mac_address: \"02:42:ac:11:00:02\"}\nnetworks:\n  n: {}\n";
        assert!(
            check(mac, "1.43")
                .unwrap_err()
                .contains("`networks.n.mac_address`")
        );
        assert_eq!(check(mac, "1.44"), Ok(()));
        // A file source works anywhere, even read-only.
        assert_eq!(
            check(
                "services:\n  app:\n    image: x\n    read_only: true\n    secrets: [s]\nsecrets:\n  s: {file: ./s}\n",
                "1.41"
            ),
            Ok(())
        );
    }
}
