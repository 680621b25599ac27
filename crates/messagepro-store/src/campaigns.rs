//! A campaign's rows in the outbox: the set-based ingest (the campaign, one message per
//! recipient and its job — or a `skipped` message — and the audit entry, one transaction), and
//! what changes a campaign's waiting jobs: pause / resume (held, then shifted by the pause's
//! length), cancel (skipped), reschedule (moved). Split from `outbox.rs`, which keeps the
//! claim / finish cycle of single jobs.

use crate::idempotency::FINISH;
use crate::outbox::INSERT_AUDIT;
use crate::{
    BeginWrite, Campaign, IdemDone, MessageStatus, NewAudit, NewCampaign, NewJob, NewMessage,
    Result, Store, StoreError, on_pool,
};

/// What becomes of one recipient of a campaign at ingest.
#[derive(Debug, Clone)]
pub enum Admit {
    /// Sent through the outbox: this job.
    Queue(NewJob),
    /// Never sent: the message is recorded `skipped` with this reason code (`skip.opted_out`).
    Skip(String),
}

impl Store {
    /// Records a campaign, one message per recipient (with its job, or none for a recipient
    /// skipped by policy — its message is already `skipped`) and the audit entry in **one
    /// transaction**, set-based (two statements per 10,000 rows: 100,000 recipients are one
    /// commit, `docs/benchmarks.md`). Recipients must be distinct within the campaign (jobs are
    /// matched to their message by recipient): a duplicate is [`StoreError::Conflict`]. Returns
    /// the campaign and how many jobs were queued.
    ///
    /// `idempotency`: the integration API's key, marked done in the same transaction with the
    /// answer for the campaign's id.
    pub async fn enqueue_campaign(
        &self,
        c: &NewCampaign,
        rows: &[(NewMessage, Admit)],
        audit: &NewAudit,
        idempotency: Option<&IdemDone<'_>>,
        now_ms: i64,
    ) -> Result<(Campaign, usize)> {
        let mut seen = std::collections::HashSet::with_capacity(rows.len());
        if rows.iter().any(|(m, _)| !seen.insert(m.recipient.as_str())) {
            return Err(StoreError::Conflict("campaign recipient"));
        }
        let pg = self.backend_name() == "postgres";
        let (ins_messages, ins_jobs) = if pg {
            (
                "INSERT INTO messages (channel, recipient, text, route, status, segments, created_by, \
                 campaign_id, platform_message, created_ms, updated_ms) \
                 SELECT v.c, v.r, v.t, v.ro, v.s, v.sg, v.cb, $2, v.pm, $3, $3 \
                 FROM jsonb_to_recordset($1::jsonb) AS v(c TEXT, r TEXT, t TEXT, ro TEXT, s TEXT, sg BIGINT, cb BIGINT, pm TEXT) \
                 RETURNING id, recipient",
                "INSERT INTO outbox_jobs (message_id, payload, state, attempt, max_attempts, run_at_ms, created_ms, updated_ms) \
                 SELECT v.m, v.p::text, 'ready', 0, v.x, v.run, $2, $2 \
                 FROM jsonb_to_recordset($1::jsonb) AS v(m BIGINT, p JSONB, x BIGINT, run BIGINT)",
            )
        } else {
            (
                "INSERT INTO messages (channel, recipient, text, route, status, segments, created_by, \
                 campaign_id, platform_message, created_ms, updated_ms) \
                 SELECT value ->> 'c', value ->> 'r', value ->> 't', value ->> 'ro', value ->> 's', value ->> 'sg', \
                 value ->> 'cb', $2, value ->> 'pm', $3, $3 FROM json_each($1) RETURNING id, recipient",
                "INSERT INTO outbox_jobs (message_id, payload, state, attempt, max_attempts, run_at_ms, created_ms, updated_ms) \
                 SELECT value ->> 'm', value -> 'p', 'ready', 0, value ->> 'x', value ->> 'run', $2, $2 FROM json_each($1)",
            )
        };
        // rows serialised straight from borrowed fields (no `serde_json::Value` per row)
        #[derive(serde::Serialize)]
        struct MsgRow<'a> {
            c: &'a str,
            r: &'a str,
            t: &'a str,
            ro: &'a str,
            s: &'a str,
            sg: i64,
            cb: Option<i64>,
            pm: Option<&'a str>,
        }
        #[derive(serde::Serialize)]
        struct JobRow<'a> {
            m: Option<i64>,
            p: &'a serde_json::Value,
            x: i64,
            run: i64,
        }
        let message_json = |chunk: &[(NewMessage, Admit)]| {
            // a campaign's rows share one route: serialised once, not per row
            let mut routes: Vec<(&serde_json::Value, String)> = Vec::new();
            for (m, _) in chunk {
                if routes.last().is_none_or(|(v, _)| *v != &m.route) {
                    routes.push((&m.route, m.route.to_string()));
                }
            }
            let mut k = 0;
            let v: Vec<MsgRow<'_>> = chunk
                .iter()
                .map(|(m, a)| {
                    let (status, reason) = match a {
                        Admit::Queue(_) => (m.status, None),
                        Admit::Skip(r) => (MessageStatus::Skipped, Some(r.as_str())),
                    };
                    if routes[k].0 != &m.route {
                        k += 1;
                    }
                    MsgRow {
                        c: m.channel.as_str(),
                        r: &m.recipient,
                        t: &m.text,
                        ro: &routes[k].1,
                        s: status.as_str(),
                        sg: m.segments,
                        cb: m.created_by,
                        pm: reason,
                    }
                })
                .collect();
            serde_json::to_string(&v).unwrap_or_else(|_| "[]".into())
        };
        let job_json = |chunk: &[(NewMessage, Admit)],
                        ids: &std::collections::HashMap<String, i64>| {
            let v: Vec<JobRow<'_>> = chunk
                .iter()
                .filter_map(|(m, a)| {
                    let Admit::Queue(j) = a else { return None };
                    Some(JobRow {
                        m: ids.get(&m.recipient).copied(),
                        p: &j.payload,
                        x: j.max_attempts,
                        run: j.run_at_ms,
                    })
                })
                .collect();
            (!v.is_empty()).then(|| serde_json::to_string(&v).unwrap_or_else(|_| "[]".into()))
        };
        let (cid, jobs) = on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let cid: i64 = sqlx::query_scalar(
                "INSERT INTO campaigns (name, channel, status, total, created_by, created_ms, updated_ms, start_ms, token_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8) RETURNING id")
                .bind(&c.name).bind(c.channel.as_str()).bind(c.status.as_str()).bind(c.total)
                .bind(c.created_by).bind(now_ms).bind(c.start_ms).bind(c.token_id).fetch_one(&mut *tx).await?;
            let mut jobs = 0;
            for chunk in rows.chunks(10_000) {
                let mj = message_json(chunk);
                let ids: std::collections::HashMap<String, i64> = sqlx::query_as::<_, (i64, String)>(ins_messages)
                    .bind(mj).bind(cid).bind(now_ms)
                    .fetch_all(&mut *tx).await?
                    .into_iter().map(|(id, r)| (r, id)).collect();
                if let Some(json) = job_json(chunk, &ids) {
                    jobs += sqlx::query(ins_jobs).bind(json).bind(now_ms)
                        .execute(&mut *tx).await?.rows_affected() as usize;
                }
            }
            sqlx::query(INSERT_AUDIT)
                .bind(audit.at_ms).bind(audit.user_id).bind(&audit.username).bind(&audit.action)
                .bind(&audit.target).bind(&audit.ip).bind(audit.outcome.as_str()).bind(&audit.detail)
                .execute(&mut *tx).await?;
            if let Some(idem) = idempotency {
                let (status, body) = (idem.respond)(&[cid]);
                sqlx::query(FINISH)
                    .bind(idem.token_id).bind(idem.key).bind(i64::from(status)).bind(body)
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
            (cid, jobs)
        });
        let campaign = self
            .campaign_by_id(cid)
            .await?
            .ok_or(StoreError::NotFound("campaign"))?;
        Ok((campaign, jobs))
    }

    /// Pauses (`true`) or resumes a campaign: its ready jobs are held (never claimed) or ready
    /// again — one transaction. A resume shifts each waiting job by the length of the pause, so
    /// a paced or scheduled campaign keeps its spacing. Jobs already being sent finish. Returns
    /// `false` when the campaign was not in the state to change (not running or scheduled, or
    /// not paused).
    pub async fn set_campaign_paused(&self, id: i64, pause: bool, now_ms: i64) -> Result<bool> {
        Ok(on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let paused_ms: Option<Option<i64>> = if pause {
                sqlx::query_scalar("UPDATE campaigns SET status = 'paused', paused_ms = $2, updated_ms = $2 \
                     WHERE id = $1 AND status IN ('running', 'queued') RETURNING paused_ms")
                    .bind(id).bind(now_ms).fetch_optional(&mut *tx).await?
            } else {
                sqlx::query_scalar("SELECT paused_ms FROM campaigns WHERE id = $1 AND status = 'paused'")
                    .bind(id).fetch_optional(&mut *tx).await?
            };
            let changed = paused_ms.is_some();
            if changed && pause {
                sqlx::query(
                    "UPDATE outbox_jobs SET state = 'held', updated_ms = $2 WHERE state = 'ready' \
                     AND message_id IN (SELECT id FROM messages WHERE campaign_id = $1)")
                    .bind(id).bind(now_ms).execute(&mut *tx).await?;
            } else if let Some(since) = paused_ms {
                let shift = now_ms - since.unwrap_or(now_ms);
                sqlx::query("UPDATE campaigns SET status = 'running', paused_ms = NULL, updated_ms = $2 WHERE id = $1")
                    .bind(id).bind(now_ms).execute(&mut *tx).await?;
                sqlx::query(
                    "UPDATE outbox_jobs SET state = 'ready', run_at_ms = run_at_ms + $3, updated_ms = $2 \
                     WHERE state = 'held' AND message_id IN (SELECT id FROM messages WHERE campaign_id = $1)")
                    .bind(id).bind(now_ms).bind(shift.max(0)).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            changed
        }))
    }

    /// Cancels a campaign that is not finished: every job not yet claimed is done and its
    /// message `skipped` (`skip.cancelled`) — one transaction; jobs being sent finish. Returns
    /// how many messages were cancelled, `None` if the campaign was already done or cancelled.
    pub async fn cancel_campaign(&self, id: i64, now_ms: i64) -> Result<Option<u64>> {
        Ok(on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let n = sqlx::query("UPDATE campaigns SET status = 'cancelled', updated_ms = $2 \
                 WHERE id = $1 AND status IN ('running', 'queued', 'paused', 'draft')")
                .bind(id).bind(now_ms).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                tx.rollback().await?;
                None
            } else {
                let ids: Vec<i64> = sqlx::query_scalar(
                    "UPDATE outbox_jobs SET state = 'done', last_error = 'cancelled', updated_ms = $2 \
                     WHERE state IN ('ready', 'held') \
                     AND message_id IN (SELECT id FROM messages WHERE campaign_id = $1) RETURNING message_id")
                    .bind(id).bind(now_ms).fetch_all(&mut *tx).await?;
                sqlx::query(
                    "UPDATE messages SET status = 'skipped', platform_message = 'skip.cancelled', updated_ms = $2 \
                     WHERE campaign_id = $1 AND status = 'queued'")
                    .bind(id).bind(now_ms).execute(&mut *tx).await?;
                tx.commit().await?;
                Some(ids.len() as u64)
            }
        }))
    }

    /// Moves the start of a scheduled campaign that has not started: every waiting job moves
    /// by the same amount. `false` when it is not scheduled any more (started, paused, done).
    pub async fn reschedule_campaign(&self, id: i64, start_ms: i64, now_ms: i64) -> Result<bool> {
        Ok(on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let old: Option<Option<i64>> = sqlx::query_scalar(
                "SELECT start_ms FROM campaigns WHERE id = $1 AND status = 'queued' AND start_ms > $2")
                .bind(id).bind(now_ms).fetch_optional(&mut *tx).await?;
            let Some(Some(old)) = old else {
                tx.rollback().await?;
                return Ok(false);
            };
            sqlx::query("UPDATE campaigns SET start_ms = $2, updated_ms = $3 WHERE id = $1")
                .bind(id).bind(start_ms).bind(now_ms).execute(&mut *tx).await?;
            sqlx::query(
                "UPDATE outbox_jobs SET run_at_ms = run_at_ms + $2, updated_ms = $3 WHERE state = 'ready' \
                 AND message_id IN (SELECT id FROM messages WHERE campaign_id = $1)")
                .bind(id).bind(start_ms - old).bind(now_ms).execute(&mut *tx).await?;
            tx.commit().await?;
            true
        }))
    }

    /// Records messages that are never sent (policy: opted out…) as `skipped` with `reason`.
    pub async fn skip_messages(&self, ids: &[i64], reason: &str, now_ms: i64) -> Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            for id in ids {
                sqlx::query("UPDATE messages SET status = 'skipped', platform_message = $2, updated_ms = $3 WHERE id = $1")
                    .bind(id).bind(reason).bind(now_ms).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }
}
