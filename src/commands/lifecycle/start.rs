//! Starting one instance: check its published ports, converge it through
//! the engine with progress, optionally wait until it is ready, and print
//! where to reach it.

use std::time::Duration;

use super::super::Ctx;
use crate::compose::{Condition, Project};
use crate::engine::{ContainerInfo, Engine, Event, PortHolder, UpOptions};
use crate::error::Error;
use crate::ops::instance::{instance_lock, instance_project, lookup, registry_file};
use crate::output::Printer;
use crate::ports::{BindProbe, HostProbe};
use crate::stack::Stack;

/// Starts one instance and prints where to reach it.
pub async fn start_one(
    ctx: &Ctx,
    stack: &Stack,
    engine: &Engine,
    name: &str,
    timeout: Duration,
    wait: bool,
) -> anyhow::Result<()> {
    let _lock = instance_lock(stack, name)?;
    // Re-read under the instance lock: a concurrent clean may have removed it.
    let registry = registry_file(stack).load()?;
    let inst = lookup(stack, &registry, name)?.clone();
    let project = instance_project(stack, name, &inst)?;
    let p = ctx.printer;
    for var in &project.unset_variables {
        p.warn(format!(
            "variable `{var}` is not set; it is replaced by an empty string"
        ));
    }
    let identity = crate::ops::instance::identity(stack)?;
    let owned = engine.owned(&project.name, name, &identity).await?;
    check_ports(engine, &project, &owned.containers, name).await?;
    // The engine would create a missing bind-mount source itself, unmarked
    // and root-owned, which `clean` then refuses to delete: make the data
    // directory first, with its marker, as create does.
    super::create::ensure_data_dir(stack, &identity, name, &inst)?;
    engine.check_external_networks(&project, name).await?;
    let opts = UpOptions {
        timeout,
        identity,
        instance: name.to_string(),
    };
    let bars = PullBars::new(&p);
    let result = engine
        .up(&project, &owned, &opts, &|e| bars.event(&p, &e))
        .await;
    bars.finish();
    result?;
    if wait {
        engine
            .wait_ready(&project, name, timeout, &|r| {
                let mark = if r.ready { "✔" } else { "…" };
                p.message(format!("  {mark} `{}` {}", r.service, r.describe()));
            })
            .await?;
        p.success(format!("every service of `{name}` is ready"));
    }
    if p.json {
        let containers = engine.project_containers(&project.name).await?;
        return p.json(
            &serde_json::json!({ "name": name, "project": project.name, "containers": containers }),
        );
    }
    p.success(format!(
        "instance `{name}` is up (project `{}`)",
        project.name
    ));
    for svc in project.services.values() {
        for port in svc.ports.iter().filter(|p| p.protocol == "tcp") {
            if let Some(host) = port.published {
                let ip = port
                    .host_ip
                    .as_deref()
                    .filter(|ip| *ip != "0.0.0.0")
                    .unwrap_or("localhost");
                p.message(format!("  {}: http://{ip}:{host}", svc.name));
            }
        }
    }
    Ok(())
}

/// Progress bars for image pulls on a terminal; plain lines elsewhere.
struct PullBars {
    multi: Option<indicatif::MultiProgress>,
    bars: std::sync::Mutex<std::collections::HashMap<String, indicatif::ProgressBar>>,
}

impl PullBars {
    fn new(p: &Printer) -> PullBars {
        use std::io::IsTerminal;
        let on_terminal = !p.quiet && !p.json && std::io::stderr().is_terminal();
        PullBars {
            multi: on_terminal.then(indicatif::MultiProgress::new),
            bars: Default::default(),
        }
    }

    fn event(&self, p: &Printer, e: &Event) {
        // Bars write to the terminal themselves: mask the image names here.
        let mask = |image: &str| crate::mask::mask(image).into_owned();
        let Some(multi) = &self.multi else {
            return print_event(p, e);
        };
        let mut bars = self.bars.lock().expect("progress bars");
        match e {
            Event::Pulling(image) => {
                let bar = multi.add(indicatif::ProgressBar::new(0));
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "  pulling {msg} {bar:30} {bytes}/{total_bytes}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                bar.set_message(mask(image));
                bars.insert(image.clone(), bar);
            }
            Event::PullProgress {
                image,
                current,
                total,
            } => {
                if let Some(bar) = bars.get(image) {
                    bar.set_length(*total);
                    bar.set_position(*current);
                }
            }
            Event::Pulled(image) => {
                if let Some(bar) = bars.remove(image) {
                    bar.finish_and_clear();
                }
                let _ = multi.println(format!("  pulled image `{}`", mask(image)));
            }
            other => {
                drop(bars);
                print_event(p, other);
            }
        }
    }

    fn finish(&self) {
        for (_, bar) in self.bars.lock().expect("progress bars").drain() {
            bar.abandon();
        }
    }
}

fn print_event(p: &Printer, e: &Event) {
    match e {
        Event::Pulling(image) => p.message(format!("  pulling image `{image}`…")),
        Event::PullProgress { .. } => {}
        Event::Pulled(image) => p.message(format!("  pulled image `{image}`")),
        Event::NetworkCreated(n) => p.message(format!("  network `{n}` created")),
        Event::VolumeCreated(v) => p.message(format!("  volume `{v}` created")),
        Event::Waiting {
            service,
            on,
            condition,
        } => {
            let what = match condition {
                Condition::ServiceHealthy => "to be healthy",
                Condition::ServiceCompletedSuccessfully => "to complete",
                Condition::ServiceStarted => "to start",
            };
            p.message(format!("  `{service}` waits for `{on}` {what}"));
        }
        Event::Created(c) => p.message(format!("  container `{c}` created and started")),
        Event::Recreated(c) => p.message(format!(
            "  container `{c}` recreated: its configuration changed"
        )),
        Event::Started(c) => p.message(format!("  container `{c}` started")),
        Event::Running(c) => p.message(format!("  container `{c}` is running and up to date")),
        Event::Updated(c) => p.message(format!("  container `{c}`: limits changed in place")),
        Event::Reconnected { container, network } => p.message(format!(
            "  container `{container}` reconnected to network `{network}`: it had been disconnected"
        )),
        Event::Repaired { container, why } => {
            p.message(format!("  container `{container}` recreated: {why}"))
        }
        Event::Orphan(c) => p.warn(format!(
            "container `{c}` belongs to no service of the compose files; `mrctl clean` removes it"
        )),
    }
}

/// Every published host port must be free or held by this project's own
/// containers; otherwise nothing is touched and the error names the port,
/// the service, the instance and, where known, the holder.
async fn check_ports(
    engine: &Engine,
    project: &Project,
    own: &[ContainerInfo],
    instance: &str,
) -> Result<(), Error> {
    let own_ports: Vec<u16> = own
        .iter()
        .flat_map(|c| c.ports.iter().map(|p| p.host_port))
        .collect();
    for svc in project.services.values() {
        for port in &svc.ports {
            let Some(host) = port.published else { continue };
            if own_ports.contains(&host) || !BindProbe.in_use(host) {
                continue;
            }
            let holder = match engine.port_holder(host, &project.name, own).await {
                Some(PortHolder::Own) => continue,
                Some(other) => other.to_string(),
                None => "another process on this host listens on it".to_string(),
            };
            return Err(Error::PortBusy {
                port: host,
                service: svc.name.clone(),
                instance: instance.to_string(),
                holder,
            });
        }
    }
    Ok(())
}
