//! Integration API tokens as stored: the SHA-256 of the token (never the token), its scopes and
//! rate, who created it, when it was last used and whether it is revoked. Creating, checking and
//! auditing tokens is `messagepro-core`'s (`tokens.rs`); this file only reads and writes rows.

use crate::{Result, Store, on_pool};

const COLUMNS: &str =
    "id, name, prefix, scopes, rate_per_minute, created_by, created_ms, last_used_ms, revoked_ms";

/// A token as listed (the hash is not read back).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    /// The first characters of the token, shown to tell tokens apart.
    pub prefix: String,
    /// Space-separated scopes (`messages:send otp`).
    pub scopes: String,
    /// Requests allowed per minute.
    pub rate_per_minute: i64,
    /// Who created it (audit name).
    pub created_by: Option<String>,
    pub created_ms: i64,
    pub last_used_ms: Option<i64>,
    pub revoked_ms: Option<i64>,
}

/// A token to record.
#[derive(Debug, Clone)]
pub struct NewApiToken<'a> {
    pub name: &'a str,
    pub prefix: &'a str,
    /// Hex SHA-256 of the whole token.
    pub hash: &'a str,
    pub scopes: &'a str,
    pub rate_per_minute: i64,
    pub created_by: Option<&'a str>,
}

impl Store {
    /// Records a token; returns its id.
    pub async fn token_insert(&self, t: &NewApiToken<'_>, now_ms: i64) -> Result<i64> {
        Ok(on_pool!(self, p => sqlx::query_scalar::<_, i64>(
            "INSERT INTO api_tokens (name, prefix, hash, scopes, rate_per_minute, created_by, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id")
            .bind(t.name).bind(t.prefix).bind(t.hash).bind(t.scopes).bind(t.rate_per_minute)
            .bind(t.created_by).bind(now_ms)
            .fetch_one(p).await?))
    }

    /// The live (not revoked) token whose hash is `hash`.
    pub async fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>> {
        let sql =
            format!("SELECT {COLUMNS} FROM api_tokens WHERE hash = $1 AND revoked_ms IS NULL");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, ApiToken>(&sql).bind(hash).fetch_optional(p).await?),
        )
    }

    pub async fn token_by_id(&self, id: i64) -> Result<Option<ApiToken>> {
        let sql = format!("SELECT {COLUMNS} FROM api_tokens WHERE id = $1");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, ApiToken>(&sql).bind(id).fetch_optional(p).await?),
        )
    }

    /// Every token, newest first.
    pub async fn tokens(&self) -> Result<Vec<ApiToken>> {
        let sql = format!("SELECT {COLUMNS} FROM api_tokens ORDER BY id DESC");
        Ok(on_pool!(self, p => sqlx::query_as::<_, ApiToken>(&sql).fetch_all(p).await?))
    }

    /// Sets the last-used time, at most once a minute per token (a write per request would
    /// serialise every API call on SQLite's writer).
    pub async fn token_touch(&self, id: i64, now_ms: i64) -> Result<()> {
        on_pool!(self, p => sqlx::query(
            "UPDATE api_tokens SET last_used_ms = $2 WHERE id = $1 \
             AND (last_used_ms IS NULL OR last_used_ms + 60000 <= $2)")
            .bind(id).bind(now_ms).execute(p).await?.rows_affected());
        Ok(())
    }

    /// Revokes a token; `false` when it does not exist or was already revoked.
    pub async fn token_revoke(&self, id: i64, now_ms: i64) -> Result<bool> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE api_tokens SET revoked_ms = $2 WHERE id = $1 AND revoked_ms IS NULL")
            .bind(id).bind(now_ms).execute(p).await?.rows_affected());
        Ok(n == 1)
    }
}
