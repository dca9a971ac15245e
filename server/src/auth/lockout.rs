//! Failed-login limits that hold across every auth host sharing the storage: one counter per
//! hashed user name and one per source address under `/locks/logins/`, each living
//! [`LOCKOUT_WINDOW`] from its first failure (a storage TTL, so nothing needs sweeping), and
//! incremented with compare-and-swap so failures counted at once on several hosts all count.
//!
//! Only failed logins write (each has already cost an argon2 hash, and the web API's per-source
//! request limit bounds them), so an attacker cannot turn ordinary traffic into storage writes.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{AuthError, AuthService, LOCKOUT_WINDOW, MAX_FAILED_LOGINS, password};
use crate::storage::StorageError;

/// The storage prefix of the counters.
pub const PREFIX: &str = "/locks/logins/";
/// How often one failure retries its compare-and-swap against concurrent writers.
const CAS_ATTEMPTS: usize = 16;

/// One counter's stored value.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Failures {
    count: u32,
}

/// The keys failed logins are counted under. The user name is hashed, so each key is small
/// whatever name a client sends (a request body may carry a 256 KiB one).
fn keys(user: &str, source: &str) -> [String; 2] {
    [format!("{PREFIX}user/{}", password::hash_token(user)), format!("{PREFIX}addr/{source}")]
}

impl AuthService {
    /// Refuses when the user or the source is over the failed-login limit.
    pub(super) async fn check_lockout(&self, user: &str, source: &str) -> Result<(), AuthError> {
        for key in keys(user, source) {
            let Some(item) = self.backend.get(&key).await? else { continue };
            let failures: Failures = serde_json::from_slice(&item.value).unwrap_or_default();
            if failures.count >= MAX_FAILED_LOGINS {
                return Err(AuthError::RateLimited(format!(
                    "too many failed logins for {} or from {source}; try again in a minute",
                    crate::audit::truncate(user, 64)
                )));
            }
        }
        Ok(())
    }

    /// Counts a failed login for the user and the source. A storage failure is logged: the
    /// login has failed anyway, and the next one is checked against what was stored.
    pub(super) async fn record_failure(&self, user: &str, source: &str) {
        for key in keys(user, source) {
            if let Err(e) = self.count_failure(&key).await {
                tracing::warn!("auth: cannot count a failed login: {e}");
            }
        }
    }

    async fn count_failure(&self, key: &str) -> Result<(), StorageError> {
        for _ in 0..CAS_ATTEMPTS {
            let Some(item) = self.backend.get(key).await? else {
                let value = serde_json::to_vec(&Failures { count: 1 }).unwrap_or_default();
                let expires = SystemTime::now() + LOCKOUT_WINDOW;
                match self.backend.create(key, value, Some(expires)).await {
                    Err(StorageError::AlreadyExists(_)) => continue,
                    other => return other.map(drop),
                }
            };
            let failures: Failures = serde_json::from_slice(&item.value).unwrap_or_default();
            let value = serde_json::to_vec(&Failures { count: failures.count.saturating_add(1) }).unwrap_or_default();
            // The window runs from the first failure: keep its expiry.
            match self.backend.compare_and_swap(key, item.revision, value, item.expires).await {
                Err(StorageError::Conflict { .. } | StorageError::NotFound(_)) => continue,
                other => return other.map(drop),
            }
        }
        Err(StorageError::backend_msg(format!("{key}: too much contention counting a failed login")))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::{AuthError, AuthService, MAX_FAILED_LOGINS};
    use crate::audit::Audit;
    use crate::storage::sqlite::SqliteBackend;

    #[tokio::test]
    async fn failures_counted_by_two_services_on_one_storage_add_up() {
        let dir = tempfile::tempdir().unwrap();
        let backend = SqliteBackend::open(dir.path().join("shared.db")).await.unwrap();
        let audit = Arc::new(Audit::open(&dir.path().join("log"), "c.example.com").unwrap());
        let a = AuthService::init(backend.clone(), "c.example.com", audit.clone(), false).await.unwrap();
        let b = AuthService::init(backend, "c.example.com", audit, false).await.unwrap();
        // Concurrent failures through both: none is lost to a lost update.
        let mut tasks = Vec::new();
        for i in 0..MAX_FAILED_LOGINS {
            let auth = if i % 2 == 0 { a.clone() } else { b.clone() };
            tasks.push(tokio::spawn(async move { auth.record_failure("bob", "10.0.0.1").await }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        for auth in [&a, &b] {
            let err = auth.check_lockout("bob", "10.0.0.9").await.unwrap_err();
            assert!(
                matches!(&err, AuthError::RateLimited(m) if m.starts_with("too many failed logins for bob")),
                "{err}"
            );
            // The source is over the limit too, whoever logs in from it.
            assert!(auth.check_lockout("carol", "10.0.0.1").await.is_err());
        }
        assert!(a.check_lockout("carol", "10.0.0.9").await.is_ok());
    }
}
