//! Synchronizer-token CSRF protection: one random token per session, put in every form (hidden
//! field `csrf_token`) and in the `X-CSRF-Token` header of htmx requests (set on `<body>` by the
//! layout); every state-changing request must carry it, compared in constant time. Checked by the
//! guard before any handler runs, so a request without it changes nothing.

use rand::RngCore;
use subtle::ConstantTimeEq;
use tower_sessions::Session;

/// Session key of the token.
pub const SESSION_KEY: &str = "csrf";
/// Form field carrying the token.
pub const FIELD: &str = "csrf_token";
/// Header carrying the token (htmx, multipart forms).
pub const HEADER: &str = "x-csrf-token";

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

/// Whether `submitted` is the session's token (constant time; a session without a token never matches).
pub async fn verify(session: &Session, submitted: Option<&str>) -> bool {
    let Ok(Some(expected)) = session.get::<String>(SESSION_KEY).await else {
        return false;
    };
    let Some(submitted) = submitted else {
        return false;
    };
    expected.as_bytes().ct_eq(submitted.as_bytes()).into()
}
