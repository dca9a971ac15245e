//! `tsh`'s command line (clap derive), shared by `main.rs` and the completion generator.
//!
//! The doc comments below are clap's help text, written as users read it (`[LOGIN@]HOST`), not
//! as Markdown: rustdoc's link check does not apply to them.
#![allow(rustdoc::broken_intra_doc_links)]

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
    /// Print what tsh does, step by step with the time since it started, on stderr.
    #[arg(long, global = true, env = "TSH_DEBUG")]
    pub debug: bool,
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
        /// Select a leaf cluster for later commands (a valid login is reused, no password).
        #[arg(long)]
        cluster: Option<String>,
        /// Trust the proxy's HTTPS certificate when it chains to the cluster TLS CA with this pin
        /// (`sha256:HEX`, as `tctl users add` prints it): a first login without --insecure.
        #[arg(long)]
        ca_pin: Option<String>,
    },
    /// List the root cluster and the leaf clusters you may see.
    Clusters {
        /// Output format.
        #[arg(long, default_value = "text", value_parser = ["text", "json", "yaml"])]
        format: String,
    },
    /// Show the current profile.
    Status {
        /// Output format.
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        format: String,
    },
    /// Run a command or a shell on a node, or a command on every node with some labels:
    /// tsh ssh [LOGIN@]HOST|[LOGIN@]KEY=VALUE[,...] [COMMAND...]
    Ssh(SshArgs),
    /// Copy files to or from a node over SFTP: tsh scp [-r] SRC... [LOGIN@]NODE:PATH (or the reverse)
    Scp {
        /// The cluster the node is in (default: the one you logged in to).
        #[arg(long)]
        cluster: Option<String>,
        /// The node's SSH port.
        #[arg(short = 'P', long, default_value_t = 3022)]
        port: u16,
        /// Copy directories and their contents.
        #[arg(short = 'r', long)]
        recursive: bool,
        /// No progress bars.
        #[arg(short = 'q', long)]
        quiet: bool,
        /// Sources, then the target; a node's path is [LOGIN@]NODE:PATH.
        #[arg(required = true, num_args = 2.., value_hint = clap::ValueHint::AnyPath)]
        paths: Vec<String>,
    },
    /// List the nodes you may log in to: tsh ls [label=value ...]
    Ls {
        /// The cluster (default: the one you logged in to).
        #[arg(long, conflicts_with = "all")]
        cluster: Option<String>,
        /// Nodes of the root and of every leaf you may see, in one table.
        #[arg(long)]
        all: bool,
        /// Output format.
        #[arg(long, default_value = "text", value_parser = ["text", "json", "yaml"])]
        format: String,
        /// Only nodes with these labels (label=value).
        labels: Vec<String>,
    },
    /// Print an OpenSSH client configuration that reaches nodes through tsh.
    Config,
    /// Helpers for other programs.
    #[command(subcommand)]
    Proxy(ProxyCommand),
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

/// `tsh proxy ...`
#[derive(Subcommand, Debug)]
pub enum ProxyCommand {
    /// Renew the leaf-bound certificate `tsh config` points OpenSSH at (run by its Match exec).
    Cert {
        /// The leaf cluster.
        #[arg(long)]
        cluster: String,
    },
    /// Pipe stdin/stdout to a node's SSH port (OpenSSH's ProxyCommand): [LOGIN@]HOST:PORT
    Ssh {
        /// The cluster the node is in.
        #[arg(long)]
        cluster: Option<String>,
        /// [LOGIN@]HOST[:PORT]
        destination: String,
    },
}

/// `tsh ssh`'s arguments.
#[derive(Args, Debug)]
pub struct SshArgs {
    /// The cluster the node is in (default: the one you logged in to).
    #[arg(long)]
    pub cluster: Option<String>,
    /// The node's SSH port.
    #[arg(short = 'p', long, default_value_t = 3022)]
    pub port: u16,
    /// The Unix login (default: the first login of your certificate).
    #[arg(short = 'l', long)]
    pub login: Option<String>,
    /// Force a pseudo-terminal.
    #[arg(short = 't', conflicts_with = "no_tty")]
    pub tty: bool,
    /// Never allocate a pseudo-terminal.
    #[arg(short = 'T')]
    pub no_tty: bool,
    /// Forward a local port to HOST:HOSTPORT as seen from the node (repeatable).
    #[arg(short = 'L', value_name = "[BIND_ADDRESS:]PORT:HOST:HOSTPORT")]
    pub local_forward: Vec<String>,
    /// Forward a port on the node's loopback to HOST:HOSTPORT as seen from here (repeatable).
    #[arg(short = 'R', value_name = "[BIND_ADDRESS:]PORT:HOST:HOSTPORT")]
    pub remote_forward: Vec<String>,
    /// A local SOCKS5 proxy whose connections leave from the node (repeatable).
    #[arg(short = 'D', value_name = "[BIND_ADDRESS:]PORT")]
    pub dynamic_forward: Vec<String>,
    /// Run no command: hold the forwards until Ctrl-C or SIGTERM.
    #[arg(short = 'N', conflicts_with = "command")]
    pub no_command: bool,
    /// Forward your SSH agent (SSH_AUTH_SOCK) to the node.
    #[arg(short = 'A')]
    pub forward_agent: bool,
    /// With a label selector as HOST (key=value[,key=value]): how many nodes run the command
    /// at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_parallel: u16,
    /// [LOGIN@]HOST: a node name (or address), or key=value[,key=value] for every node
    /// with those labels.
    pub destination: String,
    /// The command; none starts a shell.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}
