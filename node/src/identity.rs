//! The node's own identity: its Ed25519 host key, SSH host certificate and API client
//! certificate, kept in `DATA_DIR/node-identity.json` (0600) so a restart needs no join token.
//!
//! On first start a node either asks its own process's auth service (all-in-one) or joins a
//! remote auth service with `teleport.auth_token` over the web API (`auth_server` or
//! `proxy_server`). A bad or expired token is a clear error at start.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use tether_client::client::{ApiClient, ServerTrust};
use tether_client::credentials::Credentials;
use tether_shared::api::{JoinRequest, JoinResponse};

use tether_auth::AuthService;

/// The file name of the node identity inside the data directory.
pub const NODE_IDENTITY: &str = "node-identity.json";

/// Where the node gets its identity from on first start.
pub enum JoinVia<'a> {
    /// The auth service in this process.
    Local(&'a Arc<AuthService>),
    /// A remote cluster's API (`host:port`) with a join token.
    Remote {
        /// The auth or proxy address.
        addr: &'a str,
        /// The join token.
        token: &'a str,
        /// Accept a self-signed HTTPS certificate (`--insecure`).
        insecure: bool,
        /// Trust the cluster TLS CA with this pin (`teleport.ca_pin`).
        ca_pin: Option<&'a str>,
    },
}

fn credentials_from(
    resp: JoinResponse,
    proxy: &str,
    node: &str,
    key: &russh::keys::PrivateKey,
) -> anyhow::Result<Credentials> {
    Ok(Credentials {
        proxy: proxy.to_string(),
        ssh_proxy: String::new(),
        cluster: resp.cluster_name,
        user: tether_auth::nodes::node_user(node),
        private_key: key.to_openssh(russh::keys::ssh_key::LineEnding::LF)?.to_string(),
        ssh_cert: resp.host_cert,
        tls_cert: resp.tls_cert,
        tls_cas: resp.tls_cas,
        host_cas: resp.host_cas,
    })
}

/// Loads the node's identity, joining the cluster first when there is none.
pub async fn load_or_join(
    data_dir: &Path,
    node_name: &str,
    hostname: &str,
    api_addr: &str,
    via: JoinVia<'_>,
) -> anyhow::Result<Credentials> {
    let path = data_dir.join(NODE_IDENTITY);
    if path.exists() {
        let mut creds = Credentials::load(&path)?;
        creds.proxy = api_addr.to_string();
        return Ok(creds);
    }
    let key = tether_shared::ssh_cert::generate_ed25519_key()?;
    let public_key = key.public_key().to_openssh()?;
    let resp = match via {
        JoinVia::Local(auth) => auth
            .nodes()
            .node_credentials(node_name, hostname, &public_key)
            .await
            .map_err(|e| anyhow::anyhow!("cannot issue the node's certificates: {e}"))?,
        JoinVia::Remote { addr, token, insecure, ca_pin } => {
            if token.is_empty() {
                bail!(
                    "this node has no identity yet: set teleport.auth_token to a node join token (tctl tokens add --type=node)"
                );
            }
            let trust = match (insecure, ca_pin) {
                (true, _) => ServerTrust::Insecure,
                (false, Some(pin)) => tether_client::client::pinned_trust(addr, pin)
                    .await
                    .with_context(|| format!("cannot join the cluster at {addr} (teleport.ca_pin)"))?,
                (false, None) => ServerTrust::WebPki,
            };
            let client = ApiClient::new(addr, &trust, None)?;
            let req = JoinRequest {
                token: token.to_string(),
                node_name: node_name.to_string(),
                hostname: hostname.to_string(),
                public_key,
            };
            client
                .post("/webapi/nodes/join", &req)
                .await
                .with_context(|| format!("cannot join the cluster at {addr}"))?
        }
    };
    let creds = credentials_from(resp, api_addr, node_name, &key)?;
    creds.save(&path)?;
    Ok(creds)
}
