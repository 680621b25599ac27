//! The SMS history: filters, pages and the CSV export French Excel opens.

use super::*;

/// `?before=<id>`: the page of messages older than that id (keyset pagination).
#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    pub before: Option<i64>,
}

/// Rows per history page.
pub const HISTORY_PAGE: i64 = 50;

/// One page of the history of `channel`, and the id to continue from.
pub async fn history_page(
    ui: &Ui,
    channel: Channel,
    before: Option<i64>,
) -> Result<(Vec<Message>, Option<i64>), AppError> {
    let f = MessageFilter {
        channel: Some(channel),
        ..Default::default()
    };
    page_of(ui, &f, before).await
}

pub(super) async fn page_of(
    ui: &Ui,
    f: &MessageFilter,
    before: Option<i64>,
) -> Result<(Vec<Message>, Option<i64>), AppError> {
    let page = match before {
        Some(b) => Page::before(b, HISTORY_PAGE),
        None => Page::first(HISTORY_PAGE),
    };
    let messages = ui.state.store.list_messages(f, page).await?;
    let next = (messages.len() as i64 == HISTORY_PAGE)
        .then(|| messages.last().map(|m| m.id))
        .flatten();
    Ok((messages, next))
}

/// The history filters (all optional).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct HistoryFilters {
    pub phone: String,
    pub status: String,
    /// `YYYY-MM-DD` (UTC), inclusive.
    pub from: String,
    /// `YYYY-MM-DD` (UTC), inclusive.
    pub to: String,
    /// User id of the sender.
    pub sender: String,
    /// A campaign's id: its recipients, one row each, with their status.
    pub campaign: String,
    pub before: Option<i64>,
}

pub(super) fn day_ms(d: &str) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

impl HistoryFilters {
    /// The store filter, or the translation key of an invalid field.
    fn to_filter(&self, default_country: &str) -> Result<MessageFilter, &'static str> {
        let mut f = MessageFilter {
            channel: Some(Channel::Sms),
            ..Default::default()
        };
        if !self.phone.trim().is_empty() {
            let p = Phone::parse(self.phone.trim(), default_country)
                .map_err(|_| "sms.history.bad_phone")?;
            f.recipient = Some(p.e164().to_owned());
        }
        if !self.status.is_empty() {
            f.status = Some(self.status.parse().map_err(|_| "sms.history.bad_filter")?);
        }
        if !self.from.trim().is_empty() {
            f.from_ms = Some(day_ms(&self.from).ok_or("sms.history.bad_date")?);
        }
        if !self.to.trim().is_empty() {
            f.to_ms = Some(day_ms(&self.to).ok_or("sms.history.bad_date")? + 86_400_000);
        }
        if !self.campaign.trim().is_empty() {
            f.campaign_id = Some(
                self.campaign
                    .trim()
                    .parse()
                    .map_err(|_| "sms.history.bad_filter")?,
            );
        }
        if !self.sender.trim().is_empty() {
            f.created_by = Some(
                self.sender
                    .trim()
                    .parse()
                    .map_err(|_| "sms.history.bad_filter")?,
            );
        }
        Ok(f)
    }

    /// The query string of these filters (without `before`), for links.
    pub fn query(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("phone", &self.phone)
            .append_pair("status", &self.status)
            .append_pair("from", &self.from)
            .append_pair("to", &self.to)
            .append_pair("sender", &self.sender)
            .append_pair("campaign", &self.campaign)
            .finish()
    }
}

/// A history row ready to show.
#[derive(Debug, Clone)]
pub struct HistoryRow {
    pub m: Message,
    /// The platform's answer, or the console's own diagnosis in the user's language.
    pub detail: Option<String>,
    pub sender: String,
    pub route: String,
}

#[derive(Template)]
#[template(path = "messaging/sms_history.html")]
pub(super) struct HistoryPage {
    page: PageCtx,
    rows: Vec<HistoryRow>,
    next_before: Option<i64>,
    filters: HistoryFilters,
    query: String,
    users: Vec<(i64, String)>,
    statuses: Vec<&'static str>,
    error: Option<String>,
}

pub(super) fn route_label(route: &str, credits: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(route).unwrap_or_default();
    let s = |k: &str| {
        v.get(k).map(|x| match x {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    match v.get("mode").and_then(|m| m.as_str()) {
        Some("devices") => format!(
            "{} · SIM {}",
            s("device").unwrap_or_default(),
            s("sim").unwrap_or_else(|| "1".into())
        ),
        Some("credits") => format!("{credits} · {}", s("gateway").unwrap_or_default()),
        Some(other) => other.to_owned(),
        None => String::new(),
    }
}

pub(super) async fn user_names(ui: &Ui) -> Result<Vec<(i64, String)>, AppError> {
    Ok(ui
        .state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect())
}

pub(super) fn rows_of(messages: Vec<Message>, users: &[(i64, String)], ui: &Ui) -> Vec<HistoryRow> {
    let credits = ui.t("sms.route.credits_short");
    messages
        .into_iter()
        .map(|m| HistoryRow {
            detail: m
                .platform_message
                .as_deref()
                .map(|pm| crate::send::describe_stored_message(&ui.state.i18n, ui.lang, pm)),
            sender: m
                .created_by
                .and_then(|id| users.iter().find(|(u, _)| *u == id))
                .map(|(_, n)| n.clone())
                .unwrap_or_default(),
            route: route_label(&m.route, &credits),
            m,
        })
        .collect()
}

#[tracing::instrument(skip_all)]
pub(super) async fn history(ui: Ui, Query(q): Query<HistoryFilters>) -> Result<Response, AppError> {
    let users = user_names(&ui).await?;
    let (rows, next_before, error, status) = match q.to_filter(&ui.state.settings.default_country) {
        Ok(f) => {
            let (messages, next) = page_of(&ui, &f, q.before).await?;
            (rows_of(messages, &users, &ui), next, None, StatusCode::OK)
        }
        Err(key) => (
            Vec::new(),
            None,
            Some(ui.t(key)),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    };
    let mut r = render(&HistoryPage {
        page: ui.page("sms.history.title"),
        rows,
        next_before,
        query: q.query(),
        filters: q,
        users,
        statuses: MessageStatus::ALL.iter().map(|s| s.as_str()).collect(),
        error,
    })?;
    *r.status_mut() = status;
    Ok(r)
}

/// Most rows one export returns.
pub(super) const CSV_MAX: i64 = 100_000;

/// Neutralises spreadsheet formulas in free text (`=`, `+`, `-`, `@` at the start).
pub(super) fn csv_text(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

/// The UTF-8 byte order mark: Excel reads the file as UTF-8 only when it starts with it.
pub(super) const EXCEL_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The history as a CSV that French Excel opens with its accents and columns intact (BOM, `;`).
#[tracing::instrument(skip_all)]
pub(super) async fn history_csv(
    ui: Ui,
    Query(q): Query<HistoryFilters>,
) -> Result<Response, AppError> {
    let f = q
        .to_filter(&ui.state.settings.default_country)
        .map_err(|_| AppError::BadRequest)?;
    let users = user_names(&ui).await?;
    let messages = ui
        .state
        .store
        .list_messages(&f, Page::first(CSV_MAX))
        .await?;
    // French Excel opens a CSV by its locale: `;` between fields, and UTF-8 only with a BOM
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(EXCEL_BOM.to_vec());
    let columns = [
        "id",
        "created_utc",
        "recipient",
        "text",
        "segments",
        "status",
        "platform_message",
        "sender",
        "route",
        "platform_id",
    ];
    w.write_record(columns)
        .map_err(|e| AppError::Internal(e.into()))?;
    for r in rows_of(messages, &users, &ui) {
        let m = &r.m;
        w.write_record([
            m.id.to_string(),
            crate::ui::format_ms(m.created_ms),
            m.recipient.clone(),
            csv_text(&m.text),
            m.segments.to_string(),
            m.status.as_str().to_owned(),
            csv_text(r.detail.as_deref().unwrap_or("")),
            csv_text(&r.sender),
            csv_text(&r.route),
            m.platform_id.clone().unwrap_or_default(),
        ])
        .map_err(|e| AppError::Internal(e.into()))?;
    }
    let body = w
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("csv: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"sms-history.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_in_csv_text() {
        assert_eq!(csv_text("=1+1"), "'=1+1");
        assert_eq!(csv_text("Bonjour"), "Bonjour");
    }
}
