//! Keeping the CAs of the other side of a trust current: a root's copies of a leaf's CAs, and a
//! leaf's copies of its root's. Each side sends its CAs' public parts over the tunnel when the
//! tunnel comes up and after every rotation phase (`proxy/src/tunnel/`), and the other stores
//! them here. The tunnel was authenticated with the keys stored before, so a rotation carries
//! trust forward one phase at a time; a leaf offline for a whole phase catches up when it
//! reconnects.
//!
//! Only what the other cluster owns is taken (its keys and rotation state, for the cluster the
//! tunnel belongs to); what this side decided stays: a root's user CA keeps the leaf's
//! `role_map`, and a disabled trust keeps every key deactivated.

use tether_audit::{Event, Outcome};
use tether_shared::resource::{CaKeys, CaType, CertAuthority, Kind, Resource};
use tether_storage::records;

use super::super::AuthError;
use super::{CA_TYPES, Trust};

/// Which side of the trust the other cluster is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// The other cluster is this leaf's root (it holds a `trusted_cluster`).
    Root,
    /// The other cluster is this root's leaf (it holds a `remote_cluster`).
    Leaf,
}

impl Trust {
    /// This cluster's CAs, public parts, as the other side of a trust stores them.
    pub fn own_cas(&self) -> Result<Vec<CertAuthority>, AuthError> {
        self.authority.keyring().public(&self.core.cluster)
    }

    /// Stores the CAs `cluster` sent over its tunnel, where they differ from the stored ones;
    /// returns how many changed. Each change is audited as `ca.sync`, and so is a refusal.
    pub async fn sync_cas(&self, peer: Peer, cluster: &str, cas: &[CertAuthority]) -> Result<usize, AuthError> {
        let result = self.sync_inner(peer, cluster, cas).await;
        if let Err(e) = &result {
            self.core.audit.emit(
                Event::CaSync,
                Outcome::Failure,
                &format!("@cluster:{cluster}"),
                serde_json::json!({"peer": cluster, "error": e.to_string()}),
            );
        }
        result
    }

    async fn sync_inner(&self, peer: Peer, cluster: &str, cas: &[CertAuthority]) -> Result<usize, AuthError> {
        let kind = match peer {
            Peer::Root => Kind::TrustedCluster,
            Peer::Leaf => Kind::RemoteCluster,
        };
        if records::get(&self.core.backend, &records::key(kind, cluster)).await?.is_none() {
            return Err(AuthError::NotFound(format!("{cluster:?} is no {kind} of this cluster")));
        }
        let mut changed = 0;
        for ca_type in CA_TYPES {
            let mut found = cas.iter().filter(|ca| ca.spec.ca_type == ca_type);
            let (Some(ca), None) = (found.next(), found.next()) else {
                return Err(AuthError::BadRequest(format!("{cluster} must send exactly one {ca_type} CA")));
            };
            let trusted = ca.spec.trusted();
            let right_kind = match ca_type {
                CaType::Tls => trusted.ssh.is_empty() && !trusted.tls.is_empty(),
                _ => trusted.tls.is_empty() && !trusted.ssh.is_empty(),
            };
            if ca.metadata.name != cluster || ca.spec.cluster_name != cluster || !right_kind {
                return Err(AuthError::BadRequest(format!(
                    "the {ca_type} CA {cluster} sent must belong to it and carry {} keys",
                    if ca_type == CaType::Tls { "TLS" } else { "SSH" }
                )));
            }
            let Some(next) = self.store_copy(cluster, ca, &trusted).await? else { continue };
            changed += 1;
            self.core.audit.emit(
                Event::CaSync,
                Outcome::Success,
                &format!("@cluster:{cluster}"),
                serde_json::json!({
                    "peer": cluster,
                    "ca_type": ca_type.as_str(),
                    "phase": next.spec.phase().as_str(),
                    "keys": next.spec.fingerprints(),
                }),
            );
            tracing::info!(%cluster, ca = %ca_type, phase = %next.spec.phase(), "stored the CA {cluster} sent over the tunnel");
        }
        Ok(changed)
    }

    /// Stores `ca` (keys and rotation only) over the stored copy, unless it is older than that
    /// copy or changes nothing; compare-and-swap, so a change an admin makes at the same time
    /// (disabling the trust, a new role map) is never lost. The copy written, if one was.
    async fn store_copy(
        &self,
        cluster: &str,
        ca: &CertAuthority,
        trusted: &CaKeys,
    ) -> Result<Option<CertAuthority>, AuthError> {
        let key = records::ca_key(cluster, ca.spec.ca_type);
        for _ in 0..5 {
            let Some((Resource::CertAuthority(stored), revision)) =
                records::get_revision(&self.core.backend, &key).await?
            else {
                return Err(AuthError::NotFound(format!("no {} CA of {cluster} is stored here", ca.spec.ca_type)));
            };
            // A lagging proxy or auth host of the other cluster may send an older state.
            if ca.spec.generation < stored.spec.generation {
                return Ok(None);
            }
            let mut next = stored.clone();
            next.metadata.id = None;
            next.spec.rotation = ca.spec.rotation.clone();
            next.spec.generation = ca.spec.generation;
            let disabled = stored.spec.active_keys.is_empty() && !stored.spec.deactivated_keys.is_empty();
            if disabled {
                next.spec.deactivated_keys = trusted.clone();
                next.spec.additional_trusted_keys = CaKeys::default();
            } else {
                next.spec.active_keys = ca.spec.active_keys.clone();
                next.spec.additional_trusted_keys = ca.spec.additional_trusted_keys.clone();
            }
            if next.spec == stored.spec {
                return Ok(None);
            }
            match records::replace(&self.core.backend, &Resource::CertAuthority(next.clone()), revision).await {
                Ok(_) => return Ok(Some(next)),
                Err(tether_storage::StorageError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AuthError::Conflict(format!(
            "the {} CA of {cluster} kept changing; the next sync retries",
            ca.spec.ca_type
        )))
    }
}

#[cfg(test)]
mod tests {
    use tether_shared::resource::{CaKeys, CaType};
    use tether_shared::ssh_cert::SshCa;

    use super::super::super::AuthError;
    use super::super::tests::{LEAF, cas, registered_leaf};
    use super::Peer;

    /// The leaf's CAs after a host key change: `host` new, the user and TLS CAs as in `first`.
    fn with_host(
        first: &[tether_shared::resource::CertAuthority],
        user: &SshCa,
        host: &SshCa,
    ) -> Vec<tether_shared::resource::CertAuthority> {
        let mut next = cas(LEAF, user, host);
        next.retain(|ca| ca.spec.ca_type != CaType::Tls);
        next.push(first.iter().find(|ca| ca.spec.ca_type == CaType::Tls).cloned().unwrap());
        next
    }

    #[tokio::test]
    async fn a_root_takes_its_leafs_newer_keys_only_and_audits_each_change() {
        let dir = tempfile::tempdir().unwrap();
        let (root, user, _, first) = registered_leaf(&dir).await;
        let trust = root.trust();

        assert_eq!(trust.sync_cas(Peer::Leaf, LEAF, &first).await.unwrap(), 0, "nothing new");
        // The same generation with a new host key (a phase within one generation) is taken.
        let host2 = SshCa::generate().unwrap();
        let next = with_host(&first, &user, &host2);
        assert_eq!(trust.sync_cas(Peer::Leaf, LEAF, &next).await.unwrap(), 1);
        let stored = trust.ca_of(LEAF, CaType::Host).await.unwrap().unwrap();
        assert_eq!(stored.spec.active_keys.ssh, [host2.public_key_openssh().unwrap()]);

        let refused = |r: Result<usize, AuthError>| r.unwrap_err().to_string();
        let mut twice = next.clone();
        twice.push(next[0].clone());
        assert!(refused(trust.sync_cas(Peer::Leaf, LEAF, &twice).await).contains("must send exactly one user CA"));
        for spoil in 0..4 {
            let mut bad = next.clone();
            let (user_ca, tls_ca) = (
                bad.iter().position(|c| c.spec.ca_type == CaType::User).unwrap(),
                bad.iter().position(|c| c.spec.ca_type == CaType::Tls).unwrap(),
            );
            match spoil {
                0 => bad[user_ca].metadata.name = "other.example.com".into(),
                1 => bad[user_ca].spec.cluster_name = "other.example.com".into(),
                2 => {
                    bad[user_ca].spec.active_keys =
                        CaKeys { ssh: vec![], tls: bad[tls_ca].spec.active_keys.tls.clone() }
                }
                _ => {
                    bad[tls_ca].spec.active_keys =
                        CaKeys { ssh: bad[user_ca].spec.active_keys.ssh.clone(), tls: vec![] }
                }
            }
            let e = refused(trust.sync_cas(Peer::Leaf, LEAF, &bad).await);
            assert!(e.contains("must belong to it and carry"), "{spoil}: {e}");
        }
        let mut mixed = next.clone();
        let user_ca = mixed.iter().position(|c| c.spec.ca_type == CaType::User).unwrap();
        mixed[user_ca].spec.active_keys.tls = vec!["-----BEGIN CERTIFICATE-----".into()];
        assert!(refused(trust.sync_cas(Peer::Leaf, LEAF, &mixed).await).contains("carry SSH keys"));
        let mut mixed = next.clone();
        let tls_ca = mixed.iter().position(|c| c.spec.ca_type == CaType::Tls).unwrap();
        mixed[tls_ca].spec.active_keys.ssh = vec![user.public_key_openssh().unwrap()];
        assert!(refused(trust.sync_cas(Peer::Leaf, LEAF, &mixed).await).contains("carry TLS keys"));
        let e = refused(trust.sync_cas(Peer::Leaf, "nope.example.com", &next).await);
        assert!(e.contains("\"nope.example.com\" is no remote_cluster of this cluster"), "{e}");

        let events = root.audit().read(None, 100).await.unwrap();
        let syncs: Vec<_> =
            events.iter().filter(|e| e.get("event").and_then(|v| v.as_str()) == Some("ca.sync")).collect();
        assert_eq!(syncs.iter().filter(|e| e.get("success") == Some(&true.into())).count(), 1);
        assert_eq!(syncs.iter().filter(|e| e.get("success") == Some(&false.into())).count(), 8);
        let ok = syncs.iter().find(|e| e.get("success") == Some(&true.into())).unwrap();
        assert_eq!(ok.get("ca_type"), Some(&"host".into()));
    }

    /// Disabled means no active key and some deactivated ones: a copy that is active and also
    /// lists deactivated keys (an admin's `tctl create -f`) still takes the new keys as active,
    /// and a copy with no keys at all is not disabled either.
    #[tokio::test]
    async fn an_active_copy_with_deactivated_keys_takes_new_keys_as_active() {
        use tether_shared::resource::Resource;
        use tether_storage::records;
        let dir = tempfile::tempdir().unwrap();
        let (root, user, _, first) = registered_leaf(&dir).await;
        let trust = root.trust();
        let old = SshCa::generate().unwrap().public_key_openssh().unwrap();
        for (active, deactivated) in [(true, vec![old]), (false, vec![])] {
            let mut stored = trust.ca_of(LEAF, CaType::Host).await.unwrap().unwrap();
            stored.metadata.id = None;
            if !active {
                stored.spec.active_keys = CaKeys::default();
            }
            stored.spec.deactivated_keys = CaKeys { ssh: deactivated, tls: vec![] };
            records::upsert(root.backend(), &Resource::CertAuthority(stored)).await.unwrap();
            let host2 = SshCa::generate().unwrap();
            let next = with_host(&first, &user, &host2);
            assert_eq!(trust.sync_cas(Peer::Leaf, LEAF, &next).await.unwrap(), 1);
            let now = trust.ca_of(LEAF, CaType::Host).await.unwrap().unwrap();
            assert_eq!(now.spec.active_keys.ssh, [host2.public_key_openssh().unwrap()], "active: {active}");
        }
    }
}
