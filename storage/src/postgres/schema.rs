//! The PostgreSQL schema, created (or checked) once per database by [`migrate`].
//!
//! - `tether_meta`: one row holding the revision counter and the schema version. Every write
//!   transaction locks this row first (`UPDATE … RETURNING` or `SELECT … FOR UPDATE`) and holds the
//!   lock until it commits, so writers are serialised and revisions are handed out in commit order.
//! - `tether_items`: the live state, one row per key (`COLLATE "C"`: byte order, like Rust's).
//! - `tether_events`: the change log, one row per change at the counter value the change took
//!   (`revision`); a Delete's `item_revision` is the deleted item's. Written in the transaction of
//!   the change, read by every host's listener, pruned after a while.

use deadpool_postgres::Client;

use super::db;
use crate::StorageError;

/// The schema version this code writes; [`migrate`] brings anything older up to it.
pub const SCHEMA_VERSION: i32 = 1;

/// The NOTIFY channel every change transaction signals.
pub const CHANNEL: &str = "tether_events";

/// `pg_advisory_xact_lock` key serialising the migrations of hosts starting at once
/// ("tether" in ASCII).
const MIGRATION_LOCK: i64 = 0x7465_7468_6572;

/// The database clock in Unix milliseconds: expiry is judged by one clock for every host.
pub const NOW_MS: &str = "floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

const META: &str = "
CREATE TABLE IF NOT EXISTS tether_meta (
    id             integer PRIMARY KEY CHECK (id = 1),
    revision       bigint  NOT NULL,
    schema_version integer NOT NULL
);
INSERT INTO tether_meta (id, revision, schema_version) VALUES (1, 0, 0) ON CONFLICT (id) DO NOTHING;
";

/// Version 0 to 1.
const SCHEMA_V1: &str = r#"
CREATE TABLE IF NOT EXISTS tether_items (
    key      text COLLATE "C" PRIMARY KEY,
    value    bytea  NOT NULL,
    expires  bigint NULL,
    revision bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS tether_items_expires ON tether_items (expires) WHERE expires IS NOT NULL;
CREATE TABLE IF NOT EXISTS tether_events (
    revision      bigint PRIMARY KEY,
    kind          text   NOT NULL CHECK (kind IN ('put', 'delete')),
    key           text   COLLATE "C" NOT NULL,
    value         bytea  NOT NULL,
    expires       bigint NULL,
    item_revision bigint NOT NULL,
    created_ms    bigint NOT NULL
);
"#;

/// Creates the tables if missing, or checks their version, under an advisory lock so that
/// several hosts starting at once do not race.
pub async fn migrate(client: &mut Client) -> Result<(), StorageError> {
    let tx = client.transaction().await.map_err(db("begin migration"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(db("migration lock"))?;
    tx.batch_execute(META).await.map_err(db("creating tether_meta"))?;
    let version: i32 = tx
        .query_one("SELECT schema_version FROM tether_meta WHERE id = 1", &[])
        .await
        .and_then(|row| row.try_get(0))
        .map_err(db("reading the schema version"))?;
    if version > SCHEMA_VERSION {
        return Err(StorageError::backend_msg(format!(
            "the PostgreSQL schema is at version {version}, newer than this tether supports ({SCHEMA_VERSION})"
        )));
    }
    if version < 1 {
        tx.batch_execute(SCHEMA_V1).await.map_err(db("creating the schema"))?;
    }
    // Later versions add their steps here: `if version < 2 { ... }`.
    if version < SCHEMA_VERSION {
        tx.execute("UPDATE tether_meta SET schema_version = $1 WHERE id = 1", &[&SCHEMA_VERSION])
            .await
            .map_err(db("setting the schema version"))?;
    }
    tx.commit().await.map_err(db("commit migration"))
}
