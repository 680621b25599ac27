//! `/admin/events` — the rules that turn a business event of the integration API
//! (`POST /api/v1/events`) into a message: event type, channel, template over the event's data
//! (`{{order.reference}}`), recipient (a phone path in the data, or a platform group by name),
//! optional route, an optional fallback (channel and route, tried once if the message fails),
//! on/off. Saving and deleting go through core
//! ([`messagepro_core::Core::event_rule_save`], which checks the template and audits); this
//! file parses and renders.

use askama::Template;
use axum::extract::Query;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use http::StatusCode;
use messagepro_core::events::{RuleError, RuleInput};
use messagepro_core::template::TemplateError;
use messagepro_store::EventRule;
use serde::Deserialize;

use crate::app::AppState;
use crate::error::AppError;
use crate::permissions::Permission;
use crate::routes::{Access, RouteRule};
use crate::ui::{PageCtx, Ui, flash, render};

const ADMIN: Access = Access::Perm(Permission::AdminUsers);

pub const RULES: &[RouteRule] = &[
    RouteRule::get("/admin/events", ADMIN),
    RouteRule::post("/admin/events", ADMIN),
    RouteRule::post("/admin/events/delete", ADMIN),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/events", get(list).post(save))
        .route("/admin/events/delete", post(delete))
}

#[derive(Template)]
#[template(path = "admin/events.html")]
struct EventsPage {
    page: PageCtx,
    rows: Vec<EventRule>,
    form: RuleForm,
    error: Option<String>,
}

/// The rule form (also what `?edit=<type>` fills in).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct RuleForm {
    kind: String,
    channel: String,
    template: String,
    recipient_path: String,
    recipient_group: String,
    route: String,
    fallback_channel: String,
    fallback_route: String,
    enabled: Option<String>,
}

async fn page(ui: &Ui, form: RuleForm, error: Option<String>) -> Result<Response, AppError> {
    let rows = ui.state.store.event_rules().await?;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut r = render(&EventsPage {
        page: ui.page("admin.events.title"),
        rows,
        form,
        error,
    })?;
    *r.status_mut() = status;
    Ok(r)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    edit: String,
}

#[tracing::instrument(skip_all)]
async fn list(ui: Ui, Query(q): Query<ListQuery>) -> Result<Response, AppError> {
    let form = match ui.state.store.event_rule(q.edit.trim()).await? {
        Some(r) => RuleForm {
            kind: r.kind,
            channel: r.channel,
            template: r.template,
            recipient_path: r.recipient_path.unwrap_or_default(),
            recipient_group: r.recipient_group.unwrap_or_default(),
            route: r.route.unwrap_or_default(),
            fallback_channel: r.fallback_channel.unwrap_or_default(),
            fallback_route: r.fallback_route.unwrap_or_default(),
            enabled: r.enabled.then(|| "on".to_owned()),
        },
        None => RuleForm {
            channel: "sms".into(),
            enabled: Some("on".into()),
            ..Default::default()
        },
    };
    page(&ui, form, None).await
}

#[tracing::instrument(skip_all)]
async fn save(ui: Ui, Form(form): Form<RuleForm>) -> Result<Response, AppError> {
    let input = RuleInput {
        kind: form.kind.clone(),
        channel: form.channel.clone(),
        template: form.template.clone(),
        recipient_path: form.recipient_path.clone(),
        recipient_group: form.recipient_group.clone(),
        route: form.route.clone(),
        fallback_channel: form.fallback_channel.clone(),
        fallback_route: form.fallback_route.clone(),
        enabled: form.enabled.is_some(),
    };
    match ui.state.core.event_rule_save(&ui.actor()?, &input).await {
        Ok(()) => {
            flash(
                &ui.session,
                "success",
                ui.tf("admin.events.saved", &[("type", form.kind.trim())]),
            )
            .await?;
            Ok(Redirect::to("/admin/events").into_response())
        }
        Err(RuleError::Forbidden) => Err(AppError::Forbidden),
        Err(RuleError::Store(e)) => Err(AppError::Internal(e.into())),
        Err(e) => {
            let detail = match &e {
                RuleError::Template(TemplateError::UnknownVariable(v))
                | RuleError::Template(TemplateError::Missing { variable: v }) => {
                    format!("{{{{{v}}}}}")
                }
                _ => String::new(),
            };
            let key = format!("admin.events.error.{}", e.code());
            page(&ui, form, Some(ui.tf(&key, &[("detail", &detail)]))).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DeleteForm {
    kind: String,
}

#[tracing::instrument(skip_all)]
async fn delete(ui: Ui, Form(form): Form<DeleteForm>) -> Result<Response, AppError> {
    let done = match ui
        .state
        .core
        .event_rule_delete(&ui.actor()?, form.kind.trim())
        .await
    {
        Ok(d) => d,
        Err(RuleError::Forbidden) => return Err(AppError::Forbidden),
        Err(e) => return Err(AppError::Internal(e.into())),
    };
    let (kind, key) = if done {
        ("success", "admin.events.deleted")
    } else {
        ("error", "admin.events.missing")
    };
    flash(&ui.session, kind, ui.t(key)).await?;
    Ok(Redirect::to("/admin/events").into_response())
}
