//! The delivery engine's metrics, recorded through the `metrics` facade (a no-op until a
//! process installs a recorder: the console installs the Prometheus one and serves it at
//! `/metrics`). One function per fact, so the names and labels live here only:
//!
//! - `messagepro_sends_total{channel, outcome}` — jobs a worker finished a turn of: `sent`,
//!   `pending` (accepted, awaiting the handset), `unknown` (reconciled later), `failed`,
//!   `retrying` (certainly not sent, tried again), `skipped` and `deferred` (by policy);
//! - `messagepro_platform_call_seconds{channel}` — the platform call of a send;
//! - `messagepro_webhook_attempts_total{outcome}` — webhook posts out: `ok`, `failed`;
//! - `messagepro_reconciled_total` — messages whose status reconciliation changed;
//! - `messagepro_fallbacks_total` — fallback messages recorded.
//!
//! Gauges read from the database at scrape time (queue depth, reconciliation lag) are the
//! console's (`routes/ops.rs`): every instance sees the same shared queue.

use crate::outbox::Payload;

/// The `channel` label of a payload.
pub(crate) fn channel(p: &Payload) -> &'static str {
    match p {
        Payload::Sms { .. } => "sms",
        Payload::Whatsapp { .. } => "whatsapp",
        Payload::Otp { .. } => "otp",
    }
}

pub(crate) fn send(channel: &'static str, outcome: &'static str) {
    metrics::counter!("messagepro_sends_total", "channel" => channel, "outcome" => outcome)
        .increment(1);
}

pub(crate) fn platform_call(channel: &'static str, seconds: f64) {
    metrics::histogram!("messagepro_platform_call_seconds", "channel" => channel).record(seconds);
}

pub(crate) fn webhook_attempt(ok: bool) {
    let outcome = if ok { "ok" } else { "failed" };
    metrics::counter!("messagepro_webhook_attempts_total", "outcome" => outcome).increment(1);
}

pub(crate) fn reconciled(n: u64) {
    metrics::counter!("messagepro_reconciled_total").increment(n);
}

pub(crate) fn fallbacks(n: u64) {
    metrics::counter!("messagepro_fallbacks_total").increment(n);
}
