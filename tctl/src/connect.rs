//! How `tctl` finds its cluster and identity, in order: `-i FILE`; the admin identity in the
//! data directory named by `--data-dir` or by the `-c` config's `teleport.data_dir`; the
//! current `tsh` profile; `./tether-data/admin-identity.json` (the default data dir, on the auth
//! host). When more than one was possible (a profile and a data dir both present), it says on
//! stderr which one it used and how to pick the other. `--proxy` overrides the address, and
//! `--cluster=LEAF` sends every call to a leaf through the root's proxy.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use tether_client::client::ApiClient;
use tether_client::credentials::Credentials;

use crate::cli::Global;

/// The admin identity's file name inside a data directory.
pub const ADMIN_IDENTITY: &str = "admin-identity.json";
const DEFAULT_DATA_DIR: &str = "./tether-data";

/// The data directory a tether config names (`teleport.data_dir`, default `./tether-data`).
fn data_dir_of(config: &Path) -> anyhow::Result<PathBuf> {
    let text = std::fs::read_to_string(config).with_context(|| format!("cannot read {}", config.display()))?;
    let doc: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&text).with_context(|| format!("{}: not valid YAML", config.display()))?;
    Ok(doc
        .get("teleport")
        .and_then(|t| t.get("data_dir"))
        .and_then(|d| d.as_str())
        .map_or_else(|| PathBuf::from(DEFAULT_DATA_DIR), PathBuf::from))
}

fn admin_identity(data_dir: &Path) -> anyhow::Result<Credentials> {
    let path = data_dir.join(ADMIN_IDENTITY);
    if !path.exists() {
        bail!("no admin identity at {}: is tether running with this data directory?", path.display());
    }
    Ok(Credentials::load(&path)?)
}

/// Whether an SSH certificate (OpenSSH text) has expired or cannot be read.
fn expired(ssh_cert: &str) -> bool {
    tether_shared::ssh_cert::cert_from_openssh(ssh_cert).map_or(true, |c| {
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(c.valid_before()) <= std::time::SystemTime::now()
    })
}

/// The identity to act with, whether to skip HTTPS verification, and what to tell the user
/// about the choice (when there was one).
fn choose(global: &Global) -> anyhow::Result<(Credentials, bool, Option<String>)> {
    if let Some(path) = &global.identity {
        return Ok((Credentials::load(path)?, false, None));
    }
    if let Some(dir) = &global.data_dir {
        return Ok((admin_identity(dir)?, false, None));
    }
    if let Some(config) = &global.config {
        return Ok((admin_identity(&data_dir_of(config)?)?, false, None));
    }
    let local = Path::new(DEFAULT_DATA_DIR).join(ADMIN_IDENTITY).exists();
    match tether_cli::profile::load_current(&tether_cli::profile::home()) {
        Ok(profile) if !(local && expired(&profile.credentials.ssh_cert)) => {
            let c = &profile.credentials;
            let note = local.then(|| {
                format!(
                    "tctl: acting as {} on cluster {} (tsh profile at {}); pass --data-dir={DEFAULT_DATA_DIR} to use \
                     this host's admin identity instead",
                    c.user, c.cluster, c.proxy
                )
            });
            Ok((profile.credentials, profile.insecure, note))
        }
        Ok(profile) => {
            let creds = admin_identity(Path::new(DEFAULT_DATA_DIR))?;
            let note = format!(
                "tctl: the tsh profile of {} at {} has expired; acting as this host's admin identity \
                 ({DEFAULT_DATA_DIR}) on cluster {}",
                profile.credentials.user, profile.credentials.proxy, creds.cluster
            );
            Ok((creds, false, Some(note)))
        }
        Err(_) if local => Ok((admin_identity(Path::new(DEFAULT_DATA_DIR))?, false, None)),
        Err(e) => Err(anyhow::anyhow!(
            "{e} (or run tctl on the auth host with -c tether.yaml / --data-dir, or pass an identity file with -i)"
        )),
    }
}

/// Resolves the identity and builds the API client (through the root to `--cluster`'s leaf).
pub fn connect(global: &Global) -> anyhow::Result<(ApiClient, Credentials)> {
    let (mut creds, insecure, note) = choose(global)?;
    if let Some(note) = note {
        eprintln!("{note}");
    }
    if let Some(proxy) = &global.proxy {
        creds.proxy = proxy.clone();
    }
    let client = creds.api_client(insecure || global.insecure)?;
    match global.cluster.as_deref() {
        Some(leaf) if leaf != creds.cluster => Ok((client.through_root(leaf), creds)),
        _ => Ok((client, creds)),
    }
}
