//! `tsh ls`, `tsh ssh`, `tsh config` and `tsh proxy ssh`: finding nodes and reaching them.

use std::path::Path;

use anyhow::{Context, Result};
use tether_client::credentials::Credentials;
use tether_shared::api::ClusterInfo;
use tether_shared::labels::format_labels;

use crate::cli::Global;
use crate::context::{
    NodeAddress, NodeTarget, default_login, list_nodes, live_credentials, split_destination, ssh_proxy,
};
use crate::ssh::{Keys, SshRequest};

/// `tsh ls`.
pub async fn ls(global: &Global, cluster: Option<&str>, format: &str, filters: &[String]) -> Result<()> {
    let (creds, insecure) = live_credentials(global)?;
    let leaf = crate::context::target(global, &creds, insecure, cluster).await?;
    let creds = crate::context::for_target(global, creds, insecure, leaf.as_ref()).await?;
    let mut wanted = Vec::new();
    for f in filters {
        let (k, v) = f.split_once('=').with_context(|| format!("{f:?}: filter nodes with label=value"))?;
        wanted.push((k.to_string(), v.to_string()));
    }
    let mut nodes = list_nodes(&creds, insecure, leaf.as_ref()).await?;
    nodes.retain(|n| wanted.iter().all(|(k, v)| n.metadata.labels.get(k) == Some(v)));
    nodes.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    match format {
        "json" => println!("{}", serde_json::to_string_pretty(&nodes)?),
        "yaml" => print!("{}", serde_yaml_ng::to_string(&nodes)?),
        _ => {
            let rows = nodes
                .iter()
                .map(|n| vec![n.metadata.name.clone(), n.spec.addr.clone(), format_labels(&n.metadata.labels)])
                .collect();
            println!("{}", tether_cli::table::render(&["Node Name", "Address", "Labels"], rows));
        }
    }
    Ok(())
}

/// `tsh ls --all`: the nodes of the root and of every leaf the user may see, which the root
/// gathers (each leaf asked in parallel through its tunnel, label filters applied there); a
/// leaf that is offline or did not answer in time is named on stderr.
pub async fn ls_all(global: &Global, format: &str, filters: &[String]) -> Result<()> {
    let (creds, insecure) = live_credentials(global)?;
    for f in filters {
        f.split_once('=').with_context(|| format!("{f:?}: filter nodes with label=value"))?;
    }
    let path = if filters.is_empty() {
        "/webapi/nodes/all".to_string()
    } else {
        let list = filters.join(",");
        format!("/webapi/nodes/all?labels={}", tether_shared::api::query_value(&list))
    };
    let mut clusters: Vec<tether_shared::api::ClusterNodes> = creds.api_client(insecure)?.get(&path).await?;
    for c in &mut clusters {
        c.nodes.sort_by(|a, b| a.metadata().name.cmp(&b.metadata().name));
    }
    match format {
        "json" => println!("{}", serde_json::to_string_pretty(&clusters)?),
        "yaml" => print!("{}", serde_yaml_ng::to_string(&clusters)?),
        _ => {
            let mut rows = Vec::new();
            for c in &clusters {
                for n in &c.nodes {
                    if let tether_shared::resource::Resource::Node(n) = n {
                        rows.push(vec![
                            c.cluster.clone(),
                            n.metadata.name.clone(),
                            n.spec.addr.clone(),
                            format_labels(&n.metadata.labels),
                        ]);
                    }
                }
            }
            println!("{}", tether_cli::table::render(&["Cluster", "Node Name", "Address", "Labels"], rows));
            for c in clusters.iter().filter(|c| c.status != "online") {
                eprintln!("tsh: cluster {} is {}: {}", c.cluster, c.status, c.error.as_deref().unwrap_or("no answer"));
            }
        }
    }
    Ok(())
}

/// `tsh ssh` to one node: `tty` is `-t` (`Some(true)`) or `-T` (`Some(false)`); an empty
/// `command` starts a shell.
pub async fn ssh(
    global: &Global,
    node: NodeAddress<'_>,
    tty: Option<bool>,
    command: Vec<String>,
    fwd: crate::forward::Forwarding,
) -> Result<i32> {
    let mut t = NodeTarget::resolve(global, node.cluster, node.login, node.destination).await?;
    let (host, cluster, login) = (t.host.clone(), t.cluster.clone(), t.login.clone());
    let req = SshRequest { host: &host, port: node.port, cluster: &cluster, login: &login, command, tty };
    // The node's host certificate is checked before anything runs: trying again is safe.
    match crate::ssh::run(&t.proxy, &t.keys, &req, &fwd).await {
        Err(e) => {
            t.refresh_after(global, e).await?;
            crate::ssh::run(&t.proxy, &t.keys, &req, &fwd).await
        }
        done => done,
    }
}

/// One `Host *.CLUSTER` block of `tsh config`.
fn print_block(cluster: &str, known_hosts: &Path, key: &Path, cert: &Path, tsh: &Path, identity: &str) {
    println!("# Use: ssh LOGIN@NODE.{cluster}");
    println!("Host *.{cluster}");
    println!("    UserKnownHostsFile \"{}\"", known_hosts.display());
    println!("    IdentityFile \"{}\"", key.display());
    println!("    CertificateFile \"{}\"", cert.display());
    println!("    IdentitiesOnly yes");
    println!("    HostKeyAlgorithms ssh-ed25519-cert-v01@openssh.com");
    // AES-GCM moved to the front of OpenSSH's own list (so a system crypto policy still
    // decides what is allowed), as Tether's own clients ask: OpenSSH's default,
    // chacha20-poly1305, is the slow one for the node's cipher library.
    println!("    Ciphers ^{}", tether_shared::ssh_algorithms::openssh_aes_gcm());
    println!("    ProxyCommand \"{}\"{identity} proxy ssh --cluster={cluster} %r@%h:%p", tsh.display());
}

/// Where `tsh config` keeps the certificate bound to `leaf` for OpenSSH.
fn leaf_cert_path(dir: &Path, leaf: &str) -> std::path::PathBuf {
    dir.join(format!("{leaf}.leaf-cert.pub"))
}

/// Writes the certificate bound to `leaf` (renewed when due) where OpenSSH reads it.
async fn write_leaf_cert(global: &Global, creds: &Credentials, insecure: bool, leaf: &str) -> Result<()> {
    let bound = crate::context::bound(global, creds, insecure, leaf).await?;
    let dir = tether_cli::profile::home().join("openssh");
    let path = leaf_cert_path(&dir, leaf);
    tether_client::credentials::write_private(&path, format!("{}\n", bound.ssh_cert.trim()).as_bytes())?;
    Ok(())
}

/// `tsh proxy cert --cluster=LEAF`: renews, when due, the certificate bound to the leaf that
/// `tsh config` points OpenSSH at.
pub async fn proxy_cert(global: &Global, cluster: &str) -> Result<()> {
    let (creds, insecure) = live_credentials(global)?;
    let leaf = crate::context::target(global, &creds, insecure, Some(cluster))
        .await?
        .with_context(|| format!("{cluster} is the root cluster: its certificate needs no binding"))?;
    write_leaf_cert(global, &creds, insecure, &leaf.name).await
}

/// `tsh proxy ssh [LOGIN@]HOST[:PORT]`.
pub async fn proxy_ssh(global: &Global, cluster: Option<&str>, destination: &str) -> Result<()> {
    let (creds, insecure) = live_credentials(global)?;
    // OpenSSH checks the node itself (tsh config's known_hosts): the leaf's row only names it,
    // so a fresh cached one saves asking the root on every connection.
    let (leaf, _) = crate::context::target_cached(global, &creds, insecure, cluster).await?;
    let creds = crate::context::for_target(global, creds, insecure, leaf.as_ref()).await?;
    let cluster = leaf.as_ref().map_or_else(|| creds.cluster.clone(), |l| l.name.clone());
    let (dest_login, hostport) = split_destination(destination);
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().with_context(|| format!("bad port in {destination:?}"))?),
        None => (hostport, 3022),
    };
    // OpenSSH names the node HOST.CLUSTER in its config; the node is HOST.
    let host = host.strip_suffix(&format!(".{cluster}")).unwrap_or(host);
    let login = match dest_login {
        Some(l) => l.to_string(),
        None => default_login(&creds)?,
    };
    let keys = match &leaf {
        Some(leaf) => Keys::from(&creds)?.for_leaf(leaf)?,
        None => Keys::from(&creds)?,
    };
    let proxy = ssh_proxy(&creds, insecure).await?;
    crate::ssh::proxy_command(&proxy, &keys, host, port, &cluster, &login).await
}

/// `tsh config`: OpenSSH client blocks for the current profile: one for the cluster logged in
/// to and one for each leaf cluster the user may see (nodes named `NODE.CLUSTER`).
pub async fn config(global: &Global, tsh: &Path) -> Result<()> {
    let (creds, insecure) = live_credentials(global)?;
    let home = tether_cli::profile::home();
    let dir = home.join("openssh");
    let key_path = dir.join(format!("{}.key", creds.cluster));
    let cert_path = dir.join(format!("{}.key-cert.pub", creds.cluster));
    let known_hosts = dir.join("known_hosts");
    tether_client::credentials::write_private(&key_path, creds.private_key.as_bytes())?;
    tether_client::credentials::write_private(&cert_path, format!("{}\n", creds.ssh_cert.trim()).as_bytes())?;
    // Leaf clusters, with their host CAs as the root lists them. A root that cannot be asked
    // still gets its own block.
    let all = match crate::context::fetch(global, &creds, insecure).await {
        Ok(all) => all,
        Err(e) => {
            eprintln!("tsh: leaf clusters left out: cannot list them: {e:#}");
            Vec::new()
        }
    };
    // The cluster's own host CAs as it lists them now (both keys during a rotation), else the
    // profile's.
    let own: Vec<String> = match all.iter().find(|c| c.name == creds.cluster && !c.host_cas.is_empty()) {
        Some(row) => row.host_cas.clone(),
        None => creds.host_cas.iter().map(|ca| ca.public_key.clone()).collect(),
    };
    let leaves: Vec<ClusterInfo> = all.into_iter().filter(|c| c.cluster_type == "leaf").collect();
    let mut lines = String::new();
    for key in &own {
        let key: Vec<&str> = key.split_whitespace().take(2).collect();
        lines.push_str(&format!("@cert-authority *.{0},{0} {1}\n", creds.cluster, key.join(" ")));
    }
    for leaf in &leaves {
        for ca in &leaf.host_cas {
            let key: Vec<&str> = ca.split_whitespace().take(2).collect();
            lines.push_str(&format!("@cert-authority *.{0},{0} {1}\n", leaf.name, key.join(" ")));
        }
    }
    tether_client::credentials::write_private(&known_hosts, lines.as_bytes())?;
    let identity = global.identity.as_ref().map(|p| format!(" -i \"{}\"", p.display())).unwrap_or_default();
    println!("# Tether: nodes of cluster {}, reached through the proxy at {}.", creds.cluster, creds.proxy);
    print_block(&creds.cluster, &known_hosts, &key_path, &cert_path, tsh, &identity);
    for leaf in &leaves {
        // A leaf takes only the certificate the root bound to it; `tsh proxy cert` keeps the
        // file fresh (OpenSSH runs it through Match exec before it reads the file).
        let leaf_cert = leaf_cert_path(&dir, &leaf.name);
        match write_leaf_cert(global, &creds, insecure, &leaf.name).await {
            Ok(()) => {}
            Err(e) => {
                eprintln!("tsh: leaf cluster {} left out: {e:#}", leaf.name);
                continue;
            }
        }
        println!("\n# Tether: nodes of leaf cluster {}, through {}'s proxy and tunnel.", leaf.name, creds.cluster);
        println!(
            "Match host *.{0} exec \"{1}{identity} proxy cert --cluster={0} >/dev/null 2>&1 || true\"",
            leaf.name,
            tsh.display()
        );
        print_block(&leaf.name, &known_hosts, &key_path, &leaf_cert, tsh, &identity);
    }
    Ok(())
}
