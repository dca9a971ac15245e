//! CA rotation: the phases a CA walks (`standby → init → update_clients → update_servers →
//! standby`, or `rollback → standby` from any phase before the last), the moves an operator asks
//! for (`tctl auth rotate`), and the automatic mode, which the auth host holding the rotation
//! lease walks one third of the grace period at a time.
//!
//! Every move is one compare-and-swap of the sealed key record (`keys.rs`): of two hosts moving
//! the same CA at once, one wins and the other reads the new state and is refused or does
//! nothing; the record's revision is the fence. Every auth host follows the record
//! ([`Authority::follow`]) and signs with the keys the new phase says within a moment. The
//! rules themselves ([`plan`]) are a function without I/O.

use std::time::Duration;

use tether_audit::{Event, Outcome};
use tether_shared::api::RotateRequest;
use tether_shared::duration::GoDuration;
use tether_shared::resource::{CaType, CertAuthority, Rotation, RotationMode, RotationPhase};
use tether_storage::StorageError;
use time::OffsetDateTime;

use super::AuthError;
use super::certs::Authority;
use super::keys::{KeyMaker, SEALED_CAS, StoredCa, StoredCas, public_of};

/// The shortest grace period of the automatic mode (one second per phase).
pub const MIN_GRACE_PERIOD: Duration = Duration::from_secs(3);
/// The longest grace period of the automatic mode (a year).
pub const MAX_GRACE_PERIOD: Duration = Duration::from_secs(366 * 86400);
/// The storage key of the lease the host that walks automatic rotations holds.
pub const LEASE_KEY: &str = "/leases/ca-rotation";
/// How long the lease lasts without renewal.
pub const LEASE_TTL: Duration = Duration::from_secs(10);
/// How often the lease holder looks for a phase that is due (and renews the lease).
pub const DRIVE_INTERVAL: Duration = Duration::from_millis(500);

/// What a move asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// An operator's phase.
    Manual(RotationPhase),
    /// Start an automatic rotation with this grace period.
    Auto(Duration),
    /// The automatic mode's next phase, when it is due at `now`.
    Due,
}

/// The result of [`plan`]: nothing to do, or the phase moved to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Planned {
    /// Nothing is due.
    Nothing,
    /// The CA moved from one phase to another.
    Moved {
        /// Before.
        from: RotationPhase,
        /// After.
        to: RotationPhase,
    },
}

/// What [`plan`] needs of the keys: a new one when a rotation starts, and an old host key's
/// endorsement of the new one ([`KeyMaker`], or a stand-in in tests).
pub(crate) trait KeyOps {
    /// A new key of `ca_type`, as the record stores it.
    fn new_key(&self, ca_type: CaType) -> Result<String, AuthError>;
    /// `old`'s endorsement of `new`.
    fn endorse(&self, old: &str, new: &str) -> Result<String, AuthError>;
}

impl KeyOps for KeyMaker<'_> {
    fn new_key(&self, ca_type: CaType) -> Result<String, AuthError> {
        KeyMaker::new_key(self, ca_type)
    }

    fn endorse(&self, old: &str, new: &str) -> Result<String, AuthError> {
        KeyMaker::endorse(self, old, new)
    }
}

/// Applies `target` to `ca` at `now`; `keys` makes the next key when a rotation starts.
/// Refusals say what the CA's phase allows instead.
pub(crate) fn plan(
    ca_type: CaType,
    ca: &mut StoredCa,
    target: Target,
    now: OffsetDateTime,
    keys: &dyn KeyOps,
) -> Result<Planned, AuthError> {
    use RotationPhase::*;
    let from = ca.rotation.phase;
    let to = match target {
        Target::Manual(to) => to,
        Target::Auto(grace) => {
            if from != Standby {
                return Err(AuthError::Conflict(format!(
                    "a rotation of the {ca_type} CA is in progress (phase {from}); finish it with --manual \
                     --phase={}, or undo it with --manual --phase=rollback",
                    after(from)
                )));
            }
            if grace > MAX_GRACE_PERIOD {
                return Err(AuthError::BadRequest(format!(
                    "--grace-period {} is too long: at most {}",
                    GoDuration(grace),
                    GoDuration(MAX_GRACE_PERIOD)
                )));
            }
            if grace < MIN_GRACE_PERIOD {
                return Err(AuthError::BadRequest(format!(
                    "--grace-period {} is too short: at least {} (one second per phase)",
                    GoDuration(grace),
                    GoDuration(MIN_GRACE_PERIOD)
                )));
            }
            Init
        }
        Target::Due => {
            let due = ca.rotation.mode == RotationMode::Auto
                && matches!(from, Init | UpdateClients | UpdateServers)
                && ca.rotation.next_phase_at.is_some_and(|at| at <= now);
            if !due {
                return Ok(Planned::Nothing);
            }
            after(from)
        }
    };
    if to == from {
        return Err(AuthError::Conflict(format!("the {ca_type} CA is already in phase {to}")));
    }
    let allowed = matches!(
        (from, to),
        (Standby, Init)
            | (Init, UpdateClients)
            | (UpdateClients, UpdateServers)
            | (UpdateServers, Standby)
            | (Init | UpdateClients | UpdateServers, Rollback)
            | (Rollback, Standby)
    );
    if !allowed {
        let hint = match from {
            Standby => "start a rotation with --phase=init".to_string(),
            Rollback => "finish the rollback with --phase=standby".to_string(),
            other => format!("the next phase is {}, or rollback", after(other)),
        };
        return Err(AuthError::Conflict(format!("the {ca_type} CA cannot go from {from} to {to}: {hint}")));
    }
    let rotation = &mut ca.rotation;
    match (from, to) {
        (Standby, Init) => {
            let next = keys.new_key(ca_type)?;
            // A host key vouches for its successor, for peers that miss the rotation.
            if ca_type == CaType::Host {
                ca.endorsements.insert(0, keys.endorse(&ca.key, &next)?);
                ca.endorsements.truncate(tether_shared::endorse::MAX_LINKS);
            }
            ca.next = Some(next);
            let (mode, grace) = match target {
                Target::Auto(grace) => (RotationMode::Auto, Some(GoDuration(grace))),
                _ => (RotationMode::Manual, None),
            };
            *rotation = Rotation {
                phase: Init,
                mode,
                id: tether_shared::names::random_hex(),
                started: Some(now),
                grace_period: grace,
                next_phase_at: None,
                last_rotated: rotation.last_rotated,
            };
        }
        (UpdateServers, Standby) => {
            let next = ca.next.take().ok_or_else(|| AuthError::fault(format!("the {ca_type} CA has no next key")))?;
            ca.key = next.clone();
            rotation.phase = Standby;
            rotation.last_rotated = Some(now);
        }
        (Rollback, Standby) => {
            // The key rolled back is trusted nowhere again, not even through its endorsement.
            if let Some(raw) = ca.next.take().as_deref().and_then(public_of) {
                ca.endorsements.retain(|l| tether_shared::endorse::endorsed(l) != Some(raw));
            }
            rotation.phase = Standby;
        }
        (_, Rollback) => {
            rotation.phase = Rollback;
            // Whoever rolls back decides when it ends.
            rotation.mode = RotationMode::Manual;
        }
        (_, to) => rotation.phase = to,
    }
    // A manual move takes an automatic rotation over.
    if matches!(target, Target::Manual(_)) {
        rotation.mode = RotationMode::Manual;
    }
    rotation.next_phase_at = match (rotation.mode, rotation.phase, rotation.grace_period) {
        (RotationMode::Auto, Init | UpdateClients | UpdateServers, Some(grace)) => {
            let third = time::Duration::milliseconds(i64::try_from(grace.0.as_millis() / 3).unwrap_or(i64::MAX));
            now.checked_add(third)
        }
        _ => None,
    };
    if rotation.phase == Standby {
        rotation.started = None;
        rotation.grace_period = None;
    }
    Ok(Planned::Moved { from, to })
}

/// The phase after `phase` on the way forward.
fn after(phase: RotationPhase) -> RotationPhase {
    match phase {
        RotationPhase::Standby => RotationPhase::Init,
        RotationPhase::Init => RotationPhase::UpdateClients,
        RotationPhase::UpdateClients => RotationPhase::UpdateServers,
        RotationPhase::UpdateServers | RotationPhase::Rollback => RotationPhase::Standby,
    }
}

impl Authority {
    /// Moves CAs as `req` asks (`tctl auth rotate`), audited as `ca.rotate` by `who`. Answers
    /// with the CAs' public parts after the move.
    pub async fn rotate(&self, who: &str, req: &RotateRequest) -> Result<Vec<CertAuthority>, AuthError> {
        let target = match (req.mode, req.phase, req.grace_period) {
            (RotationMode::Manual, Some(phase), None) => Target::Manual(phase),
            (RotationMode::Manual, None, _) => {
                return Err(AuthError::BadRequest(
                    "--manual needs --phase (init, update_clients, update_servers, standby or rollback)".into(),
                ));
            }
            (RotationMode::Manual, Some(_), Some(_)) => {
                return Err(AuthError::BadRequest("--grace-period is for the automatic mode; drop --manual".into()));
            }
            (RotationMode::Auto, None, grace) => Target::Auto(grace.map_or(DEFAULT_GRACE_PERIOD, |g| g.0)),
            (RotationMode::Auto, Some(_), _) => {
                return Err(AuthError::BadRequest("--phase is for the manual mode; add --manual".into()));
            }
        };
        let types: Vec<CaType> = req.ca_type.map_or_else(|| CaType::ALL.to_vec(), |t| vec![t]);
        self.apply(who, &types, target).await?;
        self.keyring().public(&self.core.cluster)
    }

    /// Moves every automatic rotation whose next phase is due; returns whether one moved.
    pub async fn advance_due(&self) -> Result<bool, AuthError> {
        let moved = self.apply("@auth", &CaType::ALL, Target::Due).await?;
        Ok(!moved.is_empty())
    }

    /// Plans `target` for `types` on the stored record and swaps it in (again from the top when
    /// another host changed it in between), then loads it and audits each move.
    async fn apply(&self, who: &str, types: &[CaType], target: Target) -> Result<Vec<CaType>, AuthError> {
        let cluster = self.core.cluster.clone();
        let keys = self.key_maker();
        for _ in 0..8 {
            let item = self
                .core
                .backend
                .get(SEALED_CAS)
                .await?
                .ok_or_else(|| AuthError::fault(format!("{SEALED_CAS} vanished from storage")))?;
            let mut cas = StoredCas::open(&self.kek, &cluster, &item.value)?;
            let now = OffsetDateTime::now_utc();
            let mut moves = Vec::new();
            for &ca_type in types {
                let ca = cas.ca_mut(ca_type);
                let from = ca.rotation.phase;
                match plan(ca_type, ca, target, now, &keys) {
                    Ok(Planned::Nothing) => {}
                    Ok(Planned::Moved { from, to }) => moves.push((ca_type, from, to, ca.rotation.clone())),
                    Err(e) => {
                        let phase = match target {
                            Target::Manual(p) => p.as_str(),
                            _ => "init",
                        };
                        self.audit_move(who, ca_type, from, phase, &ca.rotation, Vec::new(), Some(e.to_string()));
                        return Err(e);
                    }
                }
            }
            if moves.is_empty() {
                return Ok(Vec::new());
            }
            cas.bump();
            let sealed = cas.seal(&self.kek, &cluster)?;
            match self.core.backend.compare_and_swap(SEALED_CAS, item.revision, sealed, None).await {
                Ok(_) => {}
                Err(StorageError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
            self.reload().await?;
            let keyring = self.keyring();
            for (ca_type, from, to, rotation) in &moves {
                let keys = keyring
                    .public(&cluster)?
                    .into_iter()
                    .find(|ca| ca.spec.ca_type == *ca_type)
                    .map(|ca| ca.spec.fingerprints())
                    .unwrap_or_default();
                self.audit_move(who, *ca_type, *from, to.as_str(), rotation, keys, None);
                tracing::info!(ca = %ca_type, %from, %to, mode = ?rotation.mode, "CA rotation moved");
            }
            return Ok(moves.into_iter().map(|(t, ..)| t).collect());
        }
        Err(AuthError::Conflict("the CA keys kept changing under this rotation; try again".into()))
    }

    #[allow(clippy::too_many_arguments)]
    fn audit_move(
        &self,
        who: &str,
        ca_type: CaType,
        from: RotationPhase,
        phase: &str,
        rotation: &Rotation,
        keys: Vec<String>,
        error: Option<String>,
    ) {
        let mode = match rotation.mode {
            RotationMode::Manual => "manual",
            RotationMode::Auto => "auto",
        };
        self.core.audit.emit(
            Event::CaRotate,
            Outcome::of(error.is_none()),
            who,
            serde_json::json!({
                "ca_type": ca_type.as_str(),
                "from": from.as_str(),
                "phase": phase,
                "mode": mode,
                "rotation_id": rotation.id,
                "keys": keys,
                "error": error,
            }),
        );
    }

    /// Walks automatic rotations until `stop` fires: the host holding the rotation lease
    /// ([`LEASE_KEY`]) moves every phase that is due; the others wait for the lease.
    pub async fn drive(self: std::sync::Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let holder = tether_shared::names::random_hex();
        let mut lease: Option<u64> = None;
        loop {
            tokio::select! {
                _ = stop.changed() => {
                    if let Some(revision) = lease {
                        // Hand the lease over at once rather than after its TTL.
                        let _ = self.core.backend.compare_and_swap(LEASE_KEY, revision, Vec::new(), Some(std::time::SystemTime::now())).await;
                    }
                    return;
                }
                _ = tokio::time::sleep(DRIVE_INTERVAL) => {}
            }
            lease = self.hold_lease(&holder, lease).await;
            if lease.is_some()
                && let Err(e) = self.advance_due().await
            {
                tracing::warn!("cannot move an automatic CA rotation: {}", e.chain());
            }
        }
    }

    /// Takes or renews the lease; returns its revision while this host holds it.
    async fn hold_lease(&self, holder: &str, held: Option<u64>) -> Option<u64> {
        let expires = Some(std::time::SystemTime::now() + LEASE_TTL);
        let backend = &self.core.backend;
        let result = match held {
            Some(revision) => backend.compare_and_swap(LEASE_KEY, revision, holder.as_bytes().to_vec(), expires).await,
            None => backend.create(LEASE_KEY, holder.as_bytes().to_vec(), expires).await,
        };
        match result {
            Ok(revision) => Some(revision),
            Err(StorageError::AlreadyExists(_) | StorageError::Conflict { .. } | StorageError::NotFound(_)) => None,
            Err(e) => {
                tracing::warn!("cannot take the CA rotation lease: {e}");
                None
            }
        }
    }
}

/// The automatic mode's grace period when none is given (Teleport's default).
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(30 * 3600);

#[cfg(test)]
mod tests {
    use super::*;

    fn ca() -> StoredCa {
        StoredCa { key: "old".into(), next: None, rotation: Rotation::default(), endorsements: Vec::new() }
    }

    /// Keys that are only names: "new" for every new key.
    struct Fake;

    impl KeyOps for Fake {
        fn new_key(&self, _: CaType) -> Result<String, AuthError> {
            Ok("new".into())
        }

        fn endorse(&self, _: &str, _: &str) -> Result<String, AuthError> {
            Ok("link".into())
        }
    }

    fn refused(result: Result<Planned, AuthError>) -> String {
        match result {
            Err(e) => e.to_string(),
            Ok(moved) => format!("moved: {moved:?}"),
        }
    }

    #[test]
    fn manual_phases_walk_forward_and_the_new_key_replaces_the_old_at_standby() {
        use RotationPhase::*;
        let now = OffsetDateTime::now_utc();
        let mut ca = ca();
        for (to, next) in [(Init, Some("new")), (UpdateClients, Some("new")), (UpdateServers, Some("new"))] {
            assert_eq!(
                plan(CaType::User, &mut ca, Target::Manual(to), now, &Fake).unwrap(),
                Planned::Moved { from: after_inverse(to), to }
            );
            assert_eq!((ca.key.as_str(), ca.next.as_deref()), ("old", next));
        }
        let id = ca.rotation.id.clone();
        assert!(!id.is_empty());
        plan(CaType::User, &mut ca, Target::Manual(Standby), now, &Fake).unwrap();
        assert_eq!((ca.key.as_str(), ca.next.as_deref()), ("new", None), "standby makes the new key the only one");
        assert_eq!(ca.rotation.last_rotated, Some(now));
        assert_eq!(ca.rotation.phase, Standby);
    }

    fn after_inverse(to: RotationPhase) -> RotationPhase {
        RotationPhase::ALL.into_iter().find(|p| after(*p) == to && *p != RotationPhase::Rollback).unwrap()
    }

    #[test]
    fn rollback_keeps_the_old_key_and_skipping_or_repeating_a_phase_is_refused() {
        use RotationPhase::*;
        let now = OffsetDateTime::now_utc();
        let mut ca = ca();
        assert_eq!(
            refused(plan(CaType::User, &mut ca, Target::Manual(UpdateClients), now, &Fake)),
            "the user CA cannot go from standby to update_clients: start a rotation with --phase=init"
        );
        assert_eq!(
            refused(plan(CaType::User, &mut ca, Target::Manual(Rollback), now, &Fake)),
            "the user CA cannot go from standby to rollback: start a rotation with --phase=init"
        );
        plan(CaType::User, &mut ca, Target::Manual(Init), now, &Fake).unwrap();
        assert_eq!(
            refused(plan(CaType::User, &mut ca, Target::Manual(Init), now, &Fake)),
            "the user CA is already in phase init"
        );
        assert_eq!(
            refused(plan(CaType::User, &mut ca, Target::Manual(UpdateServers), now, &Fake)),
            "the user CA cannot go from init to update_servers: the next phase is update_clients, or rollback"
        );
        plan(CaType::User, &mut ca, Target::Manual(UpdateClients), now, &Fake).unwrap();
        plan(CaType::User, &mut ca, Target::Manual(Rollback), now, &Fake).unwrap();
        assert_eq!(
            refused(plan(CaType::User, &mut ca, Target::Manual(UpdateServers), now, &Fake)),
            "the user CA cannot go from rollback to update_servers: finish the rollback with --phase=standby"
        );
        plan(CaType::User, &mut ca, Target::Manual(Standby), now, &Fake).unwrap();
        assert_eq!((ca.key.as_str(), ca.next.as_deref()), ("old", None), "a rollback keeps the old key");
        assert_eq!(ca.rotation.last_rotated, None, "a rollback is not a rotation");
    }

    #[test]
    fn the_automatic_mode_moves_a_third_of_the_grace_period_at_a_time() {
        use RotationPhase::*;
        let start = OffsetDateTime::now_utc();
        let mut ca = ca();
        let grace = Duration::from_secs(30);
        assert!(
            refused(plan(CaType::Tls, &mut ca, Target::Auto(Duration::from_secs(2)), start, &Fake))
                .contains("too short")
        );
        plan(CaType::Tls, &mut ca, Target::Auto(grace), start, &Fake).unwrap();
        assert_eq!((ca.rotation.phase, ca.rotation.mode), (Init, RotationMode::Auto));
        assert_eq!(ca.rotation.next_phase_at, Some(start + time::Duration::seconds(10)));
        // Not due yet: nothing; a second automatic start is refused.
        assert_eq!(plan(CaType::Tls, &mut ca, Target::Due, start, &Fake).unwrap(), Planned::Nothing);
        assert!(
            refused(plan(CaType::Tls, &mut ca, Target::Auto(grace), start, &Fake))
                .contains("is in progress (phase init)")
        );
        let mut at = start;
        for to in [UpdateClients, UpdateServers, Standby] {
            at += time::Duration::seconds(10);
            assert_eq!(
                plan(CaType::Tls, &mut ca, Target::Due, at, &Fake).unwrap(),
                Planned::Moved { from: after_inverse(to), to }
            );
        }
        assert_eq!((ca.key.as_str(), ca.rotation.next_phase_at), ("new", None));
        assert_eq!(
            plan(CaType::Tls, &mut ca, Target::Due, at + time::Duration::hours(1), &Fake).unwrap(),
            Planned::Nothing
        );
        // An operator's move takes an automatic rotation over.
        plan(CaType::Tls, &mut ca, Target::Auto(grace), at, &Fake).unwrap();
        plan(CaType::Tls, &mut ca, Target::Manual(UpdateClients), at, &Fake).unwrap();
        assert_eq!((ca.rotation.mode, ca.rotation.next_phase_at), (RotationMode::Manual, None));
        assert_eq!(
            plan(CaType::Tls, &mut ca, Target::Due, at + time::Duration::hours(1), &Fake).unwrap(),
            Planned::Nothing
        );
    }

    #[test]
    fn a_host_key_endorses_its_successor_until_a_rollback_drops_it() {
        use RotationPhase::*;
        let now = OffsetDateTime::now_utc();
        let mut ca = ca();
        let real = KeyMaker { cluster: "c", hsm: None };
        ca.key = real.new_key(CaType::Host).unwrap();
        plan(CaType::Host, &mut ca, Target::Manual(Init), now, &real).unwrap();
        assert_eq!(ca.endorsements.len(), 1);
        let raw = public_of(ca.next.as_deref().unwrap()).unwrap();
        assert_eq!(tether_shared::endorse::endorsed(&ca.endorsements[0]), Some(raw));
        plan(CaType::Host, &mut ca, Target::Manual(Rollback), now, &real).unwrap();
        plan(CaType::Host, &mut ca, Target::Manual(Standby), now, &real).unwrap();
        assert!(ca.endorsements.is_empty(), "the rolled-back key is still endorsed: {:?}", ca.endorsements);
    }
}
