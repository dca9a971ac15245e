//! How `tctl` finds its cluster and identity, in order: `-i FILE`; the admin identity in the
//! data directory named by `--data-dir` or by the `-c` config's `teleport.data_dir`; the
//! current `tsh` profile; `./tether-data/admin-identity.json` (the default data dir, on the auth
//! host; only when it is this user's and private). When more than one was possible (a profile and a data dir both present), it says on
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

/// Whether the admin identity in `./tether-data` may be used without being named: a file in the
/// current directory could have been planted (a cloned repository, a shared directory), so it
/// must belong to this user and be private. `Err` says why it is passed over.
fn implicit_ok(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    // /proc/self belongs to the process's effective user.
    let me = std::fs::metadata("/proc/self").map(|m| m.uid()).map_err(|e| e.to_string())?;
    if meta.uid() != me {
        return Err("it belongs to another user".into());
    }
    if meta.mode() & 0o077 != 0 {
        return Err(format!("its mode is {:o}, not 600", meta.mode() & 0o777));
    }
    Ok(())
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
    let implicit = Path::new(DEFAULT_DATA_DIR).join(ADMIN_IDENTITY);
    let local = match implicit.exists().then(|| implicit_ok(&implicit)) {
        Some(Ok(())) => true,
        Some(Err(why)) => {
            eprintln!(
                "tctl: not using {}: {why} (pass --data-dir={DEFAULT_DATA_DIR} to use it anyway)",
                implicit.display()
            );
            false
        }
        None => false,
    };
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
