//! `/admin/webhooks` — webhooks out: the endpoints (URL, subscribed events, state), creation
//! (the `whsec_` signing secret is shown once, on the answer), one endpoint's delivery log
//! (each delivery with its attempts and their answers) with a replay button, enabling,
//! disabling and deleting. Everything goes through core ([`messagepro_core::webhooks`]), which
//! checks and audits; this file parses and renders.

use askama::Template;
use axum::Router;
use axum::extract::RawForm;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use http::StatusCode;
use messagepro_core::webhooks::{EVENT_TYPES, WebhookError, WebhookInput, WebhookLog};
use messagepro_store::WebhookEndpoint;
use secrecy::ExposeSecret;

use crate::app::AppState;
use crate::error::AppError;
use crate::id::Id;
use crate::permissions::Permission;
use crate::routes::{Access, RouteRule};
use crate::ui::{PageCtx, Ui, flash, render};

const ADMIN: Access = Access::Perm(Permission::AdminUsers);

/// Deliveries shown on an endpoint's page.
const LOG_ROWS: i64 = 50;

pub const RULES: &[RouteRule] = &[
    RouteRule::get("/admin/webhooks", ADMIN),
    RouteRule::post("/admin/webhooks", ADMIN),
    RouteRule::get("/admin/webhooks/{id}", ADMIN),
    RouteRule::post("/admin/webhooks/{id}/enable", ADMIN),
    RouteRule::post("/admin/webhooks/{id}/disable", ADMIN),
    RouteRule::post("/admin/webhooks/{id}/delete", ADMIN),
    RouteRule::post("/admin/webhooks/deliveries/{id}/replay", ADMIN),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/webhooks", get(list).post(create))
        .route("/admin/webhooks/{id}", get(detail))
        .route("/admin/webhooks/{id}/enable", post(enable))
        .route("/admin/webhooks/{id}/disable", post(disable))
        .route("/admin/webhooks/{id}/delete", post(delete))
        .route("/admin/webhooks/deliveries/{id}/replay", post(replay))
}

#[derive(Template)]
#[template(path = "admin/webhooks.html")]
struct WebhooksPage {
    page: PageCtx,
    rows: Vec<WebhookEndpoint>,
    /// (event type, ticked).
    events: Vec<(&'static str, bool)>,
    url: String,
    description: String,
    error: Option<String>,
    /// The endpoint just created and its secret, shown once.
    created: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "admin/webhook.html")]
struct WebhookPage {
    page: PageCtx,
    log: WebhookLog,
}

/// The creation form (events are repeated checkboxes, so the raw form is read).
#[derive(Debug, Default)]
struct EndpointForm {
    url: String,
    description: String,
    events: Vec<String>,
}

async fn page(
    ui: &Ui,
    form: EndpointForm,
    error: Option<String>,
    created: Option<(String, String)>,
) -> Result<Response, AppError> {
    let rows = ui.state.core.webhook_endpoints().await.map_err(internal)?;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut r = render(&WebhooksPage {
        page: ui.page("admin.webhooks.title"),
        rows,
        events: EVENT_TYPES
            .iter()
            .map(|e| (*e, form.events.iter().any(|c| c == e)))
            .collect(),
        url: form.url,
        description: form.description,
        error,
        created,
    })?;
    *r.status_mut() = status;
    Ok(r)
}

fn internal(e: WebhookError) -> AppError {
    match e {
        WebhookError::Forbidden => AppError::Forbidden,
        WebhookError::NotFound => AppError::NotFound,
        e => AppError::Internal(e.into()),
    }
}

#[tracing::instrument(skip_all)]
async fn list(ui: Ui) -> Result<Response, AppError> {
    page(&ui, EndpointForm::default(), None, None).await
}

#[tracing::instrument(skip_all)]
async fn create(ui: Ui, RawForm(raw): RawForm) -> Result<Response, AppError> {
    let mut form = EndpointForm::default();
    for (k, v) in form_urlencoded::parse(&raw) {
        match k.as_ref() {
            "url" => form.url = v.into_owned(),
            "description" => form.description = v.into_owned(),
            "event" => form.events.push(v.into_owned()),
            _ => {}
        }
    }
    let input = WebhookInput {
        url: form.url.clone(),
        description: form.description.clone(),
        events: form.events.clone(),
    };
    match ui.state.core.webhook_create(&ui.actor()?, &input).await {
        Ok((_, secret)) => {
            let shown = (
                form.url.trim().to_owned(),
                secret.expose_secret().to_owned(),
            );
            page(&ui, EndpointForm::default(), None, Some(shown)).await
        }
        Err(WebhookError::Invalid(code)) => {
            let msg = ui.t(&format!("admin.webhooks.error.{code}"));
            page(&ui, form, Some(msg), None).await
        }
        Err(e) => Err(internal(e)),
    }
}

#[tracing::instrument(skip_all, fields(webhook = id))]
async fn detail(ui: Ui, Id(id): Id) -> Result<Response, AppError> {
    let log = ui
        .state
        .core
        .webhook_log(id, LOG_ROWS)
        .await
        .map_err(internal)?;
    render(&WebhookPage {
        page: ui.page("admin.webhooks.title"),
        log,
    })
}

async fn set_enabled(ui: Ui, id: i64, enabled: bool) -> Result<Response, AppError> {
    let done = ui
        .state
        .core
        .webhook_set_enabled(&ui.actor()?, id, enabled)
        .await
        .map_err(internal)?;
    if done {
        let key = if enabled {
            "admin.webhooks.enabled_done"
        } else {
            "admin.webhooks.disabled_done"
        };
        flash(&ui.session, "success", ui.t(key)).await?;
    }
    Ok(Redirect::to(&format!("/admin/webhooks/{id}")).into_response())
}

#[tracing::instrument(skip_all, fields(webhook = id))]
async fn enable(ui: Ui, Id(id): Id) -> Result<Response, AppError> {
    set_enabled(ui, id, true).await
}

#[tracing::instrument(skip_all, fields(webhook = id))]
async fn disable(ui: Ui, Id(id): Id) -> Result<Response, AppError> {
    set_enabled(ui, id, false).await
}

#[tracing::instrument(skip_all, fields(webhook = id))]
async fn delete(ui: Ui, Id(id): Id) -> Result<Response, AppError> {
    ui.state
        .core
        .webhook_delete(&ui.actor()?, id)
        .await
        .map_err(internal)?;
    flash(&ui.session, "success", ui.t("admin.webhooks.deleted")).await?;
    Ok(Redirect::to("/admin/webhooks").into_response())
}

#[tracing::instrument(skip_all, fields(delivery = id))]
async fn replay(ui: Ui, Id(id): Id) -> Result<Response, AppError> {
    let (done, endpoint) = ui
        .state
        .core
        .webhook_replay(&ui.actor()?, id)
        .await
        .map_err(internal)?;
    let (kind, key) = if done {
        ("success", "admin.webhooks.replayed")
    } else {
        ("error", "admin.webhooks.not_finished")
    };
    flash(&ui.session, kind, ui.t(key)).await?;
    Ok(Redirect::to(&format!("/admin/webhooks/{endpoint}")).into_response())
}
