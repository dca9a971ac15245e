//! The header's round trip, and every way a node refuses one.

use super::*;
use crate::ssh_cert::{HostIdentity, SshCa, generate_ed25519_key};
use proptest::prelude::*;

const CLUSTER: &str = "leaf.example.com";

fn host_cert(ca: &SshCa, key: &PrivateKey, host_id: &str) -> Certificate {
    let now = time::OffsetDateTime::now_utc();
    let host = HostIdentity {
        host_id: host_id.into(),
        principals: vec![CLUSTER.into(), "localhost".into()],
        cluster: CLUSTER.into(),
        valid_after: now - time::Duration::minutes(1),
        valid_before: now + time::Duration::hours(1),
    };
    ca.issue_host_cert(key.public_key(), &host, 1).unwrap()
}

fn proxy() -> (SshCa, Signer) {
    let ca = SshCa::generate().unwrap();
    let key = generate_ed25519_key().unwrap();
    let cert = host_cert(&ca, &key, &crate::names::proxy_host_id(CLUSTER));
    (ca, Signer::new(&key, &cert).unwrap())
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn check(ca: &SshCa, raw: Vec<u8>, node: &str, now: SystemTime) -> Result<Verified, HeaderError> {
    let len = header_len(raw[..PREFIX_LEN].try_into().unwrap())?;
    assert_eq!(len, raw.len());
    parse(raw)?.verify(std::slice::from_ref(ca.public_key()), CLUSTER, node, now)
}

#[test]
fn a_proxys_header_round_trips_in_both_families() {
    let (ca, signer) = proxy();
    let now = SystemTime::now();
    for (client, server) in [
        ("192.0.2.7:50123", "10.0.0.5:3022"),
        ("[2001:db8::7]:50123", "[2001:db8::5]:3022"),
        ("192.0.2.7:50123", "[2001:db8::5]:3022"),
    ] {
        let raw = signer.header(addr(client), addr(server), "node-1", now).unwrap();
        assert_eq!(raw[..12], SIGNATURE);
        let seen = check(&ca, raw, "node-1", now).unwrap();
        assert_eq!(seen.proxy, "@proxy.leaf.example.com");
        // A v4 client in a v6 header comes back as the mapped address.
        let want = addr(client);
        let got = match (want.ip(), seen.client.ip()) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => {
                SocketAddr::new(IpAddr::V4(v6.to_ipv4_mapped().unwrap()), seen.client.port())
            }
            _ => seen.client,
        };
        assert_eq!(got, want);
    }
}

#[test]
fn every_changed_byte_is_refused() {
    let (ca, signer) = proxy();
    let now = SystemTime::now();
    let raw = signer.header(addr("192.0.2.7:50123"), addr("10.0.0.5:3022"), "node-1", now).unwrap();
    for i in 0..raw.len() {
        let mut bad = raw.clone();
        bad[i] ^= 0x01;
        let verdict = header_len(bad[..PREFIX_LEN].try_into().unwrap())
            .and_then(|len| if len == bad.len() { Ok(()) } else { Err(HeaderError::Malformed("length")) })
            .and_then(|()| parse(bad))
            .and_then(|h| h.verify(std::slice::from_ref(ca.public_key()), CLUSTER, "node-1", now));
        assert!(verdict.is_err(), "byte {i} changed and still believed");
    }
}

#[test]
fn only_the_clusters_proxy_may_sign() {
    let now = SystemTime::now();
    let (_, stranger) = proxy();
    let (ca, _) = proxy();
    let raw = stranger.header(addr("192.0.2.7:1"), addr("10.0.0.5:3022"), "node-1", now).unwrap();
    assert!(
        matches!(check(&ca, raw, "node-1", now), Err(HeaderError::Untrusted(e)) if e.contains("untrusted certificate authority"))
    );

    // A node of the same cluster has a host certificate of the same CA: not enough.
    let key = generate_ed25519_key().unwrap();
    let node_signer = Signer::new(&key, &host_cert(&ca, &key, "node-2")).unwrap();
    let raw = node_signer.header(addr("192.0.2.7:1"), addr("10.0.0.5:3022"), "node-1", now).unwrap();
    let refused = check(&ca, raw, "node-1", now).unwrap_err();
    assert_eq!(refused, HeaderError::Untrusted("host \"node-2\" is not a proxy of cluster leaf.example.com".into()));
}

#[test]
fn wrong_node_stale_and_unsigned_headers_are_refused() {
    let (ca, signer) = proxy();
    let now = SystemTime::now();
    let raw = signer.header(addr("192.0.2.7:1"), addr("10.0.0.5:3022"), "node-1", now).unwrap();
    assert_eq!(check(&ca, raw, "node-2", now), Err(HeaderError::WrongNode("node-1".into())));

    let old = now - Duration::from_secs(120);
    let raw = signer.header(addr("192.0.2.7:1"), addr("10.0.0.5:3022"), "node-1", old).unwrap();
    assert_eq!(check(&ca, raw, "node-1", now), Err(HeaderError::Stale(120)));
    let early = now + Duration::from_secs(90);
    let raw = signer.header(addr("192.0.2.7:1"), addr("10.0.0.5:3022"), "node-1", early).unwrap();
    assert_eq!(check(&ca, raw, "node-1", now), Err(HeaderError::Stale(-90)));

    // What haproxy would send: addresses, no claim.
    let mut plain = SIGNATURE.to_vec();
    plain.extend_from_slice(&[0x21, 0x11, 0, 12, 192, 0, 2, 7, 10, 0, 0, 5, 0, 1, 0x0b, 0xce]);
    assert_eq!(check(&ca, plain, "node-1", now), Err(HeaderError::Unsigned));
}

#[test]
fn a_replayed_header_is_refused_and_the_guard_is_bounded() {
    let (ca, signer) = proxy();
    let now = SystemTime::now();
    let raw = signer.header(addr("192.0.2.7:1"), addr("10.0.0.5:3022"), "node-1", now).unwrap();
    let header = parse(raw).unwrap();
    header.verify(std::slice::from_ref(ca.public_key()), CLUSTER, "node-1", now).unwrap();
    let claim = header.signed.as_ref().unwrap();
    let mut guard = ReplayGuard::new(3);
    guard.check(claim, now).unwrap();
    assert_eq!(guard.check(claim, now), Err(HeaderError::Replayed));
    for _ in 0..3 {
        let other = parse(signer.header(addr("192.0.2.7:1"), addr("10.0.0.5:3022"), "node-1", now).unwrap()).unwrap();
        guard.check(other.signed.as_ref().unwrap(), now).unwrap();
    }
    assert!(guard.order.len() <= 3 && guard.seen.len() == guard.order.len(), "the guard holds at most its capacity");
    // Nonces older than twice MAX_AGE are forgotten: such a header is stale anyway.
    let mut guard = ReplayGuard::new(100);
    guard.check(claim, now - 3 * MAX_AGE).unwrap();
    guard.check(claim, now).unwrap();
    assert_eq!(guard.order.len(), 1);
}

#[test]
fn lengths_past_the_cap_are_refused_before_reading() {
    let mut prefix = [0u8; PREFIX_LEN];
    prefix[..12].copy_from_slice(&SIGNATURE);
    prefix[12] = 0x21;
    prefix[13] = 0x11;
    prefix[14..].copy_from_slice(&(u16::MAX).to_be_bytes());
    assert_eq!(header_len(&prefix), Err(HeaderError::Malformed("longer than 4096 bytes")));
    prefix[12] = 0x11;
    assert_eq!(header_len(&prefix), Err(HeaderError::Malformed("not version 2")));
}

proptest! {
    #[test]
    fn parsing_any_bytes_never_panics(body in proptest::collection::vec(any::<u8>(), 0..600), family in any::<u8>()) {
        let mut raw = SIGNATURE.to_vec();
        raw.extend_from_slice(&[0x21, family]);
        raw.extend_from_slice(&(body.len() as u16).to_be_bytes());
        raw.extend_from_slice(&body);
        let _ = parse(raw);
    }
}
