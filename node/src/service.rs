//! Starting the node: identity, cache refresh, heartbeats and the SSH server, as owned tasks.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tether_client::client::ApiClient;
use tether_shared::labels::Labels;
use tether_shared::resource::{Node, NodeSpec, Resource};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{cache, identity, renew, sshd};
use tether_audit::Audit;
use tether_auth::nodes::HEARTBEAT_INTERVAL;
use tether_shared::current::Current;

/// How long a starting node waits for its first CA and role refresh before serving anyway.
pub const FIRST_REFRESH_TIMEOUT: Duration = Duration::from_secs(10);

/// What the node needs to start.
pub struct NodeSettings<'a> {
    /// The data directory.
    pub data_dir: &'a Path,
    /// The node's name in the cluster.
    pub node_name: &'a str,
    /// The OS host name.
    pub hostname: &'a str,
    /// The API address (this process's web address, or the remote auth/proxy).
    pub api_addr: &'a str,
    /// How to join on first start.
    pub join: identity::JoinVia<'a>,
    /// Where SSH listens.
    pub listen_addr: SocketAddr,
    /// Static labels from the config.
    pub labels: Labels,
    /// The network edge's limits.
    pub limits: &'a tether_edge::limits::ConnectionLimits,
    /// The SSH algorithms offered (`teleport.kex_algorithms`, `ciphers`, `mac_algorithms`).
    pub algorithms: &'a tether_shared::ssh_algorithms::AlgorithmLists,
    /// The audit log's settings.
    pub audit: &'a tether_audit::AuditConfig,
}

/// A running node: its tasks, stopped through the shared shutdown signal.
pub struct NodeService {
    /// Where SSH listens.
    pub addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl NodeService {
    /// Joins (or loads the identity), starts the cache, the heartbeat and the SSH server.
    pub async fn start(settings: NodeSettings<'_>, shutdown: watch::Receiver<bool>) -> anyhow::Result<NodeService> {
        let creds = identity::load_or_join(
            settings.data_dir,
            settings.node_name,
            settings.hostname,
            settings.api_addr,
            settings.join,
        )
        .await?;
        // Once joined, the node trusts only its cluster's TLS CA for the API (the join itself
        // may skip verification: `JoinVia::Remote::insecure`).
        let client = Arc::new(Current::new(creds.api_client(false)?));
        let audit = Arc::new(
            Audit::open_with(&settings.data_dir.join("log"), &creds.cluster, settings.audit.clone())
                .context("cannot open the node's audit log")?,
        );
        let mut labels = settings.labels.clone();
        labels.insert("hostname".into(), settings.hostname.to_string());
        let cache = cache::TrustCache::new(&creds.cluster, labels.clone(), audit);
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(cache.clone().refresh_loop(client.clone(), shutdown.clone())));
        let deadline = tokio::time::Instant::now() + FIRST_REFRESH_TIMEOUT;
        while !cache.loaded() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if !cache.loaded() {
            tracing::warn!("node: no CAs and roles yet; SSH logins fail until the auth API answers");
        }

        let listener = tether_edge::listen::bind(settings.listen_addr)
            .await
            .with_context(|| format!("cannot listen on ssh_service.listen_addr {}", settings.listen_addr))?;
        let addr = tether_edge::listen::reachable(listener.local_addr()?);
        let host_key = russh::keys::PrivateKey::from_openssh(&creds.private_key).context("node host key")?;
        let host_cert = tether_shared::ssh_cert::cert_from_openssh(&creds.ssh_cert).context("node host certificate")?;
        let (certs, renewals) = watch::channel(host_cert.clone());
        let mut config =
            sshd::SshdConfig::new(host_key, host_cert, settings.node_name.to_string(), settings.limits.clone());
        config.algorithms = settings.algorithms.clone();
        config.renewals = Some(renewals);
        let renewer = renew::Renewer {
            path: settings.data_dir.join(identity::NODE_IDENTITY),
            creds: creds.clone(),
            client: client.clone(),
            cache: cache.clone(),
            certs,
        };
        tasks.push(tokio::spawn(renewer.run(shutdown.clone())));
        let listener = tether_edge::listen::Listener::new(listener, "node ssh", settings.limits.listener.clone());
        tasks.push(tokio::spawn(sshd::serve(listener, config, cache.clone(), shutdown.clone())));

        let mut node =
            Node::new(settings.node_name, NodeSpec { hostname: settings.hostname.to_string(), addr: addr.to_string() });
        node.metadata.labels = labels;
        // One beat before returning, so the node is in the inventory once start() returns.
        if let Err(e) =
            client.get().post::<_, Vec<String>>("/webapi/nodes/heartbeat", &Resource::Node(node.clone())).await
        {
            tracing::warn!("node: first heartbeat failed: {e}");
        }
        tasks.push(tokio::spawn(heartbeat_loop(client, node, shutdown)));
        Ok(NodeService { addr, tasks })
    }

    /// Waits for every task to stop (after the shutdown signal).
    pub async fn wait(self) {
        for task in self.tasks {
            if let Err(e) = task.await {
                tracing::error!("node task failed: {e}");
            }
        }
    }
}

async fn heartbeat_loop(client: Arc<Current<ApiClient>>, node: Node, mut shutdown: watch::Receiver<bool>) {
    let body = Resource::Node(node);
    let mut failing = false;
    loop {
        // The first beat goes out at once, so a started node is listed straight away.
        match client.get().post::<_, Vec<String>>("/webapi/nodes/heartbeat", &body).await {
            Ok(_) => {
                if failing {
                    tracing::info!("node: heartbeats reach the auth API again");
                }
                failing = false;
            }
            Err(e) if !failing => {
                failing = true;
                tracing::warn!("node: heartbeat failed: {e}");
            }
            Err(_) => {}
        }
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tokio::time::sleep(HEARTBEAT_INTERVAL) => {}
        }
    }
}
