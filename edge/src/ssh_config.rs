//! One russh server configuration for every SSH listener (the proxy's relay, its tunnel
//! listener, and the node), built from the host key, its certificate and the configured
//! connection limits.
//!
//! What differs between listeners is not here: deadlines before authentication belong to
//! `listen.rs`, which closes the socket itself. Here: methods (certificates only), window and
//! packet sizes tuned for nested sessions, `TCP_NODELAY`, cipher order, the refusal delay, and
//! the post-authentication keepalive and inactivity limits, which russh enforces by ending the
//! session (and with it the socket it owns).

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use russh::keys::{Certificate, PrivateKey};
use russh::{MethodKind, MethodSet, SshId};
use tether_shared::current::Current;

use crate::guarded::Guarded;
use crate::limits::ConnectionLimits;
use crate::listen::Refuse;
use tokio::net::TcpStream;

/// russh's per-channel message queue, on every SSH listener and on the tunnel agent's client.
/// More than the frames a tunnel transport can have in flight (`tunnel/flow.rs`: 2 MiB of
/// credit at 32 KiB a frame, each frame possibly split in two at a window edge, plus
/// acknowledgements and the close; asserted there), so the tunnel's event loop never waits.
pub const CHANNEL_QUEUE: usize = 192;

/// The channel window: large, so bulk copies are not held back (see the crate notes).
pub const WINDOW_SIZE: u32 = 8 * 1024 * 1024;
/// The largest SSH packet (larger hurt nested sessions in measurements).
pub const MAX_PACKET_SIZE: u32 = 32 * 1024;
/// How long authentication refusals are delayed (russh's constant-time rejection).
pub const AUTH_REJECTION_TIME: Duration = Duration::from_secs(1);
/// Authentication attempts per connection.
pub const MAX_AUTH_ATTEMPTS: usize = 6;

/// The server configuration of an SSH listener presenting `host_cert` for `host_key`, offering
/// the algorithms of `preferred` (`tether_shared::ssh_algorithms`: the operator's sets on the
/// relay and the node, the agents' own on the tunnel port).
pub fn server_config(
    host_key: PrivateKey,
    host_cert: Certificate,
    limits: &ConnectionLimits,
    preferred: russh::Preferred,
) -> russh::server::Config {
    let mut methods = MethodSet::empty();
    methods.push(MethodKind::PublicKey);
    russh::server::Config {
        server_id: SshId::Standard(Cow::Owned(format!("SSH-2.0-Tether_{}", tether_shared::VERSION))),
        methods,
        keys: vec![host_key],
        certificates: vec![host_cert],
        auth_rejection_time: AUTH_REJECTION_TIME,
        // OpenSSH clients probe with "none" first: no need to delay that answer.
        auth_rejection_time_initial: Some(Duration::ZERO),
        max_auth_attempts: MAX_AUTH_ATTEMPTS,
        window_size: WINDOW_SIZE,
        maximum_packet_size: MAX_PACKET_SIZE,
        // Room for every frame a tunnel transport may have in flight (tunnel/flow.rs).
        channel_buffer_size: CHANNEL_QUEUE,
        preferred,
        inactivity_timeout: limits.idle_timeout,
        keepalive_interval: limits.client_alive_interval,
        keepalive_max: limits.client_alive_count_max,
        // Relaying SSH inside SSH: Nagle would triple latency and cut throughput (crate notes).
        nodelay: true,
        ..russh::server::Config::default()
    }
}

/// Tells a refused SSH client why: a key exchange, then a disconnect message ("too many
/// connections" and the reason), which OpenSSH prints as `Received disconnect from …: REASON`
/// and `tsh` as its error. Bounded by the listener ([`MAX_TOLD_REFUSALS`] at once, each within
/// [`REFUSAL_TIMEOUT`]).
///
/// [`MAX_TOLD_REFUSALS`]: crate::listen::MAX_TOLD_REFUSALS
/// [`REFUSAL_TIMEOUT`]: crate::listen::REFUSAL_TIMEOUT
pub struct SshRefusal(pub Arc<Current<russh::server::Config>>);

/// The handler of a refused connection: it accepts nothing.
struct Refusing;

impl russh::server::Handler for Refusing {
    type Error = russh::Error;
}

impl Refuse for SshRefusal {
    fn refuse(&self, stream: Guarded<TcpStream>, reason: String) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let config = self.0.get();
        Box::pin(async move {
            let Ok(session) = russh::server::run_stream(config, stream, Refusing).await else { return };
            let handle = session.handle();
            let _ = handle.disconnect(russh::Disconnect::TooManyConnections, reason, "en".into()).await;
            let _ = session.await;
        })
    }
}
