//! The proxy's SSH side, as a library: the relay users reach nodes through, and the reverse
//! tunnels between a leaf and its root.
//!
//! # Layout
//!
//! - [`relay`]: the relay on `listen_addr` (3023): the russh server, user certificate checks, the
//!   `proxy:HOST:PORT@CLUSTER` subsystem (a leaf's node through the leaf's tunnel, after
//!   `cluster_labels`) and the byte relay.
//! - [`dial`]: dialling a node for a user, with the signed PROXY header that carries the
//!   user's address.
//! - [`tunnel`]: the reverse tunnels: the root's listener and live registry, the leaf's agent
//!   pools, and per-transport flow control. What proxies record about their tunnels in storage
//!   is the auth crate's (`tether_auth::tunnel_status`), so that reads of `remote_cluster`
//!   status need nothing from here.
//!
//! Direction: this crate sits on `tether-auth`, `tether-storage`, `tether-audit` and
//! `tether-edge`; only the daemon's process wiring (`tether-server`) and the web API
//! (`tether-web`, for the live tunnel registry) sit on it.

pub mod dial;
pub mod relay;
pub mod tunnel;
