//! Ed25519 SSH certificate authorities and the OpenSSH certificates they issue and verify.
//!
//! An [`SshCa`] signs user certificates (carrying an [`Identity`]) and host certificates
//! (carrying a [`HostIdentity`]). Tether's data rides in certificate *extensions*, never in
//! critical options, so that OpenSSH accepts the certificates: `roles@tether` (JSON array),
//! `traits@tether` (JSON object) and `cluster@tether` (the issuing cluster's name), next to
//! OpenSSH's own `permit-*` flags. [`verify_user_cert`] and [`verify_host_cert`] perform the
//! checks russh leaves to the application: trusted signer, validity window, signature,
//! certificate type, principal and critical options, each reported as a distinct
//! [`CertError`]. All keys are handled through russh's re-export of `ssh-key`.

use std::fmt;
use std::time::SystemTime;

use ring::rand::{SecureRandom, SystemRandom};
use russh::keys::ssh_key::certificate::{Builder, CertType};
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::ssh_key::public::KeyData;
use russh::keys::ssh_key::{
    Algorithm, Certificate, Fingerprint, HashAlg, LineEnding, PrivateKey, PublicKey, Signature,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::identity::{
    CertError, Identity, PERMIT_AGENT_FORWARDING, PERMIT_PORT_FORWARDING, PERMIT_PTY, Traits, system_time_secs,
    unix_to_datetime,
};

/// Extension carrying the user's roles as a JSON array of strings.
pub const ROLES_EXTENSION: &str = "roles@tether";
/// Extension carrying the user's traits as a JSON object of string arrays.
pub const TRAITS_EXTENSION: &str = "traits@tether";
/// Extension carrying the name of the cluster whose CA issued the certificate.
pub const CLUSTER_EXTENSION: &str = "cluster@tether";
/// Extension naming the one leaf cluster a root's certificate is for ([`Identity::route_to_cluster`]).
pub const ROUTE_EXTENSION: &str = "route-to-cluster@tether";

/// Length of the random nonce in each certificate (OpenSSH uses 32 bytes too).
const NONCE_LEN: usize = 32;

/// What a host certificate asserts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostIdentity {
    /// The host's unique ID (the certificate's key ID).
    pub host_id: String,
    /// Names the host may be reached by (the certificate's principals).
    pub principals: Vec<String>,
    /// The cluster whose CA issued the certificate.
    pub cluster: String,
    /// Start of the validity window (inclusive).
    #[serde(with = "time::serde::rfc3339")]
    pub valid_after: OffsetDateTime,
    /// End of the validity window (exclusive).
    #[serde(with = "time::serde::rfc3339")]
    pub valid_before: OffsetDateTime,
}

/// A CA key held elsewhere (an HSM behind PKCS#11), which signs there: the key never enters
/// this process. Both [`SshCa`] and [`crate::tls_cert::TlsCa`] sign through it.
///
/// SSH CAs take Ed25519 keys only; a TLS CA's key may be Ed25519 or ECDSA P-256 (what browsers
/// accept).
pub trait RemoteKey: Send + Sync {
    /// The public key as X.509 carries it: Ed25519's 32 bytes, or P-256's 65-byte
    /// uncompressed point.
    fn public(&self) -> Vec<u8>;
    /// The signature of `message`, or why the token did not sign: Ed25519's 64 bytes, or for a
    /// P-256 key ECDSA over SHA-256 as X.509 carries it (DER `Ecdsa-Sig-Value`).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String>;
}

/// Where a CA's key is: here, or in a token. (One per CA and few CAs: the size of the local
/// variant does not matter.)
#[derive(Clone)]
#[allow(clippy::large_enum_variant)]
enum CaKey {
    /// The private key, in memory (sealed at rest by the auth service).
    Local(PrivateKey),
    /// A token's key, and its public key.
    Remote(std::sync::Arc<dyn RemoteKey>, PublicKey),
}

/// An Ed25519 SSH certificate authority (a user CA or a host CA).
#[derive(Clone)]
pub struct SshCa {
    key: CaKey,
}

/// What ssh-key's certificate builder signs with: the CA, wherever its key is.
struct Signing<'a>(&'a SshCa);

impl signature::Signer<Signature> for Signing<'_> {
    fn try_sign(&self, message: &[u8]) -> Result<Signature, signature::Error> {
        match &self.0.key {
            CaKey::Local(key) => key.try_sign(message),
            CaKey::Remote(remote, _) => {
                let bytes = remote.sign(message).map_err(signature::Error::from_source)?;
                Signature::new(Algorithm::Ed25519, bytes).map_err(signature::Error::from_source)
            }
        }
    }
}

impl From<&Signing<'_>> for russh::keys::ssh_key::public::KeyData {
    fn from(signing: &Signing<'_>) -> Self {
        signing.0.public_key().key_data().clone()
    }
}

impl fmt::Debug for SshCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SshCa").field("fingerprint", &self.fingerprint().to_string()).finish_non_exhaustive()
    }
}

impl SshCa {
    /// Generates a new CA with a fresh Ed25519 key.
    pub fn generate() -> Result<Self, CertError> {
        Ok(Self { key: CaKey::Local(generate_ed25519_key()?) })
    }

    /// A CA whose key is held elsewhere and signs there.
    pub fn from_remote(remote: std::sync::Arc<dyn RemoteKey>) -> Result<Self, CertError> {
        let raw = <[u8; 32]>::try_from(remote.public().as_slice())
            .map_err(|_| CertError::UnsupportedKey("SSH CA keys must be Ed25519".into()))?;
        let public = PublicKey::from(russh::keys::ssh_key::public::KeyData::Ed25519(
            russh::keys::ssh_key::public::Ed25519PublicKey(raw),
        ));
        Ok(Self { key: CaKey::Remote(remote, public) })
    }

    /// Loads a CA from its OpenSSH private key (unencrypted, Ed25519).
    pub fn from_openssh(pem: &str) -> Result<Self, CertError> {
        let key = PrivateKey::from_openssh(pem)?;
        if key.is_encrypted() {
            return Err(CertError::UnsupportedKey("the CA private key is encrypted".into()));
        }
        if key.algorithm() != Algorithm::Ed25519 {
            return Err(CertError::UnsupportedKey(format!("CA keys must be Ed25519, not {}", key.algorithm())));
        }
        Ok(Self { key: CaKey::Local(key) })
    }

    /// The CA's private key in OpenSSH format, for storage (none for a key held elsewhere).
    pub fn to_openssh(&self) -> Result<Zeroizing<String>, CertError> {
        match &self.key {
            CaKey::Local(key) => Ok(key.to_openssh(LineEnding::LF)?),
            CaKey::Remote(..) => Err(CertError::UnsupportedKey("the CA key is held in a token".into())),
        }
    }

    /// The CA's public key.
    pub fn public_key(&self) -> &PublicKey {
        match &self.key {
            CaKey::Local(key) => key.public_key(),
            CaKey::Remote(_, public) => public,
        }
    }

    /// The CA's public key as an `authorized_keys` / `known_hosts` key (`ssh-ed25519 AAAA…`).
    pub fn public_key_openssh(&self) -> Result<String, CertError> {
        Ok(self.public_key().to_openssh()?)
    }

    /// The SHA256 fingerprint of the CA's public key.
    pub fn fingerprint(&self) -> Fingerprint {
        self.public_key().fingerprint(HashAlg::Sha256)
    }

    /// Issues a user certificate for `subject` asserting `id`.
    ///
    /// Key ID = user, principals = logins (at least one is required: OpenSSH reads an empty
    /// list as "any login"), validity = the identity's window, `permit-*` extensions as the
    /// identity allows, plus the Tether extensions. No critical options.
    pub fn issue_user_cert(&self, subject: &PublicKey, id: &Identity, serial: u64) -> Result<Certificate, CertError> {
        if id.user.is_empty() {
            return Err(CertError::InvalidIdentity("empty user name".into()));
        }
        if id.cluster.is_empty() {
            return Err(CertError::InvalidIdentity("empty cluster name".into()));
        }
        check_principals(&id.logins)?;
        let roles = serde_json::to_string(&id.roles).map_err(|e| CertError::InvalidIdentity(format!("roles: {e}")))?;
        let traits =
            serde_json::to_string(&id.traits).map_err(|e| CertError::InvalidIdentity(format!("traits: {e}")))?;

        let mut builder = new_builder(subject, id.valid_after, id.valid_before)?;
        builder.serial(serial)?.cert_type(CertType::User)?.key_id(id.user.clone())?;
        for login in &id.logins {
            builder.valid_principal(login.clone())?;
        }
        for name in id.permit_extensions() {
            builder.extension(name, "")?;
        }
        builder
            .extension(ROLES_EXTENSION, roles)?
            .extension(TRAITS_EXTENSION, traits)?
            .extension(CLUSTER_EXTENSION, id.cluster.clone())?;
        if let Some(leaf) = &id.route_to_cluster {
            builder.extension(ROUTE_EXTENSION, leaf.clone())?;
        }
        Ok(builder.sign(&Signing(self))?)
    }

    /// Issues a host certificate for `subject` asserting `host`.
    ///
    /// Key ID = host ID, principals = the host's names (at least one), validity = the
    /// host identity's window, and the `cluster@tether` extension.
    pub fn issue_host_cert(
        &self,
        subject: &PublicKey,
        host: &HostIdentity,
        serial: u64,
    ) -> Result<Certificate, CertError> {
        self.issue_host_cert_with(subject, host, serial, &[])
    }

    /// [`SshCa::issue_host_cert`] with more extensions (a proxy's endorsements, `endorse.rs`).
    pub fn issue_host_cert_with(
        &self,
        subject: &PublicKey,
        host: &HostIdentity,
        serial: u64,
        extensions: &[(&str, String)],
    ) -> Result<Certificate, CertError> {
        if host.host_id.is_empty() {
            return Err(CertError::InvalidIdentity("empty host ID".into()));
        }
        if host.cluster.is_empty() {
            return Err(CertError::InvalidIdentity("empty cluster name".into()));
        }
        check_principals(&host.principals)?;
        let mut builder = new_builder(subject, host.valid_after, host.valid_before)?;
        builder.serial(serial)?.cert_type(CertType::Host)?.key_id(host.host_id.clone())?;
        for principal in &host.principals {
            builder.valid_principal(principal.clone())?;
        }
        builder.extension(CLUSTER_EXTENSION, host.cluster.clone())?;
        for (name, value) in extensions {
            builder.extension(*name, value.clone())?;
        }
        Ok(builder.sign(&Signing(self))?)
    }

    /// An Ed25519 signature of `message` by the CA's key (an endorsement of its successor).
    pub fn sign_raw(&self, message: &[u8]) -> Result<Vec<u8>, CertError> {
        let key = match &self.key {
            CaKey::Local(key) => key,
            CaKey::Remote(remote, _) => return remote.sign(message).map_err(CertError::UnsupportedKey),
        };
        let pair = key.key_data().ed25519().ok_or_else(|| CertError::UnsupportedKey("not Ed25519".into()))?;
        let seed = Zeroizing::new(pair.private.to_bytes());
        let key = ring::signature::Ed25519KeyPair::from_seed_and_public_key(seed.as_ref(), pair.public.as_ref())
            .map_err(|e| CertError::UnsupportedKey(e.to_string()))?;
        Ok(key.sign(message).as_ref().to_vec())
    }
}

/// Generates a fresh Ed25519 key pair (for clients, hosts and CAs).
pub fn generate_ed25519_key() -> Result<PrivateKey, CertError> {
    let mut seed = Zeroizing::new([0u8; 32]);
    SystemRandom::new().fill(seed.as_mut()).map_err(|_| CertError::Random)?;
    Ok(PrivateKey::from(Ed25519Keypair::from_seed(&seed)))
}

/// The SHA256 fingerprint of the CA key that signed `cert`.
pub fn ca_fingerprint(cert: &Certificate) -> Fingerprint {
    cert.signature_key().fingerprint(HashAlg::Sha256)
}

/// Writes a certificate in OpenSSH text form (`ssh-ed25519-cert-v01@openssh.com AAAA…`).
pub fn cert_to_openssh(cert: &Certificate) -> Result<String, CertError> {
    Ok(cert.to_openssh()?)
}

/// Reads a certificate from OpenSSH text form.
pub fn cert_from_openssh(text: &str) -> Result<Certificate, CertError> {
    Ok(Certificate::from_openssh(text.trim())?)
}

/// Reads the identity out of a user certificate, without verifying it.
///
/// Fails when the certificate is not a user certificate, when a Tether extension is missing
/// or malformed, or when its validity window cannot be represented.
pub fn inspect_user_cert(cert: &Certificate) -> Result<Identity, CertError> {
    require_type(cert, CertType::User)?;
    let exts = cert.extensions();
    let roles: Vec<String> = json_extension(cert, ROLES_EXTENSION)?;
    let traits: Traits = json_extension(cert, TRAITS_EXTENSION)?;
    let (valid_after, valid_before) = cert_window(cert)?;
    Ok(Identity {
        user: cert.key_id().to_owned(),
        roles,
        traits,
        logins: cert.valid_principals().to_vec(),
        cluster: cluster_extension(cert)?,
        valid_after,
        valid_before,
        permit_pty: exts.contains_key(PERMIT_PTY),
        permit_agent_forwarding: exts.contains_key(PERMIT_AGENT_FORWARDING),
        permit_port_forwarding: exts.contains_key(PERMIT_PORT_FORWARDING),
        route_to_cluster: exts.get(ROUTE_EXTENSION).cloned(),
    })
}

/// Reads the host identity out of a host certificate, without verifying it.
pub fn inspect_host_cert(cert: &Certificate) -> Result<HostIdentity, CertError> {
    require_type(cert, CertType::Host)?;
    let (valid_after, valid_before) = cert_window(cert)?;
    Ok(HostIdentity {
        host_id: cert.key_id().to_owned(),
        principals: cert.valid_principals().to_vec(),
        cluster: cluster_extension(cert)?,
        valid_after,
        valid_before,
    })
}

/// Verifies a user certificate and returns the identity it asserts.
///
/// ```
/// use std::time::SystemTime;
/// use tether_shared::identity::{CertError, Identity};
/// use tether_shared::ssh_cert::{SshCa, generate_ed25519_key, verify_user_cert};
///
/// let ca = SshCa::generate()?;
/// let key = generate_ed25519_key()?;
/// let now = time::OffsetDateTime::now_utc();
/// let alice = Identity {
///     user: "alice".into(),
///     roles: vec!["access".into()],
///     traits: Default::default(),
///     logins: vec!["alice".into()],
///     cluster: "root.example.com".into(),
///     valid_after: now - time::Duration::minutes(1),
///     valid_before: now + time::Duration::hours(1),
///     permit_pty: true,
///     permit_agent_forwarding: false,
///     permit_port_forwarding: false,
///     route_to_cluster: None,
/// };
/// let cert = ca.issue_user_cert(key.public_key(), &alice, 1)?;
///
/// let trusted = [ca.public_key().clone()];
/// let seen = verify_user_cert(&cert, &trusted, Some("alice"), SystemTime::now())?;
/// assert_eq!((seen.user.as_str(), seen.roles.as_slice()), ("alice", &["access".to_string()][..]));
/// // Another login, or a CA nobody trusts, is refused.
/// let as_root = verify_user_cert(&cert, &trusted, Some("root"), SystemTime::now());
/// assert!(matches!(as_root, Err(CertError::MissingPrincipal { .. })));
/// let stranger = [SshCa::generate()?.public_key().clone()];
/// let unknown_ca = verify_user_cert(&cert, &stranger, None, SystemTime::now());
/// assert!(matches!(unknown_ca, Err(CertError::WrongCa { .. })));
/// # Ok::<(), CertError>(())
/// ```
///
/// Checks, in this order: the signer is one of `trusted_cas` ([`CertError::WrongCa`]), the
/// validity window ([`CertError::NotYetValid`], [`CertError::Expired`]), the signature
/// ([`CertError::BadSignature`]), the type ([`CertError::WrongCertType`]), that `login` is
/// among the principals ([`CertError::MissingPrincipal`]; skipped when `login` is `None`; an
/// empty principal list matches nothing), that there are no critical options
/// ([`CertError::CriticalOption`]), then decodes the identity.
pub fn verify_user_cert(
    cert: &Certificate,
    trusted_cas: &[PublicKey],
    login: Option<&str>,
    now: SystemTime,
) -> Result<Identity, CertError> {
    verify_common(cert, trusted_cas, CertType::User, login, now)?;
    inspect_user_cert(cert)
}

/// Verifies a host certificate for `hostname` and returns the host identity.
///
/// The same checks as [`verify_user_cert`], requiring a host certificate whose principals
/// include `hostname`.
pub fn verify_host_cert(
    cert: &Certificate,
    trusted_cas: &[PublicKey],
    hostname: &str,
    now: SystemTime,
) -> Result<HostIdentity, CertError> {
    verify_common(cert, trusted_cas, CertType::Host, Some(hostname), now)?;
    inspect_host_cert(cert)
}

/// What an SSH client checks of the server it dialled: a host certificate (never a plain key,
/// never trust on first use) from one of `cas`, with `name` among its principals. The error is
/// the reason, for the message the user sees.
pub fn verify_server_key(
    key: &russh::keys::PublicKeyOrCertificate,
    cas: &[PublicKey],
    name: &str,
    now: SystemTime,
) -> Result<HostIdentity, String> {
    match key {
        russh::keys::PublicKeyOrCertificate::Certificate(cert) => {
            verify_host_cert(cert, cas, name, now).map_err(|e| e.to_string())
        }
        russh::keys::PublicKeyOrCertificate::PublicKey { .. } => {
            Err("the server offered a plain host key, not a certificate from the cluster's host CA".into())
        }
    }
}

fn verify_common(
    cert: &Certificate,
    trusted_cas: &[PublicKey],
    expected_type: CertType,
    principal: Option<&str>,
    now: SystemTime,
) -> Result<(), CertError> {
    let signer = cert.signature_key();
    let Some(ca) = trusted_cas.iter().find(|ca| ca.key_data() == signer) else {
        return Err(CertError::WrongCa { signer: signer.fingerprint(HashAlg::Sha256).to_string() });
    };

    let now = system_time_secs(now);
    let valid_after = i64::try_from(cert.valid_after()).unwrap_or(i64::MAX);
    let valid_before = i64::try_from(cert.valid_before()).unwrap_or(i64::MAX);
    if now < valid_after {
        return Err(CertError::NotYetValid { valid_after, now });
    }
    if now >= valid_before {
        return Err(CertError::Expired { valid_before, now });
    }
    // The window was checked above, so the only failure left for `validate_at` is the
    // signature itself.
    let now_unsigned = u64::try_from(now).map_err(|_| CertError::NotYetValid { valid_after, now })?;
    cert.validate_at(now_unsigned, [&ca.fingerprint(HashAlg::Sha256)]).map_err(|_| CertError::BadSignature)?;

    require_type(cert, expected_type)?;
    if let Some(principal) = principal
        && !cert.valid_principals().iter().any(|p| p == principal)
    {
        return Err(CertError::MissingPrincipal {
            principal: principal.to_owned(),
            principals: cert.valid_principals().to_vec(),
        });
    }
    if let Some(name) = cert.critical_options().keys().next() {
        return Err(CertError::CriticalOption { name: name.clone() });
    }
    Ok(())
}

fn type_name(cert_type: CertType) -> &'static str {
    if cert_type.is_host() { "host" } else { "user" }
}

fn require_type(cert: &Certificate, expected: CertType) -> Result<(), CertError> {
    if cert.cert_type() == expected {
        Ok(())
    } else {
        Err(CertError::WrongCertType { expected: type_name(expected), actual: type_name(cert.cert_type()) })
    }
}

fn check_principals(principals: &[String]) -> Result<(), CertError> {
    if principals.is_empty() {
        return Err(CertError::NoPrincipals);
    }
    if principals.iter().any(String::is_empty) {
        return Err(CertError::InvalidIdentity("empty principal".into()));
    }
    Ok(())
}

fn new_builder(
    subject: &PublicKey,
    valid_after: OffsetDateTime,
    valid_before: OffsetDateTime,
) -> Result<Builder, CertError> {
    if matches!(subject.key_data(), KeyData::Certificate(_)) {
        return Err(CertError::UnsupportedKey("the subject key is itself a certificate".into()));
    }
    let after = u64::try_from(valid_after.unix_timestamp())
        .map_err(|_| CertError::InvalidValidity("valid_after is before 1970".into()))?;
    let before = u64::try_from(valid_before.unix_timestamp())
        .map_err(|_| CertError::InvalidValidity("valid_before is before 1970".into()))?;
    if before <= after {
        return Err(CertError::InvalidValidity("valid_before must be later than valid_after".into()));
    }
    let mut nonce = vec![0u8; NONCE_LEN];
    SystemRandom::new().fill(&mut nonce).map_err(|_| CertError::Random)?;
    Ok(Builder::new(nonce, subject.key_data().clone(), after, before)?)
}

fn cert_window(cert: &Certificate) -> Result<(OffsetDateTime, OffsetDateTime), CertError> {
    let to_time = |secs: u64| {
        i64::try_from(secs)
            .map_err(|_| CertError::InvalidValidity(format!("time {secs} out of range")))
            .and_then(unix_to_datetime)
    };
    Ok((to_time(cert.valid_after())?, to_time(cert.valid_before())?))
}

fn extension<'c>(cert: &'c Certificate, name: &str) -> Result<&'c str, CertError> {
    cert.extensions().get(name).map(String::as_str).ok_or_else(|| CertError::MissingExtension { name: name.into() })
}

fn json_extension<T: serde::de::DeserializeOwned>(cert: &Certificate, name: &str) -> Result<T, CertError> {
    serde_json::from_str(extension(cert, name)?)
        .map_err(|e| CertError::MalformedExtension { name: name.into(), reason: e.to_string() })
}

fn cluster_extension(cert: &Certificate) -> Result<String, CertError> {
    let cluster = extension(cert, CLUSTER_EXTENSION)?;
    if cluster.is_empty() {
        return Err(CertError::MalformedExtension {
            name: CLUSTER_EXTENSION.into(),
            reason: "empty cluster name".into(),
        });
    }
    Ok(cluster.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::tests::sample;
    use std::process::Command;
    use std::time::{Duration, UNIX_EPOCH};

    fn at(t: OffsetDateTime) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(u64::try_from(t.unix_timestamp()).unwrap())
    }

    /// A moment inside the sample identity's window.
    fn inside() -> SystemTime {
        at(sample().valid_after) + Duration::from_secs(3600)
    }

    fn host(cluster: &str) -> HostIdentity {
        let id = sample();
        HostIdentity {
            host_id: "4f1c-node".into(),
            principals: vec!["node1".into(), "node1.example".into()],
            cluster: cluster.into(),
            valid_after: id.valid_after,
            valid_before: id.valid_before,
        }
    }

    /// Builds a certificate directly, bypassing `SshCa`'s rules.
    fn raw_cert(ca: &SshCa, subject: &PublicKey, edit: impl FnOnce(&mut Builder) -> &mut Builder) -> Certificate {
        let id = sample();
        let mut b = Builder::new(
            vec![7u8; 32],
            subject.key_data().clone(),
            u64::try_from(id.valid_after.unix_timestamp()).unwrap(),
            u64::try_from(id.valid_before.unix_timestamp()).unwrap(),
        )
        .unwrap();
        edit(&mut b);
        b.sign(&Signing(ca)).unwrap()
    }

    #[test]
    fn issue_and_verify_user_cert() {
        let ca = SshCa::generate().unwrap();
        let key = generate_ed25519_key().unwrap();
        let id = sample();
        let cert = ca.issue_user_cert(key.public_key(), &id, 42).unwrap();
        assert_eq!(cert.serial(), 42);
        assert_eq!(cert.key_id(), "alice");
        assert!(cert.critical_options().is_empty());
        assert_eq!(ca_fingerprint(&cert), ca.fingerprint());
        let trusted = [ca.public_key().clone()];
        let got = verify_user_cert(&cert, &trusted, Some("root"), inside()).unwrap();
        assert_eq!(got, id);
        let got = verify_user_cert(&cert, &trusted, None, inside()).unwrap();
        assert_eq!(got, id);
        // The window's start is inclusive.
        verify_user_cert(&cert, &trusted, Some("alice"), at(id.valid_after)).unwrap();
    }

    #[test]
    fn inspect_round_trips_roles_traits_and_permits() {
        let ca = SshCa::generate().unwrap();
        let key = generate_ed25519_key().unwrap();
        let mut id = sample();
        id.roles = vec!["a,b".into(), "ünïcode".into(), String::new()];
        id.traits.insert("empty".into(), vec![]);
        id.permit_agent_forwarding = true;
        id.permit_pty = false;
        let cert = ca.issue_user_cert(key.public_key(), &id, 1).unwrap();
        let text = cert_to_openssh(&cert).unwrap();
        let back = cert_from_openssh(&format!("{text}\n")).unwrap();
        assert_eq!(back, cert);
        assert_eq!(inspect_user_cert(&back).unwrap(), id);
        assert!(!back.extensions().contains_key(PERMIT_PTY));
        assert_eq!(back.extensions().get(PERMIT_AGENT_FORWARDING).unwrap(), "");
        assert!(!back.extensions().contains_key(ROUTE_EXTENSION), "not bound unless asked");
    }

    #[test]
    fn a_leaf_binding_round_trips() {
        let ca = SshCa::generate().unwrap();
        let key = generate_ed25519_key().unwrap();
        let id = Identity { route_to_cluster: Some("leaf.example".into()), ..sample() };
        let cert = ca.issue_user_cert(key.public_key(), &id, 1).unwrap();
        assert_eq!(cert.extensions().get(ROUTE_EXTENSION).map(String::as_str), Some("leaf.example"));
        let got = verify_user_cert(&cert, &[ca.public_key().clone()], Some("root"), inside()).unwrap();
        assert_eq!(got.route_to_cluster.as_deref(), Some("leaf.example"));
    }

    #[test]
    fn wrong_ca_is_reported_first() {
        let ca = SshCa::generate().unwrap();
        let other = SshCa::generate().unwrap();
        let key = generate_ed25519_key().unwrap();
        let cert = other.issue_user_cert(key.public_key(), &sample(), 1).unwrap();
        // Also expired and for another login: the untrusted signer still comes first.
        let late = at(sample().valid_before) + Duration::from_secs(10);
        let err = verify_user_cert(&cert, &[ca.public_key().clone()], Some("bob"), late).unwrap_err();
        assert!(matches!(err, CertError::WrongCa { .. }), "{err}");
        assert!(err.to_string().contains(&other.fingerprint().to_string()), "{err}");
        let err = verify_user_cert(&cert, &[], Some("root"), inside()).unwrap_err();
        assert!(matches!(err, CertError::WrongCa { .. }), "{err}");
    }

    #[test]
    fn expired_and_not_yet_valid() {
        let ca = SshCa::generate().unwrap();
        let key = generate_ed25519_key().unwrap();
        let id = sample();
        let cert = ca.issue_user_cert(key.public_key(), &id, 1).unwrap();
        let trusted = [ca.public_key().clone()];
        // The window's end is exclusive.
        let err = verify_user_cert(&cert, &trusted, Some("root"), at(id.valid_before)).unwrap_err();
        assert!(matches!(err, CertError::Expired { .. }), "{err}");
        assert!(err.to_string().contains("2026-01-01T12:00:00Z"), "{err}");
        let early = at(id.valid_after) - Duration::from_secs(1);
        let err = verify_user_cert(&cert, &trusted, Some("root"), early).unwrap_err();
        assert!(matches!(err, CertError::NotYetValid { .. }), "{err}");
        assert!(err.to_string().contains("2026-01-01T00:00:00Z"), "{err}");
        let err = verify_user_cert(&cert, &trusted, Some("root"), UNIX_EPOCH - Duration::from_secs(5)).unwrap_err();
        assert!(matches!(err, CertError::NotYetValid { .. }), "{err}");
    }

    #[test]
    fn tampered_signature_is_rejected() {
        let ca = SshCa::generate().unwrap();
        let key = generate_ed25519_key().unwrap();
        let cert = ca.issue_user_cert(key.public_key(), &sample(), 1).unwrap();
        let mut bytes = cert.to_bytes().unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        let forged = Certificate::from_bytes(&bytes).unwrap();
        let err = verify_user_cert(&forged, &[ca.public_key().clone()], Some("root"), inside()).unwrap_err();
        assert!(matches!(err, CertError::BadSignature), "{err}");
    }

    #[test]
    fn certificate_types_are_not_interchangeable() {
        let ca = SshCa::generate().unwrap();
        let key = generate_ed25519_key().unwrap();
        let trusted = [ca.public_key().clone()];
        let host_cert = ca.issue_host_cert(key.public_key(), &host("root.example"), 9).unwrap();
        let err = verify_user_cert(&host_cert, &trusted, Some("node1"), inside()).unwrap_err();
        assert!(matches!(err, CertError::WrongCertType { expected: "user", actual: "host" }), "{err}");
        let user_cert = ca.issue_user_cert(key.public_key(), &sample(), 1).unwrap();
        let err = verify_host_cert(&user_cert, &trusted, "root", inside()).unwrap_err();
        assert!(matches!(err, CertError::WrongCertType { expected: "host", actual: "user" }), "{err}");
        assert!(inspect_user_cert(&host_cert).is_err());
        assert!(inspect_host_cert(&user_cert).is_err());
    }

    #[test]
    fn host_cert_round_trip_and_hostname_check() {
        let ca = SshCa::generate().unwrap();
        let key = generate_ed25519_key().unwrap();
        let h = host("leaf.example");
        let cert = ca.issue_host_cert(key.public_key(), &h, 3).unwrap();
        assert_eq!(cert.cert_type(), CertType::Host);
        let trusted = [ca.public_key().clone()];
        assert_eq!(verify_host_cert(&cert, &trusted, "node1.example", inside()).unwrap(), h);
        let err = verify_host_cert(&cert, &trusted, "node2", inside()).unwrap_err();
        assert!(matches!(err, CertError::MissingPrincipal { .. }), "{err}");
        let empty = HostIdentity { principals: vec![], ..h };
        assert!(matches!(ca.issue_host_cert(key.public_key(), &empty, 3), Err(CertError::NoPrincipals)));
    }

    #[test]
    fn login_must_be_a_principal() {
        let ca = SshCa::generate().unwrap();
        let key = generate_ed25519_key().unwrap();
        let trusted = [ca.public_key().clone()];
        let cert = ca.issue_user_cert(key.public_key(), &sample(), 1).unwrap();
        let err = verify_user_cert(&cert, &trusted, Some("bob"), inside()).unwrap_err();
        assert!(matches!(err, CertError::MissingPrincipal { .. }), "{err}");
        assert!(err.to_string().contains("\"bob\""), "{err}");

        // An empty principal list is not "everyone".
        let golden =
            raw_cert(&ca, key.public_key(), |b| b.cert_type(CertType::User).unwrap().all_principals_valid().unwrap());
        assert!(golden.valid_principals().is_empty());
        let err = verify_user_cert(&golden, &trusted, Some("root"), inside()).unwrap_err();
        assert!(matches!(err, CertError::MissingPrincipal { .. }), "{err}");

        // And we refuse to issue one.
        let mut id = sample();
        id.logins.clear();
        assert!(matches!(ca.issue_user_cert(key.public_key(), &id, 1), Err(CertError::NoPrincipals)));
    }

    #[test]
    fn critical_options_are_refused() {
        let ca = SshCa::generate().unwrap();
        let key = generate_ed25519_key().unwrap();
        let cert = raw_cert(&ca, key.public_key(), |b| {
            b.valid_principal("root").unwrap().critical_option("force-command", "/bin/true").unwrap()
        });
        let err = verify_user_cert(&cert, &[ca.public_key().clone()], Some("root"), inside()).unwrap_err();
        assert!(matches!(&err, CertError::CriticalOption { name } if name == "force-command"), "{err}");
    }

    #[test]
    fn malformed_or_missing_extensions_are_errors() {
        let ca = SshCa::generate().unwrap();
        let key = generate_ed25519_key().unwrap();
        let trusted = [ca.public_key().clone()];
        let bad_roles = raw_cert(&ca, key.public_key(), |b| {
            b.valid_principal("root")
                .unwrap()
                .extension(ROLES_EXTENSION, "[\"access\"")
                .unwrap()
                .extension(TRAITS_EXTENSION, "{}")
                .unwrap()
                .extension(CLUSTER_EXTENSION, "c")
                .unwrap()
        });
        let err = verify_user_cert(&bad_roles, &trusted, Some("root"), inside()).unwrap_err();
        assert!(matches!(&err, CertError::MalformedExtension { name, .. } if name == ROLES_EXTENSION), "{err}");
        let bad_traits = raw_cert(&ca, key.public_key(), |b| {
            b.valid_principal("root")
                .unwrap()
                .extension(ROLES_EXTENSION, "[]")
                .unwrap()
                .extension(TRAITS_EXTENSION, "{\"a\": \"not a list\"}")
                .unwrap()
                .extension(CLUSTER_EXTENSION, "c")
                .unwrap()
        });
        let err = inspect_user_cert(&bad_traits).unwrap_err();
        assert!(matches!(&err, CertError::MalformedExtension { name, .. } if name == TRAITS_EXTENSION), "{err}");
        let no_cluster = raw_cert(&ca, key.public_key(), |b| {
            b.valid_principal("root")
                .unwrap()
                .extension(ROLES_EXTENSION, "[]")
                .unwrap()
                .extension(TRAITS_EXTENSION, "{}")
                .unwrap()
        });
        let err = inspect_user_cert(&no_cluster).unwrap_err();
        assert!(matches!(&err, CertError::MissingExtension { name } if name == CLUSTER_EXTENSION), "{err}");
    }

    #[test]
    fn invalid_requests_are_errors() {
        let ca = SshCa::generate().unwrap();
        let key = generate_ed25519_key().unwrap();
        let mut id = sample();
        id.valid_before = id.valid_after;
        assert!(matches!(ca.issue_user_cert(key.public_key(), &id, 1), Err(CertError::InvalidValidity(_))));
        let mut id = sample();
        id.valid_after = time::macros::datetime!(1969-12-31 23:00:00 UTC);
        assert!(matches!(ca.issue_user_cert(key.public_key(), &id, 1), Err(CertError::InvalidValidity(_))));
        let mut id = sample();
        id.logins.push(String::new());
        assert!(ca.issue_user_cert(key.public_key(), &id, 1).is_err());
        assert!(cert_from_openssh("ssh-ed25519-cert-v01@openssh.com AAAA").is_err());
        assert!(SshCa::from_openssh("not a key").is_err());
    }

    #[test]
    fn ca_key_round_trips_through_openssh_format() {
        let ca = SshCa::generate().unwrap();
        let pem = ca.to_openssh().unwrap();
        assert!(pem.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
        let back = SshCa::from_openssh(&pem).unwrap();
        assert_eq!(back.fingerprint(), ca.fingerprint());
        assert_eq!(back.public_key(), ca.public_key());
        let line = ca.public_key_openssh().unwrap();
        assert!(line.starts_with("ssh-ed25519 AAAA"), "{line}");
        assert_eq!(&PublicKey::from_openssh(&line).unwrap(), ca.public_key());
        assert!(format!("{ca:?}").contains("SHA256:"));
    }

    fn ssh_keygen(args: &[&str]) -> String {
        let out = Command::new("ssh-keygen")
            .args(args)
            .env("TZ", "UTC")
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run ssh-keygen ({e}): this interop test needs OpenSSH's ssh-keygen on PATH (Debian: apt-get install openssh-client)")
            });
        assert!(out.status.success(), "ssh-keygen {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// The indented lines following `header` in `ssh-keygen -L` output.
    fn section(listing: &str, header: &str) -> Vec<String> {
        let mut lines = listing.lines().skip_while(|l| l.trim() != header);
        assert!(lines.next().is_some(), "no {header:?} in:\n{listing}");
        lines.take_while(|l| l.starts_with("                ")).map(|l| l.trim().to_owned()).collect()
    }

    #[test]
    fn openssh_reads_our_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let ca = SshCa::generate().unwrap();
        let key = generate_ed25519_key().unwrap();
        let id = sample();
        let cert = ca.issue_user_cert(key.public_key(), &id, 77).unwrap();

        let key_path = dir.path().join("id_ed25519");
        key.write_openssh_file(&key_path, LineEnding::LF).unwrap();
        let cert_path = dir.path().join("id_ed25519-cert.pub");
        std::fs::write(&cert_path, cert_to_openssh(&cert).unwrap() + "\n").unwrap();
        let ca_path = dir.path().join("ca.pub");
        std::fs::write(&ca_path, ca.public_key_openssh().unwrap() + "\n").unwrap();

        // ssh-keygen parses the certificate and checks its signature before listing it.
        let listing = ssh_keygen(&["-L", "-f", cert_path.to_str().unwrap()]);
        assert!(listing.contains("Type: ssh-ed25519-cert-v01@openssh.com user certificate"), "{listing}");
        assert!(listing.contains("Key ID: \"alice\""), "{listing}");
        assert!(listing.contains("Serial: 77"), "{listing}");
        assert!(listing.contains(&format!("Signing CA: ED25519 {}", ca.fingerprint())), "{listing}");
        assert!(listing.contains("Valid: from 2026-01-01T00:00:00 to 2026-01-01T12:00:00"), "{listing}");
        assert_eq!(section(&listing, "Principals:"), id.logins);
        assert!(listing.contains("Critical Options: (none)"), "{listing}");
        let ext_names: Vec<String> = section(&listing, "Extensions:")
            .iter()
            .map(|l| l.split_whitespace().next().unwrap_or("").to_owned())
            .collect();
        assert_eq!(
            ext_names,
            [CLUSTER_EXTENSION, PERMIT_PORT_FORWARDING, PERMIT_PTY, ROLES_EXTENSION, TRAITS_EXTENSION]
        );

        // OpenSSH sees the data as a string: a 4-byte length, then our JSON.
        let roles_line = section(&listing, "Extensions:").into_iter().find(|l| l.starts_with(ROLES_EXTENSION)).unwrap();
        let json = serde_json::to_string(&id.roles).unwrap();
        let hex: String = u32::try_from(json.len())
            .unwrap()
            .to_be_bytes()
            .iter()
            .chain(json.as_bytes())
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(roles_line.contains(&hex), "{roles_line}");

        // Fingerprints agree with OpenSSH's.
        let printed = ssh_keygen(&["-l", "-f", ca_path.to_str().unwrap()]);
        let fields: Vec<&str> = printed.split_whitespace().collect();
        assert_eq!(fields.first(), Some(&"256"), "{printed}");
        assert_eq!(fields.get(1).copied(), Some(ca.fingerprint().to_string().as_str()));
        assert_eq!(fields.last(), Some(&"(ED25519)"), "{printed}");

        // And OpenSSH's own text form of the key matches ours.
        let printed = ssh_keygen(&["-y", "-f", key_path.to_str().unwrap()]);
        assert_eq!(PublicKey::from_openssh(printed.trim()).unwrap().key_data(), key.public_key().key_data());
    }
}
