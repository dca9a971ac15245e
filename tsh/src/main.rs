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
//!   node's own channels handed to `forward/`.
//! - `scp.rs`: `scp`, over the node's SFTP subsystem.
//! - `forward/`: `ssh -L/-R/-D/-N/-A`, port and agent forwarding over the node session.
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

use cli::{Cli, Command, Global, ProxyCommand, SshArgs};
use context::NodeAddress;

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
    tether_cli::pipe::quiet_on_closed_pipe();
    let cli = Cli::parse();
    if cli.global.debug {
        init_debug_log();
    }
    // Every other command runs one session (`tsh proxy ssh`: OpenSSH's own client encrypts the
    // inner one) or a few API calls: one worker, so no message wakes another thread.
    let workers = match cli.command {
        Command::Ssh(_) | Command::Scp { .. } => NESTED_WORKERS,
        _ => 1,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = run(&runtime, cli.global, cli.command);
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

/// `--debug`: steps with the time since start, to see where a slow command spends it.
fn init_debug_log() {
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

/// Runs one command: each goes to the function of its own module.
fn run(runtime: &tokio::runtime::Runtime, global: Global, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Version => {
            println!("Tether v{}", tether_shared::VERSION);
            Ok(())
        }
        Command::Completion { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "tsh", &mut std::io::stdout());
            Ok(())
        }
        Command::Login { ttl, invite, keystore, cluster, ca_pin } => {
            runtime.block_on(login::login(&global, &ttl, invite, &keystore, cluster.as_deref(), ca_pin.as_deref()))
        }
        Command::Clusters { format } => runtime.block_on(clusters::list(&global, &format)),
        Command::Status { format } => runtime.block_on(login::status(&global, &format)),
        Command::Ls { all: true, format, labels, .. } => runtime.block_on(nodes::ls_all(&global, &format, &labels)),
        Command::Ls { cluster, format, labels, .. } => {
            runtime.block_on(nodes::ls(&global, cluster.as_deref(), &format, &labels))
        }
        Command::Ssh(args) => {
            // Exit at once: a blocking read of a terminal stdin may still be pending, and
            // dropping the runtime would wait for it until the user pressed a key.
            let code = ssh(runtime, global, args)?;
            std::process::exit(code.clamp(0, 255))
        }
        Command::Scp { cluster, port, recursive, quiet, paths } => {
            runtime.block_on(scp::scp(&global, scp::ScpRequest { cluster, port, recursive, quiet, paths }))
        }
        Command::Config => {
            let exe = std::env::current_exe().unwrap_or_else(|_| "tsh".into());
            runtime.block_on(nodes::config(&global, &exe))
        }
        Command::Proxy(ProxyCommand::Cert { cluster }) => runtime.block_on(nodes::proxy_cert(&global, &cluster)),
        Command::Proxy(ProxyCommand::Ssh { cluster, destination }) => {
            on_worker(runtime, async move { nodes::proxy_ssh(&global, cluster.as_deref(), &destination).await })
        }
        Command::Logout => login::logout(),
    }
}

/// `tsh ssh`: one node, or one command on every node a label selector names. Returns the exit
/// code.
fn ssh(runtime: &tokio::runtime::Runtime, global: Global, args: SshArgs) -> anyhow::Result<i32> {
    let tty = match (args.tty, args.no_tty) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    if multi::is_selector(&args.destination) {
        let flags = [
            (!args.local_forward.is_empty(), "-L"),
            (!args.remote_forward.is_empty(), "-R"),
            (!args.dynamic_forward.is_empty(), "-D"),
            (args.no_command, "-N"),
            (args.forward_agent, "-A"),
            (tty == Some(true), "-t"),
        ];
        if let Some((_, flag)) = flags.iter().find(|(set, _)| *set) {
            anyhow::bail!(
                "{flag} cannot be used with a label selector ({}): it runs one command on many nodes",
                args.destination
            );
        }
        let node = NodeAddress {
            destination: &args.destination,
            login: args.login.as_deref(),
            cluster: args.cluster.as_deref(),
            port: args.port,
        };
        return runtime.block_on(multi::run(&global, node, args.command, usize::from(args.max_parallel)));
    }
    let fwd = forward::Forwarding::parse(
        &args.local_forward,
        &args.remote_forward,
        &args.dynamic_forward,
        args.no_command,
        args.forward_agent,
    )?;
    on_worker(runtime, async move {
        let node = NodeAddress {
            destination: &args.destination,
            login: args.login.as_deref(),
            cluster: args.cluster.as_deref(),
            port: args.port,
        };
        nodes::ssh(&global, node, tty, args.command, fwd).await
    })
}
