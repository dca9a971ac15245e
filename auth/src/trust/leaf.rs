//! The leaf's side of trust: `trusted_cluster` resources, asking the root for its CAs, storing
//! them with the role map, enabling and disabling.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

use tether_client::client::{ApiClient, ClientError, ServerTrust};
use tether_shared::api::{ValidateTrustedClusterRequest, ValidateTrustedClusterResponse};
use tether_shared::resource::{CaKeys, CaType, CertAuthority, Kind, Resource, TrustedCluster};
use tether_shared::rolemap::RoleMap;

use super::super::{AuthError, internal};
use tether_storage::records;

use super::{CA_TYPES, Trust, TrustChanges};

impl Trust {
    /// Creates or updates a `trusted_cluster` (leaf side). Establishes the trust with the root
    /// when this cluster holds none of its CAs yet; otherwise updates the role map and
    /// activates or deactivates the root's CAs. Returns whether it existed.
    pub async fn upsert_trusted_cluster(&self, mut tc: TrustedCluster, force: bool) -> Result<bool, AuthError> {
        let root = tc.metadata.name.clone();
        if root == self.core.cluster {
            return Err(AuthError::BadRequest(format!(
                "trusted_cluster {root:?}: that is this cluster's own name; name the root cluster"
            )));
        }
        RoleMap::compile(&tc.spec.role_map)
            .map_err(|e| AuthError::BadRequest(format!("trusted_cluster {root:?}: spec.role_map: {e}")))?;
        let key = records::key(Kind::TrustedCluster, &root);
        let existed = self.core.backend.get(&key).await?.is_some();
        if existed && !force {
            return Err(AuthError::Conflict(format!(
                "trusted_cluster {root:?} already exists; use tctl create --force to update it"
            )));
        }
        if records::get(&self.core.backend, &records::key(Kind::RemoteCluster, &root)).await?.is_some() {
            return Err(AuthError::Conflict(format!(
                "trusted_cluster {root:?}: that name is a leaf of this cluster (a remote cluster); trust runs one way"
            )));
        }
        // The root's CAs count only with the trusted_cluster they came with; strays left by an
        // interrupted attempt are cleared and trust is established again.
        let mut have_cas = self.ca_of(&root, CaType::User).await?.is_some();
        if have_cas && !existed {
            self.delete_cas_of(&root).await?;
            have_cas = false;
        }
        if !have_cas && tc.spec.enabled {
            let cas = self.ask_root(&tc).await?;
            for mut ca in cas {
                if ca.spec.ca_type == CaType::User {
                    ca.spec.role_map = tc.spec.role_map.clone();
                }
                if let Err(e) = records::upsert(&self.core.backend, &Resource::CertAuthority(ca)).await {
                    let _ = self.delete_cas_of(&root).await;
                    return Err(e.into());
                }
            }
        } else if have_cas {
            // A token with an update asks the root again: after `tctl rm rc/LEAF` there, this
            // is how the leaf is registered anew. A token the root no longer takes (spent by the
            // first join, or expired) changes nothing: the trust keeps the CAs it has.
            if tc.spec.enabled && !tc.spec.token.trim().is_empty() {
                match self.ask_root(&tc).await {
                    Ok(cas) => {
                        self.sync_cas(super::Peer::Root, &root, &cas).await?;
                    }
                    Err(e) => tracing::info!(%root, "trusted_cluster updated without asking the root again: {e}"),
                }
            }
            self.set_root_cas(&root, tc.spec.enabled, Some(&tc.spec.role_map)).await?;
        }
        // The token has done its work (or will be asked for again): it is not kept.
        tc.spec.token.clear();
        tc.metadata.id = None;
        if let Err(e) = records::upsert(&self.core.backend, &Resource::TrustedCluster(tc)).await {
            if !have_cas {
                let _ = self.delete_cas_of(&root).await;
            }
            return Err(e.into());
        }
        Ok(existed)
    }

    /// Removes a `trusted_cluster` and the root's CAs: root-signed certificates stop working at
    /// once and the tunnels close.
    pub async fn delete_trusted_cluster(&self, root: &str) -> Result<(), AuthError> {
        if !self.core.backend.delete(&records::key(Kind::TrustedCluster, root)).await? {
            return Err(AuthError::NotFound(format!("trusted_cluster {root:?} not found")));
        }
        self.delete_cas_of(root).await?;
        Ok(())
    }

    /// Whether this leaf trusts `root` right now: the trusted cluster exists, is enabled, and the
    /// root's user CA is active. Every transport through a tunnel checks it.
    pub async fn trust_active(&self, root: &str) -> bool {
        self.active_root_user_ca(root).await.is_some()
    }

    /// `root`'s user CA when this leaf trusts `root` right now (see [`Self::trust_active`]).
    pub(super) async fn active_root_user_ca(&self, root: &str) -> Option<CertAuthority> {
        // Both reads at once: each is a hop to a blocking thread, on every transport's path.
        let key = records::key(Kind::TrustedCluster, root);
        let (tc, ca) = tokio::join!(records::get(&self.core.backend, &key), self.ca_of(root, CaType::User));
        match (tc, ca) {
            (Ok(Some(Resource::TrustedCluster(tc))), Ok(Some(ca)))
                if tc.spec.enabled && !ca.spec.active_keys.ssh.is_empty() =>
            {
                Some(ca)
            }
            _ => None,
        }
    }

    /// The trusted clusters (leaf side).
    pub async fn trusted_clusters(&self) -> Result<Vec<TrustedCluster>, AuthError> {
        Ok(records::list(&self.core.backend, &records::prefix(Kind::TrustedCluster))
            .await?
            .into_iter()
            .filter_map(|r| match r {
                Resource::TrustedCluster(tc) => Some(tc),
                _ => None,
            })
            .collect())
    }

    /// Moves the root's keys between active and deactivated, and sets the role map.
    async fn set_root_cas(
        &self,
        root: &str,
        enabled: bool,
        role_map: Option<&[tether_shared::rolemap::RoleMapRule]>,
    ) -> Result<(), AuthError> {
        for ca_type in CA_TYPES {
            let key = records::ca_key(root, ca_type);
            // Compare-and-swap: a sync over the tunnel at the same moment never undoes this.
            let mut done = false;
            for _ in 0..5 {
                let Some((Resource::CertAuthority(mut ca), revision)) =
                    records::get_revision(&self.core.backend, &key).await?
                else {
                    done = true;
                    break;
                };
                if enabled {
                    // Keys deactivated during a rotation come back as one set; the root's next
                    // sync sorts them into active and additional again.
                    let old = std::mem::take(&mut ca.spec.deactivated_keys);
                    ca.spec.active_keys.merge(&old);
                } else {
                    let mut all = std::mem::take(&mut ca.spec.active_keys);
                    all.merge(&std::mem::take(&mut ca.spec.additional_trusted_keys));
                    all.merge(&std::mem::take(&mut ca.spec.deactivated_keys));
                    ca.spec.deactivated_keys = all;
                }
                if ca_type == CaType::User
                    && let Some(map) = role_map
                {
                    ca.spec.role_map = map.to_vec();
                }
                ca.metadata.id = None;
                match records::replace(&self.core.backend, &Resource::CertAuthority(ca), revision).await {
                    Ok(_) => {
                        done = true;
                        break;
                    }
                    Err(tether_storage::StorageError::Conflict { .. }) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            if !done {
                return Err(AuthError::Conflict(format!("the {ca_type} CA of {root} kept changing; try again")));
            }
        }
        Ok(())
    }

    /// Calls the root's validate endpoint; every failure names its cause.
    async fn ask_root(&self, tc: &TrustedCluster) -> Result<Vec<CertAuthority>, AuthError> {
        let root = &tc.metadata.name;
        let addr = &tc.spec.web_proxy_addr;
        if tc.spec.token.trim().is_empty() {
            return Err(AuthError::BadRequest(format!(
                "trusted_cluster {root:?}: spec.token: the root's trusted_cluster join token is needed to establish trust (tctl tokens add --type=trusted_cluster on the root)"
            )));
        }
        let mut cas = Vec::new();
        for ca_type in CA_TYPES {
            cas.push(
                self.ca_of(&self.core.cluster, ca_type)
                    .await?
                    .ok_or_else(|| AuthError::fault(format!("this cluster's {ca_type} CA is missing")))?,
            );
        }
        let insecure = self.insecure();
        let trust = if insecure { ServerTrust::Insecure } else { ServerTrust::WebPki };
        let client =
            ApiClient::new(addr, &trust, None).map_err(internal("building the client for the root cluster"))?;
        let req = ValidateTrustedClusterRequest {
            token: tc.spec.token.clone(),
            leaf_cluster: self.core.cluster.clone(),
            cas,
        };
        let resp: ValidateTrustedClusterResponse =
            client.post("/webapi/trustedclusters/validate", &req).await.map_err(|e| match e {
                ClientError::Tls { cause, .. } => AuthError::BadRequest(format!(
                    "the trusted cluster uses misconfigured HTTP/TLS certificate: {addr}: {cause}; fix the root's HTTPS certificate, or (for testing only) start this leaf's tether daemon with --insecure"
                )),
                ClientError::Connect { cause, .. } => AuthError::BadRequest(format!(
                    "cannot reach the root cluster's web proxy at {addr} (spec.web_proxy_addr): {cause}"
                )),
                ClientError::Api { message, .. } => {
                    AuthError::BadRequest(format!("the root cluster at {addr} refused the trust: {message}"))
                }
                other => AuthError::BadRequest(format!("establishing trust with {addr}: {other}")),
            })?;
        if resp.root_cluster != *root {
            return Err(AuthError::BadRequest(format!(
                "the cluster at {addr} is named {:?}, not {root:?}; set metadata.name to the root cluster's name",
                resp.root_cluster
            )));
        }
        let mut out = Vec::new();
        for ca_type in CA_TYPES {
            let ca = resp
                .cas
                .iter()
                .find(|ca| ca.spec.ca_type == ca_type && ca.spec.cluster_name == *root && ca.metadata.name == *root)
                .ok_or_else(|| AuthError::BadRequest(format!("the root at {addr} sent no {ca_type} CA")))?;
            let mut ca = ca.clone();
            ca.metadata.id = None;
            ca.spec.role_map.clear();
            ca.spec.deactivated_keys = CaKeys::default();
            out.push(ca);
        }
        Ok(out)
    }

    /// Changes to trust as storage reports them: a trusted cluster or a CA written or removed,
    /// through this host or any other sharing the storage.
    pub fn trust_changes(&self) -> TrustChanges {
        TrustChanges { watcher: self.core.backend.watch("/resources/") }
    }

    /// Whether outbound calls to a root skip HTTPS verification (`tether start --insecure`).
    pub fn insecure(&self) -> bool {
        self.insecure.load(Ordering::Relaxed)
    }

    /// What this daemon's tunnel agents hold, per root.
    pub fn links(&self) -> &crate::tunnel_status::LinkBoard {
        &self.links
    }

    /// Whether outbound calls to a root skip HTTPS verification (`tether start --insecure`).
    pub fn set_insecure(&self, insecure: bool) {
        self.insecure.store(insecure, Ordering::Relaxed);
    }

    /// The names of clusters this cluster trusts (it holds a `trusted_cluster` for them).
    pub async fn trusted_names(&self) -> Result<BTreeSet<String>, AuthError> {
        Ok(self.trusted_clusters().await?.into_iter().map(|tc| tc.metadata.name).collect())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tether_shared::api::ValidateTrustedClusterRequest;
    use tether_shared::resource::{CaType, Kind, TrustedCluster, TrustedClusterSpec};
    use tether_shared::rolemap::RoleMapRule;
    use tether_storage::records;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::super::super::testing::cluster;
    use super::super::super::{AuthError, AuthService};
    use super::super::tests::{LEAF, ROOT, token};

    /// The root's `POST /webapi/trustedclusters/validate` on 127.0.0.1 over HTTPS (its own
    /// certificate; the leaf is set `--insecure`), one request per connection.
    async fn serve_validate(root: Arc<AuthService>) -> (String, tokio::task::JoinHandle<()>) {
        let (chain, key) = root.authority().https_cert(&["localhost".into()], &["127.0.0.1".parse().unwrap()]).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let Ok(mut tls) = acceptor.accept(tcp).await else { continue };
                let mut request = Vec::new();
                let mut buf = [0u8; 65536];
                let body = loop {
                    let Ok(n) = tls.read(&mut buf).await else { break None };
                    if n == 0 {
                        break None;
                    }
                    request.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&request).to_string();
                    let Some(end) = text.find("\r\n\r\n") else { continue };
                    let length = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string())
                        })
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    if request.len() >= end + 4 + length {
                        break Some(request[end + 4..end + 4 + length].to_vec());
                    }
                };
                let Some(body) = body else { continue };
                let req: ValidateTrustedClusterRequest = serde_json::from_slice(&body).unwrap();
                let (status, answer) = match root.trust().validate_trusted_cluster(&req, "127.0.0.1").await {
                    Ok(resp) => ("200 OK", serde_json::to_string(&resp).unwrap()),
                    Err(e) => ("403 Forbidden", serde_json::json!({"error": e.to_string()}).to_string()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    answer.len()
                );
                let _ = tls.write_all(head.as_bytes()).await;
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            }
        });
        (addr, task)
    }

    /// A root serving its validate endpoint at the returned address, and a leaf (`--insecure`)
    /// that has not asked it yet.
    async fn root_and_leaf(
        dir: &tempfile::TempDir,
    ) -> (Arc<AuthService>, Arc<AuthService>, String, tokio::task::JoinHandle<()>) {
        let root = cluster(dir, ROOT).await;
        let leaf = cluster(dir, LEAF).await;
        leaf.trust().set_insecure(true);
        let (addr, server) = serve_validate(root.clone()).await;
        (root, leaf, addr, server)
    }

    fn trusted(addr: &str, token: &str, remote: &str) -> TrustedCluster {
        let spec = TrustedClusterSpec {
            token: token.into(),
            tunnel_addr: "127.0.0.1:1".into(),
            web_proxy_addr: addr.into(),
            role_map: vec![RoleMapRule { remote: remote.into(), local: vec!["access".into()] }],
            ..Default::default()
        };
        TrustedCluster::new(ROOT, spec)
    }

    #[tokio::test]
    async fn trust_is_established_with_the_root_updated_disabled_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let (root, leaf, addr, server) = root_and_leaf(&dir).await;
        assert!(leaf.trust().insecure());
        let tok = token(&root).await;
        let trust = leaf.trust();

        let e = trust.upsert_trusted_cluster(trusted(&addr, "", "access"), false).await.unwrap_err();
        assert!(e.to_string().contains("spec.token: the root's trusted_cluster join token is needed"), "{e}");
        let e = trust.upsert_trusted_cluster(trusted(&addr, "wrong", "access"), false).await.unwrap_err();
        assert!(e.to_string().contains(&format!("the root cluster at {addr} refused the trust: ")), "{e}");
        assert!(!trust.trust_active(ROOT).await, "a refused attempt leaves nothing behind");

        assert!(!trust.upsert_trusted_cluster(trusted(&addr, &tok, "access"), false).await.unwrap());
        assert!(trust.trust_active(ROOT).await);
        assert_eq!(trust.trusted_names().await.unwrap().into_iter().collect::<Vec<_>>(), [ROOT]);
        let stored = trust.trusted_clusters().await.unwrap().remove(0);
        assert!(stored.spec.token.is_empty(), "the token is not kept");
        let user_ca = trust.ca_of(ROOT, CaType::User).await.unwrap().unwrap();
        assert_eq!(user_ca.spec.role_map[0].remote, "access");
        assert_eq!(
            user_ca.spec.active_keys,
            root.trust().ca_of(ROOT, CaType::User).await.unwrap().unwrap().spec.active_keys
        );
        assert!(
            trust.ca_of(ROOT, CaType::Host).await.unwrap().is_some()
                && trust.ca_of(ROOT, CaType::Tls).await.unwrap().is_some()
        );

        let e = trust.upsert_trusted_cluster(trusted(&addr, "", "access"), false).await.unwrap_err();
        assert!(matches!(&e, AuthError::Conflict(m) if m.contains("use tctl create --force")), "{e}");
        // An update sets the role map; disabling deactivates every key; enabling brings them back.
        assert!(trust.upsert_trusted_cluster(trusted(&addr, "", "^(.*)$"), true).await.unwrap());
        assert_eq!(trust.ca_of(ROOT, CaType::User).await.unwrap().unwrap().spec.role_map[0].remote, "^(.*)$");
        let mut off = trusted(&addr, "", "access");
        off.spec.enabled = false;
        trust.upsert_trusted_cluster(off, true).await.unwrap();
        assert!(!trust.trust_active(ROOT).await);
        for ca_type in [CaType::User, CaType::Host, CaType::Tls] {
            let ca = trust.ca_of(ROOT, ca_type).await.unwrap().unwrap();
            assert!(ca.spec.active_keys.is_empty() && !ca.spec.deactivated_keys.is_empty(), "{ca_type}");
        }
        trust.upsert_trusted_cluster(trusted(&addr, "", "access"), true).await.unwrap();
        assert!(trust.trust_active(ROOT).await);
        for ca_type in [CaType::User, CaType::Host, CaType::Tls] {
            let ca = trust.ca_of(ROOT, ca_type).await.unwrap().unwrap();
            assert!(!ca.spec.active_keys.is_empty() && ca.spec.deactivated_keys.is_empty(), "{ca_type}");
        }

        trust.delete_trusted_cluster(ROOT).await.unwrap();
        assert!(!trust.trust_active(ROOT).await);
        assert!(trust.ca_of(ROOT, CaType::User).await.unwrap().is_none(), "the root's CAs go with the trust");
        let e = trust.delete_trusted_cluster(ROOT).await.unwrap_err();
        assert!(matches!(&e, AuthError::NotFound(m) if m == "trusted_cluster \"root.example.com\" not found"), "{e}");
        server.abort();
    }

    #[tokio::test]
    async fn a_trusted_cluster_must_name_another_reachable_root_by_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let (root, leaf, addr, server) = root_and_leaf(&dir).await;
        let tok = token(&root).await;
        let trust = leaf.trust();

        let mut own = trusted(&addr, &tok, "access");
        own.metadata.name = LEAF.into();
        let e = trust.upsert_trusted_cluster(own, false).await.unwrap_err();
        assert!(matches!(&e, AuthError::BadRequest(m) if m.contains("that is this cluster's own name")), "{e}");
        let e = trust.upsert_trusted_cluster(trusted(&addr, &tok, "^(unclosed$"), false).await.unwrap_err();
        assert!(matches!(&e, AuthError::BadRequest(m) if m.contains("spec.role_map")), "{e}");
        let mut misnamed = trusted(&addr, &tok, "access");
        misnamed.metadata.name = "other.example.com".into();
        let e = trust.upsert_trusted_cluster(misnamed, false).await.unwrap_err();
        assert!(e.to_string().contains("is named \"root.example.com\", not \"other.example.com\""), "{e}");
        server.abort();
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().to_string()
        };
        let e = trust.upsert_trusted_cluster(trusted(&closed, &tok, "access"), false).await.unwrap_err();
        assert!(e.to_string().contains(&format!("cannot reach the root cluster's web proxy at {closed}")), "{e}");
        // Without --insecure the root's cluster-signed certificate is not a public one.
        leaf.trust().set_insecure(false);
        let (addr, server) = serve_validate(root.clone()).await;
        let e = trust.upsert_trusted_cluster(trusted(&addr, &tok, "access"), false).await.unwrap_err();
        assert!(e.to_string().contains("misconfigured HTTP/TLS certificate"), "{e}");
        server.abort();
        // Stray CAs of the root without a trusted_cluster are cleared, and a leaf of this
        // cluster can never be trusted as a root.
        records::create(
            leaf.backend(),
            &tether_shared::resource::Resource::RemoteCluster(tether_shared::resource::RemoteCluster::new(
                ROOT,
                Default::default(),
            )),
        )
        .await
        .unwrap();
        let e = trust.upsert_trusted_cluster(trusted(&addr, &tok, "access"), false).await.unwrap_err();
        assert!(matches!(&e, AuthError::Conflict(m) if m.contains("trust runs one way")), "{e}");
        leaf.backend().delete(&records::key(Kind::RemoteCluster, ROOT)).await.unwrap();
        leaf.trust().set_insecure(true);
        let (addr, server) = serve_validate(root.clone()).await;
        for ca in root.trust().own_cas().unwrap() {
            let mut stray = ca.clone();
            stray.spec.active_keys = Default::default();
            records::upsert(leaf.backend(), &tether_shared::resource::Resource::CertAuthority(stray)).await.unwrap();
        }
        trust.upsert_trusted_cluster(trusted(&addr, &tok, "access"), false).await.unwrap();
        assert!(trust.trust_active(ROOT).await, "the strays were replaced by the root's CAs");
        server.abort();
    }

    /// After `tctl rm rc/LEAF` on the root, an update with a new token registers the leaf
    /// again; a disabled trust, token or not, never asks the root.
    #[tokio::test]
    async fn an_update_with_a_token_asks_the_root_again_unless_disabled() {
        let dir = tempfile::tempdir().unwrap();
        let (root, leaf, addr, server) = root_and_leaf(&dir).await;
        let trust = leaf.trust();
        trust.upsert_trusted_cluster(trusted(&addr, &token(&root).await, "access"), false).await.unwrap();
        let registered = || async { root.trust().remote_clusters().await.unwrap().len() };
        assert_eq!(registered().await, 1);
        root.trust().delete_remote_cluster(LEAF).await.unwrap();
        let again = token(&root).await;
        let mut off = trusted(&addr, &again, "access");
        off.spec.enabled = false;
        trust.upsert_trusted_cluster(off, true).await.unwrap();
        assert_eq!(registered().await, 0, "a disabled trust asked the root");
        trust.upsert_trusted_cluster(trusted(&addr, &again, "access"), true).await.unwrap();
        assert_eq!(registered().await, 1, "the update with a token did not register the leaf again");
        assert!(trust.trust_active(ROOT).await);
        server.abort();
    }

    /// Trust is active only while the trusted cluster is enabled *and* the root's user CA has
    /// active keys, whatever wrote the records.
    #[tokio::test]
    async fn trust_needs_an_enabled_trusted_cluster_and_active_keys() {
        use tether_shared::resource::Resource;
        let dir = tempfile::tempdir().unwrap();
        let (root, leaf, addr, server) = root_and_leaf(&dir).await;
        let trust = leaf.trust();
        trust.upsert_trusted_cluster(trusted(&addr, &token(&root).await, "access"), false).await.unwrap();
        server.abort();
        assert!(trust.trust_active(ROOT).await);
        let mut tc = trust.trusted_clusters().await.unwrap().remove(0);
        tc.spec.enabled = false;
        records::upsert(leaf.backend(), &Resource::TrustedCluster(tc.clone())).await.unwrap();
        assert!(!trust.trust_active(ROOT).await, "a disabled trusted cluster whose CA still has keys");
        tc.spec.enabled = true;
        records::upsert(leaf.backend(), &Resource::TrustedCluster(tc)).await.unwrap();
        assert!(trust.trust_active(ROOT).await);
        let mut ca = trust.ca_of(ROOT, CaType::User).await.unwrap().unwrap();
        ca.spec.active_keys = Default::default();
        records::upsert(leaf.backend(), &Resource::CertAuthority(ca)).await.unwrap();
        assert!(!trust.trust_active(ROOT).await, "an enabled trusted cluster whose user CA has no active key");
    }

    /// When the trusted_cluster itself cannot be stored (here a real SQLite trigger refuses the
    /// write), a new trust leaves none of the root's CAs behind, and an existing one keeps them.
    #[tokio::test]
    async fn a_trusted_cluster_that_cannot_be_stored_leaves_no_strays_and_keeps_what_was_there() {
        let dir = tempfile::tempdir().unwrap();
        let (root, leaf, addr, server) = root_and_leaf(&dir).await;
        let trust = leaf.trust();
        let db = rusqlite::Connection::open(dir.path().join(format!("{LEAF}.db"))).unwrap();
        // Storage writes with INSERT .. ON CONFLICT DO UPDATE, so a BEFORE INSERT trigger
        // refuses a new record and an update alike.
        let refuse = |on: bool| {
            let sql = if on {
                format!(
                    "CREATE TRIGGER refuse_tc BEFORE INSERT ON items WHEN NEW.key = '{}' \
                     BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
                    records::key(Kind::TrustedCluster, ROOT)
                )
            } else {
                "DROP TRIGGER refuse_tc;".to_string()
            };
            db.execute_batch(&sql).unwrap();
        };
        refuse(true);
        let e = trust.upsert_trusted_cluster(trusted(&addr, &token(&root).await, "access"), false).await.unwrap_err();
        assert!(e.to_string().contains("the storage backend failed"), "{e}");
        assert!(trust.ca_of(ROOT, CaType::User).await.unwrap().is_none(), "the root's CAs were left behind");
        refuse(false);
        trust.upsert_trusted_cluster(trusted(&addr, &token(&root).await, "access"), false).await.unwrap();
        refuse(true);
        let e = trust.upsert_trusted_cluster(trusted(&addr, "", "^(.*)$"), true).await.unwrap_err();
        assert!(e.to_string().contains("the storage backend failed"), "{e}");
        assert!(trust.ca_of(ROOT, CaType::User).await.unwrap().is_some(), "a failed update removed the trust's CAs");
        server.abort();
    }

    /// The board the agents write is the one the doctor reads.
    #[tokio::test]
    async fn the_tunnel_board_is_one_per_daemon() {
        let dir = tempfile::tempdir().unwrap();
        let leaf = cluster(&dir, LEAF).await;
        leaf.trust().links().up(ROOT, "p1");
        leaf.trust().links().failed(ROOT, "connection refused");
        let seen = leaf.trust().links().get(ROOT);
        assert_eq!(seen.tunnels.keys().collect::<Vec<_>>(), ["p1"]);
        assert_eq!(seen.last_error.map(|(_, why)| why).as_deref(), Some("connection refused"));
    }
}
