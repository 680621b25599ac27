//! The durable outbox of the delivery engine (`messagepro-core`): one job per message to send,
//! recorded in the same transaction as the message and its audit entry, claimed by workers under
//! a lease, completed only by the holder of that lease.
//!
//! Why our own and not a queue crate: see DESIGN.md ("Outbox: our own, in the store") — the
//! enqueue must share the caller's transaction on both backends, and the domain needs the state
//! "the request may have reached the platform" (`unknown`), which is resolved against the
//! platform and never re-run. The guarantees follow River / Oban / graphile-worker:
//!
//! - **claim**: PostgreSQL `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)`; SQLite the
//!   same `UPDATE … RETURNING` inside `BEGIN IMMEDIATE` (one writer at a time). The claim sets
//!   the lease (worker id, expiry, attempt + 1) **and** the message's status `sending` in one
//!   transaction, so `sending` is committed before any HTTP call;
//! - **complete / retry** match `(id, lease_owner, attempt, state = running)`: a worker
//!   whose lease expired (or was taken over) changes nothing;
//! - **expiry**: a job still `running` after its lease is `done` with its message `unknown`
//!   (the call may have left), for reconciliation — never back to `ready`.
//!
//! A paused campaign's ready jobs are `held` (never claimed) until it is resumed; a campaign's
//! ingest and its pause / cancel / reschedule are in `campaigns.rs`.
//!
//! Locks are always taken job row first, then message row, so two transactions cannot deadlock.

use crate::{BeginWrite, MessageStatus, NewAudit, NewMessage, Result, Store, on_pool};

const JOB_COLUMNS: &str = "id, message_id, payload, state, attempt, max_attempts, run_at_ms, \
     lease_owner, lease_until_ms, last_error, created_ms, updated_ms";
pub(crate) const INSERT_MESSAGE: &str = "INSERT INTO messages (channel, recipient, text, route, status, segments, \
     created_by, campaign_id, created_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id";
pub(crate) const INSERT_JOB: &str = "INSERT INTO outbox_jobs (message_id, payload, state, attempt, max_attempts, \
     run_at_ms, created_ms, updated_ms) VALUES ($1, $2, 'ready', 0, $3, $4, $5, $5) RETURNING id";
pub(crate) const INSERT_AUDIT: &str = "INSERT INTO audit_log (at_ms, user_id, username, action, target, ip, outcome, detail) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// A job to enqueue with its message.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Everything the worker needs to replay the send (route, media, OTP lifetime…), as JSON.
    pub payload: serde_json::Value,
    /// Claims allowed for failures that certainly did not reach the platform.
    pub max_attempts: i64,
    /// Not claimed before this time (scheduling, backoff).
    pub run_at_ms: i64,
}

/// One outbox job.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Job {
    pub id: i64,
    pub message_id: i64,
    pub payload: String,
    /// `ready`, `running` or `done`.
    pub state: String,
    /// How many times it was claimed.
    pub attempt: i64,
    pub max_attempts: i64,
    pub run_at_ms: i64,
    pub lease_owner: Option<String>,
    pub lease_until_ms: Option<i64>,
    pub last_error: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// Set by the claim, in the claim's transaction: the message's recipient is on the
    /// suppression list (one statement per claim, not one read per job).
    #[sqlx(default)]
    pub suppressed: bool,
}

impl Job {
    /// The lease this job was claimed under (for complete / retry / release).
    pub fn lease(&self) -> Lease {
        Lease {
            job_id: self.id,
            message_id: self.message_id,
            worker: self.lease_owner.clone().unwrap_or_default(),
            attempt: self.attempt,
        }
    }
}

/// Proof of a claim: only this (worker, attempt) may finish the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub job_id: i64,
    pub message_id: i64,
    pub worker: String,
    pub attempt: i64,
}

/// How a claimed job ends, recorded by [`Store::finish_jobs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    /// Done: the message gets `status` (and the platform's id / message when given).
    Complete {
        status: MessageStatus,
        platform_id: Option<String>,
        platform_message: Option<String>,
    },
    /// Ready again at `run_at_ms` (certainly not sent), message `queued`.
    Retry { run_at_ms: i64, error: String },
    /// Never started (a worker shutting down with claimed jobs it has not sent): ready again
    /// at once, the claim not counted as an attempt, message `queued`.
    Release,
    /// Not sent yet by policy (quiet hours, pacing): ready again at `run_at_ms`, the claim not
    /// counted as an attempt, message `queued`; `reason` is kept as the job's last error.
    Defer { run_at_ms: i64, reason: String },
}

/// Jobs by state (operations, tests, the crash harness).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub ready: i64,
    pub running: i64,
    pub done: i64,
}

/// The insert of a message row, bound (a macro: the query type differs per backend).
macro_rules! message_query {
    ($m:expr, $campaign:expr, $now:expr) => {
        sqlx::query_scalar::<_, i64>(INSERT_MESSAGE)
            .bind($m.channel.as_str())
            .bind(&$m.recipient)
            .bind(&$m.text)
            .bind($m.route.to_string())
            .bind($m.status.as_str())
            .bind($m.segments)
            .bind($m.created_by)
            .bind($campaign.or($m.campaign_id))
            .bind($now)
    };
}

/// A worker's turn — finish a batch of jobs, claim new ones — as set-based statements: the
/// batch goes in as one JSON array and the transaction holds at most three statements whatever
/// its size (finish the jobs whose lease holds, claim, then every message touched). Per-row
/// statements cost a round trip each to SQLite's connection thread and made recording the
/// bottleneck of dispatch (`docs/benchmarks.md`).
struct TurnSql {
    finish_jobs: &'static str,
    messages: &'static str,
    pick: &'static str,
    /// Which of the claimed messages (`$1` JSON array of ids) go to a suppressed number.
    suppressed: &'static str,
}

const POSTGRES_TURN: TurnSql = TurnSql {
    finish_jobs: "UPDATE outbox_jobs o SET \
        state = CASE WHEN v.r = 0 THEN 'done' ELSE 'ready' END, \
        attempt = CASE WHEN v.r >= 2 THEN o.attempt - 1 ELSE o.attempt END, \
        lease_owner = NULL, lease_until_ms = NULL, run_at_ms = COALESCE(v.run, o.run_at_ms), \
        last_error = CASE WHEN v.r = 2 THEN o.last_error ELSE v.err END, updated_ms = $2 \
        FROM jsonb_to_recordset($1::jsonb) AS v(j BIGINT, w TEXT, a BIGINT, r BIGINT, run BIGINT, err TEXT) \
        WHERE o.id = v.j AND o.lease_owner = v.w AND o.attempt = v.a AND o.state = 'running' \
        RETURNING o.id",
    messages: "UPDATE messages m SET status = v.s, platform_id = COALESCE(v.pid, m.platform_id), \
        platform_message = COALESCE(v.pm, m.platform_message), updated_ms = $2 \
        FROM jsonb_to_recordset($1::jsonb) AS v(m BIGINT, s TEXT, pid TEXT, pm TEXT) \
        WHERE m.id = v.m",
    pick: "SELECT id FROM outbox_jobs WHERE state = 'ready' AND run_at_ms <= $3 \
        ORDER BY run_at_ms, id LIMIT $4 FOR UPDATE SKIP LOCKED",
    suppressed: "SELECT m.id FROM messages m JOIN suppressions s ON s.phone = m.recipient \
        WHERE m.id IN (SELECT (jsonb_array_elements_text($1::jsonb))::bigint)",
};

// `+state`: without the unary plus SQLite's planner walks the state index and probes the JSON
// for each running job, instead of looking each item up by primary key.
const SQLITE_TURN: TurnSql = TurnSql {
    finish_jobs: "UPDATE outbox_jobs SET \
        state = CASE WHEN v.r = 0 THEN 'done' ELSE 'ready' END, \
        attempt = CASE WHEN v.r >= 2 THEN outbox_jobs.attempt - 1 ELSE outbox_jobs.attempt END, \
        lease_owner = NULL, lease_until_ms = NULL, run_at_ms = COALESCE(v.run, outbox_jobs.run_at_ms), \
        last_error = CASE WHEN v.r = 2 THEN outbox_jobs.last_error ELSE v.err END, updated_ms = $2 \
        FROM (SELECT value ->> 'j' AS j, value ->> 'w' AS w, value ->> 'a' AS a, value ->> 'r' AS r, \
              value ->> 'run' AS run, value ->> 'err' AS err FROM json_each($1)) AS v \
        WHERE outbox_jobs.id = v.j AND outbox_jobs.lease_owner = v.w AND outbox_jobs.attempt = v.a \
        AND +outbox_jobs.state = 'running' RETURNING outbox_jobs.id",
    messages: "UPDATE messages SET status = v.s, platform_id = COALESCE(v.pid, messages.platform_id), \
        platform_message = COALESCE(v.pm, messages.platform_message), updated_ms = $2 \
        FROM (SELECT value ->> 'm' AS m, value ->> 's' AS s, value ->> 'pid' AS pid, \
              value ->> 'pm' AS pm FROM json_each($1)) AS v \
        WHERE messages.id = v.m",
    pick: "SELECT id FROM outbox_jobs WHERE state = 'ready' AND run_at_ms <= $3 \
        ORDER BY run_at_ms, id LIMIT $4",
    suppressed: "SELECT m.id FROM messages m JOIN suppressions s ON s.phone = m.recipient \
        WHERE m.id IN (SELECT value FROM json_each($1))",
};

/// The jobs half of a finish batch, as JSON for [`TurnSql::finish_jobs`].
fn finish_json(items: &[(Lease, Finish)]) -> String {
    let rows: Vec<serde_json::Value> = items
        .iter()
        .map(|(l, f)| {
            let (r, run_at, error) = match f {
                Finish::Complete {
                    status,
                    platform_message,
                    ..
                } => (
                    0,
                    None,
                    platform_message
                        .clone()
                        .filter(|_| *status == MessageStatus::Failed),
                ),
                Finish::Retry { run_at_ms, error } => (1, Some(*run_at_ms), Some(error.clone())),
                Finish::Release => (2, None, None),
                Finish::Defer { run_at_ms, reason } => (3, Some(*run_at_ms), Some(reason.clone())),
            };
            serde_json::json!({ "j": l.job_id, "w": l.worker, "a": l.attempt,
                "r": r, "run": run_at, "err": error })
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}

/// The messages half of a turn, as JSON for [`TurnSql::messages`]: the outcome of each
/// finished job whose lease held, and `sending` for each claimed one.
fn messages_json(items: &[(Lease, Finish)], kept: &[bool], claimed: &[Job]) -> Option<String> {
    let queued = |id: i64, s: MessageStatus| serde_json::json!({ "m": id, "s": s.as_str() });
    let rows: Vec<serde_json::Value> = items
        .iter()
        .zip(kept)
        .filter(|(_, k)| **k)
        .map(|((l, f), _)| match f {
            Finish::Complete {
                status,
                platform_id,
                platform_message,
            } => serde_json::json!({ "m": l.message_id, "s": status.as_str(),
                "pid": platform_id, "pm": platform_message }),
            Finish::Retry { .. } | Finish::Release | Finish::Defer { .. } => {
                queued(l.message_id, MessageStatus::Queued)
            }
        })
        .chain(
            claimed
                .iter()
                .map(|j| queued(j.message_id, MessageStatus::Sending)),
        )
        .collect();
    (!rows.is_empty()).then(|| serde_json::Value::Array(rows).to_string())
}

/// One turn in the open transaction `$tx`: finishes `$items` (`$1` JSON, `$2` now), runs the
/// claim statement `$claim` if any (`$1` worker, `$2` lease end, `$3` now, `$4` limit or job
/// id), then sets every touched message — finished ones to their outcome, claimed ones to
/// `sending`, so `sending` is committed before any call. Evaluates to (leases held, jobs).
macro_rules! turn_in_tx {
    ($tx:ident, $sql:expr, $items:expr, $claim:expr, $worker:expr, $fourth:expr, $until:expr, $now:expr) => {{
        let kept: Vec<bool> = if $items.is_empty() {
            Vec::new()
        } else {
            let done: std::collections::HashSet<i64> =
                sqlx::query_scalar::<_, i64>($sql.finish_jobs)
                    .bind(finish_json($items))
                    .bind($now)
                    .fetch_all(&mut *$tx)
                    .await?
                    .into_iter()
                    .collect();
            $items
                .iter()
                .map(|(l, _)| done.contains(&l.job_id))
                .collect()
        };
        let mut jobs: Vec<Job> = match $claim {
            Some(sql) => {
                sqlx::query_as::<_, Job>(sql)
                    .bind($worker)
                    .bind($until)
                    .bind($now)
                    .bind($fourth)
                    .fetch_all(&mut *$tx)
                    .await?
            }
            None => Vec::new(),
        };
        if !jobs.is_empty() {
            let ids: Vec<i64> = jobs.iter().map(|j| j.message_id).collect();
            let out: std::collections::HashSet<i64> = sqlx::query_scalar::<_, i64>($sql.suppressed)
                .bind(serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into()))
                .fetch_all(&mut *$tx)
                .await?
                .into_iter()
                .collect();
            for j in &mut jobs {
                j.suppressed = out.contains(&j.message_id);
            }
        }
        if let Some(json) = messages_json($items, &kept, &jobs) {
            sqlx::query($sql.messages)
                .bind(json)
                .bind($now)
                .execute(&mut *$tx)
                .await?;
        }
        (kept, jobs)
    }};
}

impl Store {
    /// Records a message (`queued`), its outbox job and its audit entry in **one transaction**:
    /// after this returns, the send survives any crash. Returns `(message id, job id)`. An audit
    /// entry without a `detail` gets `message <id>`.
    pub async fn enqueue_message(
        &self,
        m: &NewMessage,
        job: &NewJob,
        audit: &NewAudit,
        now_ms: i64,
    ) -> Result<(i64, i64)> {
        Ok(on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let mid: i64 = message_query!(m, None::<i64>, now_ms).fetch_one(&mut *tx).await?;
            let jid: i64 = sqlx::query_scalar(INSERT_JOB)
                .bind(mid).bind(job.payload.to_string()).bind(job.max_attempts).bind(job.run_at_ms).bind(now_ms)
                .fetch_one(&mut *tx).await?;
            let detail = audit.detail.clone().unwrap_or_else(|| format!("message {mid}"));
            sqlx::query(INSERT_AUDIT)
                .bind(audit.at_ms).bind(audit.user_id).bind(&audit.username).bind(&audit.action)
                .bind(&audit.target).bind(&audit.ip).bind(audit.outcome.as_str()).bind(detail)
                .execute(&mut *tx).await?;
            tx.commit().await?;
            (mid, jid)
        }))
    }

    /// Claims up to `limit` ready jobs whose time has come for `worker`, with a lease of
    /// `lease_ms`, and marks their messages `sending` — one transaction.
    pub async fn claim_jobs(
        &self,
        worker: &str,
        limit: i64,
        lease_ms: i64,
        now_ms: i64,
    ) -> Result<Vec<Job>> {
        Ok(self
            .finish_and_claim(&[], worker, limit, lease_ms, now_ms)
            .await?
            .1)
    }

    fn turn_sql(&self) -> &'static TurnSql {
        match self.backend_name() {
            "postgres" => &POSTGRES_TURN,
            _ => &SQLITE_TURN,
        }
    }

    /// The claim statement of [`Store::claim_jobs`] for this backend.
    fn claim_sql(&self) -> String {
        format!(
            "UPDATE outbox_jobs SET state = 'running', lease_owner = $1, lease_until_ms = $2, \
             attempt = attempt + 1, updated_ms = $3 WHERE id IN ({}) RETURNING {JOB_COLUMNS}",
            self.turn_sql().pick
        )
    }

    /// Records the ends of claimed jobs (as [`Store::finish_jobs`]) **and** claims up to
    /// `limit` ready jobs (as [`Store::claim_jobs`]) in one transaction: a worker pays one
    /// commit — one fsync on SQLite — for both halves of its turn.
    pub async fn finish_and_claim(
        &self,
        items: &[(Lease, Finish)],
        worker: &str,
        limit: i64,
        lease_ms: i64,
        now_ms: i64,
    ) -> Result<(Vec<bool>, Vec<Job>)> {
        let claim = (limit > 0).then(|| self.claim_sql());
        if items.is_empty() && claim.is_none() {
            return Ok((Vec::new(), Vec::new()));
        }
        let sql = self.turn_sql();
        let until = now_ms + lease_ms;
        Ok(on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let r = turn_in_tx!(tx, sql, items, claim.as_deref(), worker, limit, until, now_ms);
            tx.commit().await?;
            r
        }))
    }

    /// Claims one given job if it is ready, whatever its `run_at_ms` (the console dispatches a
    /// just-accepted send at once; the job is recorded a little in the future so that workers
    /// leave it to this call unless the process dies first). `None` if it is gone.
    pub async fn claim_job(
        &self,
        job_id: i64,
        worker: &str,
        lease_ms: i64,
        now_ms: i64,
    ) -> Result<Option<Job>> {
        let sql = format!(
            "UPDATE outbox_jobs SET state = 'running', lease_owner = $1, lease_until_ms = $2, \
             attempt = attempt + 1, updated_ms = $3 \
             WHERE id = $4 AND state = 'ready' RETURNING {JOB_COLUMNS}"
        );
        Ok(self
            .claim_with(&sql, worker, job_id, lease_ms, now_ms)
            .await?
            .pop())
    }

    async fn claim_with(
        &self,
        sql: &str,
        worker: &str,
        fourth: i64,
        lease_ms: i64,
        now_ms: i64,
    ) -> Result<Vec<Job>> {
        let turn = self.turn_sql();
        let until = now_ms + lease_ms;
        let none: &[(Lease, Finish)] = &[];
        Ok(on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let (_, jobs) = turn_in_tx!(tx, turn, none, Some(sql), worker, fourth, until, now_ms);
            tx.commit().await?;
            jobs
        }))
    }

    /// Finishes a claimed job and records its message's outcome, if `lease` still holds.
    /// Returns `false` (and changes nothing) when the lease was lost.
    pub async fn complete_job(
        &self,
        lease: &Lease,
        status: MessageStatus,
        platform_id: Option<&str>,
        platform_message: Option<&str>,
        now_ms: i64,
    ) -> Result<bool> {
        let f = Finish::Complete {
            status,
            platform_id: platform_id.map(str::to_owned),
            platform_message: platform_message.map(str::to_owned),
        };
        Ok(self.finish_jobs(&[(lease.clone(), f)], now_ms).await?[0])
    }

    /// Puts a claimed job back to `ready` at `run_at_ms` (a failure that certainly did not reach
    /// the platform) with its message `queued`, if `lease` still holds.
    pub async fn retry_job(
        &self,
        lease: &Lease,
        run_at_ms: i64,
        error: &str,
        now_ms: i64,
    ) -> Result<bool> {
        let f = Finish::Retry {
            run_at_ms,
            error: error.to_owned(),
        };
        Ok(self.finish_jobs(&[(lease.clone(), f)], now_ms).await?[0])
    }

    /// Records the ends of many claimed jobs in **one transaction** (group commit: with SQLite
    /// `synchronous=FULL` each commit is an fsync, so the workers record in batches). Each item
    /// applies only if its lease still holds; the result says which did.
    pub async fn finish_jobs(&self, items: &[(Lease, Finish)], now_ms: i64) -> Result<Vec<bool>> {
        Ok(self.finish_and_claim(items, "", 0, 0, now_ms).await?.0)
    }

    /// Ends every job still `running` past its lease: the job is `done` and its message
    /// `unknown` (the call may have reached the platform; reconciliation decides). Returns the
    /// message ids.
    pub async fn expire_leases(&self, now_ms: i64) -> Result<Vec<i64>> {
        Ok(on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let ids: Vec<i64> = sqlx::query_scalar(
                "UPDATE outbox_jobs SET state = 'done', lease_owner = NULL, lease_until_ms = NULL, \
                 last_error = 'lease expired', updated_ms = $1 \
                 WHERE state = 'running' AND lease_until_ms < $1 RETURNING message_id")
                .bind(now_ms).fetch_all(&mut *tx).await?;
            for id in &ids {
                sqlx::query("UPDATE messages SET status = 'unknown', updated_ms = $2 WHERE id = $1 AND status = 'sending'")
                    .bind(id).bind(now_ms).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            ids
        }))
    }

    /// Resolves an `unknown` message that the platform's lists do not have, after the grace
    /// period: its job is ready again (`queued`) while it has attempts left, else the message
    /// is `failed` with `reason`. Atomic: of several reconcilers, one acts. Returns `Some(true)`
    /// when requeued, `Some(false)` when failed, `None` when the message was not `unknown`.
    pub async fn resolve_absent(
        &self,
        message_id: i64,
        reason: &str,
        now_ms: i64,
    ) -> Result<Option<bool>> {
        Ok(on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            // the job row first, then the message (the lock order of the whole outbox)
            let requeued = sqlx::query(
                "UPDATE outbox_jobs SET state = 'ready', run_at_ms = $2, last_error = 'not on the platform', updated_ms = $2 \
                 WHERE id = (SELECT id FROM outbox_jobs WHERE message_id = $1 ORDER BY id DESC LIMIT 1) \
                 AND state = 'done' AND attempt < max_attempts \
                 AND EXISTS (SELECT 1 FROM messages WHERE id = $1 AND status = 'unknown')")
                .bind(message_id).bind(now_ms).execute(&mut *tx).await?.rows_affected() == 1;
            let (status, msg) = if requeued { ("queued", None) } else { ("failed", Some(reason)) };
            let n = sqlx::query(
                "UPDATE messages SET status = $2, platform_message = COALESCE($3, platform_message), updated_ms = $4 \
                 WHERE id = $1 AND status = 'unknown'")
                .bind(message_id).bind(status).bind(msg).bind(now_ms)
                .execute(&mut *tx).await?.rows_affected();
            if n == 1 {
                tx.commit().await?;
                Some(requeued)
            } else {
                tx.rollback().await?;
                None
            }
        }))
    }

    /// Records what reconciliation found — `(message id, status, platform id, platform code)` —
    /// in one transaction, each only while the message is still `pending` or `unknown`.
    pub async fn reconcile_messages(
        &self,
        changes: &[(i64, MessageStatus, String, Option<String>)],
        now_ms: i64,
    ) -> Result<u64> {
        if changes.is_empty() {
            return Ok(0);
        }
        Ok(on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let mut n = 0;
            for (id, status, pid, code) in changes {
                n += sqlx::query(
                    "UPDATE messages SET status = $2, platform_id = $3, \
                     platform_message = COALESCE($4, platform_message), updated_ms = $5 \
                     WHERE id = $1 AND status IN ('pending', 'unknown')")
                    .bind(id).bind(status.as_str()).bind(pid).bind(code.as_deref()).bind(now_ms)
                    .execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
            n
        }))
    }

    /// The job of a message (the latest, if several).
    pub async fn job_of_message(&self, message_id: i64) -> Result<Option<Job>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM outbox_jobs WHERE message_id = $1 ORDER BY id DESC LIMIT 1"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, Job>(&sql).bind(message_id).fetch_optional(p).await?),
        )
    }

    /// How many jobs are in each state.
    pub async fn outbox_counts(&self) -> Result<OutboxCounts> {
        let rows: Vec<(String, i64)> = on_pool!(self, p => sqlx::query_as(
            "SELECT state, COUNT(*) FROM outbox_jobs GROUP BY state").fetch_all(p).await?);
        let mut c = OutboxCounts::default();
        for (s, n) in rows {
            match s.as_str() {
                "ready" | "held" => c.ready = n,
                "running" => c.running = n,
                _ => c.done += n,
            }
        }
        Ok(c)
    }

    /// Whether any job is ready or running — what a drain or a load run waits on. Two probes of
    /// the partial indexes, so it costs the same with a million done jobs ([`Store::outbox_counts`]
    /// reads the whole table).
    pub async fn outbox_active(&self) -> Result<bool> {
        Ok(on_pool!(self, p => sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM outbox_jobs WHERE state = 'ready') \
             OR EXISTS (SELECT 1 FROM outbox_jobs WHERE state = 'running')")
            .fetch_one(p).await?))
    }

    /// Messages by status (one query; the crash harness and dashboards).
    pub async fn message_status_counts(&self) -> Result<Vec<(MessageStatus, i64)>> {
        let rows: Vec<(String, i64)> = on_pool!(self, p => sqlx::query_as(
            "SELECT status, COUNT(*) FROM messages GROUP BY status").fetch_all(p).await?);
        Ok(rows
            .into_iter()
            .filter_map(|(s, n)| s.parse().ok().map(|s| (s, n)))
            .collect())
    }
}
