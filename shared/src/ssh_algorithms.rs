//! The SSH algorithm preferences every Tether SSH endpoint uses: `tsh`, the leaf's tunnel agent
//! and every server listener (proxy relay, tunnel listener, node).
//!
//! The client's order decides what a connection runs. russh's default puts
//! chacha20-poly1305 first; ring's poly1305 is portable C on x86_64 while its AES-GCM uses
//! AES-NI / VAES, so AES-GCM goes first (measured in `bench/`: chacha + poly1305 were 41 % of all
//! CPU samples of a 1 GiB transfer). chacha20-poly1305 stays for peers that want it.
//!
//! What is offered at all is only what a current OpenSSH client needs, the sets security scanners
//! (`ssh-audit`) pass without a failure: key exchange by the post-quantum hybrid
//! `mlkem768x25519-sha256` or X25519 (no finite-field Diffie-Hellman, no group exchange),
//! authenticated ciphers only (AES-GCM, chacha20-poly1305; no CTR), encrypt-then-MAC MACs only,
//! and compression either none or `zlib@openssh.com`, which starts only after authentication.

use std::borrow::Cow;

use russh::Preferred;
use russh::cipher::Name;

/// Ciphers, fastest first on CPUs with AES instructions; authenticated encryption only.
pub const CIPHERS: &[Name] =
    &[russh::cipher::AES_128_GCM, russh::cipher::AES_256_GCM, russh::cipher::CHACHA20_POLY1305];

/// Key exchanges: the post-quantum hybrid first, then X25519 (under both of its names). The
/// last four are not algorithms but the extension markers (`ext-info`, OpenSSH's strict key
/// exchange against the Terrapin attack) that russh sends in the same list, each side its own.
pub const KEX: &[russh::kex::Name] = &[
    russh::kex::MLKEM768X25519_SHA256,
    russh::kex::CURVE25519,
    russh::kex::CURVE25519_PRE_RFC_8731,
    russh::kex::EXTENSION_SUPPORT_AS_CLIENT,
    russh::kex::EXTENSION_SUPPORT_AS_SERVER,
    russh::kex::EXTENSION_OPENSSH_STRICT_KEX_AS_CLIENT,
    russh::kex::EXTENSION_OPENSSH_STRICT_KEX_AS_SERVER,
];

/// MACs, encrypt-then-MAC only (the authenticated ciphers above need none; a peer that picks no
/// such cipher gets these).
pub const MACS: &[russh::mac::Name] = &[russh::mac::HMAC_SHA512_ETM, russh::mac::HMAC_SHA256_ETM];

/// Compression: none, or zlib started only once the peer has authenticated.
pub const COMPRESSION: &[russh::compression::Name] = &[russh::compression::NONE, russh::compression::ZLIB_LEGACY];

/// What a Tether server offers: [`KEX`], [`CIPHERS`], [`MACS`] and [`COMPRESSION`] (host key
/// algorithms follow from the server's own key and certificate).
pub fn server_preferred() -> Preferred {
    Preferred {
        // Every Tether key is Ed25519: nothing else is offered for host keys or user signatures.
        key: Cow::Borrowed(&[russh::keys::Algorithm::Ed25519]),
        kex: Cow::Borrowed(KEX),
        cipher: Cow::Borrowed(CIPHERS),
        mac: Cow::Borrowed(MACS),
        compression: Cow::Borrowed(COMPRESSION),
        ..Preferred::DEFAULT
    }
}

/// What a Tether client asks for: the same sets, and host certificates only (every Tether host
/// presents an Ed25519 host certificate; a bare host key is never trusted).
pub fn client_preferred() -> Preferred {
    Preferred { host_key_certificates: Cow::Borrowed(&[russh::keys::Algorithm::Ed25519]), ..server_preferred() }
}

/// The AES-GCM ciphers of [`CIPHERS`], in order, as an OpenSSH list (`tsh config` writes
/// `Ciphers ^LIST`: these first, then the rest of OpenSSH's own list).
pub fn openssh_aes_gcm() -> String {
    CIPHERS
        .iter()
        .map(|c| c.as_ref())
        .filter(|c| c.starts_with("aes") && c.contains("-gcm"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aes_gcm_comes_first_and_chacha_stays_available() {
        for preferred in [server_preferred(), client_preferred()] {
            assert_eq!(preferred.cipher.first(), Some(&russh::cipher::AES_128_GCM));
            assert!(preferred.cipher.contains(&russh::cipher::CHACHA20_POLY1305));
        }
        assert_eq!(&*client_preferred().host_key_certificates, &[russh::keys::Algorithm::Ed25519]);
        assert_eq!(openssh_aes_gcm(), "aes128-gcm@openssh.com,aes256-gcm@openssh.com");
    }

    /// The exact sets offered: what `ssh-audit` passes without a failure. A change here widens or
    /// narrows what every Tether port accepts.
    #[test]
    fn only_hardened_algorithms_are_offered() {
        let names = |list: Vec<&str>| list.join(",");
        let p = server_preferred();
        assert_eq!(
            names(p.kex.iter().map(|k| k.as_ref()).collect()),
            "mlkem768x25519-sha256,curve25519-sha256,curve25519-sha256@libssh.org,ext-info-c,ext-info-s,\
             kex-strict-c-v00@openssh.com,kex-strict-s-v00@openssh.com"
        );
        assert_eq!(
            names(p.cipher.iter().map(|c| c.as_ref()).collect()),
            "aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com"
        );
        assert_eq!(
            names(p.mac.iter().map(|m| m.as_ref()).collect()),
            "hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com"
        );
        assert_eq!(names(p.compression.iter().map(|c| c.as_ref()).collect()), "none,zlib@openssh.com");
        assert_eq!(&*p.key, &[russh::keys::Algorithm::Ed25519]);
        let c = client_preferred();
        assert_eq!((c.kex, c.cipher, c.mac, c.compression), (p.kex, p.cipher, p.mac, p.compression));
    }
}
