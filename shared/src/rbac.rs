//! Role-based access control: may an identity (a set of roles plus traits) log in as LOGIN on a
//! node with LABELS, see a cluster with LABELS, or do VERB on a resource KIND?
//!
//! [`AccessChecker::new`] expands every role's templates against the traits and compiles its
//! label selectors once; each check then walks the roles. Deny always beats allow. A deny block
//! with `logins` and no `node_labels` forbids those logins everywhere; one with `node_labels`
//! and no `logins` forbids every login on the matching nodes. Every answer is a [`Decision`]
//! that says which role and which field decided it, for the audit log and the user's error.

use std::fmt;
use std::time::Duration;

use crate::identity::Traits;
use crate::labels::{CompiledSelectors, Labels};
use crate::resource::{Role, RoleOptions, Rule};
use crate::template::expand_all;

/// One side (allow or deny) of a role as it reads for one user: its templates expanded
/// (`tctl users expand`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SideExpansion {
    /// `logins`.
    pub logins: Vec<String>,
    /// `node_labels`: key to values (an empty key: a key template whose trait is missing).
    pub node_labels: Vec<(String, Vec<String>)>,
    /// `cluster_labels`.
    pub cluster_labels: Vec<(String, Vec<String>)>,
}

/// A role as it reads for one user.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RoleExpansion {
    /// The role.
    pub role: String,
    /// Its allow side.
    pub allow: SideExpansion,
    /// Its deny side.
    pub deny: SideExpansion,
}

impl RoleExpansion {
    /// Expands `role`'s templates against `traits`, with the same engine the checks use.
    pub fn of(role: &Role, traits: &Traits) -> RoleExpansion {
        let side = |c: &crate::resource::RoleConditions| SideExpansion {
            logins: expand_all(&c.logins, traits),
            node_labels: crate::labels::expand_selectors(&c.node_labels, traits),
            cluster_labels: crate::labels::expand_selectors(&c.cluster_labels, traits),
        };
        RoleExpansion { role: role.metadata.name.clone(), allow: side(&role.spec.allow), deny: side(&role.spec.deny) }
    }
}

/// The answer to an access question, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether access is granted.
    pub allowed: bool,
    /// Which role and field decided, or why nothing allowed it.
    pub reason: String,
}

impl Decision {
    fn allow(reason: String) -> Self {
        Decision { allowed: true, reason }
    }

    fn deny(reason: String) -> Self {
        Decision { allowed: false, reason }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

/// One side (allow or deny) of a role, expanded and compiled.
#[derive(Debug, Clone)]
struct Side {
    logins: Vec<String>,
    node_labels: CompiledSelectors,
    cluster_labels: CompiledSelectors,
    kubernetes_groups: Vec<String>,
    kubernetes_users: Vec<String>,
    db_users: Vec<String>,
    db_names: Vec<String>,
    rules: Vec<Rule>,
}

impl Side {
    fn new(c: &crate::resource::RoleConditions, traits: &Traits) -> Self {
        Side {
            logins: expand_all(&c.logins, traits),
            node_labels: CompiledSelectors::new(&c.node_labels, traits),
            cluster_labels: CompiledSelectors::new(&c.cluster_labels, traits),
            kubernetes_groups: expand_all(&c.kubernetes_groups, traits),
            kubernetes_users: expand_all(&c.kubernetes_users, traits),
            db_users: expand_all(&c.db_users, traits),
            db_names: expand_all(&c.db_names, traits),
            rules: c.rules.clone(),
        }
    }
}

#[derive(Debug, Clone)]
struct CheckedRole {
    name: String,
    allow: Side,
    deny: Side,
    options: RoleOptions,
}

/// Answers access questions for one identity.
#[derive(Debug, Clone)]
pub struct AccessChecker {
    roles: Vec<CheckedRole>,
}

fn push_unique(out: &mut Vec<String>, values: &[String]) {
    for v in values {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
}

impl AccessChecker {
    /// Builds a checker over `roles`, expanding their templates against `traits`.
    pub fn new(roles: &[Role], traits: &Traits) -> Self {
        let roles = roles
            .iter()
            .map(|r| CheckedRole {
                name: r.metadata.name.clone(),
                allow: Side::new(&r.spec.allow, traits),
                deny: Side::new(&r.spec.deny, traits),
                options: r.spec.options.clone(),
            })
            .collect();
        AccessChecker { roles }
    }

    /// The names of the roles, in order.
    pub fn role_names(&self) -> Vec<String> {
        self.roles.iter().map(|r| r.name.clone()).collect()
    }

    /// May the identity log in as `login` on a node with `node_labels`?
    pub fn check_login(&self, login: &str, node_labels: &Labels) -> Decision {
        for role in &self.roles {
            let deny = &role.deny;
            let login_denied = deny.logins.iter().any(|l| l == login || l == "*");
            if deny.node_labels.is_empty() {
                if login_denied {
                    return Decision::deny(format!("role {} denies login {login:?} (deny.logins)", role.name));
                }
            } else if deny.node_labels.matches(node_labels).is_ok() && (deny.logins.is_empty() || login_denied) {
                return Decision::deny(format!(
                    "role {} denies {} on this node (deny.node_labels match {})",
                    role.name,
                    if deny.logins.is_empty() { "every login".to_string() } else { format!("login {login:?}") },
                    describe_labels(node_labels)
                ));
            }
        }
        let mut why_not = Vec::new();
        for role in &self.roles {
            let allow = &role.allow;
            if !allow.logins.iter().any(|l| l == login) {
                why_not.push(format!("role {}: allow.logins [{}] lacks {login:?}", role.name, allow.logins.join(", ")));
                continue;
            }
            match allow.node_labels.matches(node_labels) {
                Ok(()) => {
                    return Decision::allow(format!(
                        "role {} allows login {login:?} (allow.logins, allow.node_labels match {})",
                        role.name,
                        describe_labels(node_labels)
                    ));
                }
                Err(reason) => why_not.push(format!("role {}: allow.node_labels: {reason}", role.name)),
            }
        }
        Decision::deny(format!("no role allows login {login:?} on this node ({})", or_no_roles(&why_not)))
    }

    /// May the identity see a node with `node_labels` in listings: some role's
    /// `allow.node_labels` match (with at least one login) and no role denies every login there.
    pub fn can_see_node(&self, node_labels: &Labels) -> bool {
        let denied = self.roles.iter().any(|r| {
            r.deny.logins.is_empty()
                && !r.deny.node_labels.is_empty()
                && r.deny.node_labels.matches(node_labels).is_ok()
        });
        !denied
            && self.roles.iter().any(|r| !r.allow.logins.is_empty() && r.allow.node_labels.matches(node_labels).is_ok())
    }

    /// May the identity see and reach a cluster with `cluster_labels`? A cluster without labels
    /// is visible to every role unless a deny rule matches it.
    pub fn check_cluster(&self, cluster_labels: &Labels) -> Decision {
        for role in &self.roles {
            if role.deny.cluster_labels.matches(cluster_labels).is_ok() {
                return Decision::deny(format!(
                    "role {} denies this cluster (deny.cluster_labels match {})",
                    role.name,
                    describe_labels(cluster_labels)
                ));
            }
        }
        if cluster_labels.is_empty() {
            return Decision::allow("the cluster has no labels, so every user may see it".into());
        }
        let mut why_not = Vec::new();
        for role in &self.roles {
            match role.allow.cluster_labels.matches(cluster_labels) {
                Ok(()) => {
                    return Decision::allow(format!(
                        "role {} allows this cluster (allow.cluster_labels match {})",
                        role.name,
                        describe_labels(cluster_labels)
                    ));
                }
                Err(reason) => why_not.push(format!("role {}: allow.cluster_labels: {reason}", role.name)),
            }
        }
        Decision::deny(format!(
            "no role allows a cluster labelled {} ({})",
            describe_labels(cluster_labels),
            or_no_roles(&why_not)
        ))
    }

    /// May the identity do `verb` on resources of kind `resource` (`role`, `event`, …)?
    pub fn check_rule(&self, resource: &str, verb: &str) -> Decision {
        for role in &self.roles {
            if role.deny.rules.iter().any(|r| r.covers(resource, verb)) {
                return Decision::deny(format!("role {} denies {verb} on {resource} (deny.rules)", role.name));
            }
        }
        for role in &self.roles {
            if role.allow.rules.iter().any(|r| r.covers(resource, verb)) {
                return Decision::allow(format!("role {} allows {verb} on {resource} (allow.rules)", role.name));
            }
        }
        Decision::deny(format!("none of the roles [{}] allows {verb} on {resource}", self.role_names().join(", ")))
    }

    /// [`AccessChecker::logins`] split into those a certificate may carry and those it may not
    /// (a template expanded to something that is not a valid unix login), with the reason.
    pub fn logins_checked(&self) -> (Vec<String>, Vec<(String, String)>) {
        let mut valid = Vec::new();
        let mut dropped = Vec::new();
        for login in self.logins() {
            match crate::names::validate_login(&login) {
                Ok(()) => valid.push(login),
                Err(e) => dropped.push((login, e.to_string())),
            }
        }
        (valid, dropped)
    }

    /// Every login some role allows and no role denies everywhere, templates expanded: the SSH
    /// principals (before [`AccessChecker::logins_checked`] drops invalid ones).
    pub fn logins(&self) -> Vec<String> {
        let mut out = Vec::new();
        for role in &self.roles {
            push_unique(&mut out, &role.allow.logins);
        }
        out.retain(|login| {
            !self
                .roles
                .iter()
                .any(|r| r.deny.node_labels.is_empty() && r.deny.logins.iter().any(|d| d == login || d == "*"))
        });
        out
    }

    /// Kubernetes groups granted (allowed and not denied).
    pub fn kubernetes_groups(&self) -> Vec<String> {
        self.granted(|s| &s.kubernetes_groups)
    }

    /// Kubernetes users granted.
    pub fn kubernetes_users(&self) -> Vec<String> {
        self.granted(|s| &s.kubernetes_users)
    }

    /// Database users granted.
    pub fn db_users(&self) -> Vec<String> {
        self.granted(|s| &s.db_users)
    }

    /// Database names granted.
    pub fn db_names(&self) -> Vec<String> {
        self.granted(|s| &s.db_names)
    }

    fn granted(&self, field: impl Fn(&Side) -> &Vec<String>) -> Vec<String> {
        let mut out = Vec::new();
        for role in &self.roles {
            push_unique(&mut out, field(&role.allow));
        }
        out.retain(|v| !self.roles.iter().any(|r| field(&r.deny).contains(v)));
        out
    }

    /// The longest session the roles allow: the smallest `max_session_ttl` among them.
    pub fn max_session_ttl(&self) -> Duration {
        self.roles
            .iter()
            .map(|r| r.options.max_session_ttl())
            .min()
            .unwrap_or(crate::resource::role::DEFAULT_MAX_SESSION_TTL)
    }

    /// Agent forwarding: allowed when some role allows it.
    pub fn forward_agent(&self) -> bool {
        self.roles.iter().any(|r| r.options.forward_agent())
    }

    /// Port forwarding: allowed unless some role turns it off.
    pub fn port_forwarding(&self) -> bool {
        !self.roles.is_empty() && self.roles.iter().all(|r| r.options.port_forwarding())
    }
}

fn describe_labels(labels: &Labels) -> String {
    if labels.is_empty() {
        return "(no labels)".into();
    }
    labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

fn or_no_roles(why_not: &[String]) -> String {
    if why_not.is_empty() { "the identity has no roles".into() } else { why_not.join("; ") }
}
