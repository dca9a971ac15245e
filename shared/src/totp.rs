//! Time-based one-time passwords (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits), the second
//! factor a cluster may require at login, with the base32 secrets and `otpauth://` URIs that
//! authenticator apps read.

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

/// Seconds per step.
pub const STEP: u64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A fresh 160-bit secret, base32 (no padding).
pub fn generate_secret() -> Option<String> {
    let mut bytes = [0u8; 20];
    SystemRandom::new().fill(&mut bytes).ok()?;
    Some(base32_encode(&bytes))
}

/// RFC 4648 base32 without padding.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(symbol(buffer >> bits));
        }
    }
    if bits > 0 {
        out.push(symbol(buffer << (5 - bits)));
    }
    out
}

/// The base32 symbol for the low five bits of `value`.
fn symbol(value: u32) -> char {
    ALPHABET.get((value & 31) as usize).map_or('A', |b| *b as char)
}

/// Decodes base32 (case-insensitive, padding and spaces ignored).
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| *c != '=' && !c.is_whitespace()) {
        let value = ALPHABET.iter().position(|a| *a as char == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

/// The code for time step `step` (Unix seconds / [`STEP`]).
pub fn code_at_step(secret: &[u8], step: u64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = hmac::sign(&key, &step.to_be_bytes());
    let mac = tag.as_ref();
    // RFC 4226 dynamic truncation: HMAC-SHA1 is 20 bytes, so offset + 4 <= 19 always holds.
    let offset = mac.last().map_or(0, |b| usize::from(b & 0x0f));
    let window = mac.get(offset..offset + 4).and_then(|w| <[u8; 4]>::try_from(w).ok()).unwrap_or_default();
    let value = u32::from_be_bytes(window) & 0x7fff_ffff;
    format!("{:0width$}", value % 10u32.pow(DIGITS), width = DIGITS as usize)
}

/// The code at Unix time `unix_secs`.
pub fn code(secret: &[u8], unix_secs: u64) -> String {
    code_at_step(secret, unix_secs / STEP)
}

/// Checks `candidate` against the steps around `unix_secs` (one step of clock skew either way);
/// returns the matching step so callers can refuse its reuse. Compares in constant time.
pub fn verify(secret: &[u8], candidate: &str, unix_secs: u64) -> Option<u64> {
    let candidate = candidate.trim();
    let now = unix_secs / STEP;
    let mut found = None;
    for step in [now.saturating_sub(1), now, now + 1] {
        let expected = code_at_step(secret, step);
        let same = expected.len() == candidate.len()
            && expected.bytes().zip(candidate.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        if same && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// The `otpauth://` URI authenticator apps import.
pub fn otpauth_uri(issuer: &str, user: &str, secret_b32: &str) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    format!(
        "otpauth://totp/{}:{}?secret={secret_b32}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP}",
        enc(issuer),
        enc(user),
        enc(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vectors() {
        let secret = b"12345678901234567890";
        // RFC 6238 appendix B, truncated to 6 digits.
        for (t, want) in [(59, "287082"), (1111111109, "081804"), (1111111111, "050471"), (1234567890, "005924")] {
            assert_eq!(code(secret, t), want, "t={t}");
        }
    }

    #[test]
    fn base32_round_trip_and_verify_window() {
        let secret = generate_secret().unwrap();
        let bytes = base32_decode(&secret).unwrap();
        assert_eq!(bytes.len(), 20);
        assert_eq!(base32_encode(&bytes), secret);
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        let now = 1_700_000_000;
        assert_eq!(verify(&bytes, &code(&bytes, now), now), Some(now / STEP));
        assert!(verify(&bytes, &code(&bytes, now - 30), now).is_some(), "one step of skew");
        assert!(verify(&bytes, &code(&bytes, now - 90), now).is_none());
        assert!(verify(&bytes, "12345", now).is_none());
        assert!(base32_decode("not base32!").is_none());
        assert!(
            otpauth_uri("root cluster", "alice", &secret).starts_with("otpauth://totp/root%20cluster:alice?secret=")
        );
    }
}
