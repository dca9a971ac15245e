//! `tether`: the daemon that runs a cluster's auth, proxy and ssh services from one config.
//!
//! # Layout
//!
//! - `config.rs`: `tether.yaml` (teleport.yaml key names), defaults and the sample config.
//! - `storage/`: the key-value [`storage::Backend`] trait, SQLite, and the conformance suite.
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
mod storage;
mod tunnel;
mod web;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Tether: trusted-cluster federation for SSH access.
#[derive(Parser)]
#[command(name = "tether", version = tether_shared::VERSION)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the services the configuration enables (all three, on 127.0.0.1, without one).
    Start {
        /// The configuration file (teleport.yaml key names).
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// Where state is kept (overrides teleport.data_dir).
        #[arg(short = 'd', long)]
        data_dir: Option<PathBuf>,
        /// Log at DEBUG level.
        #[arg(long)]
        debug: bool,
        /// Accept self-signed HTTPS certificates of remote clusters (testing only).
        #[arg(long)]
        insecure: bool,
    },
    /// Print a commented sample configuration.
    Configure,
    /// Print the version.
    Version,
    /// Serve SFTP on stdin/stdout (the node starts this as the login for `subsystem sftp`).
    #[command(hide = true)]
    SftpServer,
}

fn main() -> std::process::ExitCode {
    let result = match Cli::parse().command {
        Command::SftpServer => return std::process::ExitCode::from(sftp::serve_stdio()),
        Command::Version => {
            println!("Tether v{}", tether_shared::VERSION);
            Ok(())
        }
        Command::Configure => {
            print!("{}", config::sample_config());
            Ok(())
        }
        Command::Start { config, data_dir, debug, insecure } => process::start(config, data_dir, debug, insecure),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
