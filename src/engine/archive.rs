//! Reading and writing a named volume's contents through the container
//! archive endpoint, so backups work against a remote engine too. A helper
//! container (never started, no network) mounts the volume; its archive is
//! downloaded or uploaded; the helper is removed.

use std::collections::HashMap;
use std::io::Write;

use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, DownloadFromContainerOptionsBuilder,
    RemoveContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use futures_util::StreamExt;

use super::{Engine, labels, reason};
use crate::error::Error;

/// Where helpers mount the volume.
pub const MOUNT: &str = "/mrctl-volume";

impl Engine {
    async fn helper(
        &self,
        volume: &str,
        image: &str,
        stack: &str,
        instance: &str,
    ) -> Result<String, Error> {
        let mut l = HashMap::new();
        l.insert(labels::STACK.to_string(), stack.to_string());
        l.insert(labels::INSTANCE.to_string(), instance.to_string());
        l.insert("mrctl.helper".to_string(), "volume-archive".to_string());
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
            crate::render::random_secret(12)
                .unwrap_or_default()
                .to_lowercase()
        );
        let options = CreateContainerOptionsBuilder::new().name(&name).build();
        self.docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| Error::Docker {
                action: format!("create a helper container for volume `{volume}`"),
                reason: reason(&e),
            })?;
        Ok(name)
    }

    async fn drop_helper(&self, name: &str) {
        let options = RemoveContainerOptionsBuilder::new().force(true).build();
        let _ = self.docker.remove_container(name, Some(options)).await;
    }

    /// Whether a volume exists (mounting a missing one would create it, unlabelled).
    pub async fn volume_exists(&self, volume: &str) -> Result<bool, Error> {
        match self.docker.inspect_volume(volume).await {
            Ok(_) => Ok(true),
            Err(e) if super::is_not_found(&e) => Ok(false),
            Err(e) => Err(Error::Docker {
                action: format!("inspect volume `{volume}`"),
                reason: reason(&e),
            }),
        }
    }

    /// Writes a tar of the volume's contents (rooted at `mrctl-volume/`) to `out`.
    pub async fn export_volume(
        &self,
        volume: &str,
        image: &str,
        stack: &str,
        instance: &str,
        out: &mut (dyn Write + Send),
    ) -> Result<u64, Error> {
        let helper = self.helper(volume, image, stack, instance).await?;
        let options = DownloadFromContainerOptionsBuilder::new()
            .path(MOUNT)
            .build();
        let mut stream = self.docker.download_from_container(&helper, Some(options));
        let mut written = 0u64;
        let mut failure = None;
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(bytes) => {
                    if let Err(e) = out.write_all(&bytes) {
                        failure = Some(Error::io("write the archive of volume", volume, e));
                        break;
                    }
                    written += bytes.len() as u64;
                }
                Err(e) => {
                    failure = Some(Error::Docker {
                        action: format!("read volume `{volume}`"),
                        reason: reason(&e),
                    });
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
        stack: &str,
        instance: &str,
        tar: Vec<u8>,
    ) -> Result<(), Error> {
        let request = bollard::models::VolumeCreateRequest {
            name: Some(volume.to_string()),
            labels: Some(volume_labels),
            ..Default::default()
        };
        self.docker
            .create_volume(request)
            .await
            .map_err(|e| Error::Docker {
                action: format!("create volume `{volume}`"),
                reason: reason(&e),
            })?;
        let helper = self.helper(volume, image, stack, instance).await?;
        let options = UploadToContainerOptionsBuilder::new().path("/").build();
        let result = self
            .docker
            .upload_to_container(&helper, Some(options), bollard::body_full(tar.into()))
            .await
            .map_err(|e| Error::Docker {
                action: format!("write volume `{volume}`"),
                reason: reason(&e),
            });
        self.drop_helper(&helper).await;
        result
    }

    /// Labels a volume of `project` carries when mrctl creates it.
    pub fn volume_labels(
        project: &str,
        key: &str,
        stack: &str,
        instance: &str,
    ) -> HashMap<String, String> {
        HashMap::from([
            (labels::PROJECT.to_string(), project.to_string()),
            (
                labels::VERSION.to_string(),
                labels::COMPOSE_VERSION.to_string(),
            ),
            (labels::STACK.to_string(), stack.to_string()),
            (labels::INSTANCE.to_string(), instance.to_string()),
            (labels::VOLUME.to_string(), key.to_string()),
        ])
    }
}
