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
    /// have (all of them with `rebuild`), then pulls every other image it
    /// does not have, once each.
    pub(super) async fn ensure_images(
        &self,
        project: &Project,
        rebuild: bool,
        on: &(dyn Fn(Event) + Sync),
    ) -> Result<(), Error> {
        let mut built: Vec<&str> = Vec::new();
        for svc in project.services.values().filter(|s| s.build.is_some()) {
            if built.contains(&svc.image.as_str()) {
                continue;
            }
            if rebuild || self.docker.inspect_image(&svc.image).await.is_err() {
                self.build_service(svc, false, on).await?;
            }
            built.push(&svc.image);
        }
        let mut images: Vec<&str> = project
            .services
            .values()
            .map(|s| s.image.as_str())
            .filter(|i| !built.contains(i))
            .collect();
        images.sort();
        images.dedup();
        for image in images {
            if self.docker.inspect_image(image).await.is_ok() {
                continue;
            }
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
                    reason: format!("it is not on this machine and pulling it failed: {reason}"),
                });
            }
            if let Err(e) = self.docker.inspect_image(image).await {
                return Err(Error::ImageUnavailable {
                    image: image.to_string(),
                    reason: reason(&e),
                });
            }
            on(Event::Pulled(image.to_string()));
        }
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
