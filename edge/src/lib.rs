//! The network edge every `tether` listener shares, as a library: how a connection is accepted,
//! bounded and ended, and the one russh server configuration of every SSH listener.
//!
//! # Layout
//!
//! - [`listen`]: accept with back-off, `TCP_NODELAY`, global and per-source caps, the
//!   pre-authentication deadline, random early drop of unauthenticated connections, and the owned
//!   task set that drains on shutdown.
//! - [`admission`]: unauthenticated connections counted per source (a proxy's users by their
//!   own address), the queue of those waiting for a slot, and the gate a connection passes.
//! - [`guarded`]: a socket whose reads and writes fail once its connection is killed.
//! - [`client_addr`]: the PROXY header a node reads ahead of SSH, and the judge that decides
//!   whether to believe it.
//! - [`limits`]: [`ConnectionLimits`], all of the edge's limits as one value
//!   (`teleport.connection_limits`), with their defaults.
//! - [`ssh_config`]: the russh server configuration built from those limits (algorithms, keepalives,
//!   inactivity).
//!
//! Direction: this crate depends on `tether-shared` only; every service crate (node, proxy, web)
//! and the daemon's wiring sit on it.

pub mod admission;
pub mod client_addr;
pub mod guarded;
pub mod limits;
pub mod listen;
pub mod ssh_config;

pub use limits::ConnectionLimits;
