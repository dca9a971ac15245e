//! `tether`: the daemon that runs a cluster's auth, proxy and ssh services from one config.
//!
//! The services land with the running-cluster issue; today the binary carries the command-line
//! shape and `tether version`.

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
    /// Print the version.
    Version,
}

fn main() {
    match Cli::parse().command {
        Command::Version => println!("Tether v{}", tether_shared::VERSION),
    }
}
