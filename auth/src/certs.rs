//! The cluster's certificate authorities and everything they sign: a user's SSH and TLS pair
//! (after login, for `tctl auth sign`, or bound to one leaf by [`super::Trust`]), node and proxy
//! host certificates, node API certificates, and the local admin identity `tctl` uses on the
//! auth host. Loading the CAs (generating them on first start) is here too: no other part
//! touches a private key.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tether_shared::api::{LoginResponse, TrustedKey};
use tether_shared::identity::{Identity, Traits};
use tether_shared::rbac::AccessChecker;
use tether_shared::resource::Resource;

use tether_shared::resource::{CaKeys, CaType, CertAuthority, CertAuthoritySpec};
use tether_shared::ssh_cert::{HostIdentity, SshCa};
use tether_shared::tls_cert::{ClientCert, TlsCa};
use tether_storage::{Backend, StorageError, records};

use super::base::{Core, NODE_CERT_TTL};
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

/// The cluster's SSH user CA, SSH host CA and TLS CA, and the certificates they sign.
pub struct Authority {
    core: Arc<Core>,
    user_ca: SshCa,
    host_ca: SshCa,
    tls_ca: TlsCa,
    /// `auth_service.leaf_cert_ttl`, in seconds.
    leaf_cert_ttl_secs: std::sync::atomic::AtomicU64,
}

impl Authority {
    /// Loads the cluster's CAs from storage (generating them on first start) and publishes their
    /// public parts.
    pub async fn load(core: Arc<Core>, kek: &KekSource) -> Result<Self, AuthError> {
        let (user_ca, host_ca, tls_ca) = load_cas(&core, kek).await?;
        Ok(Authority {
            core,
            user_ca,
            host_ca,
            tls_ca,
            leaf_cert_ttl_secs: std::sync::atomic::AtomicU64::new(LEAF_CERT_TTL.as_secs()),
        })
    }

    /// Signs an SSH user certificate and a TLS client certificate for `req.public_key`, with the
    /// logins and permissions `checker` (the user's roles) grants.
    pub fn issue(&self, req: CertRequest<'_>, checker: &AccessChecker) -> Result<LoginResponse, AuthError> {
        let CertRequest { user, roles, traits, public_key, ttl, leaf } = req;
        let (key, ed25519) = parse_ed25519(public_key)?;
        let ttl = ttl.min(checker.max_session_ttl());
        let now = time::OffsetDateTime::now_utc();
        let mut logins = checker.logins();
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
        let ssh = self
            .user_ca
            .issue_user_cert(&key, &identity, serial)
            .map_err(internal("signing the user's SSH certificate"))?;
        let tls =
            self.tls_ca.issue_client_cert(&ed25519, &identity).map_err(internal("signing a TLS client certificate"))?;
        Ok(LoginResponse {
            ssh_cert: tether_shared::ssh_cert::cert_to_openssh(&ssh)
                .map_err(internal("encoding an SSH certificate"))?,
            tls_cert: tls.cert_pem,
            cluster_name: self.core.cluster.clone(),
            host_cas: vec![TrustedKey {
                cluster: self.core.cluster.clone(),
                public_key: self.host_ca.public_key_openssh().map_err(internal("encoding the host CA's public key"))?,
            }],
            tls_cas: vec![self.tls_ca.cert_pem()],
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
            ttl: Duration::from_secs(365 * 86400),
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

    /// The cluster's SSH user CA public key.
    pub fn user_ca_public(&self) -> &russh::keys::PublicKey {
        self.user_ca.public_key()
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
        self.sign_host_cert(key, &host)
    }

    /// The cluster's TLS CA.
    pub fn tls_ca(&self) -> &TlsCa {
        &self.tls_ca
    }

    /// Signs a host certificate for `key` (a node's or a proxy's).
    pub fn sign_host_cert(
        &self,
        key: &russh::keys::PublicKey,
        host: &HostIdentity,
    ) -> Result<russh::keys::Certificate, AuthError> {
        let serial = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        self.host_ca.issue_host_cert(key, host, serial).map_err(internal("signing a host certificate"))
    }

    /// Signs a TLS client certificate for the API.
    pub fn sign_tls_client(
        &self,
        key: &russh::keys::ssh_key::public::Ed25519PublicKey,
        identity: &Identity,
    ) -> Result<ClientCert, AuthError> {
        self.tls_ca.issue_client_cert(key, identity).map_err(internal("signing a TLS client certificate"))
    }

    /// The host CA's public key, OpenSSH format.
    pub fn host_ca_public(&self) -> Result<String, AuthError> {
        self.host_ca.public_key_openssh().map_err(internal("encoding the host CA's public key"))
    }
}

/// The storage key of the cluster's sealed CA keys (`sealed.rs`).
const SEALED_CAS: &str = "/secrets/ca/sealed";
/// Where the CA keys were stored in clear before sealing. Once sealed, each holds [`TOMBSTONE`]:
/// an auth host of an older version finds a value it cannot load and refuses to start, instead
/// of generating CAs of its own beside the sealed ones.
const CLEAR_CAS: [&str; 3] = ["/secrets/ca/user", "/secrets/ca/host", "/secrets/ca/tls"];
/// What the clear places hold once the keys are sealed.
const TOMBSTONE: &[u8] = b"sealed in /secrets/ca/sealed: this version of tether cannot read it; upgrade\n";

/// The cluster's CA private keys, as sealed together in one record.
#[derive(serde::Serialize, serde::Deserialize)]
struct CaSecrets {
    /// The SSH user CA, OpenSSH private key.
    user: String,
    /// The SSH host CA, OpenSSH private key.
    host: String,
    /// The TLS CA: certificate PEM then private key PEM.
    tls: String,
}

impl Drop for CaSecrets {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.user.zeroize();
        self.host.zeroize();
        self.tls.zeroize();
    }
}

/// Loads the cluster's CAs, sealed under the KEK from `kek`: opens the sealed record; or, on a
/// first start, generates the CAs (or takes the ones an older version stored in clear) and
/// stores them sealed in one record, in one step, then removes the clear ones. Publishes the
/// public parts as `cert_authority` resources.
pub(crate) async fn load_cas(core: &Core, kek: &KekSource) -> Result<(SshCa, SshCa, TlsCa), AuthError> {
    let (backend, cluster) = (&core.backend, core.cluster.as_str());
    let (secrets, how) = match load_or_seal(backend, cluster, kek).await {
        Ok(loaded) => loaded,
        Err(e) => {
            if let AuthError::Sealed(sealed) = &e {
                let details = serde_json::json!({"error": sealed.to_string()});
                core.audit.emit(Event::CaKeys, Outcome::Failure, "", details);
            }
            return Err(e);
        }
    };
    let split =
        secrets.tls.find("-----BEGIN PRIVATE KEY-----").ok_or_else(|| AuthError::fault("stored TLS CA is damaged"))?;
    let (tls_cert, tls_key) = secrets.tls.split_at(split);
    let tls_ca = TlsCa::from_pem(tls_cert, tls_key).map_err(internal("loading the stored TLS CA"))?;
    let user_ca = SshCa::from_openssh(&secrets.user).map_err(internal("loading a stored SSH CA"))?;
    let host_ca = SshCa::from_openssh(&secrets.host).map_err(internal("loading a stored SSH CA"))?;
    let generated = how.generated.as_ref().map(|p| p.display().to_string());
    let details = serde_json::json!({"action": how.action, "kek": how.origin, "kek_generated": generated});
    core.audit.emit(Event::CaKeys, Outcome::Success, "", details);
    for (ca_type, keys) in [
        (
            CaType::User,
            CaKeys {
                ssh: vec![user_ca.public_key_openssh().map_err(internal("encoding the user CA's public key"))?],
                tls: vec![],
            },
        ),
        (
            CaType::Host,
            CaKeys {
                ssh: vec![host_ca.public_key_openssh().map_err(internal("encoding the host CA's public key"))?],
                tls: vec![],
            },
        ),
        (CaType::Tls, CaKeys { ssh: vec![], tls: vec![tls_ca.cert_pem()] }),
    ] {
        let ca = CertAuthority::new(
            cluster,
            CertAuthoritySpec { ca_type, cluster_name: cluster.to_string(), active_keys: keys, ..Default::default() },
        );
        records::upsert(backend, &Resource::CertAuthority(ca)).await?;
    }
    Ok((user_ca, host_ca, tls_ca))
}

/// What the sealed record is bound to: its storage key and the cluster.
fn sealed_aad(cluster: &str) -> Vec<u8> {
    format!("{SEALED_CAS}\0{cluster}").into_bytes()
}

fn open_sealed(kek: &Kek, cluster: &str, value: &[u8]) -> Result<CaSecrets, AuthError> {
    let plain = kek.open(&sealed_aad(cluster), value).map_err(AuthError::Sealed)?;
    serde_json::from_slice(&plain).map_err(internal("reading the sealed CA keys"))
}

/// What [`load_or_seal`] did, for the audit.
struct Sealing {
    /// `opened`, `generated` or `migrated`.
    action: &'static str,
    /// Where the KEK came from.
    origin: String,
    /// The KEK file generated at this start.
    generated: Option<std::path::PathBuf>,
}

async fn load_or_seal(
    backend: &Arc<dyn Backend>,
    cluster: &str,
    kek: &KekSource,
) -> Result<(CaSecrets, Sealing), AuthError> {
    if let Some(item) = backend.get(SEALED_CAS).await? {
        let kek = kek.existing().map_err(AuthError::Sealed)?;
        let secrets = open_sealed(&kek, cluster, &item.value)?;
        settle_clear(backend, &secrets).await?;
        return Ok((secrets, Sealing { action: "opened", origin: kek.origin().to_string(), generated: None }));
    }
    let (kek, generated) = kek.existing_or_new().map_err(AuthError::Sealed)?;
    if let Some(path) = &generated {
        tracing::warn!(
            "generated the key-encryption key of this cluster's CA keys at {}: back it up, and give every auth \
             host the same one (TETHER_CA_KEK or auth_service.ca_key_params.key_file)",
            path.display()
        );
    }
    // Keys an older version stored in clear are kept (and sealed); missing ones are generated.
    let mut clear = Vec::new();
    for key in CLEAR_CAS {
        let value = match backend.get(key).await? {
            // Sealed before, and the sealed record is gone: never make new CAs over that.
            Some(item) if item.value == TOMBSTONE => {
                remove_generated(generated.as_deref());
                return Err(AuthError::fault(format!(
                    "{SEALED_CAS} is missing although this cluster's CA keys were sealed before ({key} says so): \
                     restore the database from a backup; refusing to make new CAs"
                )));
            }
            Some(item) => Some(String::from_utf8(item.value).map_err(internal("reading a stored CA key"))?),
            None => None,
        };
        clear.push(value);
    }
    let migrating = clear.iter().any(Option::is_some);
    let new_ssh_ca = || {
        SshCa::generate()
            .and_then(|ca| ca.to_openssh())
            .map(|p| p.to_string())
            .map_err(internal("generating an SSH CA"))
    };
    let mut clear = clear.into_iter();
    let mut next = || clear.next().flatten();
    let secrets = CaSecrets {
        user: next().map_or_else(new_ssh_ca, Ok)?,
        host: next().map_or_else(new_ssh_ca, Ok)?,
        tls: match next() {
            Some(pair) => pair,
            None => {
                let ca = TlsCa::generate(cluster).map_err(internal("generating the TLS CA"))?;
                format!("{}\n{}", ca.cert_pem(), ca.key_pem().as_str())
            }
        },
    };
    let plain = zeroize::Zeroizing::new(serde_json::to_vec(&secrets).map_err(internal("encoding the CA keys"))?);
    let sealed = kek.seal(&sealed_aad(cluster), &plain).map_err(AuthError::Sealed)?;
    let (secrets, action) = match backend.create(SEALED_CAS, sealed, None).await {
        Ok(_) => {
            if migrating {
                tracing::info!(
                    "sealed the CA keys stored in clear by an earlier version (key-encryption key: {})",
                    kek.origin()
                );
            }
            (secrets, if migrating { "migrated" } else { "generated" })
        }
        // Another auth host sealed them first: its keys, under (it must be) the same KEK. A KEK
        // generated here cannot be that one: it goes, so that nobody backs up a useless key.
        Err(StorageError::AlreadyExists(_)) => {
            let item =
                backend.get(SEALED_CAS).await?.ok_or_else(|| AuthError::fault(format!("{SEALED_CAS} vanished")))?;
            match open_sealed(&kek, cluster, &item.value) {
                Ok(secrets) => (secrets, "opened"),
                Err(e) => {
                    remove_generated(generated.as_deref());
                    return Err(e);
                }
            }
        }
        Err(e) => return Err(e.into()),
    };
    settle_clear(backend, &secrets).await?;
    Ok((secrets, Sealing { action, origin: kek.origin().to_string(), generated }))
}

/// Once the sealed record holds the keys, every clear place holds [`TOMBSTONE`] (a start that
/// stopped between the two steps finishes it). A clear key that is not one of the sealed ones
/// was made by an auth host of an older version beside them: the start stops, and says so.
async fn settle_clear(backend: &Arc<dyn Backend>, secrets: &CaSecrets) -> Result<(), AuthError> {
    for (key, sealed) in CLEAR_CAS.into_iter().zip([&secrets.user, &secrets.host, &secrets.tls]) {
        match backend.get(key).await? {
            Some(item) if item.value == TOMBSTONE => continue,
            Some(item) if item.value != sealed.as_bytes() => {
                return Err(AuthError::fault(format!(
                    "{key} holds a CA key in clear that is not this cluster's sealed one: an auth host of an older \
                     version made CAs of its own; stop it, upgrade every auth host, then delete {key} from storage"
                )));
            }
            _ => {
                backend.put(key, TOMBSTONE.to_vec(), None).await?;
            }
        }
    }
    Ok(())
}

/// Removes a KEK file this start generated and cannot use.
fn remove_generated(path: Option<&std::path::Path>) {
    if let Some(path) = path {
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_audit::Audit;
    use tether_storage::sqlite::SqliteBackend;

    #[tokio::test]
    async fn keys_stored_in_clear_by_an_older_version_are_sealed_on_the_first_start() {
        let dir = tempfile::tempdir().unwrap();
        let backend: Arc<dyn Backend> = SqliteBackend::open(dir.path().join("b.db")).await.unwrap();
        let user = SshCa::generate().unwrap();
        let host = SshCa::generate().unwrap();
        let tls = TlsCa::generate("old.example.com").unwrap();
        let pair = format!("{}\n{}", tls.cert_pem(), tls.key_pem().as_str());
        for (key, value) in [
            (CLEAR_CAS[0], user.to_openssh().unwrap().to_string()),
            (CLEAR_CAS[1], host.to_openssh().unwrap().to_string()),
            (CLEAR_CAS[2], pair),
        ] {
            backend.put(key, value.into_bytes(), None).await.unwrap();
        }
        let audit = Arc::new(Audit::open(&dir.path().join("log"), "old.example.com").unwrap());
        let core = Core::new(backend.clone(), "old.example.com", audit);
        let kek = KekSource::Fixed([9; 32]);
        let (u, h, t) = load_cas(&core, &kek).await.unwrap();
        assert_eq!(u.public_key(), user.public_key(), "the user CA was kept");
        assert_eq!(h.public_key(), host.public_key(), "the host CA was kept");
        assert_eq!(t.cert_pem(), tls.cert_pem(), "the TLS CA was kept");
        for key in CLEAR_CAS {
            let left = backend.get(key).await.unwrap().expect("a tombstone");
            assert_eq!(left.value, TOMBSTONE, "{key} is still in clear");
        }
        let sealed = backend.get(SEALED_CAS).await.unwrap().expect("the sealed record");
        assert!(crate::sealed::is_sealed(&sealed.value));
        // Loaded again: the same keys, from the sealed record; another KEK cannot open them.
        let (again, _, _) = load_cas(&core, &kek).await.unwrap();
        assert_eq!(again.public_key(), user.public_key());
        let wrong = load_cas(&core, &KekSource::Fixed([1; 32])).await;
        assert!(
            matches!(wrong, Err(AuthError::Sealed(crate::sealed::SealError::WrongKey { .. }))),
            "a wrong KEK opened the keys"
        );
        // An older auth host that made CAs of its own beside the sealed ones stops the start.
        backend
            .put(CLEAR_CAS[0], SshCa::generate().unwrap().to_openssh().unwrap().as_bytes().to_vec(), None)
            .await
            .unwrap();
        let beside = load_cas(&core, &kek).await.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            beside.contains("/secrets/ca/user holds a CA key in clear that is not this cluster's sealed one"),
            "{beside}"
        );
        // The sealed record deleted: no new CAs over the tombstones.
        backend.put(CLEAR_CAS[0], TOMBSTONE.to_vec(), None).await.unwrap();
        backend.delete(SEALED_CAS).await.unwrap();
        let gone = load_cas(&core, &kek).await.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            gone.contains("/secrets/ca/sealed is missing although this cluster's CA keys were sealed before"),
            "{gone}"
        );
    }
}
