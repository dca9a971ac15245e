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
//!
//! Operators can change the sets of the node and the relay for old clients
//! ([`AlgorithmLists`], the config's `teleport.kex_algorithms`, `ciphers` and `mac_algorithms`,
//! Teleport's names for sshd's `KexAlgorithms`, `Ciphers` and `MACs`). The tunnel port only
//! ever serves Tether's own agents, so it offers less ([`tunnel_preferred`]) and takes no
//! configuration.

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

/// The extension markers of [`KEX`]: kept in every key exchange list (they are not algorithms).
const KEX_MARKERS: &[russh::kex::Name] = &[
    russh::kex::EXTENSION_SUPPORT_AS_CLIENT,
    russh::kex::EXTENSION_SUPPORT_AS_SERVER,
    russh::kex::EXTENSION_OPENSSH_STRICT_KEX_AS_CLIENT,
    russh::kex::EXTENSION_OPENSSH_STRICT_KEX_AS_SERVER,
];

/// The algorithm sets an operator chose (`None`: the hardened default). Each list either
/// replaces the default or, when its first entry starts with `+`, adds to it (sshd's rule).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlgorithmLists {
    /// Key exchanges (`teleport.kex_algorithms`).
    pub kex: Option<Vec<russh::kex::Name>>,
    /// Ciphers (`teleport.ciphers`).
    pub ciphers: Option<Vec<Name>>,
    /// MACs (`teleport.mac_algorithms`).
    pub macs: Option<Vec<russh::mac::Name>>,
}

/// Reads one configured list: every entry must be an algorithm russh implements (`what` names
/// the kind in the error); `+a,+b` adds to `default`, anything else replaces it.
fn parse_list<N>(entries: &[String], default: &[N], known: &[&N], what: &str) -> Result<Vec<N>, String>
where
    N: Copy + PartialEq + AsRef<str> + for<'a> TryFrom<&'a str>,
{
    if entries.is_empty() {
        return Err(format!("the list of {what}s is empty; leave the key out for the default"));
    }
    let adding = entries.first().is_some_and(|e| e.starts_with('+'));
    let mut out: Vec<N> = if adding { default.to_vec() } else { Vec::new() };
    for entry in entries {
        let name = if adding {
            entry.strip_prefix('+').ok_or_else(|| {
                format!("{entry:?}: either every entry starts with + (added to the default) or none does")
            })?
        } else {
            entry.as_str()
        };
        let known_names = || known.iter().map(|n| n.as_ref()).collect::<Vec<_>>().join(", ");
        let parsed = N::try_from(name)
            .ok()
            .filter(|n| known.iter().any(|k| **k == *n))
            .ok_or_else(|| format!("unknown {what} {name:?} (known: {})", known_names()))?;
        if !out.contains(&parsed) {
            out.push(parsed);
        }
    }
    Ok(out)
}

impl AlgorithmLists {
    /// The key exchanges configured in `entries` (see [`AlgorithmLists`]).
    pub fn parse_kex(entries: &[String]) -> Result<Vec<russh::kex::Name>, String> {
        let algorithms: Vec<russh::kex::Name> = KEX.iter().filter(|k| !KEX_MARKERS.contains(k)).copied().collect();
        let known: Vec<&russh::kex::Name> =
            russh::kex::ALL_KEX_ALGORITHMS.iter().copied().filter(|k| !KEX_MARKERS.contains(k)).collect();
        parse_list(entries, &algorithms, &known, "key exchange algorithm")
    }

    /// The ciphers configured in `entries`.
    pub fn parse_ciphers(entries: &[String]) -> Result<Vec<Name>, String> {
        // Never "none" (or russh's internal "clear"): no operator gets an unencrypted session.
        let known: Vec<&Name> = russh::cipher::ALL_CIPHERS
            .iter()
            .copied()
            .filter(|c| **c != russh::cipher::CLEAR && **c != russh::cipher::NONE)
            .collect();
        parse_list(entries, CIPHERS, &known, "cipher")
    }

    /// The MACs configured in `entries`.
    pub fn parse_macs(entries: &[String]) -> Result<Vec<russh::mac::Name>, String> {
        let known: Vec<&russh::mac::Name> =
            russh::mac::ALL_MAC_ALGORITHMS.iter().copied().filter(|m| **m != russh::mac::NONE).collect();
        parse_list(entries, MACS, &known, "MAC")
    }

    /// What a node or relay offers with these lists: the default where a list is `None`.
    pub fn server_preferred(&self) -> Preferred {
        let mut p = server_preferred();
        if let Some(kex) = &self.kex {
            p.kex = Cow::Owned(kex.iter().chain(KEX_MARKERS).copied().collect());
        }
        if let Some(ciphers) = &self.ciphers {
            p.cipher = Cow::Owned(ciphers.clone());
        }
        if let Some(macs) = &self.macs {
            p.mac = Cow::Owned(macs.clone());
        }
        p
    }
}

/// What the tunnel port offers: only what Tether's agents ask for ([`client_preferred`]) — the
/// two X25519-based key exchanges under their standard names, the authenticated ciphers, and no
/// compression.
pub fn tunnel_preferred() -> Preferred {
    Preferred {
        kex: Cow::Owned(
            [russh::kex::MLKEM768X25519_SHA256, russh::kex::CURVE25519].iter().chain(KEX_MARKERS).copied().collect(),
        ),
        compression: Cow::Borrowed(&[russh::compression::NONE]),
        ..server_preferred()
    }
}

/// What a Tether server offers by default: [`KEX`], [`CIPHERS`], [`MACS`] and [`COMPRESSION`]
/// (host key algorithms follow from the server's own key and certificate).
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
        // The tunnel port: the agents' own choices only.
        let t = tunnel_preferred();
        assert_eq!(
            names(t.kex.iter().map(|k| k.as_ref()).collect()),
            "mlkem768x25519-sha256,curve25519-sha256,ext-info-c,ext-info-s,kex-strict-c-v00@openssh.com,\
             kex-strict-s-v00@openssh.com"
        );
        assert_eq!(names(t.compression.iter().map(|c| c.as_ref()).collect()), "none");
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn operators_replace_or_widen_the_sets() {
        let kex = AlgorithmLists::parse_kex(&strings(&["+diffie-hellman-group14-sha256"])).unwrap();
        assert_eq!(
            kex.iter().map(|k| k.as_ref()).collect::<Vec<_>>(),
            [
                "mlkem768x25519-sha256",
                "curve25519-sha256",
                "curve25519-sha256@libssh.org",
                "diffie-hellman-group14-sha256"
            ]
        );
        let ciphers = AlgorithmLists::parse_ciphers(&strings(&["aes256-ctr", "aes128-gcm@openssh.com"])).unwrap();
        assert_eq!(ciphers, [russh::cipher::AES_256_CTR, russh::cipher::AES_128_GCM]);
        let macs = AlgorithmLists::parse_macs(&strings(&["+hmac-sha2-256"])).unwrap();
        assert_eq!(macs.last(), Some(&russh::mac::HMAC_SHA256));
        let lists = AlgorithmLists { kex: Some(kex), ciphers: Some(ciphers), macs: Some(macs) };
        let p = lists.server_preferred();
        assert!(p.kex.ends_with(KEX_MARKERS), "the extension markers stay");
        assert_eq!(p.cipher.first(), Some(&russh::cipher::AES_256_CTR));
        assert_eq!(AlgorithmLists::default().server_preferred().kex, server_preferred().kex);
    }

    #[test]
    fn unknown_mixed_and_empty_lists_are_refused_with_the_known_names() {
        let err = AlgorithmLists::parse_ciphers(&strings(&["blowfish-cbc"])).unwrap_err();
        assert!(err.starts_with("unknown cipher \"blowfish-cbc\" (known: "), "{err}");
        assert!(err.contains("aes128-gcm@openssh.com") && !err.contains("none"), "{err}");
        let err = AlgorithmLists::parse_macs(&strings(&["+hmac-sha1", "hmac-sha2-256"])).unwrap_err();
        assert!(err.contains("either every entry starts with +"), "{err}");
        let err = AlgorithmLists::parse_kex(&strings(&["ext-info-s"])).unwrap_err();
        assert!(err.starts_with("unknown key exchange algorithm \"ext-info-s\""), "{err}");
        assert!(AlgorithmLists::parse_kex(&[]).unwrap_err().contains("is empty"));
    }
}
