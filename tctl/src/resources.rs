//! `tctl create [-f]`, `tctl get`, `tctl rm`, `tctl update rc/NAME --set-labels`.
//!
//! `create` parses the file locally first, so mistakes are reported with this file's name,
//! line and field before anything is sent.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};
use tether_client::client::ApiClient;
use tether_shared::labels::{format_labels, parse_label_list};
use tether_shared::resource::{Kind, Resource, ResourceRef, parse_resources, to_json, to_yaml};

use crate::cli::Format;
use crate::output::{expiry_cell, table};

/// `tctl create [-f] FILE`.
pub async fn create(client: &ApiClient, file: &Path, force: bool) -> Result<()> {
    let (name, text) = if file == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("cannot read stdin")?;
        ("stdin".to_string(), text)
    } else {
        let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
        (file.display().to_string(), text)
    };
    let parsed = parse_resources(&name, &text)?;
    if parsed.is_empty() {
        bail!("{name}: no resources found");
    }
    let path = if force { "/webapi/resources?force=true" } else { "/webapi/resources" };
    if text.len() > tether_shared::api::MAX_REQUEST_BYTES {
        bail!(
            "{name} is {} KiB: the web API takes at most {} KiB per request; split it into several files",
            text.len().div_ceil(1024),
            tether_shared::api::MAX_REQUEST_BYTES / 1024
        );
    }
    let done: Vec<String> = client.post_text(path, &text).await?;
    for line in done {
        println!("{line}");
    }
    Ok(())
}

fn api_path(r: &ResourceRef) -> String {
    match &r.name {
        Some(name) => format!("/webapi/resources/{}/{name}", r.kind),
        None => format!("/webapi/resources/{}", r.kind),
    }
}

/// `tctl get KIND[/NAME]`.
pub async fn get(client: &ApiClient, reference: &str, format: Format) -> Result<()> {
    let r: ResourceRef = reference.parse()?;
    let found: Vec<Resource> = client.get(&api_path(&r)).await?;
    match format {
        Format::Yaml => print!("{}", to_yaml(&found)?),
        Format::Json => print!("{}", to_json(&found)?),
        Format::Text => println!("{}", text_table(r.kind, &found)),
    }
    Ok(())
}

fn text_table(kind: Kind, found: &[Resource]) -> String {
    let rows = found.iter();
    match kind {
        Kind::Role => table(
            &["Role", "Allowed to login as", "Node Labels", "Access to resources"],
            rows.filter_map(|r| match r {
                Resource::Role(r) => Some(vec![
                    r.metadata.name.clone(),
                    r.spec.allow.logins.join(","),
                    r.spec
                        .allow
                        .node_labels
                        .iter()
                        .map(|(k, v)| format!("{k}={}", v.join("|")))
                        .collect::<Vec<_>>()
                        .join(","),
                    r.spec
                        .allow
                        .rules
                        .iter()
                        .map(|x| format!("{}:{}", x.resources.join(","), x.verbs.join(",")))
                        .collect::<Vec<_>>()
                        .join(" "),
                ]),
                _ => None,
            })
            .collect(),
        ),
        Kind::User => table(
            &["User", "Roles"],
            rows.filter_map(|r| match r {
                Resource::User(u) => Some(vec![u.metadata.name.clone(), u.spec.roles.join(",")]),
                _ => None,
            })
            .collect(),
        ),
        Kind::RemoteCluster => table(
            &["Remote Cluster", "Status", "Labels", "Last Heartbeat"],
            rows.filter_map(|r| match r {
                Resource::RemoteCluster(rc) => {
                    let status = rc.status.clone().unwrap_or_default();
                    Some(vec![
                        rc.metadata.name.clone(),
                        status.connection.to_string(),
                        format_labels(&rc.metadata.labels),
                        status.last_heartbeat.map(crate::output::time_cell).unwrap_or_default(),
                    ])
                }
                _ => None,
            })
            .collect(),
        ),
        Kind::TrustedCluster => table(
            &["Trusted Cluster", "Enabled", "Web Proxy", "Tunnel"],
            rows.filter_map(|r| match r {
                Resource::TrustedCluster(tc) => Some(vec![
                    tc.metadata.name.clone(),
                    tc.spec.enabled.to_string(),
                    tc.spec.web_proxy_addr.clone(),
                    tc.spec.tunnel_addr.clone(),
                ]),
                _ => None,
            })
            .collect(),
        ),
        Kind::Node => table(
            &["Node Name", "Address", "Labels"],
            rows.filter_map(|r| match r {
                Resource::Node(n) => {
                    Some(vec![n.metadata.name.clone(), n.spec.addr.clone(), format_labels(&n.metadata.labels)])
                }
                _ => None,
            })
            .collect(),
        ),
        Kind::CertAuthority => table(
            &["Cluster", "Type", "Active keys"],
            rows.filter_map(|r| match r {
                Resource::CertAuthority(ca) => Some(vec![
                    ca.spec.cluster_name.clone(),
                    ca.spec.ca_type.to_string(),
                    (ca.spec.active_keys.ssh.len() + ca.spec.active_keys.tls.len()).to_string(),
                ]),
                _ => None,
            })
            .collect(),
        ),
        Kind::Token => table(
            &["Token", "Type", "Expiry Time (UTC)"],
            rows.filter_map(|r| match r {
                Resource::Token(t) => {
                    Some(vec![t.metadata.name.clone(), t.spec.token_type.to_string(), expiry_cell(t.metadata.expires)])
                }
                _ => None,
            })
            .collect(),
        ),
    }
}

/// `tctl rm KIND/NAME`.
pub async fn rm(client: &ApiClient, reference: &str) -> Result<()> {
    let r: ResourceRef = reference.parse()?;
    if r.name.is_none() {
        bail!("say which one to delete: {}/NAME", r.kind);
    }
    let done: Vec<String> = client.delete(&api_path(&r)).await?;
    for line in done {
        println!("{line}");
    }
    Ok(())
}

/// `tctl update rc/NAME --set-labels=k=v`.
pub async fn update(client: &ApiClient, reference: &str, set_labels: &str) -> Result<()> {
    let r: ResourceRef = reference.parse()?;
    let (Kind::RemoteCluster, Some(name)) = (r.kind, &r.name) else {
        bail!("tctl update works on remote clusters: tctl update rc/NAME --set-labels=k=v");
    };
    let labels = parse_label_list(set_labels).map_err(anyhow::Error::msg)?;
    let mut found: Vec<Resource> = client.get(&api_path(&r)).await?;
    let Some(mut rc) = found.pop() else { bail!("remote cluster {name:?} not found") };
    rc.metadata_mut().labels = labels;
    let body = to_yaml(&[rc])?;
    let _: Vec<String> = client.post_text("/webapi/resources?force=true", &body).await?;
    println!("Cluster {name} has been updated");
    Ok(())
}
