//! Which PROXY headers the node believes ([`ProxyJudge`], the listener's judge): those a proxy
//! of its own cluster signed for this node, fresh and never seen before (the checks are
//! `tether_shared::proxy_header`'s). A refused header closes the connection, and is logged and
//! audited (`proxy_header.refused`) with who sent it and what it claimed, at most
//! [`AUDIT_BURST`] lines per [`AUDIT_PERIOD`] (the rest are counted in the next line).

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
/// Refused headers written to the audit log and the log per [`AUDIT_PERIOD`]; past that they
/// are counted, and the next line says how many were left out (a flood of bad headers costs a
/// TCP connect each and must not rotate the audit log's history away).
pub const AUDIT_BURST: u32 = 20;
/// See [`AUDIT_BURST`].
pub const AUDIT_PERIOD: std::time::Duration = std::time::Duration::from_secs(10);

/// How many refusals were written in the current period, and how many left out since the last
/// line.
#[derive(Default)]
struct Throttle {
    period_start: Option<std::time::Instant>,
    written: u32,
    left_out: u64,
}

impl Throttle {
    /// Whether to write this refusal; if so, how many were left out before it.
    fn admit(&mut self, now: std::time::Instant) -> Option<u64> {
        if self.period_start.is_none_or(|t| now.duration_since(t) >= AUDIT_PERIOD) {
            self.period_start = Some(now);
            self.written = 0;
        }
        if self.written >= AUDIT_BURST {
            self.left_out += 1;
            return None;
        }
        self.written += 1;
        Some(std::mem::take(&mut self.left_out))
    }
}

/// The node's judge of PROXY headers.
pub struct ProxyJudge {
    node: String,
    host_cas: Vec<PublicKey>,
    trust: Arc<dyn NodeTrust>,
    replays: Mutex<ReplayGuard>,
    throttle: Mutex<Throttle>,
}

impl ProxyJudge {
    /// A judge for `node`, believing proxies certified by `host_cas` of the trust's cluster.
    pub fn new(node: String, host_cas: Vec<PublicKey>, trust: Arc<dyn NodeTrust>) -> Self {
        ProxyJudge {
            node,
            host_cas,
            trust,
            replays: Mutex::new(ReplayGuard::new(REPLAY_MEMORY)),
            throttle: Mutex::new(Throttle::default()),
        }
    }

    fn check(&self, header: &Result<Header, HeaderError>) -> Result<SocketAddr, HeaderError> {
        let header = header.as_ref().map_err(Clone::clone)?;
        let now = SystemTime::now();
        // The cluster's host CAs as the node knows them now (a rotation adds and drops one);
        // before the first refresh, the CA of the node's own certificate.
        let known = self.trust.host_cas();
        let host_cas = if known.is_empty() { &self.host_cas } else { &known };
        let verified = header.verify(host_cas, self.trust.cluster(), &self.node, now)?;
        if let Some(claim) = &header.signed {
            self.replays.lock().unwrap_or_else(|p| p.into_inner()).check(claim, now)?;
        }
        // An IPv4 user relayed over IPv6 is the IPv4 address, as the proxy saw it.
        Ok(SocketAddr::new(verified.client.ip().to_canonical(), verified.client.port()))
    }
}

impl Judge for ProxyJudge {
    fn judge(&self, header: Result<Header, HeaderError>, socket_peer: SocketAddr) -> Result<SocketAddr, String> {
        match self.check(&header) {
            Ok(client) => Ok(client),
            Err(refusal) => {
                let reason = refusal.to_string();
                let written = self.throttle.lock().unwrap_or_else(|p| p.into_inner()).admit(std::time::Instant::now());
                let Some(left_out) = written else { return Err(reason) };
                let read = header.as_ref().ok();
                let claimed = read.and_then(|h| h.client).map(|a| a.to_string());
                // Unverified: what the certificate says, never who acted.
                let signer = read.and_then(|h| h.signed.as_ref()).map(|c| c.key_id().to_string());
                tracing::warn!(node = %self.node, %socket_peer, ?claimed, left_out, "refusing a connection: {reason}");
                self.trust.audit(
                    Event::ProxyHeaderRefused,
                    Outcome::Failure,
                    "",
                    json!({
                        "node": self.node,
                        "addr": socket_peer.to_string(),
                        "claimed_addr": claimed,
                        "signer": signer,
                        "reason": reason,
                        "left_out": left_out,
                    }),
                );
                Err(reason)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_past_the_burst_are_counted_not_written() {
        let mut t = Throttle::default();
        let start = std::time::Instant::now();
        for _ in 0..AUDIT_BURST {
            assert_eq!(t.admit(start), Some(0));
        }
        assert_eq!(t.admit(start), None);
        assert_eq!(t.admit(start), None);
        assert_eq!(t.admit(start + AUDIT_PERIOD), Some(2), "the next period's first line says two were left out");
    }
}
