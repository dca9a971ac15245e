//! PostgreSQL backend tests against a throwaway server ([`tether_tests::postgres`]): the shared
//! conformance suite (over TLS with verify-full and a password), several hosts on one database
//! (two processes where it matters: this test binary re-run as a peer), connection failures,
//! client certificates, migration races and event pruning.

use std::io::{BufRead, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tether_tests::postgres::{self as pg, CERT_USER};
use tokio::sync::mpsc;

use super::*;
use crate::{WatchEvent, conformance};

/// A fresh database on the throwaway server (started on first use; blocking, so off the runtime).
async fn database() -> (&'static pg::Postgres, String) {
    tokio::task::spawn_blocking(|| {
        let server = pg::server();
        let db = server.fresh_database();
        (server, db)
    })
    .await
    .unwrap()
}

/// Runs SQL through psql as the superuser.
async fn psql(db: &str, sql: &str) -> String {
    let (db, sql) = (db.to_owned(), sql.to_owned());
    tokio::task::spawn_blocking(move || pg::server().psql(&db, &sql)).await.unwrap()
}

/// A backend on a fresh database, over TLS (verify-full) with password authentication.
async fn fresh() -> (Arc<dyn Backend>, String) {
    let (server, db) = database().await;
    let backend = PostgresBackend::open(&server.tls_conn_string(&db)).await.unwrap();
    (backend, db)
}

conformance::conformance_tests!(fresh);

/// Background timings for tests that want the sweeper or the pruner to run often.
fn quick() -> Options {
    Options {
        sweep_interval: Duration::from_millis(200),
        prune_interval: Duration::from_millis(200),
        ..Options::default()
    }
}

async fn next(watcher: &mut Watcher, wait: Duration) -> Event {
    match tokio::time::timeout(wait, watcher.next()).await {
        Ok(Some(WatchEvent::Event(e))) => e,
        other => panic!("expected an event under {:?} within {wait:?}, got {other:?}", watcher.prefix()),
    }
}

async fn assert_quiet(watcher: &mut Watcher, wait: Duration) {
    if let Ok(got) = tokio::time::timeout(wait, watcher.next()).await {
        panic!("unexpected {got:?} under {:?}", watcher.prefix());
    }
}

fn line_of(e: &Event) -> String {
    let kind = if e.kind == EventKind::Put { "put" } else { "delete" };
    format!("{kind} {} {}", e.item.key, e.item.revision)
}

// ---------------------------------------------------------------------------------------------
// A second process: this test binary re-run with PEER_ENV set, running `peer_process`.

/// `ROLE CONN_STRING`: makes [`peer_process`] act as a peer host; unset in a normal run.
const PEER_ENV: &str = "TETHER_PG_PEER";
/// The peer test's name as the harness knows it (the module path without the crate), so a move
/// of this module cannot leave the name stale.
fn peer_test() -> String {
    let module = module_path!().split_once("::").map_or(module_path!(), |(_, rest)| rest);
    format!("{module}::peer_process")
}
/// Starts each line the peer reports (libtest may have written part of a line before it).
const PEER_MARK: &str = "@peer: ";

/// The peer half of the two-process tests; a no-op in a normal test run. Roles: `watch` prints
/// `EVENT put|delete KEY REVISION` for every event under `/x/`; `cas` waits for `GO` on stdin, then
/// runs compare-and-swap increments on `/counter` and prints `DONE N`. Exits when stdin closes
/// (its parent is gone).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_process() {
    let Ok(spec) = std::env::var(PEER_ENV) else { return };
    let (role, conn) = spec.split_once(' ').unwrap();
    let backend: Arc<dyn Backend> = PostgresBackend::open(conn).await.unwrap();
    let (lines_tx, mut lines) = mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            let _ = lines_tx.send(line);
        }
        std::process::exit(0);
    });
    match role {
        "watch" => {
            let mut watcher = backend.watch("/x/");
            println!("{PEER_MARK}READY");
            while let Some(got) = watcher.next().await {
                match got {
                    WatchEvent::Event(e) => println!("{PEER_MARK}EVENT {}", line_of(&e)),
                    other => println!("{PEER_MARK}OTHER {other:?}"),
                }
            }
        }
        "cas" => {
            println!("{PEER_MARK}READY");
            assert_eq!(lines.recv().await.as_deref(), Some("GO"));
            let won = conformance::cas_increments(backend.clone(), "/counter", 4, 50).await;
            println!("{PEER_MARK}DONE {won}");
            let _ = lines.recv().await;
        }
        other => panic!("unknown peer role {other}"),
    }
}

/// A peer process and the lines it reports (what follows [`PEER_MARK`]; libtest's own output is
/// dropped). Killed when dropped.
struct Peer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<String>,
}

impl Peer {
    async fn start(role: &str, conn: &str) -> Peer {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", &peer_test(), "--nocapture", "--test-threads=1"])
            .env(PEER_ENV, format!("{role} {conn}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some((_, report)) = line.split_once(PEER_MARK)
                    && tx.send(report.to_owned()).is_err()
                {
                    break;
                }
            }
        });
        let mut peer = Peer { stdin: child.stdin.take(), child, lines };
        assert_eq!(peer.line(Duration::from_secs(30)).await, "READY");
        peer
    }

    async fn line(&mut self, wait: Duration) -> String {
        match tokio::time::timeout(wait, self.lines.recv()).await {
            Ok(Some(line)) => line,
            Ok(None) => panic!("the peer process ended"),
            Err(_) => panic!("no line from the peer process within {wait:?}"),
        }
    }

    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stdin.take();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A write through this process reaches a watcher in another process within a second, and a
/// burst of writes arrives complete and in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_watch_in_order_within_a_second() {
    let (server, db) = database().await;
    let conn = server.conn_string(&db);
    let a: Arc<dyn Backend> = PostgresBackend::open(&conn).await.unwrap();
    let mut peer = Peer::start("watch", &conn).await;

    // Round trips: each write is seen by the other process within a second.
    let mut worst = Duration::ZERO;
    for i in 0..20 {
        let started = Instant::now();
        let rev = a.put(&format!("/x/one/{i}"), b"v".to_vec(), None).await.unwrap();
        assert_eq!(peer.line(Duration::from_secs(1)).await, format!("EVENT put /x/one/{i} {rev}"));
        worst = worst.max(started.elapsed());
    }

    // A burst of puts, overwrites, deletes and writes outside the prefix.
    let mut expected = Vec::new();
    for i in 0..300 {
        let key = format!("/x/burst/{}", i % 50);
        if i % 7 == 3 {
            if let Some(item) = a.get(&key).await.unwrap() {
                assert!(a.delete(&key).await.unwrap());
                expected.push(format!("EVENT delete {key} {}", item.revision));
            }
        } else {
            let rev = a.put(&key, vec![1], None).await.unwrap();
            expected.push(format!("EVENT put {key} {rev}"));
        }
        a.put("/y/elsewhere", Vec::new(), None).await.unwrap();
    }
    let done = Instant::now();
    let mut seen = Vec::new();
    while seen.len() < expected.len() {
        let left = Duration::from_secs(1).saturating_sub(done.elapsed());
        seen.push(peer.line(left.max(Duration::from_millis(1))).await);
    }
    assert_eq!(seen, expected);
    println!(
        "cross-process watch: worst round trip {worst:?}, burst of {} drained {:?} after the last write",
        expected.len(),
        done.elapsed()
    );
    a.close().await;
}

/// Compare-and-swap increments from two processes at once: the counter equals the successes of
/// both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_compare_and_swap() {
    let (server, db) = database().await;
    let conn = server.conn_string(&db);
    let a: Arc<dyn Backend> = PostgresBackend::open(&conn).await.unwrap();
    a.put("/counter", b"0".to_vec(), None).await.unwrap();
    let mut peer = Peer::start("cas", &conn).await;
    peer.send("GO");
    let mine = conformance::cas_increments(a.clone(), "/counter", 4, 50).await;
    let line = peer.line(Duration::from_secs(60)).await;
    let theirs: u64 = line.strip_prefix("DONE ").unwrap_or_else(|| panic!("peer said {line}")).parse().unwrap();
    assert!(mine > 0 && theirs > 0, "mine {mine}, theirs {theirs}");
    assert_eq!(conformance::counter(&a, "/counter").await, mine + theirs);
    a.close().await;
}

// ---------------------------------------------------------------------------------------------
// Several backends in this process (each with its own pool and LISTEN connection).

/// Killing a backend's LISTEN connection (twice) while another host writes loses no event: the
/// listener reconnects and catches up from its last revision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_resumes_after_listen_connection_killed() {
    let (server, db) = database().await;
    let conn = server.conn_string(&db);
    // No periodic reads: only the reconnection can recover what the dead connection missed.
    let slow = Options { poll_interval: Duration::from_secs(3600), ..Options::default() };
    let a = PostgresBackend::open_with(&conn, slow).await.unwrap();
    let b: Arc<dyn Backend> = PostgresBackend::open(&conn).await.unwrap();
    let mut watcher = a.watch("/r/");

    let writer = {
        let b = b.clone();
        tokio::spawn(async move {
            let mut revisions = Vec::new();
            for i in 0..100 {
                revisions.push(b.put(&format!("/r/{i:03}"), Vec::new(), None).await.unwrap());
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            revisions
        })
    };
    let kill = format!(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '{}'",
        a.listen_name()
    );
    let alive = format!("SELECT count(*) FROM pg_stat_activity WHERE application_name = '{}'", a.listen_name());
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(psql(&db, &kill).await, "1", "one LISTEN connection to kill");
        let deadline = Instant::now() + Duration::from_secs(5);
        while psql(&db, &alive).await != "1" {
            assert!(Instant::now() < deadline, "the LISTEN connection was not re-established");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let written = writer.await.unwrap();
    for (i, rev) in written.iter().enumerate() {
        let e = next(&mut watcher, Duration::from_secs(3)).await;
        assert_eq!(line_of(&e), format!("put /r/{i:03} {rev}"));
    }
    assert_quiet(&mut watcher, Duration::from_millis(300)).await;
    a.close().await;
    b.close().await;
}

/// Items expiring at once on a database two hosts sweep: each gets exactly one Delete event, which
/// both hosts' watchers see.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttl_expiry_emits_one_delete_seen_by_both() {
    let (server, db) = database().await;
    let conn = server.conn_string(&db);
    let a: Arc<dyn Backend> = PostgresBackend::open_with(&conn, quick()).await.unwrap();
    let b: Arc<dyn Backend> = PostgresBackend::open_with(&conn, quick()).await.unwrap();
    let (mut wa, mut wb) = (a.watch("/ttl/"), b.watch("/ttl/"));
    let expires = SystemTime::now() + Duration::from_secs(1);
    let mut revisions = Vec::new();
    for i in 0..40 {
        let writer = if i % 2 == 0 { &a } else { &b };
        revisions.push(writer.put(&format!("/ttl/{i:02}"), Vec::new(), Some(expires)).await.unwrap());
    }
    for watcher in [&mut wa, &mut wb] {
        for (i, rev) in revisions.iter().enumerate() {
            assert_eq!(line_of(&next(watcher, Duration::from_secs(3)).await), format!("put /ttl/{i:02} {rev}"));
        }
        for (i, rev) in revisions.iter().enumerate() {
            assert_eq!(line_of(&next(watcher, Duration::from_secs(4)).await), format!("delete /ttl/{i:02} {rev}"));
        }
    }
    assert_quiet(&mut wa, Duration::from_secs(1)).await;
    assert_quiet(&mut wb, Duration::from_millis(100)).await;
    let deletes = psql(&db, "SELECT count(*) FROM tether_events WHERE kind = 'delete'").await;
    assert_eq!(deletes, "40");
    assert!(a.range("/ttl/").await.unwrap().is_empty());
    a.close().await;
    b.close().await;
}

/// Hosts starting at once on an empty database create the schema once, without errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_open_migrates_once() {
    let (server, db) = database().await;
    let conn = server.conn_string(&db);
    let mut opening = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let conn = conn.clone();
        opening.spawn(async move { PostgresBackend::open(&conn).await });
    }
    let mut backends = Vec::new();
    while let Some(opened) = opening.join_next().await {
        backends.push(opened.unwrap().unwrap());
    }
    assert_eq!(psql(&db, "SELECT schema_version FROM tether_meta").await, schema::SCHEMA_VERSION.to_string());
    let rev = backends[0].put("/k", b"v".to_vec(), None).await.unwrap();
    assert_eq!(backends[3].get("/k").await.unwrap().unwrap().revision, rev);
    for b in backends {
        b.close().await;
    }

    // A newer schema is refused.
    psql(&db, "UPDATE tether_meta SET schema_version = 99").await;
    let err = PostgresBackend::open(&conn).await.unwrap_err();
    assert!(err.to_string().contains("schema is at version 99"), "{err}");
}

/// Writes survive closing and reopening, and the counter never goes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_across_reopen() {
    let (server, db) = database().await;
    let conn = server.conn_string(&db);
    let backend = PostgresBackend::open(&conn).await.unwrap();
    let r1 = backend.put("/a/1", b"one".to_vec(), None).await.unwrap();
    let r2 = backend.put("/a/2", b"two".to_vec(), None).await.unwrap();
    assert!(backend.delete("/a/2").await.unwrap());
    backend.close().await;
    let backend = PostgresBackend::open(&conn).await.unwrap();
    let item = backend.get("/a/1").await.unwrap().unwrap();
    assert_eq!((item.value.as_slice(), item.revision), (&b"one"[..], r1));
    assert!(backend.put("/a/3", Vec::new(), None).await.unwrap() > r2 + 1, "the delete took a revision too");
    backend.close().await;
}

/// Pruning keeps the newest events, and a listener that had not read the pruned ones reports how
/// many it lost before the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_bounds_the_log_and_reports_lost_events() {
    let (server, db) = database().await;
    let conn = server.conn_string(&db);
    let options = Options { keep_events: 5, prune_interval: Duration::from_secs(3600), ..Options::default() };
    let backend = PostgresBackend::open_with(&conn, options).await.unwrap();
    let start = backend.shared.high.load(std::sync::atomic::Ordering::SeqCst);
    for i in 0..20 {
        backend.put(&format!("/k/{i}"), Vec::new(), None).await.unwrap();
    }
    assert_eq!(watch::prune(&backend.shared).await.unwrap(), 15);
    assert_eq!(psql(&db, "SELECT count(*) FROM tether_events").await, "5");

    // A reader still at the start finds a hole of 15, then the 5 kept events.
    let mut rx = lock(&backend.shared.events).as_ref().unwrap().subscribe();
    let mut last = start;
    watch::catch_up(&backend.shared, &mut last).await;
    assert!(matches!(rx.recv().await.unwrap(), Broadcast::Lost(15)));
    for i in 15..20 {
        match rx.recv().await.unwrap() {
            Broadcast::Event { event, .. } => assert_eq!(event.item.key, format!("/k/{i}")),
            other => panic!("expected /k/{i}, got {other:?}"),
        }
    }
    // Old events go by age too, all but the newest: a reader behind the pruning sees the gap
    // at once instead of an empty log.
    psql(&db, "UPDATE tether_events SET created_ms = created_ms - 3600000").await;
    assert_eq!(watch::prune(&backend.shared).await.unwrap(), 4);
    assert_eq!(psql(&db, "SELECT count(*) FROM tether_events").await, "1");
    backend.close().await;
}

// ---------------------------------------------------------------------------------------------
// Connecting: failures are one line naming the server and the cause; TLS and client certificates.

#[tokio::test]
async fn unreachable_server_is_one_line() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let err = PostgresBackend::open(&format!("postgres://tether:pw@127.0.0.1:{port}/tether?sslmode=disable"))
        .await
        .unwrap_err();
    assert_eq!(err.detail(), format!("cannot connect to PostgreSQL at 127.0.0.1:{port}: connection refused"));
}

#[tokio::test]
async fn wrong_password_is_one_line() {
    let (server, db) = database().await;
    let conn = format!("postgres://postgres:wrong@127.0.0.1:{}/{db}?sslmode=disable", server.port());
    let err = PostgresBackend::open(&conn).await.unwrap_err().detail();
    assert_eq!(
        err,
        format!(
            "cannot connect to PostgreSQL at 127.0.0.1:{}: password authentication failed for user \"postgres\"",
            server.port()
        )
    );
}

#[tokio::test]
async fn untrusted_server_certificate_is_refused() {
    let (server, db) = database().await;
    // The client certificate is no CA: the server's certificate does not chain to it.
    let (not_a_ca, _) = server.client_cert();
    let conn = format!(
        "postgres://postgres:{}@localhost:{}/{db}?sslmode=verify-full&sslrootcert={}",
        server.password(),
        server.port(),
        not_a_ca.display()
    );
    let err = PostgresBackend::open(&conn).await.unwrap_err().detail();
    let lead = format!("cannot connect to PostgreSQL at localhost:{}: invalid peer certificate", server.port());
    assert!(err.starts_with(&lead) && !err.contains('\n'), "{err}");

    // The right CA, but a name the certificate does not hold (the address is the server's).
    let conn = format!(
        "host=wrong.example hostaddr=127.0.0.1 port={} user=postgres password={} dbname={db} sslmode=verify-full \
         sslrootcert={}",
        server.port(),
        server.password(),
        server.ca_file().display()
    );
    let err = PostgresBackend::open(&conn).await.unwrap_err().detail();
    let lead = format!("cannot connect to PostgreSQL at wrong.example:{}: invalid peer certificate", server.port());
    assert!(err.starts_with(&lead), "{err}");

    let err = PostgresBackend::open(&server.tls_conn_string(&db).replace("sslrootcert=", "sslrootcert=/nonexistent"))
        .await
        .unwrap_err()
        .detail();
    assert!(err.starts_with("sslrootcert=/nonexistent") && err.contains("cannot read certificates from it"), "{err}");
}

#[tokio::test]
async fn client_certificate_login() {
    let server = tokio::task::spawn_blocking(pg::server).await.unwrap();
    let db = tokio::task::spawn_blocking(|| pg::server().database_owned_by(CERT_USER)).await.unwrap();
    let (cert, key) = server.client_cert();
    let conn = format!(
        "host=localhost port={} user={CERT_USER} dbname={db} sslmode=verify-full sslrootcert='{}' sslcert='{}' sslkey='{}'",
        server.port(),
        server.ca_file().display(),
        cert.display(),
        key.display()
    );
    let backend = PostgresBackend::open(&conn).await.unwrap();
    let rev = backend.put("/k", b"v".to_vec(), None).await.unwrap();
    assert_eq!(backend.get("/k").await.unwrap().unwrap().revision, rev);
    backend.close().await;

    // Without the certificate the role cannot log in.
    let without = conn.split(" sslcert").next().unwrap().to_owned();
    let err = PostgresBackend::open(&without).await.unwrap_err().detail();
    assert!(err.contains("cannot connect to PostgreSQL at localhost:"), "{err}");
}

/// Write cost, printed for bench/RESULTS.md ("Figures the design notes cite"; `cargo test -p
/// tether-storage write_cost -- --nocapture`): sequential puts, and puts from 8 tasks (serialised on the counter row).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_cost() {
    let (server, db) = database().await;
    let b: Arc<dyn Backend> = PostgresBackend::open(&server.conn_string(&db)).await.unwrap();
    let started = Instant::now();
    for i in 0..300 {
        b.put(&format!("/seq/{i}"), vec![0; 200], None).await.unwrap();
    }
    let sequential = started.elapsed();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..8 {
        let b = b.clone();
        tasks.spawn(async move {
            for i in 0..100 {
                b.put(&format!("/par/{t}/{i}"), vec![0; 200], None).await.unwrap();
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let parallel = started.elapsed();
    println!(
        "postgres write cost: sequential {:.0} puts/s ({:?} each), 8 writers {:.0} puts/s",
        300.0 / sequential.as_secs_f64(),
        sequential / 300,
        800.0 / parallel.as_secs_f64()
    );
    b.close().await;
}
