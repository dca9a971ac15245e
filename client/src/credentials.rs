//! Key material a client holds after login: the private key, the SSH and TLS certificates, and
//! the cluster CAs it trusts. One JSON document, written 0600.
//!
//! The same shape serves as the admin identity the auth service writes for local `tctl`
//! (`DATA_DIR/admin-identity.json`), as identity files (`tctl auth sign --out`, `tsh -i`,
//! `tctl -i`), and as the stored part of a `tsh` profile.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::client::{ApiClient, ClientError, ClientIdentity, ServerTrust};
use tether_shared::api::TrustedKey;

/// Everything needed to act as one identity against one cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// The proxy's web address, `host:port`.
    pub proxy: String,
    /// The proxy's SSH address, `host:port` (empty: ask `/webapi/ping`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ssh_proxy: String,
    /// The cluster the certificates belong to.
    pub cluster: String,
    /// The user.
    pub user: String,
    /// The Ed25519 private key, OpenSSH PEM.
    pub private_key: String,
    /// The SSH user certificate, OpenSSH format.
    pub ssh_cert: String,
    /// The TLS client certificate, PEM.
    pub tls_cert: String,
    /// Trusted TLS CAs, PEM.
    pub tls_cas: Vec<String>,
    /// Trusted SSH host CAs.
    pub host_cas: Vec<TrustedKey>,
}

/// Why credentials could not be read, written or used.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// Reading or writing the file failed.
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        cause: String,
    },
    /// The file is not a credentials document.
    #[error("{path}: not a Tether identity file: {cause}")]
    Format {
        /// The file.
        path: String,
        /// Why.
        cause: String,
    },
    /// The key or certificate inside is unusable.
    #[error("{0}")]
    Key(String),
    /// Building the client failed.
    #[error(transparent)]
    Client(#[from] ClientError),
}

impl Credentials {
    /// Reads credentials from a file.
    pub fn load(path: &Path) -> Result<Self, CredentialsError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CredentialsError::Io { path: path.display().to_string(), cause: e.to_string() })?;
        serde_json::from_str(&text)
            .map_err(|e| CredentialsError::Format { path: path.display().to_string(), cause: e.to_string() })
    }

    /// Writes credentials to a file readable only by its owner (0600), atomically.
    pub fn save(&self, path: &Path) -> Result<(), CredentialsError> {
        let io = |e: std::io::Error| CredentialsError::Io { path: path.display().to_string(), cause: e.to_string() };
        let json = serde_json::to_string_pretty(self)
            .map_err(|e| CredentialsError::Format { path: path.display().to_string(), cause: e.to_string() })?;
        write_private(path, json.as_bytes()).map_err(io)
    }

    /// The mTLS identity for the API client.
    pub fn client_identity(&self) -> Result<ClientIdentity, CredentialsError> {
        let key = russh::keys::ssh_key::PrivateKey::from_openssh(&self.private_key)
            .map_err(|e| CredentialsError::Key(format!("cannot read the private key: {e}")))?;
        let pkcs8 =
            tether_shared::tls_cert::ssh_key_to_pkcs8(&key).map_err(|e| CredentialsError::Key(e.to_string()))?;
        Ok(ClientIdentity { cert_pem: self.tls_cert.clone(), key_pkcs8: pkcs8.secret_pkcs8_der().to_vec() })
    }

    /// An API client that trusts the cluster's TLS CAs and presents these credentials.
    pub fn api_client(&self, insecure: bool) -> Result<ApiClient, CredentialsError> {
        let trust = if insecure { ServerTrust::Insecure } else { ServerTrust::Cas(self.tls_cas.clone()) };
        Ok(ApiClient::new(&self.proxy, &trust, Some(&self.client_identity()?))?)
    }
}

/// Writes `data` to `path` with mode 0600 (created that way, never widened), via a temporary
/// file and a rename so a crash never leaves half a key.
pub fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        // Directories made for keys are private too.
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    }
    // A name of its own per writer: two processes writing the same file never share a temporary.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        file.write_all(data)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}
