//! `tctl`: the admin CLI (users, roles, tokens, trusted and remote clusters).
//!
//! Commands land with the running-cluster issue; today the binary carries `tctl version`.

use clap::{Parser, Subcommand};

/// Tether's admin tool.
#[derive(Parser)]
#[command(name = "tctl", version = tether_shared::VERSION)]
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
