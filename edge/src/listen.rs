//! The network edge: one connection lifecycle for every listener (web API, SSH relay, tunnel,
//! node).
//!
//! [`Listener::serve`] owns the accept loop and every connection task. It:
//! - accepts without pausing, sets `TCP_NODELAY`, and backs off when `accept` fails (out of
//!   file descriptors). Past [`Limits::max_connections`] a client is told why (the listener's
//!   [`Refuse`]: for SSH a disconnect message with the reason) instead of waiting in the
//!   kernel's backlog;
//! - on a node, reads the PROXY header a proxy sends ahead of SSH (`client_addr.rs`), so a
//!   relayed connection counts as the user's, apart from direct ones;
//! - gives each *unauthenticated* connection a slot of its source (`admission.rs`): at
//!   [`Limits::max_unauthenticated_per_source`] further ones wait their turn within the login
//!   grace time, in a bounded queue, so a burst of real handshakes is slowed while a silent flood
//!   holds only its own slots. Direct connections also pass random early drop ([`MaxStartups`],
//!   OpenSSH's `MaxStartups start:rate:full`), which spares sources with little pending. A
//!   connection stops counting once its handler calls [`Gate::pass`] (it authenticated), so
//!   thousands of leaf agents or users behind one NAT address still fit;
//! - closes the socket of a connection that has not passed its gate within
//!   [`Limits::login_grace_time`] (OpenSSH's `LoginGraceTime`, counted from accept). Closing is
//!   certain: the handler gets the socket wrapped in a [`Guarded`] stream;
//! - on shutdown stops accepting, lets connections finish on their own (each handler sees the
//!   shutdown signal and says goodbye: drain messages, disconnects) within
//!   [`Limits::shutdown_grace`], then kills what is left and waits for it.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use crate::admission::{Gate, Source};
use crate::admission::{NoSlot, Unauthenticated};
use crate::client_addr::{Judge, Origin};
pub use crate::guarded::{Guarded, Killer};

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

/// An accepted connection, handed to the listener's handler.
pub struct Conn {
    /// The socket (`TCP_NODELAY` set), closed for sure when the connection is killed.
    pub stream: Guarded<TcpStream>,
    /// The client's address: the socket's, or the user's address a trusted proxy vouched for.
    pub peer: SocketAddr,
    /// The proxy's socket address, when a proxy relayed the connection.
    pub via: Option<SocketAddr>,
    /// Pass it once the client authenticated.
    pub gate: Gate,
    /// Kills the connection (e.g. a session that must end now).
    pub killer: Killer,
    /// Turns true when the daemon stops: say goodbye and finish.
    pub shutdown: watch::Receiver<bool>,
}

/// How a listener tells a client why it was refused, in its protocol (the SSH listeners:
/// a key exchange and a disconnect message with the reason, which OpenSSH and `tsh` print).
pub trait Refuse: Send + Sync + 'static {
    /// Tells the client `reason`, then closes.
    fn refuse(&self, stream: Guarded<TcpStream>, reason: String) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// Refusals told at once, past which a refused connection is closed without a word.
pub const MAX_TOLD_REFUSALS: usize = 32;
/// How long telling one refusal may take.
pub const REFUSAL_TIMEOUT: Duration = Duration::from_secs(2);

/// A bound listener with its limits.
pub struct Listener {
    tcp: TcpListener,
    name: &'static str,
    limits: Limits,
    judge: Option<Arc<dyn Judge>>,
    refuser: Option<Arc<dyn Refuse>>,
}

/// Throttled logging of refused connections.
struct RefusalLog {
    name: &'static str,
    refused: AtomicU64,
    last: Mutex<Option<std::time::Instant>>,
}

impl RefusalLog {
    /// Counts a refusal and logs it unless one was logged less than [`REFUSAL_LOG_PERIOD`] ago;
    /// the count so far when it logged.
    fn refused(&self, peer: SocketAddr, why: &str) -> Option<u64> {
        self.refused_at(std::time::Instant::now(), peer, why)
    }

    fn refused_at(&self, now: std::time::Instant, peer: SocketAddr, why: &str) -> Option<u64> {
        let n = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|t| now.duration_since(t) < REFUSAL_LOG_PERIOD) {
            return None;
        }
        *last = Some(now);
        tracing::warn!(listener = self.name, %peer, refused_so_far = n, "refusing a connection: {why}");
        Some(n)
    }
}

/// What every connection task of one listener shares.
struct Shared {
    name: &'static str,
    limits: Limits,
    counts: Arc<Unauthenticated>,
    log: RefusalLog,
    judge: Option<Arc<dyn Judge>>,
    refuser: Option<Arc<dyn Refuse>>,
    /// Refusals being told.
    telling: Arc<Semaphore>,
    /// PROXY headers being read, per socket address.
    headers: crate::client_addr::InProgress,
}

impl Shared {
    /// Logs a refusal and tells the client (when the refusal budget allows), then closes.
    /// `unread_preamble`: the connection's PROXY header (if any) is still to be read past.
    async fn refuse(&self, mut stream: Guarded<TcpStream>, peer: SocketAddr, reason: String, unread_preamble: bool) {
        self.log.refused(peer, &reason);
        let (Some(refuser), Ok(_told)) = (&self.refuser, self.telling.clone().try_acquire_owned()) else {
            return;
        };
        let tell = async {
            if unread_preamble && let Some(judge) = &self.judge {
                // The client is the proxy's user: the refusal goes past the header to them.
                if crate::client_addr::read(&mut stream, peer, judge.as_ref(), &self.headers).await.is_err() {
                    return;
                }
            }
            refuser.refuse(stream, reason).await;
        };
        let _ = tokio::time::timeout(REFUSAL_TIMEOUT, tell).await;
    }
}

impl Listener {
    /// Wraps a bound socket; `name` names the listener in logs.
    pub fn new(tcp: TcpListener, name: &'static str, limits: Limits) -> Self {
        Listener { tcp, name, limits, judge: None, refuser: None }
    }

    /// Reads a PROXY header ahead of the protocol and counts a believed one by the user's
    /// address (`client_addr.rs`): for the node, which proxies connect to for their users.
    pub fn with_judge(mut self, judge: Arc<dyn Judge>) -> Self {
        self.judge = Some(judge);
        self
    }

    /// Tells refused clients why, in the listener's protocol.
    pub fn with_refusals(mut self, refuser: Arc<dyn Refuse>) -> Self {
        self.refuser = Some(refuser);
        self
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
        F: Fn(Conn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let Listener { tcp, name, limits, judge, refuser } = self;
        let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
        let shared = Arc::new(Shared {
            name,
            limits: limits.clone(),
            counts: Arc::new(Unauthenticated::default()),
            log: RefusalLog { name, refused: AtomicU64::new(0), last: Mutex::new(None) },
            judge,
            refuser,
            telling: Arc::new(Semaphore::new(MAX_TOLD_REFUSALS)),
            headers: Default::default(),
        });
        let handler = Arc::new(handler);
        let kill_all = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let mut stop = shutdown.clone();
        loop {
            let (tcp, peer) = tokio::select! {
                () = until_shutdown(&mut stop) => break,
                accepted = tcp.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        tracing::warn!(listener = name, "accept failed: {e}");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                },
                Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            };
            let _ = tcp.set_nodelay(true);
            let token = kill_all.child_token();
            let stream = Guarded::new(tcp, token.clone());
            // At the cap the client is told so, not left waiting in the kernel's backlog.
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                let shared = shared.clone();
                let reason = format!(
                    "the server is at its connection limit ({} connections, max_connections); try again later",
                    limits.max_connections
                );
                tasks.spawn(async move { shared.refuse(stream, peer, reason, true).await });
                continue;
            };
            let accepted = Accepted { stream, peer, killer: Killer(token), shutdown: shutdown.clone() };
            tasks.spawn(serve_one(shared.clone(), accepted, handler.clone(), permit));
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

/// A connection before it has its turn to authenticate.
struct Accepted {
    stream: Guarded<TcpStream>,
    peer: SocketAddr,
    killer: Killer,
    shutdown: watch::Receiver<bool>,
}

/// One connection from accept to its end: whose it is, its turn to authenticate, then the
/// handler within the login grace time (counted from accept).
async fn serve_one<F, Fut>(
    shared: Arc<Shared>,
    accepted_conn: Accepted,
    handler: Arc<F>,
    permit: tokio::sync::OwnedSemaphorePermit,
) where
    F: Fn(Conn) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let _permit = permit;
    let accepted = tokio::time::Instant::now();
    let grace = shared.limits.login_grace_time;
    let Accepted { mut stream, peer: socket_peer, killer, shutdown } = accepted_conn;
    let (peer, via) = match &shared.judge {
        None => (socket_peer, None),
        Some(judge) => {
            match crate::client_addr::read(&mut stream, socket_peer, judge.as_ref(), &shared.headers).await {
                Ok(Origin::Direct) => (socket_peer, None),
                Ok(Origin::Proxied(client)) => (client, Some(socket_peer)),
                Err(why) => return tracing::debug!(listener = shared.name, peer = %socket_peer, "closed: {why}"),
            }
        }
    };
    let source = Source { ip: peer.ip(), proxied: via.is_some() };
    // Random early drop is for direct clients; a proxy's users were admitted by its own edge.
    if !source.proxied
        && let Err(why) = admit(&shared.counts, &shared.limits, source)
    {
        shared.log.refused(socket_peer, &why);
        return;
    }
    let cap = shared.limits.max_unauthenticated_per_source;
    let patience = grace.saturating_sub(accepted.elapsed());
    match shared.counts.acquire(source, cap, patience).await {
        Ok(()) => {}
        Err(NoSlot::QueueFull) => {
            let who =
                if source.proxied { format!("{} (relayed by a proxy)", source.ip) } else { source.ip.to_string() };
            let reason = format!(
                "too many connections from {who} are waiting to authenticate ({cap} at a time, \
                 max_unauthenticated_per_source); try again later"
            );
            return shared.refuse(stream, peer, reason, false).await;
        }
        // A whole grace time in the queue: closed like any connection past its deadline (a
        // silent one would only hold a refusal's budget).
        Err(NoSlot::TimedOut) => {
            return tracing::debug!(listener = shared.name, %peer, "no slot within {grace:?}; closing");
        }
    }
    let gate = Gate::new(shared.counts.clone(), source);
    let token = killer.0.clone();
    let name = shared.name;
    let work = handler(Conn { stream, peer, via, gate: gate.clone(), killer, shutdown });
    tokio::pin!(work);
    tokio::select! {
        () = &mut work => {}
        () = gate.expired(grace.saturating_sub(accepted.elapsed())) => {
            tracing::debug!(listener = name, %peer, "not authenticated within {grace:?}; closing");
            token.cancel();
            let _ = tokio::time::timeout(KILL_WAIT, work).await;
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
fn admit(counts: &Unauthenticated, limits: &Limits, source: Source) -> Result<(), String> {
    let total = counts.total.load(Ordering::Relaxed);
    let m = limits.max_startups;
    let refused = if counts.held_by(source) < FAIR_SHARE {
        total >= m.full.saturating_mul(2)
    } else {
        roll(m.refusal_chance(total))
    };
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
            drawn(c, u32::from_le_bytes(b))
        }
    }
}

/// Whether a random `draw` falls within `chance` in 10,000.
fn drawn(chance: u32, draw: u32) -> bool {
    draw % 10_000 < chance
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
    fn a_wildcard_address_is_reached_on_loopback() {
        let at = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert_eq!(reachable(at("0.0.0.0:3080")), at("127.0.0.1:3080"));
        assert_eq!(reachable(at("[::]:3080")), at("[::1]:3080"));
        for kept in ["10.1.2.3:3080", "127.0.0.2:22", "[fe80::1]:3080", "[::1]:1"] {
            assert_eq!(reachable(at(kept)), at(kept));
        }
        assert_eq!(MaxStartups::parse("1:100:2").unwrap().rate, 100, "100% is a rate");
    }

    /// A flood of refusals writes one line per period, carrying the count so far.
    #[test]
    fn refusals_are_logged_once_per_period_with_the_count() {
        let log = RefusalLog { name: "test", refused: AtomicU64::new(0), last: Mutex::new(None) };
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let t0 = std::time::Instant::now();
        assert_eq!(log.refused_at(t0, peer, "full"), Some(1));
        assert_eq!(log.refused_at(t0, peer, "full"), None);
        assert_eq!(log.refused_at(t0 + REFUSAL_LOG_PERIOD - Duration::from_millis(1), peer, "full"), None);
        assert_eq!(log.refused_at(t0 + REFUSAL_LOG_PERIOD, peer, "full"), Some(4));
        let now = RefusalLog { name: "test", refused: AtomicU64::new(0), last: Mutex::new(None) };
        assert_eq!((now.refused(peer, "full"), now.refused(peer, "full")), (Some(1), None));
    }

    #[test]
    fn a_draw_falls_within_its_chance_exactly() {
        assert!(drawn(100, 99) && drawn(100, 10_099));
        assert!(!drawn(100, 100) && !drawn(100, 10_100) && !drawn(1, 1));
        assert!(drawn(1, 0) && !drawn(0, 0));
    }

    /// A roll comes out true about `chance` in 10,000 times (1% here: 200 of 20,000, well
    /// inside 100..400 unless the comparison is the wrong way round or exact).
    #[test]
    fn rolls_come_out_at_their_chance() {
        let hits = (0..20_000).filter(|_| roll(100)).count();
        assert!((100..400).contains(&hits), "{hits} of 20,000 at 1%");
        assert!(roll(20_000), "past certainty is certain");
    }

    #[test]
    fn early_drop_sheds_the_flooding_sources_and_spares_the_others() {
        let limits = Limits { max_startups: MaxStartups { start: 4, rate: 100, full: 8 }, ..Limits::default() };
        let c = Unauthenticated::default();
        let flood = Source::direct([127, 0, 0, 2].into());
        let user = Source::direct([127, 0, 0, 1].into());
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
        assert!(
            admit(&c, &limits, Source::direct([127, 0, 0, 9].into())).is_err(),
            "past twice FULL everyone is refused"
        );
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

    async fn from(ip: [u8; 4], addr: SocketAddr) -> TcpStream {
        let s = tokio::net::TcpSocket::new_v4().unwrap();
        s.bind(SocketAddr::from((ip, 0))).unwrap();
        s.connect(addr).await.unwrap()
    }

    async fn echoes(s: &mut TcpStream, what: &[u8], within: Duration) -> bool {
        s.write_all(what).await.unwrap();
        let mut b = vec![0u8; what.len()];
        matches!(tokio::time::timeout(within, s.read_exact(&mut b)).await, Ok(Ok(_))) && b == what
    }

    #[tokio::test]
    async fn past_the_per_source_cap_a_connection_waits_its_turn_and_others_go_first() {
        let limits = Limits {
            max_unauthenticated_per_source: 2,
            shutdown_grace: Duration::from_millis(200),
            ..Limits::default()
        };
        let (addr, stop, task) = start(limits).await;
        let mut held = vec![from([127, 0, 0, 2], addr).await, from([127, 0, 0, 2], addr).await];
        for s in &mut held {
            assert!(echoes(s, b"x", Duration::from_secs(2)).await);
        }
        let mut third = from([127, 0, 0, 2], addr).await;
        assert!(!echoes(&mut third, b"z", Duration::from_millis(300)).await, "a third of one source served at once");
        let mut other = from([127, 0, 0, 3], addr).await;
        assert!(echoes(&mut other, b"y", Duration::from_secs(2)).await, "another source is served");
        // One of the two authenticates: the third gets its slot and is served.
        assert!(echoes(&mut held[0], b"auth", Duration::from_secs(2)).await);
        let mut b = [0u8; 1];
        tokio::time::timeout(Duration::from_secs(2), third.read_exact(&mut b)).await.unwrap().unwrap();
        assert_eq!(&b, b"z", "the waiting connection was served once a slot was free");
        stop.send_replace(true);
        task.await.unwrap();
    }

    /// Writes the reason as a line.
    struct SayWhy;
    impl Refuse for SayWhy {
        fn refuse(&self, mut stream: Guarded<TcpStream>, reason: String) -> Pin<Box<dyn Future<Output = ()> + Send>> {
            Box::pin(async move {
                let _ = stream.write_all(format!("{reason}\n").as_bytes()).await;
            })
        }
    }

    async fn told(s: &mut TcpStream) -> String {
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut out)).await;
        String::from_utf8_lossy(&out).into_owned()
    }

    /// A listener (its limits, its refusals) whose handler reads until the client goes.
    async fn draining(
        limits: Limits,
        setup: impl FnOnce(Listener) -> Listener,
    ) -> (SocketAddr, watch::Sender<bool>, tokio::task::JoinHandle<()>) {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let (tx, rx) = watch::channel(false);
        let limits = Limits { shutdown_grace: Duration::from_millis(200), ..limits };
        let task = tokio::spawn(setup(Listener::new(tcp, "test", limits)).serve(rx, |conn: Conn| async move {
            let Conn { mut stream, .. } = conn;
            let mut buf = [0u8; 8];
            while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
        }));
        (addr, tx, task)
    }

    /// Early drop on the wire: past START, a direct source already holding its fair share is
    /// closed at once (not after the grace time); a source with nothing pending is served.
    #[tokio::test]
    async fn past_start_a_source_holding_its_fair_share_is_dropped_at_once() {
        let limits = Limits {
            max_startups: MaxStartups { start: 2, rate: 100, full: 100 },
            login_grace_time: Duration::from_secs(30),
            shutdown_grace: Duration::from_millis(200),
            ..Limits::default()
        };
        // What a listener reports is what it was given (the node reads its grace time from it).
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        assert_eq!(Listener::new(tcp, "test", limits.clone()).limits(), &limits);
        let (addr, stop, task) = start(limits).await;
        let _held = [from([127, 0, 0, 2], addr).await, from([127, 0, 0, 2], addr).await];
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut third = from([127, 0, 0, 2], addr).await;
        assert!(closed_by_server(&mut third, Duration::from_secs(2)).await, "early drop let the flooding source in");
        let mut user = from([127, 0, 0, 3], addr).await;
        assert!(echoes(&mut user, b"hi", Duration::from_secs(2)).await, "a quiet source was dropped");
        stop.send_replace(true);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn at_the_connection_cap_the_client_is_told_why() {
        let limits = Limits { max_connections: 3, ..Limits::default() };
        let (addr, tx, task) = draining(limits, |l| l.with_refusals(Arc::new(SayWhy))).await;
        let _served =
            [from([127, 0, 0, 2], addr).await, from([127, 0, 0, 3], addr).await, from([127, 0, 0, 4], addr).await];
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut over = from([127, 0, 0, 5], addr).await;
        let said = told(&mut over).await;
        assert!(said.starts_with("the server is at its connection limit (3 connections, max_connections)"), "{said:?}");
        tx.send_replace(true);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn a_full_queue_is_told_why() {
        let limits = Limits { max_unauthenticated_per_source: 1, ..Limits::default() };
        let (addr, tx, task) = draining(limits, |l| l.with_refusals(Arc::new(SayWhy))).await;
        let mut open = vec![from([127, 0, 0, 2], addr).await];
        for _ in 0..crate::admission::MAX_WAITING_PER_SLOT {
            open.push(from([127, 0, 0, 2], addr).await);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut extra = from([127, 0, 0, 2], addr).await;
        let said = told(&mut extra).await;
        assert!(
            said.starts_with("too many connections from 127.0.0.2 are waiting to authenticate (1 at a time"),
            "{said:?}"
        );
        tx.send_replace(true);
        task.await.unwrap();
    }

    /// Believes any header (the node's judge checks signatures; here only the counting is
    /// under test).
    struct Credulous;
    impl crate::client_addr::Judge for Credulous {
        fn judge(
            &self,
            header: Result<tether_shared::proxy_header::Header, tether_shared::proxy_header::HeaderError>,
            _socket_peer: SocketAddr,
        ) -> Result<SocketAddr, String> {
            header.map_err(|e| e.to_string())?.client.ok_or_else(|| "no address".to_string())
        }
    }

    #[tokio::test]
    async fn slow_headers_from_one_address_are_bounded() {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let (tx, rx) = watch::channel(false);
        let limits = Limits { shutdown_grace: Duration::from_millis(200), ..Limits::default() };
        let listener = Listener::new(tcp, "test", limits).with_judge(Arc::new(Credulous));
        let task = tokio::spawn(listener.serve(rx, |conn: Conn| async move {
            let Conn { mut stream, peer, .. } = conn;
            let _ = stream.write_all(format!("{peer}\n").as_bytes()).await;
            let mut buf = [0u8; 8];
            while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
        }));
        // One address starts as many headers as it may, and stalls in each.
        let mut slow = Vec::new();
        for _ in 0..crate::client_addr::MAX_HEADERS_IN_PROGRESS {
            let mut s = from([127, 0, 0, 2], addr).await;
            s.write_all(b"\r").await.unwrap();
            slow.push(s);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut one_more = from([127, 0, 0, 2], addr).await;
        one_more.write_all(b"\r").await.unwrap();
        assert!(closed_by_server(&mut one_more, Duration::from_secs(1)).await, "one more slow header was read");
        // Another address's header is read at once.
        let mut relayed = from([127, 0, 0, 3], addr).await;
        let mut header = tether_shared::proxy_header::SIGNATURE.to_vec();
        header.extend_from_slice(&[0x21, 0x11, 0, 12, 192, 0, 2, 1, 127, 0, 0, 1, 0x30, 0x39, 0x0b, 0xce]);
        relayed.write_all(&header).await.unwrap();
        let mut line = vec![0u8; 32];
        let n = tokio::time::timeout(Duration::from_secs(2), relayed.read(&mut line)).await.unwrap().unwrap();
        assert!(line[..n].starts_with(b"192.0.2.1:12345"), "{:?}", String::from_utf8_lossy(&line[..n]));
        tx.send_replace(true);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn a_proxied_client_counts_apart_from_a_flood_from_the_proxys_address() {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let (tx, rx) = watch::channel(false);
        let limits = Limits {
            max_unauthenticated_per_source: 2,
            shutdown_grace: Duration::from_millis(200),
            ..Limits::default()
        };
        let listener = Listener::new(tcp, "test", limits).with_judge(Arc::new(Credulous));
        let task = tokio::spawn(listener.serve(rx, |conn: Conn| async move {
            let Conn { mut stream, peer, via, .. } = conn;
            let _ = stream.write_all(format!("{peer} via {via:?}\n").as_bytes()).await;
            let mut buf = [0u8; 8];
            while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
        }));
        // The flood: silent connections from 127.0.0.1 hold its direct slots.
        let mut flood = Vec::new();
        for _ in 0..4 {
            flood.push(from([127, 0, 0, 1], addr).await);
        }
        tokio::time::sleep(crate::client_addr::PREAMBLE_WAIT + Duration::from_millis(200)).await;
        // A relayed user from 127.0.0.1 too (header: 192.0.2.1? no: the same address).
        let mut relayed = from([127, 0, 0, 1], addr).await;
        let mut header = tether_shared::proxy_header::SIGNATURE.to_vec();
        header.extend_from_slice(&[0x21, 0x11, 0, 12, 127, 0, 0, 1, 127, 0, 0, 1, 0xC3, 0x50, 0x0b, 0xce]);
        relayed.write_all(&header).await.unwrap();
        let mut line = vec![0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(2), relayed.read(&mut line)).await.unwrap().unwrap();
        let said = String::from_utf8_lossy(&line[..n]).into_owned();
        assert!(said.starts_with("127.0.0.1:50000 via Some(127.0.0.1:"), "{said:?}");
        tx.send_replace(true);
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
