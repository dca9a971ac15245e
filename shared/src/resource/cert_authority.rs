//! The `cert_authority` resource (v2): the public parts of one CA of one cluster — its own or a
//! trusted one. `metadata.name` is the cluster's name and `spec.cluster_name` repeats it;
//! `spec.type` says which CA (SSH `user`, SSH `host`, or `tls`). Keys that sign are under
//! `active_keys`; during a rotation the other key (the new one in `init`, the old one from
//! `update_clients` until `standby`) is under `additional_trusted_keys`, and a certificate from
//! either is accepted ([`CertAuthoritySpec::trusted`]). `deactivated_keys` holds keys no longer
//! trusted (a disabled trust), kept so the trust can be enabled again. `rotation` says where the
//! CA is in its rotation ([`Rotation`]). A root's user CA stored on a leaf carries the leaf's
//! `role_map`. Private keys never appear here.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use super::{Kind, NoStatus, Spec, fields};
use crate::rolemap::{RoleMapRule, serde_rules};

/// Which CA of a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaType {
    /// Signs users' SSH certificates.
    User,
    /// Signs hosts' SSH certificates.
    Host,
    /// Signs X.509 certificates for the API.
    Tls,
}

impl CaType {
    /// Every CA type of a cluster.
    pub const ALL: [CaType; 3] = [CaType::User, CaType::Host, CaType::Tls];

    /// The name as written in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            CaType::User => "user",
            CaType::Host => "host",
            CaType::Tls => "tls",
        }
    }
}

impl std::fmt::Display for CaType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of public keys: OpenSSH public keys and PEM certificates.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaKeys {
    /// SSH public keys, one `ssh-ed25519 AAAA…` line each.
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "ssh_keys")]
    pub ssh: Vec<String>,
    /// X.509 CA certificates, PEM.
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "pem_certs")]
    pub tls: Vec<String>,
}

impl CaKeys {
    /// True when there are no keys.
    pub fn is_empty(&self) -> bool {
        self.ssh.is_empty() && self.tls.is_empty()
    }
}

fn ssh_keys<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let keys = fields::string_list(deserializer)?;
    for (i, key) in keys.iter().enumerate() {
        russh::keys::ssh_key::PublicKey::from_openssh(key)
            .map_err(|e| de::Error::custom(format!("item {i}: not an OpenSSH public key: {e}")))?;
    }
    Ok(keys)
}

fn pem_certs<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let certs = fields::string_list(deserializer)?;
    for (i, pem) in certs.iter().enumerate() {
        let (_, parsed) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
            .map_err(|e| de::Error::custom(format!("item {i}: not a PEM certificate: {e}")))?;
        parsed.parse_x509().map_err(|e| de::Error::custom(format!("item {i}: not an X.509 certificate: {e}")))?;
    }
    Ok(certs)
}

/// A certificate authority's spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertAuthoritySpec {
    /// Which CA.
    #[serde(rename = "type")]
    pub ca_type: CaType,
    /// The cluster the CA belongs to.
    pub cluster_name: String,
    /// Trusted keys.
    #[serde(default)]
    pub active_keys: CaKeys,
    /// Keys trusted beside the active ones while a rotation runs.
    #[serde(default, skip_serializing_if = "CaKeys::is_empty")]
    pub additional_trusted_keys: CaKeys,
    /// Keys kept but not trusted.
    #[serde(default, skip_serializing_if = "CaKeys::is_empty")]
    pub deactivated_keys: CaKeys,
    /// Where the CA is in its rotation (absent: never rotated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<Rotation>,
    /// When the owning cluster's CAs last changed (milliseconds since the Unix epoch, never
    /// decreasing): a copy kept by another cluster never goes back to an older one.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub generation: u64,
    /// For a trusted cluster's user CA: how its roles map to local ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "serde_rules")]
    pub role_map: Vec<RoleMapRule>,
}

impl Default for CertAuthoritySpec {
    fn default() -> Self {
        CertAuthoritySpec {
            ca_type: CaType::User,
            cluster_name: String::new(),
            active_keys: CaKeys::default(),
            additional_trusted_keys: CaKeys::default(),
            deactivated_keys: CaKeys::default(),
            rotation: None,
            generation: 0,
            role_map: Vec::new(),
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl CertAuthoritySpec {
    /// Every key a certificate may be signed by and still be accepted: the active keys, then
    /// the additional trusted ones, without repeats.
    pub fn trusted(&self) -> CaKeys {
        let mut keys = self.active_keys.clone();
        keys.merge(&self.additional_trusted_keys);
        keys
    }

    /// The SHA256 fingerprints of the trusted keys (for TLS, of the certificates' public keys),
    /// as `tctl status` and the audit log show them.
    pub fn fingerprints(&self) -> Vec<String> {
        self.trusted().fingerprints()
    }

    /// The rotation's phase (`standby` when never rotated).
    pub fn phase(&self) -> RotationPhase {
        self.rotation.as_ref().map_or(RotationPhase::Standby, |r| r.phase)
    }
}

impl CaKeys {
    /// The SHA256 fingerprints of these keys (for TLS, of the certificates' public keys).
    pub fn fingerprints(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .ssh
            .iter()
            .map(|k| match russh::keys::PublicKey::from_openssh(k) {
                Ok(k) => k.fingerprint(Default::default()).to_string(),
                Err(_) => "(unreadable key)".into(),
            })
            .collect();
        out.extend(
            self.tls.iter().map(|pem| tls_fingerprint(pem).unwrap_or_else(|| "(unreadable certificate)".into())),
        );
        out
    }

    /// Adds the keys of `other` that are not here yet.
    pub fn merge(&mut self, other: &CaKeys) {
        for k in &other.ssh {
            if !self.ssh.contains(k) {
                self.ssh.push(k.clone());
            }
        }
        for k in &other.tls {
            if !self.tls.contains(k) {
                self.tls.push(k.clone());
            }
        }
    }
}

/// `SHA256:` and the unpadded base64 of the SHA-256 of a PEM certificate's public key (the
/// notation of SSH fingerprints).
pub fn tls_fingerprint(pem: &str) -> Option<String> {
    use russh::keys::ssh_encoding::base64::{Base64Unpadded, Encoding};
    let (_, parsed) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok()?;
    let cert = parsed.parse_x509().ok()?;
    let digest = ring::digest::digest(&ring::digest::SHA256, &cert.public_key().subject_public_key.data);
    Some(format!("SHA256:{}", Base64Unpadded::encode_string(digest.as_ref())))
}

/// The phases of a rotation, as Teleport names them: `standby → init → update_clients →
/// update_servers → standby`, and `rollback` (then `standby`) from any phase before the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RotationPhase {
    /// One key, which signs and is trusted.
    #[default]
    Standby,
    /// A new key exists and is trusted everywhere; the old one still signs.
    Init,
    /// Clients (users, agents, nodes' API identities) get certificates from the new key.
    UpdateClients,
    /// Servers (hosts, proxies, the HTTPS listener) present certificates from the new key.
    UpdateServers,
    /// Back to the old key for everything; the new one is still trusted until `standby`.
    Rollback,
}

impl RotationPhase {
    /// Every phase, in the order they are walked.
    pub const ALL: [RotationPhase; 5] = [
        RotationPhase::Standby,
        RotationPhase::Init,
        RotationPhase::UpdateClients,
        RotationPhase::UpdateServers,
        RotationPhase::Rollback,
    ];

    /// The name as written in YAML and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            RotationPhase::Standby => "standby",
            RotationPhase::Init => "init",
            RotationPhase::UpdateClients => "update_clients",
            RotationPhase::UpdateServers => "update_servers",
            RotationPhase::Rollback => "rollback",
        }
    }
}

impl std::fmt::Display for RotationPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RotationPhase {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RotationPhase::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| {
            format!("unknown phase {s:?}: use one of init, update_clients, update_servers, standby, rollback")
        })
    }
}

/// Who walks a rotation's phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RotationMode {
    /// An operator, one `tctl auth rotate --manual --phase=…` at a time.
    #[default]
    Manual,
    /// The auth service, one phase per third of the grace period.
    Auto,
}

/// A CA's rotation: its phase, how it moves on, and when.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    /// The current phase.
    pub phase: RotationPhase,
    /// Manual or automatic.
    #[serde(default)]
    pub mode: RotationMode,
    /// Names this rotation (new at every `init`): hosts renew their certificates when it or the
    /// phase changes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// When the rotation started.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub started: Option<time::OffsetDateTime>,
    /// The automatic mode's grace period: how long the old key stays trusted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period: Option<crate::duration::GoDuration>,
    /// The automatic mode's next phase change.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub next_phase_at: Option<time::OffsetDateTime>,
    /// When the last rotation ended in `standby`.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub last_rotated: Option<time::OffsetDateTime>,
}

impl Spec for CertAuthoritySpec {
    const KIND: Kind = Kind::CertAuthority;
    const VERSION: &'static str = "v2";
    type Status = NoStatus;

    fn validate_name(name: &str) -> Result<(), crate::names::NameError> {
        crate::names::validate_cluster_name(name)
    }

    fn validate(&self, metadata: &super::Metadata) -> Result<(), (String, String)> {
        if self.cluster_name != metadata.name {
            return Err((
                "spec.cluster_name".into(),
                format!("must equal metadata.name ({:?}), found {:?}", metadata.name, self.cluster_name),
            ));
        }
        Ok(())
    }
}
