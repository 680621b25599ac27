//! `/admin/tokens` — integration API tokens: the list (name, prefix, scopes, rate, last use,
//! state), creation (the token is shown once on the next page, only its hash is kept) and
//! revocation. Creating and revoking go through core ([`messagepro_core::Core::token_create`],
//! `token_revoke`), which audits them; this file parses and renders.

use askama::Template;
use axum::Router;
use axum::extract::RawForm;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use http::StatusCode;
use messagepro_core::tokens::{SCOPES, TokenError};
use messagepro_store::ApiToken;
use secrecy::ExposeSecret;

use crate::app::AppState;
use crate::error::AppError;
use crate::id::Id;
use crate::permissions::Permission;
use crate::routes::{Access, RouteRule};
use crate::ui::{PageCtx, Ui, flash, render};

const ADMIN: Access = Access::Perm(Permission::AdminUsers);

pub const RULES: &[RouteRule] = &[
    RouteRule::get("/admin/tokens", ADMIN),
    RouteRule::post("/admin/tokens", ADMIN),
    RouteRule::post("/admin/tokens/{id}/revoke", ADMIN),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/tokens", get(list).post(create))
        .route("/admin/tokens/{id}/revoke", post(revoke))
}

#[derive(Template)]
#[template(path = "admin/tokens.html")]
struct TokensPage {
    page: PageCtx,
    rows: Vec<ApiToken>,
    /// (scope, ticked, translation key of its description).
    scopes: Vec<(&'static str, bool, String)>,
    name: String,
    rate: String,
    error: Option<String>,
    /// The token just created, shown once.
    created: Option<(String, String)>,
    /// The form's one-time token: a reload of the answer (the browser posting the form again)
    /// creates no second API token.
    nonce: String,
}

async fn page(
    ui: &Ui,
    form: TokenForm,
    error: Option<String>,
    created: Option<(String, String)>,
) -> Result<Response, AppError> {
    let rows = ui.state.store.tokens().await?;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut r = render(&TokensPage {
        page: ui.page("admin.tokens.title"),
        rows,
        scopes: SCOPES
            .iter()
            .map(|s| {
                let on = form.scopes.iter().any(|c| c == s);
                (
                    *s,
                    on,
                    format!("admin.tokens.scope.{}", s.replace(':', "_")),
                )
            })
            .collect(),
        name: form.name,
        rate: form.rate,
        error,
        created,
        nonce: ui.form_nonce().await?,
    })?;
    *r.status_mut() = status;
    Ok(r)
}

#[tracing::instrument(skip_all)]
async fn list(ui: Ui) -> Result<Response, AppError> {
    let form = TokenForm {
        rate: messagepro_core::tokens::DEFAULT_RATE_PER_MINUTE.to_string(),
        ..Default::default()
    };
    page(&ui, form, None, None).await
}

/// The creation form (scopes are repeated checkboxes, so the raw form is read).
#[derive(Debug, Default)]
struct TokenForm {
    name: String,
    scopes: Vec<String>,
    rate: String,
    nonce: String,
}

#[tracing::instrument(skip_all)]
async fn create(ui: Ui, RawForm(raw): RawForm) -> Result<Response, AppError> {
    let mut form = TokenForm::default();
    for (k, v) in form_urlencoded::parse(&raw) {
        match k.as_ref() {
            "name" => form.name = v.into_owned(),
            "scope" => form.scopes.push(v.into_owned()),
            "rate" => form.rate = v.into_owned(),
            "nonce" => form.nonce = v.into_owned(),
            _ => {}
        }
    }
    let rate = match form.rate.trim() {
        "" => None,
        r => match r.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                let e = ui.t("admin.tokens.error.token.invalid_rate");
                return page(&ui, form, Some(e), None).await;
            }
        },
    };
    if !ui.use_nonce(&form.nonce).await? {
        tracing::info!("token form submitted twice (or without its token): ignored");
        flash(&ui.session, "error", ui.t("admin.tokens.duplicate")).await?;
        return Ok(Redirect::to("/admin/tokens").into_response());
    }
    match ui
        .state
        .core
        .token_create(&ui.actor()?, &form.name, &form.scopes, rate)
        .await
    {
        Ok(t) => {
            let shown = (t.token.name.clone(), t.secret.expose_secret().to_owned());
            let fresh = TokenForm {
                rate: messagepro_core::tokens::DEFAULT_RATE_PER_MINUTE.to_string(),
                ..Default::default()
            };
            page(&ui, fresh, None, Some(shown)).await
        }
        Err(TokenError::Forbidden) => Err(AppError::Forbidden),
        Err(TokenError::Store(e)) => Err(AppError::Internal(e.into())),
        Err(e) => {
            let msg = ui.t(&format!("admin.tokens.error.{}", e.code()));
            page(&ui, form, Some(msg), None).await
        }
    }
}

#[tracing::instrument(skip_all, fields(token_id = id))]
async fn revoke(ui: Ui, Id(id): Id) -> Result<Response, AppError> {
    let done = match ui.state.core.token_revoke(&ui.actor()?, id).await {
        Ok(d) => d,
        Err(TokenError::Forbidden) => return Err(AppError::Forbidden),
        Err(e) => return Err(AppError::Internal(e.into())),
    };
    let (kind, key) = if done {
        ("success", "admin.tokens.revoked")
    } else {
        ("error", "admin.tokens.not_active")
    };
    flash(&ui.session, kind, ui.t(key)).await?;
    Ok(Redirect::to("/admin/tokens").into_response())
}
