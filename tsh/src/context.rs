//! What every `tsh` command resolves before it acts: who the user is (the credentials of `-i` or
//! the current profile), which proxy to use (its web and SSH addresses), which cluster the
//! command targets (`--cluster`, or the one `tsh login --cluster` selected) with the
//! credentials bound to that leaf, and which node a `[LOGIN@]HOST` names ([`NodeTarget`]).
//!
//! It also owns talking to a leaf's web API ([`leaf_get`]): the root lists the clusters the
//! user's roles may see (`cluster_labels`), with each leaf's host and TLS CAs; a leaf's API is
//! reached through the root's SSH relay (subsystem `proxy:@web:0@LEAF`), the leaf's tunnel, and
//! then TLS end to end between `tsh` and the leaf: the leaf's certificate is checked against its
//! TLS CA and `tsh` presents the root-issued client certificate, which the leaf maps through its
//! role map.
//!
//! The command modules (login.rs, clusters.rs, nodes.rs, multi.rs, scp.rs) depend on this
//! module and not on each other; it depends only on cli.rs and ssh.rs.

use anyhow::{Context, Result, bail};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use tether_cli::profile;
use tether_client::client::ServerTrust;
use tether_client::credentials::Credentials;
use tether_shared::api::{ClusterInfo, ErrorBody};
use tether_shared::resource::{Node, Resource};

use crate::cli::Global;
use crate::ssh::Keys;

/// A node as the user named it on the command line: `tsh ssh -l LOGIN -p PORT --cluster=C DEST`.
#[derive(Debug, Clone, Copy)]
pub struct NodeAddress<'a> {
    /// `[LOGIN@]HOST`, or `[LOGIN@]key=value[,...]` for every node with those labels.
    pub destination: &'a str,
    /// `-l LOGIN` (the destination's `LOGIN@` wins).
    pub login: Option<&'a str>,
    /// `--cluster` (default: the one logged in to).
    pub cluster: Option<&'a str>,
    /// The node's SSH port.
    pub port: u16,
}

/// The credentials to act with: `-i FILE`, or the current profile (with whether it is insecure).
pub fn credentials(global: &Global) -> Result<(Credentials, bool)> {
    if let Some(path) = &global.identity {
        return Ok((Credentials::load(path)?, global.insecure));
    }
    let profile = current().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((profile.credentials.clone(), profile.insecure || global.insecure))
}

/// [`credentials`] for a command that uses them: a profile whose certificate has expired says
/// so, with the command that fixes it, instead of a refusal from a server.
pub fn live_credentials(global: &Global) -> Result<(Credentials, bool)> {
    let (creds, insecure) = credentials(global)?;
    if let Ok(cert) = tether_shared::ssh_cert::cert_from_openssh(&creds.ssh_cert) {
        let until = time::OffsetDateTime::from_unix_timestamp(i64::try_from(cert.valid_before()).unwrap_or(i64::MAX))
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        if until <= time::OffsetDateTime::now_utc() {
            let when = until
                .format(&time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC"))
                .unwrap_or_default();
            let fix = match &global.identity {
                Some(path) => format!("get a new identity file (tctl auth sign --out={})", path.display()),
                None => format!("run tsh login --proxy={} --user={}", creds.proxy, creds.user),
            };
            bail!("your certificate for {} at {} expired at {when}: {fix}", creds.user, creds.proxy);
        }
    }
    Ok((creds, insecure))
}

/// The current profile, read once per process: a command asks for its credentials, its
/// selected cluster and its leaf-bound certificates, and each read is three files and a parse.
/// Commands that rewrite the profile (`tsh login`) read it themselves.
fn current() -> Result<&'static profile::Profile, &'static profile::ProfileError> {
    static CURRENT: std::sync::OnceLock<Result<profile::Profile, profile::ProfileError>> = std::sync::OnceLock::new();
    CURRENT.get_or_init(|| profile::load_current(&profile::home())).as_ref()
}

/// The clusters the user may see: the root first. With a profile (not `-i`), the leaves are
/// cached in it for [`NodeTarget::resolve`].
pub async fn fetch(global: &Global, creds: &Credentials, insecure: bool) -> Result<Vec<ClusterInfo>> {
    let all: Vec<ClusterInfo> = creds.api_client(insecure)?.get("/webapi/clusters").await?;
    // Rows read without checking the proxy's certificate (`--insecure` on this command) are not
    // kept for later, verified runs.
    if global.identity.is_none()
        && !global.insecure
        && let Err(e) = profile::save_leaf_clusters(&profile::home(), &creds.proxy, &all)
    {
        // Only slower next time.
        tracing::debug!("cannot cache the leaf clusters: {e}");
    }
    if global.identity.is_none()
        && let Some(own) = all.iter().find(|c| c.name == creds.cluster)
        && tls_rotated(creds, own)
    {
        // The TLS CA is rotating: new certificates now, while the old ones still count (after
        // standby the old client certificate opens nothing, not even a renewal).
        match renew_profile(creds, insecure).await {
            Ok(_) => tracing::debug!("renewed the profile's certificates and CAs: the cluster's CAs rotated"),
            Err(e) => tracing::warn!("the cluster's CAs are rotating, and renewing your certificates failed: {e:#}"),
        }
    }
    Ok(all)
}

/// Whether the cluster's TLS CAs (`own`, the key that signs clients first) or host CAs are not
/// the ones `creds` trust (a rotation added a key, or dropped one at standby), or its client
/// certificate is not from the key that signs clients now.
fn tls_rotated(creds: &Credentials, own: &ClusterInfo) -> bool {
    use rustls_pki_types::pem::PemObject;
    let trim = |v: &[String]| v.iter().map(|p| p.trim().to_string()).collect::<std::collections::BTreeSet<_>>();
    if own.tls_cas.is_empty() || trim(&own.tls_cas) != trim(&creds.tls_cas) {
        return !own.tls_cas.is_empty();
    }
    let key = |k: &str| k.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    let listed: std::collections::BTreeSet<String> = own.host_cas.iter().map(|k| key(k)).collect();
    let held: std::collections::BTreeSet<String> = creds.host_cas.iter().map(|k| key(&k.public_key)).collect();
    if !listed.is_empty() && listed != held {
        return true;
    }
    let der = |pem: &str| rustls_pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).ok().map(|d| d.into_owned());
    let (Some(signer), Some(mine)) = (own.tls_cas.first().and_then(|p| der(p)), der(&creds.tls_cert)) else {
        return false;
    };
    tether_shared::tls_cert::verify_client_cert(&mine, &[signer], std::time::SystemTime::now()).is_err()
}

/// The profile's certificates and CAs again from the root (`POST /webapi/certs/renew`, the same
/// key), saved in the profile when it is still the login of `creds`.
pub async fn renew_profile(creds: &Credentials, insecure: bool) -> Result<Credentials> {
    let resp: tether_shared::api::LoginResponse =
        creds.api_client(insecure)?.post("/webapi/certs/renew", &serde_json::json!({})).await?;
    let mut renewed = creds.clone();
    renewed.ssh_cert = resp.ssh_cert;
    renewed.tls_cert = resp.tls_cert;
    renewed.tls_cas = resp.tls_cas;
    renewed.host_cas = resp.host_cas;
    if !profile::save_renewed(&profile::home(), &creds.ssh_cert, &renewed)? {
        bail!("another tsh login replaced this profile meanwhile");
    }
    Ok(renewed)
}

/// Leaf `name`'s row from the profile's cache, when fresh (never with `-i`).
fn cached_leaf(global: &Global, creds: &Credentials, name: &str) -> Option<ClusterInfo> {
    if global.identity.is_some() {
        return None;
    }
    profile::cached_leaf(&profile::home(), &creds.proxy, name)
}

/// The leaf a command targets (as [`target`]), taken from the profile's cache when fresh; the
/// flag says whether it was.
pub async fn target_cached(
    global: &Global,
    creds: &Credentials,
    insecure: bool,
    requested: Option<&str>,
) -> Result<(Option<ClusterInfo>, bool)> {
    match wanted(global, creds, requested).and_then(|name| cached_leaf(global, creds, &name)) {
        Some(info) => Ok((Some(info), true)),
        None => Ok((target(global, creds, insecure, requested).await?, false)),
    }
}

/// A cached leaf-bound certificate is renewed once it has less than this left.
pub const BOUND_RENEW_MARGIN: std::time::Duration = std::time::Duration::from_secs(300);

/// The user's credentials for `leaf`: the same key, with certificates the root bound to that
/// leaf (after checking the user's `cluster_labels` against the leaf's labels). Cached in the
/// profile and renewed when less than [`BOUND_RENEW_MARGIN`] is left; with `-i`, asked for each
/// time. Leaves accept nothing else from the root's users.
pub async fn bound(global: &Global, creds: &Credentials, insecure: bool, leaf: &str) -> Result<Credentials> {
    let home = tether_cli::profile::home();
    let with = |certs: &tether_cli::profile::LeafCerts| Credentials {
        ssh_cert: certs.ssh_cert.clone(),
        tls_cert: certs.tls_cert.clone(),
        ..creds.clone()
    };
    let fresh = |certs: &tether_cli::profile::LeafCerts| time_left(&certs.ssh_cert) > BOUND_RENEW_MARGIN;
    // Only from a profile that is still the login `creds` come from (a `tsh login` may have
    // replaced it since): the one read at the start when it holds a fresh certificate, else the
    // file (which an earlier call of this process may have updated).
    let same_login = |p: &tether_cli::profile::Profile| p.credentials.ssh_cert == creds.ssh_cert;
    let cached = match &global.identity {
        Some(_) => None,
        None => current()
            .ok()
            .filter(|p| same_login(p))
            .and_then(|p| p.leaf_certs.get(leaf).filter(|c| fresh(c)).cloned())
            .or_else(|| {
                let mut profile = tether_cli::profile::load_current(&home).ok().filter(same_login)?;
                profile.leaf_certs.remove(leaf).filter(fresh)
            }),
    };
    if let Some(certs) = cached {
        return Ok(with(&certs));
    }
    let key = russh::keys::PrivateKey::from_openssh(&creds.private_key).context("cannot read the private key")?;
    let req =
        tether_shared::api::LeafCertRequest { cluster: leaf.to_string(), public_key: key.public_key().to_openssh()? };
    let resp: tether_shared::api::LoginResponse = creds
        .api_client(insecure)?
        .post("/webapi/certs/leaf", &req)
        .await
        .with_context(|| format!("the root did not issue a certificate for cluster {leaf}"))?;
    let certs = tether_cli::profile::LeafCerts { ssh_cert: resp.ssh_cert, tls_cert: resp.tls_cert };
    if global.identity.is_none() {
        tether_cli::profile::save_leaf_certs(&home, &creds.proxy, &creds.ssh_cert, leaf, certs.clone())?;
    }
    Ok(with(&certs))
}

/// `creds` for the target of a command: the root's, or for a leaf the ones bound to it.
pub async fn for_target(
    global: &Global,
    creds: Credentials,
    insecure: bool,
    leaf: Option<&ClusterInfo>,
) -> Result<Credentials> {
    match leaf {
        Some(leaf) => bound(global, &creds, insecure, &leaf.name).await,
        None => Ok(creds),
    }
}

/// How long an OpenSSH certificate has left (zero when unreadable or expired).
fn time_left(ssh_cert: &str) -> std::time::Duration {
    let Ok(cert) = tether_shared::ssh_cert::cert_from_openssh(ssh_cert) else { return std::time::Duration::ZERO };
    let until = std::time::UNIX_EPOCH + std::time::Duration::from_secs(cert.valid_before());
    until.duration_since(std::time::SystemTime::now()).unwrap_or_default()
}

/// The leaf `tsh login --cluster` selected in the current profile (never with `-i`).
pub fn selected(global: &Global) -> Option<String> {
    if global.identity.is_some() {
        return None;
    }
    current().ok().and_then(|p| p.selected_cluster.clone())
}

/// The leaf a command targets: `--cluster`, else the selected one; `None` for the root.
fn wanted(global: &Global, creds: &Credentials, requested: Option<&str>) -> Option<String> {
    requested.map(str::to_string).or_else(|| selected(global)).filter(|c| *c != creds.cluster)
}

/// The cluster a command targets: `--cluster`, else the selected one, else the root. `None` for
/// the root; the leaf's row otherwise, as the root lists it now.
pub async fn target(
    global: &Global,
    creds: &Credentials,
    insecure: bool,
    requested: Option<&str>,
) -> Result<Option<ClusterInfo>> {
    match wanted(global, creds, requested) {
        None => Ok(None),
        Some(c) => {
            let all = fetch(global, creds, insecure).await?;
            match all.into_iter().find(|info| info.name == c && info.cluster_type == "leaf") {
                Some(info) => Ok(Some(info)),
                None => {
                    bail!(
                        "cluster {c:?} is not a leaf of {} that you may see (tsh clusters lists them; if you were \
                         given access since you logged in, run tsh login again)",
                        creds.cluster
                    )
                }
            }
        }
    }
}

/// The SSH proxy address of the credentials (asking `/webapi/ping` when it is not stored).
pub async fn ssh_proxy(creds: &Credentials, insecure: bool) -> Result<String> {
    if !creds.ssh_proxy.is_empty() {
        return Ok(creds.ssh_proxy.clone());
    }
    let ping = creds.api_client(insecure)?.ping().await?;
    Ok(if ping.proxy.ssh.ssh_public_addr.is_empty() {
        ping.proxy.ssh.listen_addr
    } else {
        ping.proxy.ssh.ssh_public_addr
    })
}

/// The nodes the user may log in to, in the root or in a leaf.
pub(crate) async fn list_nodes(creds: &Credentials, insecure: bool, leaf: Option<&ClusterInfo>) -> Result<Vec<Node>> {
    let all: Vec<Resource> = match leaf {
        None => creds.api_client(insecure)?.get("/webapi/nodes").await?,
        Some(leaf) => leaf_get(creds, insecure, leaf, "/webapi/nodes").await?,
    };
    Ok(all
        .into_iter()
        .filter_map(|r| match r {
            Resource::Node(n) => Some(n),
            _ => None,
        })
        .collect())
}

/// Splits `[LOGIN@]HOST`.
pub(crate) fn split_destination(destination: &str) -> (Option<&str>, &str) {
    match destination.rsplit_once('@') {
        Some((login, host)) => (Some(login), host),
        None => (None, destination),
    }
}

/// The default login: the first real principal of the certificate.
pub(crate) fn default_login(creds: &Credentials) -> Result<String> {
    let cert = tether_shared::ssh_cert::cert_from_openssh(&creds.ssh_cert)?;
    cert.valid_principals()
        .iter()
        .find(|p| !p.starts_with('-'))
        .cloned()
        .context("your certificate allows no logins; ask for one (traits.logins), or pass -l LOGIN")
}

/// Refuses, before dialling, a login the certificate does not carry: every node would refuse
/// it. The user reads the logins the certificate has, its expiry, and how to get new ones.
fn check_login(creds: &Credentials, login: &str, global: &Global) -> Result<()> {
    let cert = tether_shared::ssh_cert::cert_from_openssh(&creds.ssh_cert)?;
    if cert.valid_principals().iter().any(|p| p == login) {
        return Ok(());
    }
    let logins: Vec<&str> =
        cert.valid_principals().iter().map(String::as_str).filter(|p| !p.starts_with('-')).collect();
    let until = time::OffsetDateTime::from_unix_timestamp(i64::try_from(cert.valid_before()).unwrap_or(i64::MAX))
        .ok()
        .and_then(|t| t.format(&time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC")).ok())
        .unwrap_or_default();
    let fix = match &global.identity {
        Some(path) => format!("ask for a new identity file with it (tctl auth sign --out={})", path.display()),
        None => format!("if it was given to you since you logged in, run tsh login --proxy={} again", creds.proxy),
    };
    bail!("login {login:?} is not in your certificate (it allows [{}], until {until}); {fix}", logins.join(", "))
}

/// A node given by address is verified against its name: find it in the inventory.
async fn node_name_for(creds: &Credentials, insecure: bool, leaf: Option<&ClusterInfo>, host: &str) -> Result<String> {
    if host.parse::<std::net::IpAddr>().is_err() {
        return Ok(host.to_string());
    }
    let nodes = list_nodes(creds, insecure, leaf).await?;
    nodes
        .iter()
        .find(|n| n.spec.addr.rsplit_once(':').is_some_and(|(h, _)| h == host))
        .map(|n| n.metadata.name.clone())
        .with_context(|| format!("no node you may see has the address {host}"))
}

/// Where a node is and how to reach it: the proxy's SSH address, the keys (checking the node
/// against its cluster's host CAs), and the node's name, cluster and login.
///
/// A leaf's host CAs come from the profile's cache when it is fresh, so reaching a leaf node
/// needs no call to the root's web API; a node whose host certificate fails against cached CAs
/// makes [`NodeTarget::refresh_after`] ask the root once before any error (a leaf that rotated its
/// CA never strands a user).
pub struct NodeTarget {
    /// The root proxy's SSH address.
    pub proxy: String,
    /// The user's keys.
    pub keys: Keys,
    /// The node's name.
    pub host: String,
    /// The cluster it is in.
    pub cluster: String,
    /// The Unix login.
    pub login: String,
    /// The root credentials (to ask the root again).
    root: Credentials,
    insecure: bool,
    /// Whether the leaf's CAs came from the profile's cache (and were not checked since).
    leaf_cached: bool,
    /// Whether the certificates were renewed after a refusal already (once per command).
    renewed: bool,
}

impl NodeTarget {
    /// Resolves `[LOGIN@]HOST` (or `login`) in `cluster` (default: the selected one).
    pub async fn resolve(
        global: &Global,
        cluster: Option<&str>,
        login: Option<&str>,
        destination: &str,
    ) -> Result<NodeTarget> {
        let (root, insecure) = live_credentials(global)?;
        let (dest_login, host) = split_destination(destination);
        // A node given by address is looked up in the leaf's inventory, over TLS checked against
        // its CA: ask the root for a fresh row then.
        let (leaf, leaf_cached) = if host.parse::<std::net::IpAddr>().is_err() {
            target_cached(global, &root, insecure, cluster).await?
        } else {
            (target(global, &root, insecure, cluster).await?, false)
        };
        let creds = for_target(global, root.clone(), insecure, leaf.as_ref()).await?;
        let cluster = leaf.as_ref().map_or_else(|| creds.cluster.clone(), |l| l.name.clone());
        let login = match login.or(dest_login) {
            Some(l) => l.to_string(),
            None => default_login(&creds)?,
        };
        check_login(&creds, &login, global)?;
        let host = node_name_for(&creds, insecure, leaf.as_ref(), host).await?;
        let keys = match &leaf {
            Some(leaf) => Keys::from(&creds)?.for_leaf(leaf)?,
            None => Keys::from(&creds)?,
        };
        let proxy = ssh_proxy(&creds, insecure).await?;
        tracing::debug!(leaf_cached, "{login}@{host} in {cluster}, through {proxy}");
        Ok(NodeTarget { proxy, keys, host, cluster, login, root, insecure, leaf_cached, renewed: false })
    }

    /// After `err`: when the node's host certificate did not verify against leaf CAs from the
    /// profile's cache, asks the root for the leaf's row again (once). `Ok` when its host CAs
    /// changed, so that the caller tries again; otherwise the error to report (`err`, saying
    /// why asking again did not help when it did not).
    pub async fn refresh_after(&mut self, global: &Global, err: anyhow::Error) -> Result<()> {
        // A refusal a rotation explains, or a node of this cluster presenting a certificate from
        // a host key the profile does not know yet: renew once.
        let own_node = crate::ssh::untrusted_node(&err) && self.cluster == self.root.cluster;
        if (crate::ssh::stale(&err) || own_node) && !self.renewed {
            self.renewed = true;
            return self.renew(global, err).await;
        }
        if !self.leaf_cached || !crate::ssh::untrusted_node(&err) {
            return Err(err);
        }
        self.leaf_cached = false;
        let all = match fetch(global, &self.root, self.insecure).await {
            Ok(all) => all,
            Err(e) => {
                return Err(err.context(format!(
                    "(the CAs of {} came from tsh's cache; asking the root again failed: {e:#})",
                    self.cluster
                )));
            }
        };
        match all.into_iter().find(|c| c.name == self.cluster && c.cluster_type == "leaf") {
            Some(info) if self.keys.refresh_leaf(&info) => Ok(()),
            Some(_) => Err(err),
            None => Err(err.context(format!("(the root no longer lists cluster {})", self.cluster))),
        }
    }

    /// After a refusal a CA rotation explains: the profile's certificates and CAs again from the
    /// root (`POST /webapi/certs/renew`, the same key), and for a leaf a new bound certificate;
    /// `Ok` when the caller should try again, else `err` with why renewing did not help.
    async fn renew(&mut self, global: &Global, err: anyhow::Error) -> Result<()> {
        if global.identity.is_some() {
            return Err(err);
        }
        let root = match renew_profile(&self.root, self.insecure).await {
            Ok(root) => root,
            Err(e) => return Err(err.context(format!("(renewing your certificates failed too: {e:#}; run tsh login)"))),
        };
        tracing::debug!("renewed the profile's certificates after a refusal: {err:#}");
        let leaf = if self.cluster == root.cluster {
            None
        } else {
            Some(
                fetch(global, &root, self.insecure)
                    .await?
                    .into_iter()
                    .find(|c| c.name == self.cluster)
                    .with_context(|| format!("the root no longer lists cluster {}", self.cluster))?,
            )
        };
        let creds = match &leaf {
            Some(leaf) => bound(global, &root, self.insecure, &leaf.name).await?,
            None => root.clone(),
        };
        self.keys = match &leaf {
            Some(leaf) => Keys::from(&creds)?.for_leaf(leaf)?,
            None => Keys::from(&creds)?,
        };
        self.root = root;
        self.leaf_cached = false;
        Ok(())
    }

    /// Connects to the node on `port` (asking the root once more when cached CAs fail).
    pub async fn connect(&mut self, global: &Global, port: u16) -> Result<crate::ssh::NodeConnection> {
        match crate::ssh::connect(&self.proxy, &self.keys, &self.host, port, &self.cluster, &self.login).await {
            Err(e) => {
                self.refresh_after(global, e).await?;
                crate::ssh::connect(&self.proxy, &self.keys, &self.host, port, &self.cluster, &self.login).await
            }
            connected => connected,
        }
    }
}

/// `GET path` on a leaf's web API, through the root's relay and the leaf's tunnel.
pub async fn leaf_get<T: DeserializeOwned>(
    creds: &Credentials,
    insecure: bool,
    leaf: &ClusterInfo,
    path: &str,
) -> Result<T> {
    let keys = Keys::from(creds)?;
    let proxy = ssh_proxy(creds, insecure).await?;
    let cert = tether_shared::ssh_cert::cert_from_openssh(&creds.ssh_cert)?;
    let login = cert.valid_principals().first().cloned().unwrap_or_else(|| creds.user.clone());
    let identity = creds.client_identity()?;
    let config = tether_client::client::tls_config(&ServerTrust::Cas(leaf.tls_cas.clone()), Some(&identity))?;
    let name = rustls::pki_types::ServerName::try_from(leaf.name.clone())
        .with_context(|| format!("{:?} is not a valid TLS server name", leaf.name))?;
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    // A leaf under load may shed the handshake: dial again a few times, with jittered backoff.
    let mut attempt = 0;
    let (_proxy, tls) = loop {
        let tried = async {
            let (proxy, stream) =
                crate::ssh::dial_node(&proxy, tunnel_web_target(), 0, &leaf.name, &login, &keys).await?;
            match connector.connect(name.clone(), stream).await {
                Ok(tls) => Ok((proxy, tls)),
                Err(e) if !tether_client::client::is_verification_failure(&e.to_string()) => {
                    Err(crate::ssh::Dropped(format!("TLS with cluster {}'s web API failed: {e}", leaf.name)).into())
                }
                Err(e) => {
                    Err(anyhow::Error::new(e).context(format!("TLS with cluster {}'s web API failed", leaf.name)))
                }
            }
        };
        match tried.await {
            Ok(pair) => break pair,
            Err(e) if attempt < tether_client::client::CONNECT_RETRIES && crate::ssh::dropped(&e) => {
                tokio::time::sleep(tether_client::client::retry_delay(attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    };
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
        .await
        .with_context(|| format!("HTTP with cluster {} failed", leaf.name))?;
    let driver = tokio::spawn(conn);
    let req = hyper::Request::get(path)
        .header(hyper::header::HOST, leaf.name.as_str())
        .body(http_body_util::Empty::<hyper::body::Bytes>::new())?;
    let resp = sender.send_request(req).await.with_context(|| format!("request to cluster {} failed", leaf.name))?;
    let status = resp.status();
    let body = resp.into_body().collect().await.context("reading the leaf's answer")?.to_bytes();
    driver.abort();
    if !status.is_success() {
        let msg = serde_json::from_slice::<ErrorBody>(&body)
            .map(|b| b.error)
            .unwrap_or_else(|_| format!("HTTP {status}: {}", String::from_utf8_lossy(&body).trim()));
        bail!("cluster {}: {msg}", leaf.name);
    }
    serde_json::from_slice(&body).with_context(|| format!("unexpected answer from cluster {}", leaf.name))
}

/// The relay target that means a leaf's web API.
fn tunnel_web_target() -> &'static str {
    "@web"
}
