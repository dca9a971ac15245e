//! Leaf clusters from `tsh`: `tsh clusters`, choosing the cluster a command targets
//! (`--cluster`, or the one `tsh login --cluster` selected), and talking to a leaf's web API.
//!
//! The root lists the clusters the user's roles may see (`cluster_labels`), with each leaf's
//! host and TLS CAs. A leaf's API is reached through the root's SSH relay (subsystem
//! `proxy:@web:0@LEAF`), the leaf's tunnel, and then TLS end to end between `tsh` and the leaf:
//! the leaf's certificate is checked against its TLS CA and `tsh` presents the root-issued client
//! certificate, which the leaf maps through its role map.

use anyhow::{Context, Result, bail};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use tether_client::client::ServerTrust;
use tether_client::credentials::Credentials;
use tether_shared::api::{ClusterInfo, ErrorBody};

use crate::cli::Global;
use crate::login::credentials;
use crate::ssh::Keys;

/// The clusters the user may see: the root first.
pub async fn fetch(creds: &Credentials, insecure: bool) -> Result<Vec<ClusterInfo>> {
    Ok(creds.api_client(insecure)?.get("/webapi/clusters").await?)
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
    let cached = match &global.identity {
        Some(_) => None,
        None => tether_cli::profile::load_current(&home).ok().and_then(|p| p.leaf_certs.get(leaf).cloned()),
    };
    if let Some(certs) = cached
        && time_left(&certs.ssh_cert) > BOUND_RENEW_MARGIN
    {
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
        tether_cli::profile::save_leaf_certs(&home, &creds.proxy, leaf, certs.clone())?;
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
    tether_cli::profile::load_current(&tether_cli::profile::home()).ok().and_then(|p| p.selected_cluster)
}

/// The cluster a command targets: `--cluster`, else the selected one, else the root. `None` for
/// the root; the leaf's row otherwise.
pub async fn target(
    global: &Global,
    creds: &Credentials,
    insecure: bool,
    requested: Option<&str>,
) -> Result<Option<ClusterInfo>> {
    let wanted = requested.map(str::to_string).or_else(|| selected(global));
    match wanted {
        None => Ok(None),
        Some(c) if c == creds.cluster => Ok(None),
        Some(c) => {
            let all = fetch(creds, insecure).await?;
            match all.into_iter().find(|info| info.name == c && info.cluster_type == "leaf") {
                Some(info) => Ok(Some(info)),
                None => {
                    bail!("cluster {c:?} is not a leaf of {} that you may see (tsh clusters lists them)", creds.cluster)
                }
            }
        }
    }
}

/// `tsh clusters`.
pub async fn list(global: &Global, format: &str) -> Result<()> {
    let (creds, insecure) = credentials(global)?;
    let clusters = fetch(&creds, insecure).await?;
    let chosen = selected(global).unwrap_or_else(|| creds.cluster.clone());
    match format {
        "json" => println!("{}", serde_json::to_string_pretty(&rows_json(&clusters, &chosen))?),
        "yaml" => print!("{}", serde_yaml_ng::to_string(&rows_json(&clusters, &chosen))?),
        _ => {
            let rows = clusters
                .iter()
                .map(|c| {
                    let mark = if c.name == chosen { "*" } else { "" };
                    vec![c.name.clone(), c.status.clone(), c.cluster_type.clone(), mark.to_string()]
                })
                .collect();
            println!("{}", tether_cli::table::render(&["Cluster Name", "Status", "Cluster Type", "Selected"], rows));
        }
    }
    Ok(())
}

fn rows_json(clusters: &[ClusterInfo], chosen: &str) -> Vec<serde_json::Value> {
    clusters
        .iter()
        .map(|c| {
            serde_json::json!({
                "cluster_name": c.name,
                "status": c.status,
                "cluster_type": c.cluster_type,
                "selected": c.name == chosen,
            })
        })
        .collect()
}

/// `GET path` on a leaf's web API, through the root's relay and the leaf's tunnel.
pub async fn leaf_get<T: DeserializeOwned>(
    creds: &Credentials,
    insecure: bool,
    leaf: &ClusterInfo,
    path: &str,
) -> Result<T> {
    let keys = Keys::from(creds)?;
    let proxy = crate::nodes::ssh_proxy(creds, insecure).await?;
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
