//! The names an instance gets from `mrctl.toml` when it is created: its
//! compose project (`project_name`) and, when none is given, its domain
//! (`instances.default_domain`), both one-line templates.

use crate::error::{Error, Result};
use crate::render::render_small;
use crate::stack::Stack;

/// The compose project name of instance `name`.
pub fn project_name(stack: &Stack, name: &str, index: u32) -> Result<String> {
    let project = render_small(
        "project_name",
        &stack.config.project_name,
        minijinja::context! { stack => stack.name(), name => name, index => index },
    )?;
    if !crate::names::valid_project_name(&project) {
        return Err(Error::Config {
            path: stack.config_path.clone(),
            position: None,
            message: format!(
                "key `project_name` gives `{project}` for instance `{name}`, which is not a valid compose project name"
            ),
        });
    }
    Ok(project)
}

/// The domain of instance `name` when none is given.
pub fn default_domain(stack: &Stack, name: &str, index: u32) -> Result<String> {
    let domain = render_small(
        "instances.default_domain",
        &stack.config.instances.default_domain,
        minijinja::context! { stack => stack.name(), name => name, index => index },
    )?;
    crate::names::validate_domain(&domain).map_err(|e| Error::Config {
        path: stack.config_path.clone(),
        position: None,
        message: format!("key `instances.default_domain` gives an invalid domain: {e}"),
    })
}
