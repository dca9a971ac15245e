//! `storage`: latency and throughput of a storage backend's operations — get, put, create,
//! compare-and-swap, range, concurrent puts, and how long a change takes to reach a watcher
//! (on a second backend instance when the backend is shared, as another host would see it).
//!
//! `storage --sqlite DIR [--ops N]` or `storage --postgres CONN_STRING [--ops N]` prints Markdown
//! rows for bench/RESULTS.md. With PostgreSQL the watcher is a second backend instance (its own
//! pool and LISTEN connection), as another host would be.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tether_storage::postgres::PostgresBackend;
use tether_storage::sqlite::SqliteBackend;
use tether_storage::{Backend, WatchEvent};

/// The backend under test, and a second handle on the same data for the watch measurement.
struct Subject {
    name: &'static str,
    writer: Arc<dyn Backend>,
    watcher: Arc<dyn Backend>,
}

struct Options {
    subject: Subject,
    ops: usize,
}

async fn options() -> Result<Options> {
    let mut subject = None;
    let mut ops = 2000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--sqlite" => {
                let dir = std::path::PathBuf::from(value()?);
                std::fs::create_dir_all(&dir)?;
                let backend: Arc<dyn Backend> = SqliteBackend::open(dir.join("bench.db")).await?;
                // SQLite's watches are in-process: the same instance is the only watcher.
                subject = Some(Subject { name: "SQLite", writer: backend.clone(), watcher: backend });
            }
            "--postgres" => {
                let conn = value()?;
                let writer: Arc<dyn Backend> = PostgresBackend::open(&conn).await?;
                let watcher: Arc<dyn Backend> = PostgresBackend::open(&conn).await?;
                subject = Some(Subject { name: "PostgreSQL", writer, watcher });
            }
            "--ops" => ops = value()?.parse().context("--ops: a number")?,
            other => bail!("unknown argument {other}; usage: storage --sqlite DIR | --postgres CONN [--ops N]"),
        }
    }
    Ok(Options { subject: subject.context("name a backend: --sqlite DIR or --postgres CONN_STRING")?, ops })
}

/// Median and 99th percentile of `samples`, in microseconds.
fn summary(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e6)
    };
    (at(0.5), at(0.99))
}

fn row(backend: &str, op: &str, samples: Vec<Duration>) {
    let n = samples.len();
    let total: Duration = samples.iter().sum();
    let (p50, p99) = summary(samples);
    let rate = n as f64 / total.as_secs_f64().max(1e-9);
    println!("| {backend} | {op} | {p50:.0} µs | {p99:.0} µs | {rate:.0}/s |");
}

async fn timed<F, Fut, T>(n: usize, mut op: F) -> Result<Vec<Duration>>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let start = Instant::now();
        op(i).await?;
        samples.push(start.elapsed());
    }
    Ok(samples)
}

async fn run(options: Options) -> Result<()> {
    let Options { subject, ops } = options;
    let b = subject.writer.clone();
    let value = vec![b'x'; 512];
    println!("| backend | operation | median | p99 | rate (one client) |");
    println!("|---|---|---|---|---|");
    let put = timed(ops, |i| {
        let (b, v) = (b.clone(), value.clone());
        async move { Ok(b.put(&format!("/bench/put/{i}"), v, None).await?) }
    })
    .await?;
    row(subject.name, "put (512 B)", put);
    let get = timed(ops, |i| {
        let b = b.clone();
        async move { Ok(b.get(&format!("/bench/put/{}", i % ops)).await?) }
    })
    .await?;
    row(subject.name, "get", get);
    let create = timed(ops, |i| {
        let (b, v) = (b.clone(), value.clone());
        async move { Ok(b.create(&format!("/bench/create/{i}"), v, None).await?) }
    })
    .await?;
    row(subject.name, "create", create);
    let mut revision = b.put("/bench/cas", value.clone(), None).await?;
    let mut cas = Vec::with_capacity(ops);
    for _ in 0..ops {
        let start = Instant::now();
        revision = b.compare_and_swap("/bench/cas", revision, value.clone(), None).await?;
        cas.push(start.elapsed());
    }
    row(subject.name, "compare-and-swap", cas);
    let range = timed(ops.min(200), |_| {
        let b = b.clone();
        async move { Ok(b.range("/bench/put/").await?) }
    })
    .await?;
    row(subject.name, &format!("range ({ops} items)"), range);

    // Throughput with 8 concurrent writers.
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..8 {
        let (b, v) = (b.clone(), value.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..ops / 8 {
                b.put(&format!("/bench/parallel/{w}/{i}"), v.clone(), None).await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let rate = (ops / 8 * 8) as f64 / start.elapsed().as_secs_f64();
    println!("| {} | put, 8 concurrent clients | — | — | {rate:.0}/s |", subject.name);

    // Watch delay: a write, then the moment the other handle's watcher reports it.
    let mut watcher = subject.watcher.watch("/bench/watch/");
    let mut delays = Vec::with_capacity(ops.min(500));
    for i in 0..ops.min(500) {
        let start = Instant::now();
        b.put(&format!("/bench/watch/{i}"), value.clone(), None).await?;
        loop {
            match tokio::time::timeout(Duration::from_secs(5), watcher.next()).await {
                Ok(Some(WatchEvent::Event(e))) if e.item.key == format!("/bench/watch/{i}") => break,
                Ok(Some(_)) => continue,
                Ok(None) => bail!("the watcher closed"),
                Err(_) => bail!("no watch event within 5 s"),
            }
        }
        delays.push(start.elapsed());
    }
    row(subject.name, "put → watcher sees it", delays);
    subject.writer.close().await;
    subject.watcher.close().await;
    Ok(())
}

fn main() -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async { run(options().await?).await })
}
