//! Integration API tokens: created (shown once), checked on every request, revoked, audited.
//!
//! A token is `mp_` + 43 characters of base64url (256 bits from the OS-seeded CSPRNG). Only its
//! SHA-256 is stored: with that much entropy a slow password hash would add nothing but latency
//! to every API call (the same choice as GitHub's and Stripe's API keys). The first 10
//! characters (`prefix`) are kept in clear to tell tokens apart in the console.
//!
//! Scopes ([`SCOPES`]) decide what a token may do; [`crate::Actor::can`] maps them onto the
//! permissions core checks, and [`crate::Actor::has_scope`] answers for the API-only scopes
//! (`events`, `webhooks`). Each token has a request rate (per minute), counted in the database so
//! every instance shares it.

use std::collections::BTreeSet;

use base64::Engine;
use messagepro_store::{ApiToken, NewApiToken, Outcome};
use rand::RngCore;
use secrecy::SecretString;
use sha2::Digest;

use crate::permissions::Permission;
use crate::{Actor, Core, SendError};

/// Every scope a token may have.
pub const SCOPES: &[&str] = &[
    "messages:send",
    "messages:read",
    "otp",
    "events",
    "contacts",
    "webhooks",
];

/// Requests per minute of a token when none is given.
pub const DEFAULT_RATE_PER_MINUTE: i64 = 600;

/// A token just created: `secret` is shown to the person once and never again.
pub struct CreatedToken {
    pub token: ApiToken,
    pub secret: SecretString,
}

impl std::fmt::Debug for CreatedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedToken")
            .field("token", &self.token)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// Why a token cannot be created.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("permission denied")]
    Forbidden,
    #[error("the name is empty or longer than 64 characters")]
    InvalidName,
    #[error("unknown scope {0:?}")]
    UnknownScope(String),
    #[error("no scope given")]
    NoScope,
    #[error("the rate must be between 1 and 100000 requests a minute")]
    InvalidRate,
    #[error(transparent)]
    Store(#[from] messagepro_store::StoreError),
}

impl TokenError {
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Forbidden => "forbidden",
            TokenError::InvalidName => "token.invalid_name",
            TokenError::UnknownScope(_) => "token.unknown_scope",
            TokenError::NoScope => "token.no_scope",
            TokenError::InvalidRate => "token.invalid_rate",
            TokenError::Store(_) => "internal",
        }
    }
}

/// Hex SHA-256 of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

/// The scopes of a stored token.
pub fn scopes_of(token: &ApiToken) -> BTreeSet<String> {
    token.scopes.split_whitespace().map(str::to_owned).collect()
}

impl Core {
    /// Creates a token with `scopes` (a subset of [`SCOPES`]) and `rate_per_minute`.
    pub async fn token_create(
        &self,
        actor: &Actor,
        name: &str,
        scopes: &[String],
        rate_per_minute: Option<i64>,
    ) -> Result<CreatedToken, TokenError> {
        if !actor.can(Permission::AdminUsers) {
            return Err(TokenError::Forbidden);
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(TokenError::InvalidName);
        }
        let mut set = BTreeSet::new();
        for s in scopes.iter().flat_map(|s| s.split([',', ' '])) {
            let s = s.trim();
            if s.is_empty() {
                continue;
            }
            if !SCOPES.contains(&s) {
                return Err(TokenError::UnknownScope(s.to_owned()));
            }
            set.insert(s.to_owned());
        }
        if set.is_empty() {
            return Err(TokenError::NoScope);
        }
        let rate = rate_per_minute.unwrap_or(DEFAULT_RATE_PER_MINUTE);
        if !(1..=100_000).contains(&rate) {
            return Err(TokenError::InvalidRate);
        }
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let secret = format!(
            "mp_{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        );
        let prefix: String = secret.chars().take(10).collect();
        let scopes = set.into_iter().collect::<Vec<_>>().join(" ");
        let now = self.now_ms();
        let created_by = actor.audit_name();
        let store = &self.inner.store;
        let id = store
            .token_insert(
                &NewApiToken {
                    name,
                    prefix: &prefix,
                    hash: &token_hash(&secret),
                    scopes: &scopes,
                    rate_per_minute: rate,
                    created_by: Some(&created_by),
                },
                now,
            )
            .await?;
        let mut audit = self.audit(actor, "token.create", name);
        audit.detail = Some(format!(
            "token {id} ({prefix}…) scopes={scopes} rate={rate}/min"
        ));
        store.audit(&audit).await?;
        let token = store
            .token_by_id(id)
            .await?
            .ok_or(messagepro_store::StoreError::NotFound("token"))?;
        Ok(CreatedToken {
            token,
            secret: SecretString::from(secret),
        })
    }

    /// The actor of a bearer token, or `None` when it is unknown or revoked. Sets the token's
    /// last-used time (at most once a minute).
    pub async fn token_actor(
        &self,
        bearer: &str,
        ip: Option<String>,
    ) -> Result<Option<(Actor, ApiToken)>, SendError> {
        let bearer = bearer.trim();
        if !bearer.starts_with("mp_") || bearer.len() > 128 {
            return Ok(None);
        }
        let store = &self.inner.store;
        let Some(token) = store.token_by_hash(&token_hash(bearer)).await? else {
            return Ok(None);
        };
        store.token_touch(token.id, self.now_ms()).await?;
        let actor = Actor::Token {
            id: token.id,
            name: token.name.clone(),
            scopes: scopes_of(&token),
            ip,
        };
        Ok(Some((actor, token)))
    }

    /// Counts one request of `token` against its rate: `Err(RateLimited)` past it.
    pub async fn token_rate(&self, token: &ApiToken) -> Result<(), SendError> {
        let d = self
            .inner
            .store
            .rate_hit(
                &format!("api:token:{}", token.id),
                token.rate_per_minute,
                60_000,
                0,
                self.now_ms(),
            )
            .await?;
        if d.allowed {
            Ok(())
        } else {
            Err(SendError::RateLimited {
                retry_after_ms: d.retry_after_ms,
            })
        }
    }

    /// Revokes token `id`; `false` when it does not exist or was already revoked.
    pub async fn token_revoke(&self, actor: &Actor, id: i64) -> Result<bool, TokenError> {
        if !actor.can(Permission::AdminUsers) {
            return Err(TokenError::Forbidden);
        }
        let store = &self.inner.store;
        let revoked = store.token_revoke(id, self.now_ms()).await?;
        if revoked {
            let name = store
                .token_by_id(id)
                .await?
                .map(|t| t.name)
                .unwrap_or_default();
            let mut audit = self.audit(actor, "token.revoke", &name);
            audit.outcome = Outcome::Success;
            audit.detail = Some(format!("token {id}"));
            store.audit(&audit).await?;
        }
        Ok(revoked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_hex_sha256_and_differs_per_token() {
        let a = token_hash("mp_a");
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, token_hash("mp_b"));
    }

    #[test]
    fn a_created_token_never_shows_its_secret_in_debug() {
        let t = CreatedToken {
            token: ApiToken {
                id: 1,
                name: "erp".into(),
                prefix: "mp_abcdefg".into(),
                scopes: "otp".into(),
                rate_per_minute: 60,
                created_by: None,
                created_ms: 0,
                last_used_ms: None,
                revoked_ms: None,
            },
            secret: SecretString::from("mp_abcdefghSECRETPART".to_owned()),
        };
        let shown = format!("{t:?}");
        assert!(!shown.contains("SECRETPART"), "{shown}");
    }
}
