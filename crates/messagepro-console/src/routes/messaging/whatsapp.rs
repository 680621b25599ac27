//! `/messaging/whatsapp/...` — WhatsApp send (placeholder until the sending issue) and history.

use askama::Template;
use axum::Router;
use axum::extract::Query;
use axum::response::Response;
use axum::routing::get;
use messagepro_store::{Channel, Message};

use super::sms::{HistoryQuery, history_page};
use crate::app::AppState;
use crate::error::AppError;
use crate::permissions::Permission;
use crate::routes::{Access, RouteRule};
use crate::ui::{PageCtx, Ui, render};

pub const RULES: &[RouteRule] = &[
    RouteRule::get(
        "/messaging/whatsapp/send",
        Access::Perm(Permission::SendWhatsapp),
    ),
    RouteRule::get(
        "/messaging/whatsapp/history",
        Access::Perm(Permission::MessagingRead),
    ),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/messaging/whatsapp/send", get(send))
        .route("/messaging/whatsapp/history", get(history))
}

#[derive(Template)]
#[template(path = "messaging/whatsapp_send.html")]
struct SendPage {
    page: PageCtx,
}

#[derive(Template)]
#[template(path = "messaging/whatsapp_history.html")]
struct HistoryPage {
    page: PageCtx,
    messages: Vec<Message>,
    next_before: Option<i64>,
}

#[tracing::instrument(skip_all)]
async fn send(ui: Ui) -> Result<Response, AppError> {
    render(&SendPage {
        page: ui.page("messaging.whatsapp.send_title"),
    })
}

#[tracing::instrument(skip_all)]
async fn history(ui: Ui, Query(q): Query<HistoryQuery>) -> Result<Response, AppError> {
    let (messages, next_before) = history_page(&ui, Channel::Whatsapp, q.before).await?;
    render(&HistoryPage {
        page: ui.page("messaging.whatsapp.history_title"),
        messages,
        next_before,
    })
}
