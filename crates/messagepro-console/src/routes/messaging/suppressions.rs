//! `/messaging/suppressions` — the suppression list: every number that must not receive SMS or
//! WhatsApp messages, with who put it there, when and why (marked here or on the contacts page,
//! the platform's unsubscribed list, a STOP texted back). Add and remove go through core
//! ([`messagepro_core::Core::opt_out`] / `opt_in`), which keeps the list, the contact's mark,
//! the platform's list and the audit entry together; this file parses and renders.

use askama::Template;
use axum::extract::Query;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use http::StatusCode;
use messagepro::Phone;
use messagepro_store::Suppression;
use serde::Deserialize;

use crate::app::AppState;
use crate::error::AppError;
use crate::permissions::Permission;
use crate::routes::{Access, RouteRule};
use crate::ui::{PageCtx, Ui, flash, render};

const READ: Access = Access::Perm(Permission::MessagingRead);
const MANAGE: Access = Access::Perm(Permission::ManageContacts);
const PAGE_SIZE: i64 = 50;

pub const RULES: &[RouteRule] = &[
    RouteRule::get("/messaging/suppressions", READ),
    RouteRule::post("/messaging/suppressions", MANAGE),
    RouteRule::post("/messaging/suppressions/remove", MANAGE),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/messaging/suppressions", get(list).post(add))
        .route("/messaging/suppressions/remove", post(remove))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    q: String,
    page: i64,
}

#[derive(Template)]
#[template(path = "messaging/suppressions.html")]
struct ListPage {
    page: PageCtx,
    rows: Vec<Suppression>,
    total: i64,
    q: String,
    phone: String,
    reason: String,
    error: Option<String>,
    can_manage: bool,
    prev: Option<String>,
    next: Option<String>,
}

fn link(q: &str, page: i64) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    if !q.is_empty() {
        s.append_pair("q", q);
    }
    s.append_pair("page", &page.to_string());
    format!("/messaging/suppressions?{}", s.finish())
}

async fn page(
    ui: &Ui,
    q: ListQuery,
    form: AddForm,
    error: Option<String>,
) -> Result<Response, AppError> {
    let search: String = q.q.trim().chars().take(32).collect();
    // the list stores E.164: "621 00 01" finds +224621…
    let digits: String = search.chars().filter(char::is_ascii_digit).collect();
    let needle = (!digits.is_empty()).then_some(digits.as_str());
    let number = q.page.max(0);
    let store = &ui.state.store;
    let total = store.count_suppressions(needle).await?;
    let rows = store
        .list_suppressions(needle, PAGE_SIZE, number * PAGE_SIZE)
        .await?;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut r = render(&ListPage {
        page: ui.page("suppressions.title"),
        can_manage: ui.user()?.can(Permission::ManageContacts),
        prev: (number > 0).then(|| link(&search, number - 1)),
        next: ((number + 1) * PAGE_SIZE < total).then(|| link(&search, number + 1)),
        rows,
        total,
        q: search,
        phone: form.phone,
        reason: form.reason,
        error,
    })?;
    *r.status_mut() = status;
    Ok(r)
}

#[tracing::instrument(skip_all)]
async fn list(ui: Ui, Query(q): Query<ListQuery>) -> Result<Response, AppError> {
    page(&ui, q, AddForm::default(), None).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AddForm {
    phone: String,
    reason: String,
}

#[tracing::instrument(skip_all)]
async fn add(ui: Ui, Form(form): Form<AddForm>) -> Result<Response, AppError> {
    let Ok(phone) = Phone::parse(&form.phone, &ui.state.settings.default_country) else {
        let e = ui.t("suppressions.invalid_phone");
        return page(&ui, ListQuery::default(), form, Some(e)).await;
    };
    let reason: String = form.reason.trim().chars().take(200).collect();
    let added = ui
        .state
        .core
        .opt_out(
            &ui.actor()?,
            &phone,
            (!reason.is_empty()).then_some(reason.as_str()),
        )
        .await?;
    let key = if added {
        "suppressions.added"
    } else {
        "suppressions.already"
    };
    flash(
        &ui.session,
        "success",
        ui.tf(key, &[("phone", phone.e164())]),
    )
    .await?;
    Ok(Redirect::to("/messaging/suppressions").into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RemoveForm {
    phone: String,
}

#[tracing::instrument(skip_all)]
async fn remove(ui: Ui, Form(form): Form<RemoveForm>) -> Result<Response, AppError> {
    let phone = Phone::parse_international(form.phone.trim()).map_err(|_| AppError::BadRequest)?;
    let removed = ui.state.core.opt_in(&ui.actor()?, &phone).await?;
    let (kind, key) = if removed {
        ("success", "suppressions.removed")
    } else {
        ("error", "suppressions.not_listed")
    };
    flash(&ui.session, kind, ui.tf(key, &[("phone", phone.e164())])).await?;
    Ok(Redirect::to("/messaging/suppressions").into_response())
}
