//! Hostile-connection load generator for `bench/flood.sh`: floods every given listener of
//! running Tether daemons at once, from several loopback source addresses (bound before
//! connect), and records for every socket when the server closed it.
//!
//! Each (target, source) pair gets `--per-source` workers; a worker opens a connection, plays one
//! hostile client until the server closes the socket, then opens the next (after a short jittered
//! pause when the server shed it at once), until `--duration` is over or `--max-conns` sockets
//! were opened. Workers alternate between two behaviours per target kind:
//! - `silent`: connect and send nothing (both kinds);
//! - `banner` (SSH ports): send `SSH-2.0-x\r\n`, then stall;
//! - `slowloris` (HTTPS ports): complete the TLS handshake, then send one byte of a request head
//!   per second, never finishing it.
//!
//! The client never closes a socket first: for each one it records the time from its last byte
//! sent (the connect, the banner, the last dribbled byte) to the server closing it (EOF or reset).
//! A socket the server has not closed `--give-up` seconds after its last byte is counted as
//! *not closed* and dropped by the client. Prints a Markdown table to stdout, progress to
//! stderr, and with `--json FILE` writes the totals for the driver.
//!
//! Usage: `flood --target NAME=ADDR=ssh|tls [--target …] --sources 2-9 --per-source 72
//! --duration 75 --ssh-deadline 10 --tls-deadline 5 --slack 2 --max-conns 200000 --json FILE`.
//! Loopback only: every target must be a 127.0.0.0/8 address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// A connection the server closed within this long after connecting was shed at accept (per-source
/// cap or random early drop), not held until its deadline.
const SHED_WITHIN: Duration = Duration::from_secs(1);
/// How long a TCP connect may take before the attempt counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The request head a slowloris client dribbles (it never reaches the blank line).
const SLOW_HEAD: &[u8] = b"GET /webapi/ping HTTP/1.1\r\nHost: localhost\r\nUser-Agent: slowloris\r\nX-a: ";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Ssh,
    Tls,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Silent,
    Banner,
    Slowloris,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Silent => "silent",
            Mode::Banner => "SSH banner, stall",
            Mode::Slowloris => "slowloris HTTPS",
        }
    }
}

struct Target {
    name: String,
    addr: SocketAddr,
    kind: Kind,
}

struct Args {
    targets: Vec<Target>,
    sources: Vec<Ipv4Addr>,
    per_source: usize,
    duration: Duration,
    ssh_deadline: Duration,
    tls_deadline: Duration,
    slack: Duration,
    give_up: Duration,
    max_conns: usize,
    json: Option<std::path::PathBuf>,
}

fn secs(s: Option<String>, what: &str) -> Result<Duration> {
    let s = s.with_context(|| format!("{what} SECONDS"))?;
    Ok(Duration::from_secs_f64(s.parse().with_context(|| format!("{what} {s:?}"))?))
}

fn args() -> Result<Args> {
    let mut a = Args {
        targets: Vec::new(),
        sources: (2..=9).map(|i| Ipv4Addr::new(127, 0, 0, i)).collect(),
        per_source: 72,
        duration: Duration::from_secs(75),
        ssh_deadline: Duration::from_secs(10),
        tls_deadline: Duration::from_secs(5),
        slack: Duration::from_secs(2),
        give_up: Duration::from_secs(20),
        max_conns: 200_000,
        json: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--target" => {
                let spec = it.next().context("--target NAME=ADDR=ssh|tls")?;
                let mut parts = spec.splitn(3, '=');
                let (Some(name), Some(addr), Some(kind)) = (parts.next(), parts.next(), parts.next()) else {
                    bail!("--target {spec:?}: want NAME=ADDR=ssh|tls");
                };
                let addr: SocketAddr = addr.parse().with_context(|| format!("--target {spec:?}"))?;
                if !addr.ip().is_loopback() {
                    bail!("--target {spec:?}: loopback addresses only");
                }
                let kind = match kind {
                    "ssh" => Kind::Ssh,
                    "tls" => Kind::Tls,
                    other => bail!("--target {spec:?}: kind {other:?} is not ssh or tls"),
                };
                a.targets.push(Target { name: name.to_string(), addr, kind });
            }
            "--sources" => {
                let s = it.next().context("--sources FIRST-LAST (last octets of 127.0.0.x)")?;
                let (lo, hi) = s.split_once('-').unwrap_or((&s, &s));
                let (lo, hi): (u8, u8) = (lo.parse()?, hi.parse()?);
                a.sources = (lo..=hi).map(|i| Ipv4Addr::new(127, 0, 0, i)).collect();
            }
            "--per-source" => a.per_source = it.next().context("--per-source N")?.parse()?,
            "--duration" => a.duration = secs(it.next(), "--duration")?,
            "--ssh-deadline" => a.ssh_deadline = secs(it.next(), "--ssh-deadline")?,
            "--tls-deadline" => a.tls_deadline = secs(it.next(), "--tls-deadline")?,
            "--slack" => a.slack = secs(it.next(), "--slack")?,
            "--give-up" => a.give_up = secs(it.next(), "--give-up")?,
            "--max-conns" => a.max_conns = it.next().context("--max-conns N")?.parse()?,
            "--json" => a.json = Some(it.next().context("--json FILE")?.into()),
            other => bail!("unknown argument {other}"),
        }
    }
    if a.targets.is_empty() || a.sources.is_empty() {
        bail!("need at least one --target and one source");
    }
    Ok(a)
}

/// What became of one hostile socket.
#[derive(Clone, Copy)]
enum Outcome {
    /// The TCP connect failed or timed out (nothing to close).
    ConnectFailed,
    /// The server closed it; `after_last` is from our last byte sent to the close, `after_connect`
    /// from the connect to the close.
    Closed { after_last: Duration, after_connect: Duration },
    /// Still open `give_up` after our last byte: dropped by the client.
    NotClosed,
}

struct Record {
    target: usize,
    mode: Mode,
    outcome: Outcome,
}

/// Shared progress counters.
#[derive(Default)]
struct Counters {
    opened: AtomicUsize,
    open_now: AtomicUsize,
    shed: AtomicUsize,
    held: AtomicUsize,
    failed: AtomicUsize,
    not_closed: AtomicUsize,
}

/// A tiny xorshift for jitter (no extra dependency).
struct Jitter(u64);

impl Jitter {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn between(&mut self, lo_ms: u64, hi_ms: u64) -> Duration {
        Duration::from_millis(lo_ms + self.next() % (hi_ms - lo_ms).max(1))
    }
}

async fn connect_from(source: Ipv4Addr, addr: SocketAddr) -> Option<TcpStream> {
    let socket = TcpSocket::new_v4().ok()?;
    socket.bind(SocketAddr::new(IpAddr::V4(source), 0)).ok()?;
    match tokio::time::timeout(CONNECT_TIMEOUT, socket.connect(addr)).await {
        Ok(Ok(s)) => Some(s),
        _ => None,
    }
}

/// Reads and discards until the server closes (EOF or error): when, or `None` at `until`.
async fn until_closed(stream: &mut (impl AsyncRead + Unpin), until: Instant) -> Option<Instant> {
    let mut buf = [0u8; 4096];
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return Some(Instant::now()),
            Ok(Ok(_)) => {}
            Err(_) => return None,
        }
    }
}

/// Plays one hostile client against `addr` until the server closes the socket.
async fn one(
    source: Ipv4Addr,
    addr: SocketAddr,
    mode: Mode,
    tls: &tokio_rustls::TlsConnector,
    give_up: Duration,
) -> Outcome {
    let Some(mut tcp) = connect_from(source, addr).await else {
        return Outcome::ConnectFailed;
    };
    let connected = Instant::now();
    let closed = |at: Instant, last: Instant| Outcome::Closed {
        after_last: at.saturating_duration_since(last),
        after_connect: at.saturating_duration_since(connected),
    };
    match mode {
        Mode::Silent => match until_closed(&mut tcp, connected + give_up).await {
            Some(at) => closed(at, connected),
            None => Outcome::NotClosed,
        },
        Mode::Banner => {
            if tcp.write_all(b"SSH-2.0-x\r\n").await.is_err() {
                return closed(Instant::now(), connected);
            }
            let last = Instant::now();
            match until_closed(&mut tcp, last + give_up).await {
                Some(at) => closed(at, last),
                None => Outcome::NotClosed,
            }
        }
        Mode::Slowloris => {
            let name = rustls::pki_types::ServerName::try_from("localhost").expect("a valid name");
            // The ClientHello goes out right after the connect; the client's Finished is its last
            // handshake flight, sent when `connect` returns.
            let mut stream = match tokio::time::timeout(give_up, tls.connect(name, tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(_)) => return closed(Instant::now(), connected),
                Err(_) => return Outcome::NotClosed,
            };
            let mut last = Instant::now();
            let mut next_byte = 0usize;
            let mut tick =
                tokio::time::interval_at(tokio::time::Instant::now() + Duration::from_secs(1), Duration::from_secs(1));
            let mut buf = [0u8; 4096];
            loop {
                let left = (last + give_up).saturating_duration_since(Instant::now());
                tokio::select! {
                    read = tokio::time::timeout(left, stream.read(&mut buf)) => match read {
                        Ok(Ok(0) | Err(_)) => return closed(Instant::now(), last),
                        Ok(Ok(_)) => {}
                        Err(_) => return Outcome::NotClosed,
                    },
                    _ = tick.tick() => {
                        let byte = SLOW_HEAD[next_byte % SLOW_HEAD.len()];
                        next_byte += 1;
                        let sent = async {
                            stream.write_all(&[byte]).await?;
                            stream.flush().await
                        };
                        if sent.await.is_err() {
                            return closed(Instant::now(), last);
                        }
                        last = Instant::now();
                    }
                }
            }
        }
    }
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn s(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Arc::new(args()?);
    let config = tether_client::client::tls_config(&tether_client::client::ServerTrust::Insecure, None)
        .map_err(|e| anyhow::anyhow!("TLS client config: {e}"))?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config));
    let counters = Arc::new(Counters::default());
    let start = Instant::now();
    let workers = args.targets.len() * args.sources.len() * args.per_source;
    eprintln!(
        "flood: {} targets x {} sources x {} workers = {workers} workers for {:?}",
        args.targets.len(),
        args.sources.len(),
        args.per_source,
        args.duration
    );

    let mut tasks = tokio::task::JoinSet::new();
    let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(std::process::id());
    for (t, target) in args.targets.iter().enumerate() {
        for &source in &args.sources {
            for w in 0..args.per_source {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let mut jitter = Jitter(seed | 1);
                let (args, counters, tls) = (args.clone(), counters.clone(), tls.clone());
                let addr = target.addr;
                let modes = match target.kind {
                    Kind::Ssh => [Mode::Silent, Mode::Banner],
                    Kind::Tls => [Mode::Silent, Mode::Slowloris],
                };
                tasks.spawn(async move {
                    let mut records = Vec::new();
                    // Spread the first connections over two seconds.
                    tokio::time::sleep(jitter.between(0, 2000)).await;
                    let mut n = w;
                    while start.elapsed() < args.duration {
                        if counters.opened.fetch_add(1, Ordering::Relaxed) >= args.max_conns {
                            break;
                        }
                        let mode = modes[n % 2];
                        n += 1;
                        counters.open_now.fetch_add(1, Ordering::Relaxed);
                        let outcome = one(source, addr, mode, &tls, args.give_up).await;
                        counters.open_now.fetch_sub(1, Ordering::Relaxed);
                        let pause = match outcome {
                            Outcome::ConnectFailed => {
                                counters.failed.fetch_add(1, Ordering::Relaxed);
                                true
                            }
                            Outcome::Closed { after_connect, .. } if after_connect < SHED_WITHIN => {
                                counters.shed.fetch_add(1, Ordering::Relaxed);
                                true
                            }
                            Outcome::Closed { .. } => {
                                counters.held.fetch_add(1, Ordering::Relaxed);
                                false
                            }
                            Outcome::NotClosed => {
                                counters.not_closed.fetch_add(1, Ordering::Relaxed);
                                false
                            }
                        };
                        records.push(Record { target: t, mode, outcome });
                        // Shed at once: come back soon (pressure stays up) but do not spin.
                        if pause {
                            tokio::time::sleep(jitter.between(100, 300)).await;
                        }
                    }
                    records
                });
            }
        }
    }

    let progress = {
        let counters = counters.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            tick.tick().await;
            loop {
                tick.tick().await;
                eprintln!(
                    "flood: {:>3.0} s  opened {:>6}  open now {:>5}  shed at once {:>6}  held to deadline {:>6}  connect failed {:>4}  not closed {:>3}",
                    start.elapsed().as_secs_f64(),
                    counters.opened.load(Ordering::Relaxed),
                    counters.open_now.load(Ordering::Relaxed),
                    counters.shed.load(Ordering::Relaxed),
                    counters.held.load(Ordering::Relaxed),
                    counters.failed.load(Ordering::Relaxed),
                    counters.not_closed.load(Ordering::Relaxed),
                );
            }
        })
    };

    let mut records = Vec::new();
    while let Some(done) = tasks.join_next().await {
        records.extend(done.context("a flood worker panicked")?);
    }
    progress.abort();
    let elapsed = start.elapsed();

    // Per target and mode: counts and the close delays of sockets held to the deadline.
    println!(
        "| listener | behaviour | opened | shed at accept (closed < {}) | held, closed by the server | last byte → close p50 / p99 / max (held) | closed later than deadline + {} | not closed after {} | connect failed |",
        s(SHED_WITHIN),
        s(args.slack),
        s(args.give_up)
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut total_late = 0usize;
    let mut total_open = 0usize;
    let mut total_closed = 0usize;
    let mut total_failed = 0usize;
    let mut worst = Duration::ZERO;
    for (t, target) in args.targets.iter().enumerate() {
        let deadline = match target.kind {
            Kind::Ssh => args.ssh_deadline,
            Kind::Tls => args.tls_deadline,
        };
        let modes = match target.kind {
            Kind::Ssh => [Mode::Silent, Mode::Banner],
            Kind::Tls => [Mode::Silent, Mode::Slowloris],
        };
        for mode in modes {
            let mine: Vec<&Record> = records.iter().filter(|r| r.target == t && r.mode == mode).collect();
            let (mut shed, mut held, mut failed, mut open, mut late) = (0, Vec::new(), 0, 0, 0);
            for r in &mine {
                match r.outcome {
                    Outcome::ConnectFailed => failed += 1,
                    Outcome::NotClosed => open += 1,
                    Outcome::Closed { after_last, after_connect } => {
                        worst = worst.max(after_last);
                        if after_last > deadline + args.slack {
                            late += 1;
                        }
                        if after_connect < SHED_WITHIN {
                            shed += 1;
                        } else {
                            held.push(after_last);
                        }
                    }
                }
            }
            held.sort();
            total_late += late;
            total_open += open;
            total_failed += failed;
            total_closed += mine.len() - failed - open;
            println!(
                "| {} ({}) | {} | {} | {} | {} | {} / {} / {} | {} | {} | {} |",
                target.name,
                target.addr,
                mode.name(),
                mine.len(),
                shed,
                held.len(),
                s(quantile(&held, 0.5)),
                s(quantile(&held, 0.99)),
                s(held.last().copied().unwrap_or_default()),
                late,
                open,
                failed
            );
        }
    }
    let total = records.len();
    println!(
        "| **all** | | **{total}** | {} | {} | worst {} | **{total_late}** | **{total_open}** | {total_failed} |",
        counters.shed.load(Ordering::Relaxed),
        counters.held.load(Ordering::Relaxed),
        s(worst)
    );
    eprintln!(
        "flood: done after {:.1} s: {total} sockets, {total_closed} closed by the server ({total_late} late), {total_open} not closed, {total_failed} connect failures",
        elapsed.as_secs_f64()
    );
    if let Some(path) = &args.json {
        let json = serde_json::json!({
            "sockets": total,
            "closed_by_server": total_closed,
            "shed_at_accept": counters.shed.load(Ordering::Relaxed),
            "held_to_deadline": counters.held.load(Ordering::Relaxed),
            "late": total_late,
            "not_closed": total_open,
            "connect_failed": total_failed,
            "worst_last_byte_to_close_s": worst.as_secs_f64(),
            "elapsed_s": elapsed.as_secs_f64(),
            "workers": workers,
        });
        std::fs::write(path, serde_json::to_string_pretty(&json)?)?;
    }
    Ok(())
}
