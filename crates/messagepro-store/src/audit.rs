//! The append-only audit log: there is no update or delete method, on purpose.

use crate::{
    Arg, AuditEntry, AuditFilter, NewAudit, Page, Result, Store, Where, bind_args, on_pool,
};

impl Store {
    /// Appends one entry; returns its id.
    pub async fn audit(&self, e: &NewAudit) -> Result<i64> {
        Ok(on_pool!(self, p => sqlx::query_scalar(
            "INSERT INTO audit_log (at_ms, user_id, username, action, target, ip, outcome, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id")
            .bind(e.at_ms).bind(e.user_id).bind(&e.username).bind(&e.action).bind(&e.target)
            .bind(&e.ip).bind(e.outcome.as_str()).bind(&e.detail)
            .fetch_one(p).await?))
    }

    fn audit_where(f: &AuditFilter) -> Where {
        let mut w = Where::default();
        if let Some(u) = &f.username {
            w.push("username = ?", Arg::S(u.clone()));
        }
        if let Some(a) = &f.action {
            w.push("action = ?", Arg::S(a.clone()));
        }
        if let Some(o) = &f.outcome {
            w.push("outcome = ?", Arg::S(o.clone()));
        }
        if let Some(t) = f.from_ms {
            w.push("at_ms >= ?", Arg::I(t));
        }
        if let Some(t) = f.to_ms {
            w.push("at_ms < ?", Arg::I(t));
        }
        w
    }

    /// Entries matching `filter`, newest first.
    pub async fn list_audit(&self, filter: &AuditFilter, page: Page) -> Result<Vec<AuditEntry>> {
        let mut w = Self::audit_where(filter);
        if let Some(b) = page.before_id {
            w.push("id < ?", Arg::I(b));
        }
        let mut sql = format!(
            "SELECT id, at_ms, user_id, username, action, target, ip, outcome, detail FROM audit_log{} ORDER BY id DESC",
            w.sql()
        );
        let l = w.next(Arg::I(page.limit));
        let o = w.next(Arg::I(if page.before_id.is_some() {
            0
        } else {
            page.offset
        }));
        sql.push_str(&format!(" LIMIT {l} OFFSET {o}"));
        Ok(
            on_pool!(self, p => bind_args!(sqlx::query_as::<_, AuditEntry>(&sql), w.args).fetch_all(p).await?),
        )
    }

    /// How many entries match `filter`.
    pub async fn count_audit(&self, filter: &AuditFilter) -> Result<i64> {
        let w = Self::audit_where(filter);
        let sql = format!("SELECT COUNT(*) FROM audit_log{}", w.sql());
        Ok(on_pool!(self, p => bind_args!(sqlx::query_scalar(&sql), w.args).fetch_one(p).await?))
    }
}
