//! `/messaging/inbox` — the SMS and WhatsApp messages customers sent, as the platform's webhook
//! posted them (`POST /webhooks/messagepro`, [`crate::api`]): newest first, filtered by channel
//! (`?kind=sms|whatsapp`), paged by `?before=<id>`, each with what was done with it (a STOP put
//! the sender on the suppression list, a START took them off, any other text is kept). The rows
//! come from core ([`messagepro_core::Core::inbox`]); this file parses and renders.

use askama::Template;
use axum::Router;
use axum::extract::Query;
use axum::response::Response;
use axum::routing::get;
use http::HeaderMap;
use http::header::HOST;
use messagepro_core::intake::{INBOX_KINDS, InboxEntry, InboxOutcome};
use serde::Deserialize;

use crate::app::AppState;
use crate::error::AppError;
use crate::permissions::Permission;
use crate::routes::{Access, RouteRule};
use crate::ui::{PageCtx, Ui, render};

/// The same permission as the SMS and WhatsApp histories: reading what went through the console.
const READ: Access = Access::Perm(Permission::MessagingRead);
/// Rows per page.
const PAGE_SIZE: i64 = 50;

pub const RULES: &[RouteRule] = &[RouteRule::get("/messaging/inbox", READ)];

pub fn router() -> Router<AppState> {
    Router::new().route("/messaging/inbox", get(inbox))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct InboxQuery {
    /// `sms`, `whatsapp`, or empty for both.
    kind: String,
    before: Option<i64>,
}

/// A received message ready to show.
struct Row {
    entry: InboxEntry,
    /// The text cut where a line may break inside a long word (a link, a reference): the
    /// template joins the parts with `<wbr>`, so a narrow screen wraps instead of scrolling.
    text: Vec<String>,
}

/// Longest run of non-space characters before a break opportunity.
const RUN: usize = 16;

/// `text` in parts, cut inside long words only: after `/ ? & = . _ -` once 8 characters of the
/// word have passed, or every [`RUN`] characters.
fn breakable(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut run = 0;
    for c in text.chars() {
        cur.push(c);
        if c.is_whitespace() {
            run = 0;
            continue;
        }
        run += 1;
        if run >= RUN || (run >= 8 && "/?&=._-".contains(c)) {
            parts.push(std::mem::take(&mut cur));
            run = 0;
        }
    }
    if !cur.is_empty() || parts.is_empty() {
        parts.push(cur);
    }
    parts.retain(|p| !p.is_empty());
    parts
}

/// A filter link above the table.
struct Filter {
    href: &'static str,
    label: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "messaging/inbox.html")]
struct InboxPage {
    page: PageCtx,
    rows: Vec<Row>,
    filters: Vec<Filter>,
    /// The channel shown (empty: both).
    kind: String,
    /// A later page (`?before=`): its empty state is "no older message".
    paged: bool,
    /// Link to the next (older) page.
    older: Option<String>,
    /// Where the platform must post, for the empty state.
    webhook_url: String,
    /// No webhook secret is configured: every post is refused.
    no_secret: bool,
}

/// `https://<host>/webhooks/messagepro` (`http` when the console runs without secure cookies).
fn webhook_url(headers: &HeaderMap, secure: bool) -> String {
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("<console>");
    let scheme = if secure { "https" } else { "http" };
    format!("{scheme}://{host}/webhooks/messagepro")
}

#[tracing::instrument(skip_all)]
async fn inbox(
    ui: Ui,
    headers: HeaderMap,
    Query(q): Query<InboxQuery>,
) -> Result<Response, AppError> {
    let kind = q.kind.trim();
    if !kind.is_empty() && !INBOX_KINDS.contains(&kind) {
        return Err(AppError::BadRequest);
    }
    let rows = ui
        .state
        .core
        .inbox((!kind.is_empty()).then_some(kind), q.before, PAGE_SIZE)
        .await?;
    let older = (rows.len() as i64 == PAGE_SIZE)
        .then(|| rows.last().map(|r| r.id))
        .flatten()
        .map(|id| {
            let mut s = form_urlencoded::Serializer::new(String::new());
            if !kind.is_empty() {
                s.append_pair("kind", kind);
            }
            s.append_pair("before", &id.to_string());
            format!("/messaging/inbox?{}", s.finish())
        });
    let filters = [
        ("/messaging/inbox", "", "messaging.inbox.filter_all"),
        (
            "/messaging/inbox?kind=sms",
            "sms",
            "messaging.inbox.kind_sms",
        ),
        (
            "/messaging/inbox?kind=whatsapp",
            "whatsapp",
            "messaging.inbox.kind_whatsapp",
        ),
    ]
    .into_iter()
    .map(|(href, k, key)| Filter {
        href,
        label: ui.t(key),
        current: k == kind,
    })
    .collect();
    let settings = &ui.state.settings;
    render(&InboxPage {
        page: ui.page("messaging.inbox.title"),
        rows: rows
            .into_iter()
            .map(|entry| Row {
                text: breakable(&entry.text),
                entry,
            })
            .collect(),
        filters,
        kind: kind.to_owned(),
        paged: q.before.is_some(),
        older,
        webhook_url: webhook_url(&headers, settings.cookie_secure),
        no_secret: settings.webhook_secret.is_none(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_words_get_break_points_and_short_text_stays_whole() {
        assert_eq!(breakable("Bonjour, à demain"), vec!["Bonjour, à demain"]);
        assert!(breakable("").is_empty());
        let url = "https://exemple.gn/produits/chaussures/modele-bleu-42";
        let parts = breakable(url);
        assert_eq!(parts.concat(), url, "nothing lost or added");
        assert!(parts.len() > 2, "{parts:?}");
        assert!(parts.iter().all(|p| p.chars().count() <= RUN), "{parts:?}");
    }

    #[test]
    fn the_webhook_url_uses_the_host_and_the_scheme() {
        let mut h = HeaderMap::new();
        h.insert(HOST, "console.example.gn".parse().unwrap());
        assert_eq!(
            webhook_url(&h, true),
            "https://console.example.gn/webhooks/messagepro"
        );
        assert_eq!(
            webhook_url(&HeaderMap::new(), false),
            "http://<console>/webhooks/messagepro"
        );
    }
}
