//! The `role` resource (v5): what its holders may do (`allow`) and may never do (`deny`).
//!
//! Conditions name Unix logins, node and cluster label selectors, Kubernetes and database
//! identities (any of which may hold trait templates), and `rules` granting verbs on resource
//! kinds. Options bound sessions. Defaults when unset: `max_session_ttl` 30h,
//! `forward_agent` false, `port_forwarding` true.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Kind, NoStatus, Spec, fields};
use crate::duration::GoDuration;
use crate::labels::{LabelSelectors, serde_selectors};

/// The verbs a rule can grant.
pub const VERBS: &[&str] = &["list", "read", "create", "update", "delete"];

/// The resource names a rule can name besides the stored kinds: the audit log and sessions.
pub const EXTRA_RULE_RESOURCES: &[&str] = &["event", "session"];

/// The default and longest certificate lifetime when a role sets none.
pub const DEFAULT_MAX_SESSION_TTL: Duration = Duration::from_secs(30 * 3600);

/// A role's spec.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    /// Session options.
    #[serde(default, skip_serializing_if = "RoleOptions::is_empty")]
    pub options: RoleOptions,
    /// What the role grants.
    #[serde(default)]
    pub allow: RoleConditions,
    /// What the role forbids; deny beats allow.
    #[serde(default, skip_serializing_if = "RoleConditions::is_empty")]
    pub deny: RoleConditions,
}

impl Spec for RoleSpec {
    const KIND: Kind = Kind::Role;
    const VERSION: &'static str = "v5";
    type Status = NoStatus;
}

/// Session options of a role.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleOptions {
    /// The longest certificate lifetime this role allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_session_ttl: Option<GoDuration>,
    /// Whether SSH agent forwarding is allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_agent: Option<bool>,
    /// Whether port forwarding is allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_forwarding: Option<bool>,
}

impl RoleOptions {
    fn is_empty(&self) -> bool {
        *self == RoleOptions::default()
    }

    /// The session TTL cap, with the default applied.
    pub fn max_session_ttl(&self) -> Duration {
        self.max_session_ttl.map_or(DEFAULT_MAX_SESSION_TTL, |d| d.0)
    }

    /// Whether agent forwarding is allowed, with the default applied.
    pub fn forward_agent(&self) -> bool {
        self.forward_agent.unwrap_or(false)
    }

    /// Whether port forwarding is allowed, with the default applied.
    pub fn port_forwarding(&self) -> bool {
        self.port_forwarding.unwrap_or(true)
    }
}

/// The `allow` or `deny` block of a role.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleConditions {
    /// Unix logins (templates allowed).
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "fields::templated_list")]
    pub logins: Vec<String>,
    /// Which nodes, by label.
    #[serde(default, skip_serializing_if = "LabelSelectors::is_empty", with = "serde_selectors")]
    pub node_labels: LabelSelectors,
    /// Which clusters, by label.
    #[serde(default, skip_serializing_if = "LabelSelectors::is_empty", with = "serde_selectors")]
    pub cluster_labels: LabelSelectors,
    /// Kubernetes groups (templates allowed).
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "fields::templated_list")]
    pub kubernetes_groups: Vec<String>,
    /// Kubernetes users (templates allowed).
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "fields::templated_list")]
    pub kubernetes_users: Vec<String>,
    /// Database users (templates allowed).
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "fields::templated_list")]
    pub db_users: Vec<String>,
    /// Database names (templates allowed).
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "fields::templated_list")]
    pub db_names: Vec<String>,
    /// Verbs on resource kinds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
}

impl RoleConditions {
    fn is_empty(&self) -> bool {
        *self == RoleConditions::default()
    }
}

/// A rule: these verbs on these resource kinds (`*` for all of either).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Resource kinds (`role`, `user`, …, `event` for the audit log) or `*`.
    pub resources: Vec<String>,
    /// Verbs (`list`, `read`, `create`, `update`, `delete`) or `*`.
    pub verbs: Vec<String>,
}

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct RawRule {
            #[serde(deserialize_with = "fields::string_list")]
            resources: Vec<String>,
            #[serde(deserialize_with = "fields::string_list")]
            verbs: Vec<String>,
        }
        let raw = RawRule::deserialize(deserializer)?;
        fn err<E: serde::de::Error>(msg: impl std::fmt::Display) -> E {
            E::custom(msg)
        }
        if raw.resources.is_empty() || raw.verbs.is_empty() {
            return Err(err("a rule needs at least one resource and one verb"));
        }
        for r in &raw.resources {
            if r != "*" && r.parse::<Kind>().is_err() && !EXTRA_RULE_RESOURCES.contains(&r.as_str()) {
                return Err(err(format!(
                    "unknown resource {r:?} in rule (use a kind such as role, user, token, trusted_cluster, remote_cluster, cert_authority, node, event, or *)"
                )));
            }
        }
        for v in &raw.verbs {
            if v != "*" && !VERBS.contains(&v.as_str()) {
                return Err(err(format!("unknown verb {v:?} in rule (use {} or *)", VERBS.join(", "))));
            }
        }
        Ok(Rule { resources: raw.resources, verbs: raw.verbs })
    }
}

impl Rule {
    /// Builds a rule from string slices.
    pub fn new(resources: &[&str], verbs: &[&str]) -> Self {
        Rule {
            resources: resources.iter().map(|s| s.to_string()).collect(),
            verbs: verbs.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// True when the rule names `resource` (by kind name or alias) and `verb`.
    pub fn covers(&self, resource: &str, verb: &str) -> bool {
        let resource_matches = self.resources.iter().any(|r| {
            r == "*"
                || r == resource
                || matches!((r.parse::<Kind>(), resource.parse::<Kind>()), (Ok(a), Ok(b)) if a == b)
        });
        resource_matches && self.verbs.iter().any(|v| v == "*" || v == verb)
    }
}
