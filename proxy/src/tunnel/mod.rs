//! The reverse tunnel between a leaf and its root: the leaf dials out, the root reaches in.
//!
//! One SSH connection per (leaf proxy, root proxy). The leaf's agent is the SSH client and logs
//! in as its cluster's name with a host certificate from the leaf's host CA; the root's tunnel
//! listener accepts it only against the host CA it stored for that leaf, and only while the
//! `remote_cluster` exists. The messages on it (the control subsystem, transport targets and
//! status lines) are defined once, in [`tether_shared::tunnel`], for both ends and the tunnel
//! benchmark; the bytes of each transport travel in the credit-counted frames of [`flow`].
//!
//! A connection that has carried `connection_limits.tunnel_recycle_after` (default
//! [`tether_edge::limits::DEFAULT_TUNNEL_RECYCLE_AFTER`]) transports is replaced: the agent sends
//! `Control::Retire`, dials a fresh tunnel, and hangs up the old one when its last transport
//! ends. russh 0.65 keeps a little state for every channel closed by the side that closes first
//! (the peer's answering close is dropped before the entry is removed), so a tunnel that lived
//! forever would grow by ~3 KB per transport on one side; recycling bounds it.
//!
//! Layout: `registry.rs` (the root's live tunnels and heartbeats), `server.rs` (the root's
//! listener), `agent.rs` (the leaf's agent pools; `link.rs` one agent connection's client side;
//! `transport.rs` one transport on them; tunnel status and proxy discovery in storage are
//! `tether_auth::tunnel_status`), `flow.rs` (per-transport flow control), `doctor.rs` (the
//! leaf's trust doctor: each step of the agents' way to the root, checked).

pub mod agent;
pub mod doctor;
pub mod flow;
mod link;
pub mod registry;
pub mod server;
mod transport;
