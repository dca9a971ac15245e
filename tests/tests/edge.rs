//! The network edge under hostile clients, on every listener of a real daemon (web API, auth
//! API, SSH proxy, tunnel listener, node): silent clients and clients that stop after the
//! banner are closed by the server within the configured deadline; one source address cannot
//! hold more than its share of unauthenticated slots (and a bounded queue behind them) while
//! another source still gets in, and an SSH client past the queue is told why; and
//! after a flood the daemon's open file descriptors come back to their baseline; the login
//! lockout's 429 says when to retry.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tether_tests::Cluster;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// The deadlines these tests configure (short, so the tests are quick).
const GRACE: Duration = Duration::from_secs(2);
/// How late after the deadline a close may come and still count.
const SLACK: Duration = Duration::from_secs(2);
/// Unauthenticated connections one source may hold in these tests.
const PER_SOURCE: usize = 4;
/// Connections that may wait per slot (`tether_edge::admission::MAX_WAITING_PER_SLOT`).
const QUEUE_PER_SLOT: usize = 16;

/// What OpenSSH's client, dialling from `source`, prints when it cannot log in at `addr`.
fn openssh_from(source: &str, addr: SocketAddr) -> String {
    let out = std::process::Command::new("ssh")
        .args(["-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-b", source])
        .args(["-o", "UserKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes", "-o", "IdentityFile=/dev/null"])
        .args(["-o", "ConnectTimeout=10", "-p", &addr.port().to_string(), "nobody@127.0.0.1", "true"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("ssh runs");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const LIMITS: &str = "    login_grace_time: 2s\n    web_request_timeout: 2s\n    max_unauthenticated_per_source: 4\n    shutdown_grace: 3s\n";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Tls,
    Ssh,
}

/// The daemon with a node, and its five listeners.
fn start() -> (Cluster, Vec<(&'static str, SocketAddr, Kind)>) {
    let cluster = Cluster::builder("edge").limits(LIMITS).node(&[]).start();
    let addr = |key: &str| {
        cluster.logged_addr(key).unwrap_or_else(|| panic!("no {key}= in the daemon's log:\n{}", cluster.log()))
    };
    let listeners = vec![
        ("web", addr("web_addr"), Kind::Tls),
        ("auth api", addr("auth_addr"), Kind::Tls),
        ("ssh proxy", addr("ssh_addr"), Kind::Ssh),
        ("tunnel", addr("tunnel_addr"), Kind::Ssh),
        ("node", cluster.node_addr(), Kind::Ssh),
    ];
    (cluster, listeners)
}

async fn connect_from(ip: [u8; 4], addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.bind(SocketAddr::from((ip, 0))).expect("bind a loopback source");
    socket.connect(addr).await.unwrap_or_else(|e| panic!("connect to {addr}: {e}"))
}

/// Reads (and discards) until the server closes; how long that took, or `None` past `limit`.
async fn closed_after(stream: &mut (impl tokio::io::AsyncRead + Unpin), limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit.saturating_sub(start.elapsed()), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => {}
            Err(_) => return None,
        }
    }
}

fn tls() -> tokio_rustls::TlsConnector {
    let config = tether_client::client::tls_config(&tether_client::client::ServerTrust::Insecure, None).unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// Whether a new connection from `ip` is served: an SSH listener sends its banner, the web API
/// completes a TLS handshake.
async fn served(ip: [u8; 4], addr: SocketAddr, kind: Kind) -> bool {
    let mut s = connect_from(ip, addr).await;
    match kind {
        Kind::Ssh => {
            let mut buf = [0u8; 8];
            matches!(tokio::time::timeout(Duration::from_secs(2), s.read_exact(&mut buf)).await, Ok(Ok(_)) if &buf == b"SSH-2.0-")
        }
        Kind::Tls => {
            let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
            matches!(tokio::time::timeout(Duration::from_secs(2), tls().connect(name, s)).await, Ok(Ok(_)))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_stalled_clients_are_closed_by_every_listener() {
    let (cluster, listeners) = tokio::task::spawn_blocking(start).await.unwrap();
    let mut cases = tokio::task::JoinSet::new();
    for (name, addr, kind) in listeners {
        // A client that connects and says nothing.
        cases.spawn(async move {
            let mut s = connect_from([127, 0, 0, 1], addr).await;
            (name, "silent", closed_after(&mut s, GRACE + SLACK + SLACK).await)
        });
        // A client that starts the protocol and stops: after the SSH banner, or after the TLS
        // handshake with half a request head (slowloris).
        cases.spawn(async move {
            let s = connect_from([127, 0, 0, 1], addr).await;
            let closed = match kind {
                Kind::Ssh => {
                    let mut s = s;
                    s.write_all(b"SSH-2.0-stalled\r\n").await.unwrap();
                    closed_after(&mut s, GRACE + SLACK + SLACK).await
                }
                Kind::Tls => {
                    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
                    let mut t = tls().connect(name, s).await.expect("TLS handshake");
                    t.write_all(b"GET /webapi/ping HTTP/1.1\r\nHost: x\r\n").await.unwrap();
                    closed_after(&mut t, GRACE + SLACK + SLACK).await
                }
            };
            (name, "after the banner", closed)
        });
    }
    while let Some(case) = cases.join_next().await {
        let (name, how, closed) = case.unwrap();
        let took =
            closed.unwrap_or_else(|| panic!("{name}: a client {how} was still open after {:?}", GRACE + SLACK * 2));
        assert!(took <= GRACE + SLACK, "{name}: a client {how} was closed only after {took:?} (deadline {GRACE:?})");
        assert!(
            took >= GRACE - Duration::from_millis(300),
            "{name}: a client {how} was closed after {took:?}, before the deadline"
        );
    }
    drop(cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_source_cannot_take_every_slot_and_fds_come_back() {
    let (cluster, listeners) = tokio::task::spawn_blocking(start).await.unwrap();
    let pid = cluster.pid().expect("running");
    let fds = move || std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let baseline = fds();

    for &(name, addr, kind) in &listeners {
        // One source fills its share and the queue behind it (a silent node client first
        // waits a second for a PROXY header)…
        let mut held = Vec::new();
        for _ in 0..PER_SOURCE * (1 + QUEUE_PER_SLOT) {
            held.push(connect_from([127, 0, 0, 2], addr).await);
        }
        tokio::time::sleep(Duration::from_millis(1300)).await;
        // …and its next connection is refused at once, with the reason when the protocol has
        // a way to say it (OpenSSH prints the SSH disconnect message).
        match kind {
            Kind::Tls => {
                let mut extra = connect_from([127, 0, 0, 2], addr).await;
                let took = closed_after(&mut extra, GRACE).await;
                assert!(
                    took.is_some_and(|t| t < Duration::from_secs(1)),
                    "{name}: a connection past the queue of one source was not refused at once ({took:?})"
                );
            }
            Kind::Ssh => {
                let said = tokio::task::spawn_blocking(move || openssh_from("127.0.0.2", addr)).await.unwrap();
                assert!(
                    said.contains(&format!(
                        "too many connections from 127.0.0.2 are waiting to authenticate ({PER_SOURCE} at a time, \
                         max_unauthenticated_per_source); try again later"
                    )),
                    "{name}: {said}"
                );
            }
        }
        // Another source still gets in.
        assert!(served([127, 0, 0, 3], addr, kind).await, "{name}: another source was not served");
        drop(held);
    }

    // A flood from eight sources on every listener at once.
    let mut flood = Vec::new();
    for &(_, addr, _) in &listeners {
        for i in 0..200u8 {
            flood.push(connect_from([127, 0, 0, 2 + i % 8], addr).await);
        }
    }
    let during = fds();
    assert!(during > baseline, "the flood should hold some descriptors ({during} vs {baseline})");
    // The client side stays open: the server must close its ends by itself.
    let deadline = Instant::now() + GRACE + SLACK + SLACK;
    let mut now = fds();
    while now > baseline && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        now = fds();
    }
    assert!(
        now <= baseline,
        "open descriptors {now} did not come back to the baseline {baseline} (during the flood {during})"
    );
    // And the daemon still serves everyone.
    for &(name, addr, kind) in &listeners {
        assert!(served([127, 0, 0, 1], addr, kind).await, "{name}: not served after the flood");
    }
    drop(flood);
    drop(cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logged_in_sessions_outlive_the_deadline() {
    let (cluster, _) = tokio::task::spawn_blocking(start).await.unwrap();
    let cluster = Arc::new(cluster);
    let c = cluster.clone();
    let out = tokio::task::spawn_blocking(move || {
        let home = c.add_user("alice", "access", "root", "correct-horse");
        let target = format!("root@{}-node", c.name);
        // Through the SSH proxy to the node: both passed their gates, so the deadline (2 s) no
        // longer applies.
        c.as_user(&home, "tsh", &["ssh", &target, "sleep 4; echo alive"], None)
    })
    .await
    .unwrap();
    assert_eq!((out.code, out.stdout.trim()), (0, "alive"), "a logged-in session was cut: {}", out.stderr);
}

/// One HTTP/1.1 request over TLS to `addr`; the response's head, lower-cased, and its body.
async fn https(addr: SocketAddr, request: &str) -> (String, String) {
    let tcp = connect_from([127, 0, 0, 1], addr).await;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut t = tls().connect(name, tcp).await.expect("TLS handshake");
    t.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), t.read_to_end(&mut raw)).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.to_ascii_lowercase(), body.to_string())
}

/// The login lockout answers 429 with `Retry-After`, as the per-source rate limits do: a
/// client knows when to try again instead of guessing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_lockout_says_when_to_retry() {
    let cluster = tokio::task::spawn_blocking(|| Cluster::builder("lockout").limits(LIMITS).start()).await.unwrap();
    let web = cluster.logged_addr("web_addr").expect("web address");
    let body = r#"{"user":"nobody","password":"wrong","public_key":"ssh-ed25519 AAAA"}"#;
    let request = format!(
        "POST /webapi/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut last = (String::new(), String::new());
    for _ in 0..6 {
        last = https(web, &request).await;
    }
    let (head, body) = last;
    assert!(head.starts_with("http/1.1 429"), "{head}\n{body}");
    assert!(head.contains("\r\nretry-after: 60"), "{head}");
    assert!(body.contains("too many failed logins for nobody"), "{body}");
    drop(cluster);
}

/// A node at its connection cap tells the user why, through the relay, instead of leaving the
/// connection in the kernel's backlog until the client gives up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_at_its_connection_cap_tells_tsh_why() {
    let cluster = tokio::task::spawn_blocking(|| {
        Cluster::builder("cap").limits("    max_connections: 8\n    login_grace_time: 20s\n").node(&[]).start()
    })
    .await
    .unwrap();
    let cluster = Arc::new(cluster);
    let c = cluster.clone();
    let home =
        tokio::task::spawn_blocking(move || c.add_user("alice", "access", "root", "correct-horse")).await.unwrap();
    let node = cluster.node_addr();
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(connect_from([127, 0, 0, 5], node).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let c = cluster.clone();
    let out = tokio::task::spawn_blocking(move || c.as_user(&home, "tsh", &["ssh", "root@cap-node", "true"], None))
        .await
        .unwrap();
    assert_ne!(out.code, 0, "the session ran on a node at its cap");
    assert!(
        out.stderr.contains(
            "node \"cap-node\" refused the connection: the server is at its connection limit (8 connections, \
             max_connections); try again later"
        ),
        "{}",
        out.stderr
    );
    drop(held);
}
