//! The reverse tunnel's wire protocol, shared by both ends (the leaf's agent, the root's
//! listener) and by the tunnel benchmark.
//!
//! One SSH connection per (leaf proxy, root proxy); the leaf dials and logs in with a host
//! certificate. On it:
//!
//! - **control**: the agent opens a session channel and requests the subsystem [`SUBSYSTEM`];
//!   both sides then exchange newline-delimited JSON [`Control`] messages of at most
//!   [`MAX_LINE`] bytes, read with [`read_line`].
//! - **transport**: for each user connection the root opens a `direct-tcpip` channel whose host
//!   names the target in the leaf (a node name, or [`WEB_TARGET`] for the leaf's web API). The
//!   agent dials it and writes one status line ([`STATUS_OK`] or `ERR reason`) before any data.
//!   The bytes after it travel in credit-counted frames; their format is owned by the daemon's
//!   `tunnel/flow.rs`, the only code that reads or writes them.
//!
//! russh passes no custom channel types or global-request payloads between its own peers, so
//! this is all the protocol there is.

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// The control subsystem's name.
pub const SUBSYSTEM: &str = "tether-tunnel@v1";
/// The transport target that means "the leaf's own web API".
pub const WEB_TARGET: &str = "@web";
/// The transport status line of a successful dial.
pub const STATUS_OK: &str = "OK";
/// The least time between two [`Control::Authorities`] a side stores from one tunnel: a peer
/// that floods them only slows its own control channel.
pub const CA_SYNC_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Waits until [`CA_SYNC_INTERVAL`] has passed since `last` (then sets it to now).
pub async fn pace_ca_sync(last: &mut Option<tokio::time::Instant>) {
    if let Some(at) = *last {
        tokio::time::sleep_until(at + CA_SYNC_INTERVAL).await;
    }
    *last = Some(tokio::time::Instant::now());
}

/// The longest control message or status line accepted.
pub const MAX_LINE: u64 = 64 * 1024;

/// A control message on the tunnel's subsystem channel (one JSON object per line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Control {
    /// Root → agent, first and whenever the set of root proxies changes.
    Hello {
        /// The ID of the root proxy that answered.
        proxy_id: String,
        /// How often the agent must heartbeat, in milliseconds.
        heartbeat_ms: u64,
        /// Every live root proxy's ID: the agent pool keeps one tunnel to each.
        proxies: Vec<String>,
        /// The root reads [`Control::Authorities`] (an older root does not, and says nothing).
        #[serde(default)]
        ca_sync: bool,
    },
    /// Either way: the sender's CAs, public parts, after the tunnel comes up and after each of
    /// their rotation phases; the other side stores them as its copy of the sender's CAs.
    Authorities {
        /// One `cert_authority` of each type (user, host, TLS).
        cas: Vec<crate::resource::CertAuthority>,
    },
    /// Agent → root, every `heartbeat_ms`.
    Heartbeat {
        /// The agent's version.
        version: String,
    },
    /// Root → agent: this proxy is stopping; reconnect (to another one) now.
    Drain,
    /// Agent → root: the agent is replacing this connection with a fresh one (after the leaf's
    /// `connection_limits.tunnel_recycle_after` transports); route new transports elsewhere, keep
    /// the running ones, and expect no more heartbeats here. The agent hangs up when its last
    /// transport ends.
    Retire,
}

impl Control {
    /// The message as one line.
    pub fn line(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// Reads one line of at most [`MAX_LINE`] bytes; `None` at end of stream.
pub async fn read_line<R: AsyncBufRead + Unpin>(reader: &mut R) -> std::io::Result<Option<String>> {
    let mut line = String::new();
    let n = reader.take(MAX_LINE).read_line(&mut line).await?;
    if n == 0 {
        return Ok(None);
    }
    if !line.ends_with('\n') && n as u64 >= MAX_LINE {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "line too long"));
    }
    Ok(Some(line.trim_end().to_string()))
}

#[cfg(test)]
mod tests {
    use super::Control;

    #[test]
    fn control_lines_round_trip() {
        let hello = Control::Hello {
            proxy_id: "p1".into(),
            heartbeat_ms: 5000,
            proxies: vec!["p1".into(), "p2".into()],
            ca_sync: true,
        };
        let line = hello.line();
        assert!(line.ends_with('\n') && !line.trim_end().contains('\n'));
        assert_eq!(serde_json::from_str::<Control>(line.trim_end()).unwrap(), hello);
        assert_eq!(
            serde_json::from_str::<Control>(r#"{"type":"heartbeat","version":"1"}"#).unwrap(),
            Control::Heartbeat { version: "1".into() }
        );
        assert!(serde_json::from_str::<Control>(r#"{"type":"launch_missiles"}"#).is_err());
        // An older root's hello: no CA sync.
        let old = r#"{"type":"hello","proxy_id":"p","heartbeat_ms":1,"proxies":[]}"#;
        assert!(matches!(serde_json::from_str::<Control>(old).unwrap(), Control::Hello { ca_sync: false, .. }));
    }
}
