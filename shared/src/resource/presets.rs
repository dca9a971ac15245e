//! The roles every cluster has from its first start: `access` (log in everywhere with the
//! user's own logins), `editor` (manage users, roles, tokens and trust), `auditor` (read the
//! audit log).

use super::{Role, RoleConditions, RoleOptions, RoleSpec, Rule};
use crate::labels::LabelSelectors;

/// Names of the preset roles.
pub const PRESET_ROLES: &[&str] = &["access", "editor", "auditor"];

fn everything() -> LabelSelectors {
    LabelSelectors::from([("*".to_string(), vec!["*".to_string()])])
}

/// `access`: log in as `{{internal.logins}}` to every node, with agent and port forwarding.
pub fn access() -> Role {
    let mut role = Role::new(
        "access",
        RoleSpec {
            options: RoleOptions { max_session_ttl: None, forward_agent: Some(true), port_forwarding: Some(true) },
            allow: RoleConditions {
                logins: vec!["{{internal.logins}}".into()],
                node_labels: everything(),
                kubernetes_groups: vec!["{{internal.kubernetes_groups}}".into()],
                kubernetes_users: vec!["{{internal.kubernetes_users}}".into()],
                db_users: vec!["{{internal.db_users}}".into()],
                db_names: vec!["{{internal.db_names}}".into()],
                rules: vec![Rule::new(&["node", "remote_cluster"], &["list", "read"])],
                ..RoleConditions::default()
            },
            deny: RoleConditions::default(),
        },
    );
    role.metadata.description = Some("Access to every node with the user's own logins".into());
    role
}

/// `editor`: manage users, roles, tokens, trusted and remote clusters; read CAs and nodes.
pub fn editor() -> Role {
    let crud = ["list", "create", "read", "update", "delete"];
    let mut role = Role::new(
        "editor",
        RoleSpec {
            allow: RoleConditions {
                rules: vec![
                    Rule::new(&["user", "role", "token", "trusted_cluster", "remote_cluster"], &crud),
                    Rule::new(&["cert_authority", "node"], &["list", "read"]),
                ],
                ..RoleConditions::default()
            },
            ..RoleSpec::default()
        },
    );
    role.metadata.description = Some("Manage users, roles, join tokens and trusted clusters".into());
    role
}

/// `auditor`: read the audit log and recorded sessions.
pub fn auditor() -> Role {
    let mut role = Role::new(
        "auditor",
        RoleSpec {
            allow: RoleConditions {
                rules: vec![Rule::new(&["event", "session"], &["list", "read"])],
                ..RoleConditions::default()
            },
            ..RoleSpec::default()
        },
    );
    role.metadata.description = Some("Read the audit log".into());
    role
}

/// All preset roles.
pub fn all() -> Vec<Role> {
    vec![access(), editor(), auditor()]
}
