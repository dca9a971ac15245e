//! What every part of the auth service shares: the storage backend, the audit log, the
//! cluster's name, and RBAC: the roles of an identity and whether they allow a verb on a kind,
//! with the built-in roles of the identities the service mints itself (`@admin`, `@node`).

use std::sync::Arc;
use std::time::Duration;

use tether_audit::{Audit, Event, Outcome};
use tether_shared::identity::Identity;
use tether_shared::rbac::AccessChecker;
use tether_shared::resource::{Kind, Resource, Role, RoleConditions, RoleOptions, RoleSpec, Rule};
use tether_storage::{Backend, records};

use super::{ADMIN_ROLE, AuthError};

/// The role of node identities.
pub const NODE_ROLE: &str = "@node";
/// How long node (and proxy) host certificates are valid.
pub const NODE_CERT_TTL: Duration = Duration::from_secs(365 * 86400);
/// How long the local admin identity (`tctl` on the auth host) lives; the proxy writes it again
/// at start, after every CA change and every week.
pub const ADMIN_IDENTITY_TTL: Duration = Duration::from_secs(365 * 86400);

/// The user name in a node's TLS identity.
pub fn node_user(node_name: &str) -> String {
    format!("@node:{node_name}")
}

/// The built-in role of nodes: heartbeat their own inventory entry, read roles and CAs.
pub fn node_role() -> Role {
    Role::new(
        NODE_ROLE,
        RoleSpec {
            allow: RoleConditions {
                rules: vec![
                    Rule::new(&["node"], &["create", "update", "read", "list"]),
                    Rule::new(&["role", "cert_authority"], &["read", "list"]),
                ],
                ..Default::default()
            },
            ..Default::default()
        },
    )
}

/// Storage, the audit log, the cluster's name and RBAC, shared by every part.
pub struct Core {
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) cluster: String,
    pub(crate) audit: Arc<Audit>,
}

impl Core {
    /// The shared state of one cluster's auth service.
    pub fn new(backend: Arc<dyn Backend>, cluster: &str, audit: Arc<Audit>) -> Self {
        Core { backend, cluster: cluster.to_string(), audit }
    }

    /// The cluster's name.
    pub fn cluster_name(&self) -> &str {
        &self.cluster
    }

    /// The storage backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// The audit log.
    pub fn audit(&self) -> &Audit {
        &self.audit
    }

    /// The role the local admin identity holds: every verb on every resource.
    pub(crate) fn admin_role() -> Role {
        Role::new(
            ADMIN_ROLE,
            RoleSpec {
                allow: RoleConditions { rules: vec![Rule::new(&["*"], &["*"])], ..Default::default() },
                options: RoleOptions {
                    max_session_ttl: Some(tether_shared::duration::GoDuration(ADMIN_IDENTITY_TTL)),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
    }

    /// Loads roles by name; unknown names are skipped (a deleted role grants nothing).
    pub async fn roles(&self, names: &[String]) -> Result<Vec<Role>, AuthError> {
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            if name == ADMIN_ROLE {
                out.push(Self::admin_role());
            } else if name == NODE_ROLE {
                out.push(node_role());
            } else if let Some(Resource::Role(role)) =
                records::get(&self.backend, &records::key(Kind::Role, name)).await?
            {
                out.push(role);
            }
        }
        Ok(out)
    }

    /// The access checker of an authenticated identity.
    pub async fn checker(&self, identity: &Identity) -> Result<AccessChecker, AuthError> {
        Ok(AccessChecker::new(&self.roles(&identity.roles).await?, &identity.traits))
    }

    /// Checks `verb` on `kind` for an identity, auditing denials.
    pub async fn authorize(&self, identity: &Identity, kind: &str, verb: &str) -> Result<AccessChecker, AuthError> {
        let checker = self.checker(identity).await?;
        let decision = checker.check_rule(kind, verb);
        if !decision.allowed {
            self.audit.emit(
                Event::AccessDenied,
                Outcome::Failure,
                &identity.user,
                serde_json::json!({"resource": kind, "verb": verb, "reason": decision.reason}),
            );
            return Err(AuthError::Forbidden(decision.reason));
        }
        Ok(checker)
    }
}
