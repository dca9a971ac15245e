//! The `tether` daemon as a library: a cluster's auth, proxy and ssh services from one config.
//!
//! `main.rs` only parses the command line and calls [`start`], [`sample_config`] or
//! [`serve_sftp_stdio`]; everything else lives here, one concern per module.
//!
//! # Layout
//!
//! - `config.rs`: `tether.yaml` (teleport.yaml key names), defaults and the sample config.
//! - `storage/`: the key-value `Backend` trait, SQLite, and the conformance suite.
//! - `auth/`: CAs, users, passwords, invites, certificates, RBAC on API calls, and trust
//!   between clusters (`trust.rs`).
//! - `web/`: the proxy's HTTPS API (rustls, optional mTLS, axum).
//! - `proxy/`: the proxy's SSH relay to nodes (local, or a leaf's through its tunnel).
//! - `tunnel/`: reverse tunnels: the root's listener and status, the leaf's agent pools.
//! - `node/`: the ssh service: joining, heartbeats, the SSH server.
//! - `listen.rs`: the network edge every listener shares: caps, deadlines, early drop, drain.
//! - `ssh_config.rs`: the one russh server configuration of every SSH listener.
//! - `audit.rs`: the JSON-lines audit log.
//! - `sftp.rs`: the SFTP server the node starts as the login for the `sftp` subsystem.
//! - `process.rs`: starts the configured services and stops them on SIGINT/SIGTERM.

mod audit;
mod auth;
mod config;
mod listen;
mod node;
mod process;
mod proxy;
mod sftp;
mod ssh_config;
pub mod storage;
mod tunnel;
mod web;

use std::path::PathBuf;

/// Runs the services the configuration enables until SIGINT or SIGTERM (`tether start`).
pub fn start(config: Option<PathBuf>, data_dir: Option<PathBuf>, debug: bool, insecure: bool) -> anyhow::Result<()> {
    process::start(config, data_dir, debug, insecure)
}

/// The commented sample configuration `tether configure` prints.
pub fn sample_config() -> &'static str {
    config::sample_config()
}

/// Serves SFTP on stdin/stdout as the current user (the node starts this for `subsystem sftp`);
/// returns the process exit code.
pub fn serve_sftp_stdio() -> u8 {
    sftp::serve_stdio()
}

/// Eight random hex digits: tells one process's proxy, or LISTEN channel, from another's.
fn random_hex() -> String {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 4];
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}
