//! `tsh`: the user CLI (login, clusters, ls, ssh).
//!
//! Commands land with the running-cluster issue; today the binary carries `tsh version`.

use clap::{Parser, Subcommand};

/// Tether's user client.
#[derive(Parser)]
#[command(name = "tsh", version = tether_shared::VERSION)]
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
