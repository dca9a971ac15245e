//! Why a trust decision said no: the typed refusals of the checks in `trust.rs` (a leaf's tunnel
//! login at the root, a trusted cluster's user at a leaf's API or proxy).
//!
//! Each variant's message is the one line an operator or user sees, naming the cluster and what
//! to do. [`RemoteRefusal`] adds whether the certificate chain had verified, since only verified
//! refusals are audited (strangers cannot fill the audit log).

use tether_shared::identity::CertError;
use tether_shared::rolemap::RoleMapError;

use tether_storage::StorageError;

use super::AuthError;

/// A trust check refused a certificate.
#[derive(Debug, thiserror::Error)]
pub enum TrustRefusal {
    /// A tunnel login names a cluster that is not (or no longer) a remote cluster of this root.
    #[error(
        "{0:?} is not a remote cluster of this root (removed with tctl rm rc?); create the trust again from the leaf"
    )]
    NotRemoteCluster(String),
    /// No trust in the certificate's cluster, or it is disabled.
    #[error("cluster {0:?} is not trusted here, or the trust is disabled")]
    NotTrusted(String),
    /// The trust exists, but its CAs are deactivated.
    #[error("the trust in cluster {0:?} is disabled")]
    Disabled(String),
    /// No host CA of the leaf is stored, so no tunnel login can verify.
    #[error("no host CA of cluster {0:?} is stored here")]
    NoHostCa(String),
    /// A host certificate from the right CA, naming another cluster.
    #[error("the certificate is for cluster {got:?}, not {want:?}")]
    WrongCluster {
        /// The cluster the certificate names.
        got: String,
        /// The cluster the login claims.
        want: String,
    },
    /// A host certificate of the leaf that is not one of its proxies (a node's, say).
    #[error("host {host:?} is not a proxy of cluster {cluster:?}")]
    NotAProxy {
        /// The certificate's host ID.
        host: String,
        /// The leaf cluster.
        cluster: String,
    },
    /// The root did not bind the certificate to this cluster (`route_to_cluster`).
    #[error("{0}")]
    NotBound(String),
    /// The certificate does not verify (signature, validity, type, a CA that is not trusted).
    #[error(transparent)]
    Certificate(#[from] CertError),
    /// A stored CA certificate could not be read.
    #[error("the stored TLS CA of cluster {cluster:?} is unreadable: {cause}")]
    StoredCa {
        /// The trusted cluster.
        cluster: String,
        /// What the PEM parser said.
        cause: String,
    },
    /// The trust's role map is invalid or maps the user to nothing.
    #[error(transparent)]
    RoleMap(#[from] RoleMapError),
    /// Storage failed while checking.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Another auth failure while checking.
    #[error(transparent)]
    Auth(#[from] AuthError),
}

/// A trusted cluster's user refused at this cluster's API, and whether the chain had verified
/// (then the refusal is a role-mapping decision and is audited).
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct RemoteRefusal {
    /// Whether the certificate chain verified against the trusted cluster's active CA.
    pub chain_verified: bool,
    /// Why it was refused.
    pub reason: TrustRefusal,
}

impl RemoteRefusal {
    /// A refusal before the chain verified.
    pub fn unverified(reason: impl Into<TrustRefusal>) -> Self {
        Self { chain_verified: false, reason: reason.into() }
    }

    /// A refusal after the chain verified.
    pub fn verified(reason: impl Into<TrustRefusal>) -> Self {
        Self { chain_verified: true, reason: reason.into() }
    }
}

/// Why the web API refused a client certificate.
#[derive(Debug, thiserror::Error)]
pub enum ClientRefusal {
    /// The certificate names no identity Tether can read.
    #[error("the client certificate is unreadable: {0}")]
    Unreadable(CertError),
    /// This cluster's own certificate that no longer verifies (expired, another CA).
    #[error("the client certificate was refused ({0}); log in again with tsh login")]
    Local(CertError),
    /// A trusted cluster's user, refused.
    #[error("{user} of cluster {cluster}: {refusal}")]
    Remote {
        /// The user the certificate names.
        user: String,
        /// The cluster it claims.
        cluster: String,
        /// Why.
        refusal: RemoteRefusal,
    },
}
