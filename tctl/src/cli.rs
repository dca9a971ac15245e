//! `tctl`'s command line (clap derive), shared by `main.rs` and the completion generator.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Tether's admin tool: users, roles, join tokens, trusted and remote clusters.
#[derive(Parser, Debug)]
#[command(name = "tctl", version = tether_shared::VERSION, about)]
pub struct Cli {
    /// Connection options.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How `tctl` finds its cluster and identity.
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// The daemon's config file: use the admin identity in its data_dir.
    #[arg(short = 'c', long = "config", global = true, value_hint = clap::ValueHint::FilePath)]
    pub config: Option<PathBuf>,
    /// The daemon's data directory: use the admin identity in it.
    #[arg(long = "data-dir", global = true, value_hint = clap::ValueHint::DirPath)]
    pub data_dir: Option<PathBuf>,
    /// An identity file from `tctl auth sign`.
    #[arg(short = 'i', long = "identity", global = true, value_hint = clap::ValueHint::FilePath)]
    pub identity: Option<PathBuf>,
    /// The proxy's web address (host:port), overriding the identity's.
    #[arg(long = "proxy", alias = "auth-server", global = true)]
    pub proxy: Option<String>,
    /// Do not verify the proxy's HTTPS certificate (testing only).
    #[arg(long, global = true)]
    pub insecure: bool,
    /// Administer this leaf cluster through the root's proxy, as your root user with the
    /// leaf's role map (needs a tsh login at the root).
    #[arg(long = "cluster", global = true)]
    pub cluster: Option<String>,
}

/// Output formats of `tctl get`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// YAML documents, re-creatable with `tctl create -f`.
    Yaml,
    /// JSON.
    Json,
    /// A table.
    Text,
}

/// Resource kinds, for completion of `tctl get` and `tctl rm`.
pub const KINDS: &[&str] =
    &["role", "user", "token", "trusted_cluster", "tc", "remote_cluster", "rc", "cert_authority", "cas", "node"];

/// `tctl` commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Manage users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Manage join tokens.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Create resources from a YAML or JSON file ("-" reads stdin).
    Create {
        /// Overwrite resources that exist.
        #[arg(short = 'f', long)]
        force: bool,
        /// The file.
        #[arg(value_hint = clap::ValueHint::FilePath)]
        file: PathBuf,
    },
    /// Print resources: KIND or KIND/NAME.
    Get {
        /// What to get, e.g. user/alice, rc, tc/root.example.com.
        #[arg(value_parser = ResourceArg, hide_possible_values = true)]
        resource: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Yaml)]
        format: Format,
    },
    /// Delete a resource: KIND/NAME.
    Rm {
        /// What to delete, e.g. rc/leaf.example.com.
        #[arg(value_parser = ResourceArg, hide_possible_values = true)]
        resource: String,
    },
    /// Update a remote cluster's labels: rc/NAME --set-labels=k=v,...
    Update {
        /// The remote cluster, rc/NAME.
        #[arg(value_parser = ResourceArg, hide_possible_values = true)]
        resource: String,
        /// Labels to set (replacing the current ones), k=v comma-separated.
        #[arg(long = "set-labels")]
        set_labels: String,
    },
    /// Show the cluster and its certificate authorities.
    Status {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// Trusted cluster tools.
    #[command(subcommand, name = "trusted-cluster")]
    TrustedCluster(TrustedClusterCommand),
    /// Certificate authority operations.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Read the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Print a shell completion script.
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the version.
    Version,
}

/// `tctl trusted-cluster ...`
#[derive(Subcommand, Debug)]
pub enum TrustedClusterCommand {
    /// Show what remote roles map to under a role_map, and which rule matched (changes nothing).
    MapRoles {
        /// A trusted_cluster YAML file to test (no cluster needed).
        #[arg(long, conflicts_with = "name", value_hint = clap::ValueHint::FilePath)]
        file: Option<std::path::PathBuf>,
        /// The stored trusted cluster to test instead.
        #[arg(long)]
        name: Option<String>,
        /// The remote roles, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        roles: Vec<String>,
    },
    /// Check a trust step by step and say what is wrong and how to fix it: on a leaf, the way to
    /// ROOT (DNS, TCP, TLS, the root's answers, the tunnel login, the tunnels, the role map); on
    /// a root, with --leaf, its view of that leaf. Exits non-zero when a check fails.
    Doctor {
        /// The root (a stored trusted_cluster; optional when there is one).
        #[arg(conflicts_with_all = ["file", "leaf"])]
        root: Option<String>,
        /// A trusted_cluster YAML file to check before (or instead of) creating it.
        #[arg(short = 'f', long, conflicts_with = "leaf", value_hint = clap::ValueHint::FilePath)]
        file: Option<std::path::PathBuf>,
        /// On a root: check this leaf (its remote_cluster, CAs, status and tunnels).
        #[arg(long)]
        leaf: Option<String>,
        /// Remote roles to run through the role map, comma-separated.
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
}

/// Output formats of listings and reports (JSON: always an array or one object, as documented
/// per command).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    /// Lines for people.
    Text,
    /// JSON.
    Json,
}

/// Parses `KIND[/NAME]`, and offers the kinds to shell completion.
#[derive(Clone, Debug)]
pub struct ResourceArg;

impl clap::builder::TypedValueParser for ResourceArg {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        let text = value.to_str().ok_or_else(|| clap::Error::new(clap::error::ErrorKind::InvalidUtf8).with_cmd(cmd))?;
        text.parse::<tether_shared::resource::ResourceRef>()
            .map(|r| r.to_string())
            .map_err(|e| clap::Error::raw(clap::error::ErrorKind::InvalidValue, format!("{e}\n")).with_cmd(cmd))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(KINDS.iter().map(|k| clap::builder::PossibleValue::new(*k))))
    }
}

/// `tctl users ...`
#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// Create a user and print a one-time invite.
    Add {
        /// The user's name.
        name: String,
        /// Roles, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        roles: Vec<String>,
        /// Unix logins, comma-separated.
        #[arg(long, value_delimiter = ',')]
        logins: Vec<String>,
    },
    /// List users.
    Ls {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// Delete a user.
    Rm {
        /// The user's name.
        name: String,
    },
    /// Show what a user's roles mean for them: the logins their certificate would carry and
    /// each role's logins and label selectors with templates expanded (changes nothing).
    #[command(alias = "roles-expand")]
    Expand {
        /// The user's name.
        name: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// Clear a user's password and print a new invite.
    Reset {
        /// The user's name.
        name: String,
    },
}

/// Token types, for `--type`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenTypeArg {
    /// A leaf cluster establishing trust.
    #[value(name = "trusted_cluster")]
    TrustedCluster,
    /// A node joining.
    Node,
}

/// `tctl tokens ...`
#[derive(Subcommand, Debug)]
pub enum TokensCommand {
    /// Create a join token.
    Add {
        /// What the token lets join.
        #[arg(long = "type", value_enum)]
        token_type: TokenTypeArg,
        /// How long it is valid (e.g. 15m, 1h).
        #[arg(long, default_value = "30m")]
        ttl: String,
        /// Labels for what joins, k=v comma-separated.
        #[arg(long)]
        labels: Option<String>,
    },
    /// List join tokens.
    Ls {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// Delete a join token (the whole token or the hint `tokens ls` shows).
    Rm {
        /// The token.
        token: String,
    },
}

/// CA types, for `--type`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaTypeArg {
    /// The SSH user CA (for sshd's TrustedUserCAKeys).
    User,
    /// The SSH host CA (for known_hosts).
    Host,
    /// The cluster's TLS CA certificates, PEM (to trust the proxy's HTTPS in a browser or an
    /// OS trust store).
    Tls,
}

/// `tctl auth ...`
#[derive(Subcommand, Debug)]
pub enum AuthCommand {
    /// Write an identity file for a user (usable with tsh -i and tctl -i).
    Sign {
        /// The user.
        #[arg(long)]
        user: String,
        /// Where to write it.
        #[arg(long, short = 'o', value_hint = clap::ValueHint::FilePath)]
        out: PathBuf,
        /// Lifetime (e.g. 12h).
        #[arg(long, default_value = "12h")]
        ttl: String,
    },
    /// Print CA public keys: OpenSSH lines (user, host), or PEM certificates (tls).
    Export {
        /// Which CA.
        #[arg(long = "type", value_enum)]
        ca_type: CaTypeArg,
    },
    /// Rotate a certificate authority: by itself over a grace period, or (--manual) one phase
    /// at a time: init, update_clients, update_servers, standby; rollback before standby.
    Rotate {
        /// Which CA (all three when absent).
        #[arg(long = "type", value_enum)]
        ca_type: Option<RotateType>,
        /// Move one phase at a time (with --phase).
        #[arg(long)]
        manual: bool,
        /// The phase to move to (with --manual).
        #[arg(long, value_parser = ["init", "update_clients", "update_servers", "standby", "rollback"])]
        phase: Option<String>,
        /// How long the old key stays trusted (automatic mode; default 30h).
        #[arg(long)]
        grace_period: Option<String>,
    },
}

/// The CA `tctl auth rotate` rotates.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RotateType {
    /// The SSH user CA.
    User,
    /// The SSH host CA.
    Host,
    /// The TLS CA.
    Tls,
}

/// `tctl audit ...`
#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// List audit events.
    Ls {
        /// Only events newer than this: a duration (1h) or an RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        /// Output format and how many events (`--format`, `--limit`).
        #[command(flatten)]
        format: AuditListing,
    },
}

/// How `tctl audit ls` shows events. (It holds `--limit` beside `--format` so that the
/// subcommand's fields keep their names.)
#[derive(Args, Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditListing {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Show only the newest N events (the server's default is 1000; at most 10000).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=MAX_AUDIT_LIMIT))]
    pub limit: Option<u32>,
}

/// The largest `--limit` of `tctl audit ls` (the server's cap).
const MAX_AUDIT_LIMIT: i64 = tether_shared::api::EVENTS_MAX_LIMIT as i64;
