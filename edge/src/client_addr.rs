//! Whose connection this is: a listener that accepts connections relayed by proxies (the
//! node's) reads a PROXY v2 header ahead of the protocol and lets its [`Judge`] decide whether
//! to believe it. The header format and its signature are `tether_shared::proxy_header`; here
//! is only how it is read off the socket, within bounds:
//!
//! - a proxy writes its header as soon as it has connected, and SSH clients speak first too
//!   (their version line), so the listener waits at most [`PREAMBLE_WAIT`] for the first byte;
//!   a client that waits for the server's banner (`ssh-keyscan`) is served after that wait;
//! - a first byte other than `\r` is an SSH client's: nothing is consumed, and the connection
//!   is judged by its socket address;
//! - a header is read whole within [`HEADER_TIMEOUT`], at most
//!   [`MAX_HEADER`](tether_shared::proxy_header::MAX_HEADER) bytes, at most
//!   [`MAX_HEADERS_IN_PROGRESS`] at once from one socket address, and either believed or the
//!   connection is closed (the judge logs and audits why).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Duration;

use tether_shared::proxy_header::{self, Header, HeaderError, PREFIX_LEN};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::guarded::Guarded;

/// How long a node waits for a connection's first byte before it speaks first.
pub const PREAMBLE_WAIT: Duration = Duration::from_secs(1);
/// How long a started header may take to arrive whole.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// Headers being read at once from one socket address. A proxy's header arrives within a round
/// trip, so more than this in progress is a client holding connections with a slow header;
/// its further ones are closed.
pub const MAX_HEADERS_IN_PROGRESS: usize = 64;

/// The headers being read, per socket address (one per listener).
#[derive(Default)]
pub(crate) struct InProgress(Mutex<HashMap<IpAddr, usize>>);

/// One header being read; uncounted when dropped.
struct Reading<'a> {
    set: &'a InProgress,
    ip: IpAddr,
}

impl InProgress {
    fn start(&self, ip: IpAddr) -> Option<Reading<'_>> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(ip).or_insert(0);
        if *n >= MAX_HEADERS_IN_PROGRESS {
            return None;
        }
        *n += 1;
        Some(Reading { set: self, ip })
    }
}

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        let mut map = self.set.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// Decides whether to believe a PROXY header (the node checks its signature against its
/// cluster's host CA and its replay guard).
pub trait Judge: Send + Sync + 'static {
    /// The user's address the header vouches for, or why it is refused. `socket_peer` is who
    /// sent it. The judge records a refusal (log, audit) itself.
    fn judge(&self, header: Result<Header, HeaderError>, socket_peer: SocketAddr) -> Result<SocketAddr, String>;
}

/// Where a connection comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Straight from its socket's address.
    Direct,
    /// Relayed by a proxy for this client.
    Proxied(SocketAddr),
}

/// Reads a connection's preamble: `Ok(origin)`, or `Err(why)` to close it (the peer hung up,
/// or the judge refused its header).
pub(crate) async fn read(
    stream: &mut Guarded<TcpStream>,
    peer: SocketAddr,
    judge: &dyn Judge,
    in_progress: &InProgress,
) -> Result<Origin, String> {
    let mut first = [0u8; 1];
    match tokio::time::timeout(PREAMBLE_WAIT, stream.peek(&mut first)).await {
        Err(_) => return Ok(Origin::Direct),
        Ok(Ok(0)) => return Err("closed before it sent anything".into()),
        Ok(Err(e)) => return Err(format!("read failed: {e}")),
        Ok(Ok(_)) if first[0] != proxy_header::SIGNATURE[0] => return Ok(Origin::Direct),
        Ok(Ok(_)) => {}
    }
    let Some(_reading) = in_progress.start(peer.ip()) else {
        return Err(format!("{MAX_HEADERS_IN_PROGRESS} PROXY headers from its address are being read already"));
    };
    let header = match tokio::time::timeout(HEADER_TIMEOUT, read_header(stream)).await {
        Ok(Ok(header)) => header,
        Ok(Err(HeaderIo::Io(e))) => return Err(format!("closed while sending a PROXY header: {e}")),
        Ok(Err(HeaderIo::Bad(e))) => Err(e),
        Err(_) => Err(HeaderError::Malformed("not complete within 5 s")),
    };
    judge.judge(header, peer).map(Origin::Proxied)
}

enum HeaderIo {
    Io(std::io::Error),
    Bad(HeaderError),
}

async fn read_header(stream: &mut Guarded<TcpStream>) -> Result<Result<Header, HeaderError>, HeaderIo> {
    let mut prefix = [0u8; PREFIX_LEN];
    stream.read_exact(&mut prefix).await.map_err(HeaderIo::Io)?;
    let len = match proxy_header::header_len(&prefix) {
        Ok(len) => len,
        Err(e) => return Err(HeaderIo::Bad(e)),
    };
    let mut rest = vec![0u8; len.saturating_sub(PREFIX_LEN)];
    stream.read_exact(&mut rest).await.map_err(HeaderIo::Io)?;
    let mut raw = prefix.to_vec();
    raw.append(&mut rest);
    Ok(proxy_header::parse(raw))
}
