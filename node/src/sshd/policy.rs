//! Who may log in to this node and what a logged-in user may do, decided without I/O: no
//! sockets, no russh session state, no audit. The rest of the server asks these functions and
//! reports their answers.
//!
//! Only OpenSSH **user certificates** are accepted; there are no passwords and no plain keys
//! ([`AuthRefusal::PlainKey`]). [`check_certificate`] accepts a certificate for a login when, in
//! order:
//!
//! 1. the validity window holds, the signature verifies, the signer is one of
//!    [`NodeTrust::user_cas`] (local cluster, trusted clusters), it is a *user* certificate, the
//!    requested login is among its principals and it carries no critical option
//!    ([`verify_user_cert`] checks these, each with its own error);
//! 2. the cluster named inside the certificate is the one whose CA signed it;
//! 3. a trusted cluster's certificate is bound to this cluster
//!    ([`Identity::route_to_cluster`]);
//! 4. [`NodeTrust::roles_for`] yields roles, and [`AccessChecker::check_login`] allows the login
//!    on a node with [`NodeTrust::labels`].
//!
//! Each refusal is an [`AuthRefusal`] with a message for people and a [`AuthRefusal::kind`] for
//! the audit log. Once in, [`may_forward_agent`] says whether the user may forward their agent,
//! [`forwarding_refusal`] whether they may forward ports and [`privileged_port_refusal`] whether
//! a remote forward may take a port below 1024; every connection holds at most
//! [`MAX_SESSIONS_PER_CONNECTION`] session channels, and its port forwards have a cap of their own
//! (`connection_limits.max_forwards_per_connection`).

use std::time::SystemTime;

use russh::keys::{Certificate, PublicKey};
use tether_shared::identity::{CertError, Identity};
use tether_shared::labels::Labels;
use tether_shared::rbac::AccessChecker;
use tether_shared::resource::Role;
use tether_shared::ssh_cert::verify_user_cert;

/// What the SSH server needs to know, kept fresh by the caller (the node's cache of CAs and roles).
pub trait NodeTrust: Send + Sync + 'static {
    /// The active user CAs this node trusts: (cluster name, CA public key). Local cluster first.
    fn user_cas(&self) -> Vec<(String, PublicKey)>;
    /// The node's own cluster.
    fn cluster(&self) -> &str;
    /// The own cluster's trusted host CA keys (two during a rotation; empty until known): the
    /// CAs of the proxies whose signed client addresses the node believes.
    fn host_cas(&self) -> Vec<PublicKey> {
        Vec::new()
    }
    /// The roles that apply to an identity whose certificate was signed by `ca_cluster`'s CA (role
    /// names as they are for the local cluster, through the role map for a trusted one). Err = why
    /// none apply.
    fn roles_for(&self, identity: &Identity, ca_cluster: &str) -> Result<Vec<Role>, NoRoles>;
    /// This node's labels (static + hostname).
    fn labels(&self) -> Labels;
    /// Records an audit event: what happened, how it turned out, who acted, and the event's
    /// fields.
    fn audit(&self, event: tether_audit::Event, outcome: tether_audit::Outcome, user: &str, details: serde_json::Value);
}

/// Session channels one connection may hold open (OpenSSH's `MaxSessions`); port forwards are
/// counted apart, against `connection_limits.max_forwards_per_connection`.
pub const MAX_SESSIONS_PER_CONNECTION: usize = 10;
/// Ports below this may be forwarded remotely only by the login `root` (as in OpenSSH).
pub(super) const FIRST_UNPRIVILEGED_PORT: u16 = 1024;

/// Why no role applies to an identity on this node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoRoles {
    /// The certificate's CA belongs to a cluster this node does not trust (any more).
    #[error("cluster {0:?} is not trusted by this node")]
    Untrusted(String),
    /// The trust's role map maps the identity's roles to nothing, or is invalid.
    #[error("role mapping for cluster {cluster}: {error}")]
    Mapping {
        /// The trusted cluster.
        cluster: String,
        /// What the role map said.
        error: tether_shared::rolemap::RoleMapError,
    },
    /// The (mapped) role names exist nowhere on this cluster.
    #[error("none of the roles [{}] exists on this cluster", .0.join(", "))]
    Missing(Vec<String>),
}

/// Why a certificate (or key) was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthRefusal {
    /// A check of [`verify_user_cert`] failed.
    #[error("{0}")]
    Certificate(#[from] CertError),
    /// The certificate names another cluster than the one whose CA signed it.
    #[error("the certificate claims cluster {claimed:?} but was signed by the user CA of cluster {signer:?}")]
    ClusterMismatch {
        /// The cluster named in the certificate.
        claimed: String,
        /// The cluster whose CA signed it.
        signer: String,
    },
    /// No role applies to the identity on this node.
    #[error("no roles apply: {0}")]
    NoRoles(NoRoles),
    /// The roles do not allow this login on this node.
    #[error("access denied: {0}")]
    Denied(String),
    /// A plain public key (no certificate) was presented.
    #[error("plain public keys are not accepted: log in with a certificate issued by the cluster (tsh login)")]
    PlainKey,
    /// Another cluster's certificate that is not bound to this one (see
    /// [`Identity::route_to_cluster`]).
    #[error("{0}")]
    NotBound(String),
}

impl AuthRefusal {
    /// A short machine-readable name of the reason, for the audit log.
    pub fn kind(&self) -> &'static str {
        match self {
            AuthRefusal::Certificate(e) => match e {
                CertError::WrongCa { .. } => "untrusted_ca",
                CertError::NotYetValid { .. } => "not_yet_valid",
                CertError::Expired { .. } => "expired",
                CertError::BadSignature => "bad_signature",
                CertError::WrongCertType { .. } => "wrong_cert_type",
                CertError::MissingPrincipal { .. } => "login_not_a_principal",
                CertError::CriticalOption { .. } => "critical_option",
                _ => "malformed_certificate",
            },
            AuthRefusal::ClusterMismatch { .. } => "cluster_mismatch",
            AuthRefusal::NoRoles(_) => "no_roles",
            AuthRefusal::Denied(_) => "access_denied",
            AuthRefusal::PlainKey => "plain_key",
            AuthRefusal::NotBound(_) => "not_bound",
        }
    }
}

/// A successfully authenticated user, kept for the connection's lifetime.
pub(super) struct Authed {
    pub(super) identity: Identity,
    pub(super) login: String,
    pub(super) ca_cluster: String,
    pub(super) roles: Vec<String>,
    pub(super) checker: AccessChecker,
}

/// Checks a user certificate for `login` against what the node trusts, now. See the module docs.
pub(super) fn check_certificate(trust: &dyn NodeTrust, login: &str, cert: &Certificate) -> Result<Authed, AuthRefusal> {
    check_certificate_at(trust, login, cert, SystemTime::now())
}

/// [`check_certificate`] at the time `now`.
fn check_certificate_at(
    trust: &dyn NodeTrust,
    login: &str,
    cert: &Certificate,
    now: SystemTime,
) -> Result<Authed, AuthRefusal> {
    let cas = trust.user_cas();
    let keys: Vec<PublicKey> = cas.iter().map(|(_, key)| key.clone()).collect();
    let identity = verify_user_cert(cert, &keys, Some(login), now)?;
    let signer = cert.signature_key();
    let ca_cluster =
        cas.iter().find(|(_, key)| key.key_data() == signer).map(|(cluster, _)| cluster.clone()).ok_or_else(|| {
            CertError::WrongCa { signer: signer.fingerprint(russh::keys::HashAlg::Sha256).to_string() }
        })?;
    if identity.cluster != ca_cluster {
        return Err(AuthRefusal::ClusterMismatch { claimed: identity.cluster.clone(), signer: ca_cluster });
    }
    // A root's certificate counts here only when the root bound it to this cluster, which it does
    // only for users whose cluster_labels allow it: no path around the root's check.
    if ca_cluster != trust.cluster()
        && let Some(why) = identity.unbound_for(trust.cluster())
    {
        return Err(AuthRefusal::NotBound(why));
    }
    let roles = trust.roles_for(&identity, &ca_cluster).map_err(AuthRefusal::NoRoles)?;
    let checker = AccessChecker::new(&roles, &identity.traits);
    let decision = checker.check_login(login, &trust.labels());
    if !decision.allowed {
        return Err(AuthRefusal::Denied(decision.reason));
    }
    Ok(Authed { roles: checker.role_names(), identity, login: login.to_string(), ca_cluster, checker })
}

/// Why `authed` may not forward ports, if it may not: sent to the client as the refusal's text.
pub(super) fn forwarding_refusal(authed: &Authed) -> Option<&'static str> {
    if !authed.checker.port_forwarding() {
        Some("port forwarding is not allowed by your roles")
    } else if !authed.identity.permit_port_forwarding {
        Some(
            "port forwarding is not permitted by your certificate (it has no permit-port-forwarding: the roles it was issued for did not allow it; log in again)",
        )
    } else {
        None
    }
}

/// Whether `authed` may forward their agent: the certificate carries `permit-agent-forwarding`
/// and a role sets `forward_agent`.
pub(super) fn may_forward_agent(authed: &Authed) -> bool {
    authed.identity.permit_agent_forwarding && authed.checker.forward_agent()
}

/// Why `login` may not have a remote forward listen on `port`, if it may not: ports below
/// [`FIRST_UNPRIVILEGED_PORT`] are for the login `root` only (0 asks for any free port).
pub(super) fn privileged_port_refusal(login: &str, port: u16) -> Option<String> {
    (port != 0 && port < FIRST_UNPRIVILEGED_PORT && login != "root")
        .then(|| format!("port {port} is privileged: only the login root may forward it"))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use russh::keys::HashAlg;
    use tether_shared::resource::RoleOptions;
    use tether_shared::ssh_cert::{HostIdentity, SshCa, generate_ed25519_key};
    use time::OffsetDateTime;

    use super::*;
    use crate::sshd::tests::{CLUSTER, TestTrust, identity, me, role};

    /// The login these tests ask for; no Unix account is looked up here.
    const LOGIN: &str = "alice";

    /// A node of cluster [`CLUSTER`] labelled `env: test`, trusting `cas`, with the roles `dev`
    /// (allows [`LOGIN`] on `env: test`), `prod-only` (on `env: prod` only), `other-login`
    /// (allows another login) and `no-fwd` (port forwarding off).
    fn trust(cas: Vec<(String, PublicKey)>) -> TestTrust {
        TestTrust {
            cas,
            roles: vec![
                role("dev", &[LOGIN], "test", RoleOptions::default()),
                role("prod-only", &[LOGIN], "prod", RoleOptions::default()),
                role("other-login", &["nobody-else"], "test", RoleOptions::default()),
                role(
                    "no-fwd",
                    &[LOGIN],
                    "test",
                    RoleOptions { port_forwarding: Some(false), ..RoleOptions::default() },
                ),
            ],
            labels: Labels::from([("env".to_string(), "test".to_string())]),
            events: Mutex::new(Vec::new()),
        }
    }

    /// A CA, a node trusting only it, and a key to certify.
    fn local() -> (SshCa, TestTrust, russh::keys::PrivateKey) {
        let ca = SshCa::generate().unwrap();
        let trust = trust(vec![(CLUSTER.to_string(), ca.public_key().clone())]);
        (ca, trust, generate_ed25519_key().unwrap())
    }

    /// The refusal of `id`'s certificate from `ca` for [`LOGIN`].
    fn refused(ca: &SshCa, trust: &TestTrust, id: &Identity) -> AuthRefusal {
        let key = generate_ed25519_key().unwrap();
        let cert = ca.issue_user_cert(key.public_key(), id, 1).unwrap();
        match check_certificate(trust, LOGIN, &cert) {
            Ok(_) => panic!("{id:?} was accepted"),
            Err(refusal) => refusal,
        }
    }

    #[test]
    fn accepts_a_local_certificate_with_its_roles() {
        let (ca, trust, key) = local();
        let cert = ca.issue_user_cert(key.public_key(), &identity(&["dev", "ghost"], &[LOGIN]), 1).unwrap();
        let authed = check_certificate(&trust, LOGIN, &cert).unwrap();
        assert_eq!(authed.identity.user, "alice");
        assert_eq!(authed.login, LOGIN);
        assert_eq!(authed.ca_cluster, CLUSTER);
        assert_eq!(authed.roles, vec!["dev".to_string()], "only roles that exist here");
        assert_eq!(forwarding_refusal(&authed), None);
    }

    #[test]
    fn refuses_an_expired_certificate() {
        let (ca, trust, key) = local();
        let cert = ca.issue_user_cert(key.public_key(), &identity(&["dev"], &[LOGIN]), 1).unwrap();
        let valid_before = i64::try_from(cert.valid_before()).unwrap();
        let later = SystemTime::UNIX_EPOCH + Duration::from_secs(cert.valid_before() + 60);
        let Err(refusal) = check_certificate_at(&trust, LOGIN, &cert, later) else { panic!("accepted") };
        assert_eq!(refusal.kind(), "expired");
        let expected = CertError::Expired { valid_before, now: valid_before + 60 }.to_string();
        assert!(expected.starts_with("certificate expired at "), "{expected}");
        assert_eq!(refusal.to_string(), expected);
    }

    #[test]
    fn refuses_a_certificate_not_yet_valid() {
        let (ca, trust, key) = local();
        let cert = ca.issue_user_cert(key.public_key(), &identity(&["dev"], &[LOGIN]), 1).unwrap();
        let valid_after = i64::try_from(cert.valid_after()).unwrap();
        let earlier = SystemTime::UNIX_EPOCH + Duration::from_secs(cert.valid_after() - 60);
        let Err(refusal) = check_certificate_at(&trust, LOGIN, &cert, earlier) else { panic!("accepted") };
        assert_eq!(refusal.kind(), "not_yet_valid");
        let expected = CertError::NotYetValid { valid_after, now: valid_after - 60 }.to_string();
        assert!(expected.starts_with("certificate not valid before "), "{expected}");
        assert_eq!(refusal.to_string(), expected);
    }

    #[test]
    fn refuses_a_certificate_from_an_untrusted_ca() {
        let (_, node, _) = local();
        let other = SshCa::generate().unwrap();
        let refusal = refused(&other, &node, &identity(&["dev"], &[LOGIN]));
        assert_eq!(refusal.kind(), "untrusted_ca");
        let fingerprint = other.public_key().fingerprint(HashAlg::Sha256);
        assert_eq!(
            refusal.to_string(),
            format!("certificate signed by an untrusted certificate authority ({fingerprint})")
        );

        // A node that trusts no CA yet (its first refresh has not arrived) refuses the same way.
        let (ca, _, _) = local();
        let refusal = refused(&ca, &trust(vec![]), &identity(&["dev"], &[LOGIN]));
        assert_eq!(refusal.kind(), "untrusted_ca");
    }

    #[test]
    fn refuses_a_host_certificate() {
        let (ca, trust, key) = local();
        let now = OffsetDateTime::now_utc();
        let host = HostIdentity {
            host_id: "alice".into(),
            principals: vec![LOGIN.into()],
            cluster: CLUSTER.into(),
            valid_after: now - time::Duration::minutes(1),
            valid_before: now + time::Duration::hours(1),
        };
        let cert = ca.issue_host_cert(key.public_key(), &host, 1).unwrap();
        let Err(refusal) = check_certificate(&trust, LOGIN, &cert) else { panic!("accepted") };
        assert_eq!(refusal.kind(), "wrong_cert_type");
        assert_eq!(refusal.to_string(), "expected a user certificate, got a host certificate");
    }

    #[test]
    fn refuses_a_login_outside_the_principals() {
        let (ca, trust, _) = local();
        let refusal = refused(&ca, &trust, &identity(&["dev"], &["someone", "else"]));
        assert_eq!(refusal.kind(), "login_not_a_principal");
        assert_eq!(refusal.to_string(), r#""alice" is not among the certificate's principals ["someone", "else"]"#);
    }

    #[test]
    fn refuses_a_certificate_naming_another_cluster_than_its_signer() {
        let (ca, trust, _) = local();
        let mut elsewhere = identity(&["dev"], &[LOGIN]);
        elsewhere.cluster = "leaf".into();
        let refusal = refused(&ca, &trust, &elsewhere);
        assert_eq!(refusal.kind(), "cluster_mismatch");
        assert_eq!(
            refusal.to_string(),
            r#"the certificate claims cluster "leaf" but was signed by the user CA of cluster "main""#
        );
    }

    #[test]
    fn a_trusted_clusters_certificate_must_be_bound_to_this_one() {
        let (local_ca, _, key) = local();
        let root_ca = SshCa::generate().unwrap();
        let trust = trust(vec![
            (CLUSTER.to_string(), local_ca.public_key().clone()),
            ("root".to_string(), root_ca.public_key().clone()),
        ]);
        let mut from_root = identity(&["dev"], &[LOGIN]);
        from_root.cluster = "root".into();

        let refusal = refused(&root_ca, &trust, &from_root);
        assert_eq!(refusal.kind(), "not_bound");
        assert_eq!(
            refusal.to_string(),
            "this certificate is not issued for cluster main; run `tsh login --cluster=main`"
        );

        from_root.route_to_cluster = Some("leaf-b".into());
        let refusal = refused(&root_ca, &trust, &from_root);
        assert_eq!(refusal.kind(), "not_bound");
        assert_eq!(
            refusal.to_string(),
            "this certificate is issued for cluster leaf-b, not main; run `tsh login --cluster=main`"
        );

        from_root.route_to_cluster = Some(CLUSTER.into());
        let cert = root_ca.issue_user_cert(key.public_key(), &from_root, 2).unwrap();
        let authed = check_certificate(&trust, LOGIN, &cert).expect("bound to this cluster");
        assert_eq!(authed.ca_cluster, "root");

        // The local cluster's own certificates need no binding.
        let cert = local_ca.issue_user_cert(key.public_key(), &identity(&["dev"], &[LOGIN]), 3).unwrap();
        assert_eq!(check_certificate(&trust, LOGIN, &cert).unwrap().ca_cluster, CLUSTER);
    }

    #[test]
    fn refuses_when_no_role_applies() {
        let (ca, trust, _) = local();
        let refusal = refused(&ca, &trust, &identity(&["ghost", "phantom"], &[LOGIN]));
        assert_eq!(refusal.kind(), "no_roles");
        assert_eq!(refusal.to_string(), "no roles apply: none of the roles [ghost, phantom] exists on this cluster");
    }

    #[test]
    fn refuses_a_login_the_roles_do_not_allow() {
        let (ca, trust, _) = local();
        let refusal = refused(&ca, &trust, &identity(&["other-login"], &[LOGIN]));
        assert_eq!(refusal.kind(), "access_denied");
        assert_eq!(
            refusal.to_string(),
            r#"access denied: no role allows login "alice" on this node (role other-login: allow.logins [nobody-else] lacks "alice")"#
        );
    }

    #[test]
    fn refuses_a_node_the_roles_labels_do_not_match() {
        let (ca, trust, _) = local();
        let refusal = refused(&ca, &trust, &identity(&["prod-only"], &[LOGIN]));
        assert_eq!(refusal.kind(), "access_denied");
        assert_eq!(
            refusal.to_string(),
            r#"access denied: no role allows login "alice" on this node (role prod-only: allow.node_labels: label env=test does not match)"#
        );
    }

    #[test]
    fn a_plain_key_is_refused_with_a_hint() {
        assert_eq!(AuthRefusal::PlainKey.kind(), "plain_key");
        assert_eq!(
            AuthRefusal::PlainKey.to_string(),
            "plain public keys are not accepted: log in with a certificate issued by the cluster (tsh login)"
        );
    }

    #[test]
    fn forwarding_needs_the_roles_and_the_certificate() {
        let (ca, trust, key) = local();
        let authed = |roles: &[&str], permit: bool| {
            let mut id = identity(roles, &[LOGIN]);
            id.permit_port_forwarding = permit;
            let cert = ca.issue_user_cert(key.public_key(), &id, 1).unwrap();
            check_certificate(&trust, LOGIN, &cert).unwrap()
        };
        assert_eq!(forwarding_refusal(&authed(&["dev"], true)), None);
        let roles_off = Some("port forwarding is not allowed by your roles");
        assert_eq!(forwarding_refusal(&authed(&["no-fwd"], true)), roles_off);
        assert_eq!(
            forwarding_refusal(&authed(&["dev", "no-fwd"], true)),
            roles_off,
            "one role turning it off is enough"
        );
        assert_eq!(forwarding_refusal(&authed(&["no-fwd"], false)), roles_off, "the roles are named first");
        assert_eq!(
            forwarding_refusal(&authed(&["dev"], false)),
            Some(
                "port forwarding is not permitted by your certificate (it has no permit-port-forwarding: the roles it was issued for did not allow it; log in again)"
            )
        );
    }

    #[test]
    fn agent_forwarding_needs_the_roles_and_the_certificate() {
        let (ca, mut trust, key) = local();
        trust.roles.push(role(
            "agent",
            &[LOGIN],
            "test",
            RoleOptions { forward_agent: Some(true), ..RoleOptions::default() },
        ));
        let authed = |roles: &[&str], permit: bool| {
            let mut id = identity(roles, &[LOGIN]);
            id.permit_agent_forwarding = permit;
            let cert = ca.issue_user_cert(key.public_key(), &id, 1).unwrap();
            check_certificate(&trust, LOGIN, &cert).unwrap()
        };
        assert!(may_forward_agent(&authed(&["agent"], true)));
        assert!(may_forward_agent(&authed(&["dev", "agent"], true)), "one role allowing it is enough");
        assert!(!may_forward_agent(&authed(&["dev"], true)), "no role sets forward_agent");
        assert!(!may_forward_agent(&authed(&["agent"], false)), "the certificate lacks permit-agent-forwarding");
    }

    #[test]
    fn privileged_ports_are_for_root_only() {
        assert_eq!(
            privileged_port_refusal("alice", 80).as_deref(),
            Some("port 80 is privileged: only the login root may forward it")
        );
        assert_eq!(
            privileged_port_refusal("alice", 1023).as_deref(),
            Some("port 1023 is privileged: only the login root may forward it")
        );
        assert_eq!(privileged_port_refusal("alice", 0), None, "0: any free port");
        assert_eq!(privileged_port_refusal("alice", 1024), None);
        assert_eq!(privileged_port_refusal("root", 22), None);
    }

    #[test]
    fn every_refusal_has_its_own_kind() {
        let kinds = [
            AuthRefusal::Certificate(CertError::WrongCa { signer: String::new() }),
            AuthRefusal::Certificate(CertError::NotYetValid { valid_after: 0, now: 0 }),
            AuthRefusal::Certificate(CertError::Expired { valid_before: 0, now: 0 }),
            AuthRefusal::Certificate(CertError::BadSignature),
            AuthRefusal::Certificate(CertError::WrongCertType { expected: "user", actual: "host" }),
            AuthRefusal::Certificate(CertError::MissingPrincipal { principal: String::new(), principals: vec![] }),
            AuthRefusal::Certificate(CertError::CriticalOption { name: "force-command".into() }),
            AuthRefusal::Certificate(CertError::MissingExtension { name: "roles@tether".into() }),
            AuthRefusal::ClusterMismatch { claimed: String::new(), signer: String::new() },
            AuthRefusal::NoRoles(NoRoles::Missing(Vec::new())),
            AuthRefusal::Denied(String::new()),
            AuthRefusal::PlainKey,
            AuthRefusal::NotBound(String::new()),
        ]
        .map(|r| r.kind());
        assert_eq!(
            kinds,
            [
                "untrusted_ca",
                "not_yet_valid",
                "expired",
                "bad_signature",
                "wrong_cert_type",
                "login_not_a_principal",
                "critical_option",
                "malformed_certificate",
                "cluster_mismatch",
                "no_roles",
                "access_denied",
                "plain_key",
                "not_bound",
            ]
        );
    }

    #[test]
    fn certificate_checks_directly() {
        // The same checks without the network, including the cases russh filters first.
        let ca = SshCa::generate().unwrap();
        let login = me();
        let trust = TestTrust {
            cas: vec![(CLUSTER.to_string(), ca.public_key().clone())],
            roles: vec![role("dev", &[&login], "test", RoleOptions::default())],
            labels: Labels::from([("env".to_string(), "test".to_string())]),
            events: Mutex::new(Vec::new()),
        };
        let key = generate_ed25519_key().unwrap();
        let ok = ca.issue_user_cert(key.public_key(), &identity(&["dev"], &[&login]), 1).unwrap();
        let authed = check_certificate(&trust, &login, &ok).unwrap();
        assert_eq!((authed.ca_cluster.as_str(), authed.roles.as_slice()), (CLUSTER, &["dev".to_string()][..]));

        let now = OffsetDateTime::now_utc();
        let mut expired = identity(&["dev"], &[&login]);
        expired.valid_after = now - time::Duration::hours(2);
        expired.valid_before = now - time::Duration::hours(1);
        let cert = ca.issue_user_cert(key.public_key(), &expired, 2).unwrap();
        assert_eq!(check_certificate(&trust, &login, &cert).err().map(|e| e.kind()), Some("expired"));

        let mut elsewhere = identity(&["dev"], &[&login]);
        elsewhere.cluster = "leaf".into();
        let cert = ca.issue_user_cert(key.public_key(), &elsewhere, 3).unwrap();
        assert_eq!(check_certificate(&trust, &login, &cert).err().map(|e| e.kind()), Some("cluster_mismatch"));

        // No trusted CA at all.
        let empty = TestTrust { cas: vec![], ..trust };
        assert_eq!(check_certificate(&empty, &login, &ok).err().map(|e| e.kind()), Some("untrusted_ca"));
    }
}
