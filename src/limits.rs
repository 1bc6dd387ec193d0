//! Resource limits as the operator writes them: a tier's `[tiers.<name>]` in
//! `mrctl.toml`, an instance's own `limits` in `instances.json` and the
//! `--memory`/`--cpus`/`--pids` flags. One type, one validation, the
//! resolution of an instance's limits over its tier's, and the conversion to
//! the bytes and nano-CPUs the engine applies.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize, Serializer};

use crate::error::Error;
use crate::units;

/// The least memory the engine accepts for a container (6 MiB).
const MIN_MEMORY: u64 = 6 << 20;
/// The most CPUs a limit may ask for.
const MAX_CPUS: f64 = 1024.0;

/// Resource limits of every container of an instance: memory as written
/// (`512m`), CPUs, processes. Keys left out are not limited.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids: Option<i64>,
}

/// The one limit a value breaks, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    /// The key: `memory`, `cpus` or `pids`.
    pub field: &'static str,
    /// One sentence naming the value.
    pub reason: String,
}

impl Limits {
    pub fn is_empty(&self) -> bool {
        self.memory.is_none() && self.cpus.is_none() && self.pids.is_none()
    }

    /// The check every source of limits goes through: memory a size of at
    /// least 6m, CPUs above 0 and at most 1024, processes at least 1.
    pub fn validate(&self) -> Result<(), Invalid> {
        if let Some(m) = &self.memory
            && units::parse_bytes(m).is_none_or(|b| b < MIN_MEMORY)
        {
            return Err(Invalid {
                field: "memory",
                reason: format!("`{m}` is not a memory size of at least 6m"),
            });
        }
        if let Some(c) = self.cpus
            && !(c > 0.0 && c <= MAX_CPUS)
        {
            return Err(Invalid {
                field: "cpus",
                reason: format!("{c} is not a positive number of CPUs"),
            });
        }
        if let Some(p) = self.pids
            && p < 1
        {
            return Err(Invalid {
                field: "pids",
                reason: format!("{p} is not a positive limit"),
            });
        }
        Ok(())
    }

    /// `--memory`/`--cpus`/`--pids` as typed, validated. The flags are
    /// text, so a refusal quotes the text and says what was expected.
    pub fn from_flags(args: &crate::cli::LimitArgs) -> Result<Limits, Error> {
        let refuse = |field: &str, text: &str| {
            let wanted = match field {
                "memory" => "a memory size of at least 6m (e.g. `512m`, `2g`)",
                "cpus" => "a positive number of CPUs",
                _ => "a positive whole number",
            };
            Error::InvalidArgument {
                option: format!("--{field}"),
                reason: format!("`{text}` is not {wanted}"),
            }
        };
        let word = |e: Invalid| {
            let text = match e.field {
                "memory" => args.memory.as_deref(),
                "cpus" => args.cpus.as_deref(),
                _ => args.pids.as_deref(),
            };
            refuse(e.field, text.unwrap_or_default())
        };
        // Flag by flag, in the order they are listed: the first bad one is named.
        let mut limits = Limits {
            memory: args.memory.clone(),
            ..Limits::default()
        };
        limits.validate().map_err(word)?;
        if let Some(t) = &args.cpus {
            limits.cpus = Some(t.parse::<f64>().map_err(|_| refuse("cpus", t))?);
            limits.validate().map_err(word)?;
        }
        if let Some(t) = &args.pids {
            limits.pids = Some(t.parse::<i64>().map_err(|_| refuse("pids", t))?);
            limits.validate().map_err(word)?;
        }
        Ok(limits)
    }

    /// These limits on top of `base`, key by key: an instance's own over
    /// its tier's.
    pub fn over(&self, base: Option<&Limits>) -> Limits {
        Limits {
            memory: self
                .memory
                .clone()
                .or_else(|| base.and_then(|b| b.memory.clone())),
            cpus: self.cpus.or_else(|| base.and_then(|b| b.cpus)),
            pids: self.pids.or_else(|| base.and_then(|b| b.pids)),
        }
    }

    /// The limits as the engine applies them: bytes and nano-CPUs.
    pub fn to_engine(&self) -> crate::compose::Limits {
        crate::compose::Limits {
            memory: self
                .memory
                .as_deref()
                .and_then(units::parse_bytes)
                .map(|b| b as i64),
            nano_cpus: self.cpus.map(|c| (c * 1e9) as i64),
            pids: self.pids,
        }
    }
}

/// The limits in force for an instance of tier `tier` (one of `tiers`) with
/// limits `own` of its own: the tier's, with the instance's on top.
pub fn in_force(tiers: &IndexMap<String, Limits>, tier: Option<&str>, own: &Limits) -> Limits {
    own.over(tier.and_then(|t| tiers.get(t)))
}

/// Writes every key, `null` when unset: templates read `limits.memory`
/// without checking that it exists.
pub fn serialize_every_key<S: Serializer>(l: &Limits, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Every<'a> {
        memory: &'a Option<String>,
        cpus: &'a Option<f64>,
        pids: &'a Option<i64>,
    }
    Every {
        memory: &l.memory,
        cpus: &l.cpus,
        pids: &l.pids,
    }
    .serialize(s)
}

/// `memory 256m, cpus 0.25, pids 100`, or `no limits`.
pub fn describe(l: &crate::compose::Limits) -> String {
    let mut parts = Vec::new();
    if let Some(m) = l.memory {
        parts.push(format!("memory {}", units::format_bytes(m as u64)));
    }
    if let Some(c) = l.nano_cpus {
        parts.push(format!("cpus {}", c as f64 / 1e9));
    }
    if let Some(p) = l.pids {
        parts.push(format!("pids {p}"));
    }
    if parts.is_empty() {
        "no limits".to_string()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::LimitArgs;

    fn limits(memory: Option<&str>, cpus: Option<f64>, pids: Option<i64>) -> Limits {
        Limits {
            memory: memory.map(str::to_string),
            cpus,
            pids,
        }
    }

    fn refused(l: Limits) -> (&'static str, String) {
        let e = l.validate().unwrap_err();
        (e.field, e.reason)
    }

    #[test]
    fn validation_accepts_good_values_and_none() {
        assert_eq!(Limits::default().validate(), Ok(()));
        assert_eq!(limits(Some("6m"), Some(1024.0), Some(1)).validate(), Ok(()));
        assert_eq!(limits(Some("2g"), Some(0.01), Some(100)).validate(), Ok(()));
    }

    #[test]
    fn validation_names_each_bad_value() {
        let memory = "`lots` is not a memory size of at least 6m";
        assert_eq!(
            refused(limits(Some("lots"), None, None)),
            ("memory", memory.into())
        );
        assert_eq!(
            refused(limits(Some("5m"), None, None)),
            ("memory", "`5m` is not a memory size of at least 6m".into())
        );
        for c in [0.0, -1.0, 1024.5, f64::NAN] {
            assert_eq!(
                refused(limits(None, Some(c), None)),
                ("cpus", format!("{c} is not a positive number of CPUs"))
            );
        }
        for p in [0, -3] {
            assert_eq!(
                refused(limits(None, None, Some(p))),
                ("pids", format!("{p} is not a positive limit"))
            );
        }
        // The first bad key is the one named.
        assert_eq!(refused(limits(Some("x"), Some(0.0), Some(0))).0, "memory");
    }

    #[test]
    fn flags_are_parsed_and_validated() {
        let args = |m: Option<&str>, c: Option<&str>, p: Option<&str>| LimitArgs {
            memory: m.map(str::to_string),
            cpus: c.map(str::to_string),
            pids: p.map(str::to_string),
        };
        assert_eq!(
            Limits::from_flags(&args(Some("512m"), Some("0.5"), Some("64"))).unwrap(),
            limits(Some("512m"), Some(0.5), Some(64))
        );
        assert!(
            Limits::from_flags(&LimitArgs::default())
                .unwrap()
                .is_empty()
        );
        for (a, message) in [
            (
                args(Some("lots"), None, None),
                "invalid value for `--memory`: `lots` is not a memory size of at least 6m (e.g. `512m`, `2g`)",
            ),
            (
                args(Some("1m"), None, None),
                "invalid value for `--memory`: `1m` is not a memory size of at least 6m (e.g. `512m`, `2g`)",
            ),
            (
                args(None, Some("many"), None),
                "invalid value for `--cpus`: `many` is not a positive number of CPUs",
            ),
            (
                args(None, Some("0"), None),
                "invalid value for `--cpus`: `0` is not a positive number of CPUs",
            ),
            (
                args(None, None, Some("1.5")),
                "invalid value for `--pids`: `1.5` is not a positive whole number",
            ),
            (
                args(None, None, Some("0")),
                "invalid value for `--pids`: `0` is not a positive whole number",
            ),
        ] {
            assert_eq!(Limits::from_flags(&a).unwrap_err().to_string(), message);
        }
        // Flags are checked in the order they are listed.
        let err = Limits::from_flags(&args(Some("lots"), Some("many"), Some("0"))).unwrap_err();
        assert!(err.to_string().contains("`--memory`"), "{err}");
        let err = Limits::from_flags(&args(None, Some("0"), Some("x"))).unwrap_err();
        assert!(err.to_string().contains("`--cpus`"), "{err}");
    }

    #[test]
    fn an_instance_s_limits_go_over_its_tier_s_key_by_key() {
        let tiers = IndexMap::from([("pro".to_string(), limits(Some("2g"), Some(1.0), None))]);
        let own = limits(Some("512m"), None, Some(50));
        assert_eq!(
            in_force(&tiers, Some("pro"), &own),
            limits(Some("512m"), Some(1.0), Some(50))
        );
        assert_eq!(in_force(&tiers, None, &own), own);
        assert_eq!(in_force(&tiers, Some("gone"), &own), own);
        assert_eq!(
            in_force(&tiers, Some("pro"), &Limits::default()),
            tiers["pro"]
        );
    }

    #[test]
    fn the_engine_gets_bytes_and_nano_cpus() {
        let l = limits(Some("256m"), Some(0.25), Some(100)).to_engine();
        assert_eq!(
            l,
            crate::compose::Limits {
                memory: Some(256 << 20),
                nano_cpus: Some(250_000_000),
                pids: Some(100),
            }
        );
        assert_eq!(describe(&l), "memory 256m, cpus 0.25, pids 100");
        assert_eq!(
            Limits::default().to_engine(),
            crate::compose::Limits::default()
        );
        assert_eq!(describe(&crate::compose::Limits::default()), "no limits");
    }

    #[test]
    fn serde_keeps_the_written_form() {
        let l: Limits = serde_json::from_str(r#"{"memory": "512m", "pids": 9}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&l).unwrap(),
            r#"{"memory":"512m","pids":9}"#
        );
        let err = serde_json::from_str::<Limits>(r#"{"memroy": "1g"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `memroy`"), "{err}");
        let mut out = serde_json::Serializer::new(Vec::new());
        serialize_every_key(&l, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out.into_inner()).unwrap(),
            r#"{"memory":"512m","cpus":null,"pids":9}"#
        );
    }
}
