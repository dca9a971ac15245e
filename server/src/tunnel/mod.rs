//! The reverse tunnel between a leaf and its root: the leaf dials out, the root reaches in.
//!
//! One SSH connection per (leaf proxy, root proxy). The leaf's agent is the SSH client and logs
//! in as its cluster's name with a host certificate from the leaf's host CA; the root's tunnel
//! listener accepts it only against the host CA it stored for that leaf, and only while the
//! `remote_cluster` exists. On that connection:
//!
//! - **control**: the agent opens a session channel and requests the subsystem [`SUBSYSTEM`];
//!   both sides then exchange newline-delimited JSON [`Control`] messages — the root's
//!   [`Control::Hello`] (its proxy ID, the heartbeat interval, and every root proxy's ID for
//!   discovery), the agent's [`Control::Heartbeat`]s, and [`Control::Drain`] before the root
//!   stops.
//! - **transport**: for each user connection the root opens a `direct-tcpip` channel towards the
//!   agent whose host names the target in the leaf (a node name, or [`WEB_TARGET`] for the
//!   leaf's web API). The agent dials it and writes one status line ([`STATUS_OK`] or
//!   `ERR reason`) before relaying bytes, so the user sees why a dial failed.
//!
//! A connection that has carried `connection_limits.tunnel_recycle_after` (default [`crate::config::DEFAULT_TUNNEL_RECYCLE_AFTER`]) transports is replaced: the agent
//! sends [`Control::Retire`], dials a fresh tunnel, and hangs up the old one when its last
//! transport ends. russh 0.65 keeps a little state for every channel closed by the side that
//! closes first (the peer's answering close is dropped before the entry is removed), so a
//! tunnel that lived forever would grow by ~3 KB per transport on one side; recycling bounds it.
//!
//! russh passes no custom channel types or global-request payloads between its own peers, so
//! this is all the protocol there is.
//!
//! Layout: `registry.rs` (the root's live tunnels and heartbeats), `server.rs` (the root's
//! listener), `status.rs` (tunnel status and proxy discovery in storage), `agent.rs` (the leaf's
//! agent pools).

pub mod agent;
pub mod flow;
pub mod registry;
pub mod server;
pub mod status;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// The control subsystem's name.
pub const SUBSYSTEM: &str = "tether-tunnel@v1";
/// The transport target that means "the leaf's own web API".
pub const WEB_TARGET: &str = "@web";
/// The transport status line of a successful dial.
pub const STATUS_OK: &str = "OK";
/// The longest control message or status line accepted.
pub const MAX_LINE: u64 = 64 * 1024;

/// A control message on the tunnel's subsystem channel (one JSON object per line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    },
    /// Agent → root, every `heartbeat_ms`.
    Heartbeat {
        /// The agent's version.
        version: String,
    },
    /// Root → agent: this proxy is stopping; reconnect (to another one) now.
    Drain,
    /// Agent → root: the agent is replacing this connection with a fresh one (after
    /// `connection_limits.tunnel_recycle_after` (default [`crate::config::DEFAULT_TUNNEL_RECYCLE_AFTER`]) transports); route new transports elsewhere, keep the running
    /// ones, and expect no more heartbeats here. The agent hangs up when its last transport ends.
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
        let hello =
            Control::Hello { proxy_id: "p1".into(), heartbeat_ms: 5000, proxies: vec!["p1".into(), "p2".into()] };
        let line = hello.line();
        assert!(line.ends_with('\n') && !line.trim_end().contains('\n'));
        assert_eq!(serde_json::from_str::<Control>(line.trim_end()).unwrap(), hello);
        assert_eq!(
            serde_json::from_str::<Control>(r#"{"type":"heartbeat","version":"1"}"#).unwrap(),
            Control::Heartbeat { version: "1".into() }
        );
        assert!(serde_json::from_str::<Control>(r#"{"type":"launch_missiles"}"#).is_err());
    }
}
