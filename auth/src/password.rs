//! Password and secret hashing: argon2id for passwords, SHA-256 for high-entropy tokens, and
//! constant-time comparison for both.
//!
//! Argon2 is deliberately slow (tens of milliseconds, 19 MiB each), so async code calls the
//! `*_async` forms: they run on tokio's blocking threads, at most [`max_concurrent_hashes`] at
//! once, so a burst of logins neither stalls the runtime's workers nor takes 19 MiB per waiting
//! request. An unknown user is checked against [`DUMMY_HASH`], which has the shape of a real
//! hash, so it costs the same argon2 work as a wrong password.

use std::sync::{Arc, OnceLock};

use argon2::{Algorithm, Argon2, Params, Version};
use ring::rand::{SecureRandom, SystemRandom};
use tokio::sync::Semaphore;

const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;

/// A stored-hash stand-in with a 16-byte salt and a 32-byte hash, like every real one: checking
/// a password against it runs the full argon2 computation (a shorter hash would let argon2
/// return early and tell unknown users apart by timing). No password is expected to match it,
/// and callers refuse the login whatever the result.
pub const DUMMY_HASH: &str =
    "argon2id$5465746865722d64756d6d7973616c74$c3f1a2b4d5e6978800112233445566778899aabbccddeeff0f1e2d3c4b5a6978";

/// How many argon2 computations run at once: the machine's parallelism, at least 2.
pub fn max_concurrent_hashes() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).max(2)
}

fn hashing_slots() -> Arc<Semaphore> {
    static SLOTS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    SLOTS.get_or_init(|| Arc::new(Semaphore::new(max_concurrent_hashes()))).clone()
}

/// Runs `work` on a blocking thread once a hashing slot is free. The slot is held by the
/// blocking closure, so a caller that gives up does not free it before the work ends.
async fn off_runtime<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    let slot = hashing_slots().acquire_owned().await.map_err(|e| format!("password hashing: {e}"))?;
    tokio::task::spawn_blocking(move || {
        let out = work();
        drop(slot);
        out
    })
    .await
    .map_err(|e| format!("password hashing failed: {e}"))
}

/// [`hash_password`] on a blocking thread.
pub async fn hash_password_async(password: String) -> Result<String, String> {
    off_runtime(move || hash_password(&password)).await?
}

/// [`verify_password`] on a blocking thread; false when the check could not run.
pub async fn verify_password_async(password: String, stored: String) -> bool {
    off_runtime(move || verify_password(&password, &stored)).await.unwrap_or(false)
}

/// Spends what checking a real password costs, for a user with no password (unknown, or
/// invited and not yet logged in).
pub async fn verify_unknown_user(password: String) {
    let _ = verify_password_async(password, DUMMY_HASH.to_string()).await;
}

fn hasher() -> Result<Argon2<'static>, String> {
    // OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, Some(HASH_LEN)).map_err(|e| e.to_string())?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password with a fresh random salt: `argon2id$<salt hex>$<hash hex>`.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; SALT_LEN];
    SystemRandom::new().fill(&mut salt).map_err(|_| "no randomness available".to_string())?;
    let mut out = [0u8; HASH_LEN];
    hasher()?.hash_password_into(password.as_bytes(), &salt, &mut out).map_err(|e| e.to_string())?;
    Ok(format!("argon2id${}${}", hex(&salt), hex(&out)))
}

/// What checking a password against a stored hash did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Hashed, and the hash matched.
    Matched,
    /// Hashed, and the hash differed.
    Differed,
    /// Refused without the argon2 work: the stored hash is not `argon2id$SALT$HASH` with a
    /// 16-byte salt and a 32-byte hash.
    Unusable,
}

fn check_password(password: &str, stored: &str) -> Check {
    let mut parts = stored.split('$');
    let (Some("argon2id"), Some(salt), Some(hash), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Check::Unusable;
    };
    let (Some(salt), Some(expected)) = (unhex(salt), unhex(hash)) else { return Check::Unusable };
    if salt.len() != SALT_LEN || expected.len() != HASH_LEN {
        return Check::Unusable;
    }
    let mut out = [0u8; HASH_LEN];
    let Ok(h) = hasher() else { return Check::Unusable };
    if h.hash_password_into(password.as_bytes(), &salt, &mut out).is_err() {
        return Check::Unusable;
    }
    if constant_time_eq(&out, &expected) { Check::Matched } else { Check::Differed }
}

/// Checks a password against a stored hash, in constant time.
pub fn verify_password(password: &str, stored: &str) -> bool {
    check_password(password, stored) == Check::Matched
}

/// SHA-256 of a token, hex: how tokens and invites are stored and looked up.
pub fn hash_token(token: &str) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref())
}

/// A fresh random token: 32 hex characters (128 bits).
pub fn random_token() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    SystemRandom::new().fill(&mut bytes).map_err(|_| "no randomness available".to_string())?;
    Ok(hex(&bytes))
}

/// Compares two byte strings without early exit.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_salts_differ() {
        let a = hash_password("correct horse").unwrap();
        let b = hash_password("correct horse").unwrap();
        assert_ne!(a, b, "salted");
        assert!(verify_password("correct horse", &a));
        assert!(!verify_password("wrong horse", &a));
        assert!(!verify_password("correct horse", "garbage"));
        assert!(!verify_password("correct horse", "argon2id$zz$00"));
    }

    #[test]
    fn the_dummy_hash_has_the_shape_of_a_real_one() {
        let real = hash_password("correct horse").unwrap();
        let shape = |h: &str| h.split('$').map(|p| p.len()).collect::<Vec<_>>();
        assert_eq!(shape(DUMMY_HASH), shape(&real));
        assert_eq!(shape(DUMMY_HASH), [8, 2 * SALT_LEN, 2 * HASH_LEN]);
        let mut parts = DUMMY_HASH.split('$').skip(1);
        assert!(parts.all(|p| unhex(p).is_some()), "hex");
        assert!(!verify_password("", DUMMY_HASH) && !verify_password("correct horse", DUMMY_HASH));
    }

    #[test]
    fn checking_against_the_dummy_does_the_full_argon2_work() {
        // The dummy is hashed like a real record (only the outcome differs) …
        let real = hash_password("correct horse").unwrap();
        assert_eq!(check_password("wrong horse", &real), Check::Differed);
        assert_eq!(check_password("correct horse", &real), Check::Matched);
        assert_eq!(check_password("correct horse", DUMMY_HASH), Check::Differed);
        // … while the old stand-in (a one-byte hash) was refused before any work: 3 ms, not 34.
        assert_eq!(check_password("correct horse", "argon2id$00000000000000000000000000000000$00"), Check::Unusable);
        assert_eq!(check_password("correct horse", "argon2id$00$0000"), Check::Unusable);
    }

    #[tokio::test]
    async fn async_forms_agree_with_the_blocking_ones() {
        let hash = hash_password_async("correct horse".into()).await.unwrap();
        assert!(verify_password_async("correct horse".into(), hash.clone()).await);
        assert!(!verify_password_async("wrong horse".into(), hash).await);
        // Many at once still finish (the slots are released).
        let checks: Vec<_> =
            (0..2 * max_concurrent_hashes()).map(|_| tokio::spawn(verify_unknown_user("x".into()))).collect();
        for check in checks {
            check.await.unwrap();
        }
    }

    #[test]
    fn tokens() {
        let t = random_token().unwrap();
        assert_eq!(t.len(), 32);
        assert_eq!(hash_token(&t), hash_token(&t));
        assert_ne!(hash_token(&t), hash_token("other"));
        assert!(
            constant_time_eq(b"abc", b"abc") && !constant_time_eq(b"abc", b"abd") && !constant_time_eq(b"a", b"ab")
        );
    }
}
