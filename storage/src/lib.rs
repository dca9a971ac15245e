//! The storage layer of the `tether` daemon: a small key-value [`Backend`] with revisions, TTL
//! expiry, compare-and-swap and prefix watches, on which the auth service keeps its state.
//!
//! Keys are `/`-separated strings (`/users/alice`), values are opaque bytes (JSON in practice).
//! Every write gets a fresh revision from one counter shared by the whole backend, so revisions
//! are strictly increasing across all keys and can serve as `metadata.id` and as the expected
//! value of a later [`Backend::compare_and_swap`]; a delete takes no revision of its own (its event
//! carries the deleted item's). An item may carry an expiry time: once it has
//! passed the item is invisible to every read, and the backend deletes it in the background and
//! announces that with a [`EventKind::Delete`] event. Expiry times are kept with millisecond
//! precision. A write is acknowledged (its future resolves `Ok`) only once it is durable.
//!
//! Two implementations share one contract, checked by the conformance suite in `conformance`:
//! [`sqlite::SqliteBackend`] (embedded, the default, one host) and [`postgres::PostgresBackend`]
//! (several auth/proxy hosts sharing state).

#[cfg(test)]
pub mod conformance;
pub mod postgres;
pub mod records;
pub mod sqlite;

use std::time::SystemTime;

use async_trait::async_trait;
use tokio::sync::broadcast;

/// One stored key with its value and metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The full key.
    pub key: String,
    /// The stored bytes.
    pub value: Vec<u8>,
    /// When the item expires (millisecond precision); `None` for an item that never expires.
    pub expires: Option<SystemTime>,
    /// The revision of the write that produced this item.
    pub revision: u64,
}

/// What happened to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The key was created or overwritten.
    Put,
    /// The key was deleted, explicitly or because it expired.
    Delete,
}

/// A change to one key, as delivered to [`Watcher`]s after the change is committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Put or Delete.
    pub kind: EventKind,
    /// On Put, the item as written. On Delete, the key and the revision of the deleted item, with an
    /// empty value and no expiry.
    pub item: Item,
}

/// Errors of storage operations.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The key does not exist (or has expired).
    #[error("key {0:?} not found")]
    NotFound(String),
    /// A live item already exists under the key.
    #[error("key {0:?} already exists")]
    AlreadyExists(String),
    /// A compare-and-swap found another revision than the expected one.
    #[error("key {key:?} is at revision {actual}, expected {expected}")]
    Conflict {
        /// The key.
        key: String,
        /// The revision the caller expected.
        expected: u64,
        /// The revision actually stored.
        actual: u64,
    },
    /// The underlying database failed.
    #[error("storage backend: {message}")]
    Backend {
        /// What the backend was doing.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    },
    /// The backend has been closed.
    #[error("storage backend is closed")]
    Closed,
}

impl StorageError {
    /// A [`StorageError::Backend`] with a cause.
    pub fn backend(message: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        StorageError::Backend { message: message.into(), source: Some(Box::new(source)) }
    }

    /// The message without the `storage backend:` lead (for a caller that says `storage:` itself),
    /// followed by the underlying error, if any.
    pub fn detail(&self) -> String {
        match self {
            StorageError::Backend { message, source: None } => message.clone(),
            StorageError::Backend { message, source: Some(source) } => format!("{message}: {source}"),
            other => other.to_string(),
        }
    }

    /// A [`StorageError::Backend`] without an underlying error.
    pub fn backend_msg(message: impl Into<String>) -> Self {
        StorageError::Backend { message: message.into(), source: None }
    }
}

/// A key-value store with revisions, TTL, compare-and-swap and prefix watches.
///
/// Object safe: the daemon holds an `Arc<dyn Backend>`. All methods may be called concurrently.
/// After [`Backend::close`], every call fails with [`StorageError::Closed`] and watchers end.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// The live item under `key`; expired items are invisible.
    async fn get(&self, key: &str) -> Result<Option<Item>, StorageError>;

    /// Creates or overwrites `key`; returns the new revision.
    async fn put(&self, key: &str, value: Vec<u8>, expires: Option<SystemTime>) -> Result<u64, StorageError>;

    /// Creates `key`; [`StorageError::AlreadyExists`] if a live item exists (an expired one is
    /// replaced). Returns the new revision.
    async fn create(&self, key: &str, value: Vec<u8>, expires: Option<SystemTime>) -> Result<u64, StorageError>;

    /// Overwrites `key` only if its live item is at `expected_revision`; returns the new revision.
    /// [`StorageError::NotFound`] if there is no live item, [`StorageError::Conflict`] (with the
    /// actual revision) if it is at another revision.
    async fn compare_and_swap(
        &self,
        key: &str,
        expected_revision: u64,
        value: Vec<u8>,
        expires: Option<SystemTime>,
    ) -> Result<u64, StorageError>;

    /// Deletes `key`; true if a live item was deleted.
    async fn delete(&self, key: &str) -> Result<bool, StorageError>;

    /// The live items whose key starts with `prefix`, sorted by key (byte order).
    async fn range(&self, prefix: &str) -> Result<Vec<Item>, StorageError>;

    /// Events for keys starting with `prefix`, from now on. After close, a watcher that ends at once.
    fn watch(&self, prefix: &str) -> Watcher;

    /// Stops the background tasks and releases the database; later calls return
    /// [`StorageError::Closed`] and watchers end once they have drained. Idempotent.
    async fn close(&self);
}

/// What a [`Watcher`] yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// A committed change under the watched prefix.
    Event(Event),
    /// The watcher fell behind and the backend dropped this many events (counted over all keys, not
    /// only the watched prefix). Changes were missed: the caller must re-read the state it cares
    /// about with [`Backend::range`] and carry on watching; the next events are newer ones.
    Lagged(u64),
}

/// What a backend broadcasts to its [`Watcher`]s.
#[derive(Debug, Clone)]
pub enum Broadcast {
    /// A committed change at a position of the backend's change log (PostgreSQL's event
    /// revision; SQLite, which filters nothing, sends 0).
    Event {
        /// The change's position, for [`Watcher::after`].
        position: u64,
        /// The change.
        event: Event,
    },
    /// Changes were lost before they reached this process (PostgreSQL: pruned before they were
    /// read); passed to every watcher as [`WatchEvent::Lagged`].
    Lost(u64),
}

/// A stream of committed changes under one key prefix.
///
/// Each watcher buffers a bounded number of events (the backend's broadcast capacity); a consumer
/// that falls further behind gets [`WatchEvent::Lagged`] instead of the dropped events.
pub struct Watcher {
    prefix: String,
    rx: Option<broadcast::Receiver<Broadcast>>,
    /// Changes at or below this position happened before the watcher was created.
    after: Option<u64>,
}

impl Watcher {
    /// A watcher over a backend's event channel, keeping only the keys under `prefix`.
    pub fn new(rx: broadcast::Receiver<Broadcast>, prefix: impl Into<String>) -> Self {
        Watcher { prefix: prefix.into(), rx: Some(rx), after: None }
    }

    /// Like [`Watcher::new`], skipping changes at or below `position` (already committed when
    /// the watcher was created, though perhaps not yet broadcast).
    pub fn after(rx: broadcast::Receiver<Broadcast>, prefix: impl Into<String>, position: u64) -> Self {
        Watcher { prefix: prefix.into(), rx: Some(rx), after: Some(position) }
    }

    /// A watcher that has already ended (what a closed backend hands out).
    pub fn closed(prefix: impl Into<String>) -> Self {
        Watcher { prefix: prefix.into(), rx: None, after: None }
    }

    /// The watched prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The next event under the prefix; `None` once the backend has closed and every event
    /// committed before has been delivered.
    pub async fn next(&mut self) -> Option<WatchEvent> {
        let rx = self.rx.as_mut()?;
        loop {
            match rx.recv().await {
                Ok(Broadcast::Event { position, event }) => {
                    let old = self.after.is_some_and(|after| position <= after);
                    if !old && event.item.key.starts_with(&self.prefix) {
                        return Some(WatchEvent::Event(event));
                    }
                }
                Ok(Broadcast::Lost(missed)) => return Some(WatchEvent::Lagged(missed)),
                Err(broadcast::error::RecvError::Lagged(missed)) => return Some(WatchEvent::Lagged(missed)),
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
        self.rx = None;
        None
    }
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher").field("prefix", &self.prefix).field("open", &self.rx.is_some()).finish()
    }
}

// ----- shared by the backends: how rows encode items -----

/// Locks a mutex, ignoring poisoning: every critical section of the backends leaves the data
/// consistent (an unfinished transaction rolls back when dropped).
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Revisions are stored as signed 64-bit integers and are never negative.
fn to_revision(stored: i64) -> u64 {
    u64::try_from(stored).unwrap_or(0)
}

/// Unix milliseconds; times before the epoch clamp to 0 (long expired).
fn to_ms(time: SystemTime) -> i64 {
    time.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The time of stored Unix milliseconds.
fn from_ms(ms: i64) -> SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}
