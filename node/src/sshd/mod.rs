//! The node's SSH server (russh): certificate-only authentication, RBAC, session channels, and
//! agent and port forwarding.
//!
//! Only OpenSSH **user certificates** from a CA the node trusts are accepted, for a login the
//! certificate names and the roles allow on this node. Sessions run commands, shells and the
//! SFTP server as the login's Unix user; forwarding needs both the certificate and the roles to
//! allow it. Every refusal, session and forward is audited.
//!
//! One concern per file; each uses only files listed before it:
//!
//! - `policy.rs`: who may log in and what they may do ([`NodeTrust`], [`policy::AuthRefusal`],
//!   the certificate checks, forwarding permissions, [`policy::MAX_SESSIONS_PER_CONNECTION`]);
//!   no I/O.
//! - `proxied.rs`: which PROXY headers (the user's address, signed by a proxy) the node
//!   believes, and the audit of those it does not.
//! - `signals.rs`: signal names between SSH and Unix.
//! - `relay.rs`: the byte relay between a channel and a local socket.
//! - `agent.rs`: the forwarded agent's socket.
//! - `conn.rs`: one connection's state (channels, forwards, tasks) and its audit details.
//! - `launch.rs`: starting a session channel's shell, command or SFTP server; agent forwarding.
//! - `forward.rs`: local and remote port forwards.
//! - `handler.rs`: the russh handler, authentication and the channel requests.
//! - `accept.rs`: [`SshdConfig`], [`serve`] and each connection's life; pre-authentication
//!   audit and shutdown.

mod accept;
mod agent;
mod conn;
mod forward;
mod handler;
mod launch;
mod policy;
mod proxied;
mod relay;
mod signals;
#[cfg(test)]
mod tests;

pub use accept::{SshdConfig, serve};
pub use policy::{NoRoles, NodeTrust};
pub use proxied::ProxyJudge;
