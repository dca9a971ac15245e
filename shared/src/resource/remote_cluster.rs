//! The `remote_cluster` resource (v3), kept by a root for each leaf that joined it. Only the
//! root sets its labels (they drive `cluster_labels` RBAC); `status` reports the leaf's tunnel.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{Kind, Spec};

/// A remote cluster has no spec fields: labels live in metadata.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteClusterSpec {}

/// Whether the leaf's tunnel is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Connection {
    /// Heartbeats arrive.
    Online,
    /// No recent heartbeat.
    #[default]
    Offline,
}

impl std::fmt::Display for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Connection::Online => "online",
            Connection::Offline => "offline",
        })
    }
}

/// A remote cluster's status.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteClusterStatus {
    /// online or offline.
    pub connection: Connection,
    /// The last heartbeat seen.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub last_heartbeat: Option<OffsetDateTime>,
    /// When the root removes this remote cluster unless a heartbeat comes first
    /// (`auth_service.remote_cluster_ttl`; never when that is off).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub expires: Option<OffsetDateTime>,
}

impl Spec for RemoteClusterSpec {
    const KIND: Kind = Kind::RemoteCluster;
    const VERSION: &'static str = "v3";
    type Status = RemoteClusterStatus;

    fn validate_name(name: &str) -> Result<(), crate::names::NameError> {
        crate::names::validate_cluster_name(name)
    }

    fn is_empty(&self) -> bool {
        true
    }
}
