//! The proxy's SSH side: the relay users reach nodes through (`listen_addr`, 3023).
//!
//! Layout: `relay.rs` (the russh server, user certificate checks, the `proxy:HOST:PORT@CLUSTER`
//! subsystem — a leaf's node through the leaf's tunnel, after `cluster_labels` — and the byte
//! relay).

pub mod relay;
