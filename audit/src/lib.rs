//! The audit log: one JSON line per security-relevant event in `DATA_DIR/log/events.log`, with
//! the time, event name and code, cluster, user and outcome.
//!
//! Writing never touches the disk on the caller's thread. [`Audit::emit`] builds the line (every
//! string bounded to [`AuditConfig::max_value_bytes`]) and hands it to a bounded queue that one
//! dedicated thread drains in batches. When the queue is full the caller waits at most
//! [`AuditConfig::full_wait`]; an event still not accepted then is dropped, counted
//! ([`Audit::dropped`]), logged with `tracing::error!`, and reported in the log itself by an
//! `audit.dropped` line once the writer catches up. [`Audit::close`] (also run on drop) drains
//! the queue, stops the thread and syncs the file; events emitted after that are written
//! synchronously.
//!
//! The writer rotates by size: once `events.log` would pass [`AuditConfig::max_file_bytes`] it
//! becomes `events.log.1` (`.1` becomes `.2`, and so on, keeping
//! [`AuditConfig::keep_rotated`] files) and a new 0600 file is started. Rotation takes an
//! advisory lock on `events.log.lock` and reopens instead when another writer (a second daemon,
//! or the in-process ssh service) has rotated first.
//!
//! [`Audit::read`] returns the newest events at or after a time, reading the files backwards
//! from their ends in [`READ_CHUNK_BYTES`] chunks on a blocking thread, so its cost follows the
//! number of events asked for, not the size of the log. Lines that are not JSON objects (a torn
//! write at a crash) are skipped, and so are lines longer than [`MAX_LINE_BYTES`].
//!
//! Layout: this file holds the emitting side ([`Audit`], its config and bounds on values);
//! [`events`] every event's name, codes and fields (the one source of `docs/audit-events.md`);
//! `queue.rs` the bounded queue to the writer thread, `files.rs` writing and rotating, `read.rs`
//! reading backwards.

pub mod events;
mod files;
mod queue;
pub mod read;

pub use events::{Event, Outcome};

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use files::{LogFiles, LogWriter};
use queue::{Push, Queue, drain};

/// The live log's file name; rotated files add `.1`, `.2`, ….
pub const LOG_FILE_NAME: &str = "events.log";
/// The advisory lock file writers hold while rotating.
pub const LOCK_FILE_NAME: &str = "events.log.lock";
/// Default size at which `events.log` is rotated.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Default number of rotated files kept (`events.log.1` … `events.log.5`).
pub const DEFAULT_KEEP_ROTATED: usize = 5;
/// Default capacity of the queue between emitters and the writer thread, in events.
pub const DEFAULT_QUEUE_CAPACITY: usize = 4096;
/// Default longest time an emitter waits for room in a full queue before dropping its event.
pub const DEFAULT_FULL_WAIT: Duration = Duration::from_millis(100);
/// Default bound on each string in an event (values, keys, the user), in bytes.
pub const DEFAULT_MAX_VALUE_BYTES: usize = 1024;
/// Arrays and objects keep at most this many entries; the rest is summarised.
pub const MAX_ITEMS: usize = 256;
/// Values nested deeper than this are replaced by a marker.
pub const MAX_DEPTH: usize = 16;
/// How much of a file [`Audit::read`] reads at a time, going backwards.
pub const READ_CHUNK_BYTES: usize = 64 * 1024;
/// Lines longer than this are skipped when reading (they cannot come from this writer).
pub const MAX_LINE_BYTES: usize = 1024 * 1024;
/// The number of events `GET /webapi/events` returns when the caller names no limit.
pub const DEFAULT_READ_LIMIT: usize = tether_shared::api::EVENTS_DEFAULT_LIMIT;
/// The most events one `GET /webapi/events` returns.
pub const MAX_READ_LIMIT: usize = tether_shared::api::EVENTS_MAX_LIMIT;
/// How long a read waits for events emitted before it to reach the file.
pub const READ_FLUSH_WAIT: Duration = Duration::from_secs(1);
/// Concurrent readers: each may hold up to [`MAX_READ_LIMIT`] parsed events (about 40 MiB).
pub const MAX_CONCURRENT_READS: usize = 2;
/// Events in the file are in emit order, which may differ from time order by a little (two
/// emitters racing, one of them waiting for room): a read stops only at an event this much
/// older than `since`.
const ORDER_SLACK: time::Duration = time::Duration::seconds(2);
/// The event of the line reporting dropped events.
const DROPPED: Event = Event::AuditDropped;

/// The audit log's settings (constructor parameters; the defaults are the constants above).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditConfig {
    /// Rotate `events.log` before it would grow past this many bytes.
    pub max_file_bytes: u64,
    /// Rotated files kept; 0 keeps none (the log restarts empty when full).
    pub keep_rotated: usize,
    /// Events the queue holds before emitters wait.
    pub queue_capacity: usize,
    /// How long an emitter waits for room before dropping its event.
    pub full_wait: Duration,
    /// Longest string kept in an event, in bytes (cut on a character boundary, with a marker).
    pub max_value_bytes: usize,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            keep_rotated: DEFAULT_KEEP_ROTATED,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            full_wait: DEFAULT_FULL_WAIT,
            max_value_bytes: DEFAULT_MAX_VALUE_BYTES,
        }
    }
}

/// The audit log of one daemon (or of its ssh service).
#[derive(Debug)]
pub struct Audit {
    cluster: String,
    config: AuditConfig,
    files: Arc<LogFiles>,
    queue: Arc<Queue>,
    writer: Mutex<WriterSlot>,
    readers: Arc<tokio::sync::Semaphore>,
}

/// Where the writer is.
#[derive(Debug)]
enum WriterSlot {
    /// Created but not started (tests start it by hand to fill the queue first).
    Idle(LogWriter),
    /// The thread draining the queue; it hands its file back when it ends.
    Running(std::thread::JoinHandle<LogWriter>),
    /// Closed: later events are written synchronously through this (if the file could be kept).
    Closed(Option<LogWriter>),
}

impl Audit {
    /// Opens (creating) `dir/events.log` with the default settings.
    pub fn open(dir: &Path, cluster: &str) -> std::io::Result<Self> {
        Audit::open_with(dir, cluster, AuditConfig::default())
    }

    /// Opens (creating) `dir/events.log` and starts the writer thread.
    pub fn open_with(dir: &Path, cluster: &str, config: AuditConfig) -> std::io::Result<Self> {
        let audit = Audit::open_idle(dir, cluster, config)?;
        audit.start_writer()?;
        Ok(audit)
    }

    fn open_idle(dir: &Path, cluster: &str, config: AuditConfig) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let files = Arc::new(LogFiles { dir: dir.to_path_buf(), keep_rotated: config.keep_rotated });
        let writer = LogWriter::open(files.clone(), cluster, config.max_file_bytes)?;
        Ok(Audit {
            cluster: cluster.to_string(),
            queue: Arc::new(Queue::new(config.queue_capacity.max(1))),
            config,
            files,
            writer: Mutex::new(WriterSlot::Idle(writer)),
            readers: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_READS)),
        })
    }

    /// Starts the thread that drains the queue (once).
    fn start_writer(&self) -> std::io::Result<()> {
        let mut slot = lock(&self.writer);
        let WriterSlot::Idle(_) = &*slot else { return Ok(()) };
        let WriterSlot::Idle(writer) = std::mem::replace(&mut *slot, WriterSlot::Closed(None)) else {
            return Ok(());
        };
        let queue = self.queue.clone();
        let spawned = std::thread::Builder::new().name("tether-audit".into()).spawn(move || drain(queue, writer));
        match spawned {
            Ok(handle) => {
                *slot = WriterSlot::Running(handle);
                Ok(())
            }
            Err(e) => {
                // The writer moved into the failed closure is gone: reopen for synchronous writes.
                *slot = WriterSlot::Closed(
                    LogWriter::open(self.files.clone(), &self.cluster, self.config.max_file_bytes).ok(),
                );
                Err(e)
            }
        }
    }

    /// Records one event: its name and code come from `event` and `outcome`; `fields` adds the
    /// event's own detail (an object whose keys may not replace the common ones; anything else
    /// lands in `details`). Never blocks on the disk: it waits at most
    /// [`AuditConfig::full_wait`] for room in the queue, and drops (counting and logging) the
    /// event when there is none. Debug builds check that every field is one the event declares.
    pub fn emit(&self, event: Event, outcome: Outcome, user: &str, fields: Value) {
        let spec = event.spec();
        #[cfg(debug_assertions)]
        {
            let undeclared = spec.undeclared(&fields);
            debug_assert!(
                undeclared.is_empty(),
                "audit event {} carries undeclared fields {undeclared:?}: declare them in audit/src/events.rs",
                spec.name
            );
        }
        self.emit_line(spec.name, spec.code(outcome), user, outcome.is_success(), fields);
    }

    /// Queues one line; the event's name and code are taken as given.
    fn emit_line(&self, event: &str, code: &str, user: &str, success: bool, fields: Value) {
        let line = self.line(event, code, user, success, fields);
        match self.queue.push(line, self.config.full_wait) {
            Push::Queued => {}
            Push::Dropped(total) => {
                tracing::error!(
                    event,
                    user = %truncate(user, 64),
                    dropped_total = total,
                    "audit queue full for {:?}: event dropped",
                    self.config.full_wait
                );
            }
            Push::Closed(line) => {
                let mut slot = lock(&self.writer);
                match &mut *slot {
                    WriterSlot::Closed(Some(writer)) => {
                        if writer.write_lines(&[line]) > 0 {
                            let total = self.queue.count_lost(1);
                            tracing::error!(event, dropped_total = total, "cannot write the audit log: event lost");
                        }
                    }
                    _ => {
                        let total = self.queue.count_lost(1);
                        tracing::error!(event, dropped_total = total, "the audit log is closed: event lost");
                    }
                }
            }
        }
    }

    /// How many events were dropped (queue full, or a failed write) since the log was opened.
    pub fn dropped(&self) -> u64 {
        self.queue.state().dropped_total
    }

    /// Waits until every event emitted before this call is written (or `timeout` passes);
    /// returns whether they all were. ([`Audit::read`] does this itself.)
    #[cfg(test)]
    fn flush(&self, timeout: Duration) -> bool {
        self.queue.wait_written(timeout)
    }

    /// Writes out everything queued, stops the writer thread and syncs the file. Later events
    /// are written synchronously. Idempotent; also run on drop.
    pub fn close(&self) {
        let mut slot = lock(&self.writer);
        let writer = match std::mem::replace(&mut *slot, WriterSlot::Closed(None)) {
            WriterSlot::Running(handle) => {
                self.queue.close();
                match handle.join() {
                    Ok(writer) => Some(writer),
                    Err(_) => {
                        tracing::error!("the audit writer thread panicked; later events are lost");
                        None
                    }
                }
            }
            WriterSlot::Idle(writer) => {
                self.queue.close();
                let mut writer = writer;
                let (lines, dropped) = self.queue.take_all();
                let lost = writer.write_batch(&lines, dropped);
                self.queue.done(lines.len(), lost);
                Some(writer)
            }
            WriterSlot::Closed(writer) => {
                *slot = WriterSlot::Closed(writer);
                return;
            }
        };
        if let Some(writer) = &writer {
            writer.sync();
        }
        *slot = WriterSlot::Closed(writer);
        let dropped = self.dropped();
        if dropped > 0 {
            tracing::error!(dropped, "audit log closed; events were dropped while it was open");
        }
    }

    /// The newest events (at most `limit`) at or after `since` (any time when `None`), oldest
    /// first, read backwards from the end of the log files on a blocking thread after the
    /// events emitted before the call are written.
    pub async fn read(&self, since: Option<OffsetDateTime>, limit: usize) -> std::io::Result<Vec<Map<String, Value>>> {
        self.read_filtered(read::Filter { since, ..read::Filter::default() }, limit).await
    }

    /// [`Audit::read`] keeping only what `filter` keeps.
    pub async fn read_filtered(&self, filter: read::Filter, limit: usize) -> std::io::Result<Vec<Map<String, Value>>> {
        let _permit = self
            .readers
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| std::io::Error::other(format!("audit reader: {e}")))?;
        let files = self.files.clone();
        let queue = self.queue.clone();
        tokio::task::spawn_blocking(move || {
            queue.wait_written(READ_FLUSH_WAIT);
            files.read_matching(&filter, limit).map(|(events, _)| events)
        })
        .await
        .map_err(|e| std::io::Error::other(format!("audit reader: {e}")))?
    }

    /// Builds an event's line: the common fields, then `fields`, every string bounded.
    fn line(&self, event: &str, code: &str, user: &str, success: bool, fields: Value) -> String {
        let max = self.config.max_value_bytes;
        let mut line = Map::new();
        line.insert("time".into(), json!(now_rfc3339()));
        line.insert("event".into(), Value::String(truncate(event, max)));
        line.insert("code".into(), Value::String(truncate(code, max)));
        line.insert("cluster".into(), Value::String(truncate(&self.cluster, max)));
        line.insert("user".into(), Value::String(truncate(user, max)));
        line.insert("success".into(), Value::Bool(success));
        match fields {
            Value::Object(extra) => {
                let total = extra.len();
                for (i, (key, value)) in extra.into_iter().enumerate() {
                    if i >= MAX_ITEMS {
                        line.insert("truncated_fields".into(), json!(total - MAX_ITEMS));
                        break;
                    }
                    let key = truncate(&key, max);
                    if !line.contains_key(&key) {
                        line.insert(key, bound(value, max, 1));
                    }
                }
            }
            Value::Null => {}
            other => {
                line.insert("details".into(), bound(other, max, 1));
            }
        }
        let mut text = Value::Object(line).to_string();
        text.push('\n');
        text
    }
}

impl Drop for Audit {
    fn drop(&mut self) {
        self.close();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `text` cut to at most `max` bytes on a character boundary, with a marker saying how many
/// bytes were cut; unchanged when it fits.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…[truncated {} bytes]", &text[..cut], text.len() - cut)
}

/// A JSON value with every string (keys included) bounded to `max` bytes, at most
/// [`MAX_ITEMS`] entries per array or object, and at most [`MAX_DEPTH`] levels.
fn bound(value: Value, max: usize, depth: usize) -> Value {
    match value {
        Value::String(s) if s.len() > max => Value::String(truncate(&s, max)),
        Value::Array(items) if depth >= MAX_DEPTH => {
            Value::String(format!("…[array of {} nested too deep]", items.len()))
        }
        Value::Object(map) if depth >= MAX_DEPTH => {
            Value::String(format!("…[object of {} nested too deep]", map.len()))
        }
        Value::Array(items) => {
            let total = items.len();
            let mut out: Vec<Value> = items.into_iter().take(MAX_ITEMS).map(|v| bound(v, max, depth + 1)).collect();
            if total > MAX_ITEMS {
                out.push(Value::String(format!("…[{} more items]", total - MAX_ITEMS)));
            }
            Value::Array(out)
        }
        Value::Object(map) => {
            let total = map.len();
            let mut out: Map<String, Value> =
                map.into_iter().take(MAX_ITEMS).map(|(k, v)| (truncate(&k, max), bound(v, max, depth + 1))).collect();
            if total > MAX_ITEMS {
                out.insert("…".into(), Value::String(format!("[{} more entries]", total - MAX_ITEMS)));
            }
            Value::Object(out)
        }
        other => other,
    }
}

fn now_rfc3339() -> String {
    OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::io::Write;
    use std::time::Instant;

    use super::*;

    fn small(max_file_bytes: u64, keep_rotated: usize) -> AuditConfig {
        AuditConfig { max_file_bytes, keep_rotated, ..AuditConfig::default() }
    }

    fn lines_of(path: &Path) -> Vec<Map<String, Value>> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
            .collect()
    }

    fn names(events: &[Map<String, Value>]) -> Vec<String> {
        events.iter().map(|e| e["event"].as_str().unwrap_or_default().to_string()).collect()
    }

    #[test]
    fn long_strings_are_cut_on_a_char_boundary_with_a_marker() {
        assert_eq!(truncate("short", 10), "short");
        let cut = truncate(&"a".repeat(250_000), 1024);
        assert_eq!(cut, format!("{}…[truncated 248976 bytes]", "a".repeat(1024)));
        // "é" is two bytes: a cut at an odd byte backs off to the character before.
        let accented = "é".repeat(10);
        let cut = truncate(&accented, 5);
        assert_eq!(cut, "éé…[truncated 16 bytes]");
    }

    #[test]
    fn every_string_in_an_event_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let audit = Audit::open(dir.path(), "c1").unwrap();
        let huge = "x".repeat(250_000);
        let many: Vec<String> = (0..1000).map(|i| format!("role{i}")).collect();
        audit.emit_line(
            "user.login",
            "T1000W",
            &huge,
            false,
            json!({"name": huge.clone(), "nested": {"deeper": [huge.clone(), {"k": huge.clone()}]}, huge.clone(): 1, "roles": many}),
        );
        audit.close();
        let text = std::fs::read_to_string(dir.path().join(LOG_FILE_NAME)).unwrap();
        assert!(text.len() < 20_000, "line is {} bytes", text.len());
        let events = lines_of(&dir.path().join(LOG_FILE_NAME));
        let e = &events[0];
        let marker = "…[truncated 248976 bytes]";
        assert!(e["user"].as_str().unwrap().ends_with(marker), "{}", e["user"]);
        assert!(e["name"].as_str().unwrap().ends_with(marker));
        assert!(e["nested"]["deeper"][0].as_str().unwrap().ends_with(marker));
        assert!(e["nested"]["deeper"][1]["k"].as_str().unwrap().ends_with(marker));
        assert!(e.keys().any(|k| k.starts_with("xxx") && k.ends_with(marker)), "keys are bounded too");
        let roles = e["roles"].as_array().unwrap();
        assert_eq!(roles.len(), MAX_ITEMS + 1);
        assert_eq!(roles[MAX_ITEMS], json!("…[744 more items]"));
        assert_eq!(e["success"], json!(false));
    }

    #[test]
    fn a_typed_event_writes_its_name_code_and_outcome() {
        let dir = tempfile::tempdir().unwrap();
        let audit = Audit::open(dir.path(), "c1").unwrap();
        audit.emit(Event::UserLogin, Outcome::Failure, "alice", json!({"addr": "127.0.0.1", "error": "bad password"}));
        audit.emit(Event::AccessDenied, Outcome::Failure, "bob", json!({"resource": "role", "verb": "create"}));
        audit.close();
        let events = lines_of(&dir.path().join(LOG_FILE_NAME));
        let head = |e: &Map<String, Value>| (e["event"].clone(), e["code"].clone(), e["success"].clone());
        assert_eq!(head(&events[0]), (json!("user.login"), json!("T1000W"), json!(false)));
        assert_eq!(head(&events[1]), (json!("access.denied"), json!("T9000W"), json!(false)));
        assert_eq!(events[0]["error"], json!("bad password"));
    }

    #[test]
    #[should_panic(expected = "undeclared fields [\"secret\"]")]
    fn a_field_the_event_does_not_declare_is_caught_in_debug_builds() {
        let dir = tempfile::tempdir().unwrap();
        let audit = Audit::open(dir.path(), "c1").unwrap();
        audit.emit(Event::UserLogin, Outcome::Success, "alice", json!({"addr": "a", "secret": "x"}));
    }

    #[test]
    fn fields_cannot_replace_the_common_ones() {
        let dir = tempfile::tempdir().unwrap();
        let audit = Audit::open(dir.path(), "c1").unwrap();
        audit.emit_line(
            "user.login",
            "T1000I",
            "alice",
            true,
            json!({"user": "root", "cluster": "other", "addr": "a"}),
        );
        audit.emit_line("odd", "T0", "bob", true, json!(["not", "an", "object"]));
        audit.close();
        let events = lines_of(&dir.path().join(LOG_FILE_NAME));
        assert_eq!((events[0]["user"].as_str(), events[0]["cluster"].as_str()), (Some("alice"), Some("c1")));
        assert_eq!(events[0]["addr"], json!("a"));
        assert_eq!(events[1]["details"], json!(["not", "an", "object"]));
    }

    #[test]
    fn deep_values_are_cut() {
        let mut deep = json!("bottom");
        for _ in 0..100 {
            deep = json!([deep]);
        }
        let mut v = &bound(deep, 1024, 1);
        let mut depth = 1;
        while let Value::Array(items) = v {
            v = &items[0];
            depth += 1;
        }
        assert_eq!(depth, MAX_DEPTH);
        assert!(v.as_str().unwrap().contains("nested too deep"), "{v}");
    }

    #[tokio::test]
    async fn read_returns_the_newest_events_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let audit = Audit::open(dir.path(), "c1").unwrap();
        for i in 0..50 {
            audit.emit_line(&format!("e{i}"), "T0", "u", true, json!({"i": i}));
        }
        // The read waits for earlier events to be written: no flush needed.
        let all = audit.read(None, 1000).await.unwrap();
        assert_eq!(all.len(), 50);
        let last3 = audit.read(None, 3).await.unwrap();
        assert_eq!(names(&last3), ["e47", "e48", "e49"]);
        assert!(audit.read(None, 0).await.unwrap().is_empty());
        // `since` in the future: nothing; in the past: everything up to the limit.
        let later = OffsetDateTime::now_utc() + time::Duration::hours(1);
        assert!(audit.read(Some(later), 10).await.unwrap().is_empty());
        let earlier = OffsetDateTime::now_utc() - time::Duration::hours(1);
        assert_eq!(names(&audit.read(Some(earlier), 2).await.unwrap()), ["e48", "e49"]);
        // `since` between events: only those at or after it.
        let t = |e: &Map<String, Value>| OffsetDateTime::parse(e["time"].as_str().unwrap(), &Rfc3339).unwrap();
        let pivot = t(&all[30]);
        let after = audit.read(Some(pivot), 1000).await.unwrap();
        assert!(after.iter().all(|e| t(e) >= pivot) && after.len() >= 20 && after.len() <= 50 - 30 + 1, "{after:?}");
        assert_eq!(names(&after).last().map(String::as_str), Some("e49"));
    }

    #[test]
    fn reading_skips_torn_and_foreign_lines_across_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOG_FILE_NAME);
        let mut text = String::new();
        let mut expected = Vec::new();
        for i in 0..3000 {
            if i % 7 == 0 {
                text.push_str("{\"time\": \"2026-01-01T00:00:00Z\", \"eve\n"); // torn
                text.push_str("not json at all\n\n");
            }
            let name = format!("e{i}-{}", "p".repeat(i % 97));
            text.push_str(&format!("{{\"time\":\"2026-01-01T00:00:00Z\",\"event\":\"{name}\"}}\n"));
            expected.push(name);
        }
        // Overlong lines (just over, and far over, the limit) and a torn last line (no newline).
        text.push_str(&format!("{{\"event\":\"{}\"}}\n", "y".repeat(MAX_LINE_BYTES - 5)));
        text.push_str(&format!("{{\"event\":\"{}\"}}\n", "z".repeat(2 * MAX_LINE_BYTES)));
        text.push_str("{\"time\":\"2026-01-01T00:00:00Z\",\"event\":\"la");
        std::fs::write(&path, &text).unwrap();
        assert!(text.len() > 4 * READ_CHUNK_BYTES + 3 * MAX_LINE_BYTES);
        let files = LogFiles { dir: dir.path().to_path_buf(), keep_rotated: 0 };
        let (events, _) = files.read_newest(None, 10_000).unwrap();
        let got = names(&events);
        let first_difference = got.iter().zip(&expected).position(|(a, b)| a != b);
        assert_eq!(
            (got.len(), first_difference),
            (expected.len(), None),
            "{:?}",
            first_difference.map(|i| &got[i..i + 3])
        );
        let (events, bytes) = files.read_newest(None, 5).unwrap();
        assert_eq!(names(&events), expected[expected.len() - 5..]);
        assert!(bytes < (3 * MAX_LINE_BYTES + 2 * READ_CHUNK_BYTES) as u64, "read {bytes} bytes for 5 events");
        // Opening the file for writing ends the torn line, so the next event stands alone.
        let audit = Audit::open(dir.path(), "c1").unwrap();
        audit.emit_line("after", "T0", "u", true, json!({}));
        audit.close();
        let (events, _) = files.read_newest(None, 2).unwrap();
        assert_eq!(names(&events), [expected[expected.len() - 1].as_str(), "after"]);
    }

    #[test]
    fn filters_keep_an_event_user_cluster_and_time_window() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::new();
        let line = |t: &str, event: &str, user: &str, extra: &str| {
            format!(
                "{{\"time\":\"2026-01-01T00:00:{t}Z\",\"event\":\"{event}\",\"user\":\"{user}\",\"cluster\":\"root\"{extra}}}\n"
            )
        };
        text.push_str(&line("01", "user.login", "alice", ""));
        text.push_str(&line("02", "role.mapping", "bob", ",\"user_cluster\":\"other\""));
        text.push_str(&line("03", "user.login", "bob", ""));
        text.push_str(&line("04", "cert.leaf", "alice", ",\"leaf_cluster\":\"leaf\""));
        text.push_str(&line("05", "role.mapping", "carol", ""));
        std::fs::write(dir.path().join(LOG_FILE_NAME), text).unwrap();
        let files = LogFiles { dir: dir.path().to_path_buf(), keep_rotated: 0 };
        let read = |f: read::Filter| -> Vec<String> {
            let (events, _) = files.read_matching(&f, 10).unwrap();
            events.iter().map(|e| format!("{}/{}", e["event"].as_str().unwrap(), e["user"].as_str().unwrap())).collect()
        };
        let event = |e: &str| read::Filter { event: Some(e.into()), ..Default::default() };
        assert_eq!(read(event("role.mapping")), ["role.mapping/bob", "role.mapping/carol"]);
        assert_eq!(
            read(read::Filter { user: Some("alice".into()), ..Default::default() }),
            ["user.login/alice", "cert.leaf/alice"]
        );
        assert_eq!(read(read::Filter { cluster: Some("leaf".into()), ..Default::default() }), ["cert.leaf/alice"]);
        assert_eq!(read(read::Filter { cluster: Some("other".into()), ..Default::default() }), ["role.mapping/bob"]);
        // `until` pages backwards: the events before a time, newest of them kept.
        let until = OffsetDateTime::parse("2026-01-01T00:00:04Z", &time::format_description::well_known::Rfc3339).ok();
        let (events, _) = files.read_matching(&read::Filter { until, ..Default::default() }, 2).unwrap();
        assert_eq!(names(&events), ["role.mapping", "user.login"]);
    }

    #[test]
    fn a_big_log_is_read_from_the_end_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOG_FILE_NAME);
        let line = format!("{{\"time\":\"2026-01-01T00:00:00Z\",\"event\":\"x\",\"pad\":\"{}\"}}\n", "p".repeat(200));
        let mut file = File::create(&path).unwrap();
        let block = line.repeat(1000);
        for _ in 0..100 {
            file.write_all(block.as_bytes()).unwrap();
        }
        drop(file);
        let files = LogFiles { dir: dir.path().to_path_buf(), keep_rotated: 5 };
        let (events, bytes) = files.read_newest(None, 100).unwrap();
        assert_eq!(events.len(), 100);
        assert!(bytes <= READ_CHUNK_BYTES as u64, "read {bytes} of {} bytes", line.len() * 100_000);
        // `since` after every event stops at the first line.
        let (events, bytes) = files.read_newest(Some(OffsetDateTime::now_utc()), 100).unwrap();
        assert!(events.is_empty() && bytes <= READ_CHUNK_BYTES as u64, "read {bytes}");
    }

    #[tokio::test]
    async fn rotation_keeps_n_private_files_and_reads_span_them() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let audit = Audit::open_with(dir.path(), "c1", small(4096, 2)).unwrap();
        for i in 0..200 {
            audit.emit_line(&format!("e{i}"), "T0", "u", true, json!({"pad": "p".repeat(100)}));
            if i % 10 == 0 {
                assert!(audit.flush(Duration::from_secs(5)));
            }
        }
        assert!(audit.flush(Duration::from_secs(5)));
        for name in [LOG_FILE_NAME, "events.log.1", "events.log.2"] {
            let path = dir.path().join(name);
            let meta = std::fs::metadata(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(meta.len() <= 4096, "{name} is {} bytes", meta.len());
            assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{name}");
        }
        assert!(!dir.path().join("events.log.3").exists(), "only two rotated files are kept");
        let kept: usize =
            [LOG_FILE_NAME, "events.log.1", "events.log.2"].iter().map(|n| lines_of(&dir.path().join(n)).len()).sum();
        let events = audit.read(None, 1000).await.unwrap();
        assert_eq!(events.len(), kept);
        let expected: Vec<String> = (200 - kept..200).map(|i| format!("e{i}")).collect();
        assert_eq!(names(&events), expected, "newest events across the files, in order");
        assert!(kept > 30, "three files of 4 KiB hold more than 30 events of ~230 bytes, got {kept}");
        let events = audit.read(None, 20).await.unwrap();
        assert_eq!(names(&events), expected[expected.len() - 20..]);
    }

    #[test]
    fn two_writers_on_one_directory_rotate_without_losing_events() {
        let dir = tempfile::tempdir().unwrap();
        let a = Audit::open_with(dir.path(), "c1", small(8192, 1000)).unwrap();
        let b = Audit::open_with(dir.path(), "c1", small(8192, 1000)).unwrap();
        std::thread::scope(|s| {
            s.spawn(|| {
                (0..500).for_each(|i| a.emit_line(&format!("a{i}"), "T0", "u", true, json!({"pad": "p".repeat(50)})))
            });
            s.spawn(|| {
                (0..500).for_each(|i| b.emit_line(&format!("b{i}"), "T0", "u", true, json!({"pad": "p".repeat(50)})))
            });
        });
        a.close();
        b.close();
        let mut seen = Vec::new();
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n.to_string_lossy().starts_with(LOG_FILE_NAME) && n != LOCK_FILE_NAME) {
                seen.extend(names(&lines_of(&path)));
            }
        }
        seen.sort();
        let mut expected: Vec<String> = (0..500).flat_map(|i| [format!("a{i}"), format!("b{i}")]).collect();
        expected.sort();
        assert_eq!(seen.len(), 1000);
        assert_eq!(seen, expected);
    }

    #[test]
    fn a_full_queue_waits_briefly_then_drops_counts_and_reports() {
        let dir = tempfile::tempdir().unwrap();
        let config = AuditConfig { queue_capacity: 2, full_wait: Duration::from_millis(20), ..AuditConfig::default() };
        // The writer is not started yet, so the queue fills.
        let audit = Audit::open_idle(dir.path(), "c1", config).unwrap();
        let started = Instant::now();
        for i in 0..5 {
            audit.emit_line(&format!("e{i}"), "T0", "u", true, json!({}));
        }
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(60), "three drops wait 20 ms each, took {waited:?}");
        assert!(waited < Duration::from_secs(2), "the wait is bounded, took {waited:?}");
        assert_eq!(audit.dropped(), 3);
        audit.start_writer().unwrap();
        assert!(audit.flush(Duration::from_secs(5)));
        audit.close();
        let events = lines_of(&dir.path().join(LOG_FILE_NAME));
        assert_eq!(names(&events), ["e0", "e1", "audit.dropped"]);
        assert_eq!(events[2]["count"], json!(3));
        assert_eq!(events[2]["code"], json!(DROPPED.code(Outcome::Failure)));
        assert_eq!(audit.dropped(), 3);
    }

    #[test]
    fn close_drains_everything_and_later_events_are_still_written() {
        let dir = tempfile::tempdir().unwrap();
        let audit = Audit::open(dir.path(), "c1").unwrap();
        for i in 0..3000 {
            audit.emit_line(&format!("e{i}"), "T0", "u", true, json!({"i": i}));
        }
        audit.close();
        assert_eq!(lines_of(&dir.path().join(LOG_FILE_NAME)).len(), 3000);
        audit.close();
        audit.emit_line("late", "T0", "u", true, json!({}));
        let events = lines_of(&dir.path().join(LOG_FILE_NAME));
        assert_eq!(events.len(), 3001);
        assert_eq!(events[3000]["event"], json!("late"));
        assert_eq!(audit.dropped(), 0);
        // Dropping also closes: nothing queued is lost.
        let audit = Audit::open(dir.path(), "c1").unwrap();
        audit.emit_line("last", "T0", "u", true, json!({}));
        drop(audit);
        assert_eq!(lines_of(&dir.path().join(LOG_FILE_NAME)).len(), 3002);
    }

    #[test]
    fn emit_does_not_wait_for_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let audit = Audit::open(dir.path(), "c1").unwrap();
        let started = Instant::now();
        for i in 0..DEFAULT_QUEUE_CAPACITY {
            audit.emit_line(&format!("e{i}"), "T0", "u", true, json!({}));
        }
        let took = started.elapsed();
        assert!(audit.flush(Duration::from_secs(10)));
        assert_eq!(audit.dropped(), 0);
        assert!(took < Duration::from_secs(2), "{took:?}");
    }
}
