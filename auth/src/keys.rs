//! The cluster's CA private keys as they are stored: one record, [`SEALED_CAS`], sealed under the
//! key-encryption key (`sealed.rs`), holding for each CA (user, host, TLS) its key, the next key
//! while a rotation runs, and the rotation's state. The record is the one truth about the CAs:
//! a phase change is one compare-and-swap of it, which every auth host sees through its watch
//! and loads ([`Keyring`]); the public `cert_authority` resources are derived from it
//! ([`Keyring::public`]).
//!
//! Loading on start-up is here too: opening the record, generating the CAs on a first start,
//! taking keys an older version stored in clear (then leaving tombstones in their places), and
//! reading the record's first format (one key per CA, no rotation).

use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use tether_shared::resource::{CaKeys, CaType, CertAuthority, CertAuthoritySpec, Rotation, RotationPhase};
use tether_shared::ssh_cert::SshCa;
use tether_shared::tls_cert::TlsCa;
use tether_storage::{Backend, StorageError};

use super::pkcs11::{Hsm, KeyKind, KeyRef, PREFIX};
use super::sealed::{Kek, KekSource};
use super::{AuthError, internal};

/// The storage key of the cluster's sealed CA keys.
pub const SEALED_CAS: &str = "/secrets/ca/sealed";
/// Where the CA keys were stored in clear before sealing. Once sealed, each holds [`TOMBSTONE`]:
/// an auth host of an older version finds a value it cannot load and refuses to start, instead
/// of generating CAs of its own beside the sealed ones.
pub(crate) const CLEAR_CAS: [&str; 3] = ["/secrets/ca/user", "/secrets/ca/host", "/secrets/ca/tls"];
/// What the clear places hold once the keys are sealed.
pub(crate) const TOMBSTONE: &[u8] = b"sealed in /secrets/ca/sealed: this version of tether cannot read it; upgrade\n";
/// The record's format.
const FORMAT: u32 = 2;

/// One CA's keys as stored: its key, the next one during a rotation, and the rotation.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StoredCa {
    /// The key (SSH: an OpenSSH private key; TLS: the certificate PEM, then the key PEM).
    pub key: String,
    /// The key a rotation moves to, from `init` until `standby`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Where the rotation is.
    #[serde(default)]
    pub rotation: Rotation,
    /// For the host CA: each key's endorsement by the key before it, newest first, at most
    /// [`tether_shared::endorse::MAX_LINKS`] (`endorse.rs` in the shared crate).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endorsements: Vec<String>,
}

impl Drop for StoredCa {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.key.zeroize();
        if let Some(next) = &mut self.next {
            next.zeroize();
        }
    }
}

/// The whole record, opened.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StoredCas {
    /// [`FORMAT`].
    pub format: u32,
    /// When the CAs last changed: milliseconds since the Unix epoch, and always more than
    /// before ([`StoredCas::bump`]), so that the other side of a trust can tell an older state
    /// from a newer one, also after a restore from a backup followed by one rotation.
    #[serde(default)]
    pub generation: u64,
    /// The SSH user CA.
    pub user: StoredCa,
    /// The SSH host CA.
    pub host: StoredCa,
    /// The TLS CA.
    pub tls: StoredCa,
}

/// The record's first format: one key per CA.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FirstFormat {
    user: String,
    host: String,
    tls: String,
}

impl StoredCas {
    fn new(user: String, host: String, tls: String) -> Self {
        let ca = |key| StoredCa { key, next: None, rotation: Rotation::default(), endorsements: Vec::new() };
        let mut cas = StoredCas { format: FORMAT, generation: 0, user: ca(user), host: ca(host), tls: ca(tls) };
        cas.bump();
        cas
    }

    /// A new generation: now, or one more than before when the clock is behind it.
    pub fn bump(&mut self) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        self.generation = now.max(self.generation.saturating_add(1));
    }

    /// One CA of the record.
    pub fn ca_mut(&mut self, ca_type: CaType) -> &mut StoredCa {
        match ca_type {
            CaType::User => &mut self.user,
            CaType::Host => &mut self.host,
            CaType::Tls => &mut self.tls,
        }
    }

    /// Seals the record for `cluster`.
    pub fn seal(&self, kek: &Kek, cluster: &str) -> Result<Vec<u8>, AuthError> {
        let plain = zeroize::Zeroizing::new(serde_json::to_vec(self).map_err(internal("encoding the CA keys"))?);
        Ok(kek.seal(&sealed_aad(cluster), &plain)?)
    }

    /// Opens a sealed record of `cluster` (either format).
    pub fn open(kek: &Kek, cluster: &str, value: &[u8]) -> Result<Self, AuthError> {
        let plain = kek.open(&sealed_aad(cluster), value)?;
        if let Ok(first) = serde_json::from_slice::<FirstFormat>(&plain) {
            return Ok(StoredCas::new(first.user.clone(), first.host.clone(), first.tls.clone()));
        }
        let cas: StoredCas = serde_json::from_slice(&plain).map_err(internal("reading the sealed CA keys"))?;
        if cas.format != FORMAT {
            return Err(AuthError::fault(format!(
                "the sealed CA keys are in format {}, which this version of tether cannot read; upgrade",
                cas.format
            )));
        }
        Ok(cas)
    }
}

/// Makes, loads and uses the keys of one cluster's record: in memory (sealed at rest with the
/// record), or in the HSM when one is configured (the record then holds a [`KeyRef`]). Keys
/// stored before an HSM was configured stay where they are until the next rotation.
#[derive(Clone, Copy)]
pub struct KeyMaker<'a> {
    /// The cluster.
    pub cluster: &'a str,
    /// The HSM new keys go to, if any.
    pub hsm: Option<&'a Arc<Hsm>>,
}

impl KeyMaker<'_> {
    fn hsm_for(&self, key: &KeyRef) -> Result<&Arc<Hsm>, AuthError> {
        self.hsm.ok_or_else(|| {
            AuthError::fault(format!(
                "the CA key {:?} is in an HSM, and no auth_service.ca_key_params.pkcs11 is configured",
                key.label
            ))
        })
    }

    /// A new key for a CA of `ca_type`, as the record stores it.
    pub fn new_key(&self, ca_type: CaType) -> Result<String, AuthError> {
        let Some(hsm) = self.hsm else {
            return match ca_type {
                CaType::Tls => new_tls_key(self.cluster),
                _ => new_ssh_key(),
            };
        };
        let label = format!("tether.{}.{ca_type}.{}", self.cluster, tether_shared::names::random_hex());
        let kind = if ca_type == CaType::Tls { KeyKind::P256 } else { KeyKind::Ed25519 };
        let key = hsm.generate(&label, kind).map_err(internal("generating a CA key in the HSM"))?;
        let reference = key.reference().to_text();
        Ok(match ca_type {
            CaType::Tls => {
                let ca = TlsCa::generate_remote(self.cluster, Arc::new(key))
                    .map_err(internal("making the TLS CA's certificate in the HSM"))?;
                format!("{}\n{reference}", ca.cert_pem())
            }
            _ => reference,
        })
    }

    /// The SSH CA a stored key stands for.
    pub fn ssh(&self, text: &str) -> Result<SshCa, AuthError> {
        match KeyRef::parse(text) {
            Some(key) => {
                let found = self.hsm_for(&key)?.find(&key).map_err(internal("finding a CA key in the HSM"))?;
                SshCa::from_remote(Arc::new(found)).map_err(internal("loading a CA key from the HSM"))
            }
            None => SshCa::from_openssh(text).map_err(internal("loading a stored SSH CA")),
        }
    }

    /// The TLS CA a stored pair (certificate, then key or reference) stands for.
    pub fn tls(&self, pair: &str) -> Result<TlsCa, AuthError> {
        if let Some(at) = pair.find(PREFIX) {
            let (cert, reference) = pair.split_at(at);
            let key = KeyRef::parse(reference).ok_or_else(|| AuthError::fault("stored TLS CA reference is damaged"))?;
            let found = self.hsm_for(&key)?.find(&key).map_err(internal("finding a CA key in the HSM"))?;
            return TlsCa::from_remote(cert, Arc::new(found)).map_err(internal("loading the stored TLS CA"));
        }
        let split =
            pair.find("-----BEGIN PRIVATE KEY-----").ok_or_else(|| AuthError::fault("stored TLS CA is damaged"))?;
        let (cert, key) = pair.split_at(split);
        TlsCa::from_pem(cert, key).map_err(internal("loading the stored TLS CA"))
    }

    /// `old`'s endorsement of `new` (both stored SSH keys).
    pub fn endorse(&self, old: &str, new: &str) -> Result<String, AuthError> {
        use tether_shared::endorse::{link, message};
        let (Some(old_raw), Some(new_raw)) = (public_of(old), public_of(new)) else {
            return Err(AuthError::fault("a host CA key is not Ed25519"));
        };
        let not_after = (std::time::SystemTime::now() + tether_shared::endorse::ENDORSEMENT_TTL)
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let signature = self
            .ssh(old)?
            .sign_raw(&message(self.cluster, not_after, &new_raw))
            .map_err(internal("endorsing the new key"))?;
        Ok(link(&new_raw, &old_raw, not_after, &signature))
    }
}

/// The Ed25519 public key of a stored SSH key (held here or in the HSM), without the HSM.
pub fn public_of(text: &str) -> Option<[u8; 32]> {
    match KeyRef::parse(text) {
        Some(key) => <[u8; 32]>::try_from(key.public.as_slice()).ok(),
        None => SshCa::from_openssh(text).ok()?.public_key().key_data().ed25519().map(|k| k.0),
    }
}

/// What the sealed record is bound to: its storage key and the cluster.
fn sealed_aad(cluster: &str) -> Vec<u8> {
    format!("{SEALED_CAS}\0{cluster}").into_bytes()
}

/// One CA, loaded: the key it had before the rotation, the next one, and the phase, which
/// decide who signs what.
pub struct Versions<K> {
    /// The key before the rotation (the only one in `standby`).
    pub current: K,
    /// The new key, from `init` until `standby`.
    pub next: Option<K>,
    /// The rotation.
    pub rotation: Rotation,
}

impl<K> Versions<K> {
    /// The key that signs clients' certificates (users', and the API identities of nodes and
    /// agents): the new one from `update_clients` on.
    pub fn client(&self) -> &K {
        match (self.rotation.phase, &self.next) {
            (RotationPhase::UpdateClients | RotationPhase::UpdateServers, Some(next)) => next,
            _ => &self.current,
        }
    }

    /// The key that signs what servers present (host certificates, HTTPS): the new one in
    /// `update_servers`.
    pub fn server(&self) -> &K {
        match (self.rotation.phase, &self.next) {
            (RotationPhase::UpdateServers, Some(next)) => next,
            _ => &self.current,
        }
    }

    /// Every trusted key, the client signer first.
    pub fn trusted(&self) -> Vec<&K> {
        let first = self.client();
        let mut all = vec![first];
        for k in std::iter::once(&self.current).chain(self.next.as_ref()) {
            if !std::ptr::eq(k, first) {
                all.push(k);
            }
        }
        all
    }

    /// The key that is trusted but does not sign clients (the new one in `init` and
    /// `rollback`, the old one in `update_clients` and `update_servers`).
    fn other(&self) -> Option<&K> {
        self.trusted().get(1).copied()
    }
}

/// Every CA of the cluster, loaded from one revision of the record.
pub struct Keyring {
    /// The SSH user CA.
    pub user: Versions<SshCa>,
    /// The SSH host CA.
    pub host: Versions<SshCa>,
    /// The TLS CA.
    pub tls: Versions<TlsCa>,
    /// In `update_servers`, the new TLS CA's certificate signed by the old key, sent after the
    /// HTTPS certificate, so that a client which knows only the old CA still verifies it.
    pub tls_cross: Option<CertificateDer<'static>>,
    /// The host CA's endorsements, for the extension of proxies' host certificates.
    pub host_endorsements: Vec<String>,
    /// The record's storage revision.
    pub revision: u64,
    /// When the CAs last changed ([`StoredCas::generation`]).
    pub generation: u64,
}

impl Keyring {
    /// Loads every key of `cas`.
    pub(crate) fn load(cas: &StoredCas, revision: u64, keys: KeyMaker<'_>) -> Result<Self, AuthError> {
        let ssh = |text: &str| keys.ssh(text);
        let tls = |pair: &str| keys.tls(pair);
        let ssh_versions = |ca: &StoredCa| -> Result<Versions<SshCa>, AuthError> {
            Ok(Versions {
                current: ssh(&ca.key)?,
                next: ca.next.as_deref().map(ssh).transpose()?,
                rotation: ca.rotation.clone(),
            })
        };
        let tls_versions = Versions {
            current: tls(&cas.tls.key)?,
            next: cas.tls.next.as_deref().map(tls).transpose()?,
            rotation: cas.tls.rotation.clone(),
        };
        let tls_cross = match (&tls_versions.next, tls_versions.rotation.phase) {
            (Some(next), RotationPhase::UpdateServers) => {
                Some(tls_versions.current.cross_sign(next).map_err(internal("cross-signing the new TLS CA"))?)
            }
            _ => None,
        };
        Ok(Keyring {
            user: ssh_versions(&cas.user)?,
            host: ssh_versions(&cas.host)?,
            tls: tls_versions,
            tls_cross,
            // The new key's own endorsement shows only once it signs servers: a rollback before
            // that leaves it endorsed nowhere.
            generation: cas.generation,
            host_endorsements: match cas.host.rotation.phase {
                RotationPhase::UpdateServers | RotationPhase::Standby => cas.host.endorsements.clone(),
                _ => {
                    let next = cas.host.next.as_deref().and_then(public_of);
                    cas.host
                        .endorsements
                        .iter()
                        .filter(|l| next.is_none() || tether_shared::endorse::endorsed(l) != next)
                        .cloned()
                        .collect()
                }
            },
            revision,
        })
    }

    /// The public `cert_authority` resources of `cluster` this keyring stands for.
    pub fn public(&self, cluster: &str) -> Result<Vec<CertAuthority>, AuthError> {
        let ssh_keys = |keys: &[&SshCa]| -> Result<CaKeys, AuthError> {
            let ssh = keys
                .iter()
                .map(|k| k.public_key_openssh())
                .collect::<Result<Vec<_>, _>>()
                .map_err(internal("encoding a CA's public key"))?;
            Ok(CaKeys { ssh, tls: vec![] })
        };
        let tls_keys = |keys: &[&TlsCa]| CaKeys { ssh: vec![], tls: keys.iter().map(|k| k.cert_pem()).collect() };
        let ca = |ca_type, active, additional, rotation: &Rotation| {
            CertAuthority::new(
                cluster,
                CertAuthoritySpec {
                    ca_type,
                    cluster_name: cluster.to_string(),
                    active_keys: active,
                    additional_trusted_keys: additional,
                    rotation: (*rotation != Rotation::default()).then(|| rotation.clone()),
                    generation: self.generation,
                    ..Default::default()
                },
            )
        };
        Ok(vec![
            ca(
                CaType::User,
                ssh_keys(&[self.user.client()])?,
                ssh_keys(&self.user.other().into_iter().collect::<Vec<_>>())?,
                &self.user.rotation,
            ),
            ca(
                CaType::Host,
                ssh_keys(&[self.host.client()])?,
                ssh_keys(&self.host.other().into_iter().collect::<Vec<_>>())?,
                &self.host.rotation,
            ),
            ca(
                CaType::Tls,
                tls_keys(&[self.tls.client()]),
                tls_keys(&self.tls.other().into_iter().collect::<Vec<_>>()),
                &self.tls.rotation,
            ),
        ])
    }
}

/// What [`load_or_seal`] did, for the audit.
pub(crate) struct Sealing {
    /// `opened`, `generated` or `migrated`.
    pub action: &'static str,
    /// Where the KEK came from.
    pub origin: String,
    /// The KEK file generated at this start.
    pub generated: Option<std::path::PathBuf>,
}

/// Opens the sealed record; or, on a first start, generates the CAs (or takes the ones an older
/// version stored in clear) and stores them sealed in one record, in one step, then leaves
/// tombstones in the clear places. Returns the record, its revision, the KEK and what was done.
pub(crate) async fn load_or_seal(
    backend: &Arc<dyn Backend>,
    keys: KeyMaker<'_>,
    source: &KekSource,
) -> Result<(StoredCas, u64, Kek, Sealing), AuthError> {
    let cluster = keys.cluster;
    if let Some(item) = backend.get(SEALED_CAS).await? {
        let kek = source.existing()?;
        let cas = StoredCas::open(&kek, cluster, &item.value)?;
        settle_clear(backend, &cas).await?;
        let how = Sealing { action: "opened", origin: kek.origin().to_string(), generated: None };
        return Ok((cas, item.revision, kek, how));
    }
    let (kek, generated) = source.existing_or_new()?;
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
    let mut clear = clear.into_iter();
    let mut next = || clear.next().flatten();
    let user = next().map_or_else(|| keys.new_key(CaType::User), Ok)?;
    let host = next().map_or_else(|| keys.new_key(CaType::Host), Ok)?;
    let tls = next().map_or_else(|| keys.new_key(CaType::Tls), Ok)?;
    let cas = StoredCas::new(user, host, tls);
    let sealed = cas.seal(&kek, cluster)?;
    let (cas, revision, action) = match backend.create(SEALED_CAS, sealed, None).await {
        Ok(revision) => {
            if migrating {
                tracing::info!(
                    "sealed the CA keys stored in clear by an earlier version (key-encryption key: {})",
                    kek.origin()
                );
            }
            (cas, revision, if migrating { "migrated" } else { "generated" })
        }
        // Another auth host sealed them first: its keys, under (it must be) the same KEK. A KEK
        // generated here cannot be that one: it goes, so that nobody backs up a useless key.
        Err(StorageError::AlreadyExists(_)) => {
            let item =
                backend.get(SEALED_CAS).await?.ok_or_else(|| AuthError::fault(format!("{SEALED_CAS} vanished")))?;
            match StoredCas::open(&kek, cluster, &item.value) {
                Ok(cas) => (cas, item.revision, "opened"),
                Err(e) => {
                    remove_generated(generated.as_deref());
                    return Err(e);
                }
            }
        }
        Err(e) => return Err(e.into()),
    };
    settle_clear(backend, &cas).await?;
    let how = Sealing { action, origin: kek.origin().to_string(), generated };
    Ok((cas, revision, kek, how))
}

/// A new SSH CA key, OpenSSH private key text.
fn new_ssh_key() -> Result<String, AuthError> {
    SshCa::generate().and_then(|ca| ca.to_openssh()).map(|p| p.to_string()).map_err(internal("generating an SSH CA"))
}

/// A new TLS CA for `cluster`: certificate PEM, then key PEM.
fn new_tls_key(cluster: &str) -> Result<String, AuthError> {
    let ca = TlsCa::generate(cluster).map_err(internal("generating the TLS CA"))?;
    Ok(format!("{}\n{}", ca.cert_pem(), ca.key_pem().as_str()))
}

/// Once the sealed record holds the keys, every clear place holds [`TOMBSTONE`] (a start that
/// stopped between the two steps finishes it). A clear key that is not one of the sealed ones
/// was made by an auth host of an older version beside them: the start stops, and says so.
async fn settle_clear(backend: &Arc<dyn Backend>, cas: &StoredCas) -> Result<(), AuthError> {
    for (key, sealed) in CLEAR_CAS.into_iter().zip([&cas.user, &cas.host, &cas.tls]) {
        match backend.get(key).await? {
            Some(item) if item.value == TOMBSTONE => continue,
            Some(item) if item.value != sealed.key.as_bytes() => {
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
    use tether_storage::sqlite::SqliteBackend;

    async fn load(backend: &Arc<dyn Backend>, kek: &KekSource) -> Result<Keyring, AuthError> {
        let keys = KeyMaker { cluster: "old.example.com", hsm: None };
        let (cas, revision, _, _) = load_or_seal(backend, keys, kek).await?;
        Keyring::load(&cas, revision, keys)
    }

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
        let kek = KekSource::Fixed([9; 32]);
        let ring = load(&backend, &kek).await.unwrap();
        assert_eq!(ring.user.current.public_key(), user.public_key(), "the user CA was kept");
        assert_eq!(ring.host.current.public_key(), host.public_key(), "the host CA was kept");
        assert_eq!(ring.tls.current.cert_pem(), tls.cert_pem(), "the TLS CA was kept");
        for key in CLEAR_CAS {
            let left = backend.get(key).await.unwrap().expect("a tombstone");
            assert_eq!(left.value, TOMBSTONE, "{key} is still in clear");
        }
        let sealed = backend.get(SEALED_CAS).await.unwrap().expect("the sealed record");
        assert!(crate::sealed::is_sealed(&sealed.value));
        // Loaded again: the same keys, from the sealed record; another KEK cannot open them.
        let again = load(&backend, &kek).await.unwrap();
        assert_eq!(again.user.current.public_key(), user.public_key());
        let wrong = load(&backend, &KekSource::Fixed([1; 32])).await;
        assert!(
            matches!(wrong, Err(AuthError::Sealed(crate::sealed::SealError::WrongKey { .. }))),
            "a wrong KEK opened the keys"
        );
        // An older auth host that made CAs of its own beside the sealed ones stops the start.
        backend
            .put(CLEAR_CAS[0], SshCa::generate().unwrap().to_openssh().unwrap().as_bytes().to_vec(), None)
            .await
            .unwrap();
        let beside = load(&backend, &kek).await.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            beside.contains("/secrets/ca/user holds a CA key in clear that is not this cluster's sealed one"),
            "{beside}"
        );
        // The sealed record deleted: no new CAs over the tombstones.
        backend.put(CLEAR_CAS[0], TOMBSTONE.to_vec(), None).await.unwrap();
        backend.delete(SEALED_CAS).await.unwrap();
        let gone = load(&backend, &kek).await.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            gone.contains("/secrets/ca/sealed is missing although this cluster's CA keys were sealed before"),
            "{gone}"
        );
    }
}
