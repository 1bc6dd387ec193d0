//! Reading and writing a named volume's contents through the container
//! archive endpoint, so backups work against a remote engine too. A helper
//! container (never started, no network) mounts the volume; its archive is
//! downloaded or uploaded; the helper is removed.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, DownloadFromContainerOptionsBuilder,
    RemoveContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use futures_util::StreamExt;

use super::{Engine, labels};
use crate::error::Error;
use crate::identity::Identity;

/// Where helpers mount the volume.
pub const MOUNT: &str = "/mrctl-volume";

impl Engine {
    /// A helper container mounting `volume`, labelled with the stack
    /// directory's identity so that `clean`, the next backup or restore and
    /// `doctor --fix` find and remove it if this process dies holding it.
    async fn helper(
        &self,
        volume: &str,
        image: &str,
        identity: &Identity,
        instance: &str,
    ) -> Result<String, Error> {
        let mut l = identity.labels(instance);
        l.insert(labels::HELPER.to_string(), "volume-archive".to_string());
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            cmd: Some(vec!["true".into()]),
            labels: Some(l),
            network_disabled: Some(true),
            host_config: Some(HostConfig {
                network_mode: Some("none".into()),
                mounts: Some(vec![Mount {
                    target: Some(MOUNT.into()),
                    source: Some(volume.to_string()),
                    typ: Some(MountType::VOLUME),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let name = format!(
            "mrctl-helper-{}",
            crate::secrets::random_id().unwrap_or_default()
        );
        let options = CreateContainerOptionsBuilder::new().name(&name).build();
        self.docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| {
                self.error(
                    &format!("create a helper container for volume `{volume}`"),
                    &e,
                )
            })?;
        Ok(name)
    }

    async fn drop_helper(&self, name: &str) {
        let options = RemoveContainerOptionsBuilder::new().force(true).build();
        let _ = self
            .patient(Duration::ZERO)
            .remove_container(name, Some(options))
            .await;
    }

    /// Whether a volume exists (mounting a missing one would create it, unlabelled).
    pub async fn volume_exists(&self, volume: &str) -> Result<bool, Error> {
        match self.docker.inspect_volume(volume).await {
            Ok(_) => Ok(true),
            Err(e) if super::is_not_found(&e) => Ok(false),
            Err(e) => Err(self.error(&format!("inspect volume `{volume}`"), &e)),
        }
    }

    /// Writes a tar of the volume's contents (rooted at `mrctl-volume/`) to `out`.
    pub async fn export_volume(
        &self,
        volume: &str,
        image: &str,
        identity: &Identity,
        instance: &str,
        out: &mut (dyn Write + Send),
    ) -> Result<u64, Error> {
        let helper = self.helper(volume, image, identity, instance).await?;
        let options = DownloadFromContainerOptionsBuilder::new()
            .path(MOUNT)
            .build();
        let mut stream = self.docker.download_from_container(&helper, Some(options));
        let mut written = 0u64;
        let mut failure = None;
        loop {
            // The engine answered; a stream that then stalls is cut after
            // the call deadline without a byte.
            let chunk = match tokio::time::timeout(self.deadline, stream.next()).await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(_) => {
                    failure = Some(Error::EngineTimeout {
                        address: self.address.clone(),
                        action: format!("send the contents of volume `{volume}`"),
                        after: humantime::format_duration(self.deadline).to_string(),
                    });
                    break;
                }
            };
            match chunk {
                Ok(bytes) => {
                    if let Err(e) = out.write_all(&bytes) {
                        failure = Some(Error::io("write the archive of volume", volume, e));
                        break;
                    }
                    written += bytes.len() as u64;
                }
                Err(e) => {
                    failure = Some(self.error(&format!("read volume `{volume}`"), &e));
                    break;
                }
            }
        }
        self.drop_helper(&helper).await;
        match failure {
            Some(e) => Err(e),
            None => Ok(written),
        }
    }

    /// Unpacks a tar made by `export_volume` into the volume (created if missing).
    pub async fn import_volume(
        &self,
        volume: &str,
        volume_labels: HashMap<String, String>,
        image: &str,
        identity: &Identity,
        instance: &str,
        tar: Vec<u8>,
    ) -> Result<(), Error> {
        // Creating a volume that exists succeeds silently: never write into
        // one that is not this stack directory's.
        match self.docker.inspect_volume(volume).await {
            Ok(found) => {
                if let crate::identity::Ownership::Foreign(owner) = identity.classify(&found.labels)
                {
                    return Err(Error::Foreign {
                        resource: format!("volume `{volume}`"),
                        project: volume_labels
                            .get(labels::PROJECT)
                            .cloned()
                            .unwrap_or_default(),
                        instance: instance.to_string(),
                        owner,
                        hint: format!(
                            "restore under another name (`--as`), or remove the volume yourself if it is not wanted (`docker volume rm {volume}`)"
                        ),
                    });
                }
            }
            Err(e) if super::is_not_found(&e) => {}
            Err(e) => return Err(self.error(&format!("inspect volume `{volume}`"), &e)),
        }
        let request = bollard::models::VolumeCreateRequest {
            name: Some(volume.to_string()),
            labels: Some(volume_labels),
            ..Default::default()
        };
        self.docker
            .create_volume(request)
            .await
            .map_err(|e| self.error(&format!("create volume `{volume}`"), &e))?;
        let helper = self.helper(volume, image, identity, instance).await?;
        let options = UploadToContainerOptionsBuilder::new().path("/").build();
        let result = self
            .patient(Duration::ZERO)
            .upload_to_container(&helper, Some(options), bollard::body_full(tar.into()))
            .await
            .map_err(|e| self.error(&format!("write volume `{volume}`"), &e));
        self.drop_helper(&helper).await;
        result
    }

    /// Labels a volume of `project` carries when mrctl creates it.
    pub fn volume_labels(
        project: &str,
        key: &str,
        identity: &Identity,
        instance: &str,
    ) -> HashMap<String, String> {
        let mut l = identity.labels(instance);
        l.insert(labels::PROJECT.to_string(), project.to_string());
        l.insert(
            labels::VERSION.to_string(),
            labels::COMPOSE_VERSION.to_string(),
        );
        l.insert(labels::VOLUME.to_string(), key.to_string());
        l
    }
}
