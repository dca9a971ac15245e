//! The node's own certificates across a CA rotation: after each refresh of the cache
//! (`cache.rs`), the node compares what it holds with its cluster's host and TLS CAs. When its
//! host certificate is not from the key that signs servers in this phase, its API certificate
//! not from the key that signs clients, or the CAs it trusts are not the cluster's, it asks
//! `POST /webapi/nodes/renew` for new ones (the same key), stores them in
//! `DATA_DIR/node-identity.json`, presents the host certificate from the next connection on and
//! calls the API with the new client certificate.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use russh::keys::Certificate;
use tether_client::client::ApiClient;
use tether_client::credentials::Credentials;
use tether_shared::api::{JoinResponse, NodeRenewRequest};
use tether_shared::current::Current;
use tether_shared::resource::{CaType, CertAuthority, RotationPhase};
use tokio::sync::watch;

use super::cache::TrustCache;

/// How often the node checks its certificates without a cache update (a failed renewal is
/// retried this often).
pub const RECHECK: std::time::Duration = std::time::Duration::from_secs(10);

/// Keeps a node's certificates in step with its cluster's CAs.
pub struct Renewer {
    /// `DATA_DIR/node-identity.json`.
    pub path: PathBuf,
    /// The node's identity as stored.
    pub creds: Credentials,
    /// The API client every node task calls with.
    pub client: Arc<Current<ApiClient>>,
    /// The CAs and roles.
    pub cache: Arc<TrustCache>,
    /// Where renewed host certificates go (the SSH server).
    pub certs: watch::Sender<Certificate>,
}

impl Renewer {
    /// Checks after every cache refresh until `shutdown` fires.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut updates = self.cache.updates();
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                changed = updates.changed() => if changed.is_err() { return },
                // A renewal that failed is tried again, before the old key stops counting.
                () = tokio::time::sleep(RECHECK) => {}
            }
            let (Some(host), Some(tls)) = (self.cache.own_ca(CaType::Host), self.cache.own_ca(CaType::Tls)) else {
                continue;
            };
            let Some(why) = stale(&self.creds, &host, &tls) else { continue };
            match self.renew().await {
                Ok(()) => tracing::info!("node: renewed the node's certificates ({why})"),
                Err(e) => tracing::warn!("node: cannot renew the node's certificates ({why}): {e:#}"),
            }
        }
    }

    async fn renew(&mut self) -> anyhow::Result<()> {
        let req = NodeRenewRequest { host_cert: self.creds.ssh_cert.clone() };
        let resp: JoinResponse = self.client.get().post("/webapi/nodes/renew", &req).await?;
        let cert = tether_shared::ssh_cert::cert_from_openssh(&resp.host_cert)?;
        let mut creds = self.creds.clone();
        creds.ssh_cert = resp.host_cert;
        creds.tls_cert = resp.tls_cert;
        creds.tls_cas = resp.tls_cas;
        creds.host_cas = resp.host_cas;
        let client = creds.api_client(false)?;
        creds.save(&self.path)?;
        self.client.set(client);
        self.certs.send_replace(cert);
        self.creds = creds;
        Ok(())
    }
}

/// Why `creds` no longer fit the cluster's `host` and `tls` CAs, or `None` when they do.
pub fn stale(creds: &Credentials, host: &CertAuthority, tls: &CertAuthority) -> Option<&'static str> {
    // Servers are signed by the new key only in update_servers; in update_clients the new key is
    // active and the old one (additional) still signs servers.
    let server_signer = match host.spec.phase() {
        RotationPhase::UpdateClients => host.spec.additional_trusted_keys.ssh.first(),
        _ => host.spec.active_keys.ssh.first(),
    }?;
    let signer = russh::keys::PublicKey::from_openssh(server_signer).ok()?;
    let cert = tether_shared::ssh_cert::cert_from_openssh(&creds.ssh_cert).ok()?;
    if cert.signature_key() != signer.key_data() {
        return Some("the host CA signs hosts with another key now");
    }
    let active_tls = tls.spec.active_keys.tls.first()?;
    let client_ca = rustls_pki_types::CertificateDer::from(pem_der(active_tls)?);
    let own = pem_der(&creds.tls_cert)?;
    if tether_shared::tls_cert::verify_client_cert(&own, &[client_ca], std::time::SystemTime::now()).is_err() {
        return Some("the TLS CA signs clients with another key now");
    }
    let trusted_tls: BTreeSet<String> = tls.spec.trusted().tls.iter().map(|p| p.trim().to_string()).collect();
    let held_tls: BTreeSet<String> = creds.tls_cas.iter().map(|p| p.trim().to_string()).collect();
    let trusted_host: BTreeSet<String> = host.spec.trusted().ssh.iter().map(|k| key_part(k)).collect();
    let held_host: BTreeSet<String> = creds.host_cas.iter().map(|k| key_part(&k.public_key)).collect();
    if trusted_tls != held_tls || trusted_host != held_host {
        return Some("the cluster trusts other CA keys now");
    }
    None
}

/// The type and base64 of an OpenSSH public key line, without its comment.
fn key_part(line: &str) -> String {
    line.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

/// The DER of a PEM certificate.
fn pem_der(pem: &str) -> Option<Vec<u8>> {
    use rustls_pki_types::pem::PemObject;
    rustls_pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).ok().map(|d| d.to_vec())
}
