//! Trust between clusters: the root's side (`POST /webapi/trustedclusters/validate`, remote
//! clusters and their CAs) and the leaf's side (`trusted_cluster` resources, the root's CAs with
//! the role map, enabling and disabling).
//!
//! A join token only bootstraps trust: the leaf sends it with its public CAs, the root checks it,
//! stores the leaf's CAs and a `remote_cluster`, and answers with its own public CAs, which the
//! leaf stores under the root's name. From then on the clusters know each other by certificates
//! alone. Disabling a trust moves the root's keys from `active_keys` to `deactivated_keys`, so
//! every check (node SSH, API TLS, tunnel) stops accepting them at once, and enabling moves them
//! back. Every failure stores nothing.

mod delegate;
pub mod doctor;
mod identify;
mod leaf;
mod root;
mod stale;
mod sync;

pub use delegate::Delegation;
pub use stale::sweep as sweep_stale_remote_clusters;
pub use sync::Peer;

use tether_shared::identity::Identity;
use tether_shared::resource::{CaType, Kind};

use std::sync::Arc;

use super::{Authority, Core, Tokens};
use tether_storage::records;
use tether_storage::{WatchEvent, Watcher};

/// The CA types a trust exchanges.
pub const CA_TYPES: [CaType; 3] = CaType::ALL;

/// A user of a trusted (root) cluster, as this leaf sees them.
#[derive(Debug, Clone)]
pub struct RemoteUser {
    /// The identity with the mapped local roles in `roles`.
    pub identity: Identity,
    /// The roles the root gave them.
    pub remote_roles: Vec<String>,
}

/// A stream of trust changes; see [`Trust::trust_changes`].
#[derive(Debug)]
pub struct TrustChanges {
    watcher: Watcher,
}

impl TrustChanges {
    /// Waits for the next change to a trusted cluster or a CA (or for events lost to a slow
    /// reader, which may have been such a change). Never returns once storage has closed.
    pub async fn next(&mut self) {
        let trusted = records::prefix(Kind::TrustedCluster);
        let cas = records::prefix(Kind::CertAuthority);
        loop {
            match self.watcher.next().await {
                Some(WatchEvent::Event(e)) if e.item.key.starts_with(&trusted) || e.item.key.starts_with(&cas) => {
                    return;
                }
                Some(WatchEvent::Event(_)) => {}
                Some(WatchEvent::Lagged(_)) => return,
                None => std::future::pending().await,
            }
        }
    }
}

/// Trust with other clusters: a root's leaves (`remote_cluster`) and a leaf's roots
/// (`trusted_cluster`), their CAs, certificates bound to a leaf, and who a trusted cluster's
/// user is here.
pub struct Trust {
    core: Arc<Core>,
    authority: Arc<Authority>,
    tokens: Arc<Tokens>,
    /// Outbound calls to a root skip HTTPS verification (`tether start --insecure`).
    insecure: std::sync::atomic::AtomicBool,
    /// What this daemon's tunnel agents hold (leaf side).
    links: super::tunnel_status::LinkBoard,
    /// `auth_service.remote_cluster_ttl` in seconds; 0: remote clusters never expire.
    remote_cluster_ttl: std::sync::atomic::AtomicU64,
}

impl Trust {
    /// Trust over the other parts.
    pub fn new(core: Arc<Core>, authority: Arc<Authority>, tokens: Arc<Tokens>) -> Self {
        Trust {
            core,
            authority,
            tokens,
            insecure: std::sync::atomic::AtomicBool::new(false),
            links: super::tunnel_status::LinkBoard::default(),
            remote_cluster_ttl: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use tether_shared::api::ValidateTrustedClusterRequest;
    use tether_shared::identity::Identity;
    use tether_shared::resource::{
        CaKeys, CaType, CertAuthority, CertAuthoritySpec, Resource, TokenType, TrustedCluster, TrustedClusterSpec,
        parse_resources,
    };
    use tether_shared::ssh_cert::{HostIdentity, SshCa, generate_ed25519_key};

    use super::super::refusal::TrustRefusal;
    use super::super::testing::cluster;
    use super::super::{AuthError, AuthService};
    use tether_storage::records;

    pub(super) const LEAF: &str = "leaf.example.com";
    pub(super) const ROOT: &str = "root.example.com";

    /// A root [`ROOT`] that registered the leaf [`LEAF`]; the leaf's user and host CAs, and the
    /// CA records it sent.
    pub(super) async fn registered_leaf(
        dir: &tempfile::TempDir,
    ) -> (Arc<AuthService>, SshCa, SshCa, Vec<CertAuthority>) {
        let root = cluster(dir, ROOT).await;
        let (user, host) = (SshCa::generate().unwrap(), SshCa::generate().unwrap());
        let sent = cas(LEAF, &user, &host);
        let req =
            ValidateTrustedClusterRequest { token: token(&root).await, leaf_cluster: LEAF.into(), cas: sent.clone() };
        root.trust().validate_trusted_cluster(&req, "10.0.0.1").await.unwrap();
        (root, user, host, sent)
    }

    /// A root with the leaf [`LEAF`] (labelled `env: prod`) and the user alice, whose role sees
    /// only `env: prod` clusters.
    pub(super) async fn root_with_leaf(dir: &tempfile::TempDir) -> Arc<AuthService> {
        let (root, ..) = registered_leaf(dir).await;
        root.trust().set_remote_cluster_labels(LEAF, [("env".to_string(), "prod".to_string())].into()).await.unwrap();
        let yaml = "kind: role\nversion: v5\nmetadata: {name: prod}\nspec:\n  allow:\n    logins: [alice]\n    cluster_labels: {env: prod}\n---\nkind: user\nversion: v2\nmetadata: {name: alice}\nspec: {roles: [prod]}\n";
        for resource in parse_resources("alice.yaml", yaml).unwrap() {
            records::upsert(root.backend(), &resource).await.unwrap();
        }
        root
    }

    pub(super) fn caller(user: &str, cluster: &str, valid_for: time::Duration) -> Identity {
        let now = time::OffsetDateTime::now_utc();
        Identity {
            user: user.into(),
            roles: vec!["prod".into()],
            traits: Default::default(),
            logins: vec![user.into()],
            cluster: cluster.into(),
            valid_after: now - time::Duration::minutes(1),
            valid_before: now + valid_for,
            permit_pty: true,
            permit_agent_forwarding: false,
            permit_port_forwarding: true,
            route_to_cluster: None,
        }
    }

    pub(super) fn cas(name: &str, user: &SshCa, host: &SshCa) -> Vec<CertAuthority> {
        let tls = tether_shared::tls_cert::TlsCa::generate(name).unwrap();
        let ca = |ca_type, keys| {
            CertAuthority::new(
                name,
                CertAuthoritySpec { ca_type, cluster_name: name.into(), active_keys: keys, ..Default::default() },
            )
        };
        vec![
            ca(CaType::User, CaKeys { ssh: vec![user.public_key_openssh().unwrap()], tls: vec![] }),
            ca(CaType::Host, CaKeys { ssh: vec![host.public_key_openssh().unwrap()], tls: vec![] }),
            ca(CaType::Tls, CaKeys { ssh: vec![], tls: vec![tls.cert_pem()] }),
        ]
    }

    pub(super) async fn token(auth: &AuthService) -> String {
        auth.tokens()
            .add_token(TokenType::TrustedCluster, Duration::from_secs(600), Default::default())
            .await
            .unwrap()
            .token
    }

    /// A `trusted_cluster` for `name` at an address nobody answers, with `role_map`.
    pub(super) fn unreachable_trust(name: &str, role_map: Vec<tether_shared::rolemap::RoleMapRule>) -> TrustedCluster {
        let spec = TrustedClusterSpec {
            tunnel_addr: "127.0.0.1:1".into(),
            web_proxy_addr: "127.0.0.1:1".into(),
            role_map,
            ..Default::default()
        };
        TrustedCluster::new(name, spec)
    }

    /// The role map rule taking every remote role as `access`.
    pub(super) fn all_as_access() -> Vec<tether_shared::rolemap::RoleMapRule> {
        vec![tether_shared::rolemap::RoleMapRule { remote: "*".into(), local: vec!["access".into()] }]
    }

    fn host_cert(ca: &SshCa, host_id: &str, cluster: &str) -> russh::keys::Certificate {
        let key = generate_ed25519_key().unwrap();
        let now = time::OffsetDateTime::now_utc();
        let host = HostIdentity {
            host_id: host_id.into(),
            principals: vec![cluster.into()],
            cluster: cluster.into(),
            valid_after: now - time::Duration::minutes(1),
            valid_before: now + time::Duration::hours(1),
        };
        ca.issue_host_cert(key.public_key(), &host, 1).unwrap()
    }

    #[tokio::test]
    async fn only_a_registered_leafs_proxy_may_open_its_tunnel() {
        let dir = tempfile::tempdir().unwrap();
        let (root, _, host, _) = registered_leaf(&dir).await;
        root.trust().check_tunnel_cert(LEAF, &host_cert(&host, "@proxy.leaf.example.com", LEAF)).await.unwrap();
        // A node of the leaf holds a certificate from the same CA, naming the cluster: refused.
        let node = root.trust().check_tunnel_cert(LEAF, &host_cert(&host, "mynode", LEAF)).await.unwrap_err();
        assert!(matches!(node, TrustRefusal::NotAProxy { .. }), "{node:?}");
        assert_eq!(node.to_string(), format!("host \"mynode\" is not a proxy of cluster \"{LEAF}\""));
        // Another CA is refused as untrusted; another cluster's name as not a remote cluster.
        let other = SshCa::generate().unwrap();
        let wrong_ca = root
            .trust()
            .check_tunnel_cert(LEAF, &host_cert(&other, "@proxy.leaf.example.com", LEAF))
            .await
            .unwrap_err();
        assert!(wrong_ca.to_string().contains("untrusted certificate authority"), "{wrong_ca}");
        let stranger = root
            .trust()
            .check_tunnel_cert("x.example.com", &host_cert(&host, "@proxy.x.example.com", "x.example.com"))
            .await
            .unwrap_err();
        assert!(matches!(stranger, TrustRefusal::NotRemoteCluster(ref c) if c == "x.example.com"), "{stranger:?}");
        // Once the remote cluster is removed, nothing gets in.
        root.trust().delete_remote_cluster(LEAF).await.unwrap();
        let removed =
            root.trust().check_tunnel_cert(LEAF, &host_cert(&host, "@proxy.leaf.example.com", LEAF)).await.unwrap_err();
        assert!(removed.to_string().contains("is not a remote cluster of this root"), "{removed}");
    }

    #[tokio::test]
    async fn validate_never_replaces_the_cas_of_a_trusted_or_registered_cluster() {
        let dir = tempfile::tempdir().unwrap();
        let mid = cluster(&dir, "mid.example.com").await;
        let tok = token(&mid).await;
        let (user, host) = (SshCa::generate().unwrap(), SshCa::generate().unwrap());

        // mid trusts a root "root.example.com" (its CAs and trusted_cluster are stored).
        let root_cas = cas("root.example.com", &user, &host);
        for ca in &root_cas {
            records::upsert(mid.backend(), &Resource::CertAuthority(ca.clone())).await.unwrap();
        }
        let map = vec![tether_shared::rolemap::RoleMapRule { remote: "access".into(), local: vec!["access".into()] }];
        records::upsert(mid.backend(), &Resource::TrustedCluster(unreachable_trust("root.example.com", map)))
            .await
            .unwrap();
        let (evil_user, evil_host) = (SshCa::generate().unwrap(), SshCa::generate().unwrap());
        let posing = ValidateTrustedClusterRequest {
            token: tok.clone(),
            leaf_cluster: "root.example.com".into(),
            cas: cas("root.example.com", &evil_user, &evil_host),
        };
        let posed = mid.trust().validate_trusted_cluster(&posing, "test").await;
        assert!(matches!(posed, Err(AuthError::Conflict(_))), "{posed:?}");
        let kept = mid.trust().ca_of("root.example.com", CaType::Host).await.unwrap().unwrap();
        assert_eq!(kept.spec.active_keys.ssh, [host.public_key_openssh().unwrap()], "the trusted CA is untouched");

        // Its own name, and a registered leaf presented with other CAs, are clashes; the same
        // leaf joining again is not.
        let own = ValidateTrustedClusterRequest {
            token: tok.clone(),
            leaf_cluster: "mid.example.com".into(),
            cas: cas("mid.example.com", &user, &host),
        };
        assert!(matches!(mid.trust().validate_trusted_cluster(&own, "test").await, Err(AuthError::Conflict(_))));
        let leaf = ValidateTrustedClusterRequest {
            token: tok.clone(),
            leaf_cluster: LEAF.into(),
            cas: cas(LEAF, &user, &host),
        };
        mid.trust().validate_trusted_cluster(&leaf, "test").await.unwrap();
        let mut again = leaf.clone();
        again.cas.retain(|ca| ca.spec.ca_type != CaType::Tls);
        again.cas.push(leaf.cas.iter().find(|ca| ca.spec.ca_type == CaType::Tls).cloned().unwrap());
        mid.trust().validate_trusted_cluster(&again, "test").await.unwrap();
        let impostor = ValidateTrustedClusterRequest {
            token: tok,
            leaf_cluster: LEAF.into(),
            cas: cas(LEAF, &evil_user, &evil_host),
        };
        assert!(matches!(mid.trust().validate_trusted_cluster(&impostor, "test").await, Err(AuthError::Conflict(_))));
    }

    #[tokio::test]
    async fn nodes_cannot_take_a_proxy_host_id_and_leaves_cannot_be_trusted_back() {
        let dir = tempfile::tempdir().unwrap();
        // A root that registered LEAF: a leaf of this cluster.
        let (auth, ..) = registered_leaf(&dir).await;
        let key = generate_ed25519_key().unwrap().public_key().to_openssh().unwrap();
        let err = auth.nodes().node_credentials("@proxy.root.example.com", "h", &key).await.unwrap_err();
        assert!(matches!(err, AuthError::BadRequest(_)), "{err}");
        let err = auth.nodes().node_credentials("n1", "@proxy.root.example.com", &key).await.unwrap_err();
        assert!(matches!(err, AuthError::BadRequest(_)), "{err}");

        // A leaf of this cluster cannot be made a trusted (root) cluster of it.
        let err =
            auth.trust().upsert_trusted_cluster(unreachable_trust(LEAF, all_as_access()), true).await.unwrap_err();
        assert!(err.to_string().contains("trust runs one way"), "{err}");
        assert!(!auth.trust().trust_active(LEAF).await, "the leaf's users are not trusted here");
    }

    #[tokio::test]
    async fn a_peer_changes_only_its_own_keys_and_never_this_sides_decisions() {
        use super::Peer;
        let dir = tempfile::tempdir().unwrap();
        let mid = cluster(&dir, "mid.example.com").await;
        const ROOT: &str = "root.example.com";
        let (user, host) = (SshCa::generate().unwrap(), SshCa::generate().unwrap());
        // mid trusts ROOT (its CAs and trusted_cluster stored), with its own role map.
        for ca in cas(ROOT, &user, &host) {
            records::upsert(mid.backend(), &Resource::CertAuthority(ca)).await.unwrap();
        }
        let map = vec![tether_shared::rolemap::RoleMapRule { remote: "access".into(), local: vec!["access".into()] }];
        let mut user_ca = mid.trust().ca_of(ROOT, CaType::User).await.unwrap().unwrap();
        user_ca.spec.role_map = map.clone();
        records::upsert(mid.backend(), &Resource::CertAuthority(user_ca)).await.unwrap();
        records::upsert(mid.backend(), &Resource::TrustedCluster(unreachable_trust(ROOT, map.clone()))).await.unwrap();

        // The root rotates: its new keys are taken; a role map it sends is not.
        let (user2, host2) = (SshCa::generate().unwrap(), SshCa::generate().unwrap());
        let mut next = cas(ROOT, &user2, &host2);
        for ca in &mut next {
            ca.spec.generation = 10;
            ca.spec.role_map =
                vec![tether_shared::rolemap::RoleMapRule { remote: "*".into(), local: vec!["editor".into()] }];
        }
        assert_eq!(mid.trust().sync_cas(Peer::Root, ROOT, &next).await.unwrap(), 3);
        let stored = mid.trust().ca_of(ROOT, CaType::User).await.unwrap().unwrap();
        assert_eq!(stored.spec.active_keys.ssh, [user2.public_key_openssh().unwrap()], "the new key is taken");
        assert_eq!(stored.spec.role_map, map, "the peer cannot change this side's role map");
        // An older state (a lagging proxy) changes nothing.
        let mut older = cas(ROOT, &user, &host);
        for ca in &mut older {
            ca.spec.generation = 5;
        }
        assert_eq!(mid.trust().sync_cas(Peer::Root, ROOT, &older).await.unwrap(), 0);
        let stored = mid.trust().ca_of(ROOT, CaType::User).await.unwrap().unwrap();
        assert_eq!(stored.spec.active_keys.ssh, [user2.public_key_openssh().unwrap()], "went back to an older state");
        // CAs of another cluster, through this tunnel, are refused; so is a cluster that is not
        // a root here, or a root sending as a leaf.
        let stranger = cas("other.example.com", &user, &host);
        let err = mid.trust().sync_cas(Peer::Root, ROOT, &stranger).await.unwrap_err();
        assert!(err.to_string().contains("must belong to it"), "{err}");
        assert!(mid.trust().ca_of("other.example.com", CaType::User).await.unwrap().is_none());
        let err = mid.trust().sync_cas(Peer::Leaf, ROOT, &next).await.unwrap_err();
        assert!(matches!(err, AuthError::NotFound(_)), "{err}");
        // A disabled trust stays disabled: a sync puts no key back among the active ones.
        let mut tc = mid.trust().trusted_clusters().await.unwrap().remove(0);
        tc.spec.enabled = false;
        mid.trust().upsert_trusted_cluster(tc, true).await.unwrap();
        let mut newer = cas(ROOT, &user, &host);
        for ca in &mut newer {
            ca.spec.generation = 20;
        }
        mid.trust().sync_cas(Peer::Root, ROOT, &newer).await.unwrap();
        let stored = mid.trust().ca_of(ROOT, CaType::User).await.unwrap().unwrap();
        assert!(stored.spec.active_keys.is_empty(), "a sync re-enabled a disabled trust: {:?}", stored.spec);
        assert_eq!(stored.spec.deactivated_keys.ssh, [user.public_key_openssh().unwrap()]);
        assert!(!mid.trust().trust_active(ROOT).await);
    }

    /// The stream the leaf's agent follows wakes for a trusted cluster or a CA, not for other
    /// records.
    #[tokio::test]
    async fn trust_changes_are_trusted_clusters_and_cas_only() {
        let dir = tempfile::tempdir().unwrap();
        let mid = cluster(&dir, "mid.example.com").await;
        let mut changes = mid.trust().trust_changes();
        let role = "kind: role\nversion: v5\nmetadata: {name: ops}\nspec: {allow: {logins: [ops]}}\n";
        for resource in parse_resources("ops.yaml", role).unwrap() {
            records::upsert(mid.backend(), &resource).await.unwrap();
        }
        let quiet = tokio::time::timeout(Duration::from_millis(300), changes.next()).await;
        assert!(quiet.is_err(), "a role is not a trust change");
        let (user, host) = (SshCa::generate().unwrap(), SshCa::generate().unwrap());
        let ca = cas(ROOT, &user, &host).remove(0);
        records::upsert(mid.backend(), &Resource::CertAuthority(ca)).await.unwrap();
        let woke = tokio::time::timeout(Duration::from_secs(5), changes.next()).await;
        assert!(woke.is_ok(), "a CA is a trust change");
        records::upsert(mid.backend(), &Resource::TrustedCluster(unreachable_trust(ROOT, all_as_access())))
            .await
            .unwrap();
        let woke = tokio::time::timeout(Duration::from_secs(5), changes.next()).await;
        assert!(woke.is_ok(), "a trusted cluster is a trust change");
    }

    /// A name this cluster trusts, or holds CAs of, cannot be registered as a leaf: either one
    /// is enough.
    #[tokio::test]
    async fn a_trusted_name_or_one_with_cas_here_is_not_a_new_leaf() {
        let dir = tempfile::tempdir().unwrap();
        let mid = cluster(&dir, "mid.example.com").await;
        let (user, host) = (SshCa::generate().unwrap(), SshCa::generate().unwrap());
        let stray = "stray.example.com";
        records::upsert(mid.backend(), &Resource::CertAuthority(cas(stray, &user, &host).remove(0))).await.unwrap();
        records::upsert(mid.backend(), &Resource::TrustedCluster(unreachable_trust(ROOT, all_as_access())))
            .await
            .unwrap();
        for name in [stray, ROOT] {
            let req = ValidateTrustedClusterRequest {
                token: token(&mid).await,
                leaf_cluster: name.into(),
                cas: cas(name, &user, &host),
            };
            let e = mid.trust().validate_trusted_cluster(&req, "test").await.unwrap_err();
            assert!(matches!(&e, AuthError::Conflict(m) if m.contains("already trusts or knows")), "{name}: {e}");
        }
    }
}
