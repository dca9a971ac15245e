//! Per-cluster X.509 certificate authorities for Tether's HTTPS and mutual-TLS endpoints.
//!
//! A [`TlsCa`] is a self-signed CA named after its cluster, with an ECDSA P-256 key (what
//! browsers and Mozilla's TLS profiles accept; clusters made before keep their Ed25519 CA until
//! a TLS CA rotation makes a P-256 one). It issues server certificates (fresh P-256 key, SANs,
//! serverAuth) and client certificates for the user's own Ed25519 key — the same key the user holds for SSH, so one key serves both protocols
//! ([`ssh_key_to_pkcs8`] hands it to rustls). A client certificate names the user in its
//! common name and carries the whole [`Identity`] as JSON in a non-critical private extension
//! ([`IDENTITY_OID`]); [`verify_client_cert`] checks chain, window and key usage before
//! returning it. Certificates are built with rcgen and read back with x509-parser.

use std::fmt;
use std::net::IpAddr;
use std::time::SystemTime;

use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PKCS_ED25519, PublicKeyData, SanType, SerialNumber,
    SignatureAlgorithm,
};
use ring::rand::{SecureRandom, SystemRandom};
use russh::keys::ssh_encoding::base64::{Base64, Encoding};
use russh::keys::ssh_key::PrivateKey;
use russh::keys::ssh_key::public::Ed25519PublicKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::FromDer;
use zeroize::Zeroizing;

use crate::identity::{CertError, Identity, system_time_secs};
use crate::ssh_cert::RemoteKey;

/// OID of the extension carrying the [`Identity`] as JSON (DER `UTF8String` in the
/// extension value, non-critical).
///
/// It sits under enterprise number 32473, which IANA reserves for documentation (RFC 5612)
/// and so is assigned to no organisation; move it under a registered enterprise number
/// before certificates must interoperate with third parties.
pub const IDENTITY_OID: &[u64] = &[1, 3, 6, 1, 4, 1, 32473, 7, 1];
/// [`IDENTITY_OID`] in dotted form.
pub const IDENTITY_OID_STR: &str = "1.3.6.1.4.1.32473.7.1";

/// How long a generated CA certificate is valid.
const CA_VALIDITY: Duration = Duration::days(3650);
/// How long a cross-signed CA certificate ([`TlsCa::cross_sign`]) is valid: a key rolled back
/// after `update_servers` stays vouched for by the old one at most this long.
pub const CROSS_SIGN_VALIDITY: Duration = Duration::days(30);
/// How far a generated CA certificate is backdated, for clock skew.
const CA_BACKDATE: Duration = Duration::minutes(5);

/// A server certificate and its freshly generated key.
pub struct ServerCert {
    /// The certificate, DER.
    pub cert_der: CertificateDer<'static>,
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key, PKCS#8 DER.
    pub key_der: PrivatePkcs8KeyDer<'static>,
    /// The private key, PKCS#8 PEM.
    pub key_pem: Zeroizing<String>,
}

impl fmt::Debug for ServerCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerCert").field("cert_pem", &self.cert_pem).finish_non_exhaustive()
    }
}

/// A client certificate (the key is the client's own).
#[derive(Debug, Clone)]
pub struct ClientCert {
    /// The certificate, DER.
    pub cert_der: CertificateDer<'static>,
    /// The certificate, PEM.
    pub cert_pem: String,
}

/// A TLS CA's key: here, or in a token ([`RemoteKey`]). (A few per process: the size of the
/// local variant does not matter.)
#[allow(clippy::large_enum_variant)]
pub enum TlsKey {
    /// The key pair, in memory (sealed at rest by the auth service).
    Local(KeyPair),
    /// A token's key and its public key (32 bytes Ed25519, or a 65-byte P-256 point).
    Remote(std::sync::Arc<dyn RemoteKey>, Vec<u8>),
}

/// The signature algorithm of a remote key's public key, by its shape; `None` for a key a TLS
/// CA cannot use.
fn remote_algorithm(public: &[u8]) -> Option<&'static SignatureAlgorithm> {
    match public {
        p if p.len() == 32 => Some(&PKCS_ED25519),
        [0x04, rest @ ..] if rest.len() == 64 => Some(&PKCS_ECDSA_P256_SHA256),
        _ => None,
    }
}

impl PublicKeyData for TlsKey {
    fn der_bytes(&self) -> &[u8] {
        match self {
            TlsKey::Local(pair) => pair.der_bytes(),
            TlsKey::Remote(_, public) => public,
        }
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        match self {
            TlsKey::Local(pair) => pair.algorithm(),
            TlsKey::Remote(_, public) => remote_algorithm(public).unwrap_or(&PKCS_ED25519),
        }
    }
}

impl rcgen::SigningKey for TlsKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        match self {
            TlsKey::Local(pair) => pair.sign(msg),
            TlsKey::Remote(remote, _) => remote.sign(msg).map_err(|_| rcgen::Error::RemoteKeyError),
        }
    }
}

/// A cluster's X.509 certificate authority.
pub struct TlsCa {
    cluster: String,
    cert_der: CertificateDer<'static>,
    issuer: Issuer<'static, TlsKey>,
}

impl fmt::Debug for TlsCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsCa").field("cluster", &self.cluster).finish_non_exhaustive()
    }
}

impl TlsCa {
    /// Generates a CA for `cluster_name`: ECDSA P-256 key, self-signed, CN = O = cluster name,
    /// keyCertSign + cRLSign, valid for ten years (backdated five minutes).
    pub fn generate(cluster_name: &str) -> Result<Self, CertError> {
        if cluster_name.is_empty() {
            return Err(CertError::InvalidIdentity("empty cluster name".into()));
        }
        let now = OffsetDateTime::now_utc();
        let mut params = CertificateParams::default();
        params.distinguished_name = name(cluster_name, cluster_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = now - CA_BACKDATE;
        params.not_after = now + CA_VALIDITY;
        params.serial_number = Some(random_serial()?);
        let key = TlsKey::Local(KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?);
        let cert = params.self_signed(&key)?;
        Ok(Self { cluster: cluster_name.to_owned(), cert_der: cert.der().clone(), issuer: Issuer::new(params, key) })
    }

    /// Generates a CA for `cluster_name` like [`TlsCa::generate`], with a key held elsewhere
    /// (which signs its own certificate there).
    pub fn generate_remote(cluster_name: &str, remote: std::sync::Arc<dyn RemoteKey>) -> Result<Self, CertError> {
        if cluster_name.is_empty() {
            return Err(CertError::InvalidIdentity("empty cluster name".into()));
        }
        let public = remote.public();
        if remote_algorithm(&public).is_none() {
            return Err(CertError::UnsupportedKey("a TLS CA key must be ECDSA P-256 or Ed25519".into()));
        }
        let mut params = CertificateParams::default();
        params.distinguished_name = name(cluster_name, cluster_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - CA_BACKDATE;
        params.not_after = now + CA_VALIDITY;
        params.serial_number = Some(random_serial()?);
        let key = TlsKey::Remote(remote, public);
        let cert = params.self_signed(&key)?;
        // A token whose signatures do not verify (it hashed twice, or signs with another key)
        // would make a CA no one can use: refused here, at once.
        parse(cert.der())?.verify_signature(None).map_err(|_| {
            CertError::UnsupportedKey("the token's signature does not verify with its public key".into())
        })?;
        Ok(Self { cluster: cluster_name.to_owned(), cert_der: cert.der().clone(), issuer: Issuer::new(params, key) })
    }

    /// Loads a CA from its certificate (PEM) whose key is held elsewhere; the key must be the
    /// certificate's.
    pub fn from_remote(cert_pem: &str, remote: std::sync::Arc<dyn RemoteKey>) -> Result<Self, CertError> {
        let cert_der = CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .map_err(|e| CertError::Malformed(format!("CA certificate PEM: {e}")))?;
        let public = remote.public();
        if remote_algorithm(&public).is_none() {
            return Err(CertError::UnsupportedKey("a TLS CA key must be ECDSA P-256 or Ed25519".into()));
        }
        let cluster = {
            let cert = parse(&cert_der)?;
            if !cert.is_ca() {
                return Err(CertError::Malformed("not a CA certificate".into()));
            }
            if cert.public_key().subject_public_key.data.as_ref() != public.as_slice() {
                return Err(CertError::KeyMismatch);
            }
            common_name(&cert).ok_or_else(|| CertError::Malformed("CA certificate has no common name".into()))?
        };
        let issuer = Issuer::from_ca_cert_der(&cert_der, TlsKey::Remote(remote, public))?;
        Ok(Self { cluster, cert_der, issuer })
    }

    /// Loads a CA from its certificate and PKCS#8 private key, both PEM.
    ///
    /// The certificate must be a CA certificate with a common name (the cluster's name), and
    /// the key must be the certificate's.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, CertError> {
        let cert_der = CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .map_err(|e| CertError::Malformed(format!("CA certificate PEM: {e}")))?;
        let key = KeyPair::from_pem(key_pem)?;
        let (cluster, public_key) = {
            let cert = parse(&cert_der)?;
            if !cert.is_ca() {
                return Err(CertError::Malformed("not a CA certificate".into()));
            }
            let cluster =
                common_name(&cert).ok_or_else(|| CertError::Malformed("CA certificate has no common name".into()))?;
            (cluster, cert.public_key().subject_public_key.data.to_vec())
        };
        if public_key != key.public_key_raw() {
            return Err(CertError::KeyMismatch);
        }
        let issuer = Issuer::from_ca_cert_der(&cert_der, TlsKey::Local(key))?;
        Ok(Self { cluster, cert_der, issuer })
    }

    /// The cluster this CA belongs to (its common name).
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> String {
        cert_pem(&self.cert_der)
    }

    /// The CA certificate, DER.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }

    /// The CA's private key, PKCS#8 PEM, for storage.
    pub fn key_pem(&self) -> Zeroizing<String> {
        match self.issuer.key() {
            TlsKey::Local(pair) => Zeroizing::new(pair.serialize_pem()),
            // Never asked for: a token's CA is stored as its certificate and the key's label.
            TlsKey::Remote(..) => Zeroizing::new(String::new()),
        }
    }

    /// `other`'s CA certificate (same subject, same key) signed by this CA, valid at most
    /// [`CROSS_SIGN_VALIDITY`]: sent after a server certificate from `other`, it lets a client
    /// that trusts only this CA verify it. A rotation sends the new CA cross-signed by the old
    /// one during `update_servers`.
    pub fn cross_sign(&self, other: &TlsCa) -> Result<CertificateDer<'static>, CertError> {
        let (not_before, not_after) = {
            let cert = parse(&other.cert_der)?;
            let validity = cert.validity();
            (validity.not_before.to_datetime(), validity.not_after.to_datetime())
        };
        let mut params = CertificateParams::default();
        params.distinguished_name = name(&other.cluster, &other.cluster);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = not_before;
        params.not_after = not_after.min(OffsetDateTime::now_utc() + CROSS_SIGN_VALIDITY);
        params.serial_number = Some(random_serial()?);
        let cert = params.signed_by(other.issuer.key(), &self.issuer)?;
        Ok(cert.der().clone())
    }

    /// Issues a server certificate for `dns_names` and `ips` with a new ECDSA P-256 key,
    /// valid from `not_before` to `not_after` (EKU serverAuth).
    pub fn issue_server_cert(
        &self,
        dns_names: &[String],
        ips: &[IpAddr],
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<ServerCert, CertError> {
        let Some(first) = dns_names.first().cloned().or_else(|| ips.first().map(ToString::to_string)) else {
            return Err(CertError::InvalidIdentity("a server certificate needs a DNS name or an IP address".into()));
        };
        check_window(not_before, not_after)?;
        let mut params = leaf_params(name(&first, &self.cluster), not_before, not_after)?;
        for dns in dns_names {
            params.subject_alt_names.push(SanType::DnsName(dns.clone().try_into()?));
        }
        params.subject_alt_names.extend(ips.iter().copied().map(SanType::IpAddress));
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(ServerCert {
            cert_pem: cert.pem(),
            cert_der: cert.der().clone(),
            key_der: PrivatePkcs8KeyDer::from(key.serialize_der()),
            key_pem: Zeroizing::new(key.serialize_pem()),
        })
    }

    /// Issues a client certificate for the user's Ed25519 key asserting `id`.
    ///
    /// CN = user, O = cluster, EKU clientAuth, validity = the identity's window, and the
    /// identity as JSON in the [`IDENTITY_OID`] extension. The identity's cluster must be
    /// this CA's cluster.
    pub fn issue_client_cert(&self, subject: &Ed25519PublicKey, id: &Identity) -> Result<ClientCert, CertError> {
        if id.user.is_empty() {
            return Err(CertError::InvalidIdentity("empty user name".into()));
        }
        if id.cluster != self.cluster {
            return Err(CertError::InvalidIdentity(format!(
                "identity is for cluster {:?}, this CA belongs to {:?}",
                id.cluster, self.cluster
            )));
        }
        check_window(id.valid_after, id.valid_before)?;
        let json = serde_json::to_string(id).map_err(|e| CertError::InvalidIdentity(e.to_string()))?;
        let mut params = leaf_params(name(&id.user, &id.cluster), id.valid_after, id.valid_before)?;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.custom_extensions.push(CustomExtension::from_oid_content(IDENTITY_OID, der_utf8_string(&json)));
        let cert = params.signed_by(&RawEd25519PublicKey(subject.0), &self.issuer)?;
        Ok(ClientCert { cert_pem: cert.pem(), cert_der: cert.der().clone() })
    }
}

/// A CA certificate's pin, as `tctl` prints it and `tsh login --ca-pin` takes it: `sha256:` and
/// the hex SHA-256 of the certificate's SubjectPublicKeyInfo (Teleport's and kubeadm's form).
/// `None` for text that is no PEM certificate.
pub fn ca_pin(cert_pem: &str) -> Option<String> {
    let der = CertificateDer::from_pem_slice(cert_pem.as_bytes()).ok()?;
    let cert = parse(&der).ok()?;
    let digest = ring::digest::digest(&ring::digest::SHA256, cert.public_key().raw);
    Some(format!("sha256:{}", digest.as_ref().iter().map(|b| format!("{b:02x}")).collect::<String>()))
}

/// Converts an (unencrypted) Ed25519 SSH private key to PKCS#8 DER, so that rustls can use
/// the user's SSH key for mutual TLS.
pub fn ssh_key_to_pkcs8(key: &PrivateKey) -> Result<PrivatePkcs8KeyDer<'static>, CertError> {
    if key.is_encrypted() {
        return Err(CertError::UnsupportedKey("the key is encrypted".into()));
    }
    let Some(pair) = key.key_data().ed25519() else {
        return Err(CertError::UnsupportedKey(format!(
            "only Ed25519 keys can be used for TLS, not {}",
            key.algorithm()
        )));
    };
    // RFC 8410 OneAsymmetricKey, version 1 (no public key): SEQUENCE { INTEGER 0,
    // SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING seed } }.
    const PREFIX: [u8; 16] =
        [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
    let mut der = Vec::with_capacity(PREFIX.len() + 32);
    der.extend_from_slice(&PREFIX);
    der.extend_from_slice(pair.private.as_ref());
    Ok(PrivatePkcs8KeyDer::from(der))
}

/// Reads the identity out of a client certificate, without verifying it.
pub fn identity_from_client_cert(der: &[u8]) -> Result<Identity, CertError> {
    identity_of(&parse(der)?)
}

/// Verifies a client certificate against the trusted CA certificates and returns its
/// identity.
///
/// Checks, in this order: issued and signed by one of `trusted_cas`
/// ([`CertError::WrongCa`]; [`CertError::BadSignature`] when the issuing CA is trusted but
/// the signature does not verify), the validity window ([`CertError::NotYetValid`],
/// [`CertError::Expired`]), the clientAuth key usage ([`CertError::NotClientAuth`]), then the
/// identity extension ([`CertError::MissingExtension`], [`CertError::MalformedExtension`]),
/// whose cluster must be the issuing CA's.
pub fn verify_client_cert(
    der: &[u8],
    trusted_cas: &[CertificateDer<'_>],
    now: SystemTime,
) -> Result<Identity, CertError> {
    let cert = parse(der)?;

    let mut issuer_cluster = None;
    let mut same_key_id = false;
    for ca_der in trusted_cas {
        let ca = parse(ca_der)?;
        if !ca.is_ca() || ca.subject().as_raw() != cert.issuer().as_raw() {
            continue;
        }
        if cert.verify_signature(Some(ca.public_key())).is_ok() {
            issuer_cluster = Some(common_name(&ca).unwrap_or_default());
            break;
        }
        same_key_id |= matches!(
            (authority_key_id(&cert), subject_key_id(&ca)),
            (Some(a), Some(s)) if a == s
        );
    }
    let Some(issuer_cluster) = issuer_cluster else {
        return Err(if same_key_id {
            CertError::BadSignature
        } else {
            CertError::WrongCa { signer: cert.issuer().to_string() }
        });
    };

    let now = system_time_secs(now);
    let validity = cert.validity();
    let not_before = validity.not_before.timestamp();
    let not_after = validity.not_after.timestamp();
    if now < not_before {
        return Err(CertError::NotYetValid { valid_after: not_before, now });
    }
    if now > not_after {
        return Err(CertError::Expired { valid_before: not_after, now });
    }

    match cert.extended_key_usage() {
        Ok(Some(eku)) if eku.value.client_auth => {}
        Ok(_) => return Err(CertError::NotClientAuth),
        Err(e) => return Err(CertError::Malformed(format!("extended key usage: {e}"))),
    }

    let id = identity_of(&cert)?;
    if id.cluster != issuer_cluster {
        return Err(CertError::InvalidIdentity(format!(
            "identity claims cluster {:?} but was issued by {:?}",
            id.cluster, issuer_cluster
        )));
    }
    Ok(id)
}

/// An Ed25519 public key given as its 32 raw bytes, for rcgen to certify.
struct RawEd25519PublicKey([u8; 32]);

impl PublicKeyData for RawEd25519PublicKey {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &PKCS_ED25519
    }
}

fn name(common_name: &str, organization: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn.push(DnType::OrganizationName, organization);
    dn
}

fn leaf_params(
    dn: DistinguishedName,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<CertificateParams, CertError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = dn;
    params.not_before = not_before;
    params.not_after = not_after;
    params.serial_number = Some(random_serial()?);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

fn check_window(not_before: OffsetDateTime, not_after: OffsetDateTime) -> Result<(), CertError> {
    if not_after <= not_before {
        return Err(CertError::InvalidValidity("the end of the validity window must be later than its start".into()));
    }
    Ok(())
}

/// A random positive 128-bit serial number.
fn random_serial() -> Result<SerialNumber, CertError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new().fill(&mut bytes).map_err(|_| CertError::Random)?;
    bytes[0] = (bytes[0] & 0x7f) | 0x01;
    Ok(SerialNumber::from_slice(&bytes))
}

/// The Ed25519 public key a certificate certifies (its subject's key), as 32 raw bytes; an error
/// for a certificate of another key type. Tether's client certificates certify the same
/// Ed25519 key as the holder's SSH certificate.
pub fn subject_ed25519_key(der: &[u8]) -> Result<[u8; 32], CertError> {
    let cert = parse(der)?;
    let spki = cert.public_key();
    if spki.algorithm.algorithm != x509_parser::oid_registry::OID_SIG_ED25519 {
        return Err(CertError::Malformed("the certificate's key is not Ed25519".into()));
    }
    <[u8; 32]>::try_from(spki.subject_public_key.data.as_ref())
        .map_err(|_| CertError::Malformed("an Ed25519 key is 32 bytes".into()))
}

fn parse(der: &[u8]) -> Result<X509Certificate<'_>, CertError> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err(CertError::Malformed("trailing data after the certificate".into())),
        Err(e) => Err(CertError::Malformed(e.to_string())),
    }
}

fn cert_pem(der: &[u8]) -> String {
    let b64 = Base64::encode_string(der);
    let mut pem = String::with_capacity(b64.len() + b64.len() / 64 + 60);
    pem.push_str("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(chunk));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

fn common_name(cert: &X509Certificate<'_>) -> Option<String> {
    cert.subject().iter_common_name().next().and_then(|cn| cn.as_str().ok()).map(str::to_owned)
}

fn authority_key_id<'a>(cert: &'a X509Certificate<'_>) -> Option<&'a [u8]> {
    cert.iter_extensions().find_map(|ext| match ext.parsed_extension() {
        ParsedExtension::AuthorityKeyIdentifier(aki) => aki.key_identifier.as_ref().map(|k| k.0),
        _ => None,
    })
}

fn subject_key_id<'a>(cert: &'a X509Certificate<'_>) -> Option<&'a [u8]> {
    cert.iter_extensions().find_map(|ext| match ext.parsed_extension() {
        ParsedExtension::SubjectKeyIdentifier(ski) => Some(ski.0),
        _ => None,
    })
}

fn identity_of(cert: &X509Certificate<'_>) -> Result<Identity, CertError> {
    let malformed = |reason: String| CertError::MalformedExtension { name: IDENTITY_OID_STR.into(), reason };
    let mut found = cert.iter_extensions().filter(|ext| ext.oid.to_id_string() == IDENTITY_OID_STR);
    let Some(ext) = found.next() else {
        return Err(CertError::MissingExtension { name: IDENTITY_OID_STR.into() });
    };
    if found.next().is_some() {
        return Err(malformed("the extension appears more than once".into()));
    }
    let json = parse_der_utf8_string(ext.value).map_err(malformed)?;
    let id: Identity = serde_json::from_str(json).map_err(|e| malformed(e.to_string()))?;
    let cn = common_name(cert);
    if cn.as_deref() != Some(id.user.as_str()) {
        return Err(malformed(format!("user {:?} does not match the common name {:?}", id.user, cn)));
    }
    Ok(id)
}

/// DER encoding of a `UTF8String`.
fn der_utf8_string(s: &str) -> Vec<u8> {
    let len = s.len();
    let mut out = Vec::with_capacity(len + 10);
    out.push(0x0c);
    match u8::try_from(len) {
        Ok(short) if short < 0x80 => out.push(short),
        _ => {
            let be = len.to_be_bytes();
            let skip = be.iter().take_while(|b| **b == 0).count();
            let digits = be.get(skip..).unwrap_or(&[]);
            // At most size_of::<usize>() digits, so this fits the 7-bit count.
            out.push(0x80 | u8::try_from(digits.len()).unwrap_or(0x7f));
            out.extend_from_slice(digits);
        }
    }
    out.extend_from_slice(s.as_bytes());
    out
}

fn parse_der_utf8_string(der: &[u8]) -> Result<&str, String> {
    let (rest, obj) = x509_parser::der_parser::der::parse_der_utf8string(der).map_err(|e| e.to_string())?;
    if !rest.is_empty() {
        return Err("trailing data after the UTF8String".into());
    }
    obj.as_str().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::tests::sample;
    use crate::ssh_cert::generate_ed25519_key;
    use rustls::client::WebPkiServerVerifier;
    use rustls::client::danger::ServerCertVerifier;
    use rustls::crypto::CryptoProvider;
    use rustls::pki_types::{PrivateKeyDer, ServerName, UnixTime};
    use rustls::server::WebPkiClientVerifier;
    use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};
    use std::sync::Arc;
    use std::time::{Duration as StdDuration, UNIX_EPOCH};

    fn provider() -> Arc<CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    fn roots(ca: &TlsCa) -> Arc<RootCertStore> {
        let mut roots = RootCertStore::empty();
        roots.add(ca.cert_der().clone()).unwrap();
        Arc::new(roots)
    }

    /// An identity valid from an hour ago to an hour from now, whole seconds.
    fn current_identity(cluster: &str) -> Identity {
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        Identity {
            cluster: cluster.into(),
            valid_after: now - Duration::hours(1),
            valid_before: now + Duration::hours(1),
            ..sample()
        }
    }

    fn at(t: OffsetDateTime) -> SystemTime {
        UNIX_EPOCH + StdDuration::from_secs(u64::try_from(t.unix_timestamp()).unwrap())
    }

    fn client_cert(ca: &TlsCa, id: &Identity) -> (PrivateKey, ClientCert) {
        let key = generate_ed25519_key().unwrap();
        let public = *key.public_key().key_data().ed25519().unwrap();
        let cert = ca.issue_client_cert(&public, id).unwrap();
        (key, cert)
    }

    #[test]
    fn the_subject_key_is_the_holders_ed25519_key() {
        let ca = TlsCa::generate("root.example").unwrap();
        let (key, cert) = client_cert(&ca, &current_identity("root.example"));
        let der = rustls_pki_types::CertificateDer::from_pem_slice(cert.cert_pem.as_bytes()).unwrap();
        assert_eq!(subject_ed25519_key(&der).unwrap(), key.public_key().key_data().ed25519().unwrap().0);
        // The CA's own key is ECDSA P-256: refused here, as garbage is.
        assert!(matches!(subject_ed25519_key(ca.cert_der()), Err(CertError::Malformed(_))));
        assert!(matches!(subject_ed25519_key(b"not a certificate"), Err(CertError::Malformed(_))));
    }

    /// Serials are positive (top bit clear), never start with a zero byte (so they keep their
    /// 16 bytes in DER) and do not repeat.
    #[test]
    fn serials_are_positive_full_length_and_random() {
        let serials: Vec<Vec<u8>> = (0..64).map(|_| random_serial().unwrap().as_ref().to_vec()).collect();
        for serial in &serials {
            assert_eq!(serial.len(), 16);
            assert!(serial[0] < 0x80 && serial[0] & 1 == 1, "{serial:02x?}");
        }
        let distinct: std::collections::HashSet<_> = serials.iter().collect();
        assert_eq!(distinct.len(), serials.len());
    }

    #[test]
    fn a_remote_keys_algorithm_follows_its_shape() {
        let is = |public: &[u8], want: Option<&'static SignatureAlgorithm>| {
            let got = remote_algorithm(public);
            assert_eq!(got.map(|a| a as *const _), want.map(|a| a as *const _), "{} bytes", public.len());
        };
        is(&[4; 32], Some(&PKCS_ED25519));
        let mut point = vec![4u8];
        point.extend([9u8; 64]);
        is(&point, Some(&PKCS_ECDSA_P256_SHA256));
        is(&point[..64], None);
        point.push(0);
        is(&point, None);
        is(&[5; 65], None);
        is(&[0; 33], None);
    }

    /// Browsers and Mozilla's profiles take ECDSA P-256 chains: the CA and its server
    /// certificates are P-256, and an Ed25519 CA stored by an older version still loads and
    /// issues (its server certificates are P-256 too).
    #[test]
    fn new_cas_and_server_certificates_are_ecdsa_p256() {
        let p256 = x509_parser::oid_registry::OID_KEY_TYPE_EC_PUBLIC_KEY;
        let ecdsa_sha256 = x509_parser::oid_registry::OID_SIG_ECDSA_WITH_SHA256;
        let ca = TlsCa::generate("root.example").unwrap();
        let cert = parse(ca.cert_der()).unwrap();
        assert_eq!(cert.public_key().algorithm.algorithm, p256);
        assert_eq!(cert.signature_algorithm.algorithm, ecdsa_sha256);
        let id = current_identity("root.example");
        let server = ca.issue_server_cert(&["a.example".into()], &[], id.valid_after, id.valid_before).unwrap();
        let leaf = parse(&server.cert_der).unwrap();
        assert_eq!(leaf.public_key().algorithm.algorithm, p256);
        assert_eq!(leaf.signature_algorithm.algorithm, ecdsa_sha256);
        leaf.verify_signature(Some(cert.public_key())).unwrap();
        assert!(ca_pin(&ca.cert_pem()).is_some_and(|p| p.len() == "sha256:".len() + 64));
        let printed = format!("{server:?}");
        assert!(printed.starts_with("ServerCert { cert_pem: \"-----BEGIN CERTIFICATE-----"), "{printed}");
        assert!(!printed.contains("PRIVATE KEY"), "a server certificate's Debug shows no key: {printed}");

        // An Ed25519 CA as an older version stored it.
        let key = KeyPair::generate_for(&PKCS_ED25519).unwrap();
        let mut params = CertificateParams::default();
        params.distinguished_name = name("old.example", "old.example");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let old_cert = params.self_signed(&key).unwrap();
        let old = TlsCa::from_pem(&old_cert.pem(), &key.serialize_pem()).unwrap();
        let id = current_identity("old.example");
        let server = old.issue_server_cert(&["a.example".into()], &[], id.valid_after, id.valid_before).unwrap();
        let leaf = parse(&server.cert_der).unwrap();
        assert_eq!(leaf.public_key().algorithm.algorithm, p256);
        leaf.verify_signature(Some(parse(old.cert_der()).unwrap().public_key())).unwrap();
        let (_, client) = client_cert(&old, &id);
        assert_eq!(verify_client_cert(&client.cert_der, &[old.cert_der().clone()], SystemTime::now()).unwrap(), id);
    }

    /// A key held elsewhere, signing with `signer` (P-256, fixed-length or DER as asked) while
    /// claiming `claimed` as its public key.
    struct FakeToken {
        signer: ring::signature::EcdsaKeyPair,
        claimed: Vec<u8>,
    }

    impl RemoteKey for FakeToken {
        fn public(&self) -> Vec<u8> {
            self.claimed.clone()
        }
        fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
            let rng = ring::rand::SystemRandom::new();
            self.signer.sign(&rng, message).map(|s| s.as_ref().to_vec()).map_err(|e| e.to_string())
        }
    }

    fn p256(alg: &'static ring::signature::EcdsaSigningAlgorithm) -> ring::signature::EcdsaKeyPair {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = ring::signature::EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        ring::signature::EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap()
    }

    /// A token's CA is made only when its signatures verify with the public key it gives: one
    /// that signs with another key, or in another encoding, is refused at once (its CA would
    /// sign certificates no one could verify); an honest one works.
    #[test]
    fn a_token_whose_signatures_do_not_verify_makes_no_ca() {
        use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P256_SHA256_FIXED_SIGNING, KeyPair as _};
        let honest = p256(&ECDSA_P256_SHA256_ASN1_SIGNING);
        let public = honest.public_key().as_ref().to_vec();
        let ca =
            TlsCa::generate_remote("hsm.example", std::sync::Arc::new(FakeToken { signer: honest, claimed: public }));
        assert!(ca.is_ok(), "{ca:?}");

        let other = p256(&ECDSA_P256_SHA256_ASN1_SIGNING);
        let claimed = p256(&ECDSA_P256_SHA256_ASN1_SIGNING).public_key().as_ref().to_vec();
        let wrong_key =
            TlsCa::generate_remote("hsm.example", std::sync::Arc::new(FakeToken { signer: other, claimed }));
        assert!(matches!(wrong_key, Err(CertError::UnsupportedKey(ref why)) if why.contains("does not verify")));

        let raw = p256(&ECDSA_P256_SHA256_FIXED_SIGNING);
        let claimed = raw.public_key().as_ref().to_vec();
        let not_der = TlsCa::generate_remote("hsm.example", std::sync::Arc::new(FakeToken { signer: raw, claimed }));
        assert!(not_der.is_err(), "an r||s signature where X.509 wants DER");
    }

    /// A token's CA has a local CA's window, prints no key, loads back from its certificate with
    /// the same token, and is refused for a certificate that is not a CA's or not the token's.
    #[test]
    fn a_tokens_ca_loads_back_only_from_its_own_ca_certificate() {
        use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, KeyPair as _};
        let token = |signer: ring::signature::EcdsaKeyPair| {
            let claimed = signer.public_key().as_ref().to_vec();
            std::sync::Arc::new(FakeToken { signer, claimed })
        };
        let pkcs8 = ring::signature::EcdsaKeyPair::generate_pkcs8(
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            &ring::rand::SystemRandom::new(),
        )
        .unwrap();
        let load = |der: &[u8]| {
            ring::signature::EcdsaKeyPair::from_pkcs8(
                &ECDSA_P256_SHA256_ASN1_SIGNING,
                der,
                &ring::rand::SystemRandom::new(),
            )
            .unwrap()
        };
        let ca = TlsCa::generate_remote("hsm.example", token(load(pkcs8.as_ref()))).unwrap();
        assert_eq!(format!("{ca:?}"), "TlsCa { cluster: \"hsm.example\", .. }");
        let cert = parse(ca.cert_der()).unwrap();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let (from, until) = (cert.validity().not_before.timestamp(), cert.validity().not_after.timestamp());
        assert!((now - CA_BACKDATE.whole_seconds() - from).abs() < 5, "backdated: {from} vs {now}");
        assert!((from + CA_BACKDATE.whole_seconds() + CA_VALIDITY.whole_seconds() - until).abs() < 5, "{until}");

        let again = TlsCa::from_remote(&ca.cert_pem(), token(load(pkcs8.as_ref()))).unwrap();
        assert_eq!(again.cluster(), "hsm.example");
        let other = p256(&ECDSA_P256_SHA256_ASN1_SIGNING);
        assert!(matches!(TlsCa::from_remote(&ca.cert_pem(), token(other)), Err(CertError::KeyMismatch)));
        let id = current_identity("hsm.example");
        let server = ca.issue_server_cert(&["a.example".into()], &[], id.valid_after, id.valid_before).unwrap();
        let not_ca = TlsCa::from_remote(&server.cert_pem, token(load(server.key_der.secret_pkcs8_der())));
        assert!(matches!(not_ca, Err(CertError::Malformed(ref why)) if why == "not a CA certificate"), "{not_ca:?}");
    }

    #[test]
    fn ca_has_the_requested_shape() {
        let ca = TlsCa::generate("root.example").unwrap();
        assert_eq!(ca.cluster(), "root.example");
        let cert = parse(ca.cert_der()).unwrap();
        assert!(cert.is_ca());
        assert_eq!(cert.subject().to_string(), "CN=root.example, O=root.example");
        assert_eq!(cert.subject().as_raw(), cert.issuer().as_raw());
        cert.verify_signature(None).unwrap();
        let ku = cert.key_usage().unwrap().unwrap().value;
        assert!(ku.key_cert_sign() && ku.crl_sign());
        let v = cert.validity();
        let days = (v.not_after.timestamp() - v.not_before.timestamp()) / 86_400;
        assert_eq!(days, 3650);
        assert!(ca.cert_pem().starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert_eq!(CertificateDer::from_pem_slice(ca.cert_pem().as_bytes()).unwrap(), *ca.cert_der());
        assert!(TlsCa::generate("").is_err());
    }

    #[test]
    fn a_leaf_binding_round_trips_in_client_certs() {
        let ca = TlsCa::generate("root.example").unwrap();
        let id = Identity { route_to_cluster: Some("leaf.example".into()), ..current_identity("root.example") };
        let (_, cert) = client_cert(&ca, &id);
        let got = verify_client_cert(&cert.cert_der, &[ca.cert_der().clone()], SystemTime::now()).unwrap();
        assert_eq!(got.route_to_cluster.as_deref(), Some("leaf.example"));
    }

    #[test]
    fn client_cert_round_trip() {
        let ca = TlsCa::generate("root.example").unwrap();
        let id = current_identity("root.example");
        let (key, cert) = client_cert(&ca, &id);
        assert_eq!(identity_from_client_cert(&cert.cert_der).unwrap(), id);
        let got = verify_client_cert(&cert.cert_der, &[ca.cert_der().clone()], SystemTime::now()).unwrap();
        assert_eq!(got, id);

        let parsed = parse(&cert.cert_der).unwrap();
        assert_eq!(parsed.subject().to_string(), "CN=alice, O=root.example");
        // The certified key is the user's SSH key.
        assert_eq!(
            parsed.public_key().subject_public_key.data.as_ref(),
            key.public_key().key_data().ed25519().unwrap().0.as_slice()
        );
        let ext = parsed.iter_extensions().find(|e| e.oid.to_id_string() == IDENTITY_OID_STR).unwrap();
        assert!(!ext.critical);
        assert_eq!(ext.value[0], 0x0c);
        // Valid from the identity's start to its end.
        assert_eq!(parsed.validity().not_before.timestamp(), id.valid_after.unix_timestamp());
        assert_eq!(parsed.validity().not_after.timestamp(), id.valid_before.unix_timestamp());
    }

    #[test]
    fn ca_reloads_from_pem() {
        let ca = TlsCa::generate("root.example").unwrap();
        let loaded = TlsCa::from_pem(&ca.cert_pem(), &ca.key_pem()).unwrap();
        assert_eq!(loaded.cluster(), "root.example");
        assert_eq!(loaded.cert_der(), ca.cert_der());
        let id = current_identity("root.example");
        let (_, cert) = client_cert(&loaded, &id);
        // Certificates from the reloaded CA verify against the original certificate.
        assert_eq!(verify_client_cert(&cert.cert_der, &[ca.cert_der().clone()], SystemTime::now()).unwrap(), id);
        let other = TlsCa::generate("root.example").unwrap();
        assert!(matches!(TlsCa::from_pem(&ca.cert_pem(), &other.key_pem()), Err(CertError::KeyMismatch)));
        assert!(TlsCa::from_pem("garbage", &ca.key_pem()).is_err());
        assert!(TlsCa::from_pem(&ca.cert_pem(), "garbage").is_err());
        let leaf = ca.issue_server_cert(&["a.example".into()], &[], id.valid_after, id.valid_before).unwrap();
        assert!(TlsCa::from_pem(&leaf.cert_pem, &leaf.key_pem).is_err());
    }

    #[test]
    fn other_cluster_ca_is_rejected() {
        let root = TlsCa::generate("root.example").unwrap();
        let leaf = TlsCa::generate("leaf.example").unwrap();
        let (_, cert) = client_cert(&leaf, &current_identity("leaf.example"));
        let err = verify_client_cert(&cert.cert_der, &[root.cert_der().clone()], SystemTime::now()).unwrap_err();
        assert!(matches!(err, CertError::WrongCa { .. }), "{err}");
        assert!(err.to_string().contains("leaf.example"), "{err}");
        // A different CA that happens to have the same name is still the wrong CA.
        let impostor = TlsCa::generate("leaf.example").unwrap();
        let err = verify_client_cert(&cert.cert_der, &[impostor.cert_der().clone()], SystemTime::now()).unwrap_err();
        assert!(matches!(err, CertError::WrongCa { .. }), "{err}");
        // Trusting both works.
        verify_client_cert(&cert.cert_der, &[root.cert_der().clone(), leaf.cert_der().clone()], SystemTime::now())
            .unwrap();
        // And a CA refuses to certify another cluster's identity.
        let key = generate_ed25519_key().unwrap();
        let public = *key.public_key().key_data().ed25519().unwrap();
        assert!(matches!(
            root.issue_client_cert(&public, &current_identity("leaf.example")),
            Err(CertError::InvalidIdentity(_))
        ));
    }

    #[test]
    fn tampered_cert_has_bad_signature() {
        let ca = TlsCa::generate("root.example").unwrap();
        let (_, cert) = client_cert(&ca, &current_identity("root.example"));
        let mut der = cert.cert_der.to_vec();
        let last = der.len() - 1;
        der[last] ^= 0x01;
        let err = verify_client_cert(&der, &[ca.cert_der().clone()], SystemTime::now()).unwrap_err();
        assert!(matches!(err, CertError::BadSignature), "{err}");
        assert!(verify_client_cert(&der[..10], &[ca.cert_der().clone()], SystemTime::now()).is_err());
    }

    #[test]
    fn validity_window_is_enforced() {
        let ca = TlsCa::generate("root.example").unwrap();
        let id = current_identity("root.example");
        let (_, cert) = client_cert(&ca, &id);
        let trusted = [ca.cert_der().clone()];
        let late = at(id.valid_before) + StdDuration::from_secs(1);
        let err = verify_client_cert(&cert.cert_der, &trusted, late).unwrap_err();
        assert!(matches!(err, CertError::Expired { .. }), "{err}");
        let early = at(id.valid_after) - StdDuration::from_secs(1);
        let err = verify_client_cert(&cert.cert_der, &trusted, early).unwrap_err();
        assert!(matches!(err, CertError::NotYetValid { .. }), "{err}");
        verify_client_cert(&cert.cert_der, &trusted, at(id.valid_after)).unwrap();
        verify_client_cert(&cert.cert_der, &trusted, at(id.valid_before)).unwrap();
    }

    fn custom_client_cert(ca: &TlsCa, ext: Option<Vec<u8>>, eku: bool) -> Vec<u8> {
        let id = current_identity("root.example");
        let key = KeyPair::generate_for(&PKCS_ED25519).unwrap();
        let mut params = leaf_params(name("alice", "root.example"), id.valid_after, id.valid_before).unwrap();
        if eku {
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        }
        if let Some(content) = ext {
            params.custom_extensions.push(CustomExtension::from_oid_content(IDENTITY_OID, content));
        }
        params.signed_by(&key, &ca.issuer).unwrap().der().to_vec()
    }

    #[test]
    fn identity_extension_problems_are_distinct() {
        let ca = TlsCa::generate("root.example").unwrap();
        let trusted = [ca.cert_der().clone()];
        let now = SystemTime::now();
        let err = verify_client_cert(&custom_client_cert(&ca, None, true), &trusted, now).unwrap_err();
        assert!(matches!(err, CertError::MissingExtension { .. }), "{err}");
        let err =
            verify_client_cert(&custom_client_cert(&ca, Some(der_utf8_string("{\"user\": 1}")), true), &trusted, now)
                .unwrap_err();
        assert!(matches!(err, CertError::MalformedExtension { .. }), "{err}");
        let err = verify_client_cert(&custom_client_cert(&ca, Some(b"\x04\x02{}".to_vec()), true), &trusted, now)
            .unwrap_err();
        assert!(matches!(err, CertError::MalformedExtension { .. }), "{err}");
        // A user name that differs from the common name.
        let mut bob = current_identity("root.example");
        bob.user = "bob".into();
        let json = serde_json::to_string(&bob).unwrap();
        let err = verify_client_cert(&custom_client_cert(&ca, Some(der_utf8_string(&json)), true), &trusted, now)
            .unwrap_err();
        assert!(matches!(err, CertError::MalformedExtension { .. }), "{err}");
        // No clientAuth.
        let err = verify_client_cert(&custom_client_cert(&ca, Some(der_utf8_string(&json)), false), &trusted, now)
            .unwrap_err();
        assert!(matches!(err, CertError::NotClientAuth), "{err}");
        // A server certificate is not a client certificate.
        let server = ca.issue_server_cert(&["a.example".into()], &[], bob.valid_after, bob.valid_before).unwrap();
        let err = verify_client_cert(&server.cert_der, &trusted, now).unwrap_err();
        assert!(matches!(err, CertError::NotClientAuth), "{err}");
    }

    #[test]
    fn der_utf8_string_round_trips() {
        for len in [0usize, 1, 127, 128, 255, 256, 70_000] {
            let s = "é".repeat(len / 2) + &"x".repeat(len % 2);
            let der = der_utf8_string(&s);
            assert_eq!(parse_der_utf8_string(&der).unwrap(), s);
        }
        assert_eq!(der_utf8_string("ab"), b"\x0c\x02ab");
        assert_eq!(&der_utf8_string(&"a".repeat(200))[..3], b"\x0c\x81\xc8");
        assert!(parse_der_utf8_string(b"\x0c\x05ab").is_err());
        assert!(parse_der_utf8_string(b"\x0c\x02ab!").is_err());
        assert!(parse_der_utf8_string(b"\x0c\x02\xff\xfe").is_err());
        assert!(parse_der_utf8_string(b"").is_err());
    }

    #[test]
    fn ssh_key_converts_to_pkcs8() {
        let key = generate_ed25519_key().unwrap();
        let pkcs8 = ssh_key_to_pkcs8(&key).unwrap();
        let public = key.public_key().key_data().ed25519().unwrap().0;
        // ring reads it and derives the same public key.
        use ring::signature::KeyPair as _;
        let pair = ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8.secret_pkcs8_der()).unwrap();
        assert_eq!(pair.public_key().as_ref(), public.as_slice());
        // rustls accepts it as a signing key.
        let signer = rustls::crypto::ring::sign::any_supported_type(&PrivateKeyDer::Pkcs8(pkcs8.clone_key())).unwrap();
        assert_eq!(signer.algorithm(), rustls::SignatureAlgorithm::ED25519);
        // rcgen too.
        let rc = KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, &PKCS_ED25519).unwrap();
        assert_eq!(rc.public_key_raw(), public.as_slice());
    }

    #[test]
    fn rustls_verifiers_accept_our_certificates() {
        let ca = TlsCa::generate("root.example").unwrap();
        let id = current_identity("root.example");
        let now = UnixTime::since_unix_epoch(StdDuration::from_secs(
            u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap(),
        ));

        let (_, client) = client_cert(&ca, &id);
        let verifier = WebPkiClientVerifier::builder_with_provider(roots(&ca), provider()).build().unwrap();
        verifier.verify_client_cert(&client.cert_der, &[], now).unwrap();
        let other = TlsCa::generate("leaf.example").unwrap();
        let (_, foreign) = client_cert(&other, &current_identity("leaf.example"));
        assert!(verifier.verify_client_cert(&foreign.cert_der, &[], now).is_err());

        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let server = ca
            .issue_server_cert(
                &["proxy.root.example".into(), "localhost".into()],
                &[ip],
                id.valid_after,
                id.valid_before,
            )
            .unwrap();
        // The chain checks out with x509-parser too.
        let parsed = parse(&server.cert_der).unwrap();
        let ca_cert = parse(ca.cert_der()).unwrap();
        assert_eq!(parsed.issuer().as_raw(), ca_cert.subject().as_raw());
        parsed.verify_signature(Some(ca_cert.public_key())).unwrap();
        assert!(parsed.extended_key_usage().unwrap().unwrap().value.server_auth);

        let verifier = WebPkiServerVerifier::builder_with_provider(roots(&ca), provider()).build().unwrap();
        for name in ["proxy.root.example", "localhost", "127.0.0.1"] {
            let name = ServerName::try_from(name).unwrap();
            verifier.verify_server_cert(&server.cert_der, &[], &name, &[], now).unwrap();
        }
        let wrong = ServerName::try_from("evil.example").unwrap();
        assert!(verifier.verify_server_cert(&server.cert_der, &[], &wrong, &[], now).is_err());
        assert!(ca.issue_server_cert(&[], &[], id.valid_after, id.valid_before).is_err());
    }

    #[test]
    fn a_client_that_knows_only_the_old_ca_verifies_the_new_one_through_its_cross_signature() {
        let old = TlsCa::generate("root.example").unwrap();
        let new = TlsCa::generate("root.example").unwrap();
        let id = current_identity("root.example");
        let server = new.issue_server_cert(&["localhost".into()], &[], id.valid_after, id.valid_before).unwrap();
        let cross = old.cross_sign(&new).unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let now = UnixTime::now();
        let knows_old = WebPkiServerVerifier::builder_with_provider(roots(&old), provider()).build().unwrap();
        assert!(
            knows_old.verify_server_cert(&server.cert_der, &[], &name, &[], now).is_err(),
            "the new CA's certificate verified without the cross-signature"
        );
        knows_old.verify_server_cert(&server.cert_der, std::slice::from_ref(&cross), &name, &[], now).unwrap();
        // A client that knows the new CA verifies the same chain, cross-signature and all.
        let knows_new = WebPkiServerVerifier::builder_with_provider(roots(&new), provider()).build().unwrap();
        knows_new.verify_server_cert(&server.cert_der, std::slice::from_ref(&cross), &name, &[], now).unwrap();
        // A stranger's cross-signature does not help.
        let stranger = TlsCa::generate("root.example").unwrap().cross_sign(&new).unwrap();
        assert!(knows_old.verify_server_cert(&server.cert_der, &[stranger], &name, &[], now).is_err());
    }

    /// A complete mutual-TLS handshake in memory, the client using its SSH key.
    #[test]
    fn mutual_tls_handshake_with_the_ssh_key() {
        let ca = TlsCa::generate("root.example").unwrap();
        let id = current_identity("root.example");
        let (key, client) = client_cert(&ca, &id);
        let server = ca.issue_server_cert(&["localhost".into()], &[], id.valid_after, id.valid_before).unwrap();

        let verifier = WebPkiClientVerifier::builder_with_provider(roots(&ca), provider()).build().unwrap();
        let server_config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![server.cert_der.clone()], PrivateKeyDer::Pkcs8(server.key_der.clone_key()))
            .unwrap();
        let client_config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots(&ca))
            .with_client_auth_cert(vec![client.cert_der.clone()], PrivateKeyDer::Pkcs8(ssh_key_to_pkcs8(&key).unwrap()))
            .unwrap();

        let mut c = ClientConnection::new(Arc::new(client_config), ServerName::try_from("localhost").unwrap()).unwrap();
        let mut s = ServerConnection::new(Arc::new(server_config)).unwrap();
        for _ in 0..10 {
            if !c.is_handshaking() && !s.is_handshaking() {
                break;
            }
            let mut buf = Vec::new();
            while c.wants_write() {
                c.write_tls(&mut buf).unwrap();
            }
            let mut rd = buf.as_slice();
            while !rd.is_empty() {
                s.read_tls(&mut rd).unwrap();
            }
            s.process_new_packets().unwrap();
            let mut buf = Vec::new();
            while s.wants_write() {
                s.write_tls(&mut buf).unwrap();
            }
            let mut rd = buf.as_slice();
            while !rd.is_empty() {
                c.read_tls(&mut rd).unwrap();
            }
            c.process_new_packets().unwrap();
        }
        assert!(!c.is_handshaking() && !s.is_handshaking());
        let peer = s.peer_certificates().unwrap();
        assert_eq!(peer[0], client.cert_der);
        let got = verify_client_cert(&peer[0], &[ca.cert_der().clone()], SystemTime::now()).unwrap();
        assert_eq!(got, id);
    }
}
