//! Join tokens: created by `tctl tokens add` (or listed statically in the config), stored only
//! as SHA-256 hashes under `/secrets/tokens/`, expiring through the backend's TTL.
//!
//! Since the secret is not kept, listings show a hint (its first characters); `tctl tokens rm`
//! accepts the full token or that hint. A `trusted_cluster` token may be used any number of
//! times until it expires; checks compare hashes, so no token is compared in variable time.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tether_shared::api::TokenInfo;
use tether_shared::labels::Labels;
use tether_shared::resource::TokenType;

use std::sync::Arc;

use super::{AuthError, Core, internal, password};

/// Characters of a token kept for display.
pub const HINT_LEN: usize = 8;
const PREFIX: &str = "/secrets/tokens/";

/// What is stored for a token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRecord {
    /// What it lets join.
    #[serde(rename = "type")]
    pub token_type: TokenType,
    /// Labels for what joins with it.
    #[serde(default)]
    pub labels: Labels,
    /// The first characters of the token.
    pub hint: String,
    /// Expiry; `None` for static tokens from the config.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires: Option<time::OffsetDateTime>,
}

impl TokenRecord {
    fn info(&self) -> TokenInfo {
        TokenInfo {
            token: format!("{}…", self.hint),
            token_type: self.token_type,
            labels: self.labels.clone(),
            expires: self.expires,
        }
    }
}

/// Join tokens, stored hashed.
pub struct Tokens {
    core: Arc<Core>,
}

impl Tokens {
    /// Join tokens in the cluster's storage.
    pub fn new(core: Arc<Core>) -> Self {
        Tokens { core }
    }

    /// Creates a random token of `token_type` that expires after `ttl`; returns it in full,
    /// the only time it is shown.
    pub async fn add_token(
        &self,
        token_type: TokenType,
        ttl: Duration,
        labels: Labels,
    ) -> Result<TokenInfo, AuthError> {
        if ttl.is_zero() || ttl > Duration::from_secs(30 * 86400) {
            return Err(AuthError::BadRequest("--ttl must be between 1s and 720h".into()));
        }
        let token = password::random_token().map_err(internal("generating a random token"))?;
        let expires = time::OffsetDateTime::now_utc() + ttl;
        self.store_token(&token, token_type, labels.clone(), Some(expires)).await?;
        Ok(TokenInfo { token, token_type, labels, expires: Some(expires) })
    }

    /// Stores a token (static tokens from the config have no expiry).
    pub async fn store_token(
        &self,
        token: &str,
        token_type: TokenType,
        labels: Labels,
        expires: Option<time::OffsetDateTime>,
    ) -> Result<(), AuthError> {
        let hint: String = token.chars().take(HINT_LEN).collect();
        let record = TokenRecord { token_type, labels, hint, expires };
        let value = serde_json::to_vec(&record).map_err(internal("encoding a stored record"))?;
        let key = format!("{PREFIX}{}", password::hash_token(token));
        self.core.backend.put(&key, value, expires.map(SystemTime::from)).await?;
        Ok(())
    }

    /// Lists live tokens (hints only), soonest expiry first.
    pub async fn list_tokens(&self) -> Result<Vec<TokenInfo>, AuthError> {
        let mut out = Vec::new();
        for item in self.core.backend.range(PREFIX).await? {
            let record: TokenRecord =
                serde_json::from_slice(&item.value).map_err(internal("reading a stored record"))?;
            out.push(record.info());
        }
        out.sort_by_key(|t| t.expires);
        Ok(out)
    }

    /// Live tokens as `token` resources, named by their hint (`tctl get tokens`).
    pub async fn token_resources(&self) -> Result<Vec<tether_shared::resource::Resource>, AuthError> {
        Ok(self
            .list_tokens()
            .await?
            .into_iter()
            .map(|t| {
                let mut token = tether_shared::resource::Token::new(
                    t.token,
                    tether_shared::resource::TokenSpec { token_type: t.token_type },
                );
                token.metadata.labels = t.labels;
                token.metadata.expires = t.expires;
                tether_shared::resource::Resource::Token(token)
            })
            .collect())
    }

    /// Deletes a token given in full or by its listed hint.
    pub async fn remove_token(&self, token: &str) -> Result<TokenInfo, AuthError> {
        let key = format!("{PREFIX}{}", password::hash_token(token));
        let mut found = self.core.backend.get(&key).await?.map(|item| (key, item));
        if found.is_none() {
            let hint = token.trim_end_matches('…');
            let matches: Vec<_> = self
                .core
                .backend
                .range(PREFIX)
                .await?
                .into_iter()
                .filter(|item| {
                    serde_json::from_slice::<TokenRecord>(&item.value).is_ok_and(|r| !hint.is_empty() && r.hint == hint)
                })
                .collect();
            if matches.len() > 1 {
                return Err(AuthError::Conflict(format!("{hint:?} names several tokens; give the whole token")));
            }
            found = matches.into_iter().next().map(|item| (item.key.clone(), item));
        }
        let (key, item) = found.ok_or_else(|| AuthError::NotFound("token not found (it may have expired)".into()))?;
        let record: TokenRecord = serde_json::from_slice(&item.value).map_err(internal("reading a stored record"))?;
        self.core.backend.delete(&key).await?;
        Ok(record.info())
    }

    /// Checks a join token: it must exist, be unexpired and of `token_type`.
    pub async fn check_token(&self, token: &str, token_type: TokenType) -> Result<TokenRecord, AuthError> {
        let key = format!("{PREFIX}{}", password::hash_token(token));
        let item = self
            .core
            .backend
            .get(&key)
            .await?
            .ok_or_else(|| AuthError::Unauthorized("the join token is unknown or has expired".into()))?;
        let record: TokenRecord = serde_json::from_slice(&item.value).map_err(internal("reading a stored record"))?;
        if record.token_type != token_type {
            return Err(AuthError::Unauthorized(format!(
                "the join token is a {} token, not a {token_type} token",
                record.token_type
            )));
        }
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tether_shared::resource::TokenType;

    use super::super::AuthError;
    use super::super::testing::cluster;

    #[tokio::test]
    async fn a_token_joins_only_as_its_type_and_is_stored_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let auth = cluster(&dir, "c.example.com").await;
        let labels = [("env".to_string(), "dev".to_string())].into();
        let info = auth.tokens().add_token(TokenType::Node, Duration::from_secs(600), labels).await.unwrap();
        let record = auth.tokens().check_token(&info.token, TokenType::Node).await.unwrap();
        assert_eq!(record.labels.get("env").map(String::as_str), Some("dev"));
        assert_eq!(record.hint, info.token.chars().take(super::HINT_LEN).collect::<String>());
        let err = auth.tokens().check_token(&info.token, TokenType::TrustedCluster).await.unwrap_err();
        assert!(
            matches!(&err, AuthError::Unauthorized(m) if m == "the join token is a node token, not a trusted_cluster token"),
            "{err}"
        );
        let err = auth.tokens().check_token("not-a-token", TokenType::Node).await.unwrap_err();
        assert!(matches!(&err, AuthError::Unauthorized(m) if m.contains("unknown or has expired")), "{err}");
        // Nothing under the tokens' prefix holds the secret.
        for item in auth.backend().range(super::PREFIX).await.unwrap() {
            assert!(!item.key.contains(&info.token) && !String::from_utf8_lossy(&item.value).contains(&info.token));
        }
    }

    #[tokio::test]
    async fn ttls_outside_a_second_to_thirty_days_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let auth = cluster(&dir, "c.example.com").await;
        let tokens = auth.tokens();
        for ttl in [Duration::ZERO, Duration::from_secs(30 * 86400 + 1)] {
            let err = tokens.add_token(TokenType::Node, ttl, Default::default()).await.unwrap_err();
            assert!(matches!(&err, AuthError::BadRequest(m) if m == "--ttl must be between 1s and 720h"), "{err}");
        }
        for ttl in [Duration::from_secs(1), Duration::from_secs(30 * 86400)] {
            let info = tokens.add_token(TokenType::Node, ttl, Default::default()).await.unwrap();
            let expires = info.expires.unwrap() - time::OffsetDateTime::now_utc();
            assert!(expires <= ttl && expires > ttl.saturating_sub(Duration::from_secs(5)), "{expires}");
        }
    }

    #[tokio::test]
    async fn tokens_list_soonest_first_and_are_removed_by_token_or_unique_hint() {
        let dir = tempfile::tempdir().unwrap();
        let auth = cluster(&dir, "c.example.com").await;
        let tokens = auth.tokens();
        let late = tokens.add_token(TokenType::Node, Duration::from_secs(900), Default::default()).await.unwrap();
        let soon =
            tokens.add_token(TokenType::TrustedCluster, Duration::from_secs(60), Default::default()).await.unwrap();
        let listed = tokens.list_tokens().await.unwrap();
        let hint = |t: &str| format!("{}…", &t[..super::HINT_LEN]);
        assert_eq!(listed.iter().map(|t| t.token.clone()).collect::<Vec<_>>(), [hint(&soon.token), hint(&late.token)]);
        let resources = tokens.token_resources().await.unwrap();
        assert_eq!(resources.len(), 2);
        assert!(tokens.remove_token("").await.is_err(), "an empty hint names nothing");
        let removed = tokens.remove_token(&hint(&soon.token)).await.unwrap();
        assert_eq!(removed.token_type, TokenType::TrustedCluster);
        tokens.remove_token(&late.token).await.unwrap();
        assert!(tokens.list_tokens().await.unwrap().is_empty());
        let err = tokens.remove_token(&late.token).await.unwrap_err();
        assert!(matches!(&err, AuthError::NotFound(m) if m.contains("not found")), "{err}");
        // Two tokens sharing a hint: only the whole token says which.
        tokens.store_token("samehint-a", TokenType::Node, Default::default(), None).await.unwrap();
        tokens.store_token("samehint-b", TokenType::Node, Default::default(), None).await.unwrap();
        let err = tokens.remove_token("samehint…").await.unwrap_err();
        assert!(matches!(&err, AuthError::Conflict(m) if m.contains("names several tokens")), "{err}");
        tokens.remove_token("samehint-b").await.unwrap();
        tokens.remove_token("samehint").await.unwrap();
        assert!(tokens.list_tokens().await.unwrap().is_empty());
    }
}
