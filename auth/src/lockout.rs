//! Failed-login limits that hold across every auth host sharing the storage: one counter per
//! hashed user name and one per source address under `/locks/logins/`, each living
//! [`LOCKOUT_WINDOW`] from its first failure (a storage TTL, so nothing needs sweeping), and
//! incremented with compare-and-swap so failures counted at once on several hosts all count.
//!
//! An attempt is counted before its password is checked (so concurrent guesses cannot all pass
//! a check made before any of them failed) and given back when it succeeds. The web API's
//! per-source request limit bounds the writes. Behind a balancer that hides client addresses
//! every client shares one source: the balancer must pass the client's address through.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{AuthError, LOCKOUT_WINDOW, Logins, MAX_FAILED_LOGINS, password};
use tether_storage::StorageError;

/// The storage prefix of the counters.
pub const PREFIX: &str = "/locks/logins/";
/// How often one count retries its compare-and-swap against concurrent writers.
const CAS_ATTEMPTS: usize = 64;

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

impl Logins {
    /// Counts a login attempt for the user and the source *before* its password is checked, and
    /// refuses it when either is over the limit. Counting first means concurrent guesses cannot
    /// all slip past a check made before any of them failed. A successful login gives its
    /// attempt back ([`Logins::release_attempt`]), so only failures accumulate.
    pub(super) async fn reserve_attempt(&self, user: &str, source: &str) -> Result<(), AuthError> {
        let mut over = false;
        for key in keys(user, source) {
            over |= self.bump(&key, 1).await? > MAX_FAILED_LOGINS;
        }
        if over {
            return Err(AuthError::RateLimited {
                message: format!(
                    "too many failed logins for {} or from {source}; try again in a minute",
                    tether_audit::truncate(user, 64)
                ),
                // The counters expire a window after their first failure: at most this long.
                retry_after: LOCKOUT_WINDOW,
            });
        }
        Ok(())
    }

    /// Gives back the attempt a successful login reserved. A storage failure is logged: the
    /// window ends the count anyway.
    pub(super) async fn release_attempt(&self, user: &str, source: &str) {
        for key in keys(user, source) {
            if let Err(e) = self.bump(&key, -1).await {
                tracing::warn!("auth: cannot release a login attempt: {e}");
            }
        }
    }

    /// Adds `delta` to a counter (never below 0), creating it with the window's TTL; the new
    /// count.
    async fn bump(&self, key: &str, delta: i64) -> Result<u32, StorageError> {
        for _ in 0..CAS_ATTEMPTS {
            let Some(item) = self.core.backend.get(key).await? else {
                if delta <= 0 {
                    return Ok(0);
                }
                let value = serde_json::to_vec(&Failures { count: 1 }).unwrap_or_default();
                let expires = SystemTime::now() + LOCKOUT_WINDOW;
                match self.core.backend.create(key, value, Some(expires)).await {
                    Err(StorageError::AlreadyExists(_)) => continue,
                    other => return other.map(|_| 1),
                }
            };
            let failures: Failures = serde_json::from_slice(&item.value).unwrap_or_default();
            let count = u32::try_from((i64::from(failures.count) + delta).max(0)).unwrap_or(u32::MAX);
            let value = serde_json::to_vec(&Failures { count }).unwrap_or_default();
            // The window runs from the first attempt: keep its expiry.
            match self.core.backend.compare_and_swap(key, item.revision, value, item.expires).await {
                Err(StorageError::Conflict { .. } | StorageError::NotFound(_)) => tokio::task::yield_now().await,
                other => return other.map(|_| count),
            }
        }
        Err(StorageError::backend_msg(format!("{key}: too much contention counting a login attempt")))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::{AuthError, AuthService, LOCKOUT_WINDOW, MAX_FAILED_LOGINS};
    use tether_audit::Audit;
    use tether_storage::sqlite::SqliteBackend;

    #[tokio::test]
    async fn concurrent_attempts_through_two_services_cannot_pass_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let backend = SqliteBackend::open(dir.path().join("shared.db")).await.unwrap();
        let audit = Arc::new(Audit::open(&dir.path().join("log"), "c.example.com").unwrap());
        let a = AuthService::init(
            backend.clone(),
            "c.example.com",
            audit.clone(),
            false,
            &crate::sealed::KekSource::Fixed([7; 32]),
        )
        .await
        .unwrap();
        let b = AuthService::init(backend, "c.example.com", audit, false, &crate::sealed::KekSource::Fixed([7; 32]))
            .await
            .unwrap();
        // 20 guesses at once, half through each service: only the limit's worth get through.
        let mut tasks = Vec::new();
        for i in 0..20 {
            let auth = if i % 2 == 0 { a.clone() } else { b.clone() };
            tasks.push(tokio::spawn(async move { auth.logins().reserve_attempt("bob", "10.0.0.1").await.is_ok() }));
        }
        let mut passed = 0;
        for t in tasks {
            passed += usize::from(t.await.unwrap());
        }
        // At most the limit (fewer when the user's and the source's counters saw the attempts
        // in different orders); checking before counting let all 20 through.
        assert!((1..=MAX_FAILED_LOGINS as usize).contains(&passed), "{passed} of 20 concurrent guesses passed");
        for auth in [&a, &b] {
            let err = auth.logins().reserve_attempt("bob", "10.0.0.9").await.unwrap_err();
            assert!(
                matches!(&err, AuthError::RateLimited { message, retry_after }
                    if message.starts_with("too many failed logins for bob") && *retry_after == LOCKOUT_WINDOW),
                "{err}"
            );
            // The source is over the limit too, whoever logs in from it.
            assert!(auth.logins().reserve_attempt("carol", "10.0.0.1").await.is_err());
        }
        assert!(a.logins().reserve_attempt("carol", "10.0.0.9").await.is_ok());
    }

    #[tokio::test]
    async fn successful_logins_give_their_attempt_back() {
        let dir = tempfile::tempdir().unwrap();
        let auth = super::super::testing::cluster(&dir, "c.example.com").await;
        for _ in 0..3 * MAX_FAILED_LOGINS {
            auth.logins().reserve_attempt("dave", "10.0.0.2").await.unwrap();
            auth.logins().release_attempt("dave", "10.0.0.2").await;
        }
        auth.logins().reserve_attempt("dave", "10.0.0.2").await.unwrap();
    }

    #[tokio::test]
    async fn exactly_the_limit_passes_within_a_window_that_runs_from_the_first_failure() {
        let dir = tempfile::tempdir().unwrap();
        let auth = super::super::testing::cluster(&dir, "c.example.com").await;
        let logins = auth.logins();
        let started = std::time::SystemTime::now();
        for _ in 0..MAX_FAILED_LOGINS {
            logins.reserve_attempt("eve", "10.0.0.3").await.unwrap();
        }
        assert!(logins.reserve_attempt("eve", "10.0.0.4").await.is_err(), "the user is over the limit");
        assert!(logins.reserve_attempt("frank", "10.0.0.3").await.is_err(), "so is the source");
        let [user_key, _] = super::keys("eve", "10.0.0.3");
        let item = auth.backend().get(&user_key).await.unwrap().unwrap();
        let expires = item.expires.unwrap().duration_since(started).unwrap();
        assert!(
            expires <= LOCKOUT_WINDOW + std::time::Duration::from_secs(1) && expires > LOCKOUT_WINDOW / 2,
            "{expires:?}"
        );
        // Giving back more than was taken leaves the count at zero, and a source never seen
        // gets no record.
        for _ in 0..2 {
            logins.release_attempt("grace", "10.0.0.5").await;
        }
        let [grace, source] = super::keys("grace", "10.0.0.5");
        assert!(
            auth.backend().get(&grace).await.unwrap().is_none() && auth.backend().get(&source).await.unwrap().is_none()
        );
        logins.reserve_attempt("heidi", "10.0.0.6").await.unwrap();
        for _ in 0..3 {
            logins.release_attempt("heidi", "10.0.0.6").await;
        }
        for _ in 0..MAX_FAILED_LOGINS {
            logins.reserve_attempt("heidi", "10.0.0.6").await.unwrap();
        }
        assert!(logins.reserve_attempt("heidi", "10.0.0.6").await.is_err());
    }
}
