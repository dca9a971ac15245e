//! The `trusted_cluster` resource (v2), created on a leaf: which root to trust, the join token
//! that bootstraps the trust, where the root's tunnel and web proxy listen, and how the root's
//! roles map to local ones. `metadata.name` is the root cluster's name.

use serde::{Deserialize, Serialize};

use super::{Kind, NoStatus, Spec, fields};
use crate::rolemap::{RoleMapRule, serde_rules};

/// A trusted cluster's spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedClusterSpec {
    /// Whether the trust is active (tunnel up, root CA trusted).
    #[serde(default = "enabled_default")]
    pub enabled: bool,
    /// The root's join token (only used to establish trust).
    #[serde(default)]
    pub token: String,
    /// The root's reverse-tunnel address, `host:port`.
    #[serde(deserialize_with = "fields::address")]
    pub tunnel_addr: String,
    /// The root's web proxy address, `host:port`.
    #[serde(deserialize_with = "fields::address")]
    pub web_proxy_addr: String,
    /// How the root's roles map to local roles.
    #[serde(default, with = "serde_rules")]
    pub role_map: Vec<RoleMapRule>,
}

fn enabled_default() -> bool {
    true
}

impl Default for TrustedClusterSpec {
    fn default() -> Self {
        TrustedClusterSpec {
            enabled: true,
            token: String::new(),
            tunnel_addr: String::new(),
            web_proxy_addr: String::new(),
            role_map: Vec::new(),
        }
    }
}

impl Spec for TrustedClusterSpec {
    const KIND: Kind = Kind::TrustedCluster;
    const VERSION: &'static str = "v2";
    type Status = NoStatus;

    fn validate_name(name: &str) -> Result<(), crate::names::NameError> {
        crate::names::validate_cluster_name(name)
    }

    fn validate(&self, _metadata: &super::Metadata) -> Result<(), (String, String)> {
        if self.enabled && self.role_map.is_empty() {
            return Err((
                "spec.role_map".into(),
                "an enabled trusted cluster needs at least one role_map rule (e.g. remote: access, local: [visitor])"
                    .into(),
            ));
        }
        Ok(())
    }
}
