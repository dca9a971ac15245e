//! The forwarded agent's socket. When a session is granted agent forwarding
//! (`auth-agent-req@openssh.com`), the node makes a socket in a fresh 0700 directory owned by the
//! login and serves it: each connection to it opens an `auth-agent@openssh.com` channel back to
//! the client and relays bytes. The session exports it as `SSH_AUTH_SOCK`. Dropping the
//! [`AgentSocket`], which the session channel's state holds, stops the listener and removes the
//! directory; the listener is also one of the connection's tasks, so it ends with the connection.
//!
//! Whether a session may have one is decided in `launch.rs` (the certificate's
//! `permit-agent-forwarding` and a role's `forward_agent`).

use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::UnixListener;
use tokio::task::JoinSet;

use super::relay::relay_channel;
use crate::inbound;
use crate::session;

/// A forwarded agent's socket; removed (and its listener stopped) when dropped.
pub(super) struct AgentSocket {
    dir: PathBuf,
    pub(super) socket: PathBuf,
    listener: tokio::task::AbortHandle,
}

impl Drop for AgentSocket {
    fn drop(&mut self) {
        self.listener.abort();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Creates a socket for the forwarded agent, owned by `user`, and serves it: each connection
/// opens an `auth-agent@openssh.com` channel to the client and relays bytes.
pub(super) fn agent_socket(
    user: &session::LoginUser,
    handle: russh::server::Handle,
    throttle: &Arc<inbound::Throttle>,
    tasks: &mut JoinSet<()>,
) -> std::io::Result<AgentSocket> {
    use std::os::unix::fs::DirBuilderExt;
    let mut random = [0u8; 8];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut random)
        .map_err(|_| std::io::Error::other("no randomness"))?;
    let name: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let dir = std::env::temp_dir().join(format!("tether-agent-{name}"));
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    let socket = dir.join("agent.sock");
    let cleanup = |e: std::io::Error| {
        let _ = std::fs::remove_dir_all(&dir);
        e
    };
    let listener = UnixListener::bind(&socket).map_err(cleanup)?;
    if nix::unistd::geteuid().is_root() {
        std::os::unix::fs::chown(&dir, Some(user.uid), Some(user.gid)).map_err(cleanup)?;
        std::os::unix::fs::chown(&socket, Some(user.uid), Some(user.gid)).map_err(cleanup)?;
    }
    let throttle = throttle.clone();
    let task = tasks.spawn(async move {
        let mut relays = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((mut local, _)) = accepted else { return };
                    let (handle, throttle) = (handle.clone(), throttle.clone());
                    relays.spawn(async move {
                        match handle.channel_open_agent().await {
                            Ok(channel) => relay_channel(channel, &throttle, &mut local).await,
                            Err(e) => tracing::debug!("the client refused the agent channel: {e}"),
                        }
                    });
                }
                Some(_) = relays.join_next(), if !relays.is_empty() => {}
            }
        }
    });
    Ok(AgentSocket { dir, socket, listener: task })
}
