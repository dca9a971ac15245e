//! The network edge: one connection lifecycle for every listener (web API, SSH relay, tunnel,
//! node).
//!
//! [`Listener::serve`] owns the accept loop and every connection task. It:
//! - waits for a free slot before accepting (at [`Limits::max_connections`] the loop pauses
//!   instead of accepting and dropping), backs off when `accept` fails (out of file descriptors),
//!   and sets `TCP_NODELAY` on every accepted socket;
//! - admits an *unauthenticated* connection only while its source address holds fewer than
//!   [`Limits::max_unauthenticated_per_source`] and the listener's unauthenticated total passes
//!   random early drop ([`MaxStartups`], OpenSSH's `MaxStartups start:rate:full`), so one
//!   flooding host can never take every slot from others. A connection stops counting once its
//!   handler calls [`Gate::pass`] (it authenticated), so thousands of leaf agents or users behind
//!   one NAT address still fit;
//! - closes the socket of a connection that has not passed its gate within
//!   [`Limits::login_grace_time`] (OpenSSH's `LoginGraceTime`). Closing is certain: the handler
//!   gets the socket wrapped in a [`Guarded`] stream whose reads and writes fail once the
//!   connection is killed, so a session task spawned by a library (russh runs each session in a
//!   task of its own, which outlives its handle) ends and drops the socket too;
//! - on shutdown stops accepting, lets connections finish on their own (each handler sees the
//!   shutdown signal and says goodbye: drain messages, disconnects) within
//!   [`Limits::shutdown_grace`], then kills what is left and waits for it.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// The pause after a failed `accept` (e.g. out of file descriptors), so the loop does not spin.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// A listen address as clients on this host reach it (0.0.0.0 becomes 127.0.0.1, :: becomes ::1).
pub fn reachable(addr: std::net::SocketAddr) -> std::net::SocketAddr {
    use std::net::{IpAddr, SocketAddr};
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::from(([127, 0, 0, 1], addr.port())),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::from(([0u16, 0, 0, 0, 0, 0, 0, 1], addr.port())),
        _ => addr,
    }
}

/// How long an outbound TCP dial may take: the relay to a node, the leaf agent to a target, a
/// node's port forward to its target (and a `forwarded-tcpip` channel to be confirmed).
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a killed connection's handler gets to notice before its task is dropped.
pub const KILL_WAIT: Duration = Duration::from_secs(2);
/// Refusals are logged at most once per this period per listener (a flood must not flood logs).
const REFUSAL_LOG_PERIOD: Duration = Duration::from_secs(5);

/// OpenSSH's `MaxStartups start:rate:full`: past `start` unauthenticated connections, a new
/// one is refused with probability `rate`% rising linearly to 100% at `full`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxStartups {
    /// Below this many unauthenticated connections nothing is refused.
    pub start: usize,
    /// The refusal probability (percent) at `start`.
    pub rate: u8,
    /// At this many every new unauthenticated connection is refused.
    pub full: usize,
}

impl MaxStartups {
    /// Parses `start:rate:full` (or a single number, meaning `n:100:n`).
    pub fn parse(s: &str) -> Result<MaxStartups, String> {
        let bad = || format!("max_startups {s:?} must be START:RATE:FULL (e.g. 100:30:1000) or one number");
        let parts: Vec<&str> = s.split(':').collect();
        let num = |p: &str| p.trim().parse::<usize>().map_err(|_| bad());
        let m = match parts.as_slice() {
            [one] => {
                let n = num(one)?;
                MaxStartups { start: n, rate: 100, full: n }
            }
            [start, rate, full] => {
                let rate = num(rate)?;
                if rate > 100 {
                    return Err(format!("max_startups {s:?}: RATE is a percentage (0 to 100)"));
                }
                MaxStartups { start: num(start)?, rate: rate as u8, full: num(full)? }
            }
            _ => return Err(bad()),
        };
        if m.full == 0 || m.start > m.full {
            return Err(format!("max_startups {s:?}: need 0 < START <= FULL"));
        }
        Ok(m)
    }

    /// The refusal probability, in parts per 10,000, with `current` unauthenticated connections.
    fn refusal_chance(&self, current: usize) -> u32 {
        if current < self.start {
            0
        } else if current >= self.full {
            10_000
        } else {
            let span = (self.full - self.start) as u64;
            let past = (current - self.start) as u64;
            let base = u64::from(self.rate) * 100;
            (base + (10_000 - base) * past / span.max(1)) as u32
        }
    }
}

impl std::fmt::Display for MaxStartups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.start, self.rate, self.full)
    }
}

/// The limits of one listener (`teleport.connection_limits` in the config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once; at the cap the listener stops accepting until one ends.
    pub max_connections: usize,
    /// Unauthenticated connections one source address may hold.
    pub max_unauthenticated_per_source: usize,
    /// Random early drop of unauthenticated connections.
    pub max_startups: MaxStartups,
    /// Time from accept to authentication (for the web API: the TLS handshake and the first
    /// request head); then the socket is closed.
    pub login_grace_time: Duration,
    /// On shutdown, how long connections may take to finish before they are closed.
    pub shutdown_grace: Duration,
}

/// Default of [`Limits::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 16_384;
/// Default of [`Limits::max_unauthenticated_per_source`].
pub const DEFAULT_MAX_UNAUTHENTICATED_PER_SOURCE: usize = 64;
/// Default of [`Limits::max_startups`].
pub const DEFAULT_MAX_STARTUPS: MaxStartups = MaxStartups { start: 128, rate: 30, full: 1024 };
/// Default of [`Limits::login_grace_time`].
pub const DEFAULT_LOGIN_GRACE_TIME: Duration = Duration::from_secs(30);
/// Default of [`Limits::shutdown_grace`].
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_unauthenticated_per_source: DEFAULT_MAX_UNAUTHENTICATED_PER_SOURCE,
            max_startups: DEFAULT_MAX_STARTUPS,
            login_grace_time: DEFAULT_LOGIN_GRACE_TIME,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}

/// Counts of unauthenticated connections, shared by a listener and its gates.
#[derive(Default)]
struct Unauthenticated {
    total: AtomicUsize,
    per_source: Mutex<HashMap<IpAddr, usize>>,
}

impl Unauthenticated {
    fn per_source(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.per_source.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many unauthenticated connections `ip` holds.
    fn held_by(&self, ip: IpAddr) -> usize {
        self.per_source().get(&ip).copied().unwrap_or(0)
    }

    /// Counts one more from `ip` unless it already holds `cap`.
    fn try_add(&self, ip: IpAddr, cap: usize) -> bool {
        let mut map = self.per_source();
        let n = map.entry(ip).or_insert(0);
        if *n >= cap {
            if *n == 0 {
                map.remove(&ip);
            }
            return false;
        }
        *n += 1;
        self.total.fetch_add(1, Ordering::Relaxed);
        true
    }

    fn remove(&self, ip: IpAddr) {
        let mut map = self.per_source();
        if let Some(n) = map.get_mut(&ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&ip);
            }
            self.total.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

struct GateInner {
    passed: AtomicBool,
    /// Set when the deadline no longer applies (passed, or the handler disarmed it).
    disarmed: watch::Sender<bool>,
    counts: Arc<Unauthenticated>,
    ip: IpAddr,
}

impl Drop for GateInner {
    fn drop(&mut self) {
        if !self.passed.swap(true, Ordering::AcqRel) {
            self.counts.remove(self.ip);
        }
    }
}

/// A connection's authentication gate: until [`Gate::pass`], the connection counts as
/// unauthenticated and the pre-authentication deadline runs. Cheap to clone.
#[derive(Clone)]
pub struct Gate(Arc<GateInner>);

impl Gate {
    /// The connection authenticated: it stops counting against the unauthenticated limits and
    /// the deadline stops. Idempotent.
    pub fn pass(&self) {
        if !self.0.passed.swap(true, Ordering::AcqRel) {
            self.0.counts.remove(self.0.ip);
        }
        self.0.disarmed.send_replace(true);
    }

    /// Stops the deadline while the connection keeps counting as unauthenticated (an
    /// anonymous web client whose first request arrived in time; its later requests have
    /// their own timeouts).
    pub fn disarm(&self) {
        self.0.disarmed.send_replace(true);
    }

    /// Whether [`Gate::pass`] was called.
    pub fn passed(&self) -> bool {
        self.0.passed.load(Ordering::Acquire)
    }

    /// Resolves when `grace` has run out while the gate is still armed; never otherwise.
    async fn expired(&self, grace: Duration) {
        let mut disarmed = self.0.disarmed.subscribe();
        let wait = disarmed.wait_for(|d| *d);
        if tokio::time::timeout(grace, wait).await.is_err() {
            return;
        }
        std::future::pending().await
    }
}

/// Ends a connection for sure: its [`Guarded`] stream fails every read and write from then on.
#[derive(Clone)]
pub struct Killer(CancellationToken);

impl Killer {
    /// Closes the connection.
    pub fn kill(&self) {
        self.0.cancel();
    }
}

/// A stream that fails once its connection is killed, waking whoever waits on it.
pub struct Guarded<S> {
    inner: S,
    killed: Pin<Box<WaitForCancellationFutureOwned>>,
}

impl<S> Guarded<S> {
    fn new(inner: S, token: CancellationToken) -> Self {
        Guarded { inner, killed: Box::pin(token.cancelled_owned()) }
    }

    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        match self.killed.as_mut().poll(cx) {
            Poll::Ready(()) => Err(io::Error::new(io::ErrorKind::ConnectionAborted, "connection closed by the server")),
            Poll::Pending => Ok(()),
        }
    }
}

impl Guarded<TcpStream> {
    /// The address the client connected to (this end of the socket).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.check(cx)?;
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.check(cx)?;
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check(cx)?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check(cx)?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.check(cx)?;
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// An accepted connection, handed to the listener's handler.
pub struct Conn {
    /// The socket (`TCP_NODELAY` set), closed for sure when the connection is killed.
    pub stream: Guarded<TcpStream>,
    /// The client's address.
    pub peer: SocketAddr,
    /// Pass it once the client authenticated.
    pub gate: Gate,
    /// Kills the connection (e.g. a session that must end now).
    pub killer: Killer,
    /// Turns true when the daemon stops: say goodbye and finish.
    pub shutdown: watch::Receiver<bool>,
}

/// A bound listener with its limits.
pub struct Listener {
    tcp: TcpListener,
    name: &'static str,
    limits: Limits,
}

/// Throttled logging of refused connections.
struct RefusalLog {
    name: &'static str,
    refused: AtomicU64,
    last: Mutex<Option<tokio::time::Instant>>,
}

impl RefusalLog {
    fn refused(&self, peer: SocketAddr, why: &str) {
        let n = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
        let now = tokio::time::Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_none_or(|t| now.duration_since(t) >= REFUSAL_LOG_PERIOD) {
            *last = Some(now);
            tracing::warn!(listener = self.name, %peer, refused_so_far = n, "refusing a connection: {why}");
        }
    }
}

impl Listener {
    /// Wraps a bound socket; `name` names the listener in logs.
    pub fn new(tcp: TcpListener, name: &'static str, limits: Limits) -> Self {
        Listener { tcp, name, limits }
    }

    /// The limits it applies.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    /// Accepts and serves connections with `handler` until `shutdown` turns true, then drains
    /// them (see the module docs). Returns when every connection task has ended.
    pub async fn serve<F, Fut>(self, shutdown: watch::Receiver<bool>, handler: F)
    where
        F: Fn(Conn) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let Listener { tcp, name, limits } = self;
        let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
        let counts = Arc::new(Unauthenticated::default());
        let kill_all = CancellationToken::new();
        let log = RefusalLog { name, refused: AtomicU64::new(0), last: Mutex::new(None) };
        let mut tasks = JoinSet::new();
        let mut stop = shutdown.clone();
        'accept: loop {
            // A slot first: at the cap, stop accepting (the kernel's backlog holds the rest).
            let permit = loop {
                tokio::select! {
                    () = until_shutdown(&mut stop) => break 'accept,
                    permit = slots.clone().acquire_owned() => match permit {
                        Ok(p) => break p,
                        Err(_) => break 'accept,
                    },
                    Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                }
            };
            let (tcp, peer) = loop {
                tokio::select! {
                    () = until_shutdown(&mut stop) => break 'accept,
                    accepted = tcp.accept() => match accepted {
                        Ok(pair) => break pair,
                        Err(e) => {
                            tracing::warn!(listener = name, "accept failed: {e}");
                            tokio::time::sleep(ACCEPT_BACKOFF).await;
                        }
                    },
                    Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                }
            };
            if let Err(why) = admit(&counts, &limits, peer.ip()) {
                log.refused(peer, &why);
                continue;
            }
            if !counts.try_add(peer.ip(), limits.max_unauthenticated_per_source) {
                log.refused(
                    peer,
                    &format!(
                        "its address holds {} unauthenticated connections (max_unauthenticated_per_source)",
                        limits.max_unauthenticated_per_source
                    ),
                );
                continue;
            }
            let _ = tcp.set_nodelay(true);
            let token = kill_all.child_token();
            let gate = Gate(Arc::new(GateInner {
                passed: AtomicBool::new(false),
                disarmed: watch::Sender::new(false),
                counts: counts.clone(),
                ip: peer.ip(),
            }));
            let conn = Conn {
                stream: Guarded::new(tcp, token.clone()),
                peer,
                gate: gate.clone(),
                killer: Killer(token.clone()),
                shutdown: shutdown.clone(),
            };
            let work = handler(conn);
            let grace = limits.login_grace_time;
            tasks.spawn(async move {
                let _permit = permit;
                tokio::pin!(work);
                tokio::select! {
                    () = &mut work => {}
                    () = gate.expired(grace) => {
                        tracing::debug!(listener = name, %peer, "not authenticated within {grace:?}; closing");
                        token.cancel();
                        let _ = tokio::time::timeout(KILL_WAIT, work).await;
                    }
                }
            });
        }
        drop(tcp);
        // Connections saw the same shutdown signal and are saying goodbye.
        let drain = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(limits.shutdown_grace, drain).await.is_err() {
            tracing::info!(
                listener = name,
                left = tasks.len(),
                "closing connections still open after {:?}",
                limits.shutdown_grace
            );
            kill_all.cancel();
            let drain = async { while tasks.join_next().await.is_some() {} };
            if tokio::time::timeout(KILL_WAIT, drain).await.is_err() {
                tasks.shutdown().await;
            }
        }
    }
}

/// Early drop spares a source holding fewer than this many unauthenticated connections: a
/// user (or a proxy's own hop) has one handshake in flight, a flood has many.
pub const FAIR_SHARE: usize = 2;

/// Random early drop: past `max_startups` START a new connection is refused with a rising
/// probability — unless its source holds fewer than [`FAIR_SHARE`] unauthenticated connections,
/// so a flood from some addresses does not shed everyone else's logins. Those sources are
/// refused only past twice FULL, a ceiling for floods spread over many addresses.
fn admit(counts: &Unauthenticated, limits: &Limits, ip: IpAddr) -> Result<(), String> {
    let total = counts.total.load(Ordering::Relaxed);
    let m = limits.max_startups;
    let refused =
        if counts.held_by(ip) < FAIR_SHARE { total >= m.full.saturating_mul(2) } else { roll(m.refusal_chance(total)) };
    if refused { Err(format!("{total} unauthenticated connections (max_startups {m})")) } else { Ok(()) }
}

/// The accept backlog asked of the kernel (capped by `net.core.somaxconn`): a burst of
/// reconnecting leaf agents or users queues here instead of retransmitting SYNs for seconds.
pub const BACKLOG: u32 = 4096;

/// Binds a listening socket on `addr` with [`BACKLOG`].
pub async fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Resolves once `shutdown` turns true, or its sender is gone (nobody can stop us cleanly then).
pub async fn until_shutdown(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|down| *down).await;
}

/// True with probability `chance` / 10,000.
fn roll(chance: u32) -> bool {
    use ring::rand::SecureRandom;
    match chance {
        0 => false,
        c if c >= 10_000 => true,
        c => {
            let mut b = [0u8; 4];
            // Without randomness, refuse: the listener is past `start` anyway.
            if ring::rand::SystemRandom::new().fill(&mut b).is_err() {
                return true;
            }
            u32::from_le_bytes(b) % 10_000 < c
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn max_startups_parse_and_curve() {
        let m = MaxStartups::parse("10:30:100").unwrap();
        assert_eq!(m, MaxStartups { start: 10, rate: 30, full: 100 });
        assert_eq!(m.to_string(), "10:30:100");
        assert_eq!(m.refusal_chance(9), 0);
        assert_eq!(m.refusal_chance(10), 3000);
        assert_eq!(m.refusal_chance(55), 3000 + 7000 / 2);
        assert_eq!(m.refusal_chance(100), 10_000);
        assert_eq!(MaxStartups::parse("50").unwrap(), MaxStartups { start: 50, rate: 100, full: 50 });
        for bad in ["", "1:2", "10:101:100", "100:30:10", "a:b:c", "0"] {
            assert!(MaxStartups::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(!roll(0) && roll(10_000));
    }

    #[test]
    fn early_drop_sheds_the_flooding_sources_and_spares_the_others() {
        let limits = Limits { max_startups: MaxStartups { start: 4, rate: 100, full: 8 }, ..Limits::default() };
        let c = Unauthenticated::default();
        let flood: IpAddr = [127, 0, 0, 2].into();
        let user: IpAddr = [127, 0, 0, 1].into();
        for _ in 0..6 {
            assert!(c.try_add(flood, 64));
        }
        assert!(admit(&c, &limits, flood).is_err(), "past START at rate 100 a flooding source is refused");
        assert!(admit(&c, &limits, user).is_ok(), "a source with nothing pending is admitted");
        assert!(c.try_add(user, 64) && admit(&c, &limits, user).is_ok(), "one pending handshake is a fair share");
        assert!(c.try_add(user, 64) && admit(&c, &limits, user).is_err(), "two are not, past START");
        for _ in 0..8 {
            assert!(c.try_add(flood, 64));
        }
        assert!(admit(&c, &limits, [127, 0, 0, 9].into()).is_err(), "past twice FULL everyone is refused");
    }

    #[test]
    fn unauthenticated_counts_per_source() {
        let c = Unauthenticated::default();
        let a: IpAddr = [127, 0, 0, 2].into();
        let b: IpAddr = [127, 0, 0, 3].into();
        assert!(c.try_add(a, 2) && c.try_add(a, 2));
        assert!(!c.try_add(a, 2), "third from one source refused");
        assert!(c.try_add(b, 2), "another source still admitted");
        assert_eq!(c.total.load(Ordering::Relaxed), 3);
        c.remove(a);
        c.remove(a);
        c.remove(b);
        assert_eq!(c.total.load(Ordering::Relaxed), 0);
        assert!(c.per_source().is_empty(), "no entry outlives its connections");
    }

    async fn start(limits: Limits) -> (SocketAddr, watch::Sender<bool>, tokio::task::JoinHandle<()>) {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let (tx, rx) = watch::channel(false);
        // The handler echoes; a line "auth" passes the gate.
        let task = tokio::spawn(Listener::new(tcp, "test", limits).serve(rx, |conn: Conn| async move {
            let Conn { mut stream, gate, mut shutdown, .. } = conn;
            let mut buf = [0u8; 64];
            loop {
                tokio::select! {
                    n = stream.read(&mut buf) => match n {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if buf[..n].starts_with(b"auth") { gate.pass(); }
                            if stream.write_all(&buf[..n]).await.is_err() { return; }
                        }
                    },
                    () = until_shutdown(&mut shutdown) => { let _ = stream.write_all(b"bye").await; return; }
                }
            }
        }));
        (addr, tx, task)
    }

    async fn closed_by_server(s: &mut TcpStream, within: Duration) -> bool {
        let mut buf = [0u8; 16];
        matches!(tokio::time::timeout(within, s.read(&mut buf)).await, Ok(Ok(0) | Err(_)))
    }

    #[tokio::test]
    async fn silent_clients_are_closed_and_authenticated_ones_stay() {
        let limits = Limits { login_grace_time: Duration::from_millis(300), ..Limits::default() };
        let (addr, stop, task) = start(limits).await;
        let mut silent = TcpStream::connect(addr).await.unwrap();
        let mut authed = TcpStream::connect(addr).await.unwrap();
        authed.write_all(b"auth").await.unwrap();
        let mut buf = [0u8; 4];
        authed.read_exact(&mut buf).await.unwrap();
        assert!(closed_by_server(&mut silent, Duration::from_secs(2)).await, "silent client not closed");
        authed.write_all(b"ping").await.unwrap();
        authed.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping", "an authenticated connection outlives the grace time");
        stop.send_replace(true);
        let mut bye = [0u8; 3];
        authed.read_exact(&mut bye).await.unwrap();
        assert_eq!(&bye, b"bye", "shutdown lets the handler say goodbye");
        task.await.unwrap();
    }

    #[tokio::test]
    async fn per_source_cap_refuses_one_source_not_another() {
        let limits = Limits { max_unauthenticated_per_source: 2, ..Limits::default() };
        let (addr, stop, task) = start(limits).await;
        let from = |ip: [u8; 4]| async move {
            let s = tokio::net::TcpSocket::new_v4().unwrap();
            s.bind(SocketAddr::from((ip, 0))).unwrap();
            s.connect(addr).await.unwrap()
        };
        let mut held = vec![from([127, 0, 0, 2]).await, from([127, 0, 0, 2]).await];
        for s in &mut held {
            s.write_all(b"x").await.unwrap();
            let mut b = [0u8; 1];
            s.read_exact(&mut b).await.unwrap();
        }
        let mut extra = from([127, 0, 0, 2]).await;
        assert!(closed_by_server(&mut extra, Duration::from_secs(2)).await, "third connection of one source admitted");
        let mut other = from([127, 0, 0, 3]).await;
        other.write_all(b"y").await.unwrap();
        let mut b = [0u8; 1];
        other.read_exact(&mut b).await.unwrap();
        assert_eq!(&b, b"y", "another source is served");
        stop.send_replace(true);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn shutdown_kills_what_outlives_the_grace() {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let (tx, rx) = watch::channel(false);
        let limits = Limits { shutdown_grace: Duration::from_millis(200), ..Limits::default() };
        // A handler that ignores shutdown and holds its stream.
        let task = tokio::spawn(Listener::new(tcp, "test", limits).serve(rx, |conn: Conn| async move {
            let Conn { mut stream, gate, .. } = conn;
            gate.pass();
            let mut buf = [0u8; 8];
            while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
        }));
        let mut c = TcpStream::connect(addr).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        tx.send_replace(true);
        assert!(closed_by_server(&mut c, Duration::from_secs(3)).await, "connection outlived shutdown");
        tokio::time::timeout(Duration::from_secs(3), task).await.unwrap().unwrap();
    }
}
