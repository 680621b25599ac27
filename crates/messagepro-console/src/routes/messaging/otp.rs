//! `/messaging/otp/...` — sending and verifying OTP codes (placeholders until the sending issue).

use askama::Template;
use axum::Router;
use axum::response::Response;
use axum::routing::get;

use crate::app::AppState;
use crate::error::AppError;
use crate::permissions::Permission;
use crate::routes::{Access, RouteRule};
use crate::ui::{PageCtx, Ui, render};

pub const RULES: &[RouteRule] = &[
    RouteRule::get("/messaging/otp/send", Access::Perm(Permission::SendOtp)),
    RouteRule::get("/messaging/otp/verify", Access::Perm(Permission::SendOtp)),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/messaging/otp/send", get(send))
        .route("/messaging/otp/verify", get(verify))
}

#[derive(Template)]
#[template(path = "messaging/otp_send.html")]
struct SendPage {
    page: PageCtx,
}

#[derive(Template)]
#[template(path = "messaging/otp_verify.html")]
struct VerifyPage {
    page: PageCtx,
}

#[tracing::instrument(skip_all)]
async fn send(ui: Ui) -> Result<Response, AppError> {
    render(&SendPage {
        page: ui.page("messaging.otp.send_title"),
    })
}

#[tracing::instrument(skip_all)]
async fn verify(ui: Ui) -> Result<Response, AppError> {
    render(&VerifyPage {
        page: ui.page("messaging.otp.verify_title"),
    })
}
