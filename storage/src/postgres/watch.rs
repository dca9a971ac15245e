//! The background work of a PostgreSQL backend: the listener that turns the event log into this
//! process's watch events, and the maintenance task that expires items and prunes the log.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_postgres::AsyncMessage;
use tokio_util::sync::CancellationToken;

use super::schema::{CHANNEL, NOW_MS};
use super::{Broadcast, Shared, db, event_of, to_revision};
use crate::StorageError;

/// The longest one catch-up read may take before the listener gives up until its next wake-up.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(10);
/// Events read from the log per query.
const FETCH_BATCH: i64 = 1000;

/// Expired items deleted per transaction.
const SWEEP_BATCH: i64 = 1000;

/// First and longest wait between attempts to reconnect the LISTEN connection.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// How long the LISTEN connection may take to answer its periodic check.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// A live LISTEN connection: the client (for its periodic check) and the wake-ups its driver
/// task forwards. The channel closes when the connection ends.
pub(super) struct Listening {
    client: tokio_postgres::Client,
    wake: mpsc::Receiver<()>,
    driver: JoinHandle<()>,
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// Opens the dedicated connection and LISTENs on the change channel.
pub(super) async fn listen(shared: &Shared) -> Result<Listening, tokio_postgres::Error> {
    let mut config = shared.spec.pg.clone();
    config.application_name(&shared.listen_name);
    let (client, mut connection) = config.connect(shared.connector.clone()).await?;
    let (tx, wake) = mpsc::channel(1);
    let driver = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(_))) => {
                    // Full means a wake-up is already pending: one catch-up reads both.
                    let _ = tx.try_send(());
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "PostgreSQL LISTEN connection failed");
                    break;
                }
                None => break,
            }
        }
    });
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    Ok(Listening { client, wake, driver })
}

/// The listener: delivers every change past `last` in revision order until `stop`, then delivers
/// what was committed before it stopped. Reconnects its LISTEN connection with backoff.
pub(super) async fn run(shared: Arc<Shared>, listening: Listening, mut last: u64, stop: CancellationToken) {
    let mut listening = Some(listening);
    let mut poll = tokio::time::interval(shared.options.poll_interval);
    poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut backoff = BACKOFF_MIN;
    let mut retry_at = Instant::now();
    catch_up(&shared, &mut last).await;
    loop {
        if listening.is_none() && Instant::now() >= retry_at {
            match listen(&shared).await {
                Ok(l) => {
                    tracing::info!(target = %shared.target, "PostgreSQL LISTEN connection re-established");
                    listening = Some(l);
                    backoff = BACKOFF_MIN;
                }
                Err(e) => {
                    tracing::warn!(target = %shared.target, error = %super::conn::cause(&e),
                        "cannot re-establish the PostgreSQL LISTEN connection; retrying in {backoff:?}");
                    retry_at = Instant::now() + backoff;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
            // Whatever was committed while the connection was down.
            catch_up(&shared, &mut last).await;
        }
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            woke = wake(&mut listening) => {
                if !woke {
                    tracing::warn!(target = %shared.target, "lost the PostgreSQL LISTEN connection; reconnecting");
                    listening = None;
                }
                catch_up(&shared, &mut last).await;
            }
            _ = poll.tick() => {
                if let Some(l) = &listening {
                    let alive = tokio::time::timeout(CHECK_TIMEOUT, l.client.simple_query("")).await;
                    if !matches!(alive, Ok(Ok(_))) {
                        tracing::warn!(target = %shared.target, "the PostgreSQL LISTEN connection stopped answering; reconnecting");
                        listening = None;
                    }
                }
                catch_up(&shared, &mut last).await;
            }
            () = tokio::time::sleep_until(retry_at), if listening.is_none() => {}
        }
    }
    catch_up(&shared, &mut last).await;
}

/// True on a wake-up, false when the connection ended; pending without a connection.
async fn wake(listening: &mut Option<Listening>) -> bool {
    match listening {
        Some(l) => l.wake.recv().await.is_some(),
        None => std::future::pending().await,
    }
}

/// Reads and broadcasts the events past `last`, in order; on a failure, logs and leaves the rest
/// to the next wake-up or tick.
pub(super) async fn catch_up(shared: &Shared, last: &mut u64) {
    // A black-holed connection must not hang the listener (and close(), which waits for it).
    match tokio::time::timeout(CATCH_UP_TIMEOUT, try_catch_up(shared, last)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e.detail(), "reading PostgreSQL storage events"),
        Err(_) => tracing::warn!("reading PostgreSQL storage events: no answer within {CATCH_UP_TIMEOUT:?}"),
    }
}

async fn try_catch_up(shared: &Shared, last: &mut u64) -> Result<(), StorageError> {
    // Through the pool even while closing: close() waits for this final read.
    let client = shared.pool.get().await.map_err(|e| StorageError::backend_msg(e.to_string()))?;
    let stmt = client
        .prepare_cached(
            "SELECT revision, kind, key, value, expires, item_revision FROM tether_events
             WHERE revision > $1 ORDER BY revision LIMIT $2",
        )
        .await
        .map_err(db("reading events"))?;
    loop {
        let after = i64::try_from(*last).unwrap_or(i64::MAX);
        let rows = client.query(&stmt, &[&after, &FETCH_BATCH]).await.map_err(db("reading events"))?;
        for row in &rows {
            let (revision, event) = event_of(row).map_err(db("reading events"))?;
            if revision > *last + 1 {
                // Every revision is one event, so a hole means pruned before this process read it.
                let lost = revision - *last - 1;
                tracing::warn!(lost, "PostgreSQL storage events were pruned before this host read them");
                shared.broadcast(Broadcast::Lost(lost));
            }
            shared.broadcast(Broadcast::Event { position: revision, event });
            *last = revision;
            shared.seen(revision);
        }
        if rows.len() < usize::try_from(FETCH_BATCH).unwrap_or(usize::MAX) {
            return Ok(());
        }
    }
}

/// Deletes expired items every `sweep_interval` and prunes the event log every `prune_interval`,
/// until `stop`.
pub(super) async fn maintain(shared: Arc<Shared>, stop: CancellationToken) {
    let mut ticker = tokio::time::interval(shared.options.sweep_interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut pruned = Instant::now();
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        if let Err(e) = sweep(&shared).await {
            tracing::warn!(error = %e.detail(), "deleting expired PostgreSQL storage items");
        }
        if pruned.elapsed() >= shared.options.prune_interval {
            pruned = Instant::now();
            if let Err(e) = prune(&shared).await {
                tracing::warn!(error = %e.detail(), "pruning PostgreSQL storage events");
            }
        }
    }
}

/// Deletes the expired items (up to a batch) and appends a Delete event for each. Several hosts
/// may sweep at once: the counter lock makes them take turns, and the later ones find nothing.
/// Returns how many were deleted.
pub(super) async fn sweep(shared: &Shared) -> Result<usize, StorageError> {
    let mut client = shared.client().await?;
    // Cheap check first, without the lock every writer waits for.
    let any: bool = client
        .query_one(&format!("SELECT EXISTS (SELECT 1 FROM tether_items WHERE expires <= {NOW_MS})"), &[])
        .await
        .and_then(|row| row.try_get(0))
        .map_err(db("sweep"))?;
    if !any {
        return Ok(0);
    }
    let tx = client.transaction().await.map_err(db("begin"))?;
    let base: i64 = tx
        .query_one("SELECT revision FROM tether_meta WHERE id = 1 FOR UPDATE", &[])
        .await
        .and_then(|row| row.try_get(0))
        .map_err(db("revision"))?;
    let rows = tx
        .query(
            &format!(
                "DELETE FROM tether_items WHERE key IN (
                     SELECT key FROM tether_items WHERE expires <= {NOW_MS} ORDER BY key LIMIT $1
                 ) RETURNING key, revision"
            ),
            &[&SWEEP_BATCH],
        )
        .await
        .map_err(db("sweep"))?;
    let mut deleted = rows
        .iter()
        .map(|row| Ok((row.try_get::<_, String>(0)?, row.try_get::<_, i64>(1)?)))
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()
        .map_err(db("sweep"))?;
    if deleted.is_empty() {
        tx.rollback().await.map_err(db("rollback"))?;
        return Ok(0);
    }
    deleted.sort();
    let count = i64::try_from(deleted.len()).unwrap_or(i64::MAX);
    let revisions: Vec<i64> = (1..=count).map(|i| base + i).collect();
    let (keys, item_revisions): (Vec<String>, Vec<i64>) = deleted.into_iter().unzip();
    tx.query(
        &format!(
            "WITH event AS (
                 INSERT INTO tether_events (revision, kind, key, value, expires, item_revision, created_ms)
                 SELECT r, 'delete', k, ''::bytea, NULL, ir, {NOW_MS}
                 FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS t (r, k, ir)
             ), meta AS (
                 UPDATE tether_meta SET revision = $4 WHERE id = 1
             )
             SELECT pg_notify('{CHANNEL}', '')"
        ),
        &[&revisions, &keys, &item_revisions, &(base + count)],
    )
    .await
    .map_err(db("sweep"))?;
    tx.commit().await.map_err(db("commit"))?;
    shared.seen(to_revision(base + count));
    Ok(keys.len())
}

/// Deletes the events older than the retention time and those beyond the newest `keep_events`,
/// always keeping the newest one, so a reader that fell behind the pruning sees the gap (and
/// reports lost events) at once. Returns how many were deleted.
pub(super) async fn prune(shared: &Shared) -> Result<u64, StorageError> {
    let client = shared.client().await?;
    let retention_ms = i64::try_from(shared.options.retention.as_millis()).unwrap_or(i64::MAX);
    client
        .execute(
            &format!(
                "DELETE FROM tether_events WHERE revision <= GREATEST(
                     (SELECT revision FROM tether_meta WHERE id = 1) - $1,
                     (SELECT max(revision) FROM tether_events WHERE created_ms < {NOW_MS} - $2)
                 ) AND revision < (SELECT max(revision) FROM tether_events)"
            ),
            &[&shared.options.keep_events, &retention_ms],
        )
        .await
        .map_err(db("prune"))
}
