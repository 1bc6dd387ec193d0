//! The project's named volumes: each created once, labelled as the
//! instance's; a same-named volume of someone else's is refused, and an
//! external one must exist.

use super::up::{Event, UpOptions};
use super::{Engine, is_not_found};
use crate::compose::Project;
use crate::error::Error;

impl Engine {
    /// Makes sure every named volume of the project exists and is the
    /// instance's (or declared external).
    pub(super) async fn ensure_volumes(
        &self,
        project: &Project,
        owned: &super::Owned,
        opts: &UpOptions,
        on: &(dyn Fn(Event) + Sync),
    ) -> Result<(), Error> {
        for (key, vol) in &project.volumes {
            match self.docker.inspect_volume(&vol.name).await {
                Ok(found) => {
                    let mine = vol.external
                        || owned.resources.iter().any(|r| r.name == vol.name)
                        || opts.identity.classify(&found.labels) == crate::identity::Ownership::Own;
                    if !mine {
                        return Err(Error::Foreign {
                            resource: format!("volume `{}`", vol.name),
                            project: project.name.clone(),
                            instance: opts.instance.clone(),
                            owner: crate::identity::owner_of(&found.labels),
                            hint: format!(
                                "mark the volume `external: true` in the compose file to share it on purpose, remove it yourself if it is not wanted (`docker volume rm {}`), or give this instance another project name",
                                vol.name
                            ),
                        });
                    }
                    continue;
                }
                Err(e) if is_not_found(&e) => {}
                Err(e) => {
                    return Err(self.error(&format!("inspect volume `{}`", vol.name), &e));
                }
            }
            if vol.external {
                return Err(Error::Docker {
                    action: format!("use external volume `{}`", vol.name),
                    reason: format!(
                        "it does not exist; create it with `docker volume create {}`",
                        vol.name
                    ),
                });
            }
            let request = super::translate::volume_request(project, key, vol, opts);
            self.docker
                .create_volume(request)
                .await
                .map_err(|e| self.error(&format!("create volume `{}`", vol.name), &e))?;
            on(Event::VolumeCreated(vol.name.clone()));
        }
        Ok(())
    }
}
