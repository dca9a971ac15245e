//! The russh client handler of every SSH connection `tsh` makes (to the proxy, to a node):
//! [`HostCheck`] verifies the server's host certificate against the cluster's host CAs and the
//! name dialled, and passes what a node opens on its own (remote forwards' connections, agent
//! channels) and the text of its channel-open refusals to [`NodeEvents`].
//!
//! A leaf module: ssh.rs builds connections with this handler and forward/ serves the
//! channels it passes on, so neither needs the other for it.

use std::sync::Arc;
use std::time::SystemTime;

use russh::client::{ChannelOpenHandle, Msg};
use russh::keys::PublicKey;
use russh::{Channel, ChannelOpenFailure};
use tokio::sync::{mpsc, watch};

/// Verifies a server's host certificate against the cluster's host CAs and one expected name.
pub struct HostCheck {
    /// The CAs the host certificate must be signed by.
    pub(crate) cas: Vec<PublicKey>,
    /// The name the certificate must list among its principals.
    pub(crate) name: String,
    /// Why the server was refused, for the error the user sees.
    pub(crate) refusal: Arc<std::sync::Mutex<Option<String>>>,
    /// What the server said when it hung up (a node or relay at its limits says why).
    pub(crate) goodbye: Arc<std::sync::Mutex<Option<String>>>,
    /// Whether the server's host certificate verified (only then is its goodbye quoted).
    pub(crate) verified: bool,
    /// Where the node's own channels (remote forwards, the agent) and the texts of channel-open
    /// refusals go (forward/); `None`: refuse such channels.
    pub(crate) events: Option<NodeEvents>,
}

impl russh::client::Handler for HostCheck {
    type Error = russh::Error;

    async fn check_server_key(&mut self, key: &russh::keys::PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        let verdict =
            tether_shared::ssh_cert::verify_server_key(key, &self.cas, &self.name, SystemTime::now()).map(|_| ());
        match verdict {
            Ok(()) => {
                self.verified = true;
                Ok(true)
            }
            Err(reason) => {
                if let Ok(mut r) = self.refusal.lock() {
                    *r = Some(reason);
                }
                Ok(false)
            }
        }
    }

    async fn disconnected(&mut self, reason: russh::client::DisconnectReason<Self::Error>) -> Result<(), Self::Error> {
        match reason {
            russh::client::DisconnectReason::ReceivedDisconnect(info) => {
                // Quoted only from a server whose host certificate verified, and as plain text
                // (no terminal control characters), at most one line of 300 characters.
                if self.verified
                    && !info.message.is_empty()
                    && let Ok(mut said) = self.goodbye.lock()
                {
                    let text: String =
                        info.message.chars().map(|c| if c.is_control() { ' ' } else { c }).take(300).collect();
                    *said = Some(text);
                }
                Ok(())
            }
            russh::client::DisconnectReason::Error(e) => Err(e),
        }
    }

    async fn server_channel_open_forwarded_tcpip(
        &mut self,
        channel: russh::Channel<russh::client::Msg>,
        _connected_address: &str,
        connected_port: u32,
        originator_address: &str,
        originator_port: u32,
        reply: russh::client::ChannelOpenHandle,
        _session: &mut russh::client::Session,
    ) -> Result<(), Self::Error> {
        let origin = format!("{originator_address}:{originator_port}");
        if let Some(events) = &self.events {
            events.offer(Inbound::Forwarded { channel, port: connected_port, origin, reply });
        }
        Ok(())
    }

    async fn server_channel_open_agent_forward(
        &mut self,
        channel: russh::Channel<russh::client::Msg>,
        reply: russh::client::ChannelOpenHandle,
        _session: &mut russh::client::Session,
    ) -> Result<(), Self::Error> {
        if let Some(events) = &self.events {
            events.offer(Inbound::Agent { channel, reply });
        }
        Ok(())
    }

    async fn channel_open_failure(
        &mut self,
        _channel: russh::ChannelId,
        reason: russh::ChannelOpenFailure,
        description: &str,
        _language: &str,
        _session: &mut russh::client::Session,
    ) -> Result<(), Self::Error> {
        if let Some(events) = &self.events {
            events.refused(&reason, description);
        }
        Ok(())
    }
}

/// Channels the node opens to tsh that may wait for the dispatcher.
const INBOUND_QUEUE: usize = 64;
/// A channel the node opened to tsh.
pub(crate) enum Inbound {
    /// A connection to a remote forward's port.
    Forwarded {
        /// The channel.
        channel: Channel<Msg>,
        /// The port the node listens on.
        port: u32,
        /// Who connected, as the node says.
        origin: String,
        /// Accept or refuse.
        reply: ChannelOpenHandle,
    },
    /// A program on the node using the forwarded agent.
    Agent {
        /// The channel.
        channel: Channel<Msg>,
        /// Accept or refuse.
        reply: ChannelOpenHandle,
    },
}

/// The latest channel-open refusals of the node session, oldest first: (sequence, code, text).
pub(crate) type Refusals = std::collections::VecDeque<(u64, u32, String)>;
/// How many refusal texts are kept for the openers to find theirs.
const REFUSALS_KEPT: usize = 64;

/// What the node session's handler passes on: channels the node opens, and the text of each
/// channel-open refusal (russh gives that text only to the handler, without saying which open
/// it answers: forward/'s opener picks its own by code and target).
#[derive(Clone)]
pub(crate) struct NodeEvents {
    inbound: mpsc::Sender<Inbound>,
    refusals: Arc<watch::Sender<(u64, Refusals)>>,
}

impl NodeEvents {
    /// Events and the receiving end of the node's channels, for forward/'s `Forwarder::start`.
    pub(crate) fn new() -> (NodeEvents, mpsc::Receiver<Inbound>) {
        let (inbound, rx) = mpsc::channel(INBOUND_QUEUE);
        let (refusals, _) = watch::channel((0, Refusals::new()));
        (NodeEvents { inbound, refusals: Arc::new(refusals) }, rx)
    }

    /// Hands a channel to the dispatcher without waiting; a full queue refuses it (the reply
    /// handle refuses when dropped).
    pub(crate) fn offer(&self, inbound: Inbound) {
        if let Err(e) = self.inbound.try_send(inbound) {
            tracing::debug!("a channel from the node was refused: {e}");
        }
    }

    /// The refusals recorded from now on, for the openers of forwarded channels.
    pub(crate) fn subscribe_refusals(&self) -> watch::Receiver<(u64, Refusals)> {
        self.refusals.subscribe()
    }

    /// Records the text of a channel-open refusal.
    pub(crate) fn refused(&self, reason: &ChannelOpenFailure, description: &str) {
        let text: String = description.chars().take(512).collect();
        self.refusals.send_modify(|(n, kept)| {
            *n += 1;
            kept.push_back((*n, reason.code(), text));
            if kept.len() > REFUSALS_KEPT {
                kept.pop_front();
            }
        });
    }
}
