//! Nodes joining the cluster and keeping their inventory entry alive.
//!
//! A node presents a `node` join token and its Ed25519 host key; it receives an SSH host
//! certificate (principals: its name, host name, and `NAME.CLUSTER`) and a TLS client certificate
//! for the built-in `@node` role, which may heartbeat its own inventory entry and read the roles
//! and CAs it needs to check users. The node keeps both in its data dir, so restarts need no
//! token. Heartbeats write the `node` resource with an expiry of [`NODE_TTL`], so a node that
//! stops heartbeating leaves `tsh ls` by itself.

use std::time::Duration;
use tether_audit::{Event, Outcome};

use tether_shared::api::{JoinRequest, JoinResponse, NodeTrustState};
use tether_shared::identity::Identity;
use tether_shared::resource::{CaType, Kind, Node, Resource, TokenType};
use tether_shared::ssh_cert::HostIdentity;

use std::sync::Arc;

use super::{AuthError, Authority, Core, Tokens, Trust, internal};
use tether_storage::records;

pub use super::base::{NODE_CERT_TTL, NODE_ROLE, node_role, node_user};

/// How often nodes heartbeat.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
/// How long an inventory entry outlives its last heartbeat.
pub const NODE_TTL: Duration = Duration::from_secs(15);

/// Node joins, heartbeats and the trust state nodes poll.
pub struct Nodes {
    core: Arc<Core>,
    authority: Arc<Authority>,
    tokens: Arc<Tokens>,
    trust: Arc<Trust>,
}

impl Nodes {
    /// Node joins over the given parts.
    pub fn new(core: Arc<Core>, authority: Arc<Authority>, tokens: Arc<Tokens>, trust: Arc<Trust>) -> Self {
        Nodes { core, authority, tokens, trust }
    }

    /// Joins a node with a token (remote nodes).
    pub async fn join_node(&self, req: &JoinRequest) -> Result<JoinResponse, AuthError> {
        self.tokens.check_token(&req.token, TokenType::Node).await?;
        let resp = self.node_credentials(&req.node_name, &req.hostname, &req.public_key).await?;
        self.core.audit.emit(
            Event::NodeJoin,
            Outcome::Success,
            &node_user(&req.node_name),
            serde_json::json!({"node": req.node_name, "hostname": req.hostname}),
        );
        Ok(resp)
    }

    /// Issues a node's host certificate and API certificate (also used directly by a node in the
    /// auth server's own process, which needs no token).
    pub async fn node_credentials(
        &self,
        node_name: &str,
        hostname: &str,
        public_key: &str,
    ) -> Result<JoinResponse, AuthError> {
        tether_shared::names::validate_name(node_name).map_err(|e| AuthError::BadRequest(e.to_string()))?;
        if super::is_reserved_role(node_name) || super::is_reserved_role(hostname) {
            return Err(AuthError::BadRequest(format!(
                "node name {node_name:?} or host name {hostname:?}: names starting with '@' are reserved"
            )));
        }
        let (key, _) = super::parse_ed25519(public_key)?;
        let now = time::OffsetDateTime::now_utc();
        let mut principals = vec![node_name.to_string(), format!("{node_name}.{}", self.core.cluster)];
        if !hostname.is_empty() && hostname != node_name {
            principals.push(hostname.to_string());
        }
        let host = HostIdentity {
            host_id: node_name.to_string(),
            principals,
            cluster: self.core.cluster.clone(),
            valid_after: now - time::Duration::minutes(1),
            valid_before: now + NODE_CERT_TTL,
        };
        self.credentials_for(&key, &host)
    }

    /// The host certificate for `host` and the API certificate of its node, for `key`.
    fn credentials_for(&self, key: &russh::keys::PublicKey, host: &HostIdentity) -> Result<JoinResponse, AuthError> {
        let ed25519 = *key.key_data().ed25519().ok_or_else(|| AuthError::BadRequest("only Ed25519 keys".into()))?;
        let node_name = host.host_id.as_str();
        let host_cert = self.authority.sign_host_cert(key, host)?;
        let identity = Identity {
            user: node_user(node_name),
            roles: vec![NODE_ROLE.to_string()],
            traits: Default::default(),
            logins: vec![],
            cluster: self.core.cluster.clone(),
            valid_after: host.valid_after,
            valid_before: host.valid_before,
            permit_pty: false,
            permit_agent_forwarding: false,
            permit_port_forwarding: false,
            route_to_cluster: None,
        };
        let tls = self.authority.sign_tls_client(&ed25519, &identity)?;
        Ok(JoinResponse {
            cluster_name: self.core.cluster.clone(),
            host_cert: tether_shared::ssh_cert::cert_to_openssh(&host_cert)
                .map_err(internal("encoding an SSH certificate"))?,
            tls_cert: tls.cert_pem,
            tls_cas: self.authority.tls_cas_pem(),
            host_cas: self.authority.host_cas_trusted()?,
        })
    }

    /// A node's certificates again (`POST /webapi/nodes/renew`), after a rotation phase: only a
    /// node may ask, only for itself, only for the key it holds (`holder_key`, the key of its
    /// client certificate), and only for the names of the host certificate it holds now (one
    /// of this cluster's host CA's trusted keys signed it, for this node and this key): a node
    /// cannot add a name. Audited as `cert.create`.
    pub async fn renew_node(
        &self,
        caller: &Identity,
        holder_key: &[u8; 32],
        host_cert: &str,
    ) -> Result<JoinResponse, AuthError> {
        let node = caller.user.strip_prefix("@node:").filter(|_| caller.roles.iter().any(|r| r == NODE_ROLE));
        let Some(node) = node.filter(|_| caller.cluster == self.core.cluster) else {
            return Err(AuthError::Forbidden("only a node of this cluster renews node certificates".into()));
        };
        let key = russh::keys::PublicKey::from(russh::keys::ssh_key::public::KeyData::Ed25519(
            russh::keys::ssh_key::public::Ed25519PublicKey(*holder_key),
        ));
        let cert = tether_shared::ssh_cert::cert_from_openssh(host_cert)
            .map_err(|e| AuthError::BadRequest(format!("host_cert: {e}")))?;
        let cas: Vec<russh::keys::PublicKey> =
            self.authority.keyring().host.trusted().into_iter().map(|ca| ca.public_key().clone()).collect();
        let name = format!("{node}.{}", self.core.cluster);
        let held = tether_shared::ssh_cert::verify_host_cert(&cert, &cas, &name, std::time::SystemTime::now())
            .map_err(|e| AuthError::Forbidden(format!("host_cert is not this node's current certificate: {e}")))?;
        if held.host_id != node || cert.public_key() != key.key_data() {
            return Err(AuthError::Forbidden("host_cert is not this node's certificate for this key".into()));
        }
        let now = time::OffsetDateTime::now_utc();
        let host = HostIdentity {
            host_id: node.to_string(),
            principals: held.principals,
            cluster: self.core.cluster.clone(),
            valid_after: now - time::Duration::minutes(1),
            valid_before: now + NODE_CERT_TTL,
        };
        let result = self.credentials_for(&key, &host);
        self.core.audit.emit(
            tether_audit::Event::CertCreate,
            tether_audit::Outcome::of(result.is_ok()),
            &caller.user,
            serde_json::json!({"for_user": caller.user}),
        );
        result
    }

    /// Records a heartbeat: the node's inventory entry, expiring after [`NODE_TTL`]. A node may
    /// only heartbeat itself.
    pub async fn heartbeat(&self, caller: &Identity, mut node: Node) -> Result<(), AuthError> {
        if caller.roles.iter().any(|r| r == NODE_ROLE) && caller.user != node_user(&node.metadata.name) {
            return Err(AuthError::Forbidden(format!(
                "{} may not heartbeat node {:?}",
                caller.user, node.metadata.name
            )));
        }
        node.metadata.id = None;
        node.metadata.expires = Some(time::OffsetDateTime::now_utc() + NODE_TTL);
        records::upsert(&self.core.backend, &Resource::Node(node)).await?;
        Ok(())
    }

    /// Finds a node by name (one key read), or by host name or address (a scan).
    pub async fn find_node(&self, host: &str, port: Option<u16>) -> Result<Option<Node>, AuthError> {
        let by_name = records::get(&self.core.backend, &records::key(Kind::Node, host)).await?;
        let candidates = match by_name {
            Some(node) => vec![node],
            None => records::list(&self.core.backend, &records::prefix(Kind::Node)).await?,
        };
        Ok(candidates
            .into_iter()
            .filter_map(|r| match r {
                Resource::Node(n) => Some(n),
                _ => None,
            })
            .find(|n| {
                n.metadata.name == host
                    || n.spec.hostname == host
                    || n.spec.addr == host
                    || n.spec
                        .addr
                        .rsplit_once(':')
                        .is_some_and(|(h, p)| h == host && port.is_none_or(|port| p == port.to_string()))
            }))
    }

    /// The user CAs and roles a node checks users against: this cluster's user CA and those of
    /// the clusters it trusts. A root also stores its leaves' CAs, but never trusts their users.
    pub async fn node_trust_state(&self) -> Result<NodeTrustState, AuthError> {
        let trusted = self.trust.trusted_names().await?;
        let user_cas = records::list(&self.core.backend, &records::prefix(Kind::CertAuthority))
            .await?
            .into_iter()
            .filter_map(|r| match r {
                Resource::CertAuthority(ca)
                    if ca.spec.ca_type == CaType::User
                        && (ca.spec.cluster_name == self.core.cluster || trusted.contains(&ca.spec.cluster_name)) =>
                {
                    Some(ca)
                }
                _ => None,
            })
            .collect();
        let roles = records::list(&self.core.backend, &records::prefix(Kind::Role))
            .await?
            .into_iter()
            .filter_map(|r| match r {
                Resource::Role(role) => Some(role),
                _ => None,
            })
            .collect();
        let mut own_cas = Vec::new();
        for ca_type in [CaType::Host, CaType::Tls] {
            if let Some(Resource::CertAuthority(ca)) =
                records::get(&self.core.backend, &records::ca_key(&self.core.cluster, ca_type)).await?
            {
                own_cas.push(ca);
            }
        }
        let mut state = NodeTrustState { user_cas, roles, own_cas, revision: String::new() };
        let bytes = serde_json::to_vec(&state).map_err(internal("encoding the node's trust state"))?;
        let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
        state.revision = digest.as_ref().iter().take(16).map(|b| format!("{b:02x}")).collect();
        Ok(state)
    }

    /// The trust state once it differs from revision `known`, waiting up to `wait` for a change
    /// (a long poll: nodes learn of a new or disabled trust, a role change, at once).
    pub async fn node_trust_state_after(
        &self,
        known: Option<&str>,
        wait: Duration,
    ) -> Result<NodeTrustState, AuthError> {
        // Watch before reading, so a change between the read and the wait is not missed.
        let mut watcher = self.core.backend.watch("/resources/");
        let state = self.node_trust_state().await?;
        if known != Some(state.revision.as_str()) {
            return Ok(state);
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let event = tokio::time::timeout_at(deadline, watcher.next()).await;
            match event {
                Err(_) | Ok(None) => return self.node_trust_state().await,
                Ok(Some(tether_storage::WatchEvent::Event(e))) if e.item.key.starts_with("/resources/node/") => {}
                Ok(Some(_)) => {
                    let fresh = self.node_trust_state().await?;
                    if fresh.revision != state.revision {
                        return Ok(fresh);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::{AuthError, AuthService};
    use tether_audit::Audit;
    use tether_storage::sqlite::SqliteBackend;

    #[tokio::test]
    async fn a_node_renews_only_its_own_certificate_with_its_own_names() {
        let dir = tempfile::tempdir().unwrap();
        let backend = SqliteBackend::open(dir.path().join("b.db")).await.unwrap();
        let audit = Arc::new(Audit::open(&dir.path().join("log"), "c.example.com").unwrap());
        let auth = AuthService::init(backend, "c.example.com", audit, false, &crate::sealed::KekSource::Fixed([3; 32]))
            .await
            .unwrap();
        let joined = |name: &'static str, host: &'static str| {
            let auth = auth.clone();
            async move {
                let key = tether_shared::ssh_cert::generate_ed25519_key().unwrap();
                let public = key.public_key().to_openssh().unwrap();
                let resp = auth.nodes().node_credentials(name, host, &public).await.unwrap();
                let raw = key.public_key().key_data().ed25519().unwrap().0;
                let tls = tether_shared::tls_cert::identity_from_client_cert(
                    &rustls_pki_types::CertificateDer::from_pem_slice(resp.tls_cert.as_bytes()).unwrap(),
                )
                .unwrap();
                (raw, tls, resp.host_cert)
            }
        };
        use rustls_pki_types::pem::PemObject;
        let (key1, who1, cert1) = joined("n1", "host-one").await;
        let (_, _, cert2) = joined("n2", "host-two").await;
        let renewed = auth.nodes().renew_node(&who1, &key1, &cert1).await.unwrap();
        let cert = tether_shared::ssh_cert::cert_from_openssh(&renewed.host_cert).unwrap();
        assert_eq!(cert.valid_principals(), ["n1", "n1.c.example.com", "host-one"], "the same names, no more");
        // Another node's certificate, or the right one for another key, renews nothing.
        let other = auth.nodes().renew_node(&who1, &key1, &cert2).await.unwrap_err();
        assert!(matches!(other, AuthError::Forbidden(_)), "{other}");
        let wrong_key = auth.nodes().renew_node(&who1, &[7; 32], &cert1).await.unwrap_err();
        assert!(wrong_key.to_string().contains("not this node's certificate for this key"), "{wrong_key}");
        // Only a node asks.
        let mut user = who1.clone();
        user.user = "alice".into();
        user.roles = vec!["access".into()];
        assert!(matches!(auth.nodes().renew_node(&user, &key1, &cert1).await, Err(AuthError::Forbidden(_))));
    }
}
