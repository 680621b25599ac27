//! Synchronizer-token CSRF protection: a random token put in every form (hidden field
//! `csrf_token`) and in the `X-CSRF-Token` header of htmx requests (set on `<body>` by the
//! layout); every state-changing request must carry it, compared in constant time. Checked by the
//! guard before any handler runs, so a request without it changes nothing.
//!
//! Where the token lives:
//! - **logged in**: in the database session (one token per session, replaced at login);
//! - **anonymous** (the login form, the language switch): in a signed cookie,
//!   `messagepro_csrf` = `<token>.<HMAC-SHA256(key, token)>` (HttpOnly, SameSite=Strict), so a
//!   visitor who is not logged in never creates a session row — otherwise every anonymous
//!   `GET /login` wrote one, an unauthenticated way to grow the database. The form must carry
//!   the cookie's token (double submit); a cookie whose signature does not verify is replaced.
//!   The key is derived from the Message Pro secret (the same on every console instance), or
//!   drawn at start when there is none.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderValue, header};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretSlice};
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use crate::app::AppState;

/// Session key of the token.
pub const SESSION_KEY: &str = "csrf";
/// Form field carrying the token.
pub const FIELD: &str = "csrf_token";
/// Header carrying the token (htmx, multipart forms).
pub const HEADER: &str = "x-csrf-token";
/// Cookie carrying the signed token of an anonymous visitor.
pub const COOKIE: &str = "messagepro_csrf";

/// A new random token (256 bits, hex).
pub fn new_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// The session's token, created on first use.
pub async fn token(session: &Session) -> Result<String, tower_sessions::session::Error> {
    if let Some(t) = session.get::<String>(SESSION_KEY).await? {
        return Ok(t);
    }
    let t = new_token();
    session.insert(SESSION_KEY, &t).await?;
    Ok(t)
}

/// Replaces the token (at login, so a token seen before login is worthless after).
pub async fn rotate(session: &Session) -> Result<String, tower_sessions::session::Error> {
    let t = new_token();
    session.insert(SESSION_KEY, &t).await?;
    Ok(t)
}

/// Whether `submitted` is `expected` (constant time; nothing expected never matches).
pub fn matches(expected: Option<&str>, submitted: Option<&str>) -> bool {
    match (expected, submitted) {
        (Some(e), Some(s)) => e.as_bytes().ct_eq(s.as_bytes()).into(),
        _ => false,
    }
}

/// Whether `submitted` is the session's token (constant time; a session without a token never matches).
pub async fn verify(session: &Session, submitted: Option<&str>) -> bool {
    let Ok(expected) = session.get::<String>(SESSION_KEY).await else {
        return false;
    };
    matches(expected.as_deref(), submitted)
}

/// The key signing anonymous tokens: derived from the Message Pro secret, else random.
pub fn cookie_key(api_secret: Option<&secrecy::SecretString>) -> SecretSlice<u8> {
    match api_secret {
        Some(s) => {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"messagepro csrf cookie key v1")
                .expect("HMAC takes any key length");
            mac.update(s.expose_secret().as_bytes());
            SecretSlice::from(mac.finalize().into_bytes().to_vec())
        }
        None => {
            let mut b = vec![0u8; 32];
            rand::rng().fill_bytes(&mut b);
            SecretSlice::from(b)
        }
    }
}

fn sign(key: &SecretSlice<u8>, token: &str) -> String {
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(key.expose_secret()).expect("any key length");
    mac.update(token.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The value of cookie `name` in a request's headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            let (k, v) = c.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

/// The token of a signed cookie value, when its signature verifies.
fn verified_token(key: &SecretSlice<u8>, value: &str) -> Option<String> {
    let (token, sig) = value.split_once('.')?;
    let ok = token.len() == 64
        && token.bytes().all(|b| b.is_ascii_hexdigit())
        && bool::from(sign(key, token).as_bytes().ct_eq(sig.as_bytes()));
    ok.then(|| token.to_owned())
}

/// The anonymous visitor's token of a request (set by [`presession`]).
#[derive(Debug, Clone)]
pub struct PreSessionToken {
    pub token: String,
    /// It came from a valid cookie (a new one cannot match any submitted form).
    pub from_cookie: bool,
}

/// Middleware: reads (or creates and sets) the signed anonymous token cookie.
pub async fn presession(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let existing = cookie(req.headers(), COOKIE).and_then(|v| verified_token(&state.csrf_key, v));
    let from_cookie = existing.is_some();
    let token = existing.unwrap_or_else(new_token);
    req.extensions_mut().insert(PreSessionToken {
        token: token.clone(),
        from_cookie,
    });
    let mut res = next.run(req).await;
    if !from_cookie {
        let secure = if state.settings.cookie_secure {
            "; Secure"
        } else {
            ""
        };
        let value = format!(
            "{COOKIE}={token}.{}; Path=/; HttpOnly; SameSite=Strict{secure}",
            sign(&state.csrf_key, &token)
        );
        if let Ok(v) = HeaderValue::from_str(&value) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_token_verifies_and_a_forged_or_foreign_one_does_not() {
        let key = cookie_key(Some(&secrecy::SecretString::from("sk-test-0123456789")));
        let t = new_token();
        let value = format!("{t}.{}", sign(&key, &t));
        assert_eq!(verified_token(&key, &value), Some(t.clone()));
        // chosen token with a made-up signature
        let forged = format!("{}.{}", "a".repeat(64), "0".repeat(64));
        assert_eq!(verified_token(&key, &forged), None);
        // signed by another key (another installation)
        let other = cookie_key(Some(&secrecy::SecretString::from("sk-other-0123456789")));
        assert_eq!(verified_token(&other, &value), None);
        assert_eq!(verified_token(&key, &t), None, "no signature");
        // the same secret gives the same key (several console instances)
        let again = cookie_key(Some(&secrecy::SecretString::from("sk-test-0123456789")));
        assert_eq!(verified_token(&again, &value), Some(t));
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("xmessagepro_csrf=1; messagepro_csrf=2; other=3"),
        );
        assert_eq!(cookie(&h, COOKIE), Some("2"));
        assert_eq!(cookie(&h, "missing"), None);
        assert!(!matches(None, Some("x")) && !matches(Some("x"), None));
        assert!(matches(Some("abc"), Some("abc")) && !matches(Some("abc"), Some("abd")));
    }
}
