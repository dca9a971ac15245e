//! The leaf's trust doctor (`tctl trusted-cluster doctor`): every step of the way to a root
//! checked from this daemon, as its agents would take it, one [`DoctorCheck`] per step with the
//! cause and the fix of a failure.
//!
//! The steps: the `trusted_cluster` itself (stored, enabled); DNS, TCP and TLS to
//! `web_proxy_addr` (the certificate judged as this daemon judges it: with `--insecure` a
//! self-signed or expired root is accepted, with a warning); the root's answer to a ping (its
//! name) and to a trust check (does it trust these CAs, is the token good, would a validation
//! clash); TCP and SSH to `tunnel_addr` (the root's host certificate, then this leaf's tunnel
//! login, with a fresh key and host certificate, hanging up before any control channel so no
//! tunnel is registered); the agents' tunnels to each root proxy and their last heartbeat; the
//! role map over given remote roles, and local roles that do not exist. A step that cannot run
//! because an earlier one failed is left out. Each network step has a deadline
//! ([`STEP_TIMEOUT`]).

use std::sync::Arc;
use std::time::Duration;

use russh::keys::PublicKey;
use tether_auth::AuthService;
use tether_auth::trust::doctor::{failed, passed};
use tether_client::client::{ApiClient, ServerTrust};
use tether_shared::api::{
    DoctorCheck, DoctorReport, DoctorRequest, PingResponse, TrustCheckRequest, TrustCheckResponse,
};
use tether_shared::resource::{CaType, Kind, Resource, TrustedCluster};
use tether_shared::rolemap::RoleMap;
use tether_storage::records;

/// The longest one network step may take.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(5);

/// A check that passed with a concern.
fn warned(check: &str, detail: String, warning: String) -> DoctorCheck {
    DoctorCheck { warning: Some(warning), ..passed(check, detail) }
}

/// Runs the checks for the trust `req` names (or carries).
pub async fn run(auth: &Arc<AuthService>, req: &DoctorRequest) -> Result<DoctorReport, tether_auth::AuthError> {
    let mut checks = Vec::new();
    let tc = match &req.resource {
        Some(tc) => {
            checks.push(passed("trust", format!("trusted_cluster {} from the file (not stored)", tc.metadata.name)));
            tc.clone()
        }
        None => {
            let all = auth.trust().trusted_clusters().await?;
            let found = match &req.name {
                Some(n) => all.into_iter().find(|tc| &tc.metadata.name == n),
                None if all.len() == 1 => all.into_iter().next(),
                None => {
                    return Err(tether_auth::AuthError::BadRequest(format!(
                        "this cluster has {} trusted clusters: name the root to check",
                        all.len()
                    )));
                }
            };
            let Some(tc) = found else {
                let name = req.name.clone().unwrap_or_default();
                checks.push(failed(
                    "trust",
                    format!("no trusted_cluster {name:?} is stored on this cluster"),
                    "create it (tctl create trusted_cluster.yaml), or check it first with \
                     tctl trusted-cluster doctor -f trusted_cluster.yaml"
                        .into(),
                ));
                return Ok(DoctorReport { cluster: auth.cluster_name().to_string(), peer: name, checks });
            };
            checks.push(if tc.spec.enabled {
                passed("trust", format!("trusted_cluster {} is enabled", tc.metadata.name))
            } else {
                failed(
                    "trust",
                    format!("trusted_cluster {} is disabled (enabled: false): no tunnel is kept", tc.metadata.name),
                    format!(
                        "tctl get tc/{0} > tc.yaml, set enabled: true, then tctl create --force tc.yaml",
                        tc.metadata.name
                    ),
                )
            });
            tc
        }
    };
    let web_ok = web(auth, &tc, &mut checks).await;
    if web_ok && tokio::time::timeout(2 * STEP_TIMEOUT, root_answers(auth, &tc, &mut checks)).await.is_err() {
        checks.push(failed(
            "root api",
            format!("{} did not answer within {}s", tc.spec.web_proxy_addr, 2 * STEP_TIMEOUT.as_secs()),
            "see the web checks: the root's proxy is slow or not the root's".into(),
        ));
    }
    tunnel(auth, &tc, &mut checks).await;
    links(auth, &tc, &mut checks);
    role_map(auth, &tc, &req.roles, &mut checks).await?;
    Ok(DoctorReport { cluster: auth.cluster_name().to_string(), peer: tc.metadata.name.clone(), checks })
}

/// DNS and TCP to `addr` for `what` (`web` or `tunnel`); the connection when both passed.
async fn reach(what: &str, addr: &str, fix: &str, checks: &mut Vec<DoctorCheck>) -> Option<tokio::net::TcpStream> {
    let resolved = tokio::time::timeout(STEP_TIMEOUT, tokio::net::lookup_host(addr)).await;
    let addrs: Vec<std::net::SocketAddr> = match resolved {
        Ok(Ok(a)) => a.collect(),
        Ok(Err(e)) => {
            checks.push(failed(&format!("{what} dns"), format!("cannot resolve {addr}: {e}"), fix.into()));
            return None;
        }
        Err(_) => {
            checks.push(failed(&format!("{what} dns"), format!("resolving {addr} took over 5s"), fix.into()));
            return None;
        }
    };
    let shown: Vec<String> = addrs.iter().map(ToString::to_string).collect();
    checks.push(passed(&format!("{what} dns"), format!("{addr} is {}", shown.join(", "))));
    match tokio::time::timeout(STEP_TIMEOUT, tokio::net::TcpStream::connect(addrs.as_slice())).await {
        Ok(Ok(tcp)) => {
            checks.push(passed(&format!("{what} tcp"), format!("connected to {addr}")));
            Some(tcp)
        }
        Ok(Err(e)) => {
            checks.push(failed(&format!("{what} tcp"), format!("cannot connect to {addr}: {e}"), fix.into()));
            None
        }
        Err(_) => {
            checks.push(failed(&format!("{what} tcp"), format!("no answer from {addr} within 5s"), fix.into()));
            None
        }
    }
}

/// Whether the first bytes a server sends unasked say it is an SSH server.
async fn speaks_ssh(tcp: &mut tokio::net::TcpStream) -> bool {
    let mut buf = [0u8; 4];
    matches!(tokio::time::timeout(Duration::from_millis(500), tcp.peek(&mut buf)).await, Ok(Ok(4)) if &buf == b"SSH-")
}

/// DNS, TCP and TLS to `web_proxy_addr`; whether this daemon would accept the root's HTTPS.
async fn web(auth: &AuthService, tc: &TrustedCluster, checks: &mut Vec<DoctorCheck>) -> bool {
    let addr = tc.spec.web_proxy_addr.as_str();
    let fix = "start the root's proxy, or set web_proxy_addr to the root's web address (its web_listen_addr or \
               public_addr, port 3080 by default)";
    let Some(mut tcp) = reach("web", addr, fix, checks).await else { return false };
    if speaks_ssh(&mut tcp).await {
        checks.push(failed(
            "web tls",
            format!("{addr} is an SSH server, not the root's HTTPS web address"),
            "web_proxy_addr is the root's web port (3080 by default); tunnel_addr is its tunnel port (3024)".into(),
        ));
        return false;
    }
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h).trim_matches(['[', ']']).to_string();
    let verdict = judge_certificate(tcp, &host).await;
    let insecure = auth.trust().insecure();
    match (verdict, insecure) {
        (Ok(()), _) => {
            checks.push(passed("web tls", format!("{addr} presents a certificate valid for {host} from a public CA")));
            true
        }
        (Err(Judged::Handshake(e)), _) => {
            checks.push(failed(
                "web tls",
                format!("no TLS handshake with {addr}: {e}"),
                "web_proxy_addr must be the root's HTTPS web address (port 3080 by default)".into(),
            ));
            false
        }
        (Err(Judged::Untrusted(why)), true) => {
            checks.push(warned(
                "web tls",
                format!("{addr} answers TLS; its certificate is accepted because this daemon runs with --insecure"),
                format!("the certificate would be refused without --insecure: {why}"),
            ));
            true
        }
        (Err(Judged::Untrusted(why)), false) => {
            checks.push(failed(
                "web tls",
                format!("this leaf does not accept the root's HTTPS certificate: {why}"),
                "give the root's proxy a certificate from a public CA for this name (proxy_service.https_keypairs), \
                 or, for testing only, start this leaf's tether daemon with --insecure"
                    .into(),
            ));
            false
        }
    }
}

/// Why a server's certificate was not accepted.
enum Judged {
    /// No TLS at all.
    Handshake(String),
    /// TLS, but the certificate does not verify against the public roots for `host`.
    Untrusted(String),
}

/// Completes a TLS handshake without judging, then judges the chain as a leaf without
/// `--insecure` would: public roots, the name, the validity window.
async fn judge_certificate(tcp: tokio::net::TcpStream, host: &str) -> Result<(), Judged> {
    let any = tether_client::client::tls_config(&ServerTrust::Insecure, None)
        .map_err(|e| Judged::Handshake(e.to_string()))?;
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|_| Judged::Untrusted(format!("{host:?} is not a valid server name")))?;
    let tls =
        tokio::time::timeout(STEP_TIMEOUT, tokio_rustls::TlsConnector::from(Arc::new(any)).connect(name.clone(), tcp))
            .await
            .map_err(|_| Judged::Handshake("no answer within 5s".into()))?
            .map_err(|e| Judged::Handshake(e.to_string()))?;
    let chain = tls.get_ref().1.peer_certificates().map(<[_]>::to_vec).unwrap_or_default();
    let Some((end, intermediates)) = chain.split_first() else {
        return Err(Judged::Untrusted("it sent no certificate".into()));
    };
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| Judged::Handshake(e.to_string()))?;
    let now = rustls::pki_types::UnixTime::now();
    use rustls::client::danger::ServerCertVerifier;
    verifier
        .verify_server_cert(end, intermediates, &name, &[], now)
        .map(|_| ())
        .map_err(|e| Judged::Untrusted(describe(&e)))
}

/// A certificate error in an operator's words.
fn describe(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(C::Expired) => "the certificate has expired".into(),
        rustls::Error::InvalidCertificate(C::ExpiredContext { not_after, .. }) => {
            let at = time::OffsetDateTime::from_unix_timestamp(i64::try_from(not_after.as_secs()).unwrap_or(0))
                .map_or_else(|_| "?".to_string(), |t| t.to_string());
            format!("the certificate expired at {at}")
        }
        rustls::Error::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => {
            "the certificate is not valid yet (check the clocks)".into()
        }
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => {
            "it is signed by a CA no public root vouches for (self-signed, like a Tether proxy's own)".into()
        }
        rustls::Error::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            "the certificate is not issued for the name in web_proxy_addr".into()
        }
        other => other.to_string(),
    }
}

/// What the root says: its name (ping) and whether it trusts this leaf (the trust check).
async fn root_answers(auth: &AuthService, tc: &TrustedCluster, checks: &mut Vec<DoctorCheck>) {
    let addr = tc.spec.web_proxy_addr.as_str();
    let trust = if auth.trust().insecure() { ServerTrust::Insecure } else { ServerTrust::WebPki };
    let client = match ApiClient::new(addr, &trust, None) {
        Ok(c) => c,
        Err(e) => {
            checks.push(failed("root api", e.to_string(), "see the web tls check".into()));
            return;
        }
    };
    match client.get::<PingResponse>("/webapi/ping").await {
        Ok(ping) if ping.cluster_name == tc.metadata.name => {
            checks.push(passed("root api", format!("{addr} is the proxy of cluster {}", ping.cluster_name)));
        }
        Ok(ping) => {
            checks.push(failed(
                "root api",
                format!("{addr} is the proxy of cluster {:?}, not {:?}", ping.cluster_name, tc.metadata.name),
                "the trusted_cluster's name must be the root's cluster name; or web_proxy_addr points at another cluster"
                    .into(),
            ));
            return;
        }
        Err(e) => {
            checks.push(failed("root api", format!("GET /webapi/ping: {e}"), "see the web tls check".into()));
            return;
        }
    }
    let host_keys = auth.trust().own_cas().map_or_else(
        |_| Vec::new(),
        |cas| cas.into_iter().filter(|c| c.spec.ca_type == CaType::Host).flat_map(|c| c.spec.trusted().ssh).collect(),
    );
    let token = Some(tc.spec.token.clone()).filter(|t| !t.is_empty());
    let req = TrustCheckRequest { leaf_cluster: auth.cluster_name().to_string(), host_keys, token };
    let answer: TrustCheckResponse = match client.post("/webapi/trustedclusters/check", &req).await {
        Ok(a) => a,
        Err(e) => {
            checks.push(warned("root trust", "the root did not answer the trust check".into(), e.to_string()));
            return;
        }
    };
    let leaf = auth.cluster_name();
    checks.push(if answer.trusted {
        passed("root trust", format!("cluster {} trusts {leaf} with this leaf's current CAs", answer.root_cluster))
    } else {
        failed(
            "root trust",
            format!(
                "cluster {} has no remote_cluster {leaf} with this leaf's CAs: it was removed on the root \
                 (tctl rm rc/{leaf}), or the trust was never created",
                answer.root_cluster
            ),
            "get a fresh token on the root (tctl tokens add --type=trusted_cluster), put it in the \
             trusted_cluster's spec.token, and run tctl create --force trusted_cluster.yaml here"
                .into(),
        )
    });
    if let Some(state) = answer.token {
        let detail = format!("the trusted_cluster's token: {state}");
        checks.push(match answer.refusal {
            Some(why) => failed("token", format!("{detail}; a validation would fail: {why}"), why.clone()),
            None if state.starts_with("not accepted") && !answer.trusted => {
                failed("token", detail, "get a fresh token on the root: tctl tokens add --type=trusted_cluster".into())
            }
            None if state.starts_with("not accepted") => {
                passed("token", format!("{detail} (not needed: the trust is established)"))
            }
            None => passed("token", detail),
        });
    }
}

/// TCP and SSH to `tunnel_addr`: the root's host certificate, and this leaf's tunnel login.
async fn tunnel(auth: &AuthService, tc: &TrustedCluster, checks: &mut Vec<DoctorCheck>) {
    let addr = tc.spec.tunnel_addr.as_str();
    let fix = "start the root's proxy, or set tunnel_addr to the root's tunnel address (its tunnel_listen_addr or \
               tunnel_public_addr, port 3024 by default)";
    let Some(mut tcp) = reach("tunnel", addr, fix, checks).await else { return };
    if !speaks_ssh(&mut tcp).await {
        checks.push(failed(
            "tunnel ssh",
            format!("{addr} does not speak SSH (is it the root's web port?)"),
            "tunnel_addr is the root's tunnel port (3024 by default); web_proxy_addr is its web port (3080)".into(),
        ));
        return;
    }
    let root = tc.metadata.name.as_str();
    let cas: Vec<PublicKey> = match auth.trust().ca_of(root, CaType::Host).await {
        Ok(Some(ca)) => ca.spec.trusted().ssh.iter().filter_map(|k| PublicKey::from_openssh(k).ok()).collect(),
        _ => Vec::new(),
    };
    if cas.is_empty() {
        checks.push(failed(
            "tunnel ssh",
            format!("{addr} speaks SSH, but this leaf holds no host CA of {root} to check it with"),
            "the trust was never established here: create the trusted_cluster (tctl create trusted_cluster.yaml)"
                .into(),
        ));
        return;
    }
    let probe = super::link::probe_login(auth, tcp, root, cas);
    match tokio::time::timeout(STEP_TIMEOUT, probe).await {
        Ok(Ok(())) => checks.push(passed(
            "tunnel ssh",
            format!("{addr}: the root's host certificate verified, and it accepted this leaf's tunnel login"),
        )),
        Ok(Err(super::link::ProbeError::Untrusted(why))) => checks.push(failed(
            "tunnel ssh",
            format!("{addr}: the server's host certificate is not {root}'s: {why}"),
            "tunnel_addr must lead to the root's proxies; after a host CA rotation there, the leaf catches up \
             over its tunnel"
                .into(),
        )),
        Ok(Err(super::link::ProbeError::Refused)) => checks.push(failed(
            "tunnel ssh",
            format!("{addr}: the root refused this leaf's tunnel login"),
            format!(
                "the root no longer holds this leaf's CAs (removed with tctl rm rc/{}?): create the trust again \
                 with a fresh token and tctl create --force trusted_cluster.yaml",
                auth.cluster_name()
            ),
        )),
        Ok(Err(super::link::ProbeError::Failed(e))) => {
            checks.push(failed("tunnel ssh", format!("{addr}: {e}"), fix.into()));
        }
        Err(_) => checks.push(failed("tunnel ssh", format!("{addr}: no SSH login within 5s"), fix.into())),
    }
}

/// The tunnels this daemon's agents hold to the root's proxies now.
fn links(auth: &AuthService, tc: &TrustedCluster, checks: &mut Vec<DoctorCheck>) {
    let root = tc.metadata.name.as_str();
    let links = auth.trust().links().get(root);
    let now = time::OffsetDateTime::now_utc();
    if links.tunnels.is_empty() {
        let why = links.last_error.map_or_else(
            || "no agent has connected yet".to_string(),
            |(at, e)| format!("last failure {}s ago: {e}", (now - at).whole_seconds()),
        );
        checks.push(failed(
            "tunnels",
            format!("this daemon holds no tunnel to {root}: {why}"),
            "see the checks above; an enabled trust reconnects by itself within 30s of a fix".into(),
        ));
        return;
    }
    for (proxy, link) in &links.tunnels {
        checks.push(passed(
            &format!("tunnel to proxy {proxy}"),
            format!(
                "up for {}s, last heartbeat {}s ago",
                (now - link.since).whole_seconds(),
                (now - link.last_heartbeat).whole_seconds()
            ),
        ));
    }
}

/// The role map: compiled, the local roles its rules name exist, and what `roles` map to.
async fn role_map(
    auth: &AuthService,
    tc: &TrustedCluster,
    roles: &[String],
    checks: &mut Vec<DoctorCheck>,
) -> Result<(), tether_auth::AuthError> {
    let map = match RoleMap::compile(&tc.spec.role_map) {
        Ok(m) => m,
        Err(e) => {
            checks.push(failed("role map", format!("spec.role_map: {e}"), "fix the rule and create it again".into()));
            return Ok(());
        }
    };
    let existing: std::collections::HashSet<String> = records::list(auth.backend(), &records::prefix(Kind::Role))
        .await?
        .into_iter()
        .filter_map(|r| match r {
            Resource::Role(role) => Some(role.metadata.name),
            _ => None,
        })
        .collect();
    // Local roles named literally by a rule (a `$1` is filled in per remote role).
    let mut unknown: Vec<String> = tc
        .spec
        .role_map
        .iter()
        .flat_map(|r| r.local.iter())
        .filter(|l| !l.contains('$') && !existing.contains(*l))
        .cloned()
        .collect();
    unknown.sort();
    unknown.dedup();
    let rules = tc.spec.role_map.len();
    if roles.is_empty() {
        let detail = format!("{rules} rule(s) compiled; pass --roles=ROLE,... to see what remote roles map to");
        checks.push(match (rules, unknown.is_empty()) {
            (0, _) => failed(
                "role map",
                "the role_map is empty: it maps every remote role to nothing".into(),
                "add rules (remote: ROOT_ROLE, local: [LEAF_ROLE])".into(),
            ),
            (_, true) => passed("role map", detail),
            (_, false) => warned(
                "role map",
                detail,
                format!(
                    "local roles that do not exist here: {} (users mapped to them get nothing)",
                    unknown.join(", ")
                ),
            ),
        });
        return Ok(());
    }
    let mapped = map.map(roles).unwrap_or_default();
    let missing: Vec<String> = mapped.iter().filter(|r| !existing.contains(*r)).cloned().collect();
    let shown = format!("remote roles [{}] map to [{}]", roles.join(", "), mapped.join(", "));
    checks.push(if mapped.is_empty() {
        failed(
            "role map",
            format!("remote roles [{}] match no rule: they map to nothing", roles.join(", ")),
            "add a rule for them (tctl trusted-cluster map-roles shows which rule matches what)".into(),
        )
    } else if !missing.is_empty() {
        failed(
            "role map",
            format!("{shown}; these local roles do not exist here: {}", missing.join(", ")),
            format!(
                "create them on this cluster (tctl create role.yaml), or map to roles that exist: {}",
                missing.join(", ")
            ),
        )
    } else {
        passed("role map", shown)
    });
    Ok(())
}
