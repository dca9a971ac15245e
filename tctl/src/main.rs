//! `tctl`: Tether's admin CLI — users, roles, join tokens, trusted and remote clusters.
//!
//! # Layout
//!
//! - `cli.rs`: the command line (also feeds `tctl completion`).
//! - `connect.rs`: which identity and proxy to use.
//! - `users.rs`, `tokens.rs`, `resources.rs`, `authcmd.rs`, `trust.rs`: the commands.
//! - `output.rs`: tables and messages.

mod authcmd;
mod cli;
mod connect;
mod output;
mod resources;
mod tokens;
mod trust;
mod users;

use clap::{CommandFactory, Parser};

use cli::{AuditCommand, AuthCommand, Cli, Command, TrustedClusterCommand};

fn main() -> std::process::ExitCode {
    tether_cli::pipe::quiet_on_closed_pipe();
    let cli = Cli::parse();
    match &cli.command {
        Command::Version => {
            println!("Tether v{}", tether_shared::VERSION);
            return std::process::ExitCode::SUCCESS;
        }
        Command::Completion { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "tctl", &mut std::io::stdout());
            return std::process::ExitCode::SUCCESS;
        }
        Command::TrustedCluster(TrustedClusterCommand::MapRoles { file: Some(file), roles, .. }) => {
            let (file, roles) = (file.clone(), roles.clone());
            // A file needs no cluster: test a role_map before creating it.
            return match trust::map_roles_file(&file, &roles) {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    std::process::ExitCode::FAILURE
                }
            };
        }
        _ => {}
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let (client, creds) = connect::connect(&cli.global)?;
    match cli.command {
        Command::Users(cmd) => users::run(&client, cmd).await,
        Command::Tokens(cmd) => tokens::run(&client, cmd).await,
        Command::Create { force, file } => resources::create(&client, &file, force).await,
        Command::Get { resource, format } => resources::get(&client, &resource, format).await,
        Command::Rm { resource } => resources::rm(&client, &resource).await,
        Command::Update { resource, set_labels } => resources::update(&client, &resource, &set_labels).await,
        Command::Status { format } => authcmd::status(&client, format).await,
        Command::TrustedCluster(TrustedClusterCommand::MapRoles { file: None, name, roles }) => {
            trust::map_roles_stored(&client, name.as_deref(), &roles).await
        }
        Command::TrustedCluster(TrustedClusterCommand::MapRoles { file: Some(_), .. }) => Ok(()),
        Command::TrustedCluster(TrustedClusterCommand::Doctor { root, file, leaf, roles, format }) => {
            trust::doctor(&client, trust::DoctorTarget { root, file, leaf }, roles, format).await
        }
        Command::Auth(AuthCommand::Export { ca_type }) => authcmd::export(&client, ca_type).await,
        Command::Auth(AuthCommand::Sign { user, out, ttl }) => authcmd::sign(&client, &creds, &user, &out, &ttl).await,
        Command::Auth(AuthCommand::Rotate { ca_type, manual, phase, grace_period }) => {
            authcmd::rotate(&client, ca_type, manual, phase.as_deref(), grace_period.as_deref()).await
        }
        Command::Audit(AuditCommand::Ls { since, format }) => authcmd::audit(&client, since.as_deref(), format).await,
        Command::Version | Command::Completion { .. } => Ok(()),
    }
}
