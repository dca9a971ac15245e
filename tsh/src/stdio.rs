//! `tsh`'s standard input and output as async streams. When they are pipes (bulk data:
//! `tar c | tsh ssh node tar x`, and OpenSSH's `ProxyCommand`, which talks to `tsh proxy ssh`
//! over two pipes) they are driven by the runtime's reactor and grown to [`PIPE_SIZE`];
//! anything else (a terminal, a file, a socket) goes through tokio's blocking-thread wrappers.
//!
//! The reactor needs non-blocking reads and writes, and `O_NONBLOCK` belongs to an open file
//! description, which a pipe's other users share (the shell that started `tsh`, a `2>&1`
//! stderr, other writers of the same pipe). So the pipe is opened again through
//! `/proc/self/fd`, which gives `tsh` a description of its own: what it sets there touches no one
//! else, and nothing needs restoring when `tsh` exits, however it exits.

use std::os::fd::{AsFd, OwnedFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::unix::pipe;

/// The size stdin and stdout pipes are grown to (the default is 64 KiB): fewer, larger reads
/// and writes, and fewer wake-ups of the processes on the other ends. A pipe already larger is
/// left alone.
const PIPE_SIZE: i32 = 1024 * 1024;

/// Standard input.
pub enum Input {
    /// A pipe, read through the reactor.
    Pipe(pipe::Receiver),
    /// Anything else.
    Other(tokio::io::Stdin),
}

/// Standard output.
pub enum Output {
    /// A pipe, written through the reactor.
    Pipe(pipe::Sender),
    /// Anything else.
    Other(tokio::io::Stdout),
}

/// File descriptor `fd` opened again with `flags`, as a description of `tsh`'s own; `None` when
/// it is not a pipe (`/proc/self/fd` reopens sockets with an error, terminals and files as such,
/// which the pipe constructors then refuse).
fn reopen(fd: i32, flags: OFlag) -> Option<OwnedFd> {
    let path = format!("/proc/self/fd/{fd}");
    nix::fcntl::open(path.as_str(), flags | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty()).ok()
}

fn grow(fd: std::os::fd::BorrowedFd<'_>) {
    if fcntl(fd, FcntlArg::F_GETPIPE_SZ).is_ok_and(|size| size < PIPE_SIZE) {
        let _ = fcntl(fd, FcntlArg::F_SETPIPE_SZ(PIPE_SIZE));
    }
}

/// Standard input (call inside the runtime).
pub fn stdin() -> Input {
    match reopen(0, OFlag::O_RDONLY).and_then(|fd| pipe::Receiver::from_owned_fd(fd).ok()) {
        Some(pipe) => {
            grow(pipe.as_fd());
            Input::Pipe(pipe)
        }
        None => Input::Other(tokio::io::stdin()),
    }
}

/// Standard output (call inside the runtime).
pub fn stdout() -> Output {
    match reopen(1, OFlag::O_WRONLY).and_then(|fd| pipe::Sender::from_owned_fd(fd).ok()) {
        Some(pipe) => {
            grow(pipe.as_fd());
            Output::Pipe(pipe)
        }
        None => Output::Other(tokio::io::stdout()),
    }
}

impl AsyncRead for Input {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Input::Pipe(p) => Pin::new(p).poll_read(cx, buf),
            Input::Other(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Output {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Output::Pipe(p) => Pin::new(p).poll_write(cx, data),
            Output::Other(s) => Pin::new(s).poll_write(cx, data),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Output::Pipe(p) => Pin::new(p).poll_flush(cx),
            Output::Other(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Output::Pipe(p) => Pin::new(p).poll_shutdown(cx),
            Output::Other(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
