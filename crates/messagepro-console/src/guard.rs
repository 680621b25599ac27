//! The one authorization guard, run on every routed request before its handler:
//!
//! 1. find the route's rule in the table ([`crate::routes::rule_for`]); no rule → 403 (fail closed);
//! 2. load the logged-in user from the session (disabled users, idle and absolute timeouts end
//!    the session);
//! 3. anonymous on a non-public route → `303 /login?next=…` (`HX-Redirect` for htmx, `expired=1`
//!    when a session cookie came along); missing permission → 403;
//! 4. state-changing method → CSRF token required (the session's when logged in, the signed
//!    cookie's when anonymous — see [`crate::csrf`]), else 403;
//! 5. the [`CurrentUser`] is put in the request extensions for handlers and pages.

use std::collections::BTreeSet;
use std::convert::Infallible;

use axum::body::Body;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use http::{Method, StatusCode, header};
use tower_sessions::Session;

use crate::app::AppState;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::permissions::Permission;
use crate::routes::{Access, rule_for};
use crate::{csrf, error};

/// Session keys of the login state.
pub const UID: &str = "uid";
pub const AUTH_AT: &str = "auth_at";
pub const SEEN_AT: &str = "seen_at";
/// Session key of the browser's User-Agent at login (truncated), for the user's sessions list.
pub const USER_AGENT: &str = "ua";
/// How stale `seen_at` may get before it is rewritten (limits session writes to one a minute).
const SEEN_REFRESH_MS: i64 = 60_000;
/// Largest form body the guard reads to find the CSRF token.
const FORM_LIMIT: usize = 2 * 1024 * 1024;

/// The logged-in user of a request, with the permissions of their role.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: i64,
    pub username: String,
    pub role: String,
    pub permissions: BTreeSet<Permission>,
    pub language: Option<Lang>,
}

impl CurrentUser {
    pub fn can(&self, p: Permission) -> bool {
        self.permissions.contains(&p)
    }

    /// `Err(Forbidden)` unless the user's role grants `p` (for checks inside a handler).
    pub fn require(&self, p: Permission) -> Result<(), AppError> {
        if self.can(p) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// Loads the user of `session`, or `None` (and ends the session) when it is not valid any more.
    pub async fn from_session(
        state: &AppState,
        session: &Session,
    ) -> Result<Option<CurrentUser>, AppError> {
        let Some(uid) = session.get::<i64>(UID).await? else {
            return Ok(None);
        };
        let now = state.clock.now_ms();
        let auth_at = session.get::<i64>(AUTH_AT).await?.unwrap_or(0);
        let seen_at = session.get::<i64>(SEEN_AT).await?.unwrap_or(0);
        let idle = state.settings.session_idle.as_millis() as i64;
        let absolute = state.settings.session_absolute.as_millis() as i64;
        let user = state.store.user_by_id(uid).await?;
        let expired = now - auth_at >= absolute || now - seen_at >= idle;
        let user = match user {
            Some(u) if !u.disabled && !expired => u,
            _ => {
                tracing::info!(user_id = uid, expired, "session ended");
                session.flush().await?;
                return Ok(None);
            }
        };
        if now - seen_at >= SEEN_REFRESH_MS {
            session.insert(SEEN_AT, now).await?;
        }
        let permissions = state
            .store
            .role_permissions(user.role_id)
            .await?
            .iter()
            .filter_map(|p| p.parse().ok())
            .collect();
        Ok(Some(CurrentUser {
            id: user.id,
            username: user.username,
            role: user.role_name,
            permissions,
            language: user.language.as_deref().and_then(Lang::parse),
        }))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        parts
            .extensions
            .get::<CurrentUser>()
            .cloned()
            .ok_or(AppError::Forbidden)
    }
}

/// The logged-in user if any (public pages).
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<CurrentUser>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeUser {
    type Rejection = Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(MaybeUser(parts.extensions.get::<CurrentUser>().cloned()))
    }
}

/// The client's IP: the TCP peer, or — when `trust_forwarded_for` is on (one reverse proxy in
/// front) — the last `X-Forwarded-For` entry, the one that proxy appended.
pub fn client_ip(parts: &Parts, trust_forwarded_for: bool) -> Option<String> {
    if trust_forwarded_for
        && let Some(last) = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|ip| ip.trim().parse::<std::net::IpAddr>().ok())
    {
        return Some(last.to_string());
    }
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

/// Where an anonymous request for a protected route goes: the login page, with a `next` to
/// come back to and `expired=1` when the request still carried a session cookie (anonymous
/// visitors have none, so it had a session that expired or was purged).
///
/// An htmx request (`HX-Request`) gets `HX-Redirect` instead of a 303: htmx would follow a 303
/// and swap the login page into the fragment's target, under a navigation bar that still says
/// "logged in". Its `next` is the page the user is on (`HX-Current-URL`), not the fragment
/// endpoint it called; a plain form POST comes back to the page it was sent from (`Referer`).
/// Only the path and query of those headers are kept, and the login page checks them again
/// ([`crate::redirect::safe_next`]). `assets/app.js` keeps the page's typed fields before
/// htmx follows the redirect and puts them back after login.
fn login_redirect(req: &Request) -> Response {
    let headers = req.headers();
    let htmx = headers.get("hx-request").is_some_and(|v| v == "true");
    let expired = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|c| {
            c.trim()
                .split_once('=')
                .is_some_and(|(name, _)| name == crate::app::SESSION_COOKIE)
        });
    let page = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<http::Uri>().ok())
            .and_then(|u| u.path_and_query().map(|p| p.as_str().to_owned()))
    };
    let next = if htmx {
        page("hx-current-url")
    } else if matches!(*req.method(), Method::GET | Method::HEAD) {
        None
    } else {
        page(header::REFERER.as_str())
    }
    .unwrap_or_else(|| {
        req.uri()
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".into())
    });
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("next", &next);
    if expired {
        q.append_pair("expired", "1");
    }
    let to = format!("/login?{}", q.finish());
    if htmx {
        match http::HeaderValue::from_str(&to) {
            Ok(v) => ([(http::HeaderName::from_static("hx-redirect"), v)]).into_response(),
            Err(_) => Redirect::to("/login").into_response(),
        }
    } else {
        Redirect::to(&to).into_response()
    }
}

/// The guard middleware (installed with `route_layer`, so the matched route is known).
pub async fn guard(
    State(state): State<AppState>,
    session: Session,
    req: Request,
    next: Next,
) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let Some(rule) = rule_for(req.method(), &path) else {
        tracing::error!(method = %req.method(), %path, "route has no access rule: refused");
        return AppError::Forbidden.into_response();
    };
    let user = match CurrentUser::from_session(&state, &session).await {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    match (rule.access, &user) {
        (Access::Public, _) => {}
        (_, None) => return login_redirect(&req),
        (Access::Authenticated, Some(_)) => {}
        (Access::Perm(p), Some(u)) => {
            if !u.can(p) {
                tracing::warn!(user = %u.username, permission = %p, %path, "permission denied");
                return error::error_page(StatusCode::FORBIDDEN, "error.forbidden");
            }
        }
    }
    let mut req = req;
    if !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        // a logged-in user's token is in the session; an anonymous visitor's in a signed cookie
        let expected = if user.is_some() {
            match session.get::<String>(csrf::SESSION_KEY).await {
                Ok(t) => t,
                Err(e) => return AppError::from(e).into_response(),
            }
        } else {
            req.extensions()
                .get::<csrf::PreSessionToken>()
                .filter(|p| p.from_cookie)
                .map(|p| p.token.clone())
        };
        req = match check_csrf(expected.as_deref(), req).await {
            Ok(r) => r,
            Err(e) => return e.into_response(),
        };
    }
    if let Some(u) = user {
        req.extensions_mut().insert(u);
    }
    next.run(req).await
}

/// Verifies the CSRF token of a state-changing request (header, else urlencoded form field)
/// against `expected` and gives the request back with its body intact.
async fn check_csrf(expected: Option<&str>, req: Request) -> Result<Request, AppError> {
    if let Some(h) = req.headers().get(csrf::HEADER) {
        let ok = csrf::matches(expected, h.to_str().ok());
        return if ok { Ok(req) } else { Err(AppError::Csrf) };
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(AppError::Csrf);
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|_| AppError::BadRequest)?;
    let token = form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == csrf::FIELD)
        .map(|(_, v)| v.into_owned());
    if !csrf::matches(expected, token.as_deref()) {
        return Err(AppError::Csrf);
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}
