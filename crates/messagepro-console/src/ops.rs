//! Operations endpoints, outside the console's session and guard (a scraper or a load balancer
//! has no session, and must not create one):
//!
//! - `GET /readyz` — ready to serve: the database answers and its schema is exactly this
//!   build's migrations (an instance that is behind or ahead answers 503). The body also shows
//!   the queue's dispatch lag, for a person looking;
//! - `GET /metrics` — Prometheus text: the engine's counters and histograms (recorded in
//!   `messagepro_core::telemetry` through the `metrics` facade, exported by
//!   `metrics-exporter-prometheus`), plus gauges read from the shared database at scrape time
//!   (queue depth by state, dispatch lag, reconciliation lag, webhook backlog) — the same on
//!   every instance.
//!
//! (`/healthz`, process up + database reachable, is the console's own public route.)

use std::sync::OnceLock;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{StatusCode, header};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::app::AppState;

static PROMETHEUS: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's Prometheus recorder, installed on first use. If another recorder was
/// installed first (an embedding program's), `/metrics` shows only the scrape-time gauges.
pub fn prometheus() -> &'static PrometheusHandle {
    PROMETHEUS.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Suffix("_seconds".into()),
                &[
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                ],
            )
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed: /metrics shows gauges only");
        }
        handle
    })
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/readyz", get(readyz))
        .route("/metrics", get(scrape))
}

#[tracing::instrument(skip_all)]
async fn readyz(State(state): State<AppState>) -> Response {
    let now = state.clock.now_ms();
    let (migrations, snapshot) = tokio::join!(
        state.store.migrations_pending(),
        state.store.ops_snapshot(now)
    );
    let (status, body) = match (migrations, snapshot) {
        (Ok((0, 0)), Ok(s)) => (
            StatusCode::OK,
            serde_json::json!({
                "status": "ready",
                "database": state.store.backend_name(),
                "migrations": "current",
                "queue": {"ready": s.ready, "running": s.running,
                    "dispatch_lag_seconds": lag(now, s.oldest_due_ms)},
            }),
        ),
        (Ok((missing, unknown)), _) if missing + unknown > 0 => (
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({
                "status": "unavailable",
                "migrations": if missing > 0 { "behind" } else { "ahead" },
                "missing": missing, "unknown": unknown,
            }),
        ),
        (m, s) => {
            let e = m
                .err()
                .map(|e| e.to_string())
                .or(s.err().map(|e| e.to_string()));
            tracing::error!(error = ?e, "readiness: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({"status": "unavailable", "database": "unreachable"}),
            )
        }
    };
    (status, Json(body)).into_response()
}

fn lag(now: i64, oldest: Option<i64>) -> f64 {
    oldest.map_or(0.0, |t| ((now - t).max(0) as f64) / 1000.0)
}

#[tracing::instrument(skip_all)]
async fn scrape(State(state): State<AppState>) -> Response {
    let now = state.clock.now_ms();
    match state.store.ops_snapshot(now).await {
        Ok(s) => {
            for (st, n) in [("ready", s.ready), ("held", s.held), ("running", s.running)] {
                metrics::gauge!("messagepro_queue_jobs", "state" => st).set(n as f64);
            }
            metrics::gauge!("messagepro_dispatch_lag_seconds").set(lag(now, s.oldest_due_ms));
            metrics::gauge!("messagepro_awaiting_status_messages").set(s.awaiting_status as f64);
            metrics::gauge!("messagepro_reconciliation_lag_seconds")
                .set(lag(now, s.oldest_awaiting_ms));
            for (st, n) in [
                ("pending", s.webhooks_pending),
                ("failed", s.webhooks_failed),
            ] {
                metrics::gauge!("messagepro_webhook_deliveries", "state" => st).set(n as f64);
            }
            metrics::gauge!("messagepro_database_up").set(1.0);
        }
        Err(e) => {
            tracing::warn!(error = %e, "metrics: database unavailable");
            metrics::gauge!("messagepro_database_up").set(0.0);
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        prometheus().render(),
    )
        .into_response()
}
