//! How `tctl` finds its cluster and identity, in order: `-i FILE`; the admin identity in the
//! data directory named by `--data-dir` or by the `-c` config's `teleport.data_dir`;
//! `./tether-data/admin-identity.json` when it exists (the default data dir on the auth host);
//! the current `tsh` profile. `--proxy` overrides the address.

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

/// Resolves the identity and builds the API client.
pub fn connect(global: &Global) -> anyhow::Result<(ApiClient, Credentials)> {
    let (mut creds, insecure) = if let Some(path) = &global.identity {
        (Credentials::load(path)?, false)
    } else if let Some(dir) = &global.data_dir {
        (admin_identity(dir)?, false)
    } else if let Some(config) = &global.config {
        (admin_identity(&data_dir_of(config)?)?, false)
    } else if Path::new(DEFAULT_DATA_DIR).join(ADMIN_IDENTITY).exists() {
        (admin_identity(Path::new(DEFAULT_DATA_DIR))?, false)
    } else {
        let profile = tether_cli::profile::load_current(&tether_cli::profile::home()).map_err(|e| {
            anyhow::anyhow!(
                "{e} (or run tctl on the auth host with -c tether.yaml / --data-dir, or pass an identity file with -i)"
            )
        })?;
        (profile.credentials, profile.insecure)
    };
    if let Some(proxy) = &global.proxy {
        creds.proxy = proxy.clone();
    }
    let client = creds.api_client(insecure || global.insecure)?;
    Ok((client, creds))
}
