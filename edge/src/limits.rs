//! The network edge's limits as one value (`teleport.connection_limits` in the daemon's config):
//! the listener's caps and deadlines, the web API's request limits, SSH keepalives and the
//! tunnel's recycling. The config crate fills it; every listener reads it.

use std::time::Duration;

/// The network edge's limits (`teleport.connection_limits`); see `listen.rs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// The SSH listeners' limits (relay, tunnel, node); the web API's differ only in their
    /// pre-authentication deadline, [`ConnectionLimits::web_request_timeout`].
    pub listener: crate::listen::Limits,
    /// Web API: the TLS handshake and each request head must arrive within this; an idle
    /// keep-alive connection is closed after it.
    pub web_request_timeout: Duration,
    /// Web API: requests one source address may have in flight at once.
    pub max_requests_per_source: usize,
    /// Web API: unauthenticated endpoints (login, invites, trusted-cluster validation) allow
    /// this many requests per second per source address…
    pub unauthenticated_rate: u32,
    /// …with bursts of this many.
    pub unauthenticated_burst: u32,
    /// SSH: after this much silence the server sends a keepalive (`None`: never).
    pub client_alive_interval: Option<Duration>,
    /// SSH: unanswered keepalives before the connection is closed.
    pub client_alive_count_max: usize,
    /// SSH: an authenticated connection from which nothing arrives for this long is closed
    /// (`None`: never; the default, so interactive sessions are not cut).
    pub idle_timeout: Option<Duration>,
    /// Leaf tunnel agents replace a tunnel connection after it carried this many transports.
    pub tunnel_recycle_after: u64,
    /// SSH: port forwards (`-L`, `-R`, `-D` channels and remote-forward listeners) one connection
    /// to a node may hold at once; sessions have their own cap (OpenSSH's `MaxSessions`, 10).
    pub max_forwards_per_connection: usize,
}

/// Default of [`ConnectionLimits::web_request_timeout`].
pub const DEFAULT_WEB_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Default of [`ConnectionLimits::max_requests_per_source`].
pub const DEFAULT_MAX_REQUESTS_PER_SOURCE: usize = 64;
/// Default of [`ConnectionLimits::unauthenticated_rate`].
pub const DEFAULT_UNAUTHENTICATED_RATE: u32 = 5;
/// Default of [`ConnectionLimits::unauthenticated_burst`].
pub const DEFAULT_UNAUTHENTICATED_BURST: u32 = 20;
/// Default of [`ConnectionLimits::client_alive_interval`].
pub const DEFAULT_CLIENT_ALIVE_INTERVAL: Duration = Duration::from_secs(30);
/// Default of [`ConnectionLimits::client_alive_count_max`].
pub const DEFAULT_CLIENT_ALIVE_COUNT_MAX: usize = 3;
/// Default of [`ConnectionLimits::tunnel_recycle_after`]: transports one tunnel connection
/// carries before the agent replaces it (see `tunnel/mod.rs`: this bounds what russh keeps per
/// closed channel to about 128 × 3.3 KB per side).
pub const DEFAULT_TUNNEL_RECYCLE_AFTER: u64 = 128;

/// Default of [`ConnectionLimits::max_forwards_per_connection`]: a browser through `tsh ssh -D`
/// opens dozens of connections at once; each forward's buffered data is bounded by the
/// connection's inbound throttle, not by this count.
pub const DEFAULT_MAX_FORWARDS_PER_CONNECTION: usize = 256;

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            listener: crate::listen::Limits::default(),
            web_request_timeout: DEFAULT_WEB_REQUEST_TIMEOUT,
            max_requests_per_source: DEFAULT_MAX_REQUESTS_PER_SOURCE,
            unauthenticated_rate: DEFAULT_UNAUTHENTICATED_RATE,
            unauthenticated_burst: DEFAULT_UNAUTHENTICATED_BURST,
            client_alive_interval: Some(DEFAULT_CLIENT_ALIVE_INTERVAL),
            client_alive_count_max: DEFAULT_CLIENT_ALIVE_COUNT_MAX,
            idle_timeout: None,
            tunnel_recycle_after: DEFAULT_TUNNEL_RECYCLE_AFTER,
            max_forwards_per_connection: DEFAULT_MAX_FORWARDS_PER_CONNECTION,
        }
    }
}

impl ConnectionLimits {
    /// The web API listener's limits.
    pub fn web_listener(&self) -> crate::listen::Limits {
        crate::listen::Limits { login_grace_time: self.web_request_timeout, ..self.listener.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_web_listener_takes_the_request_timeout_as_its_grace() {
        let mut limits = ConnectionLimits::default();
        limits.listener.max_connections = 7;
        limits.web_request_timeout = Duration::from_secs(3);
        let web = limits.web_listener();
        assert_eq!(web.login_grace_time, Duration::from_secs(3));
        assert_eq!(web.max_connections, 7, "the rest comes from the listener's limits");
        assert_ne!(limits.listener.login_grace_time, web.login_grace_time);
    }
}
