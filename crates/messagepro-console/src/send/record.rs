//! The writes of the send path that must be atomic: a message row (or a campaign and its rows)
//! together with its audit entry. `messagepro-store` has no transaction API yet, so these few
//! statements run here on the store's pool (same SQL subset as the store: `$n` placeholders and
//! `RETURNING`, valid on SQLite and PostgreSQL). When the store grows a transaction API (the
//! outbox issue), this file shrinks to calls into it.

use messagepro_store::{Backend, MessageStatus, NewAudit, NewCampaign, NewMessage, Result, Store};

const INSERT_MESSAGE: &str = "INSERT INTO messages (channel, recipient, text, route, status, segments, \
     created_by, campaign_id, created_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id";
const INSERT_AUDIT: &str = "INSERT INTO audit_log (at_ms, user_id, username, action, target, ip, outcome, detail) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const INSERT_CAMPAIGN: &str = "INSERT INTO campaigns (name, channel, status, total, created_by, created_ms, updated_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id";

/// Runs `$body` once per backend with `$tx` an open transaction, then commits.
macro_rules! in_tx {
    ($store:expr, $tx:ident => $body:block) => {
        match $store.backend() {
            Backend::Sqlite(p) => {
                let mut $tx = p.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            Backend::Postgres(p) => {
                let mut $tx = p.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}

macro_rules! bind_message {
    ($q:expr, $m:expr, $campaign:expr, $now:expr) => {
        $q.bind($m.channel.as_str())
            .bind(&$m.recipient)
            .bind(&$m.text)
            .bind($m.route.to_string())
            .bind($m.status.as_str())
            .bind($m.segments)
            .bind($m.created_by)
            .bind($campaign)
            .bind($now)
    };
}

macro_rules! bind_audit {
    ($q:expr, $a:expr) => {
        $q.bind($a.at_ms)
            .bind($a.user_id)
            .bind(&$a.username)
            .bind(&$a.action)
            .bind(&$a.target)
            .bind(&$a.ip)
            .bind($a.outcome.as_str())
            .bind(&$a.detail)
    };
}

/// Records one message and its audit entry atomically; returns the message id.
pub(crate) async fn insert_with_audit(
    store: &Store,
    m: &NewMessage,
    audit: &NewAudit,
    now_ms: i64,
) -> Result<i64> {
    let mut audit = audit.clone();
    Ok(in_tx!(store, tx => {
        let id: i64 = bind_message!(sqlx::query_scalar(INSERT_MESSAGE), m, m.campaign_id, now_ms)
            .fetch_one(&mut *tx).await?;
        audit.detail = Some(format!("message {id}"));
        bind_audit!(sqlx::query(INSERT_AUDIT), audit).execute(&mut *tx).await?;
        id
    }))
}

/// Records a campaign, its message rows (linked to it) and the audit entry atomically.
pub(crate) async fn insert_campaign(
    store: &Store,
    c: &NewCampaign,
    rows: &[NewMessage],
    audit: &NewAudit,
    now_ms: i64,
) -> Result<(i64, Vec<i64>)> {
    Ok(in_tx!(store, tx => {
        let cid: i64 = sqlx::query_scalar(INSERT_CAMPAIGN)
            .bind(&c.name).bind(c.channel.as_str()).bind(c.status.as_str()).bind(c.total)
            .bind(c.created_by).bind(now_ms)
            .fetch_one(&mut *tx).await?;
        let mut ids = Vec::with_capacity(rows.len());
        for m in rows {
            let id: i64 = bind_message!(sqlx::query_scalar(INSERT_MESSAGE), m, Some(cid), now_ms)
                .fetch_one(&mut *tx).await?;
            ids.push(id);
        }
        bind_audit!(sqlx::query(INSERT_AUDIT), audit).execute(&mut *tx).await?;
        (cid, ids)
    }))
}

/// Sets the status (and platform message) of every row of a campaign that is still `queued`.
pub(crate) async fn set_campaign_rows(
    store: &Store,
    campaign_id: i64,
    status: MessageStatus,
    platform_message: Option<&str>,
    now_ms: i64,
) -> Result<()> {
    let sql = "UPDATE messages SET status = $2, platform_message = COALESCE($3, platform_message), \
               updated_ms = $4 WHERE campaign_id = $1 AND status = 'queued'";
    match store.backend() {
        Backend::Sqlite(p) => {
            sqlx::query(sql)
                .bind(campaign_id)
                .bind(status.as_str())
                .bind(platform_message)
                .bind(now_ms)
                .execute(p)
                .await?;
        }
        Backend::Postgres(p) => {
            sqlx::query(sql)
                .bind(campaign_id)
                .bind(status.as_str())
                .bind(platform_message)
                .bind(now_ms)
                .execute(p)
                .await?;
        }
    }
    Ok(())
}
