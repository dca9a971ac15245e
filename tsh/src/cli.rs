//! `tsh`'s command line (clap derive), shared by `main.rs` and the completion generator.

use clap::{Args, Parser, Subcommand};

/// Tether's user client: log in, list clusters and nodes, connect.
#[derive(Parser, Debug)]
#[command(name = "tsh", version = tether_shared::VERSION, about)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options that may come before or after the command (`tsh --proxy=X login`).
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// The proxy's web address, host[:port] (port 3080 when left out).
    #[arg(long, global = true, env = "TSH_PROXY")]
    pub proxy: Option<String>,
    /// The user name (default: the local user).
    #[arg(long, global = true, env = "TSH_USER")]
    pub user: Option<String>,
    /// Do not verify the proxy's HTTPS certificate (testing only).
    #[arg(long, global = true)]
    pub insecure: bool,
    /// Use an identity file (from `tctl auth sign`) instead of the logged-in profile.
    #[arg(short = 'i', long, global = true, value_hint = clap::ValueHint::FilePath)]
    pub identity: Option<std::path::PathBuf>,
}

/// `tsh` commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Log in to a cluster and get short-lived certificates.
    Login {
        /// Certificate lifetime (capped by your roles), e.g. 8h.
        #[arg(long, default_value = "12h")]
        ttl: String,
        /// The one-time invite from `tctl users add`: sets your password.
        #[arg(long)]
        invite: Option<String>,
        /// Where to keep the private key.
        #[arg(long, default_value = "auto", value_parser = ["auto", "keyring", "file"])]
        keystore: String,
    },
    /// Show the current profile.
    Status,
    /// Delete all profiles and keys.
    Logout,
    /// Print a shell completion script.
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the version.
    Version,
}
