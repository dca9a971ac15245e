//! `tether`: the daemon's command line. It parses arguments and calls the library
//! (`server/src/lib.rs`, crate `tether_server`), which holds the services.

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
        Command::SftpServer => return std::process::ExitCode::from(tether_server::serve_sftp_stdio()),
        Command::Version => {
            println!("Tether v{}", tether_shared::VERSION);
            Ok(())
        }
        Command::Configure => {
            print!("{}", tether_server::sample_config());
            Ok(())
        }
        Command::Start { config, data_dir, debug, insecure } => tether_server::start(config, data_dir, debug, insecure),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
