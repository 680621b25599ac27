//! Messages (the local record of every send), campaigns, contacts and groups: insert, get,
//! update and filtered, paginated lists. The send path writes through `outbox.rs` (message +
//! job + audit in one transaction); these are the reads and the direct updates.

use crate::error::conflict;
use crate::{
    Arg, BeginWrite, Campaign, CampaignStatus, Contact, ContactFilter, Group, Message,
    MessageFilter, MessageStatus, NewCampaign, NewMessage, Page, Result, Store, StoreError, Where,
    bind_args, on_pool,
};

const MESSAGE_COLUMNS: &str = "SELECT id, channel, recipient, text, route, status, platform_id, platform_message, \
     segments, created_by, campaign_id, created_ms, updated_ms FROM messages";
const CAMPAIGN_COLUMNS: &str = "SELECT id, name, channel, status, total, created_by, created_ms, updated_ms, start_ms, paused_ms, token_id FROM campaigns";
const CONTACT_COLUMNS: &str =
    "SELECT id, name, phone, opted_out_ms, created_ms, updated_ms FROM contacts";

fn paginate(w: &mut Where, page: Page, order_col: &str) -> String {
    if let Some(b) = page.before_id {
        w.push(&format!("{order_col} < ?"), Arg::I(b));
    }
    let filters = w.sql();
    let l = w.next(Arg::I(page.limit));
    let o = w.next(Arg::I(if page.before_id.is_some() {
        0
    } else {
        page.offset
    }));
    format!("{filters} ORDER BY {order_col} DESC LIMIT {l} OFFSET {o}")
}

impl Store {
    // ----- messages -----------------------------------------------------------------------

    /// Records a message; returns it with its id.
    pub async fn insert_message(&self, m: &NewMessage, now_ms: i64) -> Result<Message> {
        let sql = "INSERT INTO messages (channel, recipient, text, route, status, segments, created_by, campaign_id, created_ms, updated_ms) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id";
        let id: i64 = on_pool!(self, p => sqlx::query_scalar(sql)
            .bind(m.channel.as_str()).bind(&m.recipient).bind(&m.text).bind(m.route.to_string())
            .bind(m.status.as_str()).bind(m.segments).bind(m.created_by).bind(m.campaign_id).bind(now_ms)
            .fetch_one(p).await?);
        self.message_by_id(id)
            .await?
            .ok_or(StoreError::NotFound("message"))
    }

    /// Records many messages in one transaction (campaign ingest); returns their ids in order.
    pub async fn insert_messages(&self, ms: &[NewMessage], now_ms: i64) -> Result<Vec<i64>> {
        let sql = "INSERT INTO messages (channel, recipient, text, route, status, segments, created_by, campaign_id, created_ms, updated_ms) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id";
        Ok(on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let mut ids = Vec::with_capacity(ms.len());
            for m in ms {
                let id: i64 = sqlx::query_scalar(sql)
                    .bind(m.channel.as_str()).bind(&m.recipient).bind(&m.text).bind(m.route.to_string())
                    .bind(m.status.as_str()).bind(m.segments).bind(m.created_by).bind(m.campaign_id).bind(now_ms)
                    .fetch_one(&mut *tx).await?;
                ids.push(id);
            }
            tx.commit().await?;
            ids
        }))
    }

    pub async fn message_by_id(&self, id: i64) -> Result<Option<Message>> {
        let sql = format!("{MESSAGE_COLUMNS} WHERE id = $1");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, Message>(&sql).bind(id).fetch_optional(p).await?),
        )
    }

    /// Sets the status (and, when given, the platform's id and message) of a message.
    pub async fn update_message_status(
        &self,
        id: i64,
        status: MessageStatus,
        platform_id: Option<&str>,
        platform_message: Option<&str>,
        now_ms: i64,
    ) -> Result<()> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE messages SET status = $2, platform_id = COALESCE($3, platform_id), \
             platform_message = COALESCE($4, platform_message), updated_ms = $5 WHERE id = $1")
            .bind(id).bind(status.as_str()).bind(platform_id).bind(platform_message).bind(now_ms)
            .execute(p).await?.rows_affected());
        if n == 0 {
            return Err(StoreError::NotFound("message"));
        }
        Ok(())
    }

    fn message_where(f: &MessageFilter) -> Where {
        let mut w = Where::default();
        if let Some(c) = f.channel {
            w.push("channel = ?", Arg::S(c.as_str().into()));
        }
        if let Some(s) = f.status {
            w.push("status = ?", Arg::S(s.as_str().into()));
        }
        if let Some(c) = f.campaign_id {
            w.push("campaign_id = ?", Arg::I(c));
        }
        if let Some(u) = f.created_by {
            w.push("created_by = ?", Arg::I(u));
        }
        if let Some(r) = &f.recipient {
            w.push("recipient = ?", Arg::S(r.clone()));
        }
        if let Some(t) = &f.text_contains {
            w.push("text LIKE ?", Arg::S(format!("%{}%", escape_like(t))));
            // both engines accept an explicit escape character
            if let Some(last) = w.clauses_mut().last_mut() {
                last.push_str(" ESCAPE '\\'");
            }
        }
        if let Some(t) = f.from_ms {
            w.push("created_ms >= ?", Arg::I(t));
        }
        if let Some(t) = f.to_ms {
            w.push("created_ms < ?", Arg::I(t));
        }
        w
    }

    /// Messages matching `filter`, newest first (keyset on id with [`Page::before`]).
    pub async fn list_messages(&self, filter: &MessageFilter, page: Page) -> Result<Vec<Message>> {
        let mut w = Self::message_where(filter);
        let sql = format!("{MESSAGE_COLUMNS}{}", paginate(&mut w, page, "id"));
        Ok(
            on_pool!(self, p => bind_args!(sqlx::query_as::<_, Message>(&sql), w.args).fetch_all(p).await?),
        )
    }

    pub async fn count_messages(&self, filter: &MessageFilter) -> Result<i64> {
        let w = Self::message_where(filter);
        let sql = format!("SELECT COUNT(*) FROM messages{}", w.sql());
        Ok(on_pool!(self, p => bind_args!(sqlx::query_scalar(&sql), w.args).fetch_one(p).await?))
    }

    // ----- campaigns ----------------------------------------------------------------------

    pub async fn insert_campaign(&self, c: &NewCampaign, now_ms: i64) -> Result<Campaign> {
        let id: i64 = on_pool!(self, p => sqlx::query_scalar(
            "INSERT INTO campaigns (name, channel, status, total, created_by, created_ms, updated_ms, start_ms, token_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8) RETURNING id")
            .bind(&c.name).bind(c.channel.as_str()).bind(c.status.as_str()).bind(c.total)
            .bind(c.created_by).bind(now_ms).bind(c.start_ms).bind(c.token_id).fetch_one(p).await?);
        self.campaign_by_id(id)
            .await?
            .ok_or(StoreError::NotFound("campaign"))
    }

    pub async fn campaign_by_id(&self, id: i64) -> Result<Option<Campaign>> {
        let sql = format!("{CAMPAIGN_COLUMNS} WHERE id = $1");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, Campaign>(&sql).bind(id).fetch_optional(p).await?),
        )
    }

    pub async fn list_campaigns(&self, page: Page) -> Result<Vec<Campaign>> {
        let mut w = Where::default();
        let sql = format!("{CAMPAIGN_COLUMNS}{}", paginate(&mut w, page, "id"));
        Ok(
            on_pool!(self, p => bind_args!(sqlx::query_as::<_, Campaign>(&sql), w.args).fetch_all(p).await?),
        )
    }

    pub async fn update_campaign_status(
        &self,
        id: i64,
        status: CampaignStatus,
        now_ms: i64,
    ) -> Result<()> {
        let n = on_pool!(self, p => sqlx::query("UPDATE campaigns SET status = $2, updated_ms = $3 WHERE id = $1")
            .bind(id).bind(status.as_str()).bind(now_ms).execute(p).await?.rows_affected());
        if n == 0 {
            return Err(StoreError::NotFound("campaign"));
        }
        Ok(())
    }

    /// How many of a campaign's messages are in each status (its progress).
    pub async fn campaign_status_counts(&self, id: i64) -> Result<Vec<(MessageStatus, i64)>> {
        let rows: Vec<(String, i64)> = on_pool!(self, p => sqlx::query_as(
            "SELECT status, COUNT(*) FROM messages WHERE campaign_id = $1 GROUP BY status")
            .bind(id).fetch_all(p).await?);
        Ok(rows
            .into_iter()
            .filter_map(|(s, n)| MessageStatus::try_from(s).ok().map(|s| (s, n)))
            .collect())
    }

    /// Ids of campaigns still `running` or `queued` (reconciliation closes the finished ones).
    pub async fn running_campaign_ids(&self) -> Result<Vec<i64>> {
        Ok(on_pool!(self, p => sqlx::query_scalar(
            "SELECT id FROM campaigns WHERE status IN ('running', 'queued')").fetch_all(p).await?))
    }

    // ----- contacts and groups ------------------------------------------------------------

    /// Creates a contact; [`StoreError::Conflict`] if the phone is already a contact.
    pub async fn insert_contact(&self, name: &str, phone: &str, now_ms: i64) -> Result<Contact> {
        let id: i64 = on_pool!(self, p => sqlx::query_scalar(
            "INSERT INTO contacts (name, phone, created_ms, updated_ms) VALUES ($1, $2, $3, $3) RETURNING id")
            .bind(name).bind(phone).bind(now_ms).fetch_one(p).await.map_err(conflict("contact phone"))?);
        self.contact_by_id(id)
            .await?
            .ok_or(StoreError::NotFound("contact"))
    }

    pub async fn contact_by_id(&self, id: i64) -> Result<Option<Contact>> {
        let sql = format!("{CONTACT_COLUMNS} WHERE id = $1");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, Contact>(&sql).bind(id).fetch_optional(p).await?),
        )
    }

    pub async fn contact_by_phone(&self, phone: &str) -> Result<Option<Contact>> {
        let sql = format!("{CONTACT_COLUMNS} WHERE phone = $1");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, Contact>(&sql).bind(phone).fetch_optional(p).await?),
        )
    }

    /// Renames / re-numbers a contact.
    pub async fn update_contact(
        &self,
        id: i64,
        name: &str,
        phone: &str,
        now_ms: i64,
    ) -> Result<()> {
        let n = on_pool!(self, p => sqlx::query("UPDATE contacts SET name = $2, phone = $3, updated_ms = $4 WHERE id = $1")
            .bind(id).bind(name).bind(phone).bind(now_ms).execute(p).await
            .map_err(conflict("contact phone"))?.rows_affected());
        if n == 0 {
            return Err(StoreError::NotFound("contact"));
        }
        Ok(())
    }

    /// The contacts among `phones` (E.164), by phone — one query per 500 numbers.
    pub async fn contacts_among(
        &self,
        phones: &[String],
    ) -> Result<std::collections::HashMap<String, Contact>> {
        let mut out = std::collections::HashMap::new();
        for chunk in phones.chunks(500) {
            let json = serde_json::to_string(chunk).unwrap_or_else(|_| "[]".into());
            let rows: Vec<Contact> = on_pool!(self, p => match self.backend_name() {
                "postgres" => sqlx::query_as::<_, Contact>(&format!(
                    "{CONTACT_COLUMNS} WHERE phone IN (SELECT jsonb_array_elements_text($1::jsonb))"))
                    .bind(json).fetch_all(p).await?,
                _ => sqlx::query_as::<_, Contact>(&format!(
                    "{CONTACT_COLUMNS} WHERE phone IN (SELECT value FROM json_each($1))"))
                    .bind(json).fetch_all(p).await?,
            });
            out.extend(rows.into_iter().map(|c| (c.phone.clone(), c)));
        }
        Ok(out)
    }

    /// Marks a contact as opted out (`Some(now)`) or opted back in (`None`).
    pub async fn set_contact_opt_out(
        &self,
        id: i64,
        opted_out_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<()> {
        on_pool!(self, p => sqlx::query("UPDATE contacts SET opted_out_ms = $2, updated_ms = $3 WHERE id = $1")
            .bind(id).bind(opted_out_ms).bind(now_ms).execute(p).await?.rows_affected());
        Ok(())
    }

    pub async fn delete_contact(&self, id: i64) -> Result<()> {
        on_pool!(self, p => sqlx::query("DELETE FROM contacts WHERE id = $1").bind(id).execute(p).await?.rows_affected());
        Ok(())
    }

    fn contact_where(f: &ContactFilter) -> Where {
        let mut w = Where::default();
        if let Some(s) = &f.search {
            let pat = format!("%{}%", escape_like(s));
            w.push("(name LIKE ? ESCAPE '\\'", Arg::S(pat.clone()));
            w.push("phone LIKE ? ESCAPE '\\')", Arg::S(pat));
            w.join_last_two_with_or();
        }
        if let Some(g) = f.group_id {
            w.push(
                "id IN (SELECT contact_id FROM contact_groups WHERE group_id = ?)",
                Arg::I(g),
            );
        }
        if !f.include_opted_out {
            w.push_raw("opted_out_ms IS NULL");
        }
        w
    }

    /// Contacts matching `filter`, newest first.
    pub async fn list_contacts(&self, filter: &ContactFilter, page: Page) -> Result<Vec<Contact>> {
        let mut w = Self::contact_where(filter);
        let sql = format!("{CONTACT_COLUMNS}{}", paginate(&mut w, page, "id"));
        Ok(
            on_pool!(self, p => bind_args!(sqlx::query_as::<_, Contact>(&sql), w.args).fetch_all(p).await?),
        )
    }

    pub async fn count_contacts(&self, filter: &ContactFilter) -> Result<i64> {
        let w = Self::contact_where(filter);
        let sql = format!("SELECT COUNT(*) FROM contacts{}", w.sql());
        Ok(on_pool!(self, p => bind_args!(sqlx::query_scalar(&sql), w.args).fetch_one(p).await?))
    }

    /// Creates a group; [`StoreError::Conflict`] if the name exists.
    pub async fn insert_group(&self, name: &str, now_ms: i64) -> Result<Group> {
        let id: i64 = on_pool!(self, p => sqlx::query_scalar(
            "INSERT INTO groups (name, created_ms) VALUES ($1, $2) RETURNING id")
            .bind(name).bind(now_ms).fetch_one(p).await.map_err(conflict("group"))?);
        Ok(Group {
            id,
            name: name.to_owned(),
            created_ms: now_ms,
            members: 0,
        })
    }

    /// Every group with its member count, by name.
    pub async fn list_groups(&self) -> Result<Vec<Group>> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, Group>(
            "SELECT g.id, g.name, g.created_ms, \
             (SELECT COUNT(*) FROM contact_groups cg WHERE cg.group_id = g.id) AS members \
             FROM groups g ORDER BY g.name").fetch_all(p).await?))
    }

    pub async fn group_by_id(&self, id: i64) -> Result<Option<Group>> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, Group>(
            "SELECT g.id, g.name, g.created_ms, \
             (SELECT COUNT(*) FROM contact_groups cg WHERE cg.group_id = g.id) AS members \
             FROM groups g WHERE g.id = $1").bind(id).fetch_optional(p).await?))
    }

    /// Deletes a group (its members stay contacts); `false` when there was none.
    pub async fn delete_group(&self, id: i64) -> Result<bool> {
        let n = on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("DELETE FROM contact_groups WHERE group_id = $1").bind(id).execute(&mut *tx).await?;
            let n = sqlx::query("DELETE FROM groups WHERE id = $1").bind(id).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            n
        });
        Ok(n == 1)
    }

    /// The ids of the groups a contact is in.
    pub async fn contact_group_ids(&self, contact_id: i64) -> Result<Vec<i64>> {
        Ok(on_pool!(self, p => sqlx::query_scalar(
            "SELECT group_id FROM contact_groups WHERE contact_id = $1 ORDER BY group_id")
            .bind(contact_id).fetch_all(p).await?))
    }

    /// Adds a contact to a group (idempotent).
    pub async fn add_to_group(&self, contact_id: i64, group_id: i64) -> Result<()> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO contact_groups (contact_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(contact_id).bind(group_id).execute(p).await?.rows_affected());
        Ok(())
    }

    pub async fn remove_from_group(&self, contact_id: i64, group_id: i64) -> Result<()> {
        on_pool!(self, p => sqlx::query("DELETE FROM contact_groups WHERE contact_id = $1 AND group_id = $2")
            .bind(contact_id).bind(group_id).execute(p).await?.rows_affected());
        Ok(())
    }
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
