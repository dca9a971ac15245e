//! Calls to a leaf made by a root proxy for a root user (`tctl --cluster`, `tsh ls --all`):
//! the user's roles here are checked against each leaf's `cluster_labels` exactly as for a
//! relay, and the proxy gets a certificate bound to that leaf for the user and for the proxy's
//! own key, so the leaf identifies the user, maps their roles and decides.
//!
//! The proxy is inside the root's trust already (it runs in the daemon that holds the CAs), so
//! a certificate for its key claims nothing a root could not. The user proved who they are to
//! the proxy with their own client certificate; only that caller's name, roles and traits go
//! into what is signed, and a leaf-bound certificate cannot ask for another.

use std::time::Duration;

use tether_audit::{Event, Outcome};
use tether_shared::api::LoginResponse;
use tether_shared::identity::Identity;
use tether_shared::identity::Traits;
use tether_shared::rbac::AccessChecker;
use tether_shared::resource::{CaType, Kind, RemoteCluster, Resource};
use tether_storage::records;

use super::super::certs::CertRequest;
use super::super::{AuthError, grantable_roles};
use super::Trust;

/// What the root knows of one caller for calls to its leaves: their current roles and the
/// leaves, read once for a fan-out to many.
pub struct Delegation {
    user: String,
    roles: Vec<String>,
    traits: Traits,
    checker: AccessChecker,
    leaves: Vec<RemoteCluster>,
    /// Each leaf's trusted TLS CA certificates (PEM), which its web API's certificate must
    /// chain to.
    leaf_tls: std::collections::HashMap<String, Vec<String>>,
    left: Duration,
}

impl Delegation {
    /// The leaves whose `cluster_labels` the caller's roles allow, by name.
    pub fn allowed(&self) -> impl Iterator<Item = &RemoteCluster> {
        self.leaves.iter().filter(|rc| self.checker.check_cluster(&rc.metadata.labels).allowed)
    }

    /// The caller's current roles, for RBAC checks made before a delegated call.
    pub fn checker(&self) -> &AccessChecker {
        &self.checker
    }

    /// The caller's name.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// What a certificate for this user carries (roles and traits), to tell a kept one apart
    /// from one issued before a change.
    pub fn grant_fingerprint(&self) -> String {
        format!("{:?}|{:?}", self.roles, self.traits)
    }

    /// The TLS CA certificates (PEM) `cluster`'s web API must present a chain to.
    pub fn leaf_tls_cas(&self, cluster: &str) -> &[String] {
        self.leaf_tls.get(cluster).map_or(&[], Vec::as_slice)
    }
}

impl Trust {
    /// Reads the caller's user record, roles and this cluster's leaves, for
    /// [`Trust::delegated_cert`]. Refused for a user of another cluster, a leaf-bound certificate,
    /// a user who no longer exists and an expired certificate.
    pub async fn delegation(&self, caller: &Identity) -> Result<Delegation, AuthError> {
        if caller.cluster != self.core.cluster {
            return Err(AuthError::Forbidden(format!(
                "only users of {} reach its leaves through it",
                self.core.cluster
            )));
        }
        if caller.route_to_cluster.is_some() {
            return Err(AuthError::Forbidden(
                "a leaf-bound certificate cannot reach other clusters; use your root certificate".into(),
            ));
        }
        let left = caller.valid_before - time::OffsetDateTime::now_utc();
        let left = Duration::from_secs(u64::try_from(left.whole_seconds()).unwrap_or(0));
        if left.is_zero() {
            return Err(AuthError::Unauthorized("your certificate has expired; run tsh login".into()));
        }
        let user_key = records::key(Kind::User, &caller.user);
        let cas_prefix = records::prefix(Kind::CertAuthority);
        let (user, leaves, cas) = tokio::join!(
            records::get(&self.core.backend, &user_key),
            self.remote_clusters(),
            records::list(&self.core.backend, &cas_prefix)
        );
        let Some(Resource::User(user)) = user? else {
            return Err(AuthError::Forbidden(format!(
                "{:?} is not a user of {}: the daemon's admin identity has no roles at a leaf; log in as a user \
                 with tsh login",
                caller.user, self.core.cluster
            )));
        };
        let roles = grantable_roles(&user.spec.roles);
        let checker = AccessChecker::new(&self.core.roles(&roles).await?, &user.spec.traits);
        let leaf_tls = cas?
            .into_iter()
            .filter_map(|r| match r {
                Resource::CertAuthority(ca) if ca.spec.ca_type == CaType::Tls => {
                    Some((ca.spec.cluster_name.clone(), ca.spec.trusted().tls))
                }
                _ => None,
            })
            .collect();
        Ok(Delegation {
            user: caller.user.clone(),
            roles,
            traits: user.spec.traits,
            checker,
            leaves: leaves?,
            leaf_tls,
            left,
        })
    }

    /// Whether the delegation's user may reach `cluster` (its `cluster_labels`); a refusal is
    /// audited `access.denied` with `action`.
    pub fn check_leaf(&self, d: &Delegation, cluster: &str, action: &str) -> Result<(), AuthError> {
        let Some(rc) = d.leaves.iter().find(|rc| rc.metadata.name == cluster) else {
            return Err(AuthError::NotFound(format!("cluster {cluster:?} is not a leaf of {}", self.core.cluster)));
        };
        let decision = d.checker.check_cluster(&rc.metadata.labels);
        if !decision.allowed {
            self.core.audit.emit(
                Event::AccessDenied,
                Outcome::Failure,
                &d.user,
                serde_json::json!({"leaf_cluster": cluster, "action": action, "reason": decision.reason}),
            );
            return Err(AuthError::Forbidden(format!(
                "your roles do not allow cluster {cluster}: {}",
                decision.reason
            )));
        }
        Ok(())
    }

    /// A certificate of this cluster (bound to no leaf) for the delegation's user and the
    /// proxy's `public_key`: the web UI's terminal to a node of this cluster. Audited as
    /// `cert.create` by the user, with `delegated: true`.
    pub fn delegated_local_cert(&self, d: &Delegation, public_key: &str) -> Result<LoginResponse, AuthError> {
        self.authority.issue(self.delegated_request(d, public_key, None), &d.checker)
    }

    /// What a delegated certificate asserts: the delegation's user, roles and traits for the
    /// proxy's key, living `leaf_cert_ttl` at most and never beyond the caller's certificate.
    fn delegated_request<'a>(&self, d: &'a Delegation, public_key: &'a str, leaf: Option<&str>) -> CertRequest<'a> {
        CertRequest {
            user: &d.user,
            roles: d.roles.clone(),
            traits: d.traits.clone(),
            public_key,
            ttl: self.authority.leaf_cert_ttl().min(d.left),
            leaf: leaf.map(str::to_string),
        }
    }

    /// A certificate bound to `cluster` for the delegation's user and the proxy's `public_key`,
    /// after the `cluster_labels` check (a refusal is audited `access.denied`); the issue is
    /// audited `cert.leaf` with `delegated: true`. It lives `leaf_cert_ttl` at most, never
    /// beyond the caller's certificate.
    pub fn delegated_cert(
        &self,
        d: &Delegation,
        cluster: &str,
        public_key: &str,
        action: &str,
    ) -> Result<LoginResponse, AuthError> {
        self.check_leaf(d, cluster, action)?;
        let issued = self.authority.issue(self.delegated_request(d, public_key, Some(cluster)), &d.checker);
        let error = issued.as_ref().err().map(ToString::to_string);
        self.core.audit.emit(
            Event::CertLeaf,
            Outcome::of(issued.is_ok()),
            &d.user,
            serde_json::json!({"leaf_cluster": cluster, "delegated": true, "error": error}),
        );
        issued
    }
}

#[cfg(test)]
mod tests {
    use tether_shared::ssh_cert::generate_ed25519_key;

    use super::super::super::AuthError;
    use super::super::tests::{LEAF, ROOT, caller, root_with_leaf};

    #[tokio::test]
    async fn a_delegation_reaches_only_allowed_leaves_for_the_callers_time() {
        let dir = tempfile::tempdir().unwrap();
        let root = root_with_leaf(&dir).await;
        let trust = root.trust();
        let refused = |r: Result<super::Delegation, AuthError>| r.map(|_| ()).unwrap_err();

        let e = refused(trust.delegation(&caller("alice", LEAF, time::Duration::hours(1))).await);
        assert!(
            matches!(&e, AuthError::Forbidden(m) if m == "only users of root.example.com reach its leaves through it"),
            "{e}"
        );
        let mut bound = caller("alice", ROOT, time::Duration::hours(1));
        bound.route_to_cluster = Some(LEAF.into());
        let e = refused(trust.delegation(&bound).await);
        assert!(matches!(&e, AuthError::Forbidden(m) if m.starts_with("a leaf-bound certificate cannot reach")), "{e}");
        let e = refused(trust.delegation(&caller("alice", ROOT, -time::Duration::seconds(1))).await);
        assert!(matches!(&e, AuthError::Unauthorized(m) if m.contains("has expired")), "{e}");
        let e = refused(trust.delegation(&caller("@admin", ROOT, time::Duration::hours(1))).await);
        assert!(matches!(&e, AuthError::Forbidden(m) if m.contains("is not a user of root.example.com")), "{e}");

        let d = trust.delegation(&caller("alice", ROOT, time::Duration::minutes(10))).await.unwrap();
        assert_eq!(d.user(), "alice");
        assert_eq!(d.allowed().map(|rc| rc.metadata.name.as_str()).collect::<Vec<_>>(), [LEAF]);
        assert_eq!(d.leaf_tls_cas(LEAF).len(), 1);
        assert!(d.leaf_tls_cas("nope.example.com").is_empty());
        assert!(d.grant_fingerprint().contains("\"prod\""), "{}", d.grant_fingerprint());
        assert_eq!(d.checker().logins(), ["alice"], "the checker holds the user's current roles");
        let key = generate_ed25519_key().unwrap().public_key().to_openssh().unwrap();
        let cert = trust.delegated_cert(&d, LEAF, &key, "tctl get").unwrap();
        assert_eq!(cert.identity.route_to_cluster.as_deref(), Some(LEAF));
        assert_eq!(cert.identity.roles, ["prod"]);
        assert!(cert.identity.valid_before - time::OffsetDateTime::now_utc() <= time::Duration::minutes(10));
        let local = trust.delegated_local_cert(&d, &key).unwrap();
        assert_eq!(local.identity.route_to_cluster, None);
        let e = trust.delegated_cert(&d, "nope.example.com", &key, "tctl get").unwrap_err();
        assert!(matches!(&e, AuthError::NotFound(m) if m.contains("is not a leaf of root.example.com")), "{e}");

        // Relabelled out of reach: refused, and audited as a denial with the action.
        trust.set_remote_cluster_labels(LEAF, [("env".to_string(), "dev".to_string())].into()).await.unwrap();
        let d = trust.delegation(&caller("alice", ROOT, time::Duration::hours(2))).await.unwrap();
        assert_eq!(d.allowed().count(), 0);
        let e = trust.delegated_cert(&d, LEAF, &key, "tctl get").unwrap_err();
        assert!(
            matches!(&e, AuthError::Forbidden(m) if m.starts_with("your roles do not allow cluster leaf.example.com")),
            "{e}"
        );
        let events = root.audit().read(None, 200).await.unwrap();
        let kind = |e: &serde_json::Map<String, serde_json::Value>| {
            e.get("event").and_then(|v| v.as_str()).map(str::to_string)
        };
        let denied: Vec<_> = events.iter().filter(|e| kind(e).as_deref() == Some("access.denied")).collect();
        assert_eq!(denied.len(), 1);
        assert_eq!(denied[0].get("action"), Some(&"tctl get".into()));
        let leaf_certs: Vec<_> = events.iter().filter(|e| kind(e).as_deref() == Some("cert.leaf")).collect();
        assert_eq!(leaf_certs.len(), 1, "refusals before issuing are not cert.leaf events");
        assert_eq!(leaf_certs[0].get("delegated"), Some(&true.into()));
    }
}
