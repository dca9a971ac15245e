//! Running a session's command or shell as the login's Unix user, with or without a PTY.
//!
//! The SSH server ([`super::sshd`]) looks the login up with [`prepare_login`], starts the
//! process with [`spawn_prepared`] and drives it with [`Running::run`], which streams
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
//!   `setgid` and `setuid` in that order (`switch_credentials`). That is the crate's one use of
//!   `unsafe` (`pre_exec`), audited: only async-signal-safe syscalls, no allocation.
//! - When the daemon does not run as root, only its own user (same uid) can be the login; any
//!   other login is refused with a clear message ([`may_run_as`]).
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

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::{Gid, Group, Pid, Uid, User, geteuid};
use russh::ChannelId;
use russh::server::Handle;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Child;
use tokio::sync::{mpsc, watch};

/// Size of one read from the child's stdout, stderr or PTY (one SSH data message at most).
pub const READ_CHUNK: usize = 32 * 1024;
/// How long PTY output is still read after the process exits (background jobs may hold it open).
pub const PTY_DRAIN: Duration = Duration::from_secs(2);
/// How many `env` requests one channel may make.
pub const MAX_ENV_VARS: usize = 64;
/// The longest value an `env` request may set.
pub const MAX_ENV_VALUE: usize = 4096;

const USER_PATH: &str = "/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games";
const ROOT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
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

/// The Unix account a session runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginUser {
    /// The login name.
    pub name: String,
    /// Its user ID.
    pub uid: u32,
    /// Its primary group ID.
    pub gid: u32,
    /// Its home directory.
    pub home: PathBuf,
    /// Its login shell (`/bin/sh` when the database has none).
    pub shell: PathBuf,
}

/// May a daemon running with effective uid `daemon_uid` start a session as the account `login_uid`?
/// Root may run as anyone; any other user only as itself.
pub fn may_run_as(daemon_uid: u32, login_uid: u32) -> bool {
    daemon_uid == 0 || daemon_uid == login_uid
}

/// A login with everything [`spawn_prepared`] needs from the user and group databases, read
/// ahead (by [`prepare_login`], on a blocking thread).
#[derive(Debug, Clone)]
pub struct PreparedLogin {
    /// The account.
    pub user: LoginUser,
    /// What the child switches to; `None` when the daemon does not run as root.
    credentials: Option<Credentials>,
    /// The group a PTY is handed to: `tty`, or the login's own group without one.
    tty_gid: u32,
}

/// The group list, gid and uid a child switches to between fork and exec.
#[derive(Debug, Clone)]
struct Credentials {
    groups: Vec<Gid>,
    gid: Gid,
    uid: Uid,
}

/// [`resolve_login`] plus the group lookups [`spawn_prepared`] needs, on a blocking thread so
/// that a slow user database does not hold up the async workers.
pub async fn prepare_login(login: &str, node: &str) -> Result<PreparedLogin, SessionError> {
    let (name, node_name) = (login.to_string(), node.to_string());
    tokio::task::spawn_blocking(move || resolve_login(&name, &node_name).map(prepare)).await.map_err(|e| {
        SessionError::Lookup { login: login.into(), node: node.into(), reason: format!("the lookup failed: {e}") }
    })?
}

/// Reads the group data for `user` (blocking: call it off the async workers).
fn prepare(user: LoginUser) -> PreparedLogin {
    if !geteuid().is_root() {
        let tty_gid = user.gid;
        return PreparedLogin { user, credentials: None, tty_gid };
    }
    let credentials = login_credentials(&user);
    let tty_gid = Group::from_name("tty").ok().flatten().map_or(user.gid, |g| g.gid.as_raw());
    PreparedLogin { user, credentials: Some(credentials), tty_gid }
}

/// Looks `login` up in the user database and checks the daemon may run as it. Blocking: async
/// code uses [`prepare_login`].
pub fn resolve_login(login: &str, node: &str) -> Result<LoginUser, SessionError> {
    let user = User::from_name(login)
        .map_err(|e| SessionError::Lookup { login: login.into(), node: node.into(), reason: e.to_string() })?
        .ok_or_else(|| SessionError::NoSuchLogin { login: login.into(), node: node.into() })?;
    let euid = geteuid();
    if !may_run_as(euid.as_raw(), user.uid.as_raw()) {
        let daemon = User::from_uid(euid).ok().flatten().map(|u| u.name).unwrap_or_else(|| euid.to_string());
        return Err(SessionError::NotPrivileged { login: login.into(), daemon, node: node.into() });
    }
    let shell = if user.shell.as_os_str().is_empty() { PathBuf::from("/bin/sh") } else { user.shell };
    Ok(LoginUser { name: user.name, uid: user.uid.as_raw(), gid: user.gid.as_raw(), home: user.dir, shell })
}

/// Whether a client may set the environment variable `name` (an `env` request).
pub fn allowed_env(name: &str) -> bool {
    matches!(name, "LANG" | "LANGUAGE" | "TERM" | "COLORTERM" | "TZ")
        || name
            .strip_prefix("LC_")
            .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
}

/// Whether `value` may be the value of an environment variable set by a client.
pub fn valid_env_value(value: &str) -> bool {
    value.len() <= MAX_ENV_VALUE && !value.contains('\0')
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
    pub data: mpsc::UnboundedReceiver<crate::node::inbound::Chunk>,
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

/// Kills the process group when dropped, unless disarmed: a session torn down early leaves no
/// process behind.
struct GroupGuard(Option<Pid>);

impl GroupGuard {
    fn signal(&self, signal: Signal) {
        if let Some(pgid) = self.0 {
            // ESRCH (the group is gone) is the only expected failure.
            let _ = killpg(pgid, signal);
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.signal(Signal::SIGKILL);
    }
}

enum Io {
    Pipes {
        stdin: tokio::process::ChildStdin,
        stdout: tokio::process::ChildStdout,
        stderr: tokio::process::ChildStderr,
    },
    Pty(pty_process::Pty),
}

/// One concurrent part of a running session (stdin, stdout or stderr).
type Part<'a> = std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// A started session process.
pub struct Running {
    child: Child,
    io: Io,
    guard: GroupGuard,
    stderr_lines: Option<StderrLines>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running").field("pid", &self.child.id()).finish_non_exhaustive()
    }
}

fn environment(user: &LoginUser, req: &SessionRequest, as_root: bool) -> Vec<(String, OsString)> {
    let mut env: Vec<(String, OsString)> =
        req.env.iter().filter(|(k, _)| allowed_env(k)).map(|(k, v)| (k.clone(), OsString::from(v))).collect();
    let path = if user.uid == 0 || (as_root && user.name == "root") { ROOT_PATH } else { USER_PATH };
    let mut fixed = vec![
        ("HOME".to_string(), user.home.clone().into_os_string()),
        ("USER".to_string(), OsString::from(&user.name)),
        ("LOGNAME".to_string(), OsString::from(&user.name)),
        ("SHELL".to_string(), user.shell.clone().into_os_string()),
        ("PATH".to_string(), OsString::from(path)),
    ];
    if let Some(pty) = &req.pty {
        fixed.push(("TERM".to_string(), OsString::from(&pty.term)));
    }
    if let Some(sock) = &req.agent_socket {
        fixed.push(("SSH_AUTH_SOCK".to_string(), sock.clone().into_os_string()));
    }
    env.retain(|(k, _)| !fixed.iter().any(|(f, _)| f == k));
    env.extend(fixed);
    env
}

/// The argv after argv0: `-c COMMAND` for exec, nothing for a login shell.
fn shell_args(req: &SessionRequest) -> Vec<String> {
    req.command.as_ref().map(|c| vec!["-c".to_string(), c.clone()]).unwrap_or_default()
}

/// argv0: the shell's path for exec, `-NAME` (a login shell) for an interactive session.
fn shell_arg0(shell: &Path, req: &SessionRequest) -> OsString {
    if req.command.is_some() {
        return shell.as_os_str().to_owned();
    }
    let name = shell.file_name().map_or_else(|| "sh".into(), |n| n.to_string_lossy().into_owned());
    OsString::from(format!("-{name}"))
}

/// The login's group list (primary and supplementary, as `initgroups` would set it), gid and
/// uid, read in the parent: `getgrouplist` reads the group database and allocates, which a
/// child between fork and exec must not do.
fn login_credentials(user: &LoginUser) -> Credentials {
    let gid = Gid::from_raw(user.gid);
    let groups = std::ffi::CString::new(user.name.clone())
        .ok()
        .and_then(|name| nix::unistd::getgrouplist(&name, gid).ok())
        .unwrap_or_else(|| vec![gid]);
    Credentials { groups, gid, uid: Uid::from_raw(user.uid) }
}

/// In the child, between fork and exec: supplementary groups, then gid, then uid (the order that
/// keeps the privilege to make each call).
fn switch_credentials(groups: &[Gid], gid: Gid, uid: Uid) -> std::io::Result<()> {
    nix::unistd::setgroups(groups)?;
    nix::unistd::setgid(gid)?;
    nix::unistd::setuid(uid)?;
    Ok(())
}

/// Makes a (non-PTY) command run as the login with its full group list.
#[allow(unsafe_code)]
fn become_login_in_child(cmd: &mut tokio::process::Command, credentials: &Credentials) {
    let Credentials { groups, gid, uid } = credentials.clone();
    // SAFETY: the closure runs between fork and exec. It only calls setgroups, setgid and
    // setuid — raw syscalls, async-signal-safe — on a group list prepared before fork, and
    // allocates nothing (errors become `io::Error` from the errno, without allocation).
    unsafe {
        cmd.pre_exec(move || switch_credentials(&groups, gid, uid));
    }
}

/// Starts the session's process as a prepared login; no database lookups.
pub fn spawn_prepared(login: &PreparedLogin, req: &SessionRequest) -> Result<Running, SessionError> {
    let user = &login.user;
    let as_root = login.credentials.is_some();
    let env = environment(user, req, as_root);
    let cwd = if user.home.is_dir() { user.home.clone() } else { PathBuf::from("/") };
    let spawn_err = |source| SessionError::Spawn { shell: user.shell.display().to_string(), source };
    // A program (subsystem) always runs on pipes.
    let (child, io) = match req.pty.as_ref().filter(|_| req.program.is_none()) {
        None => {
            let mut cmd = match &req.program {
                Some(program) => {
                    let mut cmd = tokio::process::Command::new(&program.path);
                    cmd.arg0(&program.arg0).args(&program.args);
                    cmd
                }
                None => {
                    let mut cmd = tokio::process::Command::new(&user.shell);
                    cmd.arg0(shell_arg0(&user.shell, req)).args(shell_args(req));
                    cmd
                }
            };
            cmd.env_clear()
                .envs(env)
                .current_dir(&cwd)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .process_group(0);
            if let Some(credentials) = &login.credentials {
                become_login_in_child(&mut cmd, credentials);
            }
            let mut child = cmd.spawn().map_err(spawn_err)?;
            let missing = || spawn_err(std::io::Error::other("the child's standard streams are missing"));
            let stdin = child.stdin.take().ok_or_else(missing)?;
            let stdout = child.stdout.take().ok_or_else(missing)?;
            let stderr = child.stderr.take().ok_or_else(missing)?;
            (child, Io::Pipes { stdin, stdout, stderr })
        }
        Some(spec) => {
            let pty_err = |e: pty_process::Error| SessionError::Pty(e.to_string());
            let (pty, pts) = pty_process::open().map_err(pty_err)?;
            pty.resize(spec.size.to_pty()).map_err(pty_err)?;
            if as_root {
                // Hand the terminal to the login, as login(1) does: owner, group tty, mode 0620.
                std::os::unix::fs::fchown(&pts, Some(user.uid), Some(login.tty_gid))
                    .map_err(|e| SessionError::Pty(format!("cannot hand the terminal to the login: {e}")))?;
                nix::sys::stat::fchmod(&pts, nix::sys::stat::Mode::from_bits_truncate(0o620))
                    .map_err(|e| SessionError::Pty(format!("cannot set the terminal's mode: {e}")))?;
            }
            let mut cmd = pty_process::Command::new(&user.shell)
                .arg0(shell_arg0(&user.shell, req))
                .args(shell_args(req))
                .env_clear()
                .envs(env)
                .current_dir(&cwd)
                .kill_on_drop(true);
            if let Some(credentials) = &login.credentials {
                let Credentials { groups, gid, uid } = credentials.clone();
                // SAFETY: see `become_login_in_child`: only async-signal-safe syscalls on data
                // prepared before fork, no allocation.
                #[allow(unsafe_code)]
                let with_creds = unsafe { cmd.pre_exec(move || switch_credentials(&groups, gid, uid)) };
                cmd = with_creds;
            }
            let child = cmd.spawn(pts).map_err(|e| match e {
                pty_process::Error::Io(io) => spawn_err(io),
                other => SessionError::Pty(other.to_string()),
            })?;
            (child, Io::Pty(pty))
        }
    };
    // The child leads its own process group (process_group(0), or setsid for a PTY).
    let pgid = child.id().and_then(|id| i32::try_from(id).ok()).map(Pid::from_raw);
    Ok(Running { child, io, guard: GroupGuard(pgid), stderr_lines: None })
}

pub(crate) use crate::listen::until_shutdown;

/// Copies `reader` to the channel (stdout, or extended data `ext`) in chunks of [`READ_CHUNK`].
async fn pump<R: AsyncRead + Unpin>(mut reader: R, handle: &Handle, channel: ChannelId, ext: Option<u32>) {
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        // A PTY master reports EIO once the last holder of the slave has gone: that is its EOF.
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let Some(chunk) = buf.get(..n) else { return };
        let sent = match ext {
            None => handle.data(channel, chunk.to_vec()).await.is_ok(),
            Some(code) => handle.extended_data(channel, code, chunk.to_vec()).await.is_ok(),
        };
        if !sent {
            // The connection is gone; the caller notices through its inputs.
            return;
        }
    }
}

/// Passes `reader`'s lines (cut at [`MAX_STDERR_LINE`]) to `sink` until it ends.
async fn lines<R: AsyncRead + Unpin>(reader: R, sink: StderrLines) {
    use tokio::io::AsyncBufReadExt;
    let mut reader = tokio::io::BufReader::new(reader);
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut reader).take(MAX_STDERR_LINE as u64).read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => sink(String::from_utf8_lossy(&line).trim_end().to_string()),
        }
        // The rest of a cut line is skipped, a bounded piece at a time.
        while line.last() != Some(&b'\n') {
            line.clear();
            match (&mut reader).take(MAX_STDERR_LINE as u64).read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    }
}

impl Running {
    /// Sends the program's stderr to `sink`, line by line, instead of to the client.
    pub fn with_stderr_lines(mut self, sink: StderrLines) -> Running {
        self.stderr_lines = Some(sink);
        self
    }

    /// The process ID (for logs).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Streams the process's I/O over `channel` until it has exited and its output is drained,
    /// and returns how it ended. A turned `shutdown` hangs the process group up.
    pub async fn run(
        self,
        handle: Handle,
        channel: ChannelId,
        inputs: Inputs,
        mut shutdown: watch::Receiver<bool>,
    ) -> Outcome {
        let Running { mut child, io, guard, stderr_lines } = self;
        let Inputs { mut data, mut control } = inputs;
        let (resize_tx, mut resize_rx) = mpsc::unbounded_channel::<TermSize>();
        let is_pty = matches!(io, Io::Pty(_));

        // Three concurrent parts: stdin (and PTY resizes), stdout, stderr.
        let (stdin_part, out_part, err_part): (Part<'_>, Part<'_>, Part<'_>) = match io {
            Io::Pipes { mut stdin, stdout, stderr } => (
                Box::pin(async move {
                    while let Some(chunk) = data.recv().await {
                        if stdin.write_all(&chunk.data).await.is_err() {
                            break;
                        }
                    }
                    // Dropping stdin closes the pipe: the child reads EOF.
                }),
                Box::pin(pump(stdout, &handle, channel, None)),
                match stderr_lines {
                    Some(sink) => Box::pin(lines(stderr, sink)),
                    None => Box::pin(pump(stderr, &handle, channel, Some(STDERR))),
                },
            ),
            Io::Pty(pty) => {
                let (reader, mut writer) = pty.into_split();
                (
                    Box::pin(async move {
                        let mut data_open = true;
                        loop {
                            tokio::select! {
                                chunk = data.recv(), if data_open => match chunk {
                                    // A terminal has no half-close: EOF just stops the input.
                                    None => data_open = false,
                                    Some(chunk) => {
                                        if writer.write_all(&chunk.data).await.is_err() {
                                            data_open = false;
                                        }
                                    }
                                },
                                size = resize_rx.recv() => match size {
                                    Some(size) => {
                                        if let Err(e) = writer.resize(size.to_pty()) {
                                            tracing::debug!("cannot resize the terminal: {e}");
                                        }
                                    }
                                    None => return,
                                },
                            }
                        }
                    }),
                    Box::pin(pump(reader, &handle, channel, None)),
                    Box::pin(std::future::ready(())),
                )
            }
        };
        let (mut stdin_part, mut out_part, mut err_part) = (stdin_part, out_part, err_part);

        let mut status: Option<ExitStatus> = None;
        let (mut stdin_done, mut out_done, mut err_done) = (false, false, false);
        let mut control_open = true;
        let mut shutting_down = false;
        let drain = tokio::time::sleep(Duration::MAX);
        tokio::pin!(drain);
        while status.is_none() || !out_done || !err_done {
            tokio::select! {
                () = &mut stdin_part, if !stdin_done => stdin_done = true,
                () = &mut out_part, if !out_done => out_done = true,
                () = &mut err_part, if !err_done => err_done = true,
                waited = child.wait(), if status.is_none() => {
                    match waited {
                        Ok(st) => status = Some(st),
                        Err(e) => {
                            tracing::warn!("cannot wait for the session's process: {e}");
                            status = Some(ExitStatus::from_raw(255 << 8));
                        }
                    }
                    if is_pty {
                        drain.as_mut().reset(tokio::time::Instant::now() + PTY_DRAIN);
                    }
                }
                () = &mut drain, if is_pty && status.is_some() => {
                    // Something still holds the terminal open: stop reading it.
                    out_done = true;
                }
                event = control.recv(), if control_open => match event {
                    Some(Control::Resize(size)) => { let _ = resize_tx.send(size); }
                    Some(Control::Signal(sig)) => guard.signal(sig),
                    None => {
                        // The client closed the channel: hang the session up.
                        control_open = false;
                        if status.is_none() {
                            guard.signal(Signal::SIGHUP);
                        }
                    }
                },
                () = until_shutdown(&mut shutdown), if !shutting_down => {
                    shutting_down = true;
                    guard.signal(Signal::SIGHUP);
                    guard.signal(Signal::SIGTERM);
                }
            }
        }
        drop(stdin_part);
        drop(out_part);
        drop(err_part);
        // The process has exited and its output is drained: leave whatever it left running
        // (e.g. `nohup`) alone, as OpenSSH does.
        let mut guard = guard;
        guard.0 = None;
        Outcome::from_status(status.unwrap_or_else(|| ExitStatus::from_raw(255 << 8)))
    }
}

#[cfg(test)]
mod tests {
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
