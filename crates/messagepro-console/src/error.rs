//! One error type for every handler. Its response is a generic page (in French and English —
//! the error path does not know the user's language) that never shows internals; the cause chain
//! of an internal error goes to the log instead.

use std::sync::OnceLock;

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::i18n::{I18n, Lang};

/// What can go wrong in a handler.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("invalid or missing CSRF token")]
    Csrf,
    #[error("bad request")]
    BadRequest,
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    fr_title: &'a str,
    fr_text: &'a str,
    en_title: &'a str,
    en_text: &'a str,
}

fn i18n() -> &'static I18n {
    static I: OnceLock<I18n> = OnceLock::new();
    I.get_or_init(I18n::new)
}

impl AppError {
    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            AppError::NotFound => (StatusCode::NOT_FOUND, "error.not_found"),
            AppError::Forbidden => (StatusCode::FORBIDDEN, "error.forbidden"),
            AppError::Csrf => (StatusCode::FORBIDDEN, "error.csrf"),
            AppError::BadRequest => (StatusCode::BAD_REQUEST, "error.bad_request"),
            AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "error.internal"),
        }
    }
}

/// The generic error page for `status` with the texts of `key` (`<key>.title`, `<key>.text`).
pub fn error_page(status: StatusCode, key: &str) -> Response {
    let i = i18n();
    let (ft, fx, et, ex) = (
        format!("{key}.title"),
        format!("{key}.text"),
        format!("{key}.title"),
        format!("{key}.text"),
    );
    let page = ErrorPage {
        status: status.as_u16(),
        fr_title: i.t(Lang::Fr, &ft),
        fr_text: i.t(Lang::Fr, &fx),
        en_title: i.t(Lang::En, &et),
        en_text: i.t(Lang::En, &ex),
    };
    let body = page
        .render()
        .unwrap_or_else(|_| format!("<!doctype html><title>{status}</title><h1>{status}</h1>"));
    (status, Html(body)).into_response()
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, key) = self.parts();
        match &self {
            AppError::Internal(e) => tracing::error!(error = format!("{e:#}"), "request failed"),
            AppError::Csrf => tracing::warn!("request refused: invalid or missing CSRF token"),
            _ => tracing::debug!(%status, "request refused"),
        }
        error_page(status, key)
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        AppError::Internal(e)
    }
}

impl From<messagepro_core::SendError> for AppError {
    fn from(e: messagepro_core::SendError) -> Self {
        match e {
            messagepro_core::SendError::Forbidden => AppError::Forbidden,
            messagepro_core::SendError::Store(e) => e.into(),
            other => AppError::Internal(anyhow::anyhow!("send: {}", other.code())),
        }
    }
}

impl From<messagepro_core::ContactsError> for AppError {
    fn from(e: messagepro_core::ContactsError) -> Self {
        match e {
            messagepro_core::ContactsError::Forbidden => AppError::Forbidden,
            messagepro_core::ContactsError::Store(e) => e.into(),
            other => AppError::Internal(anyhow::anyhow!("contacts: {}", other.code())),
        }
    }
}

impl From<messagepro_store::StoreError> for AppError {
    fn from(e: messagepro_store::StoreError) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(anyhow::anyhow!("template: {e}"))
    }
}

impl From<tower_sessions::session::Error> for AppError {
    fn from(e: tower_sessions::session::Error) -> Self {
        AppError::Internal(anyhow::anyhow!("session: {e}"))
    }
}
