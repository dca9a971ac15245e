//! The SSH algorithm preferences every Tether SSH endpoint uses: `tsh`, the leaf's tunnel agent
//! and every server listener (proxy relay, tunnel listener, node).
//!
//! The client's order decides what a connection runs. russh's default puts
//! chacha20-poly1305 first; ring's poly1305 is portable C on x86_64 while its AES-GCM uses
//! AES-NI / VAES, so AES-GCM goes first (measured in `bench/`: chacha + poly1305 were 41 % of all
//! CPU samples of a 1 GiB transfer). chacha20-poly1305 and the CTR modes stay for peers that
//! want them. Key exchange keeps russh's order (post-quantum hybrid first).

use std::borrow::Cow;

use russh::Preferred;
use russh::cipher::Name;

/// Ciphers, fastest first on CPUs with AES instructions.
pub const CIPHERS: &[Name] = &[
    russh::cipher::AES_128_GCM,
    russh::cipher::AES_256_GCM,
    russh::cipher::CHACHA20_POLY1305,
    russh::cipher::AES_256_CTR,
    russh::cipher::AES_192_CTR,
    russh::cipher::AES_128_CTR,
];

/// What a Tether server offers: [`CIPHERS`], the rest as russh's defaults.
pub fn server_preferred() -> Preferred {
    Preferred { cipher: Cow::Borrowed(CIPHERS), ..Preferred::DEFAULT }
}

/// What a Tether client asks for: [`CIPHERS`], and host certificates only (every Tether host
/// presents an Ed25519 host certificate; a bare host key is never trusted).
pub fn client_preferred() -> Preferred {
    Preferred {
        cipher: Cow::Borrowed(CIPHERS),
        host_key_certificates: Cow::Borrowed(&[russh::keys::Algorithm::Ed25519]),
        ..Preferred::DEFAULT
    }
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
}
