//! What every page shares: the [`PageCtx`] given to templates (language, translations, user,
//! navigation filtered by permission, CSRF token, flash message), the [`Ui`] extractor that
//! builds it, [`render`], and flash messages kept in the session for the next page.

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Response};
use http::{Method, header};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::app::AppState;
use crate::csrf;
use crate::error::AppError;
use crate::guard::{CurrentUser, MaybeUser};
use crate::i18n::{I18n, Lang};
use crate::routes::{Access, rule_for};

/// Session key of the language chosen (logged in).
pub const LANG_KEY: &str = "lang";
/// Cookie of the language chosen before login (a cookie, not the session: no session row for
/// anonymous visitors).
pub const LANG_COOKIE: &str = "messagepro_lang";
const FLASH_KEY: &str = "flash";

/// A one-shot message shown on the next page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    /// `success` or `error` (a CSS class).
    pub kind: String,
    pub text: String,
}

/// Stores a flash message for the next page.
pub async fn flash(session: &Session, kind: &str, text: String) -> Result<(), AppError> {
    session
        .insert(
            FLASH_KEY,
            Flash {
                kind: kind.into(),
                text,
            },
        )
        .await?;
    Ok(())
}

/// A navigation entry.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: String,
    pub active: bool,
}

/// The navigation: (href, translation key). Shown only when the user passes the route's rule.
const NAV: &[(&str, &str)] = &[
    ("/messaging/", "nav.dashboard"),
    ("/messaging/sms/send", "nav.sms"),
    ("/messaging/sms/bulk", "nav.bulk"),
    ("/messaging/whatsapp/send", "nav.whatsapp"),
    ("/messaging/otp/send", "nav.otp"),
    ("/messaging/contacts", "nav.contacts"),
    ("/messaging/sms/history", "nav.history"),
    ("/admin/users", "nav.admin"),
];

/// Whether `user` may open `GET path` according to the route table.
pub fn may_get(user: Option<&CurrentUser>, path: &str) -> bool {
    match rule_for(&Method::GET, path).map(|r| r.access) {
        Some(Access::Public) => true,
        Some(Access::Authenticated) => user.is_some(),
        Some(Access::Perm(p)) => user.is_some_and(|u| u.can(p)),
        None => false,
    }
}

/// Context shared by every page template (`page` in templates).
#[derive(Debug, Clone)]
pub struct PageCtx {
    pub lang: Lang,
    pub i18n: I18n,
    pub user: Option<CurrentUser>,
    pub nav: Vec<NavItem>,
    pub csrf: String,
    pub flash: Option<Flash>,
    pub path: String,
    pub title: String,
}

impl PageCtx {
    /// Translation of `key` in the page's language.
    pub fn t<'a>(&'a self, key: &'a str) -> &'a str {
        self.i18n.t(self.lang, key)
    }
    /// Translation with `{name}` placeholders.
    pub fn tf(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.i18n.tf(self.lang, key, args)
    }
    pub fn lang_code(&self) -> &'static str {
        self.lang.code()
    }
    /// The other language (for the switch in the header).
    pub fn other_lang(&self) -> &'static str {
        match self.lang {
            Lang::Fr => "en",
            Lang::En => "fr",
        }
    }
    /// A UTC timestamp in milliseconds as `YYYY-MM-DD HH:MM UTC`.
    pub fn datetime(&self, ms: &i64) -> String {
        format_ms(*ms)
    }
    /// An amount (`"50000"`) grouped the page language's way (« 50 000 »).
    pub fn amount(&self, text: &str) -> String {
        crate::i18n::amount(self.lang, text)
    }
}

/// `YYYY-MM-DD HH:MM UTC` for Unix milliseconds.
pub fn format_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// Extractor: everything a page needs. `ui.page("title.key")` gives the template context.
pub struct Ui {
    pub state: AppState,
    pub session: Session,
    pub user: Option<CurrentUser>,
    pub lang: Lang,
    /// The client's IP (TCP peer), for the audit log.
    pub ip: Option<String>,
    csrf: String,
    flash: Option<Flash>,
    path: String,
}

impl Ui {
    pub fn page(&self, title_key: &str) -> PageCtx {
        let i18n = self.state.i18n.clone();
        let nav = NAV
            .iter()
            .filter(|(href, _)| may_get(self.user.as_ref(), href))
            .map(|(href, key)| NavItem {
                href,
                label: i18n.t(self.lang, key).to_owned(),
                active: self.path == *href,
            })
            .collect();
        PageCtx {
            lang: self.lang,
            title: i18n.t(self.lang, title_key).to_owned(),
            i18n,
            user: self.user.clone(),
            nav,
            csrf: self.csrf.clone(),
            flash: self.flash.clone(),
            path: self.path.clone(),
        }
    }

    /// Translation in the request's language.
    pub fn t(&self, key: &str) -> String {
        self.state.i18n.t(self.lang, key).to_owned()
    }

    pub fn tf(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.state.i18n.tf(self.lang, key, args)
    }

    /// [`crate::i18n::I18n::tn`] in the user's language.
    pub fn tn(&self, key: &str, n: i64, args: &[(&str, &str)]) -> String {
        self.state.i18n.tn(self.lang, key, n, args)
    }

    /// The logged-in user (the guard guarantees one on non-public routes).
    pub fn user(&self) -> Result<&CurrentUser, AppError> {
        self.user.as_ref().ok_or(AppError::Forbidden)
    }

    /// The logged-in user as the author of a core request (with the client IP).
    pub fn actor(&self) -> Result<messagepro_core::Actor, AppError> {
        Ok(self.user()?.actor(self.ip.clone()))
    }

    /// A one-time token for a send form (the double-submit guard, stored in the database).
    pub async fn form_nonce(&self) -> Result<String, AppError> {
        let id = self.user()?.id;
        Ok(self.state.core.nonce_issue(id).await?)
    }

    /// `true` the first time this user submits `nonce` (empty, foreign, used: `false`).
    pub async fn use_nonce(&self, nonce: &str) -> Result<bool, AppError> {
        let id = self.user()?.id;
        Ok(self.state.core.nonce_use(id, nonce).await?)
    }
}

impl FromRequestParts<AppState> for Ui {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::Internal(anyhow::anyhow!("session layer missing")))?;
        let MaybeUser(user) = MaybeUser::from_request_parts(parts, state)
            .await
            .unwrap_or(MaybeUser(None));
        let lang = match user.as_ref().and_then(|u| u.language) {
            Some(l) => l,
            None => match session
                .get::<String>(LANG_KEY)
                .await?
                .as_deref()
                .and_then(Lang::parse)
            {
                Some(l) => l,
                None => match csrf::cookie(&parts.headers, LANG_COOKIE).and_then(Lang::parse) {
                    Some(l) => l,
                    None => parts
                        .headers
                        .get(header::ACCEPT_LANGUAGE)
                        .and_then(|v| v.to_str().ok())
                        .and_then(Lang::from_accept_language)
                        .unwrap_or(state.settings.default_language),
                },
            },
        };
        // Anonymous visitors get the signed cookie's token: no session row for them.
        let csrf = match &user {
            Some(_) => csrf::token(&session).await?,
            None => parts
                .extensions
                .get::<csrf::PreSessionToken>()
                .map(|p| p.token.clone())
                .unwrap_or_default(),
        };
        let flash = session.remove::<Flash>(FLASH_KEY).await?;
        let ip = crate::guard::client_ip(parts, state.settings.trust_forwarded_for);
        Ok(Ui {
            state: state.clone(),
            session,
            user,
            lang,
            ip,
            csrf,
            flash,
            path: parts.uri.path().to_owned(),
        })
    }
}

/// Renders a template into an HTML response.
pub fn render<T: Template>(t: &T) -> Result<Response, AppError> {
    Ok(Html(t.render()?).into_response())
}
