//! `/messaging/` — the dashboard: message counts per status from the local record.
//! (Placeholder level: the sending issue adds credits, devices and recent activity.)

use askama::Template;
use axum::Router;
use axum::response::Response;
use axum::routing::get;
use messagepro_store::{MessageFilter, MessageStatus};

use crate::app::AppState;
use crate::error::AppError;
use crate::permissions::Permission;
use crate::routes::{Access, RouteRule};
use crate::ui::{PageCtx, Ui, render};

pub const RULES: &[RouteRule] = &[RouteRule::get(
    "/messaging/",
    Access::Perm(Permission::MessagingRead),
)];

pub fn router() -> Router<AppState> {
    Router::new().route("/messaging/", get(dashboard))
}

#[derive(Template)]
#[template(path = "messaging/dashboard.html")]
struct DashboardPage {
    page: PageCtx,
    /// (status, count)
    counts: Vec<(&'static str, i64)>,
}

#[tracing::instrument(skip_all)]
async fn dashboard(ui: Ui) -> Result<Response, AppError> {
    let mut counts = Vec::new();
    for s in MessageStatus::ALL {
        let f = MessageFilter {
            status: Some(*s),
            ..Default::default()
        };
        counts.push((s.as_str(), ui.state.store.count_messages(&f).await?));
    }
    render(&DashboardPage {
        page: ui.page("messaging.dashboard.title"),
        counts,
    })
}
