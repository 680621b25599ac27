//! Operations endpoints: `/readyz` follows the database schema, `/metrics` is scraped in
//! Prometheus text and its queue and send figures move with the work. Against the simulator, on
//! SQLite, and on PostgreSQL when `MESSAGEPRO_TEST_DATABASE_URL` is set.

mod helpers;

use helpers::messaging::{SimApp, spawn_app_with_sim};
use messagepro::SmsRoute;
use messagepro_core::{Actor, SendRequest};

/// The value of the sample `name{labels}` (labels as written by the exporter), or 0.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            (k == series).then(|| v.parse().ok())?
        })
        .unwrap_or(0.0)
}

async fn scrape(app: &SimApp) -> String {
    let r = reqwest::get(app.at("/metrics")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(
        r.headers().get("set-cookie").is_none(),
        "no session for a scraper"
    );
    r.text().await.unwrap()
}

#[tokio::test]
async fn metrics_show_the_queue_and_the_sends_moving() {
    let app = spawn_app_with_sim().await;
    let before = scrape(&app).await;
    assert!(before.contains("messagepro_database_up 1"), "{before}");
    let sent_before = sample(
        &before,
        "messagepro_sends_total{channel=\"sms\",outcome=\"pending\"}",
    );
    // three SMS accepted but not dispatched yet (the device's worker is not woken): queued
    let sys = Actor::System { name: "ops-test" };
    let device = app.online_device();
    let mut ids = Vec::new();
    for to in ["621234567", "622345678", "623456789"] {
        let req = SendRequest::sms(
            messagepro::Phone::parse(to, "GN").unwrap(),
            "Stock arrivé",
            SmsRoute::device(device.clone()),
        );
        ids.push(app.state.core.accept(&sys, &req).await.unwrap().message_id);
    }
    app.settle().await;
    let after = scrape(&app).await;
    let sent_after = sample(
        &after,
        "messagepro_sends_total{channel=\"sms\",outcome=\"pending\"}",
    );
    assert!(
        sent_after >= sent_before + 3.0,
        "{sent_before} → {sent_after}\n{after}"
    );
    assert!(after.contains("messagepro_platform_call_seconds_bucket{channel=\"sms\""));
    assert_eq!(
        sample(&after, "messagepro_queue_jobs{state=\"ready\"}"),
        0.0,
        "drained"
    );
    // the three wait for the handset: reconciliation has work, and its lag is measured
    assert!(
        sample(&after, "messagepro_awaiting_status_messages") >= 3.0,
        "{after}"
    );
    app.clock.advance(std::time::Duration::from_secs(90));
    let later = scrape(&app).await;
    assert!(
        sample(&later, "messagepro_reconciliation_lag_seconds") >= 90.0,
        "{later}"
    );
    // the handset reports, reconciliation runs: nothing awaits any more
    app.sim.process_queue();
    app.sync().await;
    let done = scrape(&app).await;
    assert_eq!(
        sample(&done, "messagepro_awaiting_status_messages"),
        0.0,
        "{done}"
    );
    assert!(sample(&done, "messagepro_reconciled_total") >= 3.0);
    app.cleanup().await;
}

#[tokio::test]
async fn readiness_follows_the_database_schema() {
    let app = spawn_app_with_sim().await;
    let r = reqwest::get(app.at("/readyz")).await.unwrap();
    assert_eq!(r.status(), 200);
    let b: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        (b["status"].as_str(), b["migrations"].as_str()),
        (Some("ready"), Some("current"))
    );
    // a migration of this build missing from the database: not ready
    let (n, _) = app.store.migrations_pending().await.unwrap();
    assert_eq!(n, 0);
    match app.store.backend() {
        messagepro_store::Backend::Sqlite(p) => {
            sqlx::query("UPDATE _sqlx_migrations SET success = FALSE WHERE version = 9")
                .execute(p)
                .await
                .unwrap();
        }
        messagepro_store::Backend::Postgres(p) => {
            sqlx::query("UPDATE _sqlx_migrations SET success = FALSE WHERE version = 9")
                .execute(p)
                .await
                .unwrap();
        }
    }
    let r = reqwest::get(app.at("/readyz")).await.unwrap();
    assert_eq!(r.status(), 503);
    let b: serde_json::Value = r.json().await.unwrap();
    assert_eq!(b["migrations"], "behind");
    // liveness does not depend on it
    assert_eq!(
        reqwest::get(app.at("/healthz")).await.unwrap().status(),
        200
    );
    app.cleanup().await;
}

#[tokio::test]
async fn platform_reads_are_shared_for_a_ttl_and_the_last_answer_shows_when_it_is_down() {
    let app = helpers::messaging::spawn_app_with_sim_settings(None, true, |s, _| {
        s.platform_cache = std::time::Duration::from_secs(15);
    })
    .await;
    let core = &app.state.core;
    app.sim.set_credits(1_000.0);
    let first = core.credits_read().await.unwrap();
    assert!(!first.stale);
    assert!(first.value.credits.starts_with("1000"), "{first:?}");
    // the platform changes: within the TTL every view (and every instance: the row is in the
    // database) reuses the answer, without calling the platform
    app.sim.set_credits(750.0);
    let cached = core.credits_read().await.unwrap();
    assert_eq!(cached.value, first.value);
    assert_eq!(cached.fetched_ms, first.fetched_ms);
    let (json, _) = app.store.platform_read("credits").await.unwrap().unwrap();
    assert!(json.contains("1000"), "{json}");
    // past it, read again
    app.clock.advance(std::time::Duration::from_secs(16));
    let fresh = core.credits_read().await.unwrap();
    assert!(fresh.value.credits.starts_with("750"), "{fresh:?}");
    // the platform down: the last answer, marked stale
    app.sim.set_faults(messagepro_sim::Faults {
        fail_rate: 1.0,
        ..Default::default()
    });
    app.clock.advance(std::time::Duration::from_secs(16));
    let stale = core.credits_read().await.unwrap();
    assert!(stale.stale);
    assert!(stale.value.credits.starts_with("750"));
    // …and a list never read is the platform's error
    assert!(core.subscription_read().await.is_err());
    // the dashboard shows the balance it last read
    app.login_as("admin").await;
    let page = app.get("/messaging/").await.text().await.unwrap();
    assert!(
        page.contains(&format!("{} {}", stale.value.credits, stale.value.currency)),
        "{page}"
    );
    app.cleanup().await;
}
