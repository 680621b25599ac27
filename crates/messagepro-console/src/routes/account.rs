//! `/account` — « Mon compte »: every logged-in user, whatever their role, changes their own
//! password, their language and ends their own sessions. No permission beyond being logged in.
//!
//! * **Password**: the current one is re-checked through the login's throttle
//!   ([`crate::login::confirm_password`]: same keys, locks and verification gate), the new one
//!   must meet [`password::acceptable`] and is hashed by [`password::hash_async`] (the admin's
//!   path). On success every other session of the user ends and this one gets a new id.
//! * **Language**: saved on the user, applied from the next page on.
//! * **Sessions**: the user's live sessions (signed in, last seen, browser from the
//!   User-Agent). A row is named by a [`session_handle`] — a hash prefix of its id, which is
//!   never sent to the browser — that a POST maps back among **this user's** sessions only.
//!
//! Every change is audited (`account.*`).

use askama::Template;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use http::StatusCode;
use messagepro_store::{Outcome, UserSession};
use secrecy::SecretString;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::auth::ClientIp;
use super::{Access, RouteRule};
use crate::app::AppState;
use crate::error::AppError;
use crate::guard::CurrentUser;
use crate::i18n::Lang;
use crate::login::{self, LoginOutcome, audit};
use crate::password;
use crate::ui::{LANG_KEY, PageCtx, Ui, flash, render};

pub const RULES: &[RouteRule] = &[
    RouteRule::get("/account", Access::Authenticated),
    RouteRule::post("/account/password", Access::Authenticated),
    RouteRule::post("/account/language", Access::Authenticated),
    RouteRule::post("/account/sessions/end", Access::Authenticated),
    RouteRule::post("/account/sessions/end-others", Access::Authenticated),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account", get(account))
        .route("/account/password", post(change_password))
        .route("/account/language", post(set_language))
        .route("/account/sessions/end", post(end_session))
        .route("/account/sessions/end-others", post(end_other_sessions))
}

/// The name of a session on the page and in forms: the first 16 hex digits of
/// SHA-256(domain ‖ id). It cannot be turned back into the id (which is a bearer secret), and
/// it means something only among the sessions of the user who posts it.
pub fn session_handle(id: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"messagepro session handle v1\0");
    h.update(id.as_bytes());
    hex::encode(&h.finalize()[..8])
}

/// The browser and system a User-Agent names (`None` where it says nothing we know).
pub fn device(ua: &str) -> (Option<&'static str>, Option<&'static str>) {
    let has = |s: &str| ua.contains(s);
    let browser = if has("Edg/") || has("EdgA/") || has("EdgiOS/") {
        Some("Edge")
    } else if has("OPR/") || has("Opera") {
        Some("Opera")
    } else if has("SamsungBrowser/") {
        Some("Samsung Internet")
    } else if has("Firefox/") || has("FxiOS/") {
        Some("Firefox")
    } else if has("Chrome/") || has("CriOS/") || has("Chromium/") {
        Some("Chrome")
    } else if has("Safari/") && has("Version/") {
        Some("Safari")
    } else {
        None
    };
    let os = if has("Android") {
        Some("Android")
    } else if has("iPhone") || has("iPad") || has("iPod") {
        Some("iOS")
    } else if has("CrOS") {
        Some("ChromeOS")
    } else if has("Windows") {
        Some("Windows")
    } else if has("Mac OS X") || has("Macintosh") {
        Some("macOS")
    } else if has("Linux") {
        Some("Linux")
    } else {
        None
    };
    (browser, os)
}

/// « Chrome · Android », or « Appareil inconnu ».
fn device_text(ui: &Ui, ua: Option<&str>) -> String {
    match ua.map(device).unwrap_or((None, None)) {
        (Some(b), Some(o)) => format!("{b} · {o}"),
        (Some(x), None) | (None, Some(x)) => x.to_owned(),
        (None, None) => ui.t("account.unknown_device"),
    }
}

/// One row of the sessions list (nothing in it lets anyone use the session).
struct SessionView {
    handle: String,
    device: String,
    signed_in: String,
    seen: String,
    current: bool,
}

/// The errors of the password form, each shown under its field.
#[derive(Default)]
struct PasswordErrors {
    current: Option<String>,
    new: Option<String>,
    confirm: Option<String>,
}

impl PasswordErrors {
    fn any(&self) -> bool {
        self.current.is_some() || self.new.is_some() || self.confirm.is_some()
    }
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    page: PageCtx,
    username: String,
    role: String,
    /// The language the page is in (`fr` / `en`), preselected in the language form.
    language: &'static str,
    sessions: Vec<SessionView>,
    /// How many sessions other than this one are listed.
    others: usize,
    pw: PasswordErrors,
}

/// The session id of this request (the browser's cookie), when it has one.
fn current_id(ui: &Ui) -> Option<String> {
    ui.session.id().map(|id| id.to_string())
}

/// Whether the guard would still accept a session (idle and absolute timeouts): rows past
/// them are not listed (their next request ends them anyway).
fn live(state: &AppState, s: &UserSession, now: i64) -> bool {
    let idle = state.settings.session_idle.as_millis() as i64;
    let absolute = state.settings.session_absolute.as_millis() as i64;
    s.created_ms.is_some_and(|c| now - c < absolute) && s.seen_ms.is_some_and(|t| now - t < idle)
}

/// This user's live sessions, the current one first.
async fn sessions(ui: &Ui, user: &CurrentUser) -> Result<Vec<(UserSession, bool)>, AppError> {
    let now = ui.state.clock.now_ms();
    let current = current_id(ui);
    let mut rows: Vec<(UserSession, bool)> = ui
        .state
        .store
        .sessions_of_user(user.id, now)
        .await?
        .into_iter()
        .map(|s| {
            let is_current = current.as_deref() == Some(s.id.as_str());
            (s, is_current)
        })
        .filter(|(s, is_current)| *is_current || live(&ui.state, s, now))
        .collect();
    rows.sort_by_key(|(_, is_current)| !*is_current);
    Ok(rows)
}

async fn page(ui: &Ui, pw: PasswordErrors, status: StatusCode) -> Result<Response, AppError> {
    let user = ui.user()?.clone();
    let rows = sessions(ui, &user).await?;
    let others = rows.iter().filter(|(_, c)| !c).count();
    let sessions = rows
        .into_iter()
        .map(|(s, current)| SessionView {
            handle: session_handle(&s.id),
            device: device_text(ui, s.user_agent.as_deref()),
            signed_in: s.created_ms.map(crate::ui::format_ms).unwrap_or_default(),
            seen: s.seen_ms.map(crate::ui::format_ms).unwrap_or_default(),
            current,
        })
        .collect();
    let mut r = render(&AccountPage {
        page: ui.page("account.title"),
        username: user.username,
        role: user.role,
        language: ui.lang.code(),
        sessions,
        others,
        pw,
    })?;
    *r.status_mut() = status;
    Ok(r)
}

#[tracing::instrument(skip_all)]
async fn account(ui: Ui) -> Result<Response, AppError> {
    page(&ui, PasswordErrors::default(), StatusCode::OK).await
}

/// The password form. No `Debug`: it holds passwords.
#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

#[tracing::instrument(skip_all)]
async fn change_password(
    ui: Ui,
    ClientIp(ip): ClientIp,
    Form(f): Form<PasswordForm>,
) -> Result<Response, AppError> {
    let user = ui.user()?.clone();
    let state = ui.state.clone();
    let who = Some((user.id, user.username.as_str()));

    // 1. The new password's rules first: a typo costs no attempt of the throttle.
    let mut errors = PasswordErrors::default();
    if f.current_password.is_empty() {
        errors.current = Some(ui.t("account.current_required"));
    }
    let mut refused = None;
    if !password::acceptable(&f.new_password) {
        errors.new = Some(ui.tf(
            "account.too_short",
            &[("n", &password::MIN_PASSWORD_LEN.to_string())],
        ));
        refused = Some("too short");
    } else if f.new_password == f.current_password {
        errors.new = Some(ui.t("account.same_password"));
        refused = Some("same as the current one");
    }
    if f.confirm_password != f.new_password {
        errors.confirm = Some(ui.t("account.mismatch"));
        refused = refused.or(Some("confirmation differs"));
    }
    if errors.any() {
        if let Some(why) = refused {
            audit(
                &state,
                who,
                "account.password_change",
                None,
                ui.ip.clone(),
                Outcome::Failure,
                Some(format!("new password refused: {why}")),
            )
            .await;
        }
        return page(&ui, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    }

    // 2. The current password, through the login's throttle.
    let checked = login::confirm_password(
        &state,
        (user.id, &user.username),
        SecretString::from(f.current_password),
        &ip,
    )
    .await?;
    let (status, message) = match checked {
        LoginOutcome::Success(_) => (StatusCode::OK, None),
        LoginOutcome::Invalid => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(ui.t("account.wrong_current")),
        ),
        LoginOutcome::Locked { minutes } => (
            StatusCode::TOO_MANY_REQUESTS,
            Some(ui.tf("login.locked", &[("minutes", &minutes.to_string())])),
        ),
        LoginOutcome::Busy => (StatusCode::SERVICE_UNAVAILABLE, Some(ui.t("login.busy"))),
    };
    if let Some(m) = message {
        let errors = PasswordErrors {
            current: Some(m),
            ..PasswordErrors::default()
        };
        let mut r = page(&ui, errors, status).await?;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut().insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from_static("1"),
            );
        }
        return Ok(r);
    }

    // 3. Store the new hash (the admin's path), end the other sessions, cycle this one's id.
    let hash = password::hash_async(SecretString::from(f.new_password)).await?;
    state
        .store
        .set_user_password_hash(user.id, &hash, state.clock.now_ms())
        .await?;
    let keep = current_id(&ui).ok_or(AppError::BadRequest)?;
    let ended = state
        .store
        .session_delete_user_except(user.id, &keep)
        .await?;
    ui.session.cycle_id().await?;
    crate::csrf::rotate(&ui.session).await?;
    audit(
        &state,
        who,
        "account.password_change",
        None,
        ui.ip.clone(),
        Outcome::Success,
        Some(format!("{ended} other session(s) ended")),
    )
    .await;
    let text = if ended == 0 {
        ui.t("account.password_changed")
    } else {
        ui.tf(
            "account.password_changed_others",
            &[("n", &ended.to_string())],
        )
    };
    flash(&ui.session, "success", text).await?;
    Ok(Redirect::to("/account").into_response())
}

#[derive(Deserialize)]
struct LanguageForm {
    lang: String,
}

#[tracing::instrument(skip_all)]
async fn set_language(ui: Ui, Form(f): Form<LanguageForm>) -> Result<Response, AppError> {
    let lang = Lang::parse(&f.lang).ok_or(AppError::BadRequest)?;
    let user = ui.user()?.clone();
    let state = ui.state.clone();
    state
        .store
        .set_user_language(user.id, Some(lang.code()), state.clock.now_ms())
        .await?;
    ui.session.insert(LANG_KEY, lang.code()).await?;
    audit(
        &state,
        Some((user.id, &user.username)),
        "account.language",
        None,
        ui.ip.clone(),
        Outcome::Success,
        Some(format!(
            "{} -> {}",
            user.language.map_or("auto", Lang::code),
            lang.code()
        )),
    )
    .await;
    flash(
        &ui.session,
        "success",
        state.i18n.t(lang, "account.language_saved").to_owned(),
    )
    .await?;
    let mut resp = Redirect::to("/account").into_response();
    super::auth::set_language_cookie(&state, &mut resp, lang);
    Ok(resp)
}

#[derive(Deserialize)]
struct EndForm {
    #[serde(default)]
    session: String,
}

/// Ends one session of this user, named by its handle. A handle that names none of this
/// user's sessions (forged, another user's, already ended) is a 404 and changes nothing; a
/// value that is not a handle at all, a 400.
#[tracing::instrument(skip_all)]
async fn end_session(ui: Ui, Form(f): Form<EndForm>) -> Result<Response, AppError> {
    let user = ui.user()?.clone();
    // not even the shape of a handle: a malformed request
    if f.session.len() != 16 || !f.session.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::BadRequest);
    }
    let (target, current) = sessions(&ui, &user)
        .await?
        .into_iter()
        .find(|(s, _)| session_handle(&s.id) == f.session)
        .ok_or(AppError::NotFound)?;
    if current {
        // the page offers « Se déconnecter » for this one
        return Err(AppError::BadRequest);
    }
    if !ui
        .state
        .store
        .session_delete_of_user(user.id, &target.id)
        .await?
    {
        return Err(AppError::NotFound);
    }
    audit(
        &ui.state,
        Some((user.id, &user.username)),
        "account.session_end",
        None,
        ui.ip.clone(),
        Outcome::Success,
        Some(format!(
            "{}, signed in {}",
            device_text(&ui, target.user_agent.as_deref()),
            target
                .created_ms
                .map(crate::ui::format_ms)
                .unwrap_or_default()
        )),
    )
    .await;
    flash(&ui.session, "success", ui.t("account.session_ended")).await?;
    Ok(Redirect::to("/account").into_response())
}

/// « Déconnecter les autres appareils »: every session of this user but this one.
#[tracing::instrument(skip_all)]
async fn end_other_sessions(ui: Ui) -> Result<Response, AppError> {
    let user = ui.user()?.clone();
    let keep = current_id(&ui).ok_or(AppError::BadRequest)?;
    let ended = ui
        .state
        .store
        .session_delete_user_except(user.id, &keep)
        .await?;
    audit(
        &ui.state,
        Some((user.id, &user.username)),
        "account.sessions_end_others",
        None,
        ui.ip.clone(),
        Outcome::Success,
        Some(format!("{ended} session(s) ended")),
    )
    .await;
    flash(
        &ui.session,
        "success",
        ui.tf("account.others_ended", &[("n", &ended.to_string())]),
    )
    .await?;
    Ok(Redirect::to("/account").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_name_their_browser_and_system() {
        let chrome_android = "Mozilla/5.0 (Linux; Android 13; SM-A145F) AppleWebKit/537.36 \
                              (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36";
        assert_eq!(device(chrome_android), (Some("Chrome"), Some("Android")));
        let firefox_windows =
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0";
        assert_eq!(device(firefox_windows), (Some("Firefox"), Some("Windows")));
        let safari_iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) \
                             AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
        assert_eq!(device(safari_iphone), (Some("Safari"), Some("iOS")));
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                    Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0";
        assert_eq!(device(edge), (Some("Edge"), Some("Windows")));
        assert_eq!(device("curl/8.5.0"), (None, None));
    }

    #[test]
    fn a_handle_is_short_stable_and_is_not_the_id() {
        let id = "Xk3vQ0a9JrN2b7c8d1e4fA";
        let h = session_handle(id);
        assert_eq!(h.len(), 16);
        assert!(h.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(h, session_handle(id));
        assert_ne!(h, session_handle("Xk3vQ0a9JrN2b7c8d1e4fB"));
        assert!(!id.contains(&h) && !h.contains(id));
    }
}
