//! Password and secret hashing: argon2id for passwords, SHA-256 for high-entropy tokens, and
//! constant-time comparison for both.

use argon2::{Algorithm, Argon2, Params, Version};
use ring::rand::{SecureRandom, SystemRandom};

const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;

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

/// Checks a password against a stored hash, in constant time.
pub fn verify_password(password: &str, stored: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some("argon2id"), Some(salt), Some(hash), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Some(salt), Some(expected)) = (unhex(salt), unhex(hash)) else { return false };
    let mut out = vec![0u8; expected.len()];
    let Ok(h) = hasher() else { return false };
    if h.hash_password_into(password.as_bytes(), &salt, &mut out).is_err() {
        return false;
    }
    constant_time_eq(&out, &expected)
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
