//! Logging in and out, choosing the language, the home redirect and the health check.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use http::StatusCode;
use messagepro_store::Outcome;
use secrecy::SecretString;
use serde::Deserialize;

use super::{Access, RouteRule};
use crate::app::AppState;
use crate::csrf;
use crate::error::AppError;
use crate::guard::{AUTH_AT, CurrentUser, SEEN_AT, UID, USER_AGENT};
use crate::i18n::Lang;
use crate::login::{self, LoginOutcome};
use crate::redirect::safe_next;
use crate::ui::{LANG_COOKIE, LANG_KEY, PageCtx, Ui, render};

pub const RULES: &[RouteRule] = &[
    RouteRule::get("/healthz", Access::Public),
    RouteRule::get("/login", Access::Public),
    RouteRule::post("/login", Access::Public),
    RouteRule::post("/logout", Access::Authenticated),
    RouteRule::post("/language", Access::Public),
    RouteRule::get("/", Access::Authenticated),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/language", post(language))
        .route("/", get(home))
}

/// Liveness and database check.
#[tracing::instrument(skip_all)]
async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.count_users().await {
        Ok(_) => Json(serde_json::json!({"status": "ok", "database": state.store.backend_name()}))
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"status": "unavailable"})),
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    page: PageCtx,
    next: String,
    username: String,
    error: Option<String>,
    /// « Votre session a expiré » after an expired session sent the user here.
    notice: Option<String>,
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    next: Option<String>,
    /// Set by the guard when the request still carried a session cookie.
    expired: Option<String>,
}

#[tracing::instrument(skip_all)]
async fn login_form(ui: Ui, Query(q): Query<NextQuery>) -> Result<Response, AppError> {
    if ui.user.is_some() {
        return Ok(
            Redirect::to(&safe_next(q.next.as_deref()).unwrap_or_else(|| "/".into()))
                .into_response(),
        );
    }
    render(&LoginPage {
        page: ui.page("login.title"),
        next: safe_next(q.next.as_deref()).unwrap_or_default(),
        username: String::new(),
        error: None,
        notice: q.expired.is_some().then(|| ui.t("login.expired")),
    })
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    next: String,
}

#[tracing::instrument(skip_all)]
async fn login(
    ui: Ui,
    ClientIp(ip): ClientIp,
    headers: http::HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let state = ui.state.clone();
    let outcome = login::attempt(
        &state,
        &form.username,
        SecretString::from(form.password),
        &ip,
    )
    .await?;
    let (status, error) = match outcome {
        LoginOutcome::Success(user) => {
            let s = &ui.session;
            s.cycle_id().await?;
            let now = state.clock.now_ms();
            s.insert(UID, user.id).await?;
            s.insert(AUTH_AT, now).await?;
            s.insert(SEEN_AT, now).await?;
            if let Some(ua) = crate::sessions::user_agent(&headers) {
                s.insert(USER_AGENT, ua).await?;
            }
            csrf::rotate(s).await?;
            let to = safe_next(Some(&form.next)).unwrap_or_else(|| "/".into());
            return Ok(Redirect::to(&to).into_response());
        }
        LoginOutcome::Invalid => (StatusCode::UNAUTHORIZED, ui.t("login.invalid")),
        LoginOutcome::Locked { minutes } => (
            StatusCode::TOO_MANY_REQUESTS,
            ui.tf("login.locked", &[("minutes", &minutes.to_string())]),
        ),
        LoginOutcome::Busy => (StatusCode::SERVICE_UNAVAILABLE, ui.t("login.busy")),
    };
    let mut resp = render(&LoginPage {
        page: ui.page("login.title"),
        next: safe_next(Some(&form.next)).unwrap_or_default(),
        username: form.username.chars().take(64).collect(),
        error: Some(error),
        notice: None,
    })?;
    *resp.status_mut() = status;
    if status == StatusCode::SERVICE_UNAVAILABLE {
        resp.headers_mut().insert(
            http::header::RETRY_AFTER,
            http::HeaderValue::from_static("1"),
        );
    }
    Ok(resp)
}

/// The client's IP (see [`crate::guard::client_ip`]), or `unknown` when the server was started
/// without connection info (then all clients share one per-IP throttle — the per-username
/// throttle still applies).
pub struct ClientIp(pub String);

impl axum::extract::FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            crate::guard::client_ip(parts, state.settings.trust_forwarded_for)
                .unwrap_or_else(|| "unknown".to_owned()),
        ))
    }
}

#[derive(Deserialize, Default)]
struct LogoutForm {
    #[serde(default)]
    next: String,
}

/// Ends the session, then goes to the login page (with a `next` to come back to, when one was
/// given and is local).
#[tracing::instrument(skip_all)]
async fn logout(
    ui: Ui,
    user: CurrentUser,
    form: Result<Form<LogoutForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, AppError> {
    let next = form.ok().and_then(|Form(f)| safe_next(Some(&f.next)));
    login::audit(
        &ui.state,
        Some((user.id, &user.username)),
        "auth.logout",
        None,
        ui.ip.clone(),
        Outcome::Success,
        None,
    )
    .await;
    ui.session.flush().await?;
    let to = match next {
        Some(n) => {
            let q: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("next", &n)
                .finish();
            format!("/login?{q}")
        }
        None => "/login".to_owned(),
    };
    Ok(Redirect::to(&to).into_response())
}

#[derive(Deserialize)]
struct LanguageForm {
    lang: String,
    #[serde(default)]
    next: String,
}

/// Sets the language: stored on the user (and the session) when logged in, else in a cookie
/// (an anonymous visitor gets no session row).
#[tracing::instrument(skip_all)]
async fn language(ui: Ui, Form(form): Form<LanguageForm>) -> Result<Response, AppError> {
    let lang = Lang::parse(&form.lang).ok_or(AppError::BadRequest)?;
    if let Some(u) = &ui.user {
        ui.session.insert(LANG_KEY, lang.code()).await?;
        ui.state
            .store
            .set_user_language(u.id, Some(lang.code()), ui.state.clock.now_ms())
            .await?;
    }
    let to = safe_next(Some(&form.next)).unwrap_or_else(|| "/".into());
    let mut resp = Redirect::to(&to).into_response();
    set_language_cookie(&ui.state, &mut resp, lang);
    Ok(resp)
}

/// Adds the cookie remembering `lang` (for the login page after logout) to `resp`.
pub(crate) fn set_language_cookie(state: &AppState, resp: &mut Response, lang: Lang) {
    let secure = if state.settings.cookie_secure {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax{secure}",
        lang.code()
    );
    if let Ok(v) = http::HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(http::header::SET_COOKIE, v);
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    page: PageCtx,
}

/// `/`: the first page of the navigation the user may open (or a page saying there is none).
#[tracing::instrument(skip_all)]
async fn home(ui: Ui) -> Result<Response, AppError> {
    let page = ui.page("home.title");
    if let Some(first) = page.nav.first() {
        return Ok(Redirect::to(first.href).into_response());
    }
    render(&HomePage { page })
}
