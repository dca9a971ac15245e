//! Starting and stopping the daemon's services: reads the configuration, starts each service
//! the config enables, and on SIGINT/SIGTERM stops every task it started and closes the audit
//! log and storage before returning.
//!
//! This file is the wiring; each service starts in a file of its own: `auth.rs` (storage, the
//! audit log, the auth service, static tokens), `proxy.rs` (listeners, certificates, the web API,
//! relay and tunnel tasks), `node.rs` (the ssh service, local or joining a remote cluster) and
//! `logging.rs` (where log lines go).

mod auth;
mod logging;
mod node;
mod proxy;

use std::path::PathBuf;

use anyhow::{Context, bail};
use tokio::sync::watch;

use crate::config::{self, Config};

/// Runs `tether start` to completion.
pub fn start(config: Option<PathBuf>, data_dir: Option<PathBuf>, debug: bool, insecure: bool) -> anyhow::Result<()> {
    let cfg = match &config {
        Some(path) => config::load(path)?,
        None => Config::default_all_in_one(data_dir.clone()),
    }
    .with_overrides(data_dir, debug, insecure);
    logging::init(&cfg)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(run(cfg))
}

/// Resolves on the first SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        tracing::error!("cannot install signal handlers; stop with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = int.recv() => tracing::info!("SIGINT: shutting down"),
    }
}

/// Starts the services the config enables, waits for SIGINT or SIGTERM, then stops them in
/// order: the listeners and sessions drain, and the audit log and storage close last.
async fn run(cfg: Config) -> anyhow::Result<()> {
    let (Some(auth_cfg), Some(proxy_cfg)) = (&cfg.auth, &cfg.proxy) else {
        if cfg.ssh.is_some() && cfg.auth.is_none() && cfg.proxy.is_none() {
            return run_node_only(&cfg).await;
        }
        bail!(
            "run auth_service and proxy_service together (with or without ssh_service), or ssh_service alone with teleport.proxy_server or auth_server"
        );
    };
    std::fs::create_dir_all(&cfg.data_dir).with_context(|| format!("cannot create {}", cfg.data_dir.display()))?;
    let auth = auth::start(&cfg, auth_cfg).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let proxy = proxy::start(&cfg, auth_cfg, proxy_cfg, &auth.auth, &stop_rx).await?;
    let web_addr = proxy.addrs.web.to_string();
    let node = match &cfg.ssh {
        Some(ssh_cfg) => {
            let cluster = node::Cluster::Local { auth: &auth.auth, api_addr: &web_addr };
            Some(node::start(&cfg, ssh_cfg, cluster, stop_rx.clone()).await?)
        }
        None => None,
    };

    // Machine-readable first lines for scripts and tests, then the human guide.
    println!("tether: web proxy listening on {web_addr}");
    println!("tether: reverse tunnel listening on {}", proxy.addrs.tunnel);
    println!(
        "Cluster {:?} is running. Data in {}.\n\
         Next: tctl --data-dir {} users add alice --roles=access,editor --logins=$USER\n\
         then:  the tsh login line it prints (its --ca-pin verifies this proxy's self-signed HTTPS certificate)",
        auth_cfg.cluster_name,
        cfg.data_dir.display(),
        cfg.data_dir.display()
    );

    shutdown_signal().await;
    let _ = stop_tx.send(true);
    if let Some(node) = node {
        node.wait().await;
    }
    for (name, task) in proxy.tasks {
        if let Err(e) = task.await {
            tracing::error!("{name} task failed: {e}");
        }
    }
    // Every event the services emitted is on disk before the process ends.
    auth.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// A host running only the ssh service: it joins a remote cluster (or loads its identity).
async fn run_node_only(cfg: &Config) -> anyhow::Result<()> {
    let Some(ssh_cfg) = &cfg.ssh else { bail!("ssh_service is not enabled") };
    std::fs::create_dir_all(&cfg.data_dir).with_context(|| format!("cannot create {}", cfg.data_dir.display()))?;
    let api = cfg
        .proxy_server
        .clone()
        .or_else(|| cfg.auth_server.clone())
        .context("set teleport.proxy_server (or auth_server) to the cluster's address")?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let node = node::start(cfg, ssh_cfg, node::Cluster::Remote { api_addr: &api }, stop_rx).await?;
    println!("tether: ssh service listening on {}", node.addr);
    println!("Node {:?} joined the cluster through {api}.", cfg.nodename);
    shutdown_signal().await;
    let _ = stop_tx.send(true);
    node.wait().await;
    tracing::info!("stopped");
    Ok(())
}
