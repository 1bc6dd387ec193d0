//! Containers' resource limits: read, compared with the service's (pure),
//! changed in place when the engine can (it cannot lift one). Limits the
//! engine would refuse, found before anything is written: more CPUs than
//! the engine has, less memory or CPU than it allows. And the undo of an
//! in-place update the engine refused halfway through.

use bollard::models::ContainerUpdateBody;

use super::{ContainerInfo, Engine, Owned};
use crate::compose::{Limits, Project};
use crate::error::Error;

/// The engine's smallest memory limit: Docker refuses less than 6 MB.
const MIN_MEMORY: i64 = 6 << 20;
/// The engine's smallest CPU limit: Docker refuses less than 0.01 CPUs.
const MIN_NANO_CPUS: i64 = 10_000_000;

fn cpus(nano: i64) -> String {
    let c = nano as f64 / 1e9;
    format!("{}", (c * 1000.0).round() / 1000.0)
}

/// Why an engine with `ncpu` CPUs would refuse `limits`, if it would.
pub fn refusal(limits: &Limits, ncpu: Option<i64>) -> Option<String> {
    if let Some(n) = limits.nano_cpus {
        if let Some(ncpu) = ncpu.filter(|c| *c > 0)
            && n > ncpu.saturating_mul(1_000_000_000)
        {
            return Some(format!(
                "cpus {} is more than the {ncpu} CPU{} of the Docker engine",
                cpus(n),
                if ncpu == 1 { "" } else { "s" }
            ));
        }
        if n < MIN_NANO_CPUS {
            return Some(format!(
                "cpus {} is below the engine's minimum of 0.01",
                cpus(n)
            ));
        }
    }
    if let Some(m) = limits.memory
        && m < MIN_MEMORY
    {
        return Some(format!(
            "memory {} is below the engine's minimum of 6m",
            crate::units::format_bytes(m.max(0) as u64)
        ));
    }
    None
}

/// `reason` with every 64-character container id in it replaced by the
/// container's name: the engine names containers by id, people by name.
pub(crate) fn with_name(reason: &str, name: &str) -> String {
    let mut out = String::with_capacity(reason.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.len() == 64 {
            out.push_str(&format!("`{name}`"));
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in reason.chars() {
        if c.is_ascii_hexdigit() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// What bringing a container's limits in line takes (before), or took (after).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LimitSync {
    Same,
    Updated,
    /// A limit is to be lifted: the engine's update call cannot do that.
    NeedsRecreate,
}

/// What a container running with `current` limits needs to run with `desired`.
pub(crate) fn limit_change(current: Limits, desired: Limits) -> LimitSync {
    if current == desired {
        LimitSync::Same
    } else if (desired.memory.is_none() && current.memory.is_some())
        || (desired.nano_cpus.is_none() && current.nano_cpus.is_some())
    {
        LimitSync::NeedsRecreate
    } else {
        LimitSync::Updated
    }
}

/// The engine's update body that sets `desired`; a pids limit not wanted is lifted.
fn update_body(desired: Limits) -> ContainerUpdateBody {
    ContainerUpdateBody {
        memory: desired.memory,
        // Docker's default swap allowance on create is twice the memory.
        memory_swap: desired.memory.map(|m| m.saturating_mul(2)),
        nano_cpus: desired.nano_cpus,
        pids_limit: Some(desired.pids.unwrap_or(-1)),
        ..Default::default()
    }
}

impl Engine {
    /// The limits a container runs with.
    pub async fn limits_of(&self, container: &str) -> Result<Limits, Error> {
        let inspect = self
            .docker
            .inspect_container(container, None)
            .await
            .map_err(|e| self.error(&format!("inspect container `{container}`"), &e))?;
        Ok(limits_seen(&inspect))
    }

    /// Sets a container's limits in place (the engine's update call).
    pub(crate) async fn set_limits(&self, container: &str, desired: Limits) -> Result<(), Error> {
        self.docker
            .update_container(container, update_body(desired))
            .await
            .map_err(|e| {
                match self.error(&format!("update the limits of container `{container}`"), &e) {
                    Error::Docker { action, reason } => Error::Docker {
                        action,
                        reason: with_name(&reason, container),
                    },
                    other => other,
                }
            })
    }

    /// Changes a container's limits in place when they differ from `desired`.
    pub(crate) async fn sync_limits(
        &self,
        container: &str,
        desired: Limits,
    ) -> Result<LimitSync, Error> {
        let change = limit_change(self.limits_of(container).await?, desired);
        if change == LimitSync::Updated {
            self.set_limits(container, desired).await?;
        }
        Ok(change)
    }

    /// Applies the project's limits to its existing containers in place.
    /// Returns the containers changed, and those that need a recreate (a
    /// limit lifted) which the next `start` does. When the engine refuses a
    /// container's new limits, those already changed get their old ones back.
    /// Only the containers of `owned` (this stack directory's) are changed.
    pub async fn update_limits(
        &self,
        project: &Project,
        owned: &Owned,
    ) -> Result<(Vec<String>, Vec<String>), Error> {
        let instance = owned.instance.as_str();
        let mut updated = Vec::new();
        let mut recreate = Vec::new();
        let mut before = Vec::new();
        for c in owned.containers.iter().cloned() {
            let Some(svc) = project.services.get(&c.service) else {
                continue;
            };
            before.push((c.name.clone(), self.limits_of(&c.name).await?));
            match self.sync_limits(&c.name, svc.limits).await {
                Ok(LimitSync::Same) => {}
                Ok(LimitSync::Updated) => updated.push(c.name),
                Ok(LimitSync::NeedsRecreate) => recreate.push(c.name),
                Err(e) => return Err(self.undo_limits(instance, &c, e, &updated, &before).await),
            }
        }
        Ok((updated, recreate))
    }

    /// Refuses, naming the instance, limits the engine would refuse. Asks
    /// the engine (`info`) and changes nothing.
    pub async fn check_limits(&self, instance: &str, limits: &Limits) -> Result<(), Error> {
        let info = self
            .docker
            .info()
            .await
            .map_err(|e| self.error("report its CPUs", &e))?;
        match refusal(limits, info.ncpu) {
            Some(reason) => Err(Error::LimitsRefused {
                instance: instance.to_string(),
                target: String::new(),
                reason,
            }),
            None => Ok(()),
        }
    }

    /// After the engine refused container `failed`'s new limits: gives the
    /// containers already `updated` their limits from `before` back, and
    /// returns the error naming the instance, the service and the container.
    pub(crate) async fn undo_limits(
        &self,
        instance: &str,
        failed: &ContainerInfo,
        err: Error,
        updated: &[String],
        before: &[(String, Limits)],
    ) -> Error {
        let mut restored = Vec::new();
        let mut kept = Vec::new();
        for name in updated {
            let Some((_, old)) = before.iter().find(|(n, _)| n == name) else {
                continue;
            };
            match self.sync_limits(name, *old).await {
                Ok(LimitSync::Same | LimitSync::Updated) => restored.push(format!("`{name}`")),
                _ => kept.push(format!("`{name}`")),
            }
        }
        let mut why = match err {
            Error::Docker { reason, .. } => reason,
            other => other.to_string(),
        };
        if !restored.is_empty() {
            why.push_str(&format!(
                "; container {} got its old limits back",
                restored.join(", ")
            ));
        }
        if !kept.is_empty() {
            why.push_str(&format!(
                "; container {} keeps the new limits (the engine cannot lift a limit in place)",
                kept.join(", ")
            ));
        }
        Error::LimitsRefused {
            instance: instance.to_string(),
            target: format!(
                ", service `{}` (container `{}`)",
                failed.service, failed.name
            ),
            reason: why,
        }
    }
}

/// The limits a container's inspection shows.
pub(super) fn limits_seen(inspect: &bollard::models::ContainerInspectResponse) -> Limits {
    let hc = inspect.host_config.clone().unwrap_or_default();
    let positive = |v: Option<i64>| v.filter(|x| *x > 0);
    Limits {
        memory: positive(hc.memory),
        nano_cpus: positive(hc.nano_cpus),
        pids: positive(hc.pids_limit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(memory: Option<i64>, nano_cpus: Option<i64>) -> Limits {
        Limits {
            memory,
            nano_cpus,
            pids: None,
        }
    }

    #[test]
    fn limits_change_in_place_unless_one_is_lifted() {
        let same = l(Some(64 << 20), Some(500_000_000));
        assert_eq!(limit_change(same, same), LimitSync::Same);
        assert_eq!(
            limit_change(same, l(Some(128 << 20), Some(500_000_000))),
            LimitSync::Updated
        );
        // Set where there was none: in place.
        assert_eq!(limit_change(l(None, None), same), LimitSync::Updated);
        // Lifted: the engine cannot, the container is made again.
        assert_eq!(
            limit_change(same, l(None, Some(500_000_000))),
            LimitSync::NeedsRecreate
        );
        assert_eq!(
            limit_change(same, l(Some(64 << 20), None)),
            LimitSync::NeedsRecreate
        );
        // A pids limit is lifted in place (-1).
        let pids = Limits {
            pids: Some(100),
            ..same
        };
        assert_eq!(limit_change(pids, same), LimitSync::Updated);
        assert_eq!(update_body(same).pids_limit, Some(-1));
        assert_eq!(update_body(same).memory_swap, Some(128 << 20));
        assert_eq!(update_body(pids).pids_limit, Some(100));
    }

    #[test]
    fn container_ids_become_names() {
        let id = "a4dac3c62612aa129795e1f99a5b3182ea64ca6cef8446b194def1bbf3ab1db4";
        assert_eq!(
            with_name(
                &format!("Cannot update container {id}: Conflicting options"),
                "p-web-1"
            ),
            "Cannot update container `p-web-1`: Conflicting options"
        );
        // Shorter hex words (a short id, a number) stay.
        assert_eq!(with_name("exit 137 at abc123", "x"), "exit 137 at abc123");
    }

    #[test]
    fn limits_the_engine_refuses_are_named() {
        assert_eq!(refusal(&l(None, Some(2_000_000_000)), Some(2)), None);
        assert_eq!(
            refusal(&l(None, Some(4_000_000_000)), Some(2)).as_deref(),
            Some("cpus 4 is more than the 2 CPUs of the Docker engine")
        );
        assert_eq!(
            refusal(&l(None, Some(1_500_000_000)), Some(1)).as_deref(),
            Some("cpus 1.5 is more than the 1 CPU of the Docker engine")
        );
        assert_eq!(
            refusal(&l(None, Some(1_000_000)), Some(2)).as_deref(),
            Some("cpus 0.001 is below the engine's minimum of 0.01")
        );
        assert_eq!(
            refusal(&l(Some(1 << 20), None), Some(2)).as_deref(),
            Some("memory 1m is below the engine's minimum of 6m")
        );
        assert_eq!(refusal(&l(Some(6 << 20), Some(10_000_000)), Some(2)), None);
        // An engine that does not say how many CPUs it has is not second-guessed.
        assert_eq!(refusal(&l(None, Some(64_000_000_000)), None), None);
    }
}
