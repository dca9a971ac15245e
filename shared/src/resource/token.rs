//! The `token` resource (v2): a join token. `metadata.name` is the token itself (stored hashed
//! by the server), `metadata.expires` its expiry, `spec.type` what it lets in: a leaf cluster
//! establishing trust (`trusted_cluster`, reusable until it expires) or a node joining (`node`).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Kind, NoStatus, Spec};

/// What a token lets join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenType {
    /// A leaf cluster establishing trust with this (root) cluster.
    TrustedCluster,
    /// A node joining this cluster.
    Node,
}

impl TokenType {
    /// The name as written in YAML and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenType::TrustedCluster => "trusted_cluster",
            TokenType::Node => "node",
        }
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for TokenType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().replace('-', "_").as_str() {
            "trusted_cluster" | "trustedcluster" => Ok(TokenType::TrustedCluster),
            "node" => Ok(TokenType::Node),
            _ => Err(format!("unknown token type {s:?} (use trusted_cluster or node)")),
        }
    }
}

/// A token's spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSpec {
    /// What the token lets join.
    #[serde(rename = "type")]
    pub token_type: TokenType,
}

impl Default for TokenSpec {
    fn default() -> Self {
        TokenSpec { token_type: TokenType::Node }
    }
}

impl Spec for TokenSpec {
    const KIND: Kind = Kind::Token;
    const VERSION: &'static str = "v2";
    type Status = NoStatus;
}
