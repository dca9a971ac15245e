//! The `node` resource (v2): a server in the inventory, kept fresh by its heartbeats.
//! `metadata.name` is the node's name (`nodename`), `metadata.labels` its labels.

use serde::{Deserialize, Serialize};

use super::{Kind, NoStatus, Spec, fields};

/// A node's spec.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// The host name the node reports.
    #[serde(default)]
    pub hostname: String,
    /// Where its SSH service listens, `host:port`.
    #[serde(deserialize_with = "fields::address")]
    pub addr: String,
}

impl Spec for NodeSpec {
    const KIND: Kind = Kind::Node;
    const VERSION: &'static str = "v2";
    type Status = NoStatus;
}
