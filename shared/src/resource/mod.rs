//! Tether's resources, in the YAML shape of the guide: `kind`, `version`, `metadata`, `spec`, `status`.
//!
//! Every kind is an [`Envelope`] around its own spec type (see the submodules), and [`Resource`]
//! holds any of them. [`parse`](parse::parse_resources) reads YAML (several documents separated
//! by `---`) or JSON strictly, naming the file, line, column and field of the first problem;
//! [`to_yaml`] and [`to_json`] write the same shape back, so what `tctl get` prints, `tctl create
//! -f` accepts unchanged.
//!
//! Layout: `kind.rs` (kind names and `KIND/NAME` references), `fields.rs` (serde helpers that
//! validate while parsing), one file per kind, `presets.rs` (the built-in roles), `parse.rs`.

mod cert_authority;
mod fields;
mod kind;
mod node;
pub mod parse;
pub mod presets;
mod remote_cluster;
pub mod role;
mod token;
mod trusted_cluster;
mod user;

use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;

pub use cert_authority::{CaKeys, CaType, CertAuthoritySpec, Rotation, RotationMode, RotationPhase, tls_fingerprint};
pub use fields::check_addr;
pub use kind::{Kind, KindError, ResourceRef};
pub use node::NodeSpec;
pub use parse::{ParseError, parse_resources};
pub use remote_cluster::{Connection, RemoteClusterSpec, RemoteClusterStatus};
pub use role::{RoleConditions, RoleOptions, RoleSpec, Rule, VERBS};
pub use token::{TokenSpec, TokenType};
pub use trusted_cluster::TrustedClusterSpec;
pub use user::UserSpec;

use crate::labels::Labels;

/// Common metadata of every resource.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// The resource's name, unique within its kind.
    #[serde(deserialize_with = "fields::name")]
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Labels (for nodes and remote clusters they drive RBAC).
    #[serde(default, skip_serializing_if = "Labels::is_empty", deserialize_with = "fields::labels")]
    pub labels: Labels,
    /// When the resource stops existing.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub expires: Option<OffsetDateTime>,
    /// Storage revision, set by the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
}

/// What each kind's spec declares about itself.
pub trait Spec: Debug + Clone + PartialEq + Default + Serialize + DeserializeOwned {
    /// The kind this spec belongs to.
    const KIND: Kind;
    /// The only version Tether reads and writes for this kind.
    const VERSION: &'static str;
    /// The status block (use [`NoStatus`] when the kind has none).
    type Status: Debug + Clone + PartialEq + Serialize + DeserializeOwned;

    /// Checks the resource's name beyond the rules every name follows (cluster names are
    /// DNS-like, for example).
    fn validate_name(_name: &str) -> Result<(), crate::names::NameError> {
        Ok(())
    }

    /// Cross-field checks that need the metadata: `Err((field path, message))`.
    fn validate(&self, _metadata: &Metadata) -> Result<(), (String, String)> {
        Ok(())
    }

    /// True when the spec block is empty and need not be written.
    fn is_empty(&self) -> bool {
        false
    }
}

/// A kind without a status block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoStatus {}

/// One resource: `kind`, `version`, `metadata`, `spec` and `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, bound = "S: Spec")]
pub struct Envelope<S: Spec> {
    /// The kind (always `S::KIND`).
    pub kind: Kind,
    /// The version (always `S::VERSION`).
    #[serde(deserialize_with = "version_of::<S, _>")]
    pub version: String,
    /// Name, labels, expiry.
    pub metadata: Metadata,
    /// The kind's own fields.
    #[serde(default, skip_serializing_if = "Spec::is_empty")]
    pub spec: S,
    /// State reported by the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<S::Status>,
}

fn version_of<'de, S: Spec, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let version = String::deserialize(deserializer)?;
    if version != S::VERSION {
        return Err(serde::de::Error::custom(format!(
            "unsupported version {version:?} for kind {}: expected {}",
            S::KIND,
            S::VERSION
        )));
    }
    Ok(version)
}

impl<S: Spec> Envelope<S> {
    /// A new resource with the given name and spec.
    pub fn new(name: impl Into<String>, spec: S) -> Self {
        Envelope {
            kind: S::KIND,
            version: S::VERSION.to_string(),
            metadata: Metadata { name: name.into(), ..Metadata::default() },
            spec,
            status: None,
        }
    }

    /// The resource's name.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }
}

/// A role (v5).
pub type Role = Envelope<RoleSpec>;
/// A user (v2).
pub type User = Envelope<UserSpec>;
/// A join token (v2).
pub type Token = Envelope<TokenSpec>;
/// A trusted cluster, on the leaf (v2).
pub type TrustedCluster = Envelope<TrustedClusterSpec>;
/// A remote cluster, on the root (v3).
pub type RemoteCluster = Envelope<RemoteClusterSpec>;
/// A certificate authority's public parts (v2).
pub type CertAuthority = Envelope<CertAuthoritySpec>;
/// A node in the inventory (v2).
pub type Node = Envelope<NodeSpec>;

/// Any resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[allow(clippy::large_enum_variant)]
pub enum Resource {
    /// A role.
    Role(Role),
    /// A user.
    User(User),
    /// A join token.
    Token(Token),
    /// A trusted cluster.
    TrustedCluster(TrustedCluster),
    /// A remote cluster.
    RemoteCluster(RemoteCluster),
    /// A certificate authority.
    CertAuthority(CertAuthority),
    /// A node.
    Node(Node),
}

macro_rules! each_variant {
    ($value:expr, $inner:ident => $body:expr) => {
        match $value {
            Resource::Role($inner) => $body,
            Resource::User($inner) => $body,
            Resource::Token($inner) => $body,
            Resource::TrustedCluster($inner) => $body,
            Resource::RemoteCluster($inner) => $body,
            Resource::CertAuthority($inner) => $body,
            Resource::Node($inner) => $body,
        }
    };
}

impl Resource {
    /// The resource's kind.
    pub fn kind(&self) -> Kind {
        each_variant!(self, r => r.kind)
    }

    /// The resource's metadata.
    pub fn metadata(&self) -> &Metadata {
        each_variant!(self, r => &r.metadata)
    }

    /// The resource's metadata, to change.
    pub fn metadata_mut(&mut self) -> &mut Metadata {
        each_variant!(self, r => &mut r.metadata)
    }

    /// The resource's name.
    pub fn name(&self) -> &str {
        &self.metadata().name
    }

    /// `KIND/NAME`, as `tctl` prints and accepts it.
    pub fn reference(&self) -> ResourceRef {
        ResourceRef { kind: self.kind(), name: Some(self.name().to_string()) }
    }
}

/// Reads any resource from a self-describing format (JSON on the wire): the `kind` field picks
/// the type. Files go through [`parse_resources`], which reports positions.
impl<'de> Deserialize<'de> for Resource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(deserializer)?;
        let kind: Kind = value
            .get("kind")
            .cloned()
            .ok_or_else(|| D::Error::missing_field("kind"))
            .and_then(|k| serde_json::from_value(k).map_err(D::Error::custom))?;
        let typed = match kind {
            Kind::Role => serde_json::from_value(value).map(Resource::Role),
            Kind::User => serde_json::from_value(value).map(Resource::User),
            Kind::Token => serde_json::from_value(value).map(Resource::Token),
            Kind::TrustedCluster => serde_json::from_value(value).map(Resource::TrustedCluster),
            Kind::RemoteCluster => serde_json::from_value(value).map(Resource::RemoteCluster),
            Kind::CertAuthority => serde_json::from_value(value).map(Resource::CertAuthority),
            Kind::Node => serde_json::from_value(value).map(Resource::Node),
        };
        typed.map_err(D::Error::custom)
    }
}

macro_rules! from_envelope {
    ($($variant:ident => $ty:ty),*) => {$(
        impl From<$ty> for Resource {
            fn from(r: $ty) -> Self {
                Resource::$variant(r)
            }
        }
    )*};
}

from_envelope!(Role => Role, User => User, Token => Token, TrustedCluster => TrustedCluster,
    RemoteCluster => RemoteCluster, CertAuthority => CertAuthority, Node => Node);

/// Why a resource could not be written out.
#[derive(Debug, thiserror::Error)]
#[error("cannot encode resource: {0}")]
pub struct EncodeError(String);

/// Writes resources as YAML documents separated by `---`.
pub fn to_yaml(resources: &[Resource]) -> Result<String, EncodeError> {
    let mut out = String::new();
    for (i, r) in resources.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&serde_yaml_ng::to_string(r).map_err(|e| EncodeError(e.to_string()))?);
    }
    Ok(out)
}

/// Writes resources as a pretty JSON array, whatever their number (one shape for scripts, as
/// Teleport's `tctl get --format=json` prints).
pub fn to_json(resources: &[Resource]) -> Result<String, EncodeError> {
    serde_json::to_string_pretty(resources)
        .map(|mut t| {
            t.push('\n');
            t
        })
        .map_err(|e| EncodeError(e.to_string()))
}
