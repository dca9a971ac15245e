//! `tsh`: Tether's user CLI — log in, see your profile, and (next) list and reach nodes.
//!
//! # Layout
//!
//! - `cli.rs`: the command line (also feeds `tsh completion`).
//! - `login.rs`: `login`, `status`, `logout`, and how the profile is printed.

mod cli;
mod login;

use clap::{CommandFactory, Parser};

use cli::{Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Version => {
            println!("Tether v{}", tether_shared::VERSION);
            Ok(())
        }
        Command::Completion { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "tsh", &mut std::io::stdout());
            Ok(())
        }
        Command::Login { ttl, invite, keystore } => {
            runtime.block_on(login::login(&cli.global, &ttl, invite, &keystore))
        }
        Command::Status => login::status(&cli.global),
        Command::Logout => login::logout(),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
