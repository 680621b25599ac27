//! The Message Pro web console: an axum application with server-rendered pages (askama, htmx),
//! users, roles and permissions, database sessions, CSRF protection and an audit log.
//!
//! Entry points: [`Settings`] (configuration), [`Application`] (bind, migrate, serve — port 0 in
//! tests) and [`router`] (the axum router over an [`AppState`]). Every route is declared in one
//! table ([`routes::all_rules`]) that the router's guard and the role × route test both read.
//! The integration API and the webhook intake ([`api`]) are merged beside it, with their own
//! bearer-token authentication instead of sessions and CSRF.

pub mod api;
pub mod app;
pub use messagepro_core::clock;
pub use messagepro_core::permissions;
pub mod config;
pub mod csrf;
pub mod error;
pub mod guard;
pub mod headers;
pub mod i18n;
pub mod id;
pub mod login;
pub mod login_gate;
pub mod ops;
pub mod password;
pub mod redirect;
pub mod routes;
pub mod send;
pub mod sessions;
pub mod ui;
pub mod username;

pub use app::{AppState, Application, router};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::Settings;
pub use error::AppError;
pub use i18n::{I18n, Lang};
pub use permissions::Permission;
pub use username::Username;
