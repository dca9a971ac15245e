//! The embedded SQLite [`Backend`], the default for a single host.
//!
//! One file, WAL journal, `synchronous=FULL`: a write's future resolves only after its transaction
//! has been committed and the WAL fsynced, so an acknowledged write survives a crash (kill -9 or
//! power loss). rusqlite is synchronous, so the one [`Connection`] sits behind a `std::sync::Mutex`
//! and every operation runs on tokio's blocking pool (`spawn_blocking`); the mutex serialises the
//! backend's operations, which SQLite's single writer would do anyway, and lets events be sent in
//! revision order. Events are broadcast only after the transaction has committed, still under the
//! lock. Events are in-process: several processes may share a file (revisions stay correct, the
//! counter lives in the database), but each only sees its own writes' events.
//!
//! Schema (version 1, in `PRAGMA user_version`): `items(key TEXT PRIMARY KEY, value BLOB, expires
//! INTEGER NULL /* unix ms */, revision INTEGER)` and `meta(name, value)` holding the revision
//! counter, which never goes back even when the newest item is deleted. [`SqliteBackend::open`]
//! creates the file (mode 0600) and the schema, or migrates an older one.
//!
//! Expiry: reads filter out expired rows; a sweeper task owned by the backend deletes them about
//! once a second and emits a Delete event for each. `close()` and dropping the backend stop it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use super::{Backend, Broadcast, Event, EventKind, Item, StorageError, Watcher, from_ms, lock, to_ms, to_revision};

/// The schema version this code writes; `open` migrates anything older up to it.
const SCHEMA_VERSION: i64 = 1;

/// Version 0 (an empty file) to 1.
const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS items (
    key      TEXT PRIMARY KEY NOT NULL,
    value    BLOB NOT NULL,
    expires  INTEGER NULL,
    revision INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS items_expires ON items (expires) WHERE expires IS NOT NULL;
CREATE TABLE IF NOT EXISTS meta (
    name  TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta (name, value) VALUES ('revision', 0);
";

/// How long a statement waits for another process's lock on the file.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How often the sweeper deletes expired items.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// Events buffered per watcher before it lags.
const EVENT_CAPACITY: usize = 4096;

/// The SQLite backend. Open it with [`SqliteBackend::open`]; share the returned `Arc`.
pub struct SqliteBackend {
    inner: Arc<Inner>,
    sweeper: Mutex<Option<JoinHandle<()>>>,
}

/// What the blocking operations and the sweeper share.
struct Inner {
    path: PathBuf,
    /// `None` once closed.
    conn: Mutex<Option<Connection>>,
    /// `None` once closed; dropping the sender ends the watchers.
    events: Mutex<Option<broadcast::Sender<Broadcast>>>,
}

impl SqliteBackend {
    /// Opens (creating if needed, with mode 0600) the database file at `path`, sets WAL,
    /// `synchronous=FULL` and a busy timeout, creates or migrates the schema and starts the expiry
    /// sweeper. Must be called within a tokio runtime.
    pub async fn open(path: impl AsRef<Path>) -> Result<Arc<Self>, StorageError> {
        let path = path.as_ref().to_path_buf();
        let conn = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || open_connection(&path))
                .await
                .map_err(|e| StorageError::backend("opening the database", e))??
        };
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let inner = Arc::new(Inner { path, conn: Mutex::new(Some(conn)), events: Mutex::new(Some(events)) });
        let sweeper = tokio::spawn(sweep_loop(inner.clone()));
        Ok(Arc::new(SqliteBackend { inner, sweeper: Mutex::new(Some(sweeper)) }))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `op` on the connection on the blocking pool, then broadcasts the events it returns.
    async fn run<T, F>(&self, op: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<(T, Vec<Event>), StorageError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.with_conn(op))
            .await
            .map_err(|e| StorageError::backend("storage task failed", e))?
    }

    /// Stops the sweeper (without waiting for it).
    fn abort_sweeper(&self) -> Option<JoinHandle<()>> {
        let handle = lock(&self.sweeper).take();
        if let Some(handle) = &handle {
            handle.abort();
        }
        handle
    }
}

impl Drop for SqliteBackend {
    fn drop(&mut self) {
        self.abort_sweeper();
    }
}

impl std::fmt::Debug for SqliteBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteBackend").field("path", &self.inner.path).finish()
    }
}

impl Inner {
    /// Locks the connection, runs `op`, and broadcasts its events (still holding the lock, so
    /// events go out in commit order).
    fn with_conn<T>(
        &self,
        op: impl FnOnce(&mut Connection) -> Result<(T, Vec<Event>), StorageError>,
    ) -> Result<T, StorageError> {
        let mut guard = lock(&self.conn);
        let conn = guard.as_mut().ok_or(StorageError::Closed)?;
        let (value, events) = op(conn)?;
        if !events.is_empty()
            && let Some(sender) = lock(&self.events).as_ref()
        {
            for event in events {
                // An error only means nobody is watching.
                let _ = sender.send(Broadcast::Event { position: 0, event });
            }
        }
        Ok(value)
    }

    /// Closes the connection and ends the watchers. Runs on the blocking pool.
    fn close(&self) {
        let conn = lock(&self.conn).take();
        // Taken after the connection: an operation in flight has sent its events by now.
        lock(&self.events).take();
        if let Some(conn) = conn
            && let Err((_, e)) = conn.close()
        {
            tracing::warn!(path = %self.path.display(), error = %e, "closing the storage database");
        }
    }
}

#[async_trait]
impl Backend for SqliteBackend {
    async fn get(&self, key: &str) -> Result<Option<Item>, StorageError> {
        let key = key.to_owned();
        self.run(move |conn| {
            let item = conn
                .prepare_cached(
                    "SELECT value, expires, revision FROM items
                     WHERE key = ?1 AND (expires IS NULL OR expires > ?2)",
                )
                .and_then(|mut stmt| {
                    stmt.query_row(params![key, now_ms()], |row| {
                        Ok(Item {
                            key: key.clone(),
                            value: row.get(0)?,
                            expires: row.get::<_, Option<i64>>(1)?.map(from_ms),
                            revision: to_revision(row.get(2)?),
                        })
                    })
                    .optional()
                })
                .map_err(db("get"))?;
            Ok((item, Vec::new()))
        })
        .await
    }

    async fn put(&self, key: &str, value: Vec<u8>, expires: Option<SystemTime>) -> Result<u64, StorageError> {
        let key = key.to_owned();
        self.run(move |conn| {
            let tx = begin(conn)?;
            let item = write_item(&tx, key, value, expires)?;
            tx.commit().map_err(db("commit"))?;
            Ok((item.revision, vec![Event { kind: EventKind::Put, item }]))
        })
        .await
    }

    async fn create(&self, key: &str, value: Vec<u8>, expires: Option<SystemTime>) -> Result<u64, StorageError> {
        let key = key.to_owned();
        self.run(move |conn| {
            let tx = begin(conn)?;
            if current(&tx, &key)?.is_some() {
                return Err(StorageError::AlreadyExists(key));
            }
            let item = write_item(&tx, key, value, expires)?;
            tx.commit().map_err(db("commit"))?;
            Ok((item.revision, vec![Event { kind: EventKind::Put, item }]))
        })
        .await
    }

    async fn compare_and_swap(
        &self,
        key: &str,
        expected_revision: u64,
        value: Vec<u8>,
        expires: Option<SystemTime>,
    ) -> Result<u64, StorageError> {
        let key = key.to_owned();
        self.run(move |conn| {
            let tx = begin(conn)?;
            match current(&tx, &key)? {
                None => return Err(StorageError::NotFound(key)),
                Some(actual) if actual != expected_revision => {
                    return Err(StorageError::Conflict { key, expected: expected_revision, actual });
                }
                Some(_) => {}
            }
            let item = write_item(&tx, key, value, expires)?;
            tx.commit().map_err(db("commit"))?;
            Ok((item.revision, vec![Event { kind: EventKind::Put, item }]))
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<bool, StorageError> {
        let key = key.to_owned();
        self.run(move |conn| {
            let tx = begin(conn)?;
            // An expired row is deleted too (and announced, as the sweeper would have), but it was
            // not live, so the answer is false.
            let deleted = tx
                .query_row("DELETE FROM items WHERE key = ?1 RETURNING revision, expires", params![key], |row| {
                    Ok((to_revision(row.get(0)?), row.get::<_, Option<i64>>(1)?))
                })
                .optional()
                .map_err(db("delete"))?;
            tx.commit().map_err(db("commit"))?;
            Ok(match deleted {
                None => (false, Vec::new()),
                Some((revision, expires)) => {
                    let live = expires.is_none_or(|ms| ms > now_ms());
                    (live, vec![delete_event(key, revision)])
                }
            })
        })
        .await
    }

    async fn range(&self, prefix: &str) -> Result<Vec<Item>, StorageError> {
        let prefix = prefix.to_owned();
        self.run(move |conn| {
            // Keys compare as bytes (BINARY collation on UTF-8), so the keys under the prefix are the
            // contiguous run starting at the prefix itself.
            let mut stmt = conn
                .prepare_cached(
                    "SELECT key, value, expires, revision FROM items
                     WHERE key >= ?1 AND (expires IS NULL OR expires > ?2) ORDER BY key",
                )
                .map_err(db("range"))?;
            let mut rows = stmt.query(params![prefix, now_ms()]).map_err(db("range"))?;
            let mut items = Vec::new();
            while let Some(row) = rows.next().map_err(db("range"))? {
                let key: String = row.get(0).map_err(db("range"))?;
                if !key.starts_with(&prefix) {
                    break;
                }
                items.push(Item {
                    key,
                    value: row.get(1).map_err(db("range"))?,
                    expires: row.get::<_, Option<i64>>(2).map_err(db("range"))?.map(from_ms),
                    revision: to_revision(row.get(3).map_err(db("range"))?),
                });
            }
            Ok((items, Vec::new()))
        })
        .await
    }

    fn watch(&self, prefix: &str) -> Watcher {
        match lock(&self.inner.events).as_ref() {
            Some(sender) => Watcher::new(sender.subscribe(), prefix),
            None => Watcher::closed(prefix),
        }
    }

    async fn close(&self) {
        if let Some(handle) = self.abort_sweeper() {
            // Cancelled (or finished): either way it is gone. A sweep already on the blocking pool
            // holds the connection lock, which the close below waits for.
            let _ = handle.await;
        }
        let inner = self.inner.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || inner.close()).await {
            tracing::warn!(error = %e, "closing the storage database");
        }
    }
}

/// Deletes expired items every [`SWEEP_INTERVAL`] until the backend closes (or the task is aborted).
async fn sweep_loop(inner: Arc<Inner>) {
    let mut ticker = tokio::time::interval(SWEEP_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let task_inner = inner.clone();
        match tokio::task::spawn_blocking(move || task_inner.with_conn(sweep)).await {
            Ok(Ok(_)) => {}
            Ok(Err(StorageError::Closed)) => return,
            Ok(Err(e)) => tracing::warn!(error = %e, "sweeping expired storage items"),
            Err(e) => tracing::warn!(error = %e, "storage sweeper task failed"),
        }
    }
}

/// One sweep: deletes the expired rows and returns a Delete event for each.
fn sweep(conn: &mut Connection) -> Result<(usize, Vec<Event>), StorageError> {
    let tx = begin(conn)?;
    let deleted = {
        let mut stmt = tx
            .prepare_cached("DELETE FROM items WHERE expires IS NOT NULL AND expires <= ?1 RETURNING key, revision")
            .map_err(db("sweep"))?;
        stmt.query_map(params![now_ms()], |row| Ok((row.get::<_, String>(0)?, to_revision(row.get(1)?))))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(db("sweep"))?
    };
    if deleted.is_empty() {
        // Nothing written: dropping the transaction rolls back the no-op without an fsync.
        return Ok((0, Vec::new()));
    }
    tx.commit().map_err(db("commit"))?;
    let mut events: Vec<Event> = deleted.into_iter().map(|(key, revision)| delete_event(key, revision)).collect();
    events.sort_by(|a, b| a.item.key.cmp(&b.item.key));
    Ok((events.len(), events))
}

/// Opens the connection, sets the pragmas, and creates or migrates the schema.
fn open_connection(path: &Path) -> Result<Connection, StorageError> {
    create_private_file(path)?;
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| StorageError::backend(format!("opening {}", path.display()), e))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(db("setting busy_timeout"))?;
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)).map_err(db("setting WAL"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StorageError::backend_msg(format!("{}: journal_mode is {mode}, not WAL", path.display())));
    }
    conn.pragma_update(None, "synchronous", "FULL").map_err(db("setting synchronous=FULL"))?;
    migrate(&mut conn, path)?;
    Ok(conn)
}

/// Creates the data file with mode 0600 if it is missing, and tightens it to 0600 if it exists.
/// SQLite gives its `-wal` and `-shm` files the mode of the database file.
fn create_private_file(path: &Path) -> Result<(), StorageError> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path).map_err(|e| StorageError::backend(format!("creating {}", path.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| StorageError::backend(format!("setting the mode of {}", path.display()), e))?;
    }
    drop(file);
    Ok(())
}

/// Brings the schema to [`SCHEMA_VERSION`], in one immediate transaction (safe against another
/// process opening the same file at once).
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StorageError> {
    let tx = begin(conn)?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0)).map_err(db("user_version"))?;
    if version > SCHEMA_VERSION {
        return Err(StorageError::backend_msg(format!(
            "{}: schema version {version} is newer than this tether supports ({SCHEMA_VERSION})",
            path.display()
        )));
    }
    if version < 1 {
        tx.execute_batch(SCHEMA_V1).map_err(db("creating the schema"))?;
    }
    // Later versions add their steps here: `if version < 2 { ... }`.
    if version < SCHEMA_VERSION {
        tx.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(db("setting user_version"))?;
    }
    tx.commit().map_err(db("commit migration"))
}

/// Begins an immediate (write-locking) transaction.
fn begin(conn: &mut Connection) -> Result<Transaction<'_>, StorageError> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db("begin"))
}

/// The revision of the live item under `key`, if any.
fn current(tx: &Transaction<'_>, key: &str) -> Result<Option<u64>, StorageError> {
    tx.prepare_cached("SELECT revision FROM items WHERE key = ?1 AND (expires IS NULL OR expires > ?2)")
        .and_then(|mut stmt| stmt.query_row(params![key, now_ms()], |row| row.get::<_, i64>(0)).optional())
        .map(|rev| rev.map(to_revision))
        .map_err(db("read"))
}

/// Takes the next revision and upserts the item with it.
fn write_item(
    tx: &Transaction<'_>,
    key: String,
    value: Vec<u8>,
    expires: Option<SystemTime>,
) -> Result<Item, StorageError> {
    tx.execute("UPDATE meta SET value = value + 1 WHERE name = 'revision'", []).map_err(db("revision"))?;
    let revision: i64 =
        tx.query_row("SELECT value FROM meta WHERE name = 'revision'", [], |row| row.get(0)).map_err(db("revision"))?;
    let expires_ms = expires.map(to_ms);
    tx.prepare_cached(
        "INSERT INTO items (key, value, expires, revision) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires,
                                         revision = excluded.revision",
    )
    .and_then(|mut stmt| stmt.execute(params![key, value, expires_ms, revision]))
    .map_err(db("write"))?;
    Ok(Item { key, value, expires: expires_ms.map(from_ms), revision: to_revision(revision) })
}

fn delete_event(key: String, revision: u64) -> Event {
    Event { kind: EventKind::Delete, item: Item { key, value: Vec::new(), expires: None, revision } }
}

/// Maps a rusqlite error to a [`StorageError::Backend`] saying what was being done.
fn db(what: &'static str) -> impl FnOnce(rusqlite::Error) -> StorageError {
    move |e| StorageError::backend(format!("sqlite {what}"), e)
}

fn now_ms() -> i64 {
    to_ms(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use std::io::BufRead;

    use super::*;
    use crate::conformance;

    /// A backend on a fresh file in a temporary directory (kept alive by the returned guard).
    async fn fresh() -> (Arc<dyn Backend>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let backend = SqliteBackend::open(dir.path().join("tether.db")).await.unwrap();
        (backend, dir)
    }

    conformance::conformance_tests!(fresh);

    #[tokio::test]
    async fn durable_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tether.db");
        let backend = SqliteBackend::open(&path).await.unwrap();
        let r1 = backend.put("/a/1", b"one".to_vec(), None).await.unwrap();
        let r2 = backend.put("/a/2", b"two".to_vec(), None).await.unwrap();
        assert!(backend.delete("/a/2").await.unwrap());
        backend.close().await;
        drop(backend);

        let backend = SqliteBackend::open(&path).await.unwrap();
        let item = backend.get("/a/1").await.unwrap().unwrap();
        assert_eq!((item.value.as_slice(), item.revision), (&b"one"[..], r1));
        assert_eq!(backend.get("/a/2").await.unwrap(), None);
        // The counter survives, even though the newest item was deleted.
        let r3 = backend.put("/a/3", b"three".to_vec(), None).await.unwrap();
        assert!(r3 > r2, "revision {r3} after reopen must exceed {r2}");
        backend.close().await;
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn data_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tether.db");
        let backend = SqliteBackend::open(&path).await.unwrap();
        backend.put("/k", b"v".to_vec(), None).await.unwrap();
        let sibling = |suffix: &str| {
            let mut name = path.clone().into_os_string();
            name.push(suffix);
            PathBuf::from(name)
        };
        for file in [path.clone(), sibling("-wal"), sibling("-shm")] {
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{} has mode {mode:o}", file.display());
        }
        backend.close().await;

        // An existing file with a loose mode is tightened on open.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let backend = SqliteBackend::open(&path).await.unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        backend.close().await;
    }

    #[tokio::test]
    async fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tether.db");
        SqliteBackend::open(&path).await.unwrap().close().await;
        Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
        let err = SqliteBackend::open(&path).await.unwrap_err();
        assert!(err.to_string().contains("schema version 99"), "{err}");
    }

    /// Set to a database path, makes [`crash_child_writer`] write items until it is killed.
    const CRASH_ENV: &str = "TETHER_STORAGE_CRASH_DB";
    /// The child test's name as the harness knows it (the module path without the crate), so a
    /// move of this module cannot leave the name stale.
    fn crash_test() -> String {
        let module = module_path!().split_once("::").map_or(module_path!(), |(_, rest)| rest);
        format!("{module}::crash_child_writer")
    }
    const CRASH_ITEMS: usize = 100_000;

    /// The child half of [`acknowledged_writes_survive_sigkill`]; a no-op in a normal test run.
    #[tokio::test]
    async fn crash_child_writer() {
        let Some(path) = std::env::var_os(CRASH_ENV) else { return };
        let backend = SqliteBackend::open(PathBuf::from(path)).await.unwrap();
        for i in 0..CRASH_ITEMS {
            let key = format!("/crash/{i:06}");
            backend.put(&key, format!("value {i}").into_bytes(), None).await.unwrap();
            // Printed (line-buffered, so flushed) only once the write is acknowledged.
            println!("ACK {key}");
        }
        // Wait to be killed rather than exit cleanly.
        tokio::time::sleep(Duration::from_secs(600)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn acknowledged_writes_survive_sigkill() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tether.db");
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", &crash_test(), "--nocapture", "--test-threads=1"])
            .env(CRASH_ENV, &path)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();

        // Read acknowledgements on a thread; kill the child after a few hundred of them, mid-stream.
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            let mut stdout = std::io::BufReader::new(stdout);
            let mut line = String::new();
            loop {
                line.clear();
                match stdout.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    // A line cut short by the kill has no newline: not an acknowledgement.
                    Ok(_) if line.ends_with('\n') => {
                        if let Some(key) = line.trim_end().strip_prefix("ACK ") {
                            let _ = tx.send(key.to_owned());
                        }
                    }
                    Ok(_) => {}
                }
            }
        });
        let mut acked = Vec::new();
        while acked.len() < 300 {
            match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(key) => acked.push(key),
                Err(e) => {
                    let _ = child.kill();
                    panic!("child stopped acknowledging after {} keys: {e}", acked.len());
                }
            }
        }
        child.kill().unwrap(); // SIGKILL on unix
        child.wait().unwrap();
        reader.join().unwrap();
        acked.extend(rx.try_iter());

        let backend = SqliteBackend::open(&path).await.unwrap();
        for key in &acked {
            assert!(backend.get(key).await.unwrap().is_some(), "acknowledged {key} lost after SIGKILL");
        }
        let stored = backend.range("/crash/").await.unwrap();
        assert!(stored.len() >= acked.len());
        backend.close().await;
    }
}
