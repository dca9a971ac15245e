//! The `cert_authority` resource (v2): the public parts of one CA of one cluster — its own or a
//! trusted one. `metadata.name` is the cluster's name and `spec.cluster_name` repeats it;
//! `spec.type` says which CA (SSH `user`, SSH `host`, or `tls`). Keys that sign are under
//! `active_keys`; `deactivated_keys` holds keys no longer trusted (a disabled trust), kept so the
//! trust can be enabled again. A root's user CA stored on a leaf carries the leaf's `role_map`.
//! Private keys never appear here.

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
    /// Keys kept but not trusted.
    #[serde(default, skip_serializing_if = "CaKeys::is_empty")]
    pub deactivated_keys: CaKeys,
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
            deactivated_keys: CaKeys::default(),
            role_map: Vec::new(),
        }
    }
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
