//! The `tether` daemon as a library: a cluster's auth, proxy and ssh services from one config.
//!
//! `main.rs` only parses the command line and calls [`start`], [`sample_config`] or
//! [`serve_sftp_stdio`]; everything else lives here, one concern per module.
//!
//! This crate is the top of the daemon: it reads the config and wires the services that the
//! crates below it implement. Nothing imports it but its own binary.
//!
//! # Layout
//!
//! - `config/`: `tether.yaml` (teleport.yaml key names), defaults and the sample config.
//! - `process.rs`: starts the configured services and stops them on SIGINT/SIGTERM.
//!
//! # The crates below, each a library, imports pointing down only
//!
//! - `tether-web`: the proxy's HTTPS API.
//! - `tether-proxy`: the proxy's SSH relay and the reverse tunnels (root listener, leaf agents).
//! - `tether-node`: the ssh service: joining, heartbeats, the SSH server, sessions, SFTP.
//! - `tether-auth`: CAs, certificates, users and logins, resources and RBAC, trust.
//! - `tether-audit`: the JSON-lines audit log and its typed events.
//! - `tether-edge`: the network edge every listener shares (caps, deadlines, drain).
//! - `tether-storage`: the key-value `Backend` trait, SQLite, PostgreSQL, the conformance suite.
//! - `tether-shared`: the domain, without I/O, shared with `tsh` and `tctl`.

mod config;
mod process;

use std::path::PathBuf;

/// Runs the services the configuration enables until SIGINT or SIGTERM (`tether start`).
pub fn start(config: Option<PathBuf>, data_dir: Option<PathBuf>, debug: bool, insecure: bool) -> anyhow::Result<()> {
    process::start(config, data_dir, debug, insecure)
}

/// Reads a configuration's text as `tether start` does (schema, then resolution into
/// settings) without starting anything: the error is the line `tether start` would print.
/// The fuzzer's entry point (`fuzz/fuzz_targets/config.rs`).
pub fn check_config(file_name: &str, text: &str) -> Result<(), String> {
    config::parse(file_name, text).map(drop).map_err(|e| e.to_string())
}

/// The commented sample configuration `tether configure` prints.
pub fn sample_config() -> &'static str {
    config::sample_config()
}

/// Serves SFTP on stdin/stdout as the current user (the node starts this for `subsystem sftp`);
/// returns the process exit code.
pub fn serve_sftp_stdio() -> u8 {
    tether_node::sftp::serve_stdio()
}
