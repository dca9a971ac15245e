//! What the trust doctor asks the root's auth service: whether a leaf is trusted, and whether a
//! token would let it validate (`POST /webapi/trustedclusters/check`, nothing stored); and the
//! root's own view of a leaf for `tctl trusted-cluster doctor --leaf` (its `remote_cluster`,
//! CAs, status and the tunnels each root proxy records).
//!
//! The check is unauthenticated (a leaf asks before it has anything else): it says only whether
//! a remote cluster of that name holds the host CA keys the caller sent, which a stranger cannot
//! use to learn the names of leaves, and it names a clash only to a caller with a valid token.

use tether_shared::api::{DoctorCheck, TrustCheckRequest, TrustCheckResponse};
use tether_shared::resource::{CaType, Connection, Kind, Resource, TokenType};
use tether_storage::records;

use super::super::AuthError;
use super::Trust;

/// Whether two OpenSSH public keys are the same key (type and data; comments aside).
fn same_key(a: &str, b: &str) -> bool {
    a.split_whitespace().take(2).eq(b.split_whitespace().take(2))
}

/// One passed check.
pub fn passed(check: &str, detail: String) -> DoctorCheck {
    DoctorCheck { check: check.into(), ok: true, detail, warning: None, fix: None }
}

/// One failed check, with what fixes it.
pub fn failed(check: &str, detail: String, fix: String) -> DoctorCheck {
    DoctorCheck { check: check.into(), ok: false, detail, warning: None, fix: Some(fix) }
}

impl Trust {
    /// Answers a leaf's trust doctor (see the module docs).
    pub async fn check_trust(&self, req: &TrustCheckRequest) -> Result<TrustCheckResponse, AuthError> {
        let leaf = req.leaf_cluster.as_str();
        tether_shared::names::validate_cluster_name(leaf)
            .map_err(|e| AuthError::BadRequest(format!("leaf cluster name: {e}")))?;
        let rc = records::get(&self.core.backend, &records::key(Kind::RemoteCluster, leaf)).await?.is_some();
        let stored = match self.ca_of(leaf, CaType::Host).await? {
            Some(ca) => ca.spec.trusted().ssh,
            None => Vec::new(),
        };
        let trusted = rc && stored.iter().any(|s| req.host_keys.iter().any(|k| same_key(s, k)));
        let (token, refusal) = match &req.token {
            None => (None, None),
            Some(t) => match self.tokens.check_token(t, TokenType::TrustedCluster).await {
                Ok(record) => {
                    let until =
                        record.expires.map_or_else(|| "does not expire".to_string(), |e| format!("valid until {e}"));
                    let refusal = if leaf == self.core.cluster {
                        Some(format!("the leaf is named {leaf:?}, the same as this root cluster"))
                    } else if rc && !trusted {
                        Some(format!(
                            "a remote cluster named {leaf:?} is already registered with other CAs; remove it on the \
                             root (tctl rm rc/{leaf}) or rename the leaf"
                        ))
                    } else {
                        None
                    };
                    (Some(until), refusal)
                }
                // Only accepted or not: no hint of what else a wrong token may be.
                Err(_) => (Some("not accepted (unknown, expired, or not a trusted_cluster token)".into()), None),
            },
        };
        Ok(TrustCheckResponse { root_cluster: self.core.cluster.clone(), trusted, token, refusal })
    }

    /// The root's checks of leaf `name`: its `remote_cluster`, the CAs stored for it, its status
    /// and last heartbeat, and the tunnel each live root proxy records.
    /// A leaf whose `cluster_labels` the caller's roles do not allow is reported as missing.
    pub async fn remote_doctor(
        &self,
        who: &tether_shared::identity::Identity,
        name: &str,
        offline_window: std::time::Duration,
    ) -> Result<Vec<DoctorCheck>, AuthError> {
        tether_shared::names::validate_cluster_name(name)
            .map_err(|e| AuthError::BadRequest(format!("leaf cluster name: {e}")))?;
        let mut out = Vec::new();
        let rc = records::get(&self.core.backend, &records::key(Kind::RemoteCluster, name)).await?;
        let visible = match &rc {
            Some(Resource::RemoteCluster(rc)) => {
                self.core.checker(who).await?.check_cluster(&rc.metadata.labels).allowed
            }
            _ => false,
        };
        let Some(Resource::RemoteCluster(_)) = rc.filter(|_| visible) else {
            out.push(failed(
                "remote cluster",
                format!(
                    "this root has no remote_cluster {name:?}: it was removed (tctl rm rc/{name}) or never trusted"
                ),
                "on the leaf, create the trust again with a fresh token (tctl tokens add --type=trusted_cluster \
                 here, then tctl create --force trusted_cluster.yaml there)"
                    .into(),
            ));
            return Ok(out);
        };
        out.push(passed("remote cluster", format!("remote_cluster {name} exists")));
        let mut missing = Vec::new();
        for ca_type in super::CA_TYPES {
            if self.ca_of(name, ca_type).await?.is_none_or(|ca| ca.spec.trusted().is_empty()) {
                missing.push(ca_type.to_string());
            }
        }
        out.push(if missing.is_empty() {
            passed("leaf CAs", "the leaf's user, host and TLS CAs are stored".into())
        } else {
            failed(
                "leaf CAs",
                format!("no {} CA is stored for {name}", missing.join(", ")),
                format!("remove the remote cluster (tctl rm rc/{name}) and create the trust again from the leaf"),
            )
        });
        let statuses = crate::tunnel_status::leaf_statuses(&self.core.backend, offline_window).await?;
        let status = statuses.get(name).cloned().unwrap_or_default();
        let tunnels = crate::tunnel_status::leaf_tunnels(&self.core.backend, name, offline_window).await?;
        let seen = status.last_heartbeat.map_or_else(|| "never".to_string(), |t| t.to_string());
        out.push(if status.connection == Connection::Online {
            passed("status", format!("online, last heartbeat {seen}"))
        } else {
            failed(
                "status",
                format!("offline, last heartbeat {seen}"),
                format!("run tctl trusted-cluster doctor on {name}: its tunnel to this root is down"),
            )
        });
        for (proxy, up, beat) in tunnels {
            let beat = beat.map_or_else(|| "no heartbeat".to_string(), |t| format!("last heartbeat {t}"));
            out.push(if up {
                passed(&format!("tunnel at proxy {proxy}"), format!("up, {beat}"))
            } else {
                failed(
                    &format!("tunnel at proxy {proxy}"),
                    format!("down, {beat}"),
                    "the leaf keeps one tunnel to every root proxy: check that the leaf reaches this proxy's tunnel \
                     address (behind a balancer, every proxy must be reachable through it)"
                        .into(),
                )
            });
        }
        Ok(out)
    }
}
