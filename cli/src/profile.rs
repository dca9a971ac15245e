//! `tsh` profiles: one per proxy under `TSH_HOME` (default `~/.tsh`), plus which one is current.
//!
//! Layout: `TSH_HOME/current` holds the current proxy address; `TSH_HOME/profiles/PROXY.json`
//! the certificates and trusted CAs (no secret); the private key goes to the OS keyring when one
//! works, or to `TSH_HOME/keys/PROXY.key` (0600). `Keystore::Auto` probes the keyring with a
//! sentinel (set, read back, delete) because a keyring without a usable backend can accept
//! writes it never keeps; when the probe fails it falls back to the file and says so.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use tether_client::credentials::{Credentials, write_private};

const KEYRING_SERVICE: &str = "tether-tsh";

/// Where private keys are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Keystore {
    /// The keyring when it works, else a file.
    #[default]
    Auto,
    /// The OS keyring (kernel keyutils on Linux).
    Keyring,
    /// A 0600 file under `TSH_HOME/keys`.
    File,
}

impl std::str::FromStr for Keystore {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Keystore::Auto),
            "keyring" => Ok(Keystore::Keyring),
            "file" => Ok(Keystore::File),
            _ => Err(format!("unknown keystore {s:?} (use auto, keyring or file)")),
        }
    }
}

/// A stored profile: credentials without the private key, and where the key is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Profile {
    /// Credentials; `private_key` is empty on disk.
    pub credentials: Credentials,
    /// Where the key was stored (`keyring` or `file`).
    pub keystore: Keystore,
    /// Whether the proxy's HTTPS certificate is not verified (`--insecure` at login).
    #[serde(default)]
    pub insecure: bool,
    /// The leaf cluster `tsh login --cluster` selected (none: the root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected_cluster: Option<String>,
    /// Certificates the root bound to each leaf for this profile's key, by leaf name (certificates
    /// are public; the key is the profile's).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub leaf_certs: std::collections::BTreeMap<String, LeafCerts>,
}

/// A leaf cluster as the root listed it, and when. The rows the root last listed live in a file
/// of their own next to the profile (`profiles/PROXY.leaves.json`), so refreshing them never
/// rewrites credentials ([`save_leaf_clusters`], [`cached_leaf`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedCluster {
    /// The root's row for the leaf.
    pub info: tether_shared::api::ClusterInfo,
    /// When the root listed it (seconds since the Unix epoch).
    pub listed_at: u64,
}

/// How long a cached leaf row is used without asking the root again. A leaf's CAs that no
/// longer verify its hosts make `tsh` ask at once, whatever the age.
pub const LEAF_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

/// A root's certificates bound to one leaf ([`tether_shared::identity::Identity::route_to_cluster`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeafCerts {
    /// The SSH certificate, OpenSSH format.
    pub ssh_cert: String,
    /// The TLS client certificate, PEM.
    pub tls_cert: String,
}

/// Why a profile could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// No profile: the user is not logged in.
    #[error("not logged in: run tsh login --proxy=HOST --user=NAME")]
    NotLoggedIn,
    /// File or keyring trouble.
    #[error("{0}")]
    Store(String),
}

/// The profile directory.
pub fn home() -> PathBuf {
    if let Some(dir) = std::env::var_os("TSH_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    directories::BaseDirs::new().map_or_else(|| PathBuf::from(".tsh"), |d| d.home_dir().join(".tsh"))
}

fn file_name(proxy: &str) -> String {
    proxy.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect()
}

/// Where the TLS CAs of a proxy logged in to before are kept (`known_proxies/PROXY.json`): they
/// outlive `tsh logout`, as OpenSSH's known_hosts entries do, so the next login verifies the
/// proxy without `--insecure`.
fn known_path(home: &Path, proxy: &str) -> PathBuf {
    home.join("known_proxies").join(format!("{}.json", file_name(proxy)))
}

/// Remembers `cas` as the TLS CAs of `proxy` (after a login or a renewal).
pub fn remember_cas(home: &Path, proxy: &str, cas: &[String]) -> Result<(), ProfileError> {
    if cas.is_empty() {
        return Ok(());
    }
    let path = known_path(home, proxy);
    let json = serde_json::to_vec_pretty(cas).map_err(|e| ProfileError::Store(e.to_string()))?;
    write_private(&path, &json).map_err(|e| store_err("cannot write", &path, e))
}

/// The TLS CAs remembered for `proxy`, if any.
pub fn known_cas(home: &Path, proxy: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(known_path(home, proxy)).ok()?;
    serde_json::from_str::<Vec<String>>(&text).ok().filter(|cas| !cas.is_empty())
}

fn keyring_entry(home: &Path, proxy: &str) -> Result<keyring::Entry, keyring::Error> {
    // The home directory is part of the account, so two TSH_HOMEs never share a key.
    keyring::Entry::new(KEYRING_SERVICE, &format!("{}|{proxy}", home.display()))
}

/// True when the keyring keeps what is written to it.
pub fn keyring_works() -> bool {
    let Ok(entry) = keyring::Entry::new(KEYRING_SERVICE, "probe") else { return false };
    let ok = entry.set_password("probe").is_ok() && entry.get_password().is_ok_and(|v| v == "probe");
    let _ = entry.delete_credential();
    ok
}

fn store_err(what: &str, path: &Path, e: impl std::fmt::Display) -> ProfileError {
    ProfileError::Store(format!("{what} {}: {e}", path.display()))
}

/// Saves a profile and its key, makes it current, and returns where the key went.
pub fn save(home: &Path, creds: &Credentials, keystore: Keystore, insecure: bool) -> Result<Keystore, ProfileError> {
    let name = file_name(&creds.proxy);
    let used = match keystore {
        Keystore::File => Keystore::File,
        Keystore::Keyring => Keystore::Keyring,
        Keystore::Auto if keyring_works() => Keystore::Keyring,
        Keystore::Auto => Keystore::File,
    };
    match used {
        Keystore::Keyring => {
            keyring_entry(home, &creds.proxy).and_then(|e| e.set_password(&creds.private_key)).map_err(|e| {
                ProfileError::Store(format!("cannot store the key in the keyring: {e} (try --keystore=file)"))
            })?
        }
        _ => {
            let path = home.join("keys").join(format!("{name}.key"));
            write_private(&path, creds.private_key.as_bytes()).map_err(|e| store_err("cannot write", &path, e))?;
        }
    }
    let mut stored = creds.clone();
    stored.private_key.clear();
    // A new login is a new key: certificates bound to leaves for the old one are dropped.
    let profile = Profile {
        credentials: stored,
        keystore: used,
        insecure,
        selected_cluster: None,
        leaf_certs: Default::default(),
    };
    let json = serde_json::to_vec_pretty(&profile).map_err(|e| ProfileError::Store(e.to_string()))?;
    let path = home.join("profiles").join(format!("{name}.json"));
    let _lock = lock(home, &creds.proxy)?;
    write_private(&path, &json).map_err(|e| store_err("cannot write", &path, e))?;
    let current = home.join("current");
    write_private(&current, creds.proxy.as_bytes()).map_err(|e| store_err("cannot write", &current, e))?;
    remember_cas(home, &creds.proxy, &creds.tls_cas)?;
    Ok(used)
}

/// Holds the lock of `proxy`'s profile (`profiles/PROXY.lock`, an advisory `flock`) until
/// dropped: concurrent `tsh` processes change a profile one at a time, so none writes back a
/// copy older than another's change (a `tsh login` racing a certificate renewal).
fn lock(home: &Path, proxy: &str) -> Result<std::fs::File, ProfileError> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let dir = home.join("profiles");
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| store_err("cannot create", &dir, e))?;
    }
    let path = dir.join(format!("{}.lock", file_name(proxy)));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|e| store_err("cannot open", &path, e))?;
    file.lock().map_err(|e| store_err("cannot lock", &path, e))?;
    Ok(file)
}

/// Reads the stored profile of `proxy` (without its key), changes it with `change`, writes it
/// back, all under the profile's lock.
fn update(home: &Path, proxy: &str, change: impl FnOnce(&mut Profile)) -> Result<(), ProfileError> {
    let _lock = lock(home, proxy)?;
    let path = home.join("profiles").join(format!("{}.json", file_name(proxy)));
    let text = std::fs::read_to_string(&path).map_err(|e| store_err("cannot read", &path, e))?;
    let mut profile: Profile = serde_json::from_str(&text).map_err(|e| store_err("damaged profile", &path, e))?;
    change(&mut profile);
    let json = serde_json::to_vec_pretty(&profile).map_err(|e| ProfileError::Store(e.to_string()))?;
    write_private(&path, &json).map_err(|e| store_err("cannot write", &path, e))
}

/// Selects a leaf cluster (or the root, with `None`) in the profile of `proxy`.
pub fn select_cluster(home: &Path, proxy: &str, cluster: Option<String>) -> Result<(), ProfileError> {
    update(home, proxy, |profile| profile.selected_cluster = cluster)
}

/// Stores certificates bound to `leaf` in the profile of `proxy`, when that profile is still
/// the login they were issued for (root certificate `login_cert`): a `tsh login` that replaced
/// it meanwhile (another process) keeps its own, and these are dropped.
pub fn save_leaf_certs(
    home: &Path,
    proxy: &str,
    login_cert: &str,
    leaf: &str,
    certs: LeafCerts,
) -> Result<(), ProfileError> {
    update(home, proxy, |profile| {
        if profile.credentials.ssh_cert == login_cert {
            profile.leaf_certs.insert(leaf.to_string(), certs);
        }
    })
}

/// Replaces the certificates and CAs of `proxy`'s profile with `renewed` (the same key, after a
/// CA rotation), when that profile is still the login `login_cert` came from (its certificate
/// is for the same key and user: an earlier renewal of the same login counts); certificates
/// bound to leaves go with the old ones. Returns whether it was replaced.
pub fn save_renewed(home: &Path, login_cert: &str, renewed: &Credentials) -> Result<bool, ProfileError> {
    let subject = |cert: &str| {
        tether_shared::ssh_cert::cert_from_openssh(cert).ok().map(|c| (c.public_key().clone(), c.key_id().to_string()))
    };
    let login = subject(login_cert);
    let mut replaced = false;
    update(home, &renewed.proxy, |profile| {
        if login.is_some() && subject(&profile.credentials.ssh_cert) == login {
            let stored = &mut profile.credentials;
            stored.ssh_cert = renewed.ssh_cert.clone();
            stored.tls_cert = renewed.tls_cert.clone();
            stored.tls_cas = renewed.tls_cas.clone();
            stored.host_cas = renewed.host_cas.clone();
            profile.leaf_certs.clear();
            replaced = true;
        }
    })?;
    if replaced {
        remember_cas(home, &renewed.proxy, &renewed.tls_cas)?;
    }
    Ok(replaced)
}

fn leaves_path(home: &Path, proxy: &str) -> PathBuf {
    home.join("profiles").join(format!("{}.leaves.json", file_name(proxy)))
}

/// Replaces the cached leaf rows of `proxy`'s profile with the leaves in `listed` (the root's
/// whole answer: a leaf it no longer lists leaves the cache).
pub fn save_leaf_clusters(
    home: &Path,
    proxy: &str,
    listed: &[tether_shared::api::ClusterInfo],
) -> Result<(), ProfileError> {
    let listed_at = unix_now();
    let rows: std::collections::BTreeMap<String, CachedCluster> = listed
        .iter()
        .filter(|c| c.cluster_type == "leaf")
        .map(|c| (c.name.clone(), CachedCluster { info: c.clone(), listed_at }))
        .collect();
    // The same rows written less than half a lifetime ago: nothing to write (`tsh clusters`
    // and `tsh ls` list them on every call; a write is an fsync).
    let stored: Option<std::collections::BTreeMap<String, CachedCluster>> =
        std::fs::read_to_string(leaves_path(home, proxy)).ok().and_then(|t| serde_json::from_str(&t).ok());
    if let Some(stored) = stored
        && stored.len() == rows.len()
        && stored.iter().zip(&rows).all(|((name, old), (new_name, new))| {
            name == new_name
                && old.info == new.info
                && listed_at.checked_sub(old.listed_at).is_some_and(|age| age < LEAF_CACHE_TTL.as_secs() / 2)
        })
    {
        return Ok(());
    }
    let json = serde_json::to_vec_pretty(&rows).map_err(|e| ProfileError::Store(e.to_string()))?;
    let path = leaves_path(home, proxy);
    write_private(&path, &json).map_err(|e| store_err("cannot write", &path, e))
}

/// The cached row of leaf `name` in `proxy`'s profile when it was listed less than
/// [`LEAF_CACHE_TTL`] ago (a time in the future, after a clock step, counts as stale).
pub fn cached_leaf(home: &Path, proxy: &str, name: &str) -> Option<tether_shared::api::ClusterInfo> {
    let text = std::fs::read_to_string(leaves_path(home, proxy)).ok()?;
    let mut rows: std::collections::BTreeMap<String, CachedCluster> = serde_json::from_str(&text).ok()?;
    let cached = rows.remove(name)?;
    let age = unix_now().checked_sub(cached.listed_at)?;
    (age < LEAF_CACHE_TTL.as_secs()).then_some(cached.info)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Loads the current profile with its private key.
pub fn load_current(home: &Path) -> Result<Profile, ProfileError> {
    let current = home.join("current");
    let proxy = match std::fs::read_to_string(&current) {
        Ok(p) => p.trim().to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ProfileError::NotLoggedIn),
        Err(e) => return Err(store_err("cannot read", &current, e)),
    };
    load(home, &proxy)
}

/// Loads the profile of one proxy with its private key.
pub fn load(home: &Path, proxy: &str) -> Result<Profile, ProfileError> {
    let name = file_name(proxy);
    let path = home.join("profiles").join(format!("{name}.json"));
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ProfileError::NotLoggedIn),
        Err(e) => return Err(store_err("cannot read", &path, e)),
    };
    let mut profile: Profile = serde_json::from_str(&text).map_err(|e| store_err("damaged profile", &path, e))?;
    profile.credentials.private_key = match profile.keystore {
        Keystore::Keyring => keyring_entry(home, proxy).and_then(|e| e.get_password()).map_err(|e| {
            ProfileError::Store(format!("the private key is gone from the keyring ({e}); run tsh login again"))
        })?,
        _ => {
            let key = home.join("keys").join(format!("{name}.key"));
            std::fs::read_to_string(&key).map_err(|e| store_err("cannot read the private key", &key, e))?
        }
    };
    Ok(profile)
}

/// Removes every profile and key; returns the proxies logged out of.
pub fn remove_all(home: &Path) -> Result<Vec<String>, ProfileError> {
    let mut proxies = Vec::new();
    let dir = home.join("profiles");
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if let Ok(text) = std::fs::read_to_string(&path)
                && let Ok(profile) = serde_json::from_str::<Profile>(&text)
            {
                if profile.keystore == Keystore::Keyring
                    && let Ok(e) = keyring_entry(home, &profile.credentials.proxy)
                {
                    let _ = e.delete_credential();
                }
                proxies.push(profile.credentials.proxy);
            }
            std::fs::remove_file(&path).map_err(|e| store_err("cannot remove", &path, e))?;
        }
    }
    let keys = home.join("keys");
    if keys.exists() {
        std::fs::remove_dir_all(&keys).map_err(|e| store_err("cannot remove", &keys, e))?;
    }
    // The copies `tsh config` wrote for OpenSSH (keys and certificates); its known_hosts stays,
    // as OpenSSH's own does.
    if let Ok(entries) = std::fs::read_dir(home.join("openssh")) {
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_name() != "known_hosts" {
                std::fs::remove_file(&path).map_err(|e| store_err("cannot remove", &path, e))?;
            }
        }
    }
    let _ = std::fs::remove_file(home.join("current"));
    proxies.sort();
    Ok(proxies)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(proxy: &str) -> Credentials {
        Credentials {
            proxy: proxy.into(),
            ssh_proxy: String::new(),
            cluster: "root.example.com".into(),
            user: "alice".into(),
            private_key: "KEY".into(),
            ssh_cert: "CERT".into(),
            tls_cert: "TLS".into(),
            tls_cas: Vec::new(),
            host_cas: Vec::new(),
        }
    }

    #[test]
    fn concurrent_changes_to_one_profile_are_all_kept() {
        let home = tempfile::tempdir().unwrap();
        let proxy = "proxy.example.com:3080";
        save(home.path(), &creds(proxy), Keystore::File, false).unwrap();
        std::thread::scope(|scope| {
            for t in 0..8 {
                let home = home.path();
                scope.spawn(move || {
                    for i in 0..10 {
                        let certs = LeafCerts { ssh_cert: format!("ssh-{t}-{i}"), tls_cert: format!("tls-{t}-{i}") };
                        save_leaf_certs(home, proxy, "CERT", &format!("leaf-{t}-{i}"), certs).unwrap();
                        // Readers never see a damaged or half-written profile.
                        load(home, proxy).unwrap();
                    }
                });
            }
        });
        let profile = load(home.path(), proxy).unwrap();
        assert_eq!(profile.leaf_certs.len(), 80, "lost updates: {:?}", profile.leaf_certs.keys());
        assert_eq!(profile.credentials.private_key, "KEY");
    }

    #[test]
    fn leaf_certs_of_a_replaced_login_are_not_stored() {
        let home = tempfile::tempdir().unwrap();
        let proxy = "proxy.example.com:3080";
        save(home.path(), &creds(proxy), Keystore::File, false).unwrap();
        let certs = || LeafCerts { ssh_cert: "LEAF-SSH".into(), tls_cert: "LEAF-TLS".into() };
        save_leaf_certs(home.path(), proxy, "AN-OLDER-LOGIN", "leaf", certs()).unwrap();
        assert!(load(home.path(), proxy).unwrap().leaf_certs.is_empty(), "stored into another login");
        save_leaf_certs(home.path(), proxy, "CERT", "leaf", certs()).unwrap();
        assert_eq!(
            load(home.path(), proxy).unwrap().leaf_certs.get("leaf").map(|c| c.ssh_cert.as_str()),
            Some("LEAF-SSH")
        );
    }

    #[test]
    fn cached_leaf_rows_expire_and_distrust_the_future() {
        let home = tempfile::tempdir().unwrap();
        let proxy = "proxy.example.com:3080";
        let row = |name: &str, kind: &str| tether_shared::api::ClusterInfo {
            name: name.into(),
            status: "online".into(),
            cluster_type: kind.into(),
            host_cas: vec!["ssh-ed25519 AAAA".into()],
            tls_cas: Vec::new(),
            last_heartbeat: None,
        };
        save_leaf_clusters(home.path(), proxy, &[row("root.example.com", "root"), row("leaf.example.com", "leaf")])
            .unwrap();
        assert_eq!(
            cached_leaf(home.path(), proxy, "leaf.example.com").map(|c| c.name).as_deref(),
            Some("leaf.example.com")
        );
        assert!(cached_leaf(home.path(), proxy, "root.example.com").is_none(), "only leaves are cached");
        let path = leaves_path(home.path(), proxy);
        let read = || -> std::collections::BTreeMap<String, CachedCluster> {
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
        };
        // The same rows, listed again soon after: not written again; half a lifetime later: written.
        let listed = [row("root.example.com", "root"), row("leaf.example.com", "leaf")];
        for (age, rewritten) in [(10, false), (LEAF_CACHE_TTL.as_secs() / 2 + 1, true)] {
            let mut rows = read();
            let before = unix_now() - age;
            rows.get_mut("leaf.example.com").unwrap().listed_at = before;
            std::fs::write(&path, serde_json::to_vec(&rows).unwrap()).unwrap();
            save_leaf_clusters(home.path(), proxy, &listed).unwrap();
            let after = read()["leaf.example.com"].listed_at;
            if rewritten {
                assert!(after > before, "rows {age} s old were not written again");
            } else {
                assert_eq!(after, before, "rows {age} s old were written again");
            }
        }
        let mut rows = read();
        for (listed_at, fresh) in [(unix_now() - LEAF_CACHE_TTL.as_secs() - 1, false), (unix_now() + 600, false)] {
            rows.get_mut("leaf.example.com").unwrap().listed_at = listed_at;
            std::fs::write(&path, serde_json::to_vec(&rows).unwrap()).unwrap();
            assert_eq!(cached_leaf(home.path(), proxy, "leaf.example.com").is_some(), fresh, "listed at {listed_at}");
        }
    }
}
