//! The PostgreSQL [`Backend`], for several auth/proxy hosts sharing one state.
//!
//! Connections: a deadpool pool of tokio-postgres connections for reads and writes, plus one
//! dedicated connection (not pooled: a pooled connection drops its notifications) that LISTENs for
//! changes. TLS goes through tokio-rustls on ring ([`conn`]).
//!
//! Writes (`schema` has the tables): each change runs in one transaction that first locks the
//! single counter row (`UPDATE tether_meta SET revision = revision + 1 … RETURNING revision`), so
//! writers are serialised and revisions are handed out in commit order; it then checks what it must
//! (a live item for create, the revision for compare-and-swap — after the lock, so the check and
//! the write see the same state on every host), writes the item, appends the change to
//! `tether_events` at that revision, and `pg_notify`s. Acknowledged means committed, with
//! `synchronous_commit` on. Every counter value is exactly one change (a rolled-back transaction
//! rolls its increment back), so the event log has no holes: a gap seen by a reader means events
//! were pruned before it read them.
//!
//! Watches ([`watch`]): each backend has one listener task; on a notification, a periodic tick,
//! and after (re)connecting its LISTEN connection, it reads `tether_events` past the last revision
//! it delivered and broadcasts them in order to this process's watchers. Because revisions follow
//! commit order, "past the last revision" never skips a change that commits late.
//!
//! Expiry: reads treat expired rows as absent (by the database's clock, which every host shares);
//! a maintenance task deletes expired rows about once a second under the counter lock, so when
//! several hosts sweep at once only the first deletes and emits the Delete events. It also prunes
//! the event log: events older than [`Options::retention`], and any beyond the newest
//! [`Options::keep_events`].

mod conn;
mod schema;
#[cfg(test)]
mod tests;
mod watch;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use deadpool_postgres::{Client, Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime, Transaction};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use conn::ConnSpec;
use conn::RustlsConnect;
use schema::NOW_MS;

use super::{Backend, Broadcast, Event, EventKind, Item, StorageError, Watcher, from_ms, lock, to_ms, to_revision};

/// Connections in the pool.
const POOL_SIZE: usize = 16;

/// How long an operation waits for a pooled connection, and a new connection may take to set up.
const POOL_TIMEOUT: Duration = Duration::from_secs(30);

/// Events buffered per watcher before it lags.
const EVENT_CAPACITY: usize = 4096;

/// Tuning of the background work; [`Options::default`] is what the daemon uses.
#[derive(Debug, Clone)]
pub struct Options {
    /// How often expired items are deleted.
    pub sweep_interval: Duration,
    /// How often the listener reads the event log without a notification (and checks its LISTEN
    /// connection).
    pub poll_interval: Duration,
    /// How often old events are pruned.
    pub prune_interval: Duration,
    /// Events older than this are pruned.
    pub retention: Duration,
    /// At most this many events are kept.
    pub keep_events: i64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sweep_interval: Duration::from_secs(1),
            poll_interval: Duration::from_secs(1),
            prune_interval: Duration::from_secs(60),
            retention: Duration::from_secs(600),
            keep_events: 100_000,
        }
    }
}

/// The PostgreSQL backend. Open it with [`PostgresBackend::open`]; share the returned `Arc`.
pub struct PostgresBackend {
    shared: Arc<Shared>,
    stop: CancellationToken,
    tasks: tokio::sync::Mutex<Vec<JoinHandle<()>>>,
}

/// What the operations and the background tasks share.
struct Shared {
    pool: Pool,
    spec: ConnSpec,
    connector: RustlsConnect,
    /// `host:port`, for messages.
    target: String,
    /// The `application_name` of the LISTEN connection (unique per backend instance).
    listen_name: String,
    options: Options,
    closed: AtomicBool,
    /// `None` once closed; dropping the sender ends the watchers.
    events: Mutex<Option<broadcast::Sender<Broadcast>>>,
    /// The highest revision this process has written or broadcast: a new watcher starts after it.
    high: AtomicU64,
}

impl PostgresBackend {
    /// Connects with `conn_string` (see [`ConnSpec`]), creates the schema if missing, starts the
    /// listener and the maintenance task. Fails with one line naming the server and the cause when
    /// it cannot connect.
    pub async fn open(conn_string: &str) -> Result<Arc<Self>, StorageError> {
        Self::open_with(conn_string, Options::default()).await
    }

    /// [`PostgresBackend::open`] with other background timings (tests).
    pub async fn open_with(conn_string: &str, options: Options) -> Result<Arc<Self>, StorageError> {
        let spec = ConnSpec::parse(conn_string).map_err(|e| StorageError::backend_msg(format!("conn_string: {e}")))?;
        let connector = spec.connector().map_err(StorageError::backend_msg)?;
        let target = spec.target();
        let mut pooled = spec.pg.clone();
        if pooled.get_application_name().is_none() {
            pooled.application_name("tether");
        }
        let manager =
            Manager::from_config(pooled, connector.clone(), ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_TIMEOUT))
            .create_timeout(Some(POOL_TIMEOUT))
            .build()
            .map_err(|e| StorageError::backend("building the PostgreSQL pool", e))?;
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let shared = Arc::new(Shared {
            pool,
            spec,
            connector,
            listen_name: format!("tether-listen-{}", tether_shared::names::random_hex()),
            target,
            options,
            closed: AtomicBool::new(false),
            events: Mutex::new(Some(events)),
            high: AtomicU64::new(0),
        });

        let mut client = shared.client().await?;
        let sync: String = client
            .query_one("SHOW synchronous_commit", &[])
            .await
            .and_then(|row| row.try_get(0))
            .map_err(db("reading synchronous_commit"))?;
        if sync == "off" {
            return Err(StorageError::backend_msg(format!(
                "PostgreSQL at {}: synchronous_commit is off, so acknowledged writes could be lost",
                shared.target
            )));
        }
        schema::migrate(&mut client).await?;
        let revision: i64 = client
            .query_one("SELECT revision FROM tether_meta WHERE id = 1", &[])
            .await
            .and_then(|row| row.try_get(0))
            .map_err(db("reading the revision"))?;
        drop(client);
        let start = to_revision(revision);
        shared.high.store(start, Ordering::SeqCst);

        let listening = watch::listen(&shared).await.map_err(|e| shared.connect_error(&e))?;
        let stop = CancellationToken::new();
        let tasks = vec![
            tokio::spawn(watch::run(shared.clone(), listening, start, stop.clone())),
            tokio::spawn(watch::maintain(shared.clone(), stop.clone())),
        ];
        Ok(Arc::new(PostgresBackend { shared, stop, tasks: tokio::sync::Mutex::new(tasks) }))
    }

    /// The `application_name` of this backend's LISTEN connection (tests find it in
    /// `pg_stat_activity`).
    pub fn listen_name(&self) -> &str {
        &self.shared.listen_name
    }
}

impl Drop for PostgresBackend {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl std::fmt::Debug for PostgresBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresBackend").field("target", &self.shared.target).finish()
    }
}

impl Shared {
    /// A pooled connection; [`StorageError::Closed`] after close.
    async fn client(&self) -> Result<Client, StorageError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(StorageError::Closed);
        }
        self.pool.get().await.map_err(|e| match e {
            PoolError::Closed => StorageError::Closed,
            PoolError::Backend(e) => self.connect_error(&e),
            other => StorageError::backend_msg(format!("PostgreSQL at {}: {other}", self.target)),
        })
    }

    /// The one-line connection failure.
    fn connect_error(&self, e: &tokio_postgres::Error) -> StorageError {
        StorageError::backend_msg(format!("cannot connect to PostgreSQL at {}: {}", self.target, conn::cause(e)))
    }

    /// Broadcasts to this process's watchers.
    fn broadcast(&self, message: Broadcast) {
        if let Some(sender) = lock(&self.events).as_ref() {
            // An error only means nobody is watching.
            let _ = sender.send(message);
        }
    }

    /// Records a revision this process wrote or delivered.
    fn seen(&self, revision: u64) {
        self.high.fetch_max(revision, Ordering::SeqCst);
    }
}

/// Begins a write: locks the counter row and takes the next revision.
async fn begin_write(client: &mut Client) -> Result<(Transaction<'_>, i64), StorageError> {
    let tx = client.transaction().await.map_err(db("begin"))?;
    let stmt = tx
        .prepare_cached("UPDATE tether_meta SET revision = revision + 1 WHERE id = 1 RETURNING revision")
        .await
        .map_err(db("revision"))?;
    let revision: i64 = tx.query_one(&stmt, &[]).await.and_then(|row| row.try_get(0)).map_err(db("revision"))?;
    Ok((tx, revision))
}

/// The revision of `key`'s row and whether it is live, read after the counter lock.
async fn current(tx: &Transaction<'_>, key: &str) -> Result<Option<(u64, bool)>, StorageError> {
    let stmt = tx
        .prepare_cached(&format!(
            "SELECT revision, (expires IS NULL OR expires > {NOW_MS}) FROM tether_items WHERE key = $1"
        ))
        .await
        .map_err(db("read"))?;
    let row = tx.query_opt(&stmt, &[&key]).await.map_err(db("read"))?;
    row.map(|row| Ok((to_revision(row.try_get(0)?), row.try_get(1)?))).transpose().map_err(db("read"))
}

/// Upserts the item at `revision`, appends its Put event and notifies; the caller commits.
async fn write_item(
    tx: &Transaction<'_>,
    revision: i64,
    key: &str,
    value: &[u8],
    expires: Option<i64>,
) -> Result<(), StorageError> {
    let stmt = tx
        .prepare_cached(&format!(
            "WITH item AS (
                 INSERT INTO tether_items (key, value, expires, revision) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (key) DO UPDATE
                     SET value = excluded.value, expires = excluded.expires, revision = excluded.revision
             ), event AS (
                 INSERT INTO tether_events (revision, kind, key, value, expires, item_revision, created_ms)
                 VALUES ($4, 'put', $1, $2, $3, $4, {NOW_MS})
             )
             SELECT pg_notify('{}', '')",
            schema::CHANNEL
        ))
        .await
        .map_err(db("write"))?;
    tx.query(&stmt, &[&key, &value, &expires, &revision]).await.map_err(db("write"))?;
    Ok(())
}

impl PostgresBackend {
    /// The put, create and compare-and-swap path: `check` decides from the current row (revision,
    /// live) whether to write.
    async fn write(
        &self,
        key: &str,
        value: Vec<u8>,
        expires: Option<SystemTime>,
        check: impl FnOnce(Option<(u64, bool)>) -> Result<(), StorageError>,
        needs_current: bool,
    ) -> Result<u64, StorageError> {
        let mut client = self.shared.client().await?;
        let (tx, revision) = begin_write(&mut client).await?;
        let found = if needs_current { current(&tx, key).await? } else { None };
        if let Err(e) = check(found) {
            tx.rollback().await.map_err(db("rollback"))?;
            return Err(e);
        }
        write_item(&tx, revision, key, &value, expires.map(to_ms)).await?;
        tx.commit().await.map_err(db("commit"))?;
        let revision = to_revision(revision);
        self.shared.seen(revision);
        Ok(revision)
    }
}

#[async_trait]
impl Backend for PostgresBackend {
    async fn get(&self, key: &str) -> Result<Option<Item>, StorageError> {
        let client = self.shared.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT value, expires, revision FROM tether_items
                 WHERE key = $1 AND (expires IS NULL OR expires > {NOW_MS})"
            ))
            .await
            .map_err(db("get"))?;
        let row = client.query_opt(&stmt, &[&key]).await.map_err(db("get"))?;
        row.map(|row| {
            Ok(Item {
                key: key.to_owned(),
                value: row.try_get(0)?,
                expires: row.try_get::<_, Option<i64>>(1)?.map(from_ms),
                revision: to_revision(row.try_get(2)?),
            })
        })
        .transpose()
        .map_err(db("get"))
    }

    async fn put(&self, key: &str, value: Vec<u8>, expires: Option<SystemTime>) -> Result<u64, StorageError> {
        self.write(key, value, expires, |_| Ok(()), false).await
    }

    async fn create(&self, key: &str, value: Vec<u8>, expires: Option<SystemTime>) -> Result<u64, StorageError> {
        let check = |found: Option<(u64, bool)>| match found {
            Some((_, true)) => Err(StorageError::AlreadyExists(key.to_owned())),
            _ => Ok(()),
        };
        self.write(key, value, expires, check, true).await
    }

    async fn compare_and_swap(
        &self,
        key: &str,
        expected_revision: u64,
        value: Vec<u8>,
        expires: Option<SystemTime>,
    ) -> Result<u64, StorageError> {
        let check = |found: Option<(u64, bool)>| match found {
            Some((actual, true)) if actual == expected_revision => Ok(()),
            Some((actual, true)) => {
                Err(StorageError::Conflict { key: key.to_owned(), expected: expected_revision, actual })
            }
            _ => Err(StorageError::NotFound(key.to_owned())),
        };
        self.write(key, value, expires, check, true).await
    }

    async fn delete(&self, key: &str) -> Result<bool, StorageError> {
        let mut client = self.shared.client().await?;
        let (tx, revision) = begin_write(&mut client).await?;
        let stmt = tx
            .prepare_cached(&format!(
                "DELETE FROM tether_items WHERE key = $1
                 RETURNING revision, (expires IS NULL OR expires > {NOW_MS})"
            ))
            .await
            .map_err(db("delete"))?;
        let Some(row) = tx.query_opt(&stmt, &[&key]).await.map_err(db("delete"))? else {
            tx.rollback().await.map_err(db("rollback"))?;
            return Ok(false);
        };
        let item_revision: i64 = row.try_get(0).map_err(db("delete"))?;
        // An expired row is deleted too (and announced, as the sweeper would have), but it was not
        // live, so the answer is false.
        let live: bool = row.try_get(1).map_err(db("delete"))?;
        let stmt = tx
            .prepare_cached(&format!(
                "WITH event AS (
                     INSERT INTO tether_events (revision, kind, key, value, expires, item_revision, created_ms)
                     VALUES ($1, 'delete', $2, ''::bytea, NULL, $3, {NOW_MS})
                 )
                 SELECT pg_notify('{}', '')",
                schema::CHANNEL
            ))
            .await
            .map_err(db("delete"))?;
        tx.query(&stmt, &[&revision, &key, &item_revision]).await.map_err(db("delete"))?;
        tx.commit().await.map_err(db("commit"))?;
        self.shared.seen(to_revision(revision));
        Ok(live)
    }

    async fn range(&self, prefix: &str) -> Result<Vec<Item>, StorageError> {
        let client = self.shared.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT key, value, expires, revision FROM tether_items
                 WHERE key >= $1 AND ($2::text IS NULL OR key < $2)
                   AND (expires IS NULL OR expires > {NOW_MS})
                 ORDER BY key"
            ))
            .await
            .map_err(db("range"))?;
        let end = prefix_end(prefix);
        let rows = client.query(&stmt, &[&prefix, &end]).await.map_err(db("range"))?;
        rows.iter()
            .map(|row| {
                Ok(Item {
                    key: row.try_get(0)?,
                    value: row.try_get(1)?,
                    expires: row.try_get::<_, Option<i64>>(2)?.map(from_ms),
                    revision: to_revision(row.try_get(3)?),
                })
            })
            .collect::<Result<Vec<_>, tokio_postgres::Error>>()
            .map_err(db("range"))
    }

    fn watch(&self, prefix: &str) -> Watcher {
        match lock(&self.shared.events).as_ref() {
            Some(sender) => Watcher::after(sender.subscribe(), prefix, self.shared.high.load(Ordering::SeqCst)),
            None => Watcher::closed(prefix),
        }
    }

    async fn close(&self) {
        let mut tasks = self.tasks.lock().await;
        self.shared.closed.store(true, Ordering::SeqCst);
        self.stop.cancel();
        // The listener delivers what was committed before it stops.
        for task in tasks.drain(..) {
            if let Err(e) = task.await {
                tracing::warn!(error = %e, "PostgreSQL storage task failed");
            }
        }
        lock(&self.shared.events).take();
        self.shared.pool.close();
    }
}

/// The smallest string above every key that starts with `prefix` (`None`: no bound). Keys compare
/// by code point (`COLLATE "C"` on UTF-8), so it is the prefix with its last character bumped.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = u32::from(last) + 1;
        if next == 0xD800 {
            next = 0xE000;
        }
        if let Some(bumped) = char::from_u32(next) {
            chars.push(bumped);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Maps a tokio-postgres error to a [`StorageError::Backend`] saying what was being done.
fn db(what: &'static str) -> impl FnOnce(tokio_postgres::Error) -> StorageError {
    move |e| StorageError::backend(format!("postgresql {what}"), e)
}

/// The Event of a `tether_events` row (`revision, kind, key, value, expires, item_revision`).
fn event_of(row: &tokio_postgres::Row) -> Result<(u64, Event), tokio_postgres::Error> {
    let kind: &str = row.try_get(1)?;
    let kind = if kind == "delete" { EventKind::Delete } else { EventKind::Put };
    let item = Item {
        key: row.try_get(2)?,
        value: row.try_get(3)?,
        expires: row.try_get::<_, Option<i64>>(4)?.map(from_ms),
        revision: to_revision(row.try_get(5)?),
    };
    Ok((to_revision(row.try_get(0)?), Event { kind, item }))
}
