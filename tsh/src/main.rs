//! `tsh`: Tether's user CLI — log in, see your profile, list clusters and nodes, and reach nodes in the root or its leaves.
//!
//! # Layout
//!
//! - `cli.rs`: the command line (also feeds `tsh completion`).
//! - `login.rs`: `login`, `status`, `logout`, and how the profile is printed.
//! - `context.rs`: what every command resolves first: credentials (`-i` or the profile), the
//!   proxy, the target cluster and its leaf-bound certificates, a node target; a leaf's API
//!   through the tunnel.
//! - `nodes.rs`: `ls`, `ssh`, `config`, `proxy ssh`.
//! - `ssh.rs`: the SSH client that reaches nodes through the proxy relay.
//! - `handler.rs`: the russh handler of those connections: host certificate checks, and the
//!   node's own channels handed to `forward.rs`.
//! - `scp.rs`: `scp`, over the node's SFTP subsystem.
//! - `forward.rs`: `ssh -L/-R/-D/-N/-A`, port and agent forwarding over the node session.
//! - `multi.rs`: `ssh LOGIN@key=value CMD`, one command on every node with those labels.
//! - `clusters.rs`: `clusters`.

mod cli;
mod clusters;
mod context;
mod forward;
mod handler;
mod login;
mod multi;
mod nodes;
mod scp;
mod ssh;
mod stdio;

use clap::{CommandFactory, Parser};

use cli::{Cli, Command, ProxyCommand};

/// The runtime's worker threads for commands that run nested sessions (`tsh ssh`, `tsh scp`):
/// the proxy's and the node's, each a task of its own, so bulk data keeps both cores busy.
const NESTED_WORKERS: usize = 2;

/// Runs `work` as a task of the runtime instead of on the main thread: the SSH sessions it
/// talks to are tasks too, so their hand-offs stay on a worker instead of waking another
/// thread for each message (measured: half the context switches of `tsh ssh node true`).
fn on_worker<T: Send + 'static>(
    runtime: &tokio::runtime::Runtime,
    work: impl std::future::Future<Output = anyhow::Result<T>> + Send + 'static,
) -> anyhow::Result<T> {
    runtime.block_on(async move {
        tokio::spawn(work).await.unwrap_or_else(|e| Err(anyhow::anyhow!("tsh stopped unexpectedly: {e}")))
    })
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if cli.global.debug {
        // Steps with the time since start: where a slow command spends it.
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_timer(tracing_subscriber::fmt::time::uptime())
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("tsh=debug,tether_client=debug")),
            )
            .init();
    }
    // Every other command runs one session (`tsh proxy ssh`: OpenSSH's own client encrypts the
    // inner one) or a few API calls: one worker, so no message wakes another thread.
    let workers = match cli.command {
        Command::Ssh { .. } | Command::Scp { .. } => NESTED_WORKERS,
        _ => 1,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build() {
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
        Command::Login { ttl, invite, keystore, cluster } => {
            runtime.block_on(login::login(&cli.global, &ttl, invite, &keystore, cluster.as_deref()))
        }
        Command::Clusters { format } => runtime.block_on(clusters::list(&cli.global, &format)),
        Command::Status => runtime.block_on(login::status(&cli.global)),
        Command::Ls { cluster, format, labels } => {
            runtime.block_on(nodes::ls(&cli.global, cluster.as_deref(), &format, &labels))
        }
        Command::Ssh {
            cluster,
            port,
            login,
            tty,
            no_tty,
            local_forward,
            remote_forward,
            dynamic_forward,
            no_command,
            forward_agent,
            max_parallel,
            destination,
            command,
        } => {
            let tty = if tty {
                Some(true)
            } else if no_tty {
                Some(false)
            } else {
                None
            };
            let result = if multi::is_selector(&destination) {
                let flags = [
                    (!local_forward.is_empty(), "-L"),
                    (!remote_forward.is_empty(), "-R"),
                    (!dynamic_forward.is_empty(), "-D"),
                    (no_command, "-N"),
                    (forward_agent, "-A"),
                    (tty == Some(true), "-t"),
                ];
                match flags.iter().find(|(set, _)| *set) {
                    Some((_, flag)) => Err(anyhow::anyhow!(
                        "{flag} cannot be used with a label selector ({destination}): it runs one command on many nodes"
                    )),
                    None => runtime.block_on(multi::run(
                        &cli.global,
                        cluster.as_deref(),
                        port,
                        login.as_deref(),
                        &destination,
                        command,
                        usize::from(max_parallel),
                    )),
                }
            } else {
                match forward::Forwarding::parse(
                    &local_forward,
                    &remote_forward,
                    &dynamic_forward,
                    no_command,
                    forward_agent,
                ) {
                    Ok(fwd) => {
                        let global = cli.global.clone();
                        on_worker(&runtime, async move {
                            nodes::ssh(
                                &global,
                                cluster.as_deref(),
                                port,
                                login.as_deref(),
                                tty,
                                &destination,
                                command,
                                fwd,
                            )
                            .await
                        })
                    }
                    Err(e) => Err(e),
                }
            };
            match result {
                // Exit at once: a blocking read of a terminal stdin may still be pending, and
                // dropping the runtime would wait for it until the user pressed a key.
                Ok(code) => std::process::exit(code.clamp(0, 255)),
                Err(e) => Err(e),
            }
        }
        Command::Scp { cluster, port, recursive, quiet, paths } => {
            runtime.block_on(scp::scp(&cli.global, scp::ScpRequest { cluster, port, recursive, quiet, paths }))
        }
        Command::Config => {
            let exe = std::env::current_exe().unwrap_or_else(|_| "tsh".into());
            runtime.block_on(nodes::config(&cli.global, &exe))
        }
        Command::Proxy(ProxyCommand::Cert { cluster }) => runtime.block_on(nodes::proxy_cert(&cli.global, &cluster)),
        Command::Proxy(ProxyCommand::Ssh { cluster, destination }) => {
            let global = cli.global.clone();
            on_worker(&runtime, async move { nodes::proxy_ssh(&global, cluster.as_deref(), &destination).await })
        }
        Command::Logout => login::logout(),
    };
    // Do not wait for a blocking read of stdin that may still be pending.
    runtime.shutdown_background();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
