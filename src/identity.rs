//! Who a stack directory is, and whether a Docker resource is its own.
//!
//! Two checkouts of one stack (git worktrees, a copy) share `mrctl.toml`,
//! so they share the stack name and the compose project names of their
//! instances. Labels naming the project or the stack are therefore no proof
//! of ownership. Every resource mrctl creates also carries the stack
//! directory's identity: a random id made once and kept in the registry, and
//! the directory's absolute path. mrctl changes or removes only resources
//! that carry both; everything else with an instance's project is reported,
//! naming its owner, and left alone.
//!
//! Resources made before identities existed (or by `docker compose` run on
//! this stack's files) carry none; a container is adopted when its compose
//! working-dir or config-files labels point into this stack directory, and
//! an id-less network or volume only alongside such a container.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The stack's name (shared by copies of the stack's files).
pub const STACK_LABEL: &str = "mrctl.stack";
/// The instance a resource belongs to.
pub const INSTANCE_LABEL: &str = "mrctl.instance";
/// The stack directory's random id (not shared by a copy made afterwards).
pub const ID_LABEL: &str = "mrctl.stack-id";
/// The stack directory's absolute path (names the owner in messages).
pub const DIR_LABEL: &str = "mrctl.stack-dir";
/// Marks the short-lived helper containers that read and write volumes.
pub const HELPER_LABEL: &str = "mrctl.helper";

const WORKING_DIR_LABEL: &str = "com.docker.compose.project.working_dir";
const CONFIG_FILES_LABEL: &str = "com.docker.compose.project.config_files";

/// A stack directory's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The stack's name from mrctl.toml.
    pub stack: String,
    /// The random id kept in the registry.
    pub id: String,
    /// The stack directory, absolute and canonical.
    pub dir: PathBuf,
}

/// Whose a resource is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ownership {
    /// It carries this stack directory's identity.
    Own,
    /// It carries no identity, but its compose labels point into this stack
    /// directory (made by an earlier mrctl, or by docker compose on these files).
    Adopted,
    /// Someone else's: the description names the owner.
    Foreign(String),
}

impl Ownership {
    pub fn is_mine(&self) -> bool {
        !matches!(self, Ownership::Foreign(_))
    }
}

impl Identity {
    /// The labels every resource mrctl creates for `instance` carries.
    pub fn labels(&self, instance: &str) -> HashMap<String, String> {
        HashMap::from([
            (STACK_LABEL.to_string(), self.stack.clone()),
            (INSTANCE_LABEL.to_string(), instance.to_string()),
            (ID_LABEL.to_string(), self.id.clone()),
            (
                DIR_LABEL.to_string(),
                self.dir.to_string_lossy().into_owned(),
            ),
        ])
    }

    /// Whose a resource with these labels is. `copy_alive` answers whether a
    /// stack directory other than this one still holds a registry with this
    /// identity's id (then a same-id resource made there belongs to a copy;
    /// otherwise this stack directory was moved and the resource is its own).
    pub fn ownership(
        &self,
        labels: &HashMap<String, String>,
        copy_alive: &dyn Fn(&Path) -> bool,
    ) -> Ownership {
        match labels.get(ID_LABEL) {
            Some(id) if *id == self.id => match labels.get(DIR_LABEL) {
                Some(dir) if Path::new(dir) != self.dir && copy_alive(Path::new(dir)) => {
                    Ownership::Foreign(owner_of(labels))
                }
                _ => Ownership::Own,
            },
            Some(_) => Ownership::Foreign(owner_of(labels)),
            None if self.points_here(labels) => Ownership::Adopted,
            None => Ownership::Foreign(owner_of(labels)),
        }
    }

    /// Whose a resource is, looking on disk for a live copy of this stack
    /// directory when a resource carries this id with another directory.
    pub fn classify(&self, labels: &HashMap<String, String>) -> Ownership {
        self.ownership(labels, &|dir| {
            crate::registry::holds_identity(dir, &self.id)
        })
    }

    /// Whether compose's working-dir or config-files labels point into
    /// this stack directory.
    fn points_here(&self, labels: &HashMap<String, String>) -> bool {
        let inside = |p: &str| {
            let p = Path::new(p.trim());
            p.is_absolute() && p.starts_with(&self.dir)
        };
        labels.get(WORKING_DIR_LABEL).is_some_and(|d| inside(d))
            || labels
                .get(CONFIG_FILES_LABEL)
                .is_some_and(|f| !f.is_empty() && f.split(',').all(inside))
    }
}

/// Who made a resource, as far as its labels tell.
pub fn owner_of(labels: &HashMap<String, String>) -> String {
    if let Some(dir) = labels.get(DIR_LABEL) {
        return format!("the stack directory `{dir}`");
    }
    if labels.contains_key(ID_LABEL) {
        return "another stack directory".to_string();
    }
    if let Some(dir) = labels.get(WORKING_DIR_LABEL) {
        return match labels.get(STACK_LABEL) {
            Some(_) => format!("an earlier mrctl in `{dir}`"),
            None => format!("docker compose in `{dir}`"),
        };
    }
    match labels.get(STACK_LABEL) {
        Some(stack) => format!("an earlier mrctl run of a stack `{stack}` elsewhere"),
        None => "something outside mrctl (made by hand or by another tool)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> Identity {
        Identity {
            stack: "app".into(),
            id: "aaaa".into(),
            dir: PathBuf::from("/srv/app"),
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const NO_COPY: &dyn Fn(&Path) -> bool = &|_| false;
    const COPY: &dyn Fn(&Path) -> bool = &|_| true;

    #[test]
    fn own_labels_are_own() {
        let l = me().labels("1");
        assert_eq!(me().ownership(&l, NO_COPY), Ownership::Own);
        assert_eq!(me().ownership(&l, COPY), Ownership::Own);
    }

    #[test]
    fn another_id_is_foreign_and_named() {
        let l = labels(&[(ID_LABEL, "bbbb"), (DIR_LABEL, "/home/x/app")]);
        assert_eq!(
            me().ownership(&l, NO_COPY),
            Ownership::Foreign("the stack directory `/home/x/app`".into())
        );
    }

    #[test]
    fn same_id_elsewhere_is_a_copy_while_the_copy_lives() {
        let l = labels(&[(ID_LABEL, "aaaa"), (DIR_LABEL, "/srv/app-copy")]);
        assert_eq!(
            me().ownership(&l, COPY),
            Ownership::Foreign("the stack directory `/srv/app-copy`".into())
        );
        // The directory moved: what it made is still its own.
        assert_eq!(me().ownership(&l, NO_COPY), Ownership::Own);
    }

    #[test]
    fn legacy_resources_are_adopted_only_from_this_directory() {
        let here = labels(&[
            (STACK_LABEL, "app"),
            (WORKING_DIR_LABEL, "/srv/app"),
            (CONFIG_FILES_LABEL, "/srv/app/docker-compose.yml"),
        ]);
        assert_eq!(me().ownership(&here, NO_COPY), Ownership::Adopted);
        let files_only = labels(&[(CONFIG_FILES_LABEL, "/srv/app/a.yml,/srv/app/b.yml")]);
        assert_eq!(me().ownership(&files_only, NO_COPY), Ownership::Adopted);
        // A sibling directory whose name starts alike is not inside.
        let sibling = labels(&[(STACK_LABEL, "app"), (WORKING_DIR_LABEL, "/srv/app2")]);
        assert_eq!(
            me().ownership(&sibling, NO_COPY),
            Ownership::Foreign("an earlier mrctl in `/srv/app2`".into())
        );
        let mixed = labels(&[(CONFIG_FILES_LABEL, "/srv/app/a.yml,/elsewhere/b.yml")]);
        assert!(!me().ownership(&mixed, NO_COPY).is_mine());
    }

    #[test]
    fn unlabelled_resources_are_foreign() {
        let bare = labels(&[("com.docker.compose.project", "app-1")]);
        assert_eq!(
            me().ownership(&bare, NO_COPY),
            Ownership::Foreign("something outside mrctl (made by hand or by another tool)".into())
        );
        let compose = labels(&[(WORKING_DIR_LABEL, "/home/y/other")]);
        assert_eq!(
            me().ownership(&compose, NO_COPY),
            Ownership::Foreign("docker compose in `/home/y/other`".into())
        );
    }
}
