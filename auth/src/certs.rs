//! The cluster's certificate authorities and everything they sign: a user's SSH and TLS pair
//! (after login, for `tctl auth sign`, or bound to one leaf by [`super::Trust`]), node and proxy
//! host certificates, node API certificates, and the local admin identity `tctl` uses on the
//! auth host. Loading the CAs (generating them on first start) is here too: no other part
//! touches a private key.

use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use tether_shared::api::{LoginResponse, TrustedKey};
use tether_shared::identity::{Identity, Traits};
use tether_shared::rbac::AccessChecker;
use tether_shared::resource::Resource;

use tether_shared::ssh_cert::HostIdentity;
use tether_shared::tls_cert::{ClientCert, TlsCa};
use tether_storage::records;

use super::base::{Core, NODE_CERT_TTL};
use super::keys::{KeyMaker, Keyring, SEALED_CAS, StoredCas, load_or_seal};
use super::pkcs11::Hsm;
use super::sealed::{Kek, KekSource};
use super::{ADMIN_ROLE, AuthError, LEAF_CERT_TTL, internal, parse_ed25519, proxy_host_id};
use tether_audit::{Event, Outcome};

/// What a user's certificates are to say: who, with which roles and traits, for which key, for
/// how long, and (for a root user going to a leaf) the one leaf they are bound to.
#[derive(Debug, Clone)]
pub struct CertRequest<'a> {
    /// The user's name (the SSH key ID, the TLS common name).
    pub user: &'a str,
    /// The roles the certificates carry.
    pub roles: Vec<String>,
    /// The user's traits, for role templates on the far side.
    pub traits: Traits,
    /// The client's Ed25519 public key, OpenSSH format.
    pub public_key: &'a str,
    /// How long they live at most (never beyond the roles' `max_session_ttl`).
    pub ttl: Duration,
    /// The leaf cluster they are bound to (`route_to_cluster`), if any.
    pub leaf: Option<String>,
}

/// The cluster's SSH user CA, SSH host CA and TLS CA, and the certificates they sign: each
/// certificate by the key its CA's rotation phase says (`keys.rs`, [`Versions`](super::keys::Versions)).
pub struct Authority {
    pub(crate) core: Arc<Core>,
    /// The key-encryption key of the sealed record.
    pub(crate) kek: Kek,
    /// The HSM new CA keys are made in, if one is configured.
    hsm: Option<Arc<Hsm>>,
    /// The CAs as loaded from the record's last revision seen.
    keyring: RwLock<Arc<Keyring>>,
    /// The revision of the record loaded; tells the services that hold certificates (proxies,
    /// the admin identity) to renew them.
    changed: tokio::sync::watch::Sender<u64>,
    /// `auth_service.leaf_cert_ttl`, in seconds.
    leaf_cert_ttl_secs: std::sync::atomic::AtomicU64,
}

impl Authority {
    /// Loads the cluster's CAs from storage (generating them on first start) and publishes their
    /// public parts.
    pub async fn load(core: Arc<Core>, kek: &KekSource, hsm: Option<Arc<Hsm>>) -> Result<Self, AuthError> {
        let keys = KeyMaker { cluster: &core.cluster, hsm: hsm.as_ref() };
        let (cas, revision, kek) = load_cas(&core, keys, kek).await?;
        let keyring = Keyring::load(&cas, revision, keys)?;
        publish(&core, &keyring).await?;
        Ok(Authority {
            core,
            kek,
            hsm,
            keyring: RwLock::new(Arc::new(keyring)),
            changed: tokio::sync::watch::channel(revision).0,
            leaf_cert_ttl_secs: std::sync::atomic::AtomicU64::new(LEAF_CERT_TTL.as_secs()),
        })
    }

    /// Makes and loads this cluster's keys (in the HSM when one is configured).
    pub(crate) fn key_maker(&self) -> KeyMaker<'_> {
        KeyMaker { cluster: &self.core.cluster, hsm: self.hsm.as_ref() }
    }

    /// The CAs as loaded now.
    pub fn keyring(&self) -> Arc<Keyring> {
        self.keyring.read().map(|k| k.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Loads the record again when its revision is not the one loaded (another host, or this
    /// one, changed a phase), publishes the public parts, and tells [`Self::changes`]'
    /// receivers. Returns whether anything changed.
    pub async fn reload(&self) -> Result<bool, AuthError> {
        let Some(item) = self.core.backend.get(SEALED_CAS).await? else {
            return Err(AuthError::fault(format!("{SEALED_CAS} vanished from storage")));
        };
        if item.revision <= self.keyring().revision {
            return Ok(false);
        }
        let cas = StoredCas::open(&self.kek, &self.core.cluster, &item.value)?;
        let keyring = Keyring::load(&cas, item.revision, self.key_maker())?;
        publish(&self.core, &keyring).await?;
        let keyring = Arc::new(keyring);
        {
            let mut guard = self.keyring.write().unwrap_or_else(|p| p.into_inner());
            // Another reload may have installed a newer revision meanwhile.
            if guard.revision >= item.revision {
                return Ok(false);
            }
            *guard = keyring;
        }
        self.changed.send_replace(item.revision);
        Ok(true)
    }

    /// Says when the CAs change (the record's revision).
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Follows the sealed record until `stop` fires: every change (through any auth host) is
    /// loaded within a moment of its commit.
    pub async fn follow(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut watcher = self.core.backend.watch(SEALED_CAS);
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                event = watcher.next() => {
                    if event.is_none() {
                        return;
                    }
                }
                // A missed wake-up (a watch that lagged or reconnected) is caught here.
                _ = tokio::time::sleep(FOLLOW_CHECK) => {}
            }
            if let Err(e) = self.reload().await {
                tracing::warn!("cannot load the CA keys' latest revision: {}", e.chain());
            }
        }
    }

    /// Signs an SSH user certificate and a TLS client certificate for `req.public_key`, with the
    /// logins and permissions `checker` (the user's roles) grants.
    pub fn issue(&self, req: CertRequest<'_>, checker: &AccessChecker) -> Result<LoginResponse, AuthError> {
        let CertRequest { user, roles, traits, public_key, ttl, leaf } = req;
        let (key, ed25519) = parse_ed25519(public_key)?;
        let ttl = ttl.min(checker.max_session_ttl());
        let now = time::OffsetDateTime::now_utc();
        let (mut logins, dropped) = checker.logins_checked();
        if !dropped.is_empty() {
            let dropped: Vec<String> = dropped.into_iter().map(|(login, why)| format!("{login:?}: {why}")).collect();
            tracing::warn!(user, "logins left out of the certificate: {}", dropped.join("; "));
            self.core.audit.emit(
                tether_audit::Event::LoginsDropped,
                tether_audit::Outcome::Failure,
                user,
                serde_json::json!({"dropped": dropped, "roles": checker.role_names()}),
            );
        }
        if logins.is_empty() {
            // OpenSSH reads an empty principal list as "any login"; carry a placeholder instead.
            logins.push(format!("-{user}-no-logins"));
        }
        let identity = Identity {
            user: user.to_string(),
            roles,
            traits,
            logins,
            cluster: self.core.cluster.clone(),
            valid_after: now - time::Duration::minutes(1),
            valid_before: now + ttl,
            permit_pty: true,
            permit_agent_forwarding: checker.forward_agent(),
            permit_port_forwarding: checker.port_forwarding(),
            route_to_cluster: leaf,
        };
        let serial = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        let keyring = self.keyring();
        let ssh = keyring
            .user
            .client()
            .issue_user_cert(&key, &identity, serial)
            .map_err(internal("signing the user's SSH certificate"))?;
        let tls = keyring
            .tls
            .client()
            .issue_client_cert(&ed25519, &identity)
            .map_err(internal("signing a TLS client certificate"))?;
        Ok(LoginResponse {
            ssh_cert: tether_shared::ssh_cert::cert_to_openssh(&ssh)
                .map_err(internal("encoding an SSH certificate"))?,
            tls_cert: tls.cert_pem,
            cluster_name: self.core.cluster.clone(),
            host_cas: self.host_cas_trusted()?,
            tls_cas: self.tls_cas_pem(),
            identity,
            totp_enrollment: None,
        })
    }

    /// Sets `auth_service.leaf_cert_ttl`.
    pub fn set_leaf_cert_ttl(&self, ttl: Duration) {
        self.leaf_cert_ttl_secs.store(ttl.as_secs(), std::sync::atomic::Ordering::Relaxed);
    }

    /// `auth_service.leaf_cert_ttl`.
    pub fn leaf_cert_ttl(&self) -> Duration {
        Duration::from_secs(self.leaf_cert_ttl_secs.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Writes the local admin identity `tctl` uses on the auth host.
    pub async fn write_admin_identity(&self, path: &std::path::Path, proxy: &str) -> Result<(), AuthError> {
        let key = tether_shared::ssh_cert::generate_ed25519_key().map_err(internal("generating a key"))?;
        let public = key.public_key().to_openssh().map_err(internal("encoding a public key"))?;
        let roles = vec![ADMIN_ROLE.to_string()];
        let checker = AccessChecker::new(&[Core::admin_role()], &Traits::new());
        let req = CertRequest {
            user: "@admin",
            roles,
            traits: Traits::new(),
            public_key: &public,
            ttl: super::base::ADMIN_IDENTITY_TTL,
            leaf: None,
        };
        let issued = self.issue(req, &checker)?;
        let creds = tether_client::credentials::Credentials {
            proxy: proxy.to_string(),
            ssh_proxy: String::new(),
            cluster: self.core.cluster.clone(),
            user: "@admin".into(),
            private_key: key
                .to_openssh(russh::keys::ssh_key::LineEnding::LF)
                .map_err(internal("encoding a private key"))?
                .to_string(),
            ssh_cert: issued.ssh_cert,
            tls_cert: issued.tls_cert,
            tls_cas: issued.tls_cas,
            host_cas: issued.host_cas,
        };
        creds.save(path).map_err(internal("writing the credentials"))
    }

    /// The user CA's trusted public keys (two during a rotation).
    pub fn user_cas_trusted(&self) -> Vec<russh::keys::PublicKey> {
        self.keyring().user.trusted().into_iter().map(|ca| ca.public_key().clone()).collect()
    }

    /// The host CA's trusted public keys (two during a rotation), as clients store them.
    pub fn host_cas_trusted(&self) -> Result<Vec<TrustedKey>, AuthError> {
        let keyring = self.keyring();
        keyring
            .host
            .trusted()
            .into_iter()
            .map(|ca| {
                Ok(TrustedKey {
                    cluster: self.core.cluster.clone(),
                    public_key: ca.public_key_openssh().map_err(internal("encoding the host CA's public key"))?,
                })
            })
            .collect()
    }

    /// The TLS CA's trusted certificates (two during a rotation), PEM.
    pub fn tls_cas_pem(&self) -> Vec<String> {
        self.keyring().tls.trusted().into_iter().map(TlsCa::cert_pem).collect()
    }

    /// The TLS CA's trusted certificates, DER: what a client certificate may chain to.
    pub fn tls_cas_der(&self) -> Vec<rustls_pki_types::CertificateDer<'static>> {
        self.keyring().tls.trusted().into_iter().map(|ca| ca.cert_der().clone()).collect()
    }

    /// An HTTPS server certificate for `names` and `ips` from the key that signs servers now,
    /// valid a year: the chain (with the new CA cross-signed by the old one in
    /// `update_servers`) and the private key.
    pub fn https_cert(
        &self,
        names: &[String],
        ips: &[std::net::IpAddr],
    ) -> Result<(Vec<rustls_pki_types::CertificateDer<'static>>, rustls_pki_types::PrivateKeyDer<'static>), AuthError>
    {
        let keyring = self.keyring();
        let now = time::OffsetDateTime::now_utc();
        let cert = keyring
            .tls
            .server()
            .issue_server_cert(names, ips, now - time::Duration::minutes(5), now + time::Duration::days(365))
            .map_err(internal("issuing the HTTPS certificate"))?;
        let mut chain = vec![cert.cert_der];
        chain.extend(keyring.tls_cross.clone());
        Ok((chain, cert.key_der.into()))
    }

    /// Issues the proxy's SSH host certificate for `key`, valid for the given names.
    pub fn proxy_host_cert(
        &self,
        key: &russh::keys::PublicKey,
        principals: Vec<String>,
    ) -> Result<russh::keys::Certificate, AuthError> {
        let now = time::OffsetDateTime::now_utc();
        let host = tether_shared::ssh_cert::HostIdentity {
            host_id: proxy_host_id(&self.core.cluster),
            principals,
            cluster: self.core.cluster.clone(),
            valid_after: now - time::Duration::minutes(1),
            valid_before: now + NODE_CERT_TTL,
        };
        // With the host CA's endorsements: a peer that missed a rotation still knows the proxy.
        let keyring = self.keyring();
        let extensions = match keyring.host_endorsements.is_empty() {
            true => Vec::new(),
            false => vec![(tether_shared::endorse::EXTENSION, keyring.host_endorsements.join(";"))],
        };
        let serial = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        keyring
            .host
            .server()
            .issue_host_cert_with(key, &host, serial, &extensions)
            .map_err(internal("signing a host certificate"))
    }

    /// Signs a host certificate for `key` (a node's or a proxy's).
    pub fn sign_host_cert(
        &self,
        key: &russh::keys::PublicKey,
        host: &HostIdentity,
    ) -> Result<russh::keys::Certificate, AuthError> {
        let serial = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        self.keyring().host.server().issue_host_cert(key, host, serial).map_err(internal("signing a host certificate"))
    }

    /// Signs a TLS client certificate for the API.
    pub fn sign_tls_client(
        &self,
        key: &russh::keys::ssh_key::public::Ed25519PublicKey,
        identity: &Identity,
    ) -> Result<ClientCert, AuthError> {
        self.keyring()
            .tls
            .client()
            .issue_client_cert(key, identity)
            .map_err(internal("signing a TLS client certificate"))
    }
}

/// How often [`Authority::follow`] checks the record even without a wake-up.
const FOLLOW_CHECK: Duration = Duration::from_secs(5);

/// Loads the cluster's CAs, sealed under the KEK from `kek` (`keys.rs`), and audits how.
pub(crate) async fn load_cas(
    core: &Core,
    keys: KeyMaker<'_>,
    kek: &KekSource,
) -> Result<(StoredCas, u64, Kek), AuthError> {
    let (cas, revision, kek, how) = match load_or_seal(&core.backend, keys, kek).await {
        Ok(loaded) => loaded,
        Err(e) => {
            core.audit.emit(Event::CaKeys, Outcome::Failure, "", serde_json::json!({"error": e.chain()}));
            return Err(e);
        }
    };
    // Every key must load (from the HSM too) before the start is called a success.
    if let Err(e) = Keyring::load(&cas, revision, keys) {
        core.audit.emit(Event::CaKeys, Outcome::Failure, "", serde_json::json!({"error": e.chain()}));
        return Err(e);
    }
    let generated = how.generated.as_ref().map(|p| p.display().to_string());
    let details = serde_json::json!({"action": how.action, "kek": how.origin, "kek_generated": generated});
    core.audit.emit(Event::CaKeys, Outcome::Success, "", details);
    Ok((cas, revision, kek))
}

/// Writes the public parts of `keyring` as `cert_authority` resources, each only when it
/// differs from what is stored (every auth host publishes after each change; one write wins).
pub(crate) async fn publish(core: &Core, keyring: &Keyring) -> Result<(), AuthError> {
    for ca in keyring.public(&core.cluster)? {
        let key = records::ca_key(&core.cluster, ca.spec.ca_type);
        if let Some(Resource::CertAuthority(stored)) = records::get(&core.backend, &key).await?
            && stored.spec == ca.spec
        {
            continue;
        }
        records::upsert(&core.backend, &Resource::CertAuthority(ca)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use tether_shared::identity::Traits;
    use tether_shared::rbac::AccessChecker;
    use tether_shared::resource::{Resource, Role, parse_resources};
    use tether_shared::ssh_cert::{HostIdentity, generate_ed25519_key, verify_host_cert, verify_user_cert};

    use super::super::testing::cluster;
    use super::CertRequest;

    fn role(yaml_spec: &str) -> Role {
        let yaml = format!("kind: role\nversion: v5\nmetadata: {{name: r}}\nspec:\n{yaml_spec}");
        match parse_resources("r.yaml", &yaml).unwrap().pop() {
            Some(Resource::Role(role)) => role,
            other => panic!("{other:?}"),
        }
    }

    fn traits(logins: &[&str]) -> Traits {
        [("logins".to_string(), logins.iter().map(|s| s.to_string()).collect())].into()
    }

    #[tokio::test]
    async fn user_certificates_carry_what_the_roles_grant_for_no_longer_than_they_allow() {
        let dir = tempfile::tempdir().unwrap();
        let auth = cluster(&dir, "c.example.com").await;
        let role = role(
            "  options: {max_session_ttl: 2h, forward_agent: true, port_forwarding: false}\n  allow:\n    logins: ['{{internal.logins}}']\n",
        );
        let checker = AccessChecker::new(&[role], &traits(&["alice", "-bad", "root"]));
        let key = generate_ed25519_key().unwrap();
        let public = key.public_key().to_openssh().unwrap();
        let req = CertRequest {
            user: "alice",
            roles: vec!["r".into()],
            traits: traits(&["alice"]),
            public_key: &public,
            ttl: Duration::from_secs(12 * 3600),
            leaf: Some("leaf.example.com".into()),
        };
        let issued = auth.authority().issue(req, &checker).unwrap();
        let id = &issued.identity;
        assert_eq!(id.logins, ["alice", "root"], "the invalid login is left out");
        assert_eq!((id.permit_agent_forwarding, id.permit_port_forwarding, id.permit_pty), (true, false, true));
        assert_eq!(id.route_to_cluster.as_deref(), Some("leaf.example.com"));
        assert_eq!(id.valid_before - id.valid_after, time::Duration::hours(2) + time::Duration::minutes(1));
        let now = time::OffsetDateTime::now_utc();
        assert!((now - id.valid_after - time::Duration::minutes(1)).abs() < time::Duration::seconds(5));
        // Both certificates verify against the cluster's CAs and say the same.
        let ssh = russh::keys::Certificate::from_openssh(&issued.ssh_cert).unwrap();
        let verified =
            verify_user_cert(&ssh, &auth.authority().user_cas_trusted(), Some("root"), SystemTime::now()).unwrap();
        assert_eq!(&verified.logins, &id.logins);
        assert_eq!(ssh.public_key(), key.public_key().key_data());
        let pem = rustls_pki_types::pem::PemObject::from_pem_slice(issued.tls_cert.as_bytes()).unwrap();
        let tls: rustls_pki_types::CertificateDer = pem;
        let from_tls =
            tether_shared::tls_cert::verify_client_cert(&tls, &auth.authority().tls_cas_der(), SystemTime::now())
                .unwrap();
        assert_eq!(from_tls.route_to_cluster.as_deref(), Some("leaf.example.com"));
        assert_eq!(issued.tls_cas, auth.authority().tls_cas_pem());
        assert_eq!(issued.host_cas.len(), 1);
        assert_eq!(issued.host_cas[0].cluster, "c.example.com");
        assert_eq!(issued.cluster_name, "c.example.com");
        // The dropped login is audited.
        let events = auth.audit().read(None, 100).await.unwrap();
        let dropped = events.iter().find(|e| e.get("event").and_then(|v| v.as_str()) == Some("cert.logins_dropped"));
        let dropped = dropped.expect("a cert.logins_dropped event").to_owned();
        assert!(dropped.get("dropped").unwrap().to_string().contains("\\\"-bad\\\""), "{dropped:?}");
    }

    #[tokio::test]
    async fn a_certificate_without_logins_names_a_login_nobody_has() {
        let dir = tempfile::tempdir().unwrap();
        let auth = cluster(&dir, "c.example.com").await;
        let checker = AccessChecker::new(&[role("  allow:\n    logins: []\n")], &Traits::new());
        let public = generate_ed25519_key().unwrap().public_key().to_openssh().unwrap();
        let req = CertRequest {
            user: "bob",
            roles: vec![],
            traits: Traits::new(),
            public_key: &public,
            ttl: Duration::from_secs(60),
            leaf: None,
        };
        let issued = auth.authority().issue(req, &checker).unwrap();
        assert_eq!(issued.identity.logins, ["-bob-no-logins"]);
        assert!(!issued.identity.permit_agent_forwarding && issued.identity.permit_port_forwarding);
        assert_eq!(issued.identity.valid_before - issued.identity.valid_after, time::Duration::seconds(120));
        let bad = CertRequest {
            public_key: "ssh-rsa AAAA",
            ..CertRequest {
                user: "bob",
                roles: vec![],
                traits: Traits::new(),
                public_key: "",
                ttl: Duration::from_secs(60),
                leaf: None,
            }
        };
        assert!(auth.authority().issue(bad, &checker).is_err());
    }

    #[tokio::test]
    async fn host_certificates_name_their_host_and_verify() {
        let dir = tempfile::tempdir().unwrap();
        let auth = cluster(&dir, "c.example.com").await;
        let authority = auth.authority();
        let key = generate_ed25519_key().unwrap();
        let host_cas: Vec<_> = authority
            .host_cas_trusted()
            .unwrap()
            .iter()
            .map(|k| russh::keys::PublicKey::from_openssh(&k.public_key).unwrap())
            .collect();
        let cert = authority.proxy_host_cert(key.public_key(), vec!["proxy.example.com".into()]).unwrap();
        let host = verify_host_cert(&cert, &host_cas, "proxy.example.com", SystemTime::now()).unwrap();
        assert_eq!(host.cluster, "c.example.com");
        assert_eq!(host.host_id, super::proxy_host_id("c.example.com"));
        assert!(host.valid_before - time::OffsetDateTime::now_utc() > time::Duration::days(364));
        let now = time::OffsetDateTime::now_utc();
        let node = HostIdentity {
            host_id: "node-1".into(),
            principals: vec!["node-1".into(), "10.0.0.5".into()],
            cluster: "c.example.com".into(),
            valid_after: now - time::Duration::minutes(1),
            valid_before: now + time::Duration::hours(1),
        };
        let cert = authority.sign_host_cert(key.public_key(), &node).unwrap();
        assert_eq!(verify_host_cert(&cert, &host_cas, "10.0.0.5", SystemTime::now()).unwrap().host_id, "node-1");
        assert!(verify_host_cert(&cert, &host_cas, "node-2", SystemTime::now()).is_err());
        // The HTTPS certificate chains to the TLS CA (no cross-signed CA outside a rotation).
        let (chain, _) = authority.https_cert(&["proxy.example.com".into()], &[]).unwrap();
        assert_eq!(chain.len(), 1);
        // Valid from a little before now (clocks drift), for a year.
        let (_, https) = x509_parser::parse_x509_certificate(&chain[0]).unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let (from, to) = (https.validity().not_before.timestamp(), https.validity().not_after.timestamp());
        assert!(from <= now - 4 * 60, "valid from {from}, now {now}");
        assert!((to - now - 365 * 86_400).abs() < 60, "valid until {to}, now {now}");
        authority.set_leaf_cert_ttl(Duration::from_secs(600));
        assert_eq!(authority.leaf_cert_ttl(), Duration::from_secs(600));
    }

    #[tokio::test]
    async fn the_admin_identity_is_written_private_and_works_a_year() {
        let dir = tempfile::tempdir().unwrap();
        let auth = cluster(&dir, "c.example.com").await;
        let path = dir.path().join("admin.json");
        auth.authority().write_admin_identity(&path, "proxy.example.com:3080").await.unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let creds = tether_client::credentials::Credentials::load(&path).unwrap();
        assert_eq!((creds.user.as_str(), creds.cluster.as_str()), ("@admin", "c.example.com"));
        let ssh = russh::keys::Certificate::from_openssh(&creds.ssh_cert).unwrap();
        let id = verify_user_cert(&ssh, &auth.authority().user_cas_trusted(), None, SystemTime::now()).unwrap();
        assert_eq!(id.roles, [super::ADMIN_ROLE]);
        assert!(id.valid_before - time::OffsetDateTime::now_utc() > time::Duration::days(364));
    }

    /// Two auth hosts on one storage: a rotation made through one is what the other loads,
    /// publishes and tells its followers, once.
    #[tokio::test]
    async fn a_change_made_by_another_host_is_loaded_published_and_told_once() {
        use std::sync::Arc;
        use tether_shared::api::RotateRequest;
        use tether_shared::resource::{CaType, RotationMode, RotationPhase};
        use tether_storage::sqlite::SqliteBackend;

        let dir = tempfile::tempdir().unwrap();
        let backend = SqliteBackend::open(dir.path().join("shared.db")).await.unwrap();
        let open = |name: &str| {
            let audit = Arc::new(tether_audit::Audit::open(&dir.path().join(name), "c.example.com").unwrap());
            super::super::AuthService::init(
                backend.clone(),
                "c.example.com",
                audit,
                false,
                &crate::sealed::KekSource::Fixed([7; 32]),
            )
        };
        let (a, b) = (open("a").await.unwrap(), open("b").await.unwrap());
        assert!(!b.authority().reload().await.unwrap(), "nothing changed yet");
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let follower = tokio::spawn(b.authority().clone().follow(stopped));
        let mut changes = b.authority().changes();
        let phase =
            |phase| RotateRequest { ca_type: None, mode: RotationMode::Manual, phase: Some(phase), grace_period: None };
        a.authority().rotate("admin", &phase(RotationPhase::Init)).await.unwrap();
        tokio::time::timeout(Duration::from_secs(10), changes.changed()).await.unwrap().unwrap();
        assert!(!b.authority().reload().await.unwrap(), "the follower loaded it already");
        assert_eq!(b.authority().host_cas_trusted().unwrap().len(), 2, "old and new host CA trusted");
        assert_eq!(b.authority().tls_cas_pem().len(), 2);
        assert_eq!(b.authority().user_cas_trusted().len(), 2);
        // Servers sign with the new TLS CA from update_servers on, cross-signed by the old one.
        a.authority().rotate("admin", &phase(RotationPhase::UpdateClients)).await.unwrap();
        a.authority().rotate("admin", &phase(RotationPhase::UpdateServers)).await.unwrap();
        assert!(b.authority().reload().await.unwrap() || changes.has_changed().unwrap());
        let (chain, _) = b.authority().https_cert(&["proxy.example.com".into()], &[]).unwrap();
        assert_eq!(chain.len(), 2, "the server certificate and the cross-signed new CA");
        // The public CA resources say what the keyring says; publishing it again writes nothing.
        let stored = b.trust().ca_of("c.example.com", CaType::Host).await.unwrap().unwrap();
        assert_eq!(stored.spec.trusted().ssh.len(), 2);
        let key = tether_storage::records::ca_key("c.example.com", CaType::Host);
        let before = b.backend().get(&key).await.unwrap().unwrap().revision;
        super::publish(b.authority().core.as_ref(), &b.authority().keyring()).await.unwrap();
        assert_eq!(b.backend().get(&key).await.unwrap().unwrap().revision, before);
        stop.send_replace(true);
        tokio::time::timeout(Duration::from_secs(10), follower).await.unwrap().unwrap();
    }
}
