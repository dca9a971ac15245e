//! Endorsements: a host CA key vouching for the key that replaces it, so that the other side of
//! a trust which missed a whole rotation (a leaf offline from `init` to `standby`) still knows
//! the proxy that dials it or answers it.
//!
//! At `init` the old key signs the new one, until a time:
//! `Ed25519(old, CONTEXT ‖ cluster ‖ 0 ‖ not_after (8 bytes, big-endian) ‖ new)`, valid for
//! [`ENDORSEMENT_TTL`]. From `update_servers` on, a proxy's host certificate carries the CA's
//! last [`MAX_LINKS`] endorsements in the extension [`EXTENSION`] (`NEW SIGNER NOT_AFTER
//! SIGNATURE`, `;`-separated; OpenSSH ignores it). A verifier that does not know the
//! certificate's signer follows the links from a key it trusts ([`reach`]); a key it no longer
//! trusts reaches nothing, so a retired (maybe stolen) key vouches for no one. A key rolled back
//! after `update_servers` stays endorsed until its link expires: rotating again retires it. Once connected, the tunnel carries the new CAs themselves (`trust/sync.rs`
//! in the auth crate).

use ring::signature::{ED25519, UnparsedPublicKey};
use russh::keys::ssh_encoding::base64::{Base64, Encoding};
use russh::keys::{Certificate, PublicKey};

/// The host certificate extension holding the endorsements.
pub const EXTENSION: &str = "endorsements@tether";
/// What an endorsement signs before the cluster and the key.
const CONTEXT: &[u8] = b"tether-ca-endorsement-v1\0";
/// How many rotations back a certificate vouches (and a verifier follows).
pub const MAX_LINKS: usize = 4;
/// How long an endorsement counts: a peer away longer sets up its trust again.
pub const ENDORSEMENT_TTL: std::time::Duration = std::time::Duration::from_secs(30 * 86400);

/// The bytes the old key signs to vouch for `new` in `cluster` until `not_after` (Unix seconds).
pub fn message(cluster: &str, not_after: u64, new: &[u8; 32]) -> Vec<u8> {
    let mut m = CONTEXT.to_vec();
    m.extend_from_slice(cluster.as_bytes());
    m.push(0);
    m.extend_from_slice(&not_after.to_be_bytes());
    m.extend_from_slice(new);
    m
}

/// One endorsement as the extension writes it.
pub fn link(new: &[u8; 32], signer: &[u8; 32], not_after: u64, signature: &[u8]) -> String {
    format!(
        "{} {} {not_after} {}",
        Base64::encode_string(new),
        Base64::encode_string(signer),
        Base64::encode_string(signature)
    )
}

/// The key a link endorses (its first field), to match it against a key.
pub fn endorsed(link: &str) -> Option<[u8; 32]> {
    decode32(link.split_whitespace().next()?)
}

fn ed25519(key: &PublicKey) -> Option<[u8; 32]> {
    key.key_data().ed25519().map(|k| k.0)
}

fn decode32(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    match Base64::decode(text, &mut out) {
        Ok(d) if d.len() == 32 => Some(out),
        _ => None,
    }
}

/// One parsed endorsement: the key endorsed, its endorser, until when, the signature.
type Link = ([u8; 32], [u8; 32], u64, Vec<u8>);

/// The keys `trusted` reach through the endorsements `cert` carries for `cluster` at `now`:
/// `trusted` itself, then every key a reached key endorsed (at most [`MAX_LINKS`] steps). Links
/// that do not parse, have expired or do not verify are skipped.
pub fn reach(cert: &Certificate, cluster: &str, trusted: &[PublicKey], now: std::time::SystemTime) -> Vec<PublicKey> {
    let now = now.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut known: Vec<[u8; 32]> = trusted.iter().filter_map(ed25519).collect();
    let mut out = trusted.to_vec();
    let Some(text) = cert.extensions().get(EXTENSION) else { return out };
    let links: Vec<Link> = text
        .split(';')
        .take(MAX_LINKS)
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let (new, signer, until, sig) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
            Some((decode32(new)?, decode32(signer)?, until.parse().ok()?, Base64::decode_vec(sig).ok()?))
        })
        .filter(|(_, _, until, _)| *until > now)
        .collect();
    for _ in 0..MAX_LINKS {
        let mut grew = false;
        for (new, signer, until, sig) in &links {
            if known.contains(signer)
                && !known.contains(new)
                && UnparsedPublicKey::new(&ED25519, signer).verify(&message(cluster, *until, new), sig).is_ok()
            {
                known.push(*new);
                let key = russh::keys::ssh_key::public::KeyData::Ed25519(
                    russh::keys::ssh_key::public::Ed25519PublicKey(*new),
                );
                out.push(PublicKey::from(key));
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssh_cert::{HostIdentity, SshCa, generate_ed25519_key};

    fn cert_with(ca: &SshCa, links: &str) -> Certificate {
        let now = time::OffsetDateTime::now_utc();
        let host = HostIdentity {
            host_id: "@proxy.root".into(),
            principals: vec!["root".into()],
            cluster: "root".into(),
            valid_after: now - time::Duration::minutes(1),
            valid_before: now + time::Duration::hours(1),
        };
        let key = generate_ed25519_key().unwrap();
        ca.issue_host_cert_with(key.public_key(), &host, 1, &[(EXTENSION, links.to_string())]).unwrap()
    }

    #[test]
    fn a_key_is_reached_only_from_a_trusted_key_that_endorsed_it() {
        let (old, new, newer) = (SshCa::generate().unwrap(), SshCa::generate().unwrap(), SshCa::generate().unwrap());
        let raw = |ca: &SshCa| ed25519(ca.public_key()).unwrap();
        let now = std::time::SystemTime::now();
        let until = now.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 60;
        let endorse_until = |by: &SshCa, what: &SshCa, until: u64| {
            link(&raw(what), &raw(by), until, &by.sign_raw(&message("root", until, &raw(what))).unwrap())
        };
        let endorse = |by: &SshCa, what: &SshCa| endorse_until(by, what, until);
        let chain = format!("{};{}", endorse(&new, &newer), endorse(&old, &new));
        let cert = cert_with(&newer, &chain);
        // Someone who knows only the old key reaches both successors, in either order of links.
        let reached = reach(&cert, "root", std::slice::from_ref(old.public_key()), now);
        assert!(reached.contains(newer.public_key()) && reached.contains(new.public_key()), "{reached:?}");
        crate::ssh_cert::verify_host_cert(&cert, &reached, "root", std::time::SystemTime::now()).unwrap();
        // Nothing from a stranger, for another cluster, or with a forged signature.
        let stranger = SshCa::generate().unwrap();
        assert_eq!(reach(&cert, "root", std::slice::from_ref(stranger.public_key()), now).len(), 1);
        assert_eq!(reach(&cert, "other", std::slice::from_ref(old.public_key()), now).len(), 1);
        let forged = cert_with(&newer, &link(&raw(&newer), &raw(&old), until, &stranger.sign_raw(b"x").unwrap()));
        assert_eq!(reach(&forged, "root", std::slice::from_ref(old.public_key()), now).len(), 1);
        // An expired link, or one whose time was changed after signing, reaches nothing.
        let expired = cert_with(&new, &endorse_until(&old, &new, until - 120));
        assert_eq!(reach(&expired, "root", std::slice::from_ref(old.public_key()), now).len(), 1);
        let stretched = endorse_until(&old, &new, until).replace(&format!(" {until} "), &format!(" {} ", until + 999));
        assert_eq!(reach(&cert_with(&new, &stretched), "root", std::slice::from_ref(old.public_key()), now).len(), 1);
        // Garbage in the extension is skipped, never a panic.
        let junk = cert_with(&newer, "%%; a b c;;;;;;;");
        assert_eq!(reach(&junk, "root", std::slice::from_ref(old.public_key()), now).len(), 1);
    }
}
