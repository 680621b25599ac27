//! Every route of the console and the access it requires, **as data**: each area module exports
//! `RULES` (method, path, access) and `router()`. The guard ([`crate::guard`]) looks up the rule
//! of the matched route on every request — a route without a rule is refused for everyone (fail
//! closed) — and the role × route test walks the same table.
//!
//! To add or replace an area (e.g. `messaging/sms.rs`), edit only that file: its `RULES` and its
//! `router()` travel together.

use axum::Router;
use http::Method;

use crate::app::AppState;
use crate::permissions::Permission;

pub mod account;
pub mod admin;
pub mod admin_events;
pub mod admin_tokens;
pub mod admin_webhooks;
pub mod assets;
pub mod auth;
pub mod messaging;

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, logged in or not (login page, assets, health check).
    Public,
    /// Any logged-in user.
    Authenticated,
    /// A logged-in user whose role grants this permission.
    Perm(Permission),
}

/// One route and the access it requires.
#[derive(Debug, Clone)]
pub struct RouteRule {
    pub method: Method,
    /// The axum path pattern, exactly as registered (`/admin/users/{id}`).
    pub path: &'static str,
    pub access: Access,
}

impl RouteRule {
    pub const fn get(path: &'static str, access: Access) -> RouteRule {
        RouteRule {
            method: Method::GET,
            path,
            access,
        }
    }
    pub const fn post(path: &'static str, access: Access) -> RouteRule {
        RouteRule {
            method: Method::POST,
            path,
            access,
        }
    }
}

/// The rule tables of every area.
pub fn tables() -> [&'static [RouteRule]; 14] {
    [
        auth::RULES,
        account::RULES,
        assets::RULES,
        admin::RULES,
        admin_tokens::RULES,
        admin_events::RULES,
        admin_webhooks::RULES,
        messaging::RULES,
        messaging::dashboard::RULES,
        messaging::sms::RULES,
        messaging::whatsapp::RULES,
        messaging::otp::RULES,
        messaging::contacts::RULES,
        messaging::extra_rules(),
    ]
}

/// Every route rule (the router's and the tests' single source of truth).
pub fn all_rules() -> impl Iterator<Item = &'static RouteRule> {
    tables().into_iter().flatten()
}

/// The rule of a matched route (`HEAD` follows `GET`).
pub fn rule_for(method: &Method, path: &str) -> Option<&'static RouteRule> {
    let method = if method == Method::HEAD {
        &Method::GET
    } else {
        method
    };
    all_rules().find(|r| r.method == *method && r.path == path)
}

/// The routes of every area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(auth::router())
        .merge(account::router())
        .merge(assets::router())
        .merge(admin::router())
        .merge(admin_tokens::router())
        .merge(admin_events::router())
        .merge(admin_webhooks::router())
        .merge(messaging::router())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_route_is_declared_twice() {
        let rules: Vec<_> = all_rules().collect();
        for (i, a) in rules.iter().enumerate() {
            for b in &rules[i + 1..] {
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{} {} twice",
                    a.method,
                    a.path
                );
            }
        }
    }

    #[test]
    fn only_login_health_assets_and_language_are_public() {
        let public: Vec<_> = all_rules()
            .filter(|r| r.access == Access::Public)
            .map(|r| r.path)
            .collect();
        for p in &public {
            assert!(
                ["/login", "/healthz", "/assets/{file}", "/language"].contains(p),
                "{p} is public"
            );
        }
    }
}
