//! Running a session's command or shell as the login's Unix user, with or without a PTY.
//!
//! The SSH server ([`super::sshd`]) looks the login up with [`prepare_login`], starts the
//! process with [`spawn_prepared`] and drives it with [`Running::run`](running::Running::run), which streams
//! stdout/stderr to the channel (32 KiB reads), feeds the client's data to stdin, applies window changes and signals, and
//! returns how the process ended.
//!
//! The user and group databases (`getpwnam`, `getgrouplist`, the `tty` group) may be slow (NSS,
//! LDAP): from async code, [`prepare_login`] reads everything a session needs on a blocking
//! thread, and [`spawn_prepared`] starts the process without another lookup.
//!
//! # Running as the login
//!
//! - When the daemon runs as root, the parent reads the login's group list (`getgrouplist`, what
//!   `initgroups` would set) and the child, between `fork` and `exec`, calls `setgroups`,
//!   `setgid` and `setuid` in that order (`prepare_child`). That is the crate's only use of
//!   `unsafe` (`pre_exec`, one block per spawn path, both in `login.rs`), audited: only
//!   async-signal-safe syscalls, no allocation.
//! - In every child, before `exec`, every signal goes back to its default action: a daemon
//!   started with SIGINT, SIGQUIT or SIGHUP ignored (a script's background job, `nohup`) must
//!   not pass that on, or a client's `signal` request and the channel's hang-up would be lost.
//! - When the daemon does not run as root, only its own user (same uid) can be the login; any
//!   other login is refused with a clear message ([`may_run_as`](login::may_run_as)).
//! - The environment is cleared and rebuilt: `HOME`, `USER`, `LOGNAME`, `SHELL`, `PATH`, `TERM`
//!   (from the pty-req), `SSH_AUTH_SOCK` (agent forwarding), plus the client's `env` requests that
//!   pass [`allowed_env`]: `LANG`, `LANGUAGE`, `LC_*`, `TERM`, `COLORTERM` and `TZ`, nothing else.
//! - The working directory is the login's home (`/` when it does not exist), the program is the
//!   login's shell (`/bin/sh` when empty): `shell -c COMMAND` for exec, and a login shell (argv0
//!   `-shellname`) for an interactive shell.
//! - Without a PTY the child leads a new process group; with one, `pty-process` makes it a
//!   session leader with the PTY slave as its controlling terminal (setsid + TIOCSCTTY inside the
//!   crate). The slave is handed to the login (owner uid, group `tty`, mode 0620) when running as
//!   root. Should the session be torn down before the process ends, the whole process group is
//!   killed.
//!
//! Layout: this file holds the request and outcome types; `login.rs` the user lookup,
//! environment and credential switch; `running.rs` spawning and driving the process.

mod login;
mod running;

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::sync::mpsc;

pub use login::{LoginUser, PreparedLogin, allowed_env, prepare_login, valid_env_value};
pub use running::spawn_prepared;

pub(crate) use tether_edge::listen::until_shutdown;

/// Size of one read from the child's stdout, stderr or PTY (one SSH data message at most).
pub const READ_CHUNK: usize = 32 * 1024;
/// How long PTY output is still read after the process exits (background jobs may hold it open).
pub const PTY_DRAIN: Duration = Duration::from_secs(2);
/// How many `env` requests one channel may make.
pub const MAX_ENV_VARS: usize = 64;
/// The longest value an `env` request may set.
pub const MAX_ENV_VALUE: usize = 4096;

/// The extended-data code of stderr (RFC 4254 §5.2).
const STDERR: u32 = 1;

/// Why a session's process could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The login has no entry in the node's user database.
    #[error("login {login:?} does not exist on node {node}")]
    NoSuchLogin {
        /// The requested login.
        login: String,
        /// This node's name.
        node: String,
    },
    /// The user database could not be read.
    #[error("cannot look up login {login:?} on node {node}: {reason}")]
    Lookup {
        /// The requested login.
        login: String,
        /// This node's name.
        node: String,
        /// The system error.
        reason: String,
    },
    /// The daemon is not root and the login is another user.
    #[error(
        "node {node} runs without root privileges (as {daemon:?}), so it can only start sessions as {daemon:?}, not {login:?}"
    )]
    NotPrivileged {
        /// The requested login.
        login: String,
        /// The daemon's own user.
        daemon: String,
        /// This node's name.
        node: String,
    },
    /// A pseudo-terminal could not be allocated or set up.
    #[error("cannot allocate a terminal: {0}")]
    Pty(String),
    /// The shell could not be started.
    #[error("cannot start {shell}: {source}")]
    Spawn {
        /// The program.
        shell: String,
        /// The system error.
        source: std::io::Error,
    },
}

impl SessionError {
    /// The line shown on the client's stderr (`tether: …`), with the line ending its terminal wants.
    pub fn client_message(&self, pty: bool) -> String {
        format!("tether: {self}{}", if pty { "\r\n" } else { "\n" })
    }
}

/// Terminal size, in characters and pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TermSize {
    /// Columns.
    pub cols: u16,
    /// Rows.
    pub rows: u16,
    /// Width in pixels (0 = unknown).
    pub pix_width: u16,
    /// Height in pixels (0 = unknown).
    pub pix_height: u16,
}

impl TermSize {
    /// A size from the `u32`s of an SSH request (clamped to what a terminal can hold).
    pub fn from_ssh(cols: u32, rows: u32, pix_width: u32, pix_height: u32) -> Self {
        let clamp = |v: u32| u16::try_from(v).unwrap_or(u16::MAX);
        TermSize { cols: clamp(cols), rows: clamp(rows), pix_width: clamp(pix_width), pix_height: clamp(pix_height) }
    }

    fn to_pty(self) -> pty_process::Size {
        // A 0×0 terminal confuses full-screen programs: fall back to the classic 80×24.
        let (rows, cols) = if self.rows == 0 || self.cols == 0 { (24, 80) } else { (self.rows, self.cols) };
        pty_process::Size::new_with_pixel(rows, cols, self.pix_width, self.pix_height)
    }
}

/// A PTY request: the client's terminal type and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PtySpec {
    /// `TERM` for the session.
    pub term: String,
    /// The initial size.
    pub size: TermSize,
}

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct SessionRequest {
    /// The command for `shell -c`; `None` for an interactive login shell.
    pub command: Option<String>,
    /// A program to run directly instead of the shell (a subsystem), always on pipes.
    pub program: Option<Program>,
    /// Run on a pseudo-terminal.
    pub pty: Option<PtySpec>,
    /// Client-provided variables (already filtered with [`allowed_env`]).
    pub env: Vec<(String, String)>,
    /// The forwarded agent's socket, exported as `SSH_AUTH_SOCK`.
    pub agent_socket: Option<PathBuf>,
    /// The connection's two ends, exported as `SSH_CLIENT` and `SSH_CONNECTION` as sshd does
    /// (scripts read them, and bash sources `~/.bashrc` for commands when `SSH_CLIENT` is set).
    pub addresses: Option<Addresses>,
}

/// The two ends of the SSH connection a session runs on, as the node sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addresses {
    /// The peer (the client, or the proxy or tunnel agent that relays it).
    pub client: std::net::SocketAddr,
    /// The node's end.
    pub server: std::net::SocketAddr,
}

impl Addresses {
    /// `SSH_CLIENT`: "CLIENT_IP CLIENT_PORT SERVER_PORT".
    pub fn ssh_client(&self) -> String {
        format!("{} {} {}", self.client.ip().to_canonical(), self.client.port(), self.server.port())
    }

    /// `SSH_CONNECTION`: "CLIENT_IP CLIENT_PORT SERVER_IP SERVER_PORT".
    pub fn ssh_connection(&self) -> String {
        format!(
            "{} {} {} {}",
            self.client.ip().to_canonical(),
            self.client.port(),
            self.server.ip().to_canonical(),
            self.server.port()
        )
    }
}

/// A program a session runs instead of the login's shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// The executable.
    pub path: PathBuf,
    /// Its `argv[0]`.
    pub arg0: String,
    /// Its arguments.
    pub args: Vec<String>,
}

impl Program {
    /// The SFTP server: this very binary (`/proc/self/exe` in the child is the daemon's binary,
    /// whatever path it was started from), started as `tether sftp-server`.
    pub fn sftp_server() -> Program {
        Program { path: PathBuf::from("/proc/self/exe"), arg0: "tether-sftp".into(), args: vec!["sftp-server".into()] }
    }
}

/// Receives the lines a session's program writes on stderr, instead of the client.
pub type StderrLines = Arc<dyn Fn(String) + Send + Sync>;
/// The longest stderr line passed to [`StderrLines`] (longer lines are cut).
pub const MAX_STDERR_LINE: usize = 16 * 1024;

/// Out-of-band events for a running session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// The client's terminal changed size.
    Resize(TermSize),
    /// The client asks to deliver a signal to the process group.
    Signal(Signal),
}

/// The client's side of a running session.
#[derive(Debug)]
pub struct Inputs {
    /// Data for stdin; closed on the client's EOF.
    pub data: mpsc::UnboundedReceiver<crate::inbound::Chunk>,
    /// Window changes and signals; closed when the client closes the channel (the process group
    /// then gets SIGHUP).
    pub control: mpsc::UnboundedReceiver<Control>,
}

/// How a session's process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It exited with this status.
    Exited(u32),
    /// A signal killed it.
    Signaled {
        /// The signal's name without `SIG` (`TERM`, `KILL`, …).
        signal: String,
        /// Whether it dumped core.
        core_dumped: bool,
    },
}

impl Outcome {
    fn from_status(status: ExitStatus) -> Self {
        if let Some(code) = status.code() {
            Outcome::Exited(u32::try_from(code).unwrap_or(255))
        } else if let Some(sig) = status.signal() {
            Outcome::Signaled { signal: signal_name(sig), core_dumped: status.core_dumped() }
        } else {
            Outcome::Exited(255)
        }
    }

    /// The shell-style exit code (128 + signal number when killed by a signal).
    pub fn exit_code(&self) -> u32 {
        match self {
            Outcome::Exited(code) => *code,
            Outcome::Signaled { signal, .. } => {
                signal_from_name(signal).map_or(255, |s| 128 + u32::try_from(s as i32).unwrap_or(127))
            }
        }
    }
}

/// The name of signal number `sig` without the `SIG` prefix, as SSH's exit-signal wants it.
pub fn signal_name(sig: i32) -> String {
    Signal::try_from(sig).map_or_else(|_| format!("SIG{sig}"), |s| s.as_str().trim_start_matches("SIG").to_string())
}

/// The signal named `name` (with or without `SIG`).
pub fn signal_from_name(name: &str) -> Option<Signal> {
    let full = if name.starts_with("SIG") { name.to_string() } else { format!("SIG{name}") };
    full.parse().ok()
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;
    use std::path::Path;

    use nix::unistd::{Group, User, geteuid};

    use super::login::{USER_PATH, environment, may_run_as, resolve_login, shell_arg0, shell_args};
    use super::*;

    #[test]
    fn only_root_switches_users() {
        assert!(may_run_as(0, 0));
        assert!(may_run_as(0, 1000));
        assert!(may_run_as(1000, 1000));
        assert!(!may_run_as(1000, 0));
        assert!(!may_run_as(1000, 1001));
    }

    #[test]
    fn env_allow_list() {
        for ok in ["LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MEASUREMENT", "TERM", "COLORTERM", "TZ"] {
            assert!(allowed_env(ok), "{ok}");
        }
        for bad in ["LD_PRELOAD", "PATH", "HOME", "USER", "SHELL", "LC_", "LC_lower", "BASH_ENV", "TETHER_X", ""] {
            assert!(!allowed_env(bad), "{bad}");
        }
        assert!(valid_env_value("en_US.UTF-8"));
        assert!(!valid_env_value("a\0b"));
        assert!(!valid_env_value(&"x".repeat(MAX_ENV_VALUE + 1)));
    }

    #[test]
    fn environment_is_rebuilt_and_client_cannot_override_it() {
        let user = LoginUser {
            name: "alice".into(),
            uid: 1000,
            gid: 1000,
            home: "/home/alice".into(),
            shell: "/bin/bash".into(),
        };
        let req = SessionRequest {
            command: None,
            program: None,
            pty: Some(PtySpec { term: "xterm-256color".into(), size: TermSize::default() }),
            env: vec![
                ("LANG".into(), "C.UTF-8".into()),
                ("TERM".into(), "dumb".into()),
                ("PATH".into(), "/evil".into()),
            ],
            agent_socket: Some("/tmp/agent.sock".into()),
            addresses: Some(Addresses {
                client: "10.1.2.3:50022".parse().unwrap(),
                server: "[::ffff:10.9.8.7]:3022".parse().unwrap(),
            }),
        };
        let env = environment(&user, &req, true);
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.to_string_lossy().into_owned());
        assert_eq!(get("HOME").as_deref(), Some("/home/alice"));
        assert_eq!(get("USER").as_deref(), Some("alice"));
        assert_eq!(get("LOGNAME").as_deref(), Some("alice"));
        assert_eq!(get("SHELL").as_deref(), Some("/bin/bash"));
        assert_eq!(get("PATH").as_deref(), Some(USER_PATH));
        assert_eq!(get("TERM").as_deref(), Some("xterm-256color"));
        assert_eq!(get("LANG").as_deref(), Some("C.UTF-8"));
        assert_eq!(get("SSH_AUTH_SOCK").as_deref(), Some("/tmp/agent.sock"));
        assert_eq!(get("SSH_CLIENT").as_deref(), Some("10.1.2.3 50022 3022"));
        assert_eq!(get("SSH_CONNECTION").as_deref(), Some("10.1.2.3 50022 10.9.8.7 3022"));
        assert_eq!(env.iter().filter(|(n, _)| n == "TERM").count(), 1);
        assert_eq!(shell_arg0(Path::new("/bin/bash"), &req), OsString::from("-bash"));
        let exec = SessionRequest { command: Some("true".into()), ..SessionRequest::default() };
        assert_eq!(shell_arg0(Path::new("/bin/bash"), &exec), OsString::from("/bin/bash"));
        assert_eq!(shell_args(&exec), ["-c", "true"]);
    }

    #[test]
    fn signal_names_round_trip() {
        assert_eq!(signal_name(15), "TERM");
        assert_eq!(signal_name(9), "KILL");
        assert_eq!(signal_from_name("TERM"), Some(Signal::SIGTERM));
        assert_eq!(signal_from_name("SIGUSR2"), Some(Signal::SIGUSR2));
        assert_eq!(signal_from_name("NOPE"), None);
        assert_eq!(Outcome::Signaled { signal: "KILL".into(), core_dumped: false }.exit_code(), 137);
        assert_eq!(Outcome::Exited(7).exit_code(), 7);
    }

    #[test]
    fn missing_login_is_a_clear_error() {
        let err = resolve_login("nosuchuser-tether", "node1").unwrap_err();
        assert!(matches!(err, SessionError::NoSuchLogin { .. }), "{err}");
        assert_eq!(err.client_message(false), "tether: login \"nosuchuser-tether\" does not exist on node node1\n");
        // The daemon's own user is always a valid login.
        let me = User::from_uid(geteuid()).unwrap().unwrap();
        assert_eq!(resolve_login(&me.name, "node1").unwrap().uid, me.uid.as_raw());
        if !geteuid().is_root() {
            let err = resolve_login("root", "node1").unwrap_err();
            assert!(matches!(err, SessionError::NotPrivileged { .. }), "{err}");
        }
        let err = SessionError::NotPrivileged { login: "bob".into(), daemon: "svc".into(), node: "n1".into() };
        assert_eq!(
            err.client_message(true),
            "tether: node n1 runs without root privileges (as \"svc\"), so it can only start sessions as \"svc\", not \"bob\"\r\n"
        );
    }

    #[tokio::test]
    async fn logins_are_prepared_off_the_runtime_with_their_groups() {
        let err = prepare_login("nosuchuser-tether", "node1").await.unwrap_err();
        assert!(matches!(err, SessionError::NoSuchLogin { .. }), "{err}");
        let me = User::from_uid(geteuid()).unwrap().unwrap();
        let prepared = prepare_login(&me.name, "node1").await.unwrap();
        assert_eq!(prepared.user, resolve_login(&me.name, "node1").unwrap());
        if geteuid().is_root() {
            let creds = prepared.credentials.as_ref().expect("root reads the group list");
            assert_eq!((creds.uid, creds.gid), (me.uid, me.gid));
            assert!(creds.groups.contains(&me.gid), "{:?}", creds.groups);
            let tty = Group::from_name("tty").unwrap().map_or(me.gid.as_raw(), |g| g.gid.as_raw());
            assert_eq!(prepared.tty_gid, tty);
        } else {
            assert!(prepared.credentials.is_none());
            assert_eq!(prepared.tty_gid, me.gid.as_raw());
        }
        // A prepared login starts a session without another lookup.
        let req = SessionRequest { command: Some("echo prepared".into()), ..SessionRequest::default() };
        let mut running = spawn_prepared(&prepared, &req).unwrap();
        assert!(running.pid().is_some());
        let status = running.child.wait().await.unwrap();
        assert!(status.success(), "{status:?}");
    }

    #[test]
    fn term_size_is_clamped_and_defaulted() {
        let s = TermSize::from_ssh(100_000, 40, 0, 0);
        assert_eq!(s.cols, u16::MAX);
        assert_eq!(s.rows, 40);
    }
}
