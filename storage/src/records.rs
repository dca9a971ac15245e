//! Typed resources on top of the key-value [`Backend`]: keys, JSON encoding, revisions as
//! `metadata.id`, and expiry from `metadata.expires`.
//!
//! Layout: `/resources/KIND/NAME` for every resource kind except CAs, which live at
//! `/resources/cert_authority/CLUSTER/TYPE`; secrets (password hashes, invites, join tokens,
//! CA private keys) under `/secrets/`.

use std::sync::Arc;
use std::time::SystemTime;

use tether_shared::resource::{CaType, Kind, Resource, parse_resources};

use crate::{Backend, Item, StorageError};

/// The storage key of a resource.
pub fn key_of(resource: &Resource) -> String {
    match resource {
        Resource::CertAuthority(ca) => ca_key(&ca.spec.cluster_name, ca.spec.ca_type),
        r => format!("/resources/{}/{}", r.kind(), r.name()),
    }
}

/// The storage key of a resource by kind and name.
pub fn key(kind: Kind, name: &str) -> String {
    format!("/resources/{kind}/{name}")
}

/// The storage key of a CA's public resource.
pub fn ca_key(cluster: &str, ca_type: CaType) -> String {
    format!("/resources/cert_authority/{cluster}/{ca_type}")
}

/// The prefix of every resource of a kind.
pub fn prefix(kind: Kind) -> String {
    format!("/resources/{kind}/")
}

fn decode(item: &Item) -> Result<Resource, StorageError> {
    let text = std::str::from_utf8(&item.value).map_err(|e| StorageError::backend_msg(format!("{}: {e}", item.key)))?;
    let mut all = parse_resources(&item.key, text).map_err(|e| StorageError::backend_msg(e.to_string()))?;
    let mut resource = all.pop().ok_or_else(|| StorageError::backend_msg(format!("{}: empty record", item.key)))?;
    resource.metadata_mut().id = Some(item.revision);
    Ok(resource)
}

fn encode(resource: &Resource) -> Result<Vec<u8>, StorageError> {
    let mut stored = resource.clone();
    stored.metadata_mut().id = None;
    serde_json::to_vec(&stored).map_err(|e| StorageError::backend_msg(e.to_string()))
}

fn expiry(resource: &Resource) -> Option<SystemTime> {
    resource.metadata().expires.map(SystemTime::from)
}

/// Reads one resource.
pub async fn get(backend: &Arc<dyn Backend>, key: &str) -> Result<Option<Resource>, StorageError> {
    backend.get(key).await?.as_ref().map(decode).transpose()
}

/// Lists the resources under a prefix, sorted by key.
pub async fn list(backend: &Arc<dyn Backend>, prefix: &str) -> Result<Vec<Resource>, StorageError> {
    backend.range(prefix).await?.iter().map(decode).collect()
}

/// Creates a resource; `AlreadyExists` when one with that name exists.
pub async fn create(backend: &Arc<dyn Backend>, resource: &Resource) -> Result<u64, StorageError> {
    backend.create(&key_of(resource), encode(resource)?, expiry(resource)).await
}

/// A resource with the revision it is stored at.
pub async fn get_revision(backend: &Arc<dyn Backend>, key: &str) -> Result<Option<(Resource, u64)>, StorageError> {
    match backend.get(key).await? {
        Some(item) => Ok(Some((decode(&item)?, item.revision))),
        None => Ok(None),
    }
}

/// Replaces a resource only while it is at `revision` ([`StorageError::Conflict`] when another
/// write came first): read, change, write back without losing a concurrent change.
pub async fn replace(backend: &Arc<dyn Backend>, resource: &Resource, revision: u64) -> Result<u64, StorageError> {
    backend.compare_and_swap(&key_of(resource), revision, encode(resource)?, expiry(resource)).await
}

/// Creates or replaces a resource.
pub async fn upsert(backend: &Arc<dyn Backend>, resource: &Resource) -> Result<u64, StorageError> {
    backend.put(&key_of(resource), encode(resource)?, expiry(resource)).await
}
