//! Images present before anything is created: each image of the project
//! that is not on this machine is pulled, its progress reported as events.

use std::collections::HashMap;

use bollard::query_parameters::CreateImageOptionsBuilder;
use futures_util::StreamExt;

use super::up::Event;
use super::{Engine, reason};
use crate::compose::Project;
use crate::error::Error;

impl Engine {
    /// Builds the images of services with `build:` that the engine does not
    /// have (all of them with `rebuild`, or with `pull_policy: build`), then
    /// pulls the other images by their `pull_policy`: `always` pulls,
    /// `never` refuses a missing image, `missing` (the default) pulls only
    /// what is not there. Each image once.
    pub(super) async fn ensure_images(
        &self,
        project: &Project,
        rebuild: bool,
        on: &(dyn Fn(Event) + Sync),
    ) -> Result<(), Error> {
        let mut done: Vec<&str> = Vec::new();
        for svc in project.services.values().filter(|s| s.build.is_some()) {
            if done.contains(&svc.image.as_str()) {
                continue;
            }
            let policy = svc.pull_policy.as_deref().unwrap_or("missing");
            if rebuild || policy == "build" || !self.has_image(&svc.image).await {
                self.build_service(svc, false, on).await?;
            }
            done.push(&svc.image);
        }
        for svc in project.services.values() {
            let image = svc.image.as_str();
            if done.contains(&image) {
                continue;
            }
            done.push(image);
            match svc.pull_policy.as_deref().unwrap_or("missing") {
                "always" => self.pull_image(image, on).await?,
                _ if self.has_image(image).await => {}
                "never" => {
                    return Err(Error::ImageUnavailable {
                        image: image.to_string(),
                        reason: format!(
                            "it is not on this machine and service `{}` has `pull_policy: never`",
                            svc.name
                        ),
                    });
                }
                _ => self.pull_image(image, on).await?,
            }
        }
        Ok(())
    }

    /// Pulls the images of the project's services that are pulled rather
    /// than built (`pull_policy` `never` and `build` left alone), each once;
    /// returns them.
    pub async fn pull_images(
        &self,
        project: &Project,
        on: &(dyn Fn(Event) + Sync),
    ) -> Result<Vec<String>, Error> {
        let mut pulled: Vec<String> = Vec::new();
        for svc in project.services.values() {
            let policy = svc.pull_policy.as_deref().unwrap_or("missing");
            if svc.build.is_some() && policy != "always" || matches!(policy, "never" | "build") {
                continue;
            }
            if !pulled.contains(&svc.image) {
                self.pull_image(&svc.image, on).await?;
                pulled.push(svc.image.clone());
            }
        }
        Ok(pulled)
    }

    async fn has_image(&self, image: &str) -> bool {
        self.docker.inspect_image(image).await.is_ok()
    }

    /// The ID of an image (`sha256:…`), which docker compose records on
    /// each container it makes; `None` when the engine does not have it.
    pub(super) async fn image_id(&self, image: &str) -> Option<String> {
        self.docker
            .inspect_image(image)
            .await
            .ok()
            .and_then(|i| i.id)
    }

    /// Pulls one image, reporting its progress summed over its layers.
    async fn pull_image(&self, image: &str, on: &(dyn Fn(Event) + Sync)) -> Result<(), Error> {
        on(Event::Pulling(image.to_string()));
        let (repo, tag) = split_image(image);
        let options = CreateImageOptionsBuilder::new()
            .from_image(repo)
            .tag(tag)
            .build();
        let mut stream = self.docker.create_image(Some(options), None, None);
        let mut failure = None;
        let mut layers: HashMap<String, (u64, u64)> = HashMap::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                        failure = Some(detail);
                    }
                    if let (Some(id), Some(p)) = (info.id, info.progress_detail) {
                        let current = p.current.unwrap_or(0).max(0) as u64;
                        let total = p.total.unwrap_or(0).max(0) as u64;
                        layers.insert(id, (current, total));
                        let (c, t) = layers
                            .values()
                            .fold((0, 0), |(c, t), (a, b)| (c + a, t + b));
                        on(Event::PullProgress {
                            image: image.to_string(),
                            current: c,
                            total: t,
                        });
                    }
                }
                Err(e) => {
                    failure = Some(reason(&e));
                    break;
                }
            }
        }
        if let Some(reason) = failure {
            return Err(Error::ImageUnavailable {
                image: image.to_string(),
                reason: format!("pulling it failed: {reason}"),
            });
        }
        if let Err(e) = self.docker.inspect_image(image).await {
            return Err(Error::ImageUnavailable {
                image: image.to_string(),
                reason: reason(&e),
            });
        }
        on(Event::Pulled(image.to_string()));
        Ok(())
    }
}

/// `repo:tag` → (`repo`, `tag`), defaulting the tag to `latest`; digests stay whole.
fn split_image(image: &str) -> (&str, &str) {
    if image.contains('@') {
        return (image, "");
    }
    match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (image, "latest"),
    }
}

#[cfg(test)]
mod tests {
    use super::split_image;

    #[test]
    fn image_names() {
        assert_eq!(split_image("busybox"), ("busybox", "latest"));
        assert_eq!(split_image("busybox:1.36"), ("busybox", "1.36"));
        assert_eq!(split_image("reg:5000/app"), ("reg:5000/app", "latest"));
        assert_eq!(split_image("reg:5000/app:v2"), ("reg:5000/app", "v2"));
    }
}
