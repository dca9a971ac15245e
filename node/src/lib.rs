//! The ssh service (node): joins the cluster, keeps its CAs and roles fresh, heartbeats its
//! name, address and labels, and serves SSH to users with certificates.
//!
//! Layout: `identity.rs` (host key and certificates, joining), `cache.rs` (CAs and roles, the
//! [`sshd::NodeTrust`] the server asks), `renew.rs` (the node's certificates across a CA
//! rotation), `sshd/` (the russh server and its checks),
//! `session/` (commands and shells as the login's Unix user), `inbound.rs` (client data
//! queued per channel, the client slowed by the window instead of a paused connection).

pub mod cache;
pub mod identity;
pub mod inbound;
pub mod renew;
pub mod service;
pub mod session;
pub mod sftp;
pub mod sshd;
