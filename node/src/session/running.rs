//! A started session process: spawning it as the prepared login (with or without a PTY), the
//! copies between its stdout/stderr/PTY and the channel, stdin, window changes and signals, and
//! killing its whole process group should the session go first.

use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use russh::ChannelId;
use russh::server::Handle;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Child;
use tokio::sync::{mpsc, watch};

use super::login::{PreparedLogin, environment, prepare_pipes_child, prepare_pty_child, shell_arg0, shell_args};
use super::{
    Control, Inputs, MAX_STDERR_LINE, Outcome, PTY_DRAIN, READ_CHUNK, STDERR, SessionError, SessionRequest,
    StderrLines, TermSize,
};

/// Kills the process group when dropped, unless disarmed: a session torn down early leaves no
/// process behind.
pub(super) struct GroupGuard(Option<Pid>);

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

pub(super) enum Io {
    Pipes {
        stdin: tokio::process::ChildStdin,
        stdout: tokio::process::ChildStdout,
        stderr: tokio::process::ChildStderr,
    },
    Pty(pty_process::Pty),
}

/// One concurrent part of a running session (stdin, stdout or stderr).
pub(super) type Part<'a> = std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// A started session process.
pub struct Running {
    pub(super) child: Child,
    io: Io,
    guard: GroupGuard,
    stderr_lines: Option<StderrLines>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running").field("pid", &self.child.id()).finish_non_exhaustive()
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
            prepare_pipes_child(&mut cmd, login.credentials.as_ref());
            let mut child = cmd.spawn().map_err(spawn_err)?;
            let missing = || spawn_err(std::io::Error::other("the child's standard streams are missing"));
            let stdin = child.stdin.take().ok_or_else(missing)?;
            let stdout = child.stdout.take().ok_or_else(missing)?;
            let stderr = child.stderr.take().ok_or_else(missing)?;
            for fd in [stdin.as_fd(), stdout.as_fd()] {
                grow_pipe(fd);
            }
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
            // SSH_TTY names the terminal, as sshd sets it.
            let mut env = env;
            if let Ok(path) = std::fs::read_link(format!("/proc/self/fd/{}", pts.as_raw_fd())) {
                env.push(("SSH_TTY".to_string(), path.into_os_string()));
            }
            let cmd = pty_process::Command::new(&user.shell)
                .arg0(shell_arg0(&user.shell, req))
                .args(shell_args(req))
                .env_clear()
                .envs(env)
                .current_dir(&cwd)
                .kill_on_drop(true);
            let cmd = prepare_pty_child(cmd, login.credentials.as_ref());
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

pub(crate) use tether_edge::listen::until_shutdown;

/// The size a session's stdin and stdout pipes are grown to: bulk data then crosses in fewer,
/// larger reads and writes, with fewer wake-ups of the process and of the node (the default is
/// 64 KiB). Best effort: a system limit keeps the default.
const PIPE_SIZE: i32 = 1024 * 1024;

fn grow_pipe(fd: std::os::fd::BorrowedFd<'_>) {
    if let Err(e) = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETPIPE_SZ(PIPE_SIZE)) {
        tracing::debug!("cannot grow a session pipe: {e}");
    }
}

/// Copies `reader` to the channel (stdout, or extended data `ext`) in chunks of [`READ_CHUNK`].
pub(super) async fn pump<R: AsyncRead + Unpin>(mut reader: R, handle: &Handle, channel: ChannelId, ext: Option<u32>) {
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
pub(super) async fn lines<R: AsyncRead + Unpin>(reader: R, sink: StderrLines) {
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
