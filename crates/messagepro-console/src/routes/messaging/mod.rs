//! The `/messaging/...` area, one file per sub-area (dashboard, SMS, WhatsApp, OTP, contacts and
//! groups, the suppression list, the inbox of received messages) so each can be rewritten without
//! touching the others. This file only merges them.

use std::sync::LazyLock;

use axum::Router;

use super::RouteRule;
use crate::app::AppState;

pub mod contacts;
pub mod dashboard;
pub mod inbox;
pub mod otp;
pub mod sms;
pub mod suppressions;
pub mod whatsapp;

/// Rules owned by this file (none yet: each sub-area declares its own).
pub const RULES: &[RouteRule] = &[];

/// The rules of the sub-areas added later, joined once (a `const` cannot concatenate slices).
static EXTRA_RULES: LazyLock<Vec<RouteRule>> =
    LazyLock::new(|| [suppressions::RULES, inbox::RULES].concat());

/// The slot in [`super::tables`] of the sub-areas added later (the suppression list, the inbox).
pub fn extra_rules() -> &'static [RouteRule] {
    &EXTRA_RULES
}

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(dashboard::router())
        .merge(sms::router())
        .merge(whatsapp::router())
        .merge(otp::router())
        .merge(contacts::router())
        .merge(suppressions::router())
        .merge(inbox::router())
}
