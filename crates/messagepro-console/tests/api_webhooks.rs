//! `/api/v1/webhooks` over HTTP: an application registers its own endpoint with a `webhooks`
//! token, gets the signing secret once (never again: not in the list, the endpoint, `Debug` or
//! the audit log), receives signed events at a local receiver, reads the deliveries and their
//! attempts, replays one, disables, enables and deletes the endpoint; and the refusals (scope,
//! bad URL or events, unknown or non-numeric ids). Runs on SQLite, and on PostgreSQL when
//! `MESSAGEPRO_TEST_DATABASE_URL` is set.

mod helpers;

use std::time::Duration;

use helpers::messaging::{SimApp, spawn_app_with_sim_settings};
use helpers::receiver::{Received, Receiver, receiver};
use messagepro::SmsRoute;
use messagepro_console::api::openapi::{DeliveryCounts, WebhookCreated, WebhookOut};
use messagepro_core::Actor;
use messagepro_core::webhooks::WebhookSettings;
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

/// The console with a fast webhook schedule (retries 200 ms apart on the test's clock).
async fn hook_app() -> SimApp {
    spawn_app_with_sim_settings(None, true, |s, f| {
        s.webhooks = WebhookSettings {
            retry: vec![Duration::from_millis(200); 7],
            poll: Some(Duration::from_millis(30)),
            timeout: Duration::from_secs(5),
            lease: Duration::from_secs(10),
            batch: 16,
        };
        s.default_sms_route = f
            .devices
            .as_ref()
            .map(|d| SmsRoute::device(d.online.unique.clone()));
    })
    .await
}

fn system() -> Actor {
    Actor::System { name: "test" }
}

async fn token(app: &SimApp, scopes: &str) -> String {
    let scopes: Vec<String> = scopes.split(' ').map(str::to_owned).collect();
    let t = app
        .state
        .core
        .token_create(&system(), "erp", &scopes, Some(100_000))
        .await
        .unwrap();
    t.secret.expose_secret().to_owned()
}

/// A call: status, body (JSON, `Null` when none), headers, raw text.
struct Answer {
    status: u16,
    body: Value,
    headers: reqwest::header::HeaderMap,
    text: String,
}

async fn call(
    app: &SimApp,
    tok: &str,
    m: Method,
    path: &str,
    body: Option<Value>,
    key: Option<&str>,
) -> Answer {
    let mut r = reqwest::Client::new()
        .request(m, app.at(path))
        .bearer_auth(tok);
    if let Some(b) = body {
        r = r.json(&b);
    }
    if let Some(k) = key {
        r = r.header("Idempotency-Key", k);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        body,
        headers,
        text,
    }
}

/// Waits until `n` requests arrived; with `advance`, moves the test's clock on so retries
/// fall due.
async fn wait_for(app: &SimApp, r: &Receiver, n: usize, advance: bool) -> Vec<Received> {
    for _ in 0..400 {
        let got = r.got();
        if got.len() >= n {
            return got;
        }
        if advance {
            app.clock.advance(Duration::from_millis(100));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{} requests instead of {n}: {:?}", r.got().len(), r.got());
}

/// Reads the endpoint until its newest delivery satisfies `done`.
async fn wait_delivery(app: &SimApp, tok: &str, ep: i64, done: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..200 {
        let a = call(
            app,
            tok,
            Method::GET,
            &format!("/api/v1/webhooks/{ep}"),
            None,
            None,
        )
        .await;
        assert_eq!(a.status, 200, "{}", a.text);
        if done(&a.body["deliveries"][0]) {
            return a.body;
        }
        last = a.body;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the delivery did not get there: {last}");
}

/// The Standard Webhooks signature, computed here with plain HMAC-SHA256 (not the code under test).
fn expected_signature(secret: &str, r: &Received) -> String {
    use base64::Engine;
    use hmac::Mac;
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", r.id, r.timestamp, r.body).as_bytes());
    format!("v1,{}", b64.encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn an_application_registers_its_endpoint_over_the_api_and_receives_signed_events() {
    let app = hook_app().await;
    let tok = token(&app, "webhooks").await;
    // the first attempt fails (500), the retry succeeds
    let r = receiver(vec![500]).await;
    let create = json!({"url": r.url, "events": ["message.sent", "otp.verified", "message.sent"],
        "description": "ERP"});
    let a = call(
        &app,
        &tok,
        Method::POST,
        "/api/v1/webhooks",
        Some(create.clone()),
        Some("hook-erp-1"),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.headers["content-type"], "application/json");
    let secret = a.body["secret"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("whsec_") && secret.len() > 40,
        "{secret}"
    );
    let ep = a.body["id"].as_i64().unwrap();
    assert_eq!(a.body["object"], "webhook_endpoint");
    assert_eq!(a.body["url"], r.url.as_str());
    assert_eq!(a.body["events"], json!(["message.sent", "otp.verified"]));
    assert_eq!(
        (a.body["enabled"].as_bool(), a.body["description"].as_str()),
        (Some(true), Some("ERP"))
    );
    assert!(a.body["disabled_reason"].is_null());
    assert_eq!(a.body["created_by"], "token:erp");
    assert_eq!(a.body["counts"]["pending"], 0);

    // the same key again: the same answer (the secret a lost answer carried), one endpoint
    let again = call(
        &app,
        &tok,
        Method::POST,
        "/api/v1/webhooks",
        Some(create.clone()),
        Some("hook-erp-1"),
    )
    .await;
    assert_eq!((again.status, &again.body), (201, &a.body));
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(app.state.core.webhook_endpoints().await.unwrap().len(), 1);
    // …another body with it is refused
    let reused = call(
        &app,
        &tok,
        Method::POST,
        "/api/v1/webhooks",
        Some(json!({"url": r.url, "events": ["message.failed"]})),
        Some("hook-erp-1"),
    )
    .await;
    assert_eq!(
        (reused.status, reused.body["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );

    // the secret is shown that once: not listed, not read back, not in Debug nor the audit log
    let list = call(&app, &tok, Method::GET, "/api/v1/webhooks", None, None).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["data"][0]["id"], ep);
    assert!(list.body["data"][0].get("secret").is_none());
    assert!(!list.text.contains(&secret));
    let one = call(
        &app,
        &tok,
        Method::GET,
        &format!("/api/v1/webhooks/{ep}"),
        None,
        None,
    )
    .await;
    assert_eq!(one.status, 200, "{}", one.text);
    assert!(one.body.get("secret").is_none() && !one.text.contains(&secret));
    assert_eq!(one.body["deliveries"], json!([]));
    let stored = app.state.core.webhook_endpoint(ep).await.unwrap();
    assert_eq!(
        stored.secret, secret,
        "the secret answered is the one signing"
    );
    assert!(!format!("{stored:?}").contains(&secret));
    let log = app.state.core.webhook_log(ep, 10).await.unwrap();
    assert!(!format!("{log:?}").contains(&secret));
    let shown = WebhookCreated {
        endpoint: WebhookOut {
            id: ep,
            object: "webhook_endpoint",
            url: r.url.clone(),
            description: String::new(),
            events: vec![],
            enabled: true,
            disabled_reason: None,
            created_by: None,
            created_at: String::new(),
            updated_at: String::new(),
            counts: DeliveryCounts {
                pending: 0,
                delivering: 0,
                succeeded: 0,
                failed: 0,
            },
        },
        secret: secret.clone(),
    };
    let debug = format!("{shown:?}");
    assert!(
        debug.contains(&r.url) && !debug.contains(&secret),
        "{debug}"
    );
    let audit = app
        .store
        .list_audit(
            &messagepro_store::AuditFilter::default(),
            messagepro_store::Page::first(20),
        )
        .await
        .unwrap();
    let created = audit
        .iter()
        .find(|e| e.action == "webhook.create")
        .expect("audited");
    assert_eq!(created.username.as_deref(), Some("token:erp"));
    assert!(!format!("{audit:?}").contains(&secret));

    // an event: delivered, signed with that secret; the first attempt's 500 is retried
    let msg = app.send_and_deliver("621234567").await;
    let got = wait_for(&app, &r, 1, false).await;
    let body = wait_delivery(&app, &tok, ep, |d| {
        d["state"] == "pending" && d["attempts"] == 1
    })
    .await;
    let d = &body["deliveries"][0];
    let webhook_id = format!("msg_message_sent_{msg}");
    assert_eq!(
        (d["webhook_id"].as_str(), d["type"].as_str()),
        (Some(webhook_id.as_str()), Some("message.sent"))
    );
    assert_eq!(d["endpoint_id"], ep);
    assert_eq!(d["last_status"], 500);
    assert_eq!(d["attempt_log"][0]["status"], 500);
    assert!(d["next_attempt_at"].as_str().unwrap().ends_with('Z'), "{d}");
    assert_eq!(body["counts"]["pending"], 1);
    let delivery = d["id"].as_i64().unwrap();
    // not finished: no replay yet
    let replay_path = format!("/api/v1/webhooks/{ep}/deliveries/{delivery}/replay");
    let early = call(&app, &tok, Method::POST, &replay_path, None, None).await;
    assert_eq!(
        (early.status, early.body["code"].as_str()),
        (409, Some("delivery_not_finished")),
        "{}",
        early.text
    );
    // the retry falls due and succeeds
    let got2 = wait_for(&app, &r, 2, true).await;
    let body = wait_delivery(&app, &tok, ep, |d| d["state"] == "succeeded").await;
    let d = &body["deliveries"][0];
    assert_eq!(d["attempts"], 2);
    assert!(d["next_attempt_at"].is_null());
    let codes: Vec<&Value> = d["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["status"])
        .collect();
    assert_eq!(codes, [&json!(500), &json!(200)]);
    assert_eq!(
        (
            body["counts"]["succeeded"].as_i64(),
            body["counts"]["pending"].as_i64()
        ),
        (Some(1), Some(0))
    );
    for g in &got2 {
        assert_eq!(g.id, webhook_id);
        assert_eq!(g.body, got[0].body);
        assert_eq!(g.signature, expected_signature(&secret, g));
    }
    let event: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(
        (event["type"].as_str(), event["data"]["id"].as_i64()),
        (Some("message.sent"), Some(msg))
    );

    // replay: 202, one more attempt with the same id and body; the same key replays the answer
    let rp = call(
        &app,
        &tok,
        Method::POST,
        &replay_path,
        None,
        Some("replay-1"),
    )
    .await;
    assert_eq!(rp.status, 202, "{}", rp.text);
    assert_eq!(
        (rp.body["object"].as_str(), rp.body["id"].as_i64()),
        (Some("webhook_delivery"), Some(delivery))
    );
    assert_eq!(rp.body["attempt_log"].as_array().unwrap().len(), 2);
    let got3 = wait_for(&app, &r, 3, false).await;
    assert_eq!(
        (got3[2].id.as_str(), &got3[2].body),
        (webhook_id.as_str(), &got[0].body)
    );
    assert_eq!(got3[2].signature, expected_signature(&secret, &got3[2]));
    let rp2 = call(
        &app,
        &tok,
        Method::POST,
        &replay_path,
        None,
        Some("replay-1"),
    )
    .await;
    assert_eq!((rp2.status, &rp2.body), (202, &rp.body));
    assert_eq!(rp2.headers["idempotent-replayed"], "true");
    wait_delivery(&app, &tok, ep, |d| {
        d["state"] == "succeeded" && d["attempts"] == 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(r.got().len(), 3, "the replayed answer queued nothing");

    // disable: new events wait; enable: they are sent
    let off = call(
        &app,
        &tok,
        Method::PATCH,
        &format!("/api/v1/webhooks/{ep}"),
        Some(json!({"enabled": false})),
        None,
    )
    .await;
    assert_eq!(off.status, 200, "{}", off.text);
    assert_eq!(
        (
            off.body["enabled"].as_bool(),
            off.body["disabled_reason"].as_str()
        ),
        (Some(false), Some("manual"))
    );
    assert!(!off.text.contains(&secret));
    let msg2 = app.send_and_deliver("622345678").await;
    for _ in 0..10 {
        app.clock.advance(Duration::from_millis(300));
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert_eq!(r.got().len(), 3, "a disabled endpoint gets nothing");
    let waiting = call(
        &app,
        &tok,
        Method::GET,
        &format!("/api/v1/webhooks/{ep}"),
        None,
        None,
    )
    .await;
    assert_eq!(waiting.body["deliveries"][0]["state"], "pending");
    assert_eq!(waiting.body["counts"]["pending"], 1);
    let on = call(
        &app,
        &tok,
        Method::PATCH,
        &format!("/api/v1/webhooks/{ep}"),
        Some(json!({"enabled": true})),
        None,
    )
    .await;
    assert_eq!(on.status, 200, "{}", on.text);
    assert_eq!(
        (
            on.body["enabled"].as_bool(),
            on.body["disabled_reason"].is_null()
        ),
        (Some(true), true)
    );
    let got4 = wait_for(&app, &r, 4, false).await;
    assert_eq!(got4[3].id, format!("msg_message_sent_{msg2}"));
    let audit = app
        .store
        .list_audit(
            &messagepro_store::AuditFilter::default(),
            messagepro_store::Page::first(30),
        )
        .await
        .unwrap();
    for action in ["webhook.disable", "webhook.enable", "webhook.replay"] {
        assert!(
            audit
                .iter()
                .any(|e| e.action == action && e.username.as_deref() == Some("token:erp")),
            "{action} audited as the token: {audit:?}"
        );
    }

    // delete: 204, then gone
    let del = call(
        &app,
        &tok,
        Method::DELETE,
        &format!("/api/v1/webhooks/{ep}"),
        None,
        None,
    )
    .await;
    assert_eq!((del.status, del.text.as_str()), (204, ""));
    assert!(app.state.core.webhook_endpoints().await.unwrap().is_empty());
    let gone = call(
        &app,
        &tok,
        Method::GET,
        &format!("/api/v1/webhooks/{ep}"),
        None,
        None,
    )
    .await;
    assert_eq!(
        (gone.status, gone.body["code"].as_str()),
        (404, Some("not_found"))
    );
    let del2 = call(
        &app,
        &tok,
        Method::DELETE,
        &format!("/api/v1/webhooks/{ep}"),
        None,
        None,
    )
    .await;
    assert_eq!(
        (del2.status, del2.body["code"].as_str()),
        (404, Some("not_found"))
    );
    let list = call(&app, &tok, Method::GET, "/api/v1/webhooks", None, None).await;
    assert_eq!(list.body["data"], json!([]));
    assert!(audit.iter().all(|e| !format!("{e:?}").contains(&secret)));
    app.cleanup().await;
}

#[tokio::test]
async fn the_webhooks_api_refuses_bad_input_unknown_ids_and_tokens_without_the_scope() {
    let app = hook_app().await;
    let tok = token(&app, "webhooks").await;
    let other = token(&app, "contacts messages:send messages:read events otp").await;
    let good = json!({"url": "https://erp.example.com/hook", "events": ["message.sent"]});

    // 422: plain English, a stable code, the field; nothing recorded
    for (body, code, field, says) in [
        (
            json!({"url": "ftp://erp.example.com/hook", "events": ["message.sent"]}),
            "invalid_url",
            "url",
            "http:// or https://",
        ),
        (
            json!({"url": "not a url", "events": ["message.sent"]}),
            "invalid_url",
            "url",
            "http:// or https://",
        ),
        (
            json!({"url": "https://user:pw@erp.example.com/hook", "events": ["message.sent"]}),
            "invalid_url",
            "url",
            "user name or password",
        ),
        (
            json!({"url": "https://erp.example.com/hook", "events": ["message.sent", "order.paid"]}),
            "unknown_event",
            "events",
            "message.sent, message.failed",
        ),
        (
            json!({"url": "https://erp.example.com/hook", "events": []}),
            "no_events",
            "events",
            "at least one event type",
        ),
        (
            json!({"url": "https://erp.example.com/hook", "events": [" "]}),
            "no_events",
            "events",
            "at least one event type",
        ),
        (
            json!({"url": "https://erp.example.com/hook", "events": ["message.sent"],
                "description": "x".repeat(201)}),
            "invalid_request",
            "description",
            "200 characters",
        ),
    ] {
        let a = call(
            &app,
            &tok,
            Method::POST,
            "/api/v1/webhooks",
            Some(body.clone()),
            None,
        )
        .await;
        assert_eq!(
            (a.status, a.body["code"].as_str()),
            (422, Some(code)),
            "{body} {}",
            a.text
        );
        assert_eq!(a.headers["content-type"], "application/problem+json");
        assert_eq!(a.body["field"], field, "{}", a.text);
        assert_eq!(a.body["type"], format!("urn:messagepro:problem:{code}"));
        let detail = a.body["detail"].as_str().unwrap();
        assert!(detail.contains(says), "{detail}");
        assert!(!detail.contains("webhook."), "no internal code in {detail}");
    }
    for body in [
        json!({"events": ["message.sent"]}),
        json!({"url": "https://erp.example.com/hook", "events": ["message.sent"], "secret": "whsec_x"}),
        json!({"url": "https://erp.example.com/hook", "events": "message.sent"}),
    ] {
        let a = call(
            &app,
            &tok,
            Method::POST,
            "/api/v1/webhooks",
            Some(body.clone()),
            None,
        )
        .await;
        assert_eq!(
            (a.status, a.body["code"].as_str()),
            (422, Some("invalid_request")),
            "{body}"
        );
    }
    assert!(app.state.core.webhook_endpoints().await.unwrap().is_empty());

    // a real one, for the id-based refusals
    let a = call(
        &app,
        &tok,
        Method::POST,
        "/api/v1/webhooks",
        Some(good.clone()),
        None,
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let ep = a.body["id"].as_i64().unwrap();
    let bad_patch = call(
        &app,
        &tok,
        Method::PATCH,
        &format!("/api/v1/webhooks/{ep}"),
        Some(json!({"enabled": "yes"})),
        None,
    )
    .await;
    assert_eq!(
        (bad_patch.status, bad_patch.body["code"].as_str()),
        (422, Some("invalid_request"))
    );
    let bad_patch = call(
        &app,
        &tok,
        Method::PATCH,
        &format!("/api/v1/webhooks/{ep}"),
        Some(json!({"url": "https://elsewhere.example.com"})),
        None,
    )
    .await;
    assert_eq!(
        (bad_patch.status, bad_patch.body["code"].as_str()),
        (422, Some("invalid_request"))
    );
    assert!(app.state.core.webhook_endpoint(ep).await.unwrap().enabled);

    // 404: unknown and non-numeric ids, always a JSON problem
    let patch = Some(json!({"enabled": false}));
    for (m, path, body) in [
        (Method::GET, "/api/v1/webhooks/9999".to_owned(), None),
        (Method::GET, "/api/v1/webhooks/abc".to_owned(), None),
        (Method::GET, "/api/v1/webhooks/1.5".to_owned(), None),
        (
            Method::PATCH,
            "/api/v1/webhooks/9999".to_owned(),
            patch.clone(),
        ),
        (
            Method::PATCH,
            "/api/v1/webhooks/abc".to_owned(),
            patch.clone(),
        ),
        (Method::DELETE, "/api/v1/webhooks/9999".to_owned(), None),
        (Method::DELETE, "/api/v1/webhooks/-x".to_owned(), None),
        (
            Method::POST,
            format!("/api/v1/webhooks/{ep}/deliveries/9999/replay"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/webhooks/{ep}/deliveries/abc/replay"),
            None,
        ),
        (
            Method::POST,
            "/api/v1/webhooks/abc/deliveries/1/replay".to_owned(),
            None,
        ),
        (
            Method::POST,
            "/api/v1/webhooks/9999/deliveries/1/replay".to_owned(),
            None,
        ),
    ] {
        let a = call(&app, &tok, m.clone(), &path, body, None).await;
        assert_eq!(
            (a.status, a.body["code"].as_str()),
            (404, Some("not_found")),
            "{m} {path}: {}",
            a.text
        );
        assert_eq!(
            a.headers["content-type"], "application/problem+json",
            "{m} {path}"
        );
    }
    // a delivery is replayed only under its own endpoint
    let r = receiver(vec![]).await;
    let b = call(
        &app,
        &tok,
        Method::POST,
        "/api/v1/webhooks",
        Some(json!({"url": r.url, "events": ["message.sent"]})),
        None,
    )
    .await;
    let mine = b.body["id"].as_i64().unwrap();
    app.send_and_deliver("621234567").await;
    wait_for(&app, &r, 1, false).await;
    let body = wait_delivery(&app, &tok, mine, |d| d["state"] == "succeeded").await;
    let delivery = body["deliveries"][0]["id"].as_i64().unwrap();
    let wrong = call(
        &app,
        &tok,
        Method::POST,
        &format!("/api/v1/webhooks/{ep}/deliveries/{delivery}/replay"),
        None,
        None,
    )
    .await;
    assert_eq!(
        (wrong.status, wrong.body["code"].as_str()),
        (404, Some("not_found"))
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(r.got().len(), 1, "nothing replayed");

    // 403: every operation, for a token with every other scope; nothing changes
    let replay = format!("/api/v1/webhooks/{mine}/deliveries/{delivery}/replay");
    for (m, path, body) in [
        (Method::GET, "/api/v1/webhooks".to_owned(), None),
        (
            Method::POST,
            "/api/v1/webhooks".to_owned(),
            Some(good.clone()),
        ),
        (Method::GET, format!("/api/v1/webhooks/{ep}"), None),
        (
            Method::PATCH,
            format!("/api/v1/webhooks/{ep}"),
            patch.clone(),
        ),
        (Method::DELETE, format!("/api/v1/webhooks/{ep}"), None),
        (Method::POST, replay.clone(), None),
    ] {
        let a = call(&app, &other, m.clone(), &path, body, None).await;
        assert_eq!(
            (a.status, a.body["code"].as_str(), a.body["scope"].as_str()),
            (403, Some("insufficient_scope"), Some("webhooks")),
            "{m} {path}"
        );
        assert!(!a.text.contains("whsec_"));
    }
    assert_eq!(app.state.core.webhook_endpoints().await.unwrap().len(), 2);
    assert!(app.state.core.webhook_endpoint(ep).await.unwrap().enabled);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(r.got().len(), 1, "nothing replayed");
    // no token at all: 401
    let a = call(&app, "mp_nope", Method::GET, "/api/v1/webhooks", None, None).await;
    assert_eq!(
        (a.status, a.body["code"].as_str()),
        (401, Some("unauthorized"))
    );
    app.cleanup().await;
}
