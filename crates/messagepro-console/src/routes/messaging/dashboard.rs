//! `/messaging/` — the dashboard: the account on Message Pro (credits, subscription usage,
//! devices, WhatsApp accounts) and the local record (messages sent/failed today, a 14-day chart
//! drawn as server-side SVG, recent activity).
//!
//! Platform calls run concurrently and fail soft: when Message Pro cannot be read, a box says so
//! and the local part of the page still renders.

use askama::Template;
use axum::Router;
use axum::response::Response;
use axum::routing::get;
use messagepro::{Credits, Device, Subscription, WaAccount};
use messagepro_store::{Message, MessageFilter, MessageStatus, Page};

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

const DAY_MS: i64 = 86_400_000;
/// Days in the chart.
const CHART_DAYS: i64 = 14;

/// One quota line of the subscription.
#[derive(Debug, Clone)]
pub struct UsageRow {
    pub name: String,
    pub used: u64,
    /// 0 = unlimited.
    pub limit: u64,
    pub exhausted: bool,
}

/// One bar group of the chart, in SVG coordinates.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub sent: i64,
    pub failed: i64,
    pub x: i64,
    /// Top of the "sent" bar and its height.
    pub sent_y: i64,
    pub sent_h: i64,
    /// Top of the "failed" bar (stacked on top of "sent") and its height.
    pub failed_y: i64,
    pub failed_h: i64,
    pub show_label: bool,
}

/// Chart geometry.
pub const CHART_W: i64 = 560;
pub const CHART_H: i64 = 160;
const BAR_W: i64 = 28;
const BASE_Y: i64 = 140;
const MAX_BAR: i64 = 120;

#[derive(Template)]
#[template(path = "messaging/dashboard.html")]
struct DashboardPage {
    page: PageCtx,
    unreachable: bool,
    credits: Option<Credits>,
    subscription_name: Option<String>,
    usage: Vec<UsageRow>,
    devices: Option<Vec<Device>>,
    online: usize,
    offline: usize,
    wa_accounts: Option<Vec<WaAccount>>,
    sent_today: i64,
    failed_today: i64,
    pending_now: i64,
    bars: Vec<Bar>,
    chart_max: i64,
    chart_w: i64,
    chart_h: i64,
    recent: Vec<Message>,
    can_send: bool,
}

impl DashboardPage {
    fn wa_status<'a>(&self, a: &'a WaAccount) -> &'a str {
        match a.status {
            messagepro::WaAccountStatus::Connected => "connected",
            messagepro::WaAccountStatus::Connecting => "connecting",
            messagepro::WaAccountStatus::Disconnecting => "disconnecting",
            messagepro::WaAccountStatus::Disconnected => "disconnected",
            _ => "unknown",
        }
    }
}

/// The bars of the last [`CHART_DAYS`] days (oldest first) from per-day counts.
pub fn bars(days: &[(String, i64, i64)]) -> (Vec<Bar>, i64) {
    let max = days.iter().map(|(_, s, f)| s + f).max().unwrap_or(0).max(1);
    let step = CHART_W / days.len().max(1) as i64;
    let bars = days
        .iter()
        .enumerate()
        .map(|(i, (label, sent, failed))| {
            let sent_h = sent * MAX_BAR / max;
            let failed_h = failed * MAX_BAR / max;
            Bar {
                label: label.clone(),
                sent: *sent,
                failed: *failed,
                x: i as i64 * step + (step - BAR_W) / 2,
                sent_y: BASE_Y - sent_h,
                sent_h,
                failed_y: BASE_Y - sent_h - failed_h,
                failed_h,
                show_label: i % 2 == 1 || days.len() <= 7,
            }
        })
        .collect();
    (bars, max)
}

async fn count(
    state: &AppState,
    status: MessageStatus,
    from: i64,
    to: i64,
) -> Result<i64, AppError> {
    let f = MessageFilter {
        status: Some(status),
        from_ms: Some(from),
        to_ms: Some(to),
        ..Default::default()
    };
    Ok(state.store.count_messages(&f).await?)
}

/// `(day number since the epoch, status, count)` of sent and failed messages created since
/// `from_ms`, in one grouped query (the chart reads 14 days without 28 counts; integer division
/// and `GROUP BY` behave the same on SQLite and PostgreSQL).
async fn daily_counts(
    store: &messagepro_store::Store,
    from_ms: i64,
) -> Result<Vec<(i64, String, i64)>, AppError> {
    use messagepro_store::Backend;
    let sql = "SELECT created_ms / 86400000 AS day, status, COUNT(*) AS n FROM messages \
               WHERE created_ms >= $1 AND status IN ('sent', 'failed') GROUP BY day, status";
    let rows: Vec<(i64, String, i64)> = match store.backend() {
        Backend::Sqlite(p) => sqlx::query_as(sql).bind(from_ms).fetch_all(p).await,
        Backend::Postgres(p) => sqlx::query_as(sql).bind(from_ms).fetch_all(p).await,
    }
    .map_err(|e| AppError::Internal(anyhow::anyhow!("dashboard counts: {e}")))?;
    Ok(rows)
}

#[tracing::instrument(skip_all)]
async fn dashboard(ui: Ui) -> Result<Response, AppError> {
    let state = &ui.state;
    let (credits, subscription, devices, wa) = tokio::join!(
        state.core.credits_read(),
        state.core.subscription_read(),
        state.core.devices_read(),
        state.core.whatsapp_accounts_read()
    );
    let (credits, subscription, devices, wa) = (
        credits.map(|r| r.value),
        subscription.map(|r| r.value),
        devices.map(|r| r.value),
        wa.map(|r| r.value),
    );
    let mut unreachable = false;
    let mut soft = |what: &str, e: &messagepro::Error| {
        tracing::warn!(error = %e, what, "dashboard: platform read failed");
        unreachable = true;
    };
    let credits = credits.map_err(|e| soft("credits", &e)).ok();
    let subscription: Option<Subscription> =
        subscription.map_err(|e| soft("subscription", &e)).ok();
    let devices = devices.map_err(|e| soft("devices", &e)).ok();
    let wa_accounts = wa.map_err(|e| soft("whatsapp accounts", &e)).ok();

    let usage = subscription
        .as_ref()
        .map(|s| {
            s.usage
                .iter()
                .map(|(name, u)| UsageRow {
                    name: {
                        let key = format!("dashboard.quota_name.{name}");
                        let label = ui.t(&key);
                        if label == key { name.clone() } else { label }
                    },
                    used: u.used,
                    limit: u.limit,
                    exhausted: u.is_exhausted(),
                })
                .collect()
        })
        .unwrap_or_default();
    let online = devices
        .as_ref()
        .map(|d| d.iter().filter(|d| d.online).count())
        .unwrap_or(0);
    let offline = devices.as_ref().map(|d| d.len() - online).unwrap_or(0);

    let now = state.clock.now_ms();
    let today = now - now.rem_euclid(DAY_MS);
    let sent_today = count(state, MessageStatus::Sent, today, today + DAY_MS).await?;
    let failed_today = count(state, MessageStatus::Failed, today, today + DAY_MS).await?;
    let pending_now = state
        .store
        .count_messages(&MessageFilter {
            status: Some(MessageStatus::Pending),
            ..Default::default()
        })
        .await?;
    let first_day = today - (CHART_DAYS - 1) * DAY_MS;
    let per_day = daily_counts(&state.store, first_day).await?;
    let mut days = Vec::new();
    for i in (0..CHART_DAYS).rev() {
        let start = today - i * DAY_MS;
        let label = chrono::DateTime::from_timestamp_millis(start)
            .map(|d| d.format("%d/%m").to_string())
            .unwrap_or_default();
        let n = |status: &str| {
            per_day
                .iter()
                .filter(|(d, s, _)| *d == start / DAY_MS && s == status)
                .map(|(_, _, n)| *n)
                .sum::<i64>()
        };
        days.push((label, n("sent"), n("failed")));
    }
    let (bars, chart_max) = bars(&days);
    let recent = state
        .store
        .list_messages(&MessageFilter::default(), Page::first(10))
        .await?;
    let can_send = ui.user()?.can(Permission::SendSms);
    render(&DashboardPage {
        page: ui.page("dashboard.title"),
        unreachable,
        credits,
        subscription_name: subscription.map(|s| s.name),
        usage,
        devices,
        online,
        offline,
        wa_accounts,
        sent_today,
        failed_today,
        pending_now,
        bars,
        chart_max,
        chart_w: CHART_W,
        chart_h: CHART_H,
        recent,
        can_send,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_busiest_day_and_stack_failures_on_top() {
        let days = vec![("01/01".to_owned(), 10, 0), ("02/01".to_owned(), 5, 5)];
        let (b, max) = bars(&days);
        assert_eq!(max, 10);
        assert_eq!(b[0].sent_h, MAX_BAR);
        assert_eq!(b[1].sent_h + b[1].failed_h, MAX_BAR);
        assert_eq!(b[1].failed_y + b[1].failed_h, b[1].sent_y);
    }
}
