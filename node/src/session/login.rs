//! The login side of a session: looking the Unix user up (on a blocking thread), whether this
//! daemon may run as them, the environment a session gets, and the workspace's only `unsafe`
//! code, audited: the credential switch between `fork` and `exec` (one block per spawn path,
//! with and without a PTY).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Group, Uid, User, geteuid};

use super::{MAX_ENV_VALUE, SessionError, SessionRequest};

pub(super) const USER_PATH: &str = "/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games";
const ROOT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

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

/// A login with everything [`spawn_prepared`](super::spawn_prepared) needs from the user and group databases, read
/// ahead (by [`prepare_login`], on a blocking thread).
#[derive(Debug, Clone)]
pub struct PreparedLogin {
    /// The account.
    pub user: LoginUser,
    /// What the child switches to; `None` when the daemon does not run as root.
    pub(super) credentials: Option<Credentials>,
    /// The group a PTY is handed to: `tty`, or the login's own group without one.
    pub(super) tty_gid: u32,
}

/// The group list, gid and uid a child switches to between fork and exec.
#[derive(Debug, Clone)]
pub(super) struct Credentials {
    pub(super) groups: Vec<Gid>,
    pub(super) gid: Gid,
    pub(super) uid: Uid,
}

/// [`resolve_login`] plus the group lookups [`spawn_prepared`](super::spawn_prepared) needs, on a blocking thread so
/// that a slow user database does not hold up the async workers.
pub async fn prepare_login(login: &str, node: &str) -> Result<PreparedLogin, SessionError> {
    let (name, node_name) = (login.to_string(), node.to_string());
    tokio::task::spawn_blocking(move || resolve_login(&name, &node_name).map(prepare)).await.map_err(|e| {
        SessionError::Lookup { login: login.into(), node: node.into(), reason: format!("the lookup failed: {e}") }
    })?
}

/// Reads the group data for `user` (blocking: call it off the async workers).
pub(super) fn prepare(user: LoginUser) -> PreparedLogin {
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

pub(super) fn environment(user: &LoginUser, req: &SessionRequest, as_root: bool) -> Vec<(String, OsString)> {
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
    if let Some(addresses) = &req.addresses {
        fixed.push(("SSH_CLIENT".to_string(), addresses.ssh_client().into()));
        fixed.push(("SSH_CONNECTION".to_string(), addresses.ssh_connection().into()));
    }
    env.retain(|(k, _)| !fixed.iter().any(|(f, _)| f == k));
    env.extend(fixed);
    env
}

/// The argv after argv0: `-c COMMAND` for exec, nothing for a login shell.
pub(super) fn shell_args(req: &SessionRequest) -> Vec<String> {
    req.command.as_ref().map(|c| vec!["-c".to_string(), c.clone()]).unwrap_or_default()
}

/// argv0: the shell's path for exec, `-NAME` (a login shell) for an interactive session.
pub(super) fn shell_arg0(shell: &Path, req: &SessionRequest) -> OsString {
    if req.command.is_some() {
        return shell.as_os_str().to_owned();
    }
    let name = shell.file_name().map_or_else(|| "sh".into(), |n| n.to_string_lossy().into_owned());
    OsString::from(format!("-{name}"))
}

/// The login's group list (primary and supplementary, as `initgroups` would set it), gid and
/// uid, read in the parent: `getgrouplist` reads the group database and allocates, which a
/// child between fork and exec must not do.
pub(super) fn login_credentials(user: &LoginUser) -> Credentials {
    let gid = Gid::from_raw(user.gid);
    let groups = std::ffi::CString::new(user.name.clone())
        .ok()
        .and_then(|name| nix::unistd::getgrouplist(&name, gid).ok())
        .unwrap_or_else(|| vec![gid]);
    Credentials { groups, gid, uid: Uid::from_raw(user.uid) }
}

/// In the child, between fork and exec: every signal back to its default action, then (as root)
/// supplementary groups, gid and uid (the order that keeps the privilege to make each call).
///
/// `exec` resets caught signals but keeps ignored ones. A daemon started from a script as a
/// background job has SIGINT and SIGQUIT ignored, and one under `nohup` SIGHUP: without the reset
/// a session's process would inherit that and never die of a client's `signal` request or of the
/// hang-up that ends its channel. std already unblocks every signal in the child; this resets
/// dispositions, as sshd does.
fn prepare_child(credentials: Option<&Credentials>) -> std::io::Result<()> {
    for signal in nix::sys::signal::Signal::iterator() {
        if matches!(signal, nix::sys::signal::Signal::SIGKILL | nix::sys::signal::Signal::SIGSTOP) {
            continue;
        }
        // SAFETY: SIG_DFL installs no handler; sigaction is async-signal-safe. A failure leaves
        // that one signal as it was, which is what the session had before this reset.
        #[allow(unsafe_code)]
        let _ = unsafe { nix::sys::signal::signal(signal, nix::sys::signal::SigHandler::SigDfl) };
    }
    if let Some(Credentials { groups, gid, uid }) = credentials {
        nix::unistd::setgroups(groups)?;
        nix::unistd::setgid(*gid)?;
        nix::unistd::setuid(*uid)?;
    }
    Ok(())
}

/// Makes a (non-PTY) command start with default signal actions and, given credentials, run as the
/// login with its full group list.
#[allow(unsafe_code)]
pub(super) fn prepare_pipes_child(cmd: &mut tokio::process::Command, credentials: Option<&Credentials>) {
    let credentials = credentials.cloned();
    // SAFETY: the closure runs between fork and exec. It only calls sigaction, setgroups, setgid
    // and setuid — raw syscalls, async-signal-safe — on data prepared before fork, and allocates
    // nothing (errors become `io::Error` from the errno, without allocation).
    unsafe {
        cmd.pre_exec(move || prepare_child(credentials.as_ref()));
    }
}

/// Makes a PTY command start with default signal actions and, given credentials, run as the login
/// with its full group list.
#[allow(unsafe_code)]
pub(super) fn prepare_pty_child(cmd: pty_process::Command, credentials: Option<&Credentials>) -> pty_process::Command {
    let credentials = credentials.cloned();
    // SAFETY: as in `prepare_pipes_child`: only async-signal-safe syscalls on data prepared before
    // fork, no allocation.
    unsafe { cmd.pre_exec(move || prepare_child(credentials.as_ref())) }
}
