//! The identity a Tether certificate carries, and the errors of certificate handling.
//!
//! An [`Identity`] is what a user certificate (SSH or X.509) asserts: who the user is, which
//! roles and traits the issuing cluster gave them, which logins they may use, the validity
//! window and the OpenSSH `permit-*` permissions. [`crate::ssh_cert`] and [`crate::tls_cert`]
//! write it into certificates and read it back; both report failures with [`CertError`].

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A user's traits: trait name to its values (e.g. `logins` → `["root", "alice"]`).
pub type Traits = BTreeMap<String, Vec<String>>;

/// OpenSSH extension allowing a pseudo-terminal.
pub const PERMIT_PTY: &str = "permit-pty";
/// OpenSSH extension allowing SSH agent forwarding.
pub const PERMIT_AGENT_FORWARDING: &str = "permit-agent-forwarding";
/// OpenSSH extension allowing TCP port forwarding.
pub const PERMIT_PORT_FORWARDING: &str = "permit-port-forwarding";

/// The identity asserted by a user certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The user's name (SSH key ID, X.509 common name).
    pub user: String,
    /// Roles granted by the issuing cluster.
    pub roles: Vec<String>,
    /// Traits of the user, as the issuing cluster knows them.
    pub traits: Traits,
    /// Logins (SSH principals) the user may use.
    pub logins: Vec<String>,
    /// The cluster whose certificate authority issued this identity.
    pub cluster: String,
    /// Start of the validity window (inclusive).
    #[serde(with = "time::serde::rfc3339")]
    pub valid_after: OffsetDateTime,
    /// End of the validity window (exclusive).
    #[serde(with = "time::serde::rfc3339")]
    pub valid_before: OffsetDateTime,
    /// Whether a pseudo-terminal may be allocated.
    pub permit_pty: bool,
    /// Whether SSH agent forwarding is allowed.
    pub permit_agent_forwarding: bool,
    /// Whether TCP port forwarding is allowed.
    pub permit_port_forwarding: bool,
    /// The one leaf cluster this identity is for: a root issues such *leaf-bound* certificates
    /// only to users whose `cluster_labels` allow that leaf, and a leaf accepts a root's
    /// certificate only when it is bound to it. `None`: not bound (valid in its own cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_to_cluster: Option<String>,
}

impl Identity {
    /// Why this identity, issued by another cluster, may not be used in `cluster`: `None` when
    /// it is bound to `cluster` ([`Identity::route_to_cluster`]).
    pub fn unbound_for(&self, cluster: &str) -> Option<String> {
        match self.route_to_cluster.as_deref() {
            Some(bound) if bound == cluster => None,
            Some(other) => Some(format!(
                "this certificate is issued for cluster {other}, not {cluster}; run `tsh login --cluster={cluster}`"
            )),
            None => Some(format!(
                "this certificate is not issued for cluster {cluster}; run `tsh login --cluster={cluster}`"
            )),
        }
    }

    /// The OpenSSH `permit-*` extension names this identity carries, sorted.
    pub fn permit_extensions(&self) -> BTreeSet<&'static str> {
        [
            (self.permit_pty, PERMIT_PTY),
            (self.permit_agent_forwarding, PERMIT_AGENT_FORWARDING),
            (self.permit_port_forwarding, PERMIT_PORT_FORWARDING),
        ]
        .into_iter()
        .filter_map(|(allowed, name)| allowed.then_some(name))
        .collect()
    }
}

/// Why a certificate could not be issued, read or accepted.
///
/// The verification variants ([`CertError::WrongCa`] … [`CertError::CriticalOption`]) are
/// distinct so that callers can log and report the precise reason a certificate was refused.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// The certificate was signed by a CA that is not trusted.
    #[error("certificate signed by an untrusted certificate authority ({signer})")]
    WrongCa {
        /// The signer: an SSH SHA256 fingerprint or an X.509 issuer name.
        signer: String,
    },
    /// The certificate's validity window has not started yet.
    #[error("certificate not valid before {} (now {})", fmt_unix(*.valid_after), fmt_unix(*.now))]
    NotYetValid {
        /// Start of the validity window, Unix seconds.
        valid_after: i64,
        /// The time of the check, Unix seconds.
        now: i64,
    },
    /// The certificate's validity window has ended.
    #[error("certificate expired at {} (now {})", fmt_unix(*.valid_before), fmt_unix(*.now))]
    Expired {
        /// End of the validity window, Unix seconds.
        valid_before: i64,
        /// The time of the check, Unix seconds.
        now: i64,
    },
    /// The signature does not verify against the signer's key.
    #[error("certificate signature does not verify")]
    BadSignature,
    /// A host certificate was presented as a user certificate, or the reverse.
    #[error("expected a {expected} certificate, got a {actual} certificate")]
    WrongCertType {
        /// The type required.
        expected: &'static str,
        /// The type presented.
        actual: &'static str,
    },
    /// The requested login or host name is not among the certificate's principals.
    #[error("{principal:?} is not among the certificate's principals {principals:?}")]
    MissingPrincipal {
        /// The login or host name that was requested.
        principal: String,
        /// The principals the certificate lists.
        principals: Vec<String>,
    },
    /// The certificate carries a critical option (Tether understands none).
    #[error("certificate carries unsupported critical option {name:?}")]
    CriticalOption {
        /// The option's name.
        name: String,
    },
    /// The X.509 client certificate lacks the clientAuth extended key usage.
    #[error("certificate is not valid for TLS client authentication")]
    NotClientAuth,
    /// A required certificate extension is absent.
    #[error("certificate lacks the {name} extension")]
    MissingExtension {
        /// The extension's name (SSH) or OID (X.509).
        name: String,
    },
    /// A certificate extension could not be decoded.
    #[error("certificate extension {name} is malformed: {reason}")]
    MalformedExtension {
        /// The extension's name (SSH) or OID (X.509).
        name: String,
        /// What was wrong with it.
        reason: String,
    },
    /// The identity cannot be expressed in, or does not match, the certificate.
    #[error("invalid identity: {0}")]
    InvalidIdentity(String),
    /// An SSH user certificate needs at least one principal.
    #[error("no principals: an OpenSSH certificate cannot express \"no logins\"")]
    NoPrincipals,
    /// The validity window is empty, reversed or out of range.
    #[error("invalid validity window: {0}")]
    InvalidValidity(String),
    /// The key type is not supported (Tether's CAs and client keys are Ed25519).
    #[error("unsupported key: {0}")]
    UnsupportedKey(String),
    /// The private key does not belong to the certificate.
    #[error("the private key does not match the certificate's public key")]
    KeyMismatch,
    /// The certificate could not be parsed, or is not what it should be.
    #[error("malformed certificate: {0}")]
    Malformed(String),
    /// The system random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// An error from the SSH key library.
    #[error("ssh key: {0}")]
    Ssh(#[from] russh::keys::ssh_key::Error),
    /// An error from the X.509 certificate generator.
    #[error("x509: {0}")]
    Rcgen(#[from] rcgen::Error),
}

/// Formats Unix seconds as RFC 3339 in UTC, or as `@<seconds>` when out of range.
pub(crate) fn fmt_unix(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("@{secs}"))
}

/// Converts a `SystemTime` to Unix seconds (whole seconds, rounded down).
pub(crate) fn system_time_secs(t: std::time::SystemTime) -> i64 {
    match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let before = e.duration();
            let secs = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
            // Round towards negative infinity.
            let secs = if before.subsec_nanos() > 0 { secs.saturating_add(1) } else { secs };
            secs.saturating_neg()
        }
    }
}

/// Converts Unix seconds to an `OffsetDateTime`, or reports it out of range.
pub(crate) fn unix_to_datetime(secs: i64) -> Result<OffsetDateTime, CertError> {
    OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|_| CertError::InvalidValidity(format!("time {secs} out of range")))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};
    use time::macros::datetime;

    #[test]
    fn only_a_binding_to_this_very_cluster_counts() {
        let bound = |route: Option<&str>| Identity { route_to_cluster: route.map(str::to_string), ..sample() };
        assert_eq!(bound(Some("leaf-a")).unbound_for("leaf-a"), None);
        let other = bound(Some("leaf-a")).unbound_for("leaf-b").unwrap();
        assert!(
            other.contains("issued for cluster leaf-a, not leaf-b") && other.contains("--cluster=leaf-b"),
            "{other}"
        );
        let unbound = bound(None).unbound_for("leaf-b").unwrap();
        assert!(unbound.contains("not issued for cluster leaf-b"), "{unbound}");
    }

    pub(crate) fn sample() -> Identity {
        let mut traits = Traits::new();
        traits.insert("logins".into(), vec!["root".into(), "alice".into()]);
        traits.insert("team".into(), vec!["db \"ops\"".into()]);
        Identity {
            user: "alice".into(),
            roles: vec!["access".into(), "auditor".into()],
            traits,
            logins: vec!["root".into(), "alice".into()],
            cluster: "root.example".into(),
            valid_after: datetime!(2026-01-01 00:00:00 UTC),
            valid_before: datetime!(2026-01-01 12:00:00 UTC),
            permit_pty: true,
            permit_agent_forwarding: false,
            permit_port_forwarding: true,
            route_to_cluster: None,
        }
    }

    #[test]
    fn permit_extensions_lists_allowed_only() {
        let id = sample();
        let names: Vec<_> = id.permit_extensions().into_iter().collect();
        assert_eq!(names, vec![PERMIT_PORT_FORWARDING, PERMIT_PTY]);
        let none = Identity { permit_pty: false, permit_port_forwarding: false, ..id };
        assert!(none.permit_extensions().is_empty());
    }

    #[test]
    fn json_round_trip() {
        let id = sample();
        let json = serde_json::to_string(&id).unwrap();
        assert!(json.contains("\"valid_after\":\"2026-01-01T00:00:00Z\""));
        let back: Identity = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
    }

    #[test]
    fn time_helpers() {
        assert_eq!(fmt_unix(0), "1970-01-01T00:00:00Z");
        assert_eq!(fmt_unix(i64::MAX), format!("@{}", i64::MAX));
        assert_eq!(system_time_secs(UNIX_EPOCH + Duration::from_millis(1500)), 1);
        assert_eq!(system_time_secs(UNIX_EPOCH - Duration::from_millis(1500)), -2);
        assert_eq!(system_time_secs(UNIX_EPOCH - Duration::from_secs(2)), -2, "whole seconds stay whole");
        assert!(unix_to_datetime(i64::MAX).is_err());
        let e = CertError::Expired { valid_before: 0, now: 60 };
        assert_eq!(e.to_string(), "certificate expired at 1970-01-01T00:00:00Z (now 1970-01-01T00:01:00Z)");
    }
}
