//! `/api/v1/campaigns` over HTTP against the simulator: start (numbers and groups by name,
//! opted-out numbers skipped), idempotent replay, progress, pause / resume / cancel with their
//! refusals (state, owner, scope), and bad input changing nothing. Runs on SQLite, and on
//! PostgreSQL when `MESSAGEPRO_TEST_DATABASE_URL` is set.

mod helpers;

use helpers::messaging::{SimApp, spawn_app_with_sim_settings};
use messagepro_core::Actor;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

async fn api_app() -> SimApp {
    spawn_app_with_sim_settings(None, true, |s, f| {
        s.default_sms_route = f
            .devices
            .as_ref()
            .map(|d| messagepro::SmsRoute::device(d.online.unique.clone()));
    })
    .await
}

async fn token(app: &SimApp, name: &str, scopes: &str) -> String {
    let scopes: Vec<String> = scopes.split(' ').map(str::to_owned).collect();
    let t = app
        .state
        .core
        .token_create(&Actor::System { name: "test" }, name, &scopes, None)
        .await
        .unwrap();
    t.secret.expose_secret().to_owned()
}

async fn call(
    app: &SimApp,
    tok: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
    key: Option<&str>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut r = reqwest::Client::new()
        .request(method, app.at(path))
        .bearer_auth(tok);
    if let Some(b) = body {
        r = r.json(b);
    }
    if let Some(k) = key {
        r = r.header("Idempotency-Key", k);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, r.json().await.unwrap_or(Value::Null), headers)
}

async fn campaigns(app: &SimApp) -> usize {
    app.store
        .list_campaigns(messagepro_store::Page::first(100))
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_campaign_started_twice_with_one_key_sends_once_skips_opted_out_and_reports_progress() {
    let app = api_app().await;
    app.store
        .suppress("+224664123456", "local", None, None, 1)
        .await
        .unwrap();
    let tok = token(&app, "erp", "messages:send messages:read").await;
    // numbers + the group "Fournisseurs" (+224655123456, +224622345678), one number twice
    let body = json!({"name": "Promo Tabaski", "text": "Bonjour, promo Tabaski !",
        "numbers": ["621234567", "+224 664 12 34 56", "655123456"],
        "groups": ["fournisseurs"]});
    let (st, a, _) = call(
        &app,
        &tok,
        reqwest::Method::POST,
        "/api/v1/campaigns",
        Some(&body),
        Some("k1"),
    )
    .await;
    assert_eq!(st, 202, "{a}");
    assert_eq!(a["object"], "campaign");
    assert_eq!(
        (
            a["recipients"].as_i64(),
            a["queued"].as_i64(),
            a["opted_out"].as_i64()
        ),
        (Some(4), Some(3), Some(1)),
        "{a}"
    );
    assert_eq!(a["status"], "running");
    let id = a["id"].as_i64().unwrap();
    // the same key again: the same answer, replayed, no second campaign
    let (st2, a2, h2) = call(
        &app,
        &tok,
        reqwest::Method::POST,
        "/api/v1/campaigns",
        Some(&body),
        Some("k1"),
    )
    .await;
    assert_eq!((st2, &a2), (202, &a));
    assert_eq!(h2.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(campaigns(&app).await, 1);
    app.settle().await;
    let ledger = app.sim.ledger();
    assert_eq!(ledger.len(), 3, "{ledger:?}");
    assert!(
        ledger.iter().all(|e| e.recipient != "+224664123456"),
        "an opted-out number was texted"
    );
    assert!(
        ledger.iter().any(|e| e.text == "Bonjour, promo Tabaski !"),
        "{ledger:?}"
    );
    // progress
    app.sim.process_queue();
    app.sync().await;
    let (st, c, _) = call(
        &app,
        &tok,
        reqwest::Method::GET,
        &format!("/api/v1/campaigns/{id}"),
        None,
        None,
    )
    .await;
    assert_eq!(st, 200, "{c}");
    assert_eq!(c["total"], 4);
    assert_eq!(
        (
            c["progress"]["sent"].as_i64(),
            c["progress"]["skipped"].as_i64()
        ),
        (Some(3), Some(1)),
        "{c}"
    );
    assert_eq!(c["progress"]["percent"], 100);
    assert_eq!(c["status"], "done", "{c}");
    // finished: nothing to pause or cancel
    let (st, p, _) = call(
        &app,
        &tok,
        reqwest::Method::POST,
        &format!("/api/v1/campaigns/{id}/pause"),
        None,
        None,
    )
    .await;
    assert_eq!(
        (st, p["code"].as_str()),
        (409, Some("campaign_state")),
        "{p}"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_scheduled_campaign_is_paused_resumed_and_cancelled_by_its_token_only() {
    let app = api_app().await;
    let tok = token(&app, "erp", "messages:send").await;
    let other = token(&app, "shop", "messages:send messages:read").await;
    let reader = token(&app, "bi", "messages:read").await;
    let later = chrono::Utc::now() + chrono::Duration::hours(3);
    let body = json!({"name": "Rappel", "text": "Rappel : réunion demain", "numbers": ["621234567", "622345678"],
        "send_at": later.to_rfc3339()});
    let (st, a, _) = call(
        &app,
        &tok,
        reqwest::Method::POST,
        "/api/v1/campaigns",
        Some(&body),
        None,
    )
    .await;
    assert_eq!(st, 202, "{a}");
    assert_eq!(a["status"], "queued");
    assert!(a["start_at"].is_string());
    let id = a["id"].as_i64().unwrap();
    let path = |action: &str| format!("/api/v1/campaigns/{id}/{action}");
    let post = reqwest::Method::POST;
    // another token may read it, not control it; a read-only token may not control it
    let (st, b, _) = call(&app, &other, post.clone(), &path("pause"), None, None).await;
    assert_eq!(
        (st, b["code"].as_str()),
        (403, Some("not_campaign_owner")),
        "{b}"
    );
    let (st, b, _) = call(&app, &reader, post.clone(), &path("pause"), None, None).await;
    assert_eq!(
        (st, b["code"].as_str()),
        (403, Some("insufficient_scope")),
        "{b}"
    );
    let (st, b, _) = call(
        &app,
        &other,
        reqwest::Method::GET,
        &format!("/api/v1/campaigns/{id}"),
        None,
        None,
    )
    .await;
    assert_eq!((st, b["status"].as_str()), (200, Some("queued")));
    // its own token: pause, pause again (409), resume, resume again (409), cancel, cancel again
    let (st, b, _) = call(&app, &tok, post.clone(), &path("pause"), None, None).await;
    assert_eq!((st, b["status"].as_str()), (200, Some("paused")), "{b}");
    assert!(b["paused_at"].is_string());
    let (st, b, _) = call(&app, &tok, post.clone(), &path("pause"), None, None).await;
    assert_eq!((st, b["code"].as_str()), (409, Some("campaign_state")));
    let (st, b, _) = call(&app, &tok, post.clone(), &path("resume"), None, None).await;
    assert_eq!(st, 200, "{b}");
    assert_ne!(b["status"], "paused");
    let (st, _, _) = call(&app, &tok, post.clone(), &path("resume"), None, None).await;
    assert_eq!(st, 409);
    let (st, b, _) = call(&app, &tok, post.clone(), &path("cancel"), None, None).await;
    assert_eq!((st, b["status"].as_str()), (200, Some("cancelled")), "{b}");
    assert_eq!(b["progress"]["skipped"], 2);
    let (st, _, _) = call(&app, &tok, post.clone(), &path("cancel"), None, None).await;
    assert_eq!(st, 409);
    let (st, b, _) = call(&app, &tok, post.clone(), &path("explode"), None, None).await;
    assert_eq!((st, b["code"].as_str()), (404, Some("not_found")));
    let (st, _, _) = call(
        &app,
        &tok,
        post.clone(),
        "/api/v1/campaigns/999999/pause",
        None,
        None,
    )
    .await;
    assert_eq!(st, 404);
    app.settle().await;
    assert!(app.sim.ledger().is_empty(), "a cancelled campaign sent");
    let audit = app
        .store
        .list_audit(
            &messagepro_store::AuditFilter::default(),
            messagepro_store::Page::first(50),
        )
        .await
        .unwrap();
    for action in ["campaign.pause", "campaign.resume", "campaign.cancel"] {
        assert!(
            audit
                .iter()
                .any(|a| a.action == action && a.username.as_deref() == Some("token:erp")),
            "{action}"
        );
    }
    app.cleanup().await;
}

#[tokio::test]
async fn bad_campaigns_are_refused_with_a_problem_and_record_nothing() {
    let app = api_app().await;
    let tok = token(&app, "erp", "messages:send").await;
    let cases = [
        (
            json!({"name": "A", "text": "x", "numbers": ["621234567", "12"]}),
            422,
            "invalid_phone",
        ),
        (
            json!({"name": "A", "text": "x", "groups": ["Nobody here"]}),
            422,
            "group_not_found",
        ),
        (json!({"name": "A", "text": "x"}), 422, "no_recipients"),
        (
            json!({"name": "", "text": "x", "numbers": ["621234567"]}),
            422,
            "invalid_request",
        ),
        (
            json!({"name": "A", "text": "x", "template": "y", "numbers": ["621234567"]}),
            422,
            "invalid_request",
        ),
        (
            json!({"name": "A", "text": "x", "numbers": ["621234567"], "channel": "fax"}),
            422,
            "invalid_request",
        ),
        (
            json!({"name": "A", "text": "x", "numbers": ["621234567"], "send_at": "demain"}),
            422,
            "invalid_request",
        ),
        (
            json!({"name": "A", "text": "x", "numbers": ["621234567"], "colour": "red"}),
            422,
            "invalid_request",
        ),
        (
            json!({"name": "A", "text": "Bonjour {{contact.nom}}", "numbers": ["621234567"]}),
            422,
            "invalid_template",
        ),
    ];
    for (body, status, code) in cases {
        let (st, b, h) = call(
            &app,
            &tok,
            reqwest::Method::POST,
            "/api/v1/campaigns",
            Some(&body),
            None,
        )
        .await;
        assert_eq!(
            (st, b["code"].as_str()),
            (status, Some(code)),
            "{body} → {b}"
        );
        assert_eq!(h.get("content-type").unwrap(), "application/problem+json");
    }
    let (_, b, _) = call(
        &app,
        &tok,
        reqwest::Method::POST,
        "/api/v1/campaigns",
        Some(&json!({"name": "A", "text": "x", "numbers": ["621234567", "12"]})),
        None,
    )
    .await;
    assert_eq!(b["field"], "numbers[1]");
    assert_eq!(campaigns(&app).await, 0);
    let no_send = token(&app, "bi", "messages:read").await;
    let (st, b, _) = call(
        &app,
        &no_send,
        reqwest::Method::POST,
        "/api/v1/campaigns",
        Some(&json!({"name": "A", "text": "x", "numbers": ["621234567"]})),
        None,
    )
    .await;
    assert_eq!((st, b["code"].as_str()), (403, Some("insufficient_scope")));
    assert_eq!(campaigns(&app).await, 0);
    app.settle().await;
    assert!(app.sim.ledger().is_empty());
    app.cleanup().await;
}
