//! One-time codes of the OTP service (`messagepro-core::otp`). Only a keyed hash of a code is
//! stored, written by the worker right before the code is sent; every verification first
//! reserves an attempt (one atomic `UPDATE … attempts < max`), so concurrent guesses cannot
//! exceed the limit, and a code is consumed by one atomic `UPDATE … used_ms IS NULL`.

use crate::{BeginWrite, Result, Store, on_pool};

/// What a verification attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OtpAttempt {
    /// An attempt was reserved on this code; compare the hash, then consume it if it matches.
    Reserved {
        id: i64,
        code_hash: String,
        /// Attempts used, this one included.
        attempts: i64,
    },
    /// The current code has used all its attempts.
    Locked,
    /// No live code for this phone and purpose (none sent, expired, used or replaced).
    NoCode,
}

impl Store {
    /// Records a code to be sent (no hash yet: the worker sets it when it sends). Returns its id.
    pub async fn otp_create(
        &self,
        phone: &str,
        purpose: &str,
        expires_ms: i64,
        now_ms: i64,
    ) -> Result<i64> {
        Ok(on_pool!(self, p => sqlx::query_scalar(
            "INSERT INTO otp_codes (phone, purpose, created_ms, expires_ms) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(phone).bind(purpose).bind(now_ms).bind(expires_ms).fetch_one(p).await?))
    }

    /// Sets the hash of the code about to be sent for `id` (a new code on each attempt, with a
    /// fresh lifetime and attempt count) and revokes every other live code of the same phone
    /// and purpose — one transaction. Returns `false` if the code row is gone or used.
    pub async fn otp_arm(
        &self,
        id: i64,
        message_id: i64,
        code_hash: &str,
        expires_ms: i64,
        now_ms: i64,
    ) -> Result<bool> {
        Ok(on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let n = sqlx::query(
                "UPDATE otp_codes SET code_hash = $2, message_id = $3, expires_ms = $4, attempts = 0, created_ms = $5 \
                 WHERE id = $1 AND used_ms IS NULL AND revoked_ms IS NULL")
                .bind(id).bind(code_hash).bind(message_id).bind(expires_ms).bind(now_ms)
                .execute(&mut *tx).await?.rows_affected();
            if n == 1 {
                sqlx::query(
                    "UPDATE otp_codes SET revoked_ms = $2 WHERE id <> $1 AND used_ms IS NULL AND revoked_ms IS NULL \
                     AND (phone, purpose) IN (SELECT phone, purpose FROM otp_codes WHERE id = $1)")
                    .bind(id).bind(now_ms).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            n == 1
        }))
    }

    /// Reserves one verification attempt on the live code of `phone` + `purpose`.
    pub async fn otp_attempt(
        &self,
        phone: &str,
        purpose: &str,
        max_attempts: i64,
        now_ms: i64,
    ) -> Result<OtpAttempt> {
        const LIVE: &str = "phone = $1 AND purpose = $2 AND code_hash IS NOT NULL AND used_ms IS NULL \
             AND revoked_ms IS NULL AND expires_ms > $3";
        let sql = format!(
            "UPDATE otp_codes SET attempts = attempts + 1 WHERE id = \
             (SELECT id FROM otp_codes WHERE {LIVE} ORDER BY id DESC LIMIT 1) AND attempts < $4 \
             RETURNING id, code_hash, attempts"
        );
        let row: Option<(i64, String, i64)> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(phone).bind(purpose).bind(now_ms).bind(max_attempts).fetch_optional(p).await?);
        if let Some((id, code_hash, attempts)) = row {
            return Ok(OtpAttempt::Reserved {
                id,
                code_hash,
                attempts,
            });
        }
        let sql = format!("SELECT COUNT(*) FROM otp_codes WHERE {LIVE}");
        let live: i64 = on_pool!(self, p => sqlx::query_scalar(&sql)
            .bind(phone).bind(purpose).bind(now_ms).fetch_one(p).await?);
        Ok(if live > 0 {
            OtpAttempt::Locked
        } else {
            OtpAttempt::NoCode
        })
    }

    /// Consumes a code: `true` once.
    pub async fn otp_consume(&self, id: i64, now_ms: i64) -> Result<bool> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE otp_codes SET used_ms = $2 WHERE id = $1 AND used_ms IS NULL AND revoked_ms IS NULL")
            .bind(id).bind(now_ms).execute(p).await?.rows_affected());
        Ok(n == 1)
    }

    /// Revokes a code that will not be sent (its send failed for good).
    pub async fn otp_revoke(&self, id: i64, now_ms: i64) -> Result<()> {
        on_pool!(self, p => sqlx::query("UPDATE otp_codes SET revoked_ms = $2 WHERE id = $1 AND revoked_ms IS NULL")
            .bind(id).bind(now_ms).execute(p).await?.rows_affected());
        Ok(())
    }

    /// The purpose a code was created for.
    pub async fn otp_purpose(&self, id: i64) -> Result<Option<String>> {
        Ok(
            on_pool!(self, p => sqlx::query_scalar("SELECT purpose FROM otp_codes WHERE id = $1")
            .bind(id).fetch_optional(p).await?),
        )
    }
}
