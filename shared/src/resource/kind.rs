//! Kind names (`role`, `trusted_cluster`, …), their short aliases (`tc`, `rc`, `cas`), and the
//! `KIND[/NAME]` references `tctl get` and `tctl rm` take.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The kinds of resource Tether stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `role`
    Role,
    /// `user`
    User,
    /// `token`
    Token,
    /// `trusted_cluster`
    TrustedCluster,
    /// `remote_cluster`
    RemoteCluster,
    /// `cert_authority`
    CertAuthority,
    /// `node`
    Node,
}

impl Kind {
    /// Every kind, in display order.
    pub const ALL: [Kind; 7] = [
        Kind::Role,
        Kind::User,
        Kind::Token,
        Kind::TrustedCluster,
        Kind::RemoteCluster,
        Kind::CertAuthority,
        Kind::Node,
    ];

    /// The kind's name as written in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Role => "role",
            Kind::User => "user",
            Kind::Token => "token",
            Kind::TrustedCluster => "trusted_cluster",
            Kind::RemoteCluster => "remote_cluster",
            Kind::CertAuthority => "cert_authority",
            Kind::Node => "node",
        }
    }

    /// Names accepted on the command line besides [`Kind::as_str`].
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Kind::Role => &["roles"],
            Kind::User => &["users"],
            Kind::Token => &["tokens"],
            Kind::TrustedCluster => &["tc", "trusted_clusters", "cluster"],
            Kind::RemoteCluster => &["rc", "remote_clusters"],
            Kind::CertAuthority => &["cas", "ca", "cert_authorities"],
            Kind::Node => &["nodes"],
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown kind name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KindError {
    /// The kind is not one Tether knows.
    #[error(
        "unknown resource kind {0:?} (known: role, user, token, trusted_cluster (tc), remote_cluster (rc), cert_authority (cas), node)"
    )]
    Unknown(String),
    /// `KIND/` with nothing after the slash.
    #[error("{0:?}: the name after '/' is empty")]
    EmptyName(String),
}

impl FromStr for Kind {
    type Err = KindError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase().replace('-', "_");
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == lower || k.aliases().contains(&lower.as_str()))
            .ok_or_else(|| KindError::Unknown(s.to_string()))
    }
}

/// `KIND` or `KIND/NAME`, e.g. `rc/leaf.example.com`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRef {
    /// The kind.
    pub kind: Kind,
    /// The name, when one resource is meant.
    pub name: Option<String>,
}

impl FromStr for ResourceRef {
    type Err = KindError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once('/') {
            None => Ok(ResourceRef { kind: s.parse()?, name: None }),
            Some((_, "")) => Err(KindError::EmptyName(s.to_string())),
            Some((kind, name)) => Ok(ResourceRef { kind: kind.parse()?, name: Some(name.to_string()) }),
        }
    }
}

impl fmt::Display for ResourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{}/{}", self.kind, name),
            None => write!(f, "{}", self.kind),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_and_aliases() {
        let r: ResourceRef = "rc/leaf.example.com".parse().unwrap();
        assert_eq!(r, ResourceRef { kind: Kind::RemoteCluster, name: Some("leaf.example.com".into()) });
        assert_eq!("tc".parse::<Kind>().unwrap(), Kind::TrustedCluster);
        assert_eq!("cas".parse::<Kind>().unwrap(), Kind::CertAuthority);
        assert_eq!("trusted_cluster/root".parse::<ResourceRef>().unwrap().to_string(), "trusted_cluster/root");
        assert!("widget/x".parse::<ResourceRef>().unwrap_err().to_string().contains("unknown resource kind"));
        assert!("role/".parse::<ResourceRef>().is_err());
    }
}
