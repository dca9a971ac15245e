//! The API's resource, user, token and listing operations as business rules: who may do what
//! (RBAC through [`Core::authorize`](super::Core::authorize)), what may be stored, what is audited, and what each caller
//! may see. The web handlers only translate HTTP to these calls and back.

use std::time::Duration;
use tether_audit::{Event, Outcome};

use tether_shared::api::{
    AuditEvent, ClusterInfo, CreateTokenRequest, CreateUserRequest, InviteResponse, LoginResponse, SignRequest,
    TokenInfo, WhoAmI,
};
use tether_shared::identity::{Identity, Traits};
use tether_shared::resource::{CaType, CertAuthority, Kind, Resource, User, UserSpec};

use std::sync::Arc;

use super::{AuthError, Authority, Core, Logins, Tokens, Trust, grantable_roles, is_reserved_role};
use tether_storage::StorageError;
use tether_storage::records;

/// The API's rules for `tctl` and `tsh`: every call checked against the caller's roles.
pub struct Resources {
    core: Arc<Core>,
    authority: Arc<Authority>,
    tokens: Arc<Tokens>,
    logins: Arc<Logins>,
    trust: Arc<Trust>,
}

impl Resources {
    /// The API's rules over the other parts.
    pub fn new(
        core: Arc<Core>,
        authority: Arc<Authority>,
        tokens: Arc<Tokens>,
        logins: Arc<Logins>,
        trust: Arc<Trust>,
    ) -> Self {
        Resources { core, authority, tokens, logins, trust }
    }

    /// `tctl users add`: a user with existing, grantable roles, and their invitation.
    pub async fn create_user(&self, who: &Identity, req: &CreateUserRequest) -> Result<InviteResponse, AuthError> {
        self.core.authorize(who, "user", "create").await?;
        tether_shared::names::validate_name(&req.name).map_err(|e| AuthError::BadRequest(e.to_string()))?;
        if req.roles.is_empty() {
            return Err(AuthError::BadRequest("a user needs at least one role (--roles=access,editor)".into()));
        }
        for role in &req.roles {
            if is_reserved_role(role) {
                return Err(AuthError::BadRequest(format!("role {role:?} is built in and cannot be given to users")));
            }
            if self.core.roles(std::slice::from_ref(role)).await?.is_empty() {
                return Err(AuthError::BadRequest(format!("role {role:?} does not exist")));
            }
        }
        for login in &req.logins {
            tether_shared::names::validate_login(login).map_err(|e| AuthError::BadRequest(format!("--logins: {e}")))?;
        }
        let mut traits = Traits::new();
        if !req.logins.is_empty() {
            traits.insert("logins".into(), req.logins.clone());
        }
        let user = User::new(&req.name, UserSpec { roles: req.roles.clone(), traits });
        records::create(self.core.backend(), &Resource::User(user)).await.map_err(|e| match e {
            StorageError::AlreadyExists(_) => AuthError::Conflict(format!("user {:?} already exists", req.name)),
            other => other.into(),
        })?;
        self.core.audit.emit(
            Event::UserCreate,
            Outcome::Success,
            &who.user,
            serde_json::json!({"name": req.name, "roles": req.roles}),
        );
        self.logins.invite(&req.name).await
    }

    /// `tctl users reset`: clears the password and invites the user again.
    pub async fn reset_user(&self, who: &Identity, name: &str) -> Result<InviteResponse, AuthError> {
        self.core.authorize(who, "user", "update").await?;
        if records::get(self.core.backend(), &records::key(Kind::User, name)).await?.is_none() {
            return Err(AuthError::NotFound(format!("user {name:?} not found")));
        }
        self.logins.clear_password(name).await?;
        self.core.audit.emit(Event::UserReset, Outcome::Success, &who.user, serde_json::json!({"name": name}));
        self.logins.invite(name).await
    }

    /// Every resource of a kind the caller may list and see; remote clusters carry their
    /// status from tunnel records at most `offline_window` old.
    pub async fn list_resources(
        &self,
        who: &Identity,
        kind: Kind,
        offline_window: Duration,
    ) -> Result<Vec<Resource>, AuthError> {
        self.core.authorize(who, kind.as_str(), "list").await?;
        if kind == Kind::Token {
            return self.tokens.token_resources().await;
        }
        let all = records::list(self.core.backend(), &records::prefix(kind)).await?;
        let shown = self.visible(who, all).await?;
        self.with_status(shown, offline_window).await
    }

    /// One resource by name (for CAs: every CA of the named cluster), if the caller may read
    /// and see it.
    pub async fn get_resources(
        &self,
        who: &Identity,
        kind: Kind,
        name: &str,
        offline_window: Duration,
    ) -> Result<Vec<Resource>, AuthError> {
        self.core.authorize(who, kind.as_str(), "read").await?;
        let found = if kind == Kind::Token {
            self.tokens.token_resources().await?.into_iter().filter(|t| t.name() == name).collect()
        } else if kind == Kind::CertAuthority {
            records::list(self.core.backend(), &format!("{}{name}/", records::prefix(kind))).await?
        } else {
            records::get(self.core.backend(), &records::key(kind, name)).await?.into_iter().collect()
        };
        let found = self.visible(who, found).await?;
        if found.is_empty() {
            return Err(AuthError::NotFound(format!("{kind} {name:?} not found")));
        }
        self.with_status(found, offline_window).await
    }

    /// `tctl create [-f]`: checks every document before storing any, so a bad one stores
    /// nothing; then creates or (with `force`) replaces each. Returns one line per resource.
    pub async fn apply_resources(
        &self,
        who: &Identity,
        resources: Vec<Resource>,
        force: bool,
    ) -> Result<Vec<String>, AuthError> {
        if resources.is_empty() {
            return Err(AuthError::BadRequest("no resources in the request".into()));
        }
        // Roles a user in the same request may name.
        let defined: std::collections::HashSet<&str> =
            resources.iter().filter(|r| matches!(r, Resource::Role(_))).map(Resource::name).collect();
        for r in &resources {
            self.core.authorize(who, r.kind().as_str(), if force { "update" } else { "create" }).await?;
            if force {
                self.core.authorize(who, r.kind().as_str(), "create").await?;
            }
            check_storable(r, force)?;
            if let Resource::User(u) = r {
                for role in &u.spec.roles {
                    if !defined.contains(role.as_str()) && self.core.roles(std::slice::from_ref(role)).await?.is_empty()
                    {
                        return Err(AuthError::BadRequest(format!(
                            "{}: spec.roles: role {role:?} does not exist; create it first (or in the same file)",
                            r.reference()
                        )));
                    }
                }
                for login in u.spec.traits.get("logins").into_iter().flatten() {
                    tether_shared::names::validate_login(login)
                        .map_err(|e| AuthError::BadRequest(format!("{}: spec.traits.logins: {e}", r.reference())))?;
                }
            }
        }
        // All or nothing: a document that fails to store takes back the ones stored before it
        // (each put back as it was), and only a whole success is audited and answered.
        let mut stored: Vec<(Resource, bool, Option<tether_storage::Item>)> = Vec::new();
        for mut r in resources {
            r.metadata_mut().id = None;
            let before = self.core.backend().get(&records::key_of(&r)).await?;
            match self.store_resource(&r, force).await {
                Ok(existed) => stored.push((r, existed, before)),
                Err(e) => {
                    let taken_back = stored.len();
                    self.take_back(stored).await;
                    return Err(match taken_back {
                        0 => e,
                        n => with_context(
                            e,
                            &format!("{}: ", r.reference()),
                            &format!(
                                "; nothing was stored (the {n} resource(s) before it in the request were taken back)"
                            ),
                        ),
                    });
                }
            }
        }
        let mut done = Vec::new();
        for (r, existed, _) in stored {
            let verb = if existed { "updated" } else { "created" };
            self.core.audit.emit(
                if existed { Event::ResourceUpdate } else { Event::ResourceCreate },
                Outcome::Success,
                &who.user,
                serde_json::json!({"kind": r.kind().as_str(), "name": r.name()}),
            );
            done.push(format!("{} '{}' has been {verb}", r.kind(), r.name()));
            if let Resource::TrustedCluster(tc) = &r {
                // Not refused (the roles may come next), but said: users mapped only to roles
                // that do not exist get nothing here.
                let mut missing = Vec::new();
                for local in tc.spec.role_map.iter().flat_map(|rule| &rule.local) {
                    if !local.contains('$')
                        && !missing.contains(local)
                        && self.core.roles(std::slice::from_ref(local)).await?.is_empty()
                    {
                        missing.push(local.clone());
                    }
                }
                if !missing.is_empty() {
                    done.push(format!(
                        "warning: the role_map of trusted_cluster '{}' maps to roles that do not exist on this \
                         cluster: {}; users mapped only to them get no access here until you create them",
                        r.name(),
                        missing.join(", ")
                    ));
                }
            }
        }
        Ok(done)
    }

    /// Puts back, newest first, what `stored` replaced: a created resource is removed (a
    /// trusted cluster with the root's CAs it brought), an updated one gets its old value.
    async fn take_back(&self, stored: Vec<(Resource, bool, Option<tether_storage::Item>)>) {
        for (r, _, before) in stored.into_iter().rev() {
            let key = records::key_of(&r);
            let undone = match (&r, before) {
                (Resource::TrustedCluster(tc), None) => self.trust.delete_trusted_cluster(tc.name()).await.err(),
                (_, Some(item)) => {
                    self.core.backend().put(&key, item.value, item.expires).await.err().map(AuthError::from)
                }
                (_, None) => self.core.backend().delete(&key).await.err().map(AuthError::from),
            };
            if let Some(e) = undone {
                tracing::error!("could not take back {} after a failed request: {}", r.reference(), e.chain());
            }
        }
    }

    /// Stores one checked resource; whether it existed.
    async fn store_resource(&self, r: &Resource, force: bool) -> Result<bool, AuthError> {
        match r {
            Resource::TrustedCluster(tc) => self.trust.upsert_trusted_cluster(tc.clone(), force).await,
            // Only labels (checked in `check_storable`: with `force`).
            Resource::RemoteCluster(rc) => {
                self.trust.set_remote_cluster_labels(&rc.metadata.name, rc.metadata.labels.clone()).await?;
                Ok(true)
            }
            _ if force => {
                let existed = self.core.backend().get(&records::key_of(r)).await?.is_some();
                records::upsert(self.core.backend(), r).await?;
                Ok(existed)
            }
            _ => {
                records::create(self.core.backend(), r).await.map_err(|e| match e {
                    StorageError::AlreadyExists(_) => AuthError::Conflict(format!(
                        "{} {:?} already exists; use tctl create -f to overwrite it",
                        r.kind(),
                        r.name()
                    )),
                    other => other.into(),
                })?;
                Ok(false)
            }
        }
    }

    /// `tctl rm KIND/NAME`. A removed remote cluster's tunnels are the proxy's to drop.
    pub async fn delete_resource(&self, who: &Identity, kind: Kind, name: &str) -> Result<String, AuthError> {
        self.core.authorize(who, kind.as_str(), "delete").await?;
        match kind {
            Kind::CertAuthority => {
                return Err(AuthError::BadRequest(
                    "certificate authorities are removed with their remote cluster".into(),
                ));
            }
            Kind::TrustedCluster => self.trust.delete_trusted_cluster(name).await?,
            Kind::RemoteCluster => self.trust.delete_remote_cluster(name).await?,
            _ => {
                if !self.core.backend().delete(&records::key(kind, name)).await? {
                    return Err(AuthError::NotFound(format!("{kind} {name:?} not found")));
                }
            }
        }
        if kind == Kind::User {
            self.logins.clear_password(name).await?;
        }
        self.core.audit.emit(
            Event::ResourceDelete,
            Outcome::Success,
            &who.user,
            serde_json::json!({"kind": kind.as_str(), "name": name}),
        );
        Ok(format!("{kind} '{name}' has been deleted"))
    }

    /// `tctl tokens add`.
    pub async fn create_token(&self, who: &Identity, req: CreateTokenRequest) -> Result<TokenInfo, AuthError> {
        self.core.authorize(who, "token", "create").await?;
        let info = self.tokens.add_token(req.token_type, Duration::from_secs(req.ttl_secs), req.labels).await?;
        self.core.audit.emit(
            Event::JoinTokenCreate,
            Outcome::Success,
            &who.user,
            serde_json::json!({"type": info.token_type.as_str(), "expires": info.expires.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())}),
        );
        Ok(info)
    }

    /// `tctl tokens ls`.
    pub async fn tokens_for(&self, who: &Identity) -> Result<Vec<TokenInfo>, AuthError> {
        self.core.authorize(who, "token", "list").await?;
        self.tokens.list_tokens().await
    }

    /// `tctl tokens rm`.
    pub async fn delete_token(&self, who: &Identity, token: &str) -> Result<TokenInfo, AuthError> {
        self.core.authorize(who, "token", "delete").await?;
        let info = self.tokens.remove_token(token).await?;
        self.core.audit.emit(
            Event::JoinTokenDelete,
            Outcome::Success,
            &who.user,
            serde_json::json!({"type": info.token_type.as_str(), "token": info.token}),
        );
        Ok(info)
    }

    /// Certificates for any user: impersonation, so it needs `create` on `cert_authority`,
    /// which only the local admin identity holds by default.
    pub async fn sign_for_user(&self, who: &Identity, req: &SignRequest) -> Result<LoginResponse, AuthError> {
        self.core.authorize(who, "cert_authority", "create").await?;
        let Some(Resource::User(user)) =
            records::get(self.core.backend(), &records::key(Kind::User, &req.user)).await?
        else {
            return Err(AuthError::NotFound(format!("user {:?} not found", req.user)));
        };
        let role_names = grantable_roles(&user.spec.roles);
        let roles = self.core.roles(&role_names).await?;
        let checker = tether_shared::rbac::AccessChecker::new(&roles, &user.spec.traits);
        let cert = super::certs::CertRequest {
            user: &req.user,
            roles: role_names,
            traits: user.spec.traits.clone(),
            public_key: &req.public_key,
            ttl: Duration::from_secs(req.ttl_secs),
            leaf: None,
        };
        let issued = self.authority.issue(cert, &checker)?;
        self.core.audit.emit(Event::CertCreate, Outcome::Success, &who.user, serde_json::json!({"for_user": req.user}));
        Ok(issued)
    }

    /// The caller's own certificates again (`POST /webapi/certs/renew`), from the keys the CAs
    /// sign clients with now: after a rotation's `update_clients`, `tsh` swaps its certificates
    /// before the old key stops being trusted. Only for the key of the caller's client
    /// certificate, with the user's current roles, and never beyond the caller's certificate.
    pub async fn renew_for_user(&self, who: &Identity, holder_key: &[u8; 32]) -> Result<LoginResponse, AuthError> {
        if who.cluster != self.core.cluster || who.route_to_cluster.is_some() || is_reserved_role(&who.user) {
            return Err(AuthError::Forbidden(format!(
                "only a user of {} renews certificates here, with the certificate of a login",
                self.core.cluster
            )));
        }
        let Some(Resource::User(user)) =
            records::get(self.core.backend(), &records::key(Kind::User, &who.user)).await?
        else {
            return Err(AuthError::Forbidden(format!("user {:?} no longer exists", who.user)));
        };
        let left = who.valid_before - time::OffsetDateTime::now_utc();
        let left = Duration::from_secs(u64::try_from(left.whole_seconds()).unwrap_or(0));
        if left.is_zero() {
            return Err(AuthError::Unauthorized("your certificate has expired; run tsh login".into()));
        }
        let key = russh::keys::PublicKey::from(russh::keys::ssh_key::public::KeyData::Ed25519(
            russh::keys::ssh_key::public::Ed25519PublicKey(*holder_key),
        ));
        let public = key.to_openssh().map_err(super::internal("encoding a public key"))?;
        let role_names = grantable_roles(&user.spec.roles);
        let roles = self.core.roles(&role_names).await?;
        let checker = tether_shared::rbac::AccessChecker::new(&roles, &user.spec.traits);
        let cert = super::certs::CertRequest {
            user: &who.user,
            roles: role_names,
            traits: user.spec.traits.clone(),
            public_key: &public,
            ttl: left,
            leaf: None,
        };
        let issued = self.authority.issue(cert, &checker)?;
        self.core.audit.emit(Event::CertCreate, Outcome::Success, &who.user, serde_json::json!({"for_user": who.user}));
        Ok(issued)
    }

    /// Moves this cluster's CAs to another rotation phase (`tctl auth rotate`): `update` on
    /// `cert_authority`.
    pub async fn rotate(
        &self,
        who: &Identity,
        req: &tether_shared::api::RotateRequest,
    ) -> Result<Vec<CertAuthority>, AuthError> {
        self.core.authorize(who, "cert_authority", "update").await?;
        self.authority.rotate(&who.user, req).await
    }

    /// The newest `limit` audit events at or after `since`, oldest first.
    pub async fn events_for(
        &self,
        who: &Identity,
        filter: tether_audit::read::Filter,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, AuthError> {
        self.core.authorize(who, "event", "list").await?;
        let limit = limit.min(tether_audit::MAX_READ_LIMIT);
        self.core.audit.read_filtered(filter, limit).await.map_err(super::internal("reading the audit log"))
    }

    /// This cluster and the leaves the caller's roles may see (`cluster_labels`), with status
    /// and the CAs `tsh` checks them with. A trusted cluster's user (`remote`) sees only this
    /// cluster, never its leaves.
    pub async fn clusters_for(
        &self,
        who: &Identity,
        remote: bool,
        offline_window: Duration,
    ) -> Result<Vec<ClusterInfo>, AuthError> {
        let local = self.core.cluster_name().to_string();
        let mut out = vec![self.cluster_info(&local, "online".into(), "root", None).await?];
        if remote {
            return Ok(out);
        }
        let rcs = self.trust.remote_clusters().await?.into_iter().map(Resource::RemoteCluster).collect();
        let shown = self.with_status(self.visible(who, rcs).await?, offline_window).await?;
        for r in shown {
            let Resource::RemoteCluster(rc) = r else { continue };
            let status = rc.status.as_ref().map(|s| s.connection.to_string()).unwrap_or_else(|| "offline".into());
            let heartbeat = rc
                .status
                .and_then(|s| s.last_heartbeat)
                .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok());
            out.push(self.cluster_info(&rc.metadata.name, status, "leaf", heartbeat).await?);
        }
        Ok(out)
    }

    async fn cluster_info(
        &self,
        name: &str,
        status: String,
        cluster_type: &str,
        last_heartbeat: Option<String>,
    ) -> Result<ClusterInfo, AuthError> {
        let keys = |ca: Option<CertAuthority>| ca.map(|ca| ca.spec.trusted()).unwrap_or_default();
        Ok(ClusterInfo {
            name: name.to_string(),
            status,
            cluster_type: cluster_type.into(),
            host_cas: keys(self.trust.ca_of(name, CaType::Host).await?).ssh,
            tls_cas: keys(self.trust.ca_of(name, CaType::Tls).await?).tls,
            last_heartbeat,
        })
    }

    /// The nodes the caller could log in to (no resource rule needed: the node labels decide).
    pub async fn nodes_for(&self, who: &Identity) -> Result<Vec<Resource>, AuthError> {
        let all = records::list(self.core.backend(), &records::prefix(Kind::Node)).await?;
        self.visible(who, all).await
    }

    /// What user `name`'s roles mean for them (`tctl users expand`): their templates expanded
    /// against the user's traits with the engine the checks use, the logins a certificate would
    /// carry and those it would leave out. Needs `read` on users and roles.
    pub async fn user_expansion(
        &self,
        who: &Identity,
        name: &str,
    ) -> Result<tether_shared::api::UserExpansion, AuthError> {
        self.core.authorize(who, "user", "read").await?;
        self.core.authorize(who, "role", "read").await?;
        let Some(Resource::User(user)) = records::get(self.core.backend(), &records::key(Kind::User, name)).await?
        else {
            return Err(AuthError::NotFound(format!("user {name:?} not found")));
        };
        let names = grantable_roles(&user.spec.roles);
        let roles = self.core.roles(&names).await?;
        let checker = tether_shared::rbac::AccessChecker::new(&roles, &user.spec.traits);
        let (logins, dropped_logins) = checker.logins_checked();
        Ok(tether_shared::api::UserExpansion {
            user: name.to_string(),
            roles: names,
            logins,
            dropped_logins,
            expanded: roles.iter().map(|r| tether_shared::rbac::RoleExpansion::of(r, &user.spec.traits)).collect(),
            traits: user.spec.traits,
        })
    }

    /// The caller as this cluster sees them; `remote_roles` are a trusted cluster's user's
    /// roles before mapping.
    pub async fn whoami(&self, who: &Identity, remote_roles: Option<&[String]>) -> Result<WhoAmI, AuthError> {
        let checker = self.core.checker(who).await?;
        Ok(WhoAmI {
            user: who.user.clone(),
            user_cluster: who.cluster.clone(),
            cluster: self.core.cluster_name().to_string(),
            cert_roles: remote_roles.map_or_else(|| who.roles.clone(), <[String]>::to_vec),
            roles: who.roles.clone(),
            logins: checker.logins(),
        })
    }

    /// Which resources of a listing the caller may see: remote clusters by `cluster_labels`,
    /// nodes by whether their roles could log in there.
    async fn visible(&self, who: &Identity, resources: Vec<Resource>) -> Result<Vec<Resource>, AuthError> {
        let checker = self.core.checker(who).await?;
        // The built-in identities (the local admin, nodes) see everything.
        let builtin = who.roles.iter().any(|r| is_reserved_role(r));
        Ok(resources
            .into_iter()
            .filter(|r| match r {
                Resource::RemoteCluster(rc) => builtin || checker.check_cluster(&rc.metadata.labels).allowed,
                Resource::Node(node) => builtin || checker.can_see_node(&node.metadata.labels),
                _ => true,
            })
            .collect())
    }

    /// Fills in remote clusters' `status` from the tunnel records (it is never stored).
    async fn with_status(
        &self,
        resources: Vec<Resource>,
        offline_window: Duration,
    ) -> Result<Vec<Resource>, AuthError> {
        if !resources.iter().any(|r| matches!(r, Resource::RemoteCluster(_))) {
            return Ok(resources);
        }
        let statuses = crate::tunnel_status::leaf_statuses(self.core.backend(), offline_window).await?;
        let ttl = self.trust.remote_cluster_ttl();
        Ok(resources
            .into_iter()
            .map(|r| match r {
                Resource::RemoteCluster(mut rc) => {
                    let mut status = statuses.get(&rc.metadata.name).cloned().unwrap_or_default();
                    status.expires = ttl.zip(status.last_heartbeat).map(|(ttl, last)| last + ttl);
                    rc.status = Some(status);
                    Resource::RemoteCluster(rc)
                }
                other => other,
            })
            .collect())
    }
}

/// What no API caller may store: reserved names, built-in roles on users, the kinds the cluster
/// manages itself, and new remote clusters (they come from trust; an admin may only replace
/// their labels, with `force`).
/// `e` with `prefix` and `suffix` around its message, of the same kind (and status).
fn with_context(e: AuthError, prefix: &str, suffix: &str) -> AuthError {
    let wrap = |m: String| format!("{prefix}{m}{suffix}");
    match e {
        AuthError::BadRequest(m) => AuthError::BadRequest(wrap(m)),
        AuthError::Conflict(m) => AuthError::Conflict(wrap(m)),
        AuthError::NotFound(m) => AuthError::NotFound(wrap(m)),
        AuthError::Forbidden(m) => AuthError::Forbidden(wrap(m)),
        other => other,
    }
}

fn check_storable(r: &Resource, force: bool) -> Result<(), AuthError> {
    if r.name().starts_with('@') {
        return Err(AuthError::BadRequest(format!("{}: names starting with '@' are reserved", r.reference())));
    }
    if let Resource::User(u) = r
        && let Some(role) = u.spec.roles.iter().find(|role| is_reserved_role(role))
    {
        return Err(AuthError::BadRequest(format!(
            "{}: role {role:?} is built in and cannot be given to users",
            r.reference()
        )));
    }
    if matches!(r, Resource::CertAuthority(_) | Resource::Token(_)) {
        return Err(AuthError::BadRequest(format!(
            "{} resources are managed by the cluster (use tctl tokens or trusted clusters)",
            r.kind()
        )));
    }
    if let Resource::RemoteCluster(rc) = r
        && !force
    {
        return Err(AuthError::BadRequest(format!(
            "remote clusters are created when a leaf establishes trust; change labels with tctl update rc/{} --set-labels=k=v",
            rc.metadata.name
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tether_shared::identity::{Identity, Traits};
    use tether_shared::resource::{Kind, Resource, parse_resources};

    use super::super::{ADMIN_ROLE, AuthError, AuthService};
    use tether_audit::Audit;
    use tether_storage::records;
    use tether_storage::sqlite::SqliteBackend;

    async fn cluster(dir: &tempfile::TempDir) -> Arc<AuthService> {
        let backend = SqliteBackend::open(dir.path().join("root.db")).await.unwrap();
        let audit = Arc::new(Audit::open(&dir.path().join("log"), "root.example.com").unwrap());
        AuthService::init(backend, "root.example.com", audit, false, &crate::sealed::KekSource::Fixed([7; 32]))
            .await
            .unwrap()
    }

    fn identity(user: &str, cluster: &str, roles: &[&str]) -> Identity {
        let now = time::OffsetDateTime::now_utc();
        Identity {
            user: user.into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            traits: Traits::new(),
            logins: vec![],
            cluster: cluster.into(),
            valid_after: now,
            valid_before: now + time::Duration::hours(1),
            permit_pty: true,
            permit_agent_forwarding: false,
            permit_port_forwarding: false,
            route_to_cluster: None,
        }
    }

    #[tokio::test]
    async fn a_document_with_one_bad_resource_stores_none_of_them() {
        let dir = tempfile::tempdir().unwrap();
        let auth = cluster(&dir).await;
        let admin = identity("@admin", "root.example.com", &[ADMIN_ROLE]);
        let yaml = "kind: role\nversion: v5\nmetadata:\n  name: ops\nspec:\n  allow:\n    logins: [ops]\n---\n\
                    kind: remote_cluster\nversion: v3\nmetadata:\n  name: leaf.example.com\n";
        let docs = parse_resources("request", yaml).unwrap();
        let err = auth.resources().apply_resources(&admin, docs, false).await.unwrap_err();
        assert!(
            matches!(&err, AuthError::BadRequest(m) if m.starts_with("remote clusters are created when a leaf establishes trust")),
            "{err}"
        );
        // The role before it was not stored either.
        assert!(records::get(auth.backend(), &records::key(Kind::Role, "ops")).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_trusted_clusters_user_gets_no_leaf_certificate_as_a_local_namesake() {
        let dir = tempfile::tempdir().unwrap();
        let auth = cluster(&dir).await;
        let stranger = identity("alice", "other.example.com", &["access"]);
        let key = tether_shared::ssh_cert::generate_ed25519_key().unwrap();
        let public = key.public_key().to_openssh().unwrap();
        let holder = key.public_key().key_data().ed25519().unwrap().0;
        let err = auth.trust().issue_leaf_cert(&stranger, &holder, "leaf.example.com", &public).await.unwrap_err();
        assert_eq!(err.to_string(), "access denied: only users of root.example.com get certificates for its leaves");
    }

    /// A leaf certificate certifies only the key the caller holds (the key of its client
    /// certificate), never another public key it sends.
    #[tokio::test]
    async fn a_leaf_certificate_is_only_for_the_callers_own_key() {
        let dir = tempfile::tempdir().unwrap();
        let auth = cluster(&dir).await;
        let alice = identity("alice", "root.example.com", &["access"]);
        let mine = tether_shared::ssh_cert::generate_ed25519_key().unwrap();
        let holder = mine.public_key().key_data().ed25519().unwrap().0;
        let other = tether_shared::ssh_cert::generate_ed25519_key().unwrap().public_key().to_openssh().unwrap();
        let err = auth.trust().issue_leaf_cert(&alice, &holder, "leaf.example.com", &other).await.unwrap_err();
        assert!(
            matches!(&err, AuthError::Forbidden(m) if m.starts_with("public_key is not the key of your certificate")),
            "{err}"
        );
        // The caller's own key passes this check and meets the next one (no such leaf).
        let own = mine.public_key().to_openssh().unwrap();
        let err = auth.trust().issue_leaf_cert(&alice, &holder, "leaf.example.com", &own).await.unwrap_err();
        assert!(matches!(&err, AuthError::NotFound(_)), "{err}");
    }

    #[tokio::test]
    async fn deleting_needs_the_delete_verb_and_names_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let auth = cluster(&dir).await;
        let admin = identity("@admin", "root.example.com", &[ADMIN_ROLE]);
        let missing = auth.resources().delete_resource(&admin, Kind::Role, "nope").await.unwrap_err();
        assert_eq!(missing.to_string(), "role \"nope\" not found");
        let ca = auth.resources().delete_resource(&admin, Kind::CertAuthority, "root.example.com").await.unwrap_err();
        assert_eq!(ca.to_string(), "certificate authorities are removed with their remote cluster");
        let nobody = identity("bob", "root.example.com", &[]);
        let denied = auth.resources().delete_resource(&nobody, Kind::Role, "access").await.unwrap_err();
        assert!(matches!(denied, AuthError::Forbidden(_)), "{denied}");
        assert!(matches!(
            records::get(auth.backend(), &records::key(Kind::Role, "access")).await.unwrap(),
            Some(Resource::Role(_))
        ));
    }
}
