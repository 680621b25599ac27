//! `/messaging/whatsapp/...` — sending WhatsApp chats and their history.
//!
//! The send page offers the account picker (live status from `get_whatsapp_accounts`), text,
//! media by URL (image / audio / video) or document by URL (pdf, xls, xlsx, doc, docx, with a
//! name), to one number or in bulk to numbers and local groups. Every chat goes through
//! `messagepro-core` ([`messagepro_core::Core::submit`]): recorded with its outbox job before the
//! platform is called, the platform's refusal (e.g. a disconnected account) shown as a sentence
//! in the user's language and the attempt kept in the history as `failed`. The form carries a
//! one-time token: submitting it twice sends once.
//!
//! Bulk sends are a core campaign (one message + outbox job per recipient, one transaction);
//! the page reports every recipient as accepted and the history shows each outcome.

use std::collections::{BTreeSet, HashSet};

use askama::Template;
use axum::Router;
use axum::extract::{Query, RawForm};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use http::StatusCode;
use messagepro::{
    DocumentSource, DocumentType, MediaKind, MediaSource, Phone, WaAccount, WaAccountStatus,
    WaContent,
};
use messagepro_store::{
    Channel, ContactFilter, Group, Message, MessageFilter, MessageStatus, Page,
};
use serde::Deserialize;

use crate::app::AppState;
use crate::error::AppError;
use crate::permissions::Permission;
use crate::routes::{Access, RouteRule};
use crate::send::{CampaignRequest, SendChannel, SendError, SendRequest};
use crate::ui::{PageCtx, Ui, flash, render};

const SEND: Access = Access::Perm(Permission::SendWhatsapp);
const READ: Access = Access::Perm(Permission::MessagingRead);

pub const RULES: &[RouteRule] = &[
    RouteRule::get("/messaging/whatsapp/send", SEND),
    RouteRule::post("/messaging/whatsapp/send", SEND),
    RouteRule::get("/messaging/whatsapp/history", READ),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/messaging/whatsapp/send", get(send_form).post(send))
        .route("/messaging/whatsapp/history", get(history))
}

/// Most recipients of one bulk send.
pub const MAX_BULK: usize = 1000;
/// Rows per history page.
pub const HISTORY_PAGE: i64 = 50;

// ----- form --------------------------------------------------------------------------------

/// What the user typed (kept when the form comes back with an error).
#[derive(Debug, Clone, Default)]
pub struct WaForm {
    pub account: String,
    /// `single` or `bulk`.
    pub mode: String,
    pub phone: String,
    pub numbers: String,
    pub groups: BTreeSet<i64>,
    pub campaign: String,
    /// `text`, `media` or `document`.
    pub kind: String,
    pub message: String,
    pub media_url: String,
    pub media_kind: String,
    pub document_url: String,
    pub document_type: String,
    pub document_name: String,
    pub priority: bool,
    /// One-time token of the form (double-submit guard).
    pub nonce: String,
}

impl WaForm {
    fn from_body(body: &[u8]) -> WaForm {
        let mut f = WaForm::default();
        for (k, v) in form_urlencoded::parse(body) {
            let v = v.into_owned();
            match k.as_ref() {
                "account" => f.account = v.trim().to_owned(),
                "mode" => f.mode = v,
                "phone" => f.phone = v.trim().chars().take(40).collect(),
                "numbers" => f.numbers = v,
                "groups" => {
                    if let Ok(id) = v.trim().parse() {
                        f.groups.insert(id);
                    }
                }
                "campaign" => f.campaign = v.trim().chars().take(100).collect(),
                "kind" => f.kind = v,
                "message" => f.message = v,
                "media_url" => f.media_url = v.trim().to_owned(),
                "media_kind" => f.media_kind = v,
                "document_url" => f.document_url = v.trim().to_owned(),
                "document_type" => f.document_type = v,
                "document_name" => f.document_name = v.trim().chars().take(100).collect(),
                "priority" => f.priority = !v.is_empty(),
                "nonce" => f.nonce = v.trim().to_owned(),
                _ => {}
            }
        }
        f
    }

    fn is_bulk(&self) -> bool {
        self.mode == "bulk"
    }

    fn kind_is(&self, k: &str) -> bool {
        (self.kind.is_empty() && k == "text") || self.kind == k
    }

    /// The content to send, or the translation key of what is wrong.
    fn content(&self) -> Result<WaContent, &'static str> {
        if self.message.trim().is_empty() {
            return Err("whatsapp.error.message_required");
        }
        let caption = self.message.clone();
        match self.kind.as_str() {
            "" | "text" => Ok(WaContent::Text(caption)),
            "media" => {
                if !is_web_url(&self.media_url) {
                    return Err("whatsapp.error.media_url");
                }
                let kind = match self.media_kind.as_str() {
                    "image" => MediaKind::Image,
                    "audio" => MediaKind::Audio,
                    "video" => MediaKind::Video,
                    _ => return Err("whatsapp.error.media_kind"),
                };
                Ok(WaContent::Media {
                    caption,
                    source: MediaSource::Url {
                        url: self.media_url.clone(),
                        kind,
                    },
                })
            }
            "document" => {
                if !is_web_url(&self.document_url) {
                    return Err("whatsapp.error.document_url");
                }
                let kind = DocumentType::parse(&self.document_type)
                    .ok_or("whatsapp.error.document_type")?;
                Ok(WaContent::Document {
                    caption,
                    source: DocumentSource::Url {
                        url: self.document_url.clone(),
                        kind,
                        name: (!self.document_name.is_empty()).then(|| self.document_name.clone()),
                    },
                })
            }
            _ => Err("whatsapp.error.kind"),
        }
    }
}

/// An `http(s)://host…` link (the client checks it again before sending).
fn is_web_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !s.chars().any(char::is_whitespace)
    })
}

/// An account of the picker.
#[derive(Debug, Clone)]
pub struct AccountOpt {
    pub unique: String,
    pub phone: String,
    /// Translation key of the status.
    pub status_key: &'static str,
    pub connected: bool,
}

fn status_key(s: &WaAccountStatus) -> &'static str {
    match s {
        WaAccountStatus::Connected => "whatsapp.account.connected",
        WaAccountStatus::Connecting => "whatsapp.account.connecting",
        WaAccountStatus::Disconnecting => "whatsapp.account.disconnecting",
        WaAccountStatus::Disconnected => "whatsapp.account.disconnected",
        WaAccountStatus::Unknown => "whatsapp.account.unknown",
    }
}

/// The accounts, or a sentence saying why they could not be read (the page still renders).
async fn accounts(ui: &Ui) -> (Vec<AccountOpt>, Option<String>) {
    match ui
        .state
        .core
        .whatsapp_accounts_read()
        .await
        .map(|r| r.value)
    {
        Ok(list) => (
            list.iter()
                .map(|a: &WaAccount| AccountOpt {
                    unique: a.unique.clone(),
                    phone: a.phone.clone(),
                    status_key: status_key(&a.status),
                    connected: a.status == WaAccountStatus::Connected,
                })
                .collect(),
            None,
        ),
        Err(e) => {
            tracing::warn!(error = %e, "cannot list WhatsApp accounts");
            let reason = ui.tf(
                &crate::send::platform_error_key(&e),
                &[("detail", e.platform_message().unwrap_or(""))],
            );
            (
                Vec::new(),
                Some(ui.tf("whatsapp.accounts_unavailable", &[("reason", &reason)])),
            )
        }
    }
}

/// One line of a bulk report.
#[derive(Debug, Clone)]
pub struct BulkLine {
    pub recipient: String,
    /// `sent`, `pending`, `failed`, `unknown` or `skipped` (CSS class and status key).
    pub status: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "messaging/whatsapp_send.html")]
struct SendPage {
    page: PageCtx,
    form: WaForm,
    accounts: Vec<AccountOpt>,
    accounts_error: Option<String>,
    groups: Vec<Group>,
    error: Option<String>,
    /// Invalid numbers of a bulk list: (line, what was typed).
    invalid: Vec<(usize, String)>,
    report: Option<Vec<BulkLine>>,
    summary: Option<String>,
    /// A fresh one-time token for the next submission.
    nonce: String,
}

impl SendPage {
    fn invalid_line(&self, line: &usize, input: &str) -> String {
        self.page.tf(
            "whatsapp.bulk.invalid_line",
            &[("line", &line.to_string()), ("input", input)],
        )
    }
    fn account_label(&self, a: &AccountOpt) -> String {
        format!("{} — {}", a.phone, self.page.t(a.status_key))
    }
}

async fn page(
    ui: &Ui,
    form: WaForm,
    error: Option<String>,
    invalid: Vec<(usize, String)>,
    report: Option<(Vec<BulkLine>, String)>,
) -> Result<Response, AppError> {
    let (accounts, accounts_error) = accounts(ui).await;
    let (report, summary) = match report {
        Some((r, s)) => (Some(r), Some(s)),
        None => (None, None),
    };
    render(&SendPage {
        page: ui.page("whatsapp.send_title"),
        form,
        accounts,
        accounts_error,
        groups: ui.state.store.list_groups().await?,
        error,
        invalid,
        report,
        summary,
        nonce: ui.form_nonce().await?,
    })
}

fn unprocessable(mut r: Response) -> Response {
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    r
}

#[tracing::instrument(skip_all)]
async fn send_form(ui: Ui) -> Result<Response, AppError> {
    let form = WaForm {
        mode: "single".into(),
        kind: "text".into(),
        ..Default::default()
    };
    page(&ui, form, None, Vec::new(), None).await
}

/// Parses a bulk list (one number per line, or separated by `,` / `;`).
fn parse_numbers(text: &str, country: &str) -> (Vec<Phone>, Vec<(usize, String)>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        for part in line.split([',', ';']) {
            let p = part.trim();
            if p.is_empty() {
                continue;
            }
            match Phone::parse(p, country) {
                Ok(phone) => ok.push(phone),
                Err(_) => bad.push((i + 1, p.chars().take(40).collect())),
            }
        }
    }
    (ok, bad)
}

#[tracing::instrument(skip_all)]
async fn send(ui: Ui, RawForm(body): RawForm) -> Result<Response, AppError> {
    let form = WaForm::from_body(&body);
    let country = ui.state.settings.default_country.clone();
    let fail = |key: &str, form: WaForm, invalid: Vec<(usize, String)>| {
        let msg = ui.t(key);
        let ui = &ui;
        async move {
            page(ui, form, Some(msg), invalid, None)
                .await
                .map(unprocessable)
        }
    };
    if form.account.is_empty() {
        return fail("whatsapp.error.account_required", form, Vec::new()).await;
    }
    let content = match form.content() {
        Ok(c) => c,
        Err(key) => return fail(key, form, Vec::new()).await,
    };
    let channel = SendChannel::WhatsApp {
        account: form.account.clone(),
        content,
        priority: form.priority,
    };
    if !ui.use_nonce(&form.nonce).await? {
        tracing::info!("WhatsApp form submitted twice (or without its token): ignored");
        flash(&ui.session, "error", ui.t("sms.send.duplicate")).await?;
        return Ok(Redirect::to("/messaging/whatsapp/history").into_response());
    }

    if !form.is_bulk() {
        let Ok(phone) = Phone::parse(&form.phone, &country) else {
            let msg = ui.tf("whatsapp.error.invalid_phone", &[("phone", &form.phone)]);
            return page(&ui, form, Some(msg), Vec::new(), None)
                .await
                .map(unprocessable);
        };
        let req = SendRequest {
            channel,
            recipient: phone.clone(),
            text: form.message.clone(),
        };
        return match ui.state.core.submit(&ui.actor()?, req).await {
            Ok(outcome) => {
                let key = if outcome.status == MessageStatus::Sent {
                    "whatsapp.sent"
                } else {
                    "whatsapp.queued"
                };
                flash(
                    &ui.session,
                    "success",
                    ui.tf(key, &[("phone", phone.e164())]),
                )
                .await?;
                Ok(Redirect::to("/messaging/whatsapp/history").into_response())
            }
            Err(SendError::Forbidden) => Err(AppError::Forbidden),
            Err(SendError::Store(e)) => Err(e.into()),
            Err(e) => {
                let msg = crate::send::user_message(&e, &ui.state.i18n, ui.lang);
                page(&ui, form, Some(msg), Vec::new(), None)
                    .await
                    .map(unprocessable)
            }
        };
    }

    // bulk: numbers + members of the chosen local groups, de-duplicated, invalid ones listed
    let (mut phones, invalid) = parse_numbers(&form.numbers, &country);
    for g in &form.groups {
        let members = ui
            .state
            .store
            .list_contacts(
                &ContactFilter {
                    search: None,
                    group_id: Some(*g),
                    include_opted_out: false,
                },
                Page::first(MAX_BULK as i64 + 1),
            )
            .await?;
        for c in members {
            if let Ok(p) = Phone::parse(&c.phone, &country) {
                phones.push(p);
            }
        }
    }
    let mut seen = HashSet::new();
    phones.retain(|p| seen.insert(p.e164().to_owned()));
    if !invalid.is_empty() {
        return fail("whatsapp.error.invalid_numbers", form, invalid).await;
    }
    if phones.is_empty() {
        return fail("whatsapp.error.no_recipients", form, Vec::new()).await;
    }
    if phones.len() > MAX_BULK {
        return fail("whatsapp.error.too_many", form, Vec::new()).await;
    }
    let now = ui.state.clock.now_ms();
    let name = if form.campaign.is_empty() {
        format!("WhatsApp {}", crate::ui::format_ms(now))
    } else {
        form.campaign.clone()
    };
    let req = CampaignRequest {
        name,
        text: form.message.clone(),
        numbers: phones.clone(),
        groups: Vec::new(),
        columns: Default::default(),
        start_ms: None,
        channel,
    };
    match ui.state.core.submit_campaign(&ui.actor()?, req).await {
        Ok(out) => {
            let report: Vec<BulkLine> = phones
                .iter()
                .map(|p| BulkLine {
                    recipient: p.e164().to_owned(),
                    status: "queued".into(),
                    text: String::new(),
                })
                .collect();
            let summary = ui.tf(
                "whatsapp.bulk.summary",
                &[
                    ("total", &report.len().to_string()),
                    ("accepted", &out.recipients.to_string()),
                    ("failed", "0"),
                    ("skipped", "0"),
                ],
            );
            page(&ui, form, None, Vec::new(), Some((report, summary))).await
        }
        Err(SendError::Forbidden) => Err(AppError::Forbidden),
        Err(SendError::Store(e)) => Err(e.into()),
        Err(e) => {
            let msg = crate::send::user_message(&e, &ui.state.i18n, ui.lang);
            page(&ui, form, Some(msg), Vec::new(), None)
                .await
                .map(unprocessable)
        }
    }
}

// ----- history -----------------------------------------------------------------------------

/// History filters (all optional).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct HistoryFilters {
    pub phone: String,
    pub status: String,
    /// `YYYY-MM-DD` (UTC), inclusive.
    pub from: String,
    /// `YYYY-MM-DD` (UTC), inclusive.
    pub to: String,
    pub before: Option<i64>,
}

fn day_ms(d: &str) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

impl HistoryFilters {
    fn to_filter(&self, country: &str) -> Result<MessageFilter, &'static str> {
        let mut f = MessageFilter {
            channel: Some(Channel::Whatsapp),
            ..Default::default()
        };
        if !self.phone.trim().is_empty() {
            let p = Phone::parse(self.phone.trim(), country)
                .map_err(|_| "whatsapp.history.bad_phone")?;
            f.recipient = Some(p.e164().to_owned());
        }
        if !self.status.is_empty() {
            f.status = Some(
                self.status
                    .parse()
                    .map_err(|_| "whatsapp.history.bad_filter")?,
            );
        }
        if !self.from.trim().is_empty() {
            f.from_ms = Some(day_ms(&self.from).ok_or("whatsapp.history.bad_date")?);
        }
        if !self.to.trim().is_empty() {
            f.to_ms = Some(day_ms(&self.to).ok_or("whatsapp.history.bad_date")? + 86_400_000);
        }
        Ok(f)
    }

    fn query(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("phone", &self.phone)
            .append_pair("status", &self.status)
            .append_pair("from", &self.from)
            .append_pair("to", &self.to)
            .finish()
    }
}

/// A history row ready to show.
#[derive(Debug, Clone)]
pub struct HistoryRow {
    pub m: Message,
    /// Account unique id and content type, from the recorded route.
    pub account: String,
    pub kind: String,
    /// The platform's answer, or the console's diagnosis translated.
    pub note: Option<String>,
}

#[derive(Template)]
#[template(path = "messaging/whatsapp_history.html")]
struct HistoryPage {
    page: PageCtx,
    rows: Vec<HistoryRow>,
    next_before: Option<i64>,
    filters: HistoryFilters,
    query: String,
    statuses: Vec<&'static str>,
    error: Option<String>,
}

impl HistoryPage {
    fn status_selected(&self, s: &str) -> bool {
        self.filters.status == s
    }
}

#[tracing::instrument(skip_all)]
async fn history(ui: Ui, Query(q): Query<HistoryFilters>) -> Result<Response, AppError> {
    let (rows, next_before, error) = match q.to_filter(&ui.state.settings.default_country) {
        Ok(f) => {
            let page = match q.before {
                Some(b) => Page::before(b, HISTORY_PAGE),
                None => Page::first(HISTORY_PAGE),
            };
            let messages = ui.state.store.list_messages(&f, page).await?;
            let next = (messages.len() as i64 == HISTORY_PAGE)
                .then(|| messages.last().map(|m| m.id))
                .flatten();
            let rows = messages
                .into_iter()
                .map(|m| {
                    let v: serde_json::Value = serde_json::from_str(&m.route).unwrap_or_default();
                    let get = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned();
                    HistoryRow {
                        account: get("account"),
                        kind: get("type"),
                        note: m.platform_message.as_deref().map(|pm| {
                            crate::send::describe_stored_message(&ui.state.i18n, ui.lang, pm)
                        }),
                        m,
                    }
                })
                .collect();
            (rows, next, None)
        }
        Err(key) => (Vec::new(), None, Some(ui.t(key))),
    };
    let failed = error.is_some();
    let r = render(&HistoryPage {
        page: ui.page("whatsapp.history_title"),
        rows,
        next_before,
        query: q.query(),
        filters: q,
        statuses: MessageStatus::ALL.iter().map(|s| s.as_str()).collect(),
        error,
    })?;
    Ok(if failed { unprocessable(r) } else { r })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_urls_need_a_scheme_and_a_host() {
        assert!(is_web_url("https://example.com/a.jpg"));
        assert!(!is_web_url("example.com/a.jpg"));
        assert!(!is_web_url("https:///a.jpg"));
        assert!(!is_web_url("https://exa mple.com"));
    }

    #[test]
    fn a_document_needs_a_known_type_and_a_media_a_kind() {
        let mut f = WaForm {
            kind: "document".into(),
            message: "Facture".into(),
            document_url: "https://example.com/f.pdf".into(),
            document_type: "odt".into(),
            ..Default::default()
        };
        assert_eq!(f.content().unwrap_err(), "whatsapp.error.document_type");
        f.document_type = "pdf".into();
        assert!(matches!(f.content(), Ok(WaContent::Document { .. })));
        f.kind = "media".into();
        f.media_url = "https://example.com/a.mp4".into();
        assert_eq!(f.content().unwrap_err(), "whatsapp.error.media_kind");
    }

    #[test]
    fn bulk_numbers_report_invalid_ones_with_their_line() {
        let (ok, bad) = parse_numbers("621234567, 622000000\n\nnope\n+224628112233", "GN");
        assert_eq!(ok.len(), 3);
        assert_eq!(bad, vec![(3, "nope".to_owned())]);
    }
}
