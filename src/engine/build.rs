//! Building a service's image through the engine's build API (the classic
//! builder of API 1.41 works): the context directory as a tar (see
//! `buildctx`), the Dockerfile, build args, target, labels, network, extra
//! hosts, shm size and cache sources; the builder's output as events.

use std::collections::HashMap;
use std::time::Duration;

use bollard::query_parameters::BuildImageOptions;
use futures_util::StreamExt;

use super::Engine;
use super::up::Event;
use crate::compose::Service;
use crate::error::Error;

/// The build call's options for a service (pure).
pub(crate) fn build_options(
    image: &str,
    build: &crate::compose::Build,
    dockerfile: &str,
    no_cache: bool,
) -> BuildImageOptions {
    let map = |m: &indexmap::IndexMap<String, String>| -> Option<HashMap<String, String>> {
        (!m.is_empty()).then(|| m.clone().into_iter().collect())
    };
    BuildImageOptions {
        dockerfile: dockerfile.to_string(),
        t: Some(image.to_string()),
        buildargs: map(&build.args),
        target: build.target.clone().unwrap_or_default(),
        labels: map(&build.labels),
        networkmode: build.network.clone(),
        extrahosts: (!build.extra_hosts.is_empty()).then(|| build.extra_hosts.join(",")),
        shmsize: build.shm_size.map(|s| s.clamp(0, i32::MAX as i64) as i32),
        cachefrom: (!build.cache_from.is_empty()).then(|| build.cache_from.clone()),
        nocache: no_cache,
        rm: true,
        forcerm: true,
        ..Default::default()
    }
}

impl Engine {
    /// Builds `svc`'s image (tagged with `svc.image`), reporting the
    /// builder's output lines; a failure names the service and the image and
    /// ends with the builder's last lines.
    pub async fn build_service(
        &self,
        svc: &Service,
        no_cache: bool,
        on: &(dyn Fn(Event) + Sync),
    ) -> Result<(), Error> {
        let Some(build) = &svc.build else {
            return Ok(());
        };
        let failed = |reason: String| Error::BuildFailed {
            service: svc.name.clone(),
            image: svc.image.clone(),
            reason,
        };
        let (tar, dockerfile) = crate::buildctx::context_tar(
            std::path::Path::new(&build.context),
            build.dockerfile.as_deref(),
            build.dockerfile_inline.as_deref(),
        )?;
        on(Event::Building(svc.image.clone()));
        let options = build_options(&svc.image, build, &dockerfile, no_cache);
        // A build takes as long as it takes: the client's deadline covers
        // only the engine's first answer, and the stream is not cut.
        let client = self.patient(Duration::from_secs(24 * 3600));
        let mut stream = client.build_image(options, None, Some(bollard::body_full(tar.into())));
        let mut last: Vec<String> = Vec::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                        return Err(failed(format!("{}{}", detail.trim(), tail(&last))));
                    }
                    if let Some(text) = info.stream {
                        for line in text.lines().filter(|l| !l.trim().is_empty()) {
                            last.push(line.to_string());
                            if last.len() > 10 {
                                last.remove(0);
                            }
                            on(Event::BuildOutput {
                                image: svc.image.clone(),
                                line: line.to_string(),
                            });
                        }
                    }
                }
                Err(e) => {
                    let e = self.error(&format!("build image `{}`", svc.image), &e);
                    return Err(failed(format!("{e}{}", tail(&last))));
                }
            }
        }
        if let Err(e) = self.docker.inspect_image(&svc.image).await {
            return Err(failed(format!(
                "the build ended without the image: {}{}",
                super::reason(&e),
                tail(&last)
            )));
        }
        on(Event::Built(svc.image.clone()));
        Ok(())
    }
}

fn tail(lines: &[String]) -> String {
    if lines.is_empty() {
        String::new()
    } else {
        format!(
            "; the builder's last lines:\n{}",
            lines
                .iter()
                .map(|l| format!("  | {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_carry_every_build_key() {
        let build = crate::compose::Build {
            context: "/srv/app".into(),
            dockerfile: Some("docker/Dockerfile".into()),
            dockerfile_inline: None,
            args: [("V".to_string(), "1".to_string())].into_iter().collect(),
            target: Some("final".into()),
            labels: [("l".to_string(), "x".to_string())].into_iter().collect(),
            network: Some("host".into()),
            extra_hosts: vec!["db:10.0.0.2".into()],
            shm_size: Some(64 << 20),
            cache_from: vec!["app:cache".into()],
        };
        let o = build_options("p-web", &build, "docker/Dockerfile", true);
        assert_eq!(o.dockerfile, "docker/Dockerfile");
        assert_eq!(o.t.as_deref(), Some("p-web"));
        assert_eq!(o.buildargs.unwrap()["V"], "1");
        assert_eq!(o.target, "final");
        assert_eq!(o.labels.unwrap()["l"], "x");
        assert_eq!(o.networkmode.as_deref(), Some("host"));
        assert_eq!(o.extrahosts.as_deref(), Some("db:10.0.0.2"));
        assert_eq!(o.shmsize, Some(64 << 20));
        assert_eq!(o.cachefrom, Some(vec!["app:cache".to_string()]));
        assert!(o.nocache && o.rm && o.forcerm);
    }
}
