//! Starting the ssh service (node): in the auth server's own process it joins through the local
//! auth service; alone on a host it joins a remote cluster with a token.

use std::sync::Arc;

use tether_auth::AuthService;
use tether_node::identity::JoinVia;
use tether_node::service::{NodeService, NodeSettings};
use tokio::sync::watch;

use crate::config::{self, Config, SshConfig};

/// How the node reaches its cluster.
pub(super) enum Cluster<'a> {
    /// The auth service in this process, whose web API listens at `api_addr`.
    Local { auth: &'a Arc<AuthService>, api_addr: &'a str },
    /// A remote proxy or auth server, joined with the config's token.
    Remote { api_addr: &'a str },
}

/// Starts the node the config's `ssh_service` describes.
pub(super) async fn start(
    cfg: &Config,
    ssh_cfg: &SshConfig,
    cluster: Cluster<'_>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<NodeService> {
    let token = cfg.auth_token.clone().unwrap_or_default();
    let (api_addr, join) = match cluster {
        Cluster::Local { auth, api_addr } => (api_addr, JoinVia::Local(auth)),
        Cluster::Remote { api_addr } => {
            let ca_pin = cfg.ca_pin.as_deref();
            (api_addr, JoinVia::Remote { addr: api_addr, token: &token, insecure: cfg.insecure, ca_pin })
        }
    };
    let node = NodeService::start(
        NodeSettings {
            data_dir: &cfg.data_dir,
            node_name: &cfg.nodename,
            hostname: &config::hostname(),
            api_addr,
            join,
            listen_addr: ssh_cfg.listen_addr,
            labels: ssh_cfg.labels.clone().into_iter().collect(),
            limits: &cfg.limits,
            algorithms: &cfg.ssh_algorithms,
            audit: &cfg.audit,
        },
        stop,
    )
    .await?;
    tracing::info!(ssh_node_addr = %node.addr, "ssh service listening");
    Ok(node)
}
