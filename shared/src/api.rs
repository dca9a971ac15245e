//! Wire types of the proxy's HTTPS web API, shared by the daemon and the CLIs.
//!
//! Paths (all under the proxy's web address):
//! - `GET /webapi/ping` — [`PingResponse`], no authentication.
//! - `POST /webapi/login` — [`LoginRequest`] in, [`LoginResponse`] out, no client certificate.
//! - `GET|POST|PUT|DELETE /webapi/resources/KIND[/NAME]` — resources as JSON, authenticated by
//!   the client's TLS certificate (mTLS) and authorised by RBAC.
//! - `POST /webapi/users`, `/webapi/tokens`, … — the typed operations `tctl` needs.
//!
//! Every error answer is [`ErrorBody`] with an HTTP status: 400 bad input, 401 no or bad
//! credentials, 403 access denied (with the reason), 404 not found, 409 conflict, 413 too large,
//! 429 rate limited.

use serde::{Deserialize, Serialize};

use crate::identity::Identity;

/// The ALPN protocol ID a Tether client offers, beside `http/1.1`, when it trusts the cluster's
/// own TLS CA (a pinned profile, a node, an admin identity, the other side of a trust): the
/// proxy then presents its certificate from the cluster's TLS CA even where the operator gave
/// it another one (`https_keypairs`, for browsers). The proxy never selects it; HTTP/1.1 is
/// still what is spoken.
pub const CLUSTER_CA_ALPN: &[u8] = b"tether-cluster-ca";
/// `GET /webapi/ping`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PingResponse {
    /// The cluster's name.
    pub cluster_name: String,
    /// The daemon's version.
    pub server_version: String,
    /// How users authenticate.
    pub auth: PingAuth,
    /// Where the proxy listens.
    pub proxy: PingProxy,
    /// The cluster's trusted TLS CA certificates (PEM): public, so that a client holding a CA
    /// pin (`tsh login --ca-pin`) can pick the one it was told to trust before it logs in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tls_cas: Vec<String>,
}

/// The `auth` part of a ping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PingAuth {
    /// Always `local` (users with passwords).
    #[serde(rename = "type")]
    pub auth_type: String,
    /// `off` or `otp`.
    pub second_factor: String,
}

/// The `proxy` part of a ping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PingProxy {
    /// SSH addresses.
    pub ssh: PingProxySsh,
    /// Whether every protocol shares the web port (never, for now).
    pub tls_routing_enabled: bool,
}

/// Where the proxy's SSH endpoints listen, and the addresses to publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PingProxySsh {
    /// The SSH proxy's listen address.
    pub listen_addr: String,
    /// The public web/SSH address users and leaf clusters dial.
    pub public_addr: String,
    /// The public address of the SSH proxy that users dial (`tsh ssh`).
    #[serde(default)]
    pub ssh_public_addr: String,
    /// The public reverse-tunnel address leaf clusters dial.
    pub ssh_tunnel_public_addr: String,
    /// The reverse-tunnel listen address.
    pub tunnel_listen_addr: String,
}

/// `POST /webapi/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    /// The user's name.
    pub user: String,
    /// The password (or the new password, with `invite_token`).
    pub password: String,
    /// A TOTP code when the cluster requires a second factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp: Option<String>,
    /// A one-time invite from `tctl users add`: sets the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_token: Option<String>,
    /// The client's Ed25519 public key, OpenSSH format; both certificates certify it.
    pub public_key: String,
    /// Requested certificate lifetime in seconds (capped by the roles' max_session_ttl).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_secs: Option<u64>,
}

/// What a successful login returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginResponse {
    /// The SSH user certificate, OpenSSH format.
    pub ssh_cert: String,
    /// The TLS client certificate, PEM.
    pub tls_cert: String,
    /// The cluster's name.
    pub cluster_name: String,
    /// Trusted SSH host CAs: `(cluster, OpenSSH public key)`.
    pub host_cas: Vec<TrustedKey>,
    /// Trusted TLS CAs, PEM.
    pub tls_cas: Vec<String>,
    /// What the certificates say.
    pub identity: Identity,
    /// On a cluster that requires a second factor, the first (invite) login enrols the user:
    /// this `otpauth://` URI holds their new TOTP secret, shown once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_enrollment: Option<String>,
}

/// A CA public key and the cluster it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedKey {
    /// The cluster.
    pub cluster: String,
    /// The key, OpenSSH `authorized_keys` format.
    pub public_key: String,
}

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// One line a person can act on.
    pub error: String,
}

/// `POST /webapi/users`: create a user and an invite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateUserRequest {
    /// The user's name.
    pub name: String,
    /// Role names.
    pub roles: Vec<String>,
    /// Unix logins (the `logins` trait).
    #[serde(default)]
    pub logins: Vec<String>,
}

/// An invite: a one-time token to set a password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteResponse {
    /// The user.
    pub user: String,
    /// The one-time token.
    pub token: String,
    /// When it expires, RFC 3339.
    #[serde(with = "time::serde::rfc3339")]
    pub expires: time::OffsetDateTime,
}

/// `POST /webapi/tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateTokenRequest {
    /// `trusted_cluster` or `node`.
    #[serde(rename = "type")]
    pub token_type: crate::resource::TokenType,
    /// Lifetime in seconds.
    pub ttl_secs: u64,
    /// Labels for what joins with it.
    #[serde(default)]
    pub labels: crate::labels::Labels,
}

/// A token as listed (the secret is shown only at creation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// The token itself (at creation) or its stored identifier.
    pub token: String,
    /// What it lets join.
    #[serde(rename = "type")]
    pub token_type: crate::resource::TokenType,
    /// Labels.
    #[serde(default)]
    pub labels: crate::labels::Labels,
    /// Expiry, RFC 3339; none for static tokens from the config.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires: Option<time::OffsetDateTime>,
}

/// `POST /webapi/auth/sign`: certificates for any user (impersonation; admins only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignRequest {
    /// The user to sign for.
    pub user: String,
    /// The public key to certify, OpenSSH format.
    pub public_key: String,
    /// Lifetime in seconds.
    pub ttl_secs: u64,
}

/// `POST /webapi/nodes/renew`: a node's certificates again, from the keys its cluster's CAs sign
/// with now, for the key of the client certificate it calls with; answered with a
/// [`JoinResponse`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeRenewRequest {
    /// The node's current host certificate (OpenSSH format): the new one names the same
    /// principals, and only those.
    pub host_cert: String,
}

/// `POST /webapi/authorities/rotate`: move CAs of this cluster to another rotation phase
/// (`tctl auth rotate`); answered with the CAs' public parts after the move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    /// Which CA; all three when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_type: Option<crate::resource::CaType>,
    /// `manual`: go to `phase`; `auto`: start a rotation the auth service walks by itself.
    pub mode: crate::resource::RotationMode,
    /// The phase to go to (manual mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<crate::resource::RotationPhase>,
    /// How long the old key stays trusted (automatic mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period: Option<crate::duration::GoDuration>,
}

/// `POST /webapi/certs/leaf`: the caller's certificates bound to one of this cluster's leaves
/// (see [`crate::identity::Identity::route_to_cluster`]); answered with a [`LoginResponse`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeafCertRequest {
    /// The leaf cluster.
    pub cluster: String,
    /// The public key to certify, OpenSSH format (the caller's own).
    pub public_key: String,
}

/// One audit event as `GET /webapi/events` returns it: the JSON line as written.
pub type AuditEvent = serde_json::Map<String, serde_json::Value>;

/// How many events `GET /webapi/events` returns (the newest) when the query has no `limit`.
pub const EVENTS_DEFAULT_LIMIT: usize = 1000;
/// The largest `limit` `GET /webapi/events` honours; larger ones are capped to it.
pub const EVENTS_MAX_LIMIT: usize = 10_000;

/// `POST /webapi/nodes/join`: a node presents a join token and its host key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRequest {
    /// The join token (`tctl tokens add --type=node`).
    pub token: String,
    /// The node's name in the cluster (`teleport.nodename`).
    pub node_name: String,
    /// The host's name as the OS knows it.
    pub hostname: String,
    /// The node's Ed25519 host key, OpenSSH public format; the host certificate and the API
    /// client certificate certify it.
    pub public_key: String,
}

/// What a joining node receives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinResponse {
    /// The cluster's name.
    pub cluster_name: String,
    /// The SSH host certificate, OpenSSH format.
    pub host_cert: String,
    /// The TLS client certificate for the API, PEM.
    pub tls_cert: String,
    /// The cluster's TLS CAs, PEM.
    pub tls_cas: Vec<String>,
    /// The cluster's SSH host CAs.
    pub host_cas: Vec<TrustedKey>,
}

/// What the node cache reads: the user CAs it trusts and the roles that may apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeTrustState {
    /// User CAs: the local cluster's, then trusted clusters' active ones (with their role maps).
    pub user_cas: Vec<crate::resource::CertAuthority>,
    /// Every role of the cluster.
    pub roles: Vec<crate::resource::Role>,
    /// The node's own cluster's host and TLS CAs: which host CAs vouch for a proxy, and (from
    /// their rotation) when the node renews its own certificates.
    #[serde(default)]
    pub own_cas: Vec<crate::resource::CertAuthority>,
    /// A digest of the above: a node passes it back to wait for the next change.
    #[serde(default)]
    pub revision: String,
}

/// `POST /webapi/trustedclusters/validate` on the root: a leaf asks to be trusted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidateTrustedClusterRequest {
    /// The root's `trusted_cluster` join token.
    pub token: String,
    /// The leaf cluster's name.
    pub leaf_cluster: String,
    /// The leaf's public CAs (user, host, tls).
    pub cas: Vec<crate::resource::CertAuthority>,
}

/// `POST /webapi/trustedclusters/check` on the root: a leaf's trust doctor asks, storing nothing,
/// whether the root trusts it and, with a token, whether a validation would pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrustCheckRequest {
    /// The leaf cluster's name.
    pub leaf_cluster: String,
    /// The leaf's public host CA keys (OpenSSH), as it would send them.
    pub host_keys: Vec<String>,
    /// The join token the leaf's `trusted_cluster` holds, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// The root's answer to a [`TrustCheckRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustCheckResponse {
    /// The root cluster's name.
    pub root_cluster: String,
    /// Whether a `remote_cluster` of that name holds these host CA keys here.
    pub trusted: bool,
    /// The token's state (`valid until ...`, `unknown or expired`), when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// With a valid token: why a validation would fail (a name taken by another leaf).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
}

/// `POST /webapi/trustedclusters/doctor` (leaf) and `POST /webapi/remoteclusters/doctor` (root):
/// what the trust doctor is to check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct DoctorRequest {
    /// The stored `trusted_cluster` (leaf) or `remote_cluster` (root) to check; on a leaf with
    /// one trust it may be left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A `trusted_cluster` not stored (yet): checked as the leaf would use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<crate::resource::TrustedCluster>,
    /// Remote roles to run through the role map.
    #[serde(default)]
    pub roles: Vec<String>,
}

/// One check of the trust doctor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoctorCheck {
    /// What was checked (`web tls`, `tunnel ssh`, ...).
    pub check: String,
    /// Whether it passed.
    pub ok: bool,
    /// What was found.
    pub detail: String,
    /// A concern that does not fail the check (e.g. `--insecure` in use).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// What to do about a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// The trust doctor's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoctorReport {
    /// The cluster that ran the checks.
    pub cluster: String,
    /// The other side of the trust.
    pub peer: String,
    /// The checks, in the order they ran.
    pub checks: Vec<DoctorCheck>,
}

/// The root's answer: its public CAs (user, host, tls).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidateTrustedClusterResponse {
    /// The root cluster's name.
    pub root_cluster: String,
    /// The root's public CAs.
    pub cas: Vec<crate::resource::CertAuthority>,
}

/// One row of `GET /webapi/clusters`: a cluster the caller may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterInfo {
    /// The cluster's name.
    pub name: String,
    /// `online` or `offline` (the root itself is always online).
    pub status: String,
    /// `root` or `leaf`.
    pub cluster_type: String,
    /// The cluster's SSH host CA keys (`tsh` checks node certificates against them).
    #[serde(default)]
    pub host_cas: Vec<String>,
    /// The cluster's TLS CA certificates, PEM (`tsh` checks a leaf's API against them).
    #[serde(default)]
    pub tls_cas: Vec<String>,
    /// A leaf's last heartbeat on any of the root's tunnels (RFC 3339), if it ever sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_heartbeat: Option<String>,
}

/// The largest request body the web API takes (a bigger one is answered 413 before it is read).
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// Percent-encodes a query parameter's value (everything but RFC 3986's unreserved characters),
/// for the label filters of `GET /webapi/nodes`.
pub fn query_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One cluster's part of `GET /webapi/nodes/all` (`tsh ls --all`): its nodes the caller may log
/// in to, or why they could not be listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterNodes {
    /// The cluster's name.
    pub cluster: String,
    /// `online`, `offline` (no tunnel) or `error` (the leaf refused or did not answer in time).
    pub status: String,
    /// Why the nodes are missing, when they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The nodes (filtered by the query's labels, by the cluster that holds them).
    #[serde(default)]
    pub nodes: Vec<crate::resource::Resource>,
}

/// `GET /webapi/users/NAME/expand` (`tctl users expand`): what a user's roles mean for them,
/// templates expanded against their traits, before anyone logs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserExpansion {
    /// The user.
    pub user: String,
    /// Their roles.
    pub roles: Vec<String>,
    /// Their traits.
    pub traits: crate::identity::Traits,
    /// The logins their certificate would carry.
    pub logins: Vec<String>,
    /// Logins the templates made that no certificate may carry: (login, why).
    pub dropped_logins: Vec<(String, String)>,
    /// Each role, expanded.
    pub expanded: Vec<crate::rbac::RoleExpansion>,
}

/// `POST /webapi/rolemap/preview` (the web UI's role map editor): what remote roles map to
/// under a role map that is not stored, with the engine the leaf uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleMapPreviewRequest {
    /// The rules.
    pub role_map: Vec<crate::rolemap::RoleMapRule>,
    /// The remote roles.
    pub roles: Vec<String>,
}

/// The preview's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleMapPreview {
    /// The local roles, when some rule matches.
    pub mapped: Option<Vec<String>>,
    /// Why the map is invalid or maps nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Per remote role, the rules that matched: (remote role, rule number from 1, local roles).
    pub rules: Vec<(String, usize, Vec<String>)>,
}

/// `GET /webapi/whoami`: the caller as this cluster sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhoAmI {
    /// The user.
    pub user: String,
    /// The cluster that certified the user.
    pub user_cluster: String,
    /// The cluster answering.
    pub cluster: String,
    /// The roles on the certificate.
    pub cert_roles: Vec<String>,
    /// The roles that apply here (after the role_map for a user of a trusted cluster).
    pub roles: Vec<String>,
    /// The logins those roles allow here.
    pub logins: Vec<String>,
}

/// `GET /webapi/tunnels`: the tunnels the answering root proxy holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TunnelsInfo {
    /// The proxy's ID.
    pub proxy_id: String,
    /// Tunnels per leaf cluster.
    pub tunnels: std::collections::BTreeMap<String, usize>,
}
