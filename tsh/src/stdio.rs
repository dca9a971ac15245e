//! `tsh`'s standard input and output as async streams. When they are pipes (bulk data:
//! `tar c | tsh ssh node tar x`, and OpenSSH's `ProxyCommand`, which talks to `tsh proxy ssh`
//! over two pipes) they are grown to [`PIPE_SIZE`] and driven by the runtime's reactor;
//! anything else (a terminal, a file) goes through tokio's blocking-thread wrappers, as before.
//! The reactor needs the pipes non-blocking; [`restore`] puts them back before `tsh` exits, so
//! a process that shares them afterwards is not surprised.

use std::os::fd::AsFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::unix::pipe;

/// The size stdin and stdout pipes are grown to (the default is 64 KiB): fewer, larger reads
/// and writes, and fewer wake-ups of the processes on the other ends.
const PIPE_SIZE: i32 = 1024 * 1024;

static STDIN_NONBLOCKING: AtomicBool = AtomicBool::new(false);
static STDOUT_NONBLOCKING: AtomicBool = AtomicBool::new(false);

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

fn grow(fd: std::os::fd::BorrowedFd<'_>) {
    let _ = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETPIPE_SZ(PIPE_SIZE));
}

/// Standard input (call inside the runtime).
pub fn stdin() -> Input {
    let pipe = std::io::stdin().as_fd().try_clone_to_owned().ok().and_then(|fd| pipe::Receiver::from_owned_fd(fd).ok());
    match pipe {
        Some(pipe) => {
            STDIN_NONBLOCKING.store(true, Ordering::Relaxed);
            grow(pipe.as_fd());
            Input::Pipe(pipe)
        }
        None => Input::Other(tokio::io::stdin()),
    }
}

/// Standard output (call inside the runtime).
pub fn stdout() -> Output {
    let pipe = std::io::stdout().as_fd().try_clone_to_owned().ok().and_then(|fd| pipe::Sender::from_owned_fd(fd).ok());
    match pipe {
        Some(pipe) => {
            STDOUT_NONBLOCKING.store(true, Ordering::Relaxed);
            grow(pipe.as_fd());
            Output::Pipe(pipe)
        }
        None => Output::Other(tokio::io::stdout()),
    }
}

/// Makes stdin and stdout blocking again if [`stdin`] or [`stdout`] made them non-blocking.
pub fn restore() {
    let (input, output) = (std::io::stdin(), std::io::stdout());
    for (flag, fd) in [(&STDIN_NONBLOCKING, input.as_fd()), (&STDOUT_NONBLOCKING, output.as_fd())] {
        if !flag.swap(false, Ordering::Relaxed) {
            continue;
        }
        if let Ok(flags) = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFL) {
            let flags = nix::fcntl::OFlag::from_bits_truncate(flags) & !nix::fcntl::OFlag::O_NONBLOCK;
            let _ = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETFL(flags));
        }
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
