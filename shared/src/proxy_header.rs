//! The signed client address: what a proxy tells a node about the user it relays, ahead of
//! the SSH stream, and how the node knows the proxy wrote it.
//!
//! Every hop that relays a user's SSH connection (the relay of the proxy the user dialled, and
//! for a leaf's node the leaf's tunnel agent, which has the address from the root over the
//! tunnel) opens its TCP connection to the node with a [PROXY protocol v2] header, the format
//! haproxy defined and sshd-fronting load balancers speak:
//!
//! ```text
//! 12 bytes  \r\n\r\n\0\r\nQUIT\n            the v2 signature
//!  1 byte   0x21                            version 2, command PROXY
//!  1 byte   0x11 (IPv4) or 0x21 (IPv6)      TCP over that family
//!  2 bytes  length of what follows (big-endian)
//! 12 or 36  client address, node address, client port, node port
//!  TLV      type 0xE7 (the range 0xE0-0xEF is left to applications), length, value:
//!             1 byte  version (1)
//!             8 bytes when the header was written (Unix milliseconds)
//!            16 bytes a random nonce
//!             2 + n   the node's name the proxy dialled
//!             2 + n   the proxy's SSH host certificate (OpenSSH wire format)
//!            64 bytes Ed25519 signature by the certificate's key over CONTEXT and every
//!                     byte of the header before it
//! ```
//!
//! A node believes the header only if the certificate is a host certificate of its own
//! cluster's host CA, issued to the cluster's proxy (key ID `@proxy.CLUSTER`, which no node can
//! hold), the signature is good, the header names this node, it is at most [`MAX_AGE`] old (or
//! early), and its nonce was not seen before ([`ReplayGuard`]). Anything else, including an
//! unsigned header, is refused: a client straight at the node cannot claim another address.
//! Signature checks and the size cap ([`MAX_HEADER`]) make reading a header cost the same
//! for any input.
//!
//! [PROXY protocol v2]: https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt

use std::collections::{HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ED25519, Ed25519KeyPair, UnparsedPublicKey};
use russh::keys::ssh_key::{Certificate, PrivateKey};

use crate::ssh_cert::verify_host_cert;

/// The first 12 bytes of every v2 header.
pub const SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// The fixed part: signature, version and command, family, length.
pub const PREFIX_LEN: usize = 16;
/// The longest header a node reads; longer ones are refused unread.
pub const MAX_HEADER: usize = 4096;
/// The TLV type of Tether's signed claim.
pub const TLV_SIGNED: u8 = 0xE7;
/// How far a header's time may be from the node's clock (either way).
pub const MAX_AGE: Duration = Duration::from_secs(60);
/// What the signature covers besides the header, so that it means nothing elsewhere.
const CONTEXT: &[u8] = b"tether client address v1\0";
const CLAIM_VERSION: u8 = 1;
const NONCE_LEN: usize = 16;
const SIG_LEN: usize = 64;

/// Why a header was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The bytes are not a PROXY v2 header, or a malformed one.
    #[error("malformed PROXY v2 header: {0}")]
    Malformed(&'static str),
    /// A well-formed header without Tether's signed claim.
    #[error("PROXY header without a signed claim (only a proxy of this cluster may send one)")]
    Unsigned,
    /// The proxy certificate is not one this node trusts as its cluster's proxy.
    #[error("PROXY header signed by an untrusted certificate: {0}")]
    Untrusted(String),
    /// The signature does not match.
    #[error("PROXY header signature is invalid")]
    BadSignature,
    /// The header is for another node.
    #[error("PROXY header is for node {0:?}, not this one")]
    WrongNode(String),
    /// The header's time is too far from now.
    #[error("PROXY header written {0} s away from this node's clock (at most {max} s)", max = MAX_AGE.as_secs())]
    Stale(i64),
    /// The header was seen before.
    #[error("PROXY header replayed (its nonce was seen before)")]
    Replayed,
    /// The signing side could not sign (a key that is not Ed25519, no randomness).
    #[error("cannot sign a PROXY header: {0}")]
    Signing(String),
}

/// The signed part of a parsed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedClaim {
    /// When it was written (Unix milliseconds).
    pub written_ms: u64,
    /// Its random nonce.
    pub nonce: [u8; NONCE_LEN],
    /// The node the proxy dialled.
    pub node: String,
    /// The proxy's host certificate.
    pub cert: Certificate,
    signature: [u8; SIG_LEN],
    /// How many bytes of the header the signature covers.
    signed_len: usize,
}

/// A parsed header, not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The client's address (`None` for a `LOCAL` header or an unspecified family).
    pub client: Option<SocketAddr>,
    /// The address the proxy dialled.
    pub server: Option<SocketAddr>,
    /// Tether's claim, when present.
    pub signed: Option<SignedClaim>,
    raw: Vec<u8>,
}

/// The length of the whole header, from its first [`PREFIX_LEN`] bytes.
pub fn header_len(prefix: &[u8; PREFIX_LEN]) -> Result<usize, HeaderError> {
    let [s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, version, _, l0, l1] = *prefix;
    if [s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11] != SIGNATURE {
        return Err(HeaderError::Malformed("not the v2 signature"));
    }
    if version >> 4 != 2 {
        return Err(HeaderError::Malformed("not version 2"));
    }
    let len = PREFIX_LEN + usize::from(u16::from_be_bytes([l0, l1]));
    if len > MAX_HEADER {
        return Err(HeaderError::Malformed("longer than 4096 bytes"));
    }
    Ok(len)
}

/// A cursor over the header's bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], HeaderError> {
        let end = self.at.checked_add(n).ok_or(HeaderError::Malformed("truncated"))?;
        let out = self.bytes.get(self.at..end).ok_or(HeaderError::Malformed("truncated"))?;
        self.at = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], HeaderError> {
        self.take(N)?.try_into().map_err(|_| HeaderError::Malformed("truncated"))
    }

    fn u16(&mut self) -> Result<usize, HeaderError> {
        Ok(usize::from(u16::from_be_bytes(self.array()?)))
    }

    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }
}

/// Parses a whole header (as long as [`header_len`] said).
pub fn parse(raw: Vec<u8>) -> Result<Header, HeaderError> {
    let mut r = Reader { bytes: &raw, at: 0 };
    let prefix: [u8; PREFIX_LEN] = r.array()?;
    if header_len(&prefix)? != raw.len() {
        return Err(HeaderError::Malformed("length does not match"));
    }
    let [.., version_command, family, _, _] = prefix;
    let command = version_command & 0x0F;
    if command > 1 {
        return Err(HeaderError::Malformed("unknown command"));
    }
    let (client, server) = match family {
        0x11 => {
            let (c, s): ([u8; 4], [u8; 4]) = (r.array()?, r.array()?);
            let (cp, sp) = (u16::from_be_bytes(r.array()?), u16::from_be_bytes(r.array()?));
            (Some(SocketAddr::new(IpAddr::from(c), cp)), Some(SocketAddr::new(IpAddr::from(s), sp)))
        }
        0x21 => {
            let (c, s): ([u8; 16], [u8; 16]) = (r.array()?, r.array()?);
            let (cp, sp) = (u16::from_be_bytes(r.array()?), u16::from_be_bytes(r.array()?));
            (Some(SocketAddr::new(IpAddr::from(c), cp)), Some(SocketAddr::new(IpAddr::from(s), sp)))
        }
        0x00 => (None, None),
        _ => return Err(HeaderError::Malformed("unsupported address family")),
    };
    let (client, server) = if command == 0 { (None, None) } else { (client, server) };
    let mut signed = None;
    while !r.done() {
        let [kind] = r.array()?;
        let len = r.u16()?;
        let value_start = r.at;
        let value = r.take(len)?;
        if kind != TLV_SIGNED {
            continue;
        }
        if signed.is_some() || !r.done() {
            return Err(HeaderError::Malformed("the signed claim must be the last TLV, and only one"));
        }
        signed = Some(parse_claim(value, value_start)?);
    }
    Ok(Header { client, server, signed, raw })
}

fn parse_claim(value: &[u8], value_start: usize) -> Result<SignedClaim, HeaderError> {
    let mut r = Reader { bytes: value, at: 0 };
    if r.array::<1>()? != [CLAIM_VERSION] {
        return Err(HeaderError::Malformed("unknown claim version"));
    }
    let written_ms = u64::from_be_bytes(r.array()?);
    let nonce: [u8; NONCE_LEN] = r.array()?;
    let node_len = r.u16()?;
    let node = std::str::from_utf8(r.take(node_len)?).map_err(|_| HeaderError::Malformed("node name"))?.to_string();
    let cert_len = r.u16()?;
    let cert = Certificate::from_bytes(r.take(cert_len)?).map_err(|_| HeaderError::Malformed("certificate"))?;
    let signed_len = value_start + r.at;
    let signature: [u8; SIG_LEN] = r.array()?;
    if !r.done() {
        return Err(HeaderError::Malformed("trailing bytes in the claim"));
    }
    Ok(SignedClaim { written_ms, nonce, node, cert, signature, signed_len })
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Who signed a header the node believes, and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The user's address, as the first proxy saw it.
    pub client: SocketAddr,
    /// The signing proxy's host ID.
    pub proxy: String,
}

impl Header {
    /// Checks the claim for `node` of `cluster`, whose host CAs are `host_cas` (see the module
    /// docs); the nonce is the caller's to check with a [`ReplayGuard`].
    pub fn verify(
        &self,
        host_cas: &[russh::keys::PublicKey],
        cluster: &str,
        node: &str,
        now: SystemTime,
    ) -> Result<Verified, HeaderError> {
        let claim = self.signed.as_ref().ok_or(HeaderError::Unsigned)?;
        let host =
            verify_host_cert(&claim.cert, host_cas, cluster, now).map_err(|e| HeaderError::Untrusted(e.to_string()))?;
        if host.cluster != cluster || host.host_id != crate::names::proxy_host_id(cluster) {
            return Err(HeaderError::Untrusted(format!("host {:?} is not a proxy of cluster {cluster}", host.host_id)));
        }
        let key = claim.cert.public_key().ed25519().ok_or(HeaderError::Untrusted("not an Ed25519 key".into()))?;
        let mut message = Vec::with_capacity(CONTEXT.len() + claim.signed_len);
        message.extend_from_slice(CONTEXT);
        message.extend_from_slice(self.raw.get(..claim.signed_len).ok_or(HeaderError::Malformed("truncated"))?);
        UnparsedPublicKey::new(&ED25519, key.as_ref())
            .verify(&message, &claim.signature)
            .map_err(|_| HeaderError::BadSignature)?;
        if claim.node != node {
            return Err(HeaderError::WrongNode(claim.node.clone()));
        }
        let skew = i128::from(unix_ms(now)) - i128::from(claim.written_ms);
        if skew.unsigned_abs() > MAX_AGE.as_millis() {
            return Err(HeaderError::Stale(i64::try_from(skew / 1000).unwrap_or(i64::MAX)));
        }
        let client = self.client.ok_or(HeaderError::Malformed("a signed header must carry the client's address"))?;
        Ok(Verified { client, proxy: host.host_id })
    }
}

/// Writes signed headers: a proxy's host key and its certificate.
pub struct Signer {
    key: Ed25519KeyPair,
    cert: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer with the proxy's host `key` (Ed25519) and its host certificate.
    pub fn new(key: &PrivateKey, cert: &Certificate) -> Result<Signer, HeaderError> {
        let pair = key.key_data().ed25519().ok_or(HeaderError::Signing("the host key is not Ed25519".into()))?;
        let seed = zeroize::Zeroizing::new(pair.private.to_bytes());
        let key = Ed25519KeyPair::from_seed_and_public_key(seed.as_ref(), pair.public.as_ref())
            .map_err(|e| HeaderError::Signing(e.to_string()))?;
        let cert = cert.to_bytes().map_err(|e| HeaderError::Signing(e.to_string()))?;
        Ok(Signer { key, cert })
    }

    /// The header for a connection from `client` relayed to `node` at `server`.
    pub fn header(
        &self,
        client: SocketAddr,
        server: SocketAddr,
        node: &str,
        now: SystemTime,
    ) -> Result<Vec<u8>, HeaderError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).map_err(|_| HeaderError::Signing("no randomness".into()))?;
        // Both addresses in one family (IPv4 inside IPv6 when they differ).
        let (family, addrs) = match (client.ip(), server.ip()) {
            (IpAddr::V4(c), IpAddr::V4(s)) => (0x11u8, [&c.octets()[..], &s.octets()[..]].concat()),
            (c, s) => (0x21u8, [&v6(c)[..], &v6(s)[..]].concat()),
        };
        let claim_len = 1 + 8 + NONCE_LEN + 2 + node.len() + 2 + self.cert.len() + SIG_LEN;
        let body_len = addrs.len() + 4 + 3 + claim_len;
        if PREFIX_LEN + body_len > MAX_HEADER {
            return Err(HeaderError::Signing("the header would be longer than 4096 bytes".into()));
        }
        let short = |n: usize| u16::try_from(n).map_err(|_| HeaderError::Signing("field too long".into()));
        let mut out = Vec::with_capacity(PREFIX_LEN + body_len);
        out.extend_from_slice(&SIGNATURE);
        out.extend_from_slice(&[0x21, family]);
        out.extend_from_slice(&short(body_len)?.to_be_bytes());
        out.extend_from_slice(&addrs);
        out.extend_from_slice(&client.port().to_be_bytes());
        out.extend_from_slice(&server.port().to_be_bytes());
        out.push(TLV_SIGNED);
        out.extend_from_slice(&short(claim_len)?.to_be_bytes());
        out.push(CLAIM_VERSION);
        out.extend_from_slice(&unix_ms(now).to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&short(node.len())?.to_be_bytes());
        out.extend_from_slice(node.as_bytes());
        out.extend_from_slice(&short(self.cert.len())?.to_be_bytes());
        out.extend_from_slice(&self.cert);
        let mut message = Vec::with_capacity(CONTEXT.len() + out.len());
        message.extend_from_slice(CONTEXT);
        message.extend_from_slice(&out);
        out.extend_from_slice(self.key.sign(&message).as_ref());
        Ok(out)
    }
}

fn v6(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// The nonces of the headers a node believed within the last [`MAX_AGE`] either way, so that
/// a captured header cannot be sent again. Bounded: past `capacity` nonces the oldest is
/// forgotten (a replay then needs more than `capacity` proxied connections within two minutes).
pub struct ReplayGuard {
    seen: HashSet<[u8; NONCE_LEN]>,
    order: VecDeque<(u64, [u8; NONCE_LEN])>,
    capacity: usize,
}

impl ReplayGuard {
    /// A guard remembering at most `capacity` nonces.
    pub fn new(capacity: usize) -> Self {
        ReplayGuard { seen: HashSet::new(), order: VecDeque::new(), capacity: capacity.max(1) }
    }

    /// Records the claim's nonce; an error if it was seen before.
    pub fn check(&mut self, claim: &SignedClaim, now: SystemTime) -> Result<(), HeaderError> {
        let horizon = unix_ms(now).saturating_sub(2 * MAX_AGE.as_millis() as u64);
        while let Some(&(at, nonce)) = self.order.front() {
            if at >= horizon && self.order.len() < self.capacity {
                break;
            }
            self.order.pop_front();
            self.seen.remove(&nonce);
        }
        if !self.seen.insert(claim.nonce) {
            return Err(HeaderError::Replayed);
        }
        self.order.push_back((unix_ms(now), claim.nonce));
        Ok(())
    }
}

impl SignedClaim {
    /// The signing proxy's certificate key ID (for logs of refused headers).
    pub fn key_id(&self) -> &str {
        self.cert.key_id()
    }
}

#[cfg(test)]
mod tests;
