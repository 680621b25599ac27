//! What operations watch, read at scrape time (`/readyz`, `/metrics`): the shared queue's
//! depth, how late it runs, how far status reconciliation lags, the webhook backlog, and
//! whether the database schema is the one this build expects. Every query reads partial
//! indexes or the few rows not yet final, so a scrape costs the same with a million sent
//! messages.

use crate::{Result, Store, on_pool};

/// The queue and its lags at one instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpsSnapshot {
    /// Jobs waiting for a worker (`ready`), held by a paused campaign, being sent.
    pub ready: i64,
    pub held: i64,
    pub running: i64,
    /// `run_at` of the oldest ready job that is due (no worker took it yet).
    pub oldest_due_ms: Option<i64>,
    /// Messages awaiting reconciliation (`pending`, `unknown`), and the oldest one's last change.
    pub awaiting_status: i64,
    pub oldest_awaiting_ms: Option<i64>,
    /// Webhook deliveries waiting for an attempt, and those that failed their schedule.
    pub webhooks_pending: i64,
    pub webhooks_failed: i64,
}

impl Store {
    /// The queue, the lags and the webhook backlog at `now_ms`.
    pub async fn ops_snapshot(&self, now_ms: i64) -> Result<OpsSnapshot> {
        let mut s = OpsSnapshot::default();
        let states: Vec<(String, i64)> = on_pool!(self, p => sqlx::query_as(
            "SELECT state, COUNT(*) FROM outbox_jobs WHERE state IN ('ready', 'held', 'running') \
             GROUP BY state").fetch_all(p).await?);
        for (state, n) in states {
            match state.as_str() {
                "ready" => s.ready = n,
                "held" => s.held = n,
                _ => s.running = n,
            }
        }
        s.oldest_due_ms = on_pool!(self, p => sqlx::query_scalar(
            "SELECT MIN(run_at_ms) FROM outbox_jobs WHERE state = 'ready' AND run_at_ms <= $1")
            .bind(now_ms).fetch_one(p).await?);
        let (n, oldest): (i64, Option<i64>) = on_pool!(self, p => sqlx::query_as(
            "SELECT COUNT(*), MIN(updated_ms) FROM messages WHERE status IN ('pending', 'unknown')")
            .fetch_one(p).await?);
        s.awaiting_status = n;
        s.oldest_awaiting_ms = oldest;
        let hooks: Vec<(String, i64)> = on_pool!(self, p => sqlx::query_as(
            "SELECT state, COUNT(*) FROM webhook_deliveries WHERE state IN ('pending', 'failed') \
             GROUP BY state").fetch_all(p).await?);
        for (state, n) in hooks {
            match state.as_str() {
                "pending" => s.webhooks_pending = n,
                _ => s.webhooks_failed = n,
            }
        }
        Ok(s)
    }

    /// Migrations of this build not applied to the database (0: the schema is current), and
    /// applied ones this build does not know (a newer build migrated it: not current either).
    pub async fn migrations_pending(&self) -> Result<(usize, usize)> {
        let (known, applied): (Vec<i64>, Vec<i64>) = on_pool!(self, p => {
            let known = match self.backend() {
                crate::connect::Backend::Sqlite(_) => sqlx::migrate!("./migrations/sqlite")
                    .iter().map(|m| m.version).collect(),
                crate::connect::Backend::Postgres(_) => sqlx::migrate!("./migrations/postgres")
                    .iter().map(|m| m.version).collect(),
            };
            let applied = sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(p).await?;
            (known, applied)
        });
        let missing = known.iter().filter(|v| !applied.contains(v)).count();
        let unknown = applied.iter().filter(|v| !known.contains(v)).count();
        Ok((missing, unknown))
    }
}
