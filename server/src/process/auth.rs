//! Starting the auth service: the storage backend the config names, the audit log, the auth
//! service on top of both, and the static tokens from the config.

use std::sync::Arc;

use anyhow::Context;
use tether_audit::Audit;
use tether_auth::AuthService;
use tether_storage::Backend;
use tether_storage::postgres::PostgresBackend;
use tether_storage::sqlite::SqliteBackend;

use crate::config::{self, AuthConfig, Config, StorageConfig};

/// The running auth service and what it stands on; [`AuthParts::close`] closes them in order.
pub(super) struct AuthParts {
    /// The storage backend.
    pub backend: Arc<dyn Backend>,
    /// The audit log.
    pub audit: Arc<Audit>,
    /// The auth service.
    pub auth: Arc<AuthService>,
}

impl AuthParts {
    /// Writes out every event the services emitted, then closes storage.
    pub async fn close(self) {
        self.audit.close();
        self.backend.close().await;
    }
}

/// Opens storage and the audit log, starts the auth service and stores the static tokens.
pub(super) async fn start(cfg: &Config, auth_cfg: &AuthConfig) -> anyhow::Result<AuthParts> {
    let backend = open_storage(&cfg.storage).await?;
    let cluster = &auth_cfg.cluster_name;
    let audit = Arc::new(
        Audit::open_with(&cfg.data_dir.join("log"), cluster, cfg.audit.clone())
            .context("cannot open the audit log in data_dir/log")?,
    );
    let require_otp = matches!(auth_cfg.second_factor, config::SecondFactor::Otp);
    let kek = tether_auth::sealed::KekSource::from_environment(auth_cfg.ca_key_file.clone(), &cfg.data_dir);
    let hsm = match auth_cfg.ca_pkcs11.as_ref().map(open_hsm).transpose() {
        Ok(hsm) => hsm,
        Err(e) => {
            // A key that cannot be reached is audited like a key-encryption key that cannot.
            let details = serde_json::json!({"error": format!("{e:#}")});
            audit.emit(tether_audit::Event::CaKeys, tether_audit::Outcome::Failure, "", details);
            audit.close();
            return Err(e);
        }
    };
    let auth = match AuthService::init_with_hsm(backend.clone(), cluster, audit.clone(), require_otp, &kek, hsm).await {
        Ok(auth) => auth,
        Err(e) => {
            // What was audited (a CA key that could not be opened) is written out before the exit.
            audit.close();
            return Err(anyhow::anyhow!("auth: {}", e.chain()));
        }
    };
    auth.trust().set_insecure(cfg.insecure);
    auth.authority().set_leaf_cert_ttl(auth_cfg.leaf_cert_ttl);
    auth.trust().set_remote_cluster_ttl(auth_cfg.remote_cluster_ttl);
    for token in &auth_cfg.tokens {
        let token_type = match token.kind {
            config::TokenKind::Node => tether_shared::resource::TokenType::Node,
            config::TokenKind::TrustedCluster => tether_shared::resource::TokenType::TrustedCluster,
        };
        auth.tokens()
            .store_token(&token.token, token_type, Default::default(), None)
            .await
            .map_err(|e| anyhow::anyhow!("static token: {}", e.chain()))?;
    }
    Ok(AuthParts { backend, audit, auth })
}

/// Logs in to the HSM `ca_key_params.pkcs11` names (reading `pin_path` first).
fn open_hsm(p: &config::Pkcs11Settings) -> anyhow::Result<Arc<tether_auth::pkcs11::Hsm>> {
    let pin = match &p.pin {
        config::Pin::Value(pin) => pin.clone(),
        config::Pin::File(path) => std::fs::read_to_string(path).map(|s| s.trim().to_string()).with_context(|| {
            format!("auth: cannot read auth_service.ca_key_params.pkcs11.pin_path {}", path.display())
        })?,
    };
    let params = tether_auth::pkcs11::Pkcs11Config {
        module_path: p.module_path.clone(),
        token_label: p.token_label.clone(),
        pin,
    };
    tether_auth::pkcs11::Hsm::open(&params).map_err(|e| anyhow::anyhow!("auth: {e}"))
}

/// The storage backend the config names.
async fn open_storage(storage: &StorageConfig) -> anyhow::Result<Arc<dyn Backend>> {
    Ok(match storage {
        StorageConfig::Sqlite { path } => {
            SqliteBackend::open(path).await.with_context(|| format!("cannot open storage {}", path.display()))?
        }
        // The error is one line naming the server and the cause (`cannot connect to PostgreSQL at
        // db.example.com:5432: connection refused`).
        StorageConfig::Postgres { conn_string } => PostgresBackend::open(conn_string)
            .await
            .map_err(|e| anyhow::anyhow!("teleport.storage.conn_string: {}", e.detail()))?,
    })
}
