//! Which PROXY headers the node believes ([`ProxyJudge`], the listener's judge): those a proxy
//! of its own cluster signed for this node, fresh and never seen before (the checks are
//! `tether_shared::proxy_header`'s). A refused header closes the connection, and is logged and
//! audited (`proxy_header.refused`) with who sent it and what it claimed.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use russh::keys::PublicKey;
use serde_json::json;
use tether_audit::{Event, Outcome};
use tether_edge::client_addr::Judge;
use tether_shared::proxy_header::{Header, HeaderError, ReplayGuard};

use super::policy::NodeTrust;

/// Nonces remembered against replays (two minutes of proxied connections at ~1,000 a second).
pub const REPLAY_MEMORY: usize = 131_072;

/// The node's judge of PROXY headers.
pub struct ProxyJudge {
    node: String,
    host_cas: Vec<PublicKey>,
    trust: Arc<dyn NodeTrust>,
    replays: Mutex<ReplayGuard>,
}

impl ProxyJudge {
    /// A judge for `node`, believing proxies certified by `host_cas` of the trust's cluster.
    pub fn new(node: String, host_cas: Vec<PublicKey>, trust: Arc<dyn NodeTrust>) -> Self {
        ProxyJudge { node, host_cas, trust, replays: Mutex::new(ReplayGuard::new(REPLAY_MEMORY)) }
    }

    fn check(&self, header: &Result<Header, HeaderError>) -> Result<SocketAddr, HeaderError> {
        let header = header.as_ref().map_err(Clone::clone)?;
        let now = SystemTime::now();
        let verified = header.verify(&self.host_cas, self.trust.cluster(), &self.node, now)?;
        if let Some(claim) = &header.signed {
            self.replays.lock().unwrap_or_else(|p| p.into_inner()).check(claim, now)?;
        }
        Ok(verified.client)
    }
}

impl Judge for ProxyJudge {
    fn judge(&self, header: Result<Header, HeaderError>, socket_peer: SocketAddr) -> Result<SocketAddr, String> {
        match self.check(&header) {
            Ok(client) => Ok(client),
            Err(refusal) => {
                let reason = refusal.to_string();
                let read = header.as_ref().ok();
                let claimed = read.and_then(|h| h.client).map(|a| a.to_string());
                let signer = read.and_then(|h| h.signed.as_ref()).map(|c| c.key_id().to_string());
                tracing::warn!(node = %self.node, %socket_peer, ?claimed, "refusing a connection: {reason}");
                self.trust.audit(
                    Event::ProxyHeaderRefused,
                    Outcome::Failure,
                    signer.as_deref().unwrap_or(""),
                    json!({
                        "node": self.node,
                        "addr": socket_peer.to_string(),
                        "claimed_addr": claimed,
                        "signer": signer,
                        "reason": reason,
                    }),
                );
                Err(reason)
            }
        }
    }
}
