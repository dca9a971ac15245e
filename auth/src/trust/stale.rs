//! Remote clusters that stopped calling in, removed on the root after
//! `auth_service.remote_cluster_ttl` (off by default): dead leaves do not pile up. The clock runs
//! from the last heartbeat any root proxy recorded, and no leaf is removed before the sweeping
//! host has known it for the TTL (kept in memory, so a restart starts that clock again; a leaf
//! never seen online is removed a TTL after the host noticed it). Removal is
//! `tctl rm rc`'s: the `remote_cluster` and the leaf's CAs, after which every root proxy drops its
//! tunnels (they watch the deletion). Each removal is audited (`resource.delete` by `@tether`,
//! with the reason) and logged. Every auth host sweeps; a removal another host made first is
//! simply not found.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tether_audit::{Event, Outcome};

use super::super::AuthError;
use super::Trust;

/// How often the sweep runs at most (a shorter TTL sweeps every quarter of it, at least 1 s).
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

impl Trust {
    /// Sets `auth_service.remote_cluster_ttl` (`None`: off).
    pub fn set_remote_cluster_ttl(&self, ttl: Option<Duration>) {
        let secs = ttl.map_or(0, |t| t.as_secs().max(1));
        self.remote_cluster_ttl.store(secs, std::sync::atomic::Ordering::Relaxed);
    }

    /// `auth_service.remote_cluster_ttl`, when on.
    pub fn remote_cluster_ttl(&self) -> Option<Duration> {
        match self.remote_cluster_ttl.load(std::sync::atomic::Ordering::Relaxed) {
            0 => None,
            secs => Some(Duration::from_secs(secs)),
        }
    }

    /// One sweep: removes the remote clusters past the TTL. `seen` holds when this host first
    /// noticed each remote cluster (by name and storage revision, so one trusted again under
    /// the same name starts afresh): none is removed before this host has known it for the TTL,
    /// so the old heartbeats of a leaf trusted again never count against the new one. Returns
    /// the names removed.
    pub async fn expire_stale(
        &self,
        offline_window: Duration,
        seen: &mut HashMap<(String, Option<u64>), Instant>,
    ) -> Result<Vec<String>, AuthError> {
        let Some(ttl) = self.remote_cluster_ttl() else { return Ok(Vec::new()) };
        let statuses = crate::tunnel_status::leaf_statuses(&self.core.backend, offline_window).await?;
        let now = time::OffsetDateTime::now_utc();
        let mut removed = Vec::new();
        let leaves = self.remote_clusters().await?;
        seen.retain(|(name, id), _| leaves.iter().any(|rc| &rc.metadata.name == name && rc.metadata.id == *id));
        for rc in leaves {
            let name = rc.metadata.name;
            let known_since = *seen.entry((name.clone(), rc.metadata.id)).or_insert_with(Instant::now);
            if known_since.elapsed() <= ttl {
                continue;
            }
            let why = match statuses.get(&name).and_then(|s| s.last_heartbeat) {
                Some(last) if now - last > ttl => format!("no heartbeat since {last} (remote_cluster_ttl {ttl:?})"),
                Some(_) => continue,
                None => format!("never online in the {ttl:?} since this host noticed it (remote_cluster_ttl)"),
            };
            match self.delete_remote_cluster(&name).await {
                Ok(()) => {}
                Err(AuthError::NotFound(_)) => continue,
                Err(e) => return Err(e),
            }
            tracing::warn!(leaf = %name, "removed remote cluster {name}: {why}");
            self.core.audit.emit(
                Event::ResourceDelete,
                Outcome::Success,
                "@tether",
                serde_json::json!({"kind": "remote_cluster", "name": name, "reason": why}),
            );
            removed.push(name);
        }
        Ok(removed)
    }
}

/// Sweeps until `stop` turns true, when a TTL is set.
pub async fn sweep(
    auth: std::sync::Arc<crate::AuthService>,
    offline_window: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let Some(ttl) = auth.trust().remote_cluster_ttl() else { return };
    let every = (ttl / 4).clamp(Duration::from_secs(1), SWEEP_INTERVAL);
    let mut unseen = HashMap::new();
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(every) => {}
        }
        if let Err(e) = auth.trust().expire_stale(offline_window, &mut unseen).await {
            tracing::warn!("cannot sweep stale remote clusters: {}", e.chain());
        }
    }
}
