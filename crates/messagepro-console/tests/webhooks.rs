//! Webhooks out, end to end: a receiver on 127.0.0.1 answers as a test scripts it; deliveries
//! are checked against the Standard Webhooks signature by an independent HMAC here and by the
//! specification's Python verifier (`standardwebhooks` from PyPI); retries keep the
//! `webhook-id`; 410 and an exhausted schedule disable the endpoint; the log and the replay
//! button work from the console. Runs on SQLite, and on PostgreSQL when
//! `MESSAGEPRO_TEST_DATABASE_URL` is set.

mod helpers;

use std::time::Duration;

use helpers::messaging::{SimApp, spawn_app_with_sim_settings};
use helpers::receiver::{Received, Receiver, receiver};
use messagepro::SmsRoute;
use messagepro_core::webhooks::{WebhookInput, WebhookSettings};
use messagepro_core::{Actor, SendRequest};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

const INTAKE_SECRET: &str = "intake-secret-for-tests";

/// The console with a fast webhook schedule (the same shape: 7 retries) and the intake on.
async fn hook_app() -> SimApp {
    spawn_app_with_sim_settings(None, true, |s, f| {
        s.webhooks = WebhookSettings {
            retry: vec![Duration::from_millis(200); 7],
            poll: Some(Duration::from_millis(30)),
            timeout: Duration::from_secs(5),
            lease: Duration::from_secs(10),
            batch: 16,
        };
        s.webhook_secret = Some(SecretString::from(INTAKE_SECRET));
        s.default_sms_route = f
            .devices
            .as_ref()
            .map(|d| SmsRoute::device(d.online.unique.clone()));
    })
    .await
}

async fn audit(app: &SimApp, n: i64) -> Vec<messagepro_store::AuditEntry> {
    app.store
        .list_audit(
            &messagepro_store::AuditFilter::default(),
            messagepro_store::Page::first(n),
        )
        .await
        .unwrap()
}

fn system() -> Actor {
    Actor::System { name: "test" }
}

async fn endpoint(app: &SimApp, url: &str, events: &[&str]) -> (i64, String) {
    let (id, secret) = app
        .state
        .core
        .webhook_create(
            &system(),
            &WebhookInput {
                url: url.to_owned(),
                description: "ERP".into(),
                events: events.iter().map(|e| (*e).to_owned()).collect(),
            },
        )
        .await
        .unwrap();
    (id, secret.expose_secret().to_owned())
}

/// Waits (moving the test's clock on, so retries fall due) until `n` requests arrived.
async fn wait_for(app: &SimApp, r: &Receiver, n: usize) -> Vec<Received> {
    for _ in 0..400 {
        let got = r.got();
        if got.len() >= n {
            return got;
        }
        app.clock.advance(Duration::from_millis(100));
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{} requests instead of {n}: {:?}", r.got().len(), r.got());
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

/// Verifies the deliveries with the specification's Python library; `false` when it is not
/// installed (and not required).
async fn python_verifies(secret: &str, got: &[Received]) -> bool {
    let found = std::process::Command::new("python3")
        .args(["-c", "import standardwebhooks"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert_ne!(
            std::env::var("MESSAGEPRO_PYTHON_TESTS").as_deref(),
            Ok("required"),
            "the Python package standardwebhooks is required (MESSAGEPRO_PYTHON_TESTS=required)"
        );
        eprintln!("skipped the reference verifier: pip install standardwebhooks");
        return false;
    }
    let list: Vec<Value> = got
        .iter()
        .map(|r| {
            serde_json::json!({"body": r.body, "headers": {"webhook-id": r.id,
                "webhook-timestamp": r.timestamp, "webhook-signature": r.signature}})
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deliveries.json");
    std::fs::write(&file, serde_json::to_string(&list).unwrap()).unwrap();
    let script = "import json, sys\n\
        from standardwebhooks.webhooks import Webhook\n\
        wh = Webhook(sys.argv[1])\n\
        for d in json.load(open(sys.argv[2])):\n    wh.verify(d['body'], d['headers'])\n\
        try:\n    wh.verify(d['body'] + ' ', d['headers'])\n    sys.exit('a changed body verified')\n\
        except Exception:\n    pass\n\
        print('verified', len(json.load(open(sys.argv[2]))))\n";
    let out = tokio::process::Command::new("python3")
        .args(["-c", script, secret])
        .arg(&file)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "the reference verifier refused: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("verified {}", got.len())
    );
    true
}

#[tokio::test]
async fn a_receiver_failing_twice_gets_the_event_three_times_with_one_id_and_the_log_shows_it() {
    let app = hook_app().await;
    let r = receiver(vec![500, 500]).await;
    let (ep, secret) = endpoint(&app, &r.url, &["message.sent"]).await;
    assert!(secret.starts_with("whsec_"));
    let id = app.send_and_deliver("621234567").await;
    let got = wait_for(&app, &r, 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got_now = r.got();
    assert_eq!(got_now.len(), 3, "a 200 ends the retries: {got_now:?}");
    let webhook_id = format!("msg_message_sent_{id}");
    for g in &got {
        assert_eq!(g.id, webhook_id);
        assert_eq!(g.body, got[0].body, "the same bytes on every attempt");
        assert_eq!(g.signature, expected_signature(&secret, g));
        let age = chrono::Utc::now().timestamp() - g.timestamp.parse::<i64>().unwrap();
        assert!(age.abs() < 60, "webhook-timestamp is now, in seconds");
    }
    let body: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body["type"], "message.sent");
    assert_eq!(body["data"]["id"], id);
    assert_eq!(body["data"]["to"], "+224621234567");
    assert_eq!(body["data"]["status"], "sent");
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
    python_verifies(&secret, &got).await;

    // the log: one delivery, three attempts 500, 500, 200
    let log = app.state.core.webhook_log(ep, 10).await.unwrap();
    assert_eq!(log.deliveries.len(), 1);
    let (d, attempts) = &log.deliveries[0];
    assert_eq!((d.state.as_str(), d.attempts), ("succeeded", 3));
    let codes: Vec<Option<i64>> = attempts.iter().map(|a| a.status).collect();
    assert_eq!(codes, [Some(500), Some(500), Some(200)]);
    // …and the admin sees it, secret nowhere
    app.login_as("admin").await;
    let page = app
        .get(&format!("/admin/webhooks/{ep}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(&webhook_id), "{page}");
    assert_eq!(page.matches("<strong>500</strong>").count(), 2, "{page}");
    assert_eq!(page.matches("<strong>200</strong>").count(), 1);
    assert!(!page.contains(&secret));
    let list = app.get("/admin/webhooks").await.text().await.unwrap();
    assert!(list.contains(&r.url) && !list.contains(&secret));

    // replay: once more, same id and body
    let resp = app
        .post(&format!("/admin/webhooks/deliveries/{}/replay", d.id), &[])
        .await;
    assert_eq!(resp.status(), 303);
    let again = wait_for(&app, &r, 4).await;
    assert_eq!(
        (again[3].id.as_str(), &again[3].body),
        (webhook_id.as_str(), &got[0].body)
    );
    let audit = audit(&app, 20).await;
    assert!(audit.iter().any(|a| a.action == "webhook.replay"));
    // finished deliveries are kept 30 days, then purged with their log
    for _ in 0..200 {
        let log = app.state.core.webhook_log(ep, 10).await.unwrap();
        if log.deliveries[0].0.state == "succeeded" && log.deliveries[0].1.len() == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        app.state.core.webhook_purge().await.unwrap(),
        0,
        "too recent"
    );
    app.clock.advance(Duration::from_secs(31 * 24 * 3600));
    assert_eq!(app.state.core.webhook_purge().await.unwrap(), 1);
    let log = app.state.core.webhook_log(ep, 10).await.unwrap();
    assert!(log.deliveries.is_empty());
    app.cleanup().await;
}

#[tokio::test]
async fn a_410_disables_the_endpoint_and_an_exhausted_schedule_too() {
    let app = hook_app().await;
    let gone = receiver(vec![410]).await;
    let (ep_gone, _) = endpoint(&app, &gone.url, &["message.sent"]).await;
    let down = receiver(vec![503; 20]).await;
    let (ep_down, _) = endpoint(&app, &down.url, &["message.sent"]).await;
    app.send_and_deliver("621234567").await;
    wait_for(&app, &gone, 1).await;
    // 1 attempt + 7 retries, then failed and disabled
    wait_for(&app, &down, 8).await;
    for _ in 0..100 {
        if !app
            .state
            .core
            .webhook_endpoint(ep_down)
            .await
            .unwrap()
            .enabled
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let g = app.state.core.webhook_endpoint(ep_gone).await.unwrap();
    assert_eq!(
        (g.enabled, g.disabled_reason.as_deref()),
        (false, Some("gone"))
    );
    let d = app.state.core.webhook_endpoint(ep_down).await.unwrap();
    assert_eq!(
        (d.enabled, d.disabled_reason.as_deref()),
        (false, Some("failing"))
    );
    let log = app.state.core.webhook_log(ep_down, 10).await.unwrap();
    assert_eq!(log.deliveries[0].0.state, "failed");
    assert_eq!(log.deliveries[0].1.len(), 8);
    // a disabled endpoint gets nothing more: its new deliveries wait
    app.send_and_deliver("622345678").await;
    for _ in 0..10 {
        app.clock.advance(Duration::from_millis(500));
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert_eq!(gone.got().len(), 1);
    assert_eq!(down.got().len(), 8);
    // enabling it again delivers what waited
    app.login_as("admin").await;
    let resp = app
        .post(&format!("/admin/webhooks/{ep_gone}/enable"), &[])
        .await;
    assert_eq!(resp.status(), 303);
    let got = wait_for(&app, &gone, 2).await;
    assert!(got[1].id.starts_with("msg_message_sent_"));
    assert_ne!(got[1].id, got[0].id);
    let audit = audit(&app, 30).await;
    assert!(
        audit
            .iter()
            .any(|a| a.action == "webhook.disable" && a.detail.as_deref() == Some("gone"))
    );
    app.cleanup().await;
}

#[tokio::test]
async fn received_stop_verified_otp_and_failures_reach_their_subscribers_never_the_code() {
    let app = hook_app().await;
    let r = receiver(vec![]).await;
    let all = [
        "message.sent",
        "message.failed",
        "message.received",
        "contact.opted_out",
        "otp.verified",
    ];
    let (_, secret) = endpoint(&app, &r.url, &all).await;
    let only_received = receiver(vec![]).await;
    endpoint(&app, &only_received.url, &["message.received"]).await;

    // a STOP received from the platform: message.received and contact.opted_out
    let hook = app.at("/webhooks/messagepro");
    app.sim
        .set_webhook(Some(hook), Some(INTAKE_SECRET.to_owned()));
    app.sim.inject_sms(None, "+224622345678", "STOP").unwrap();
    let got = wait_for(&app, &r, 2).await;
    let types: Vec<String> = got
        .iter()
        .map(|g| {
            serde_json::from_str::<Value>(&g.body).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(types.contains(&"message.received".to_owned()), "{types:?}");
    assert!(types.contains(&"contact.opted_out".to_owned()), "{types:?}");
    let opted = got
        .iter()
        .map(|g| serde_json::from_str::<Value>(&g.body).unwrap())
        .find(|b| b["type"] == "contact.opted_out")
        .unwrap();
    assert_eq!(opted["data"]["phone"], "+224622345678");
    assert_eq!(opted["data"]["source"], "inbound");
    let only = wait_for(&app, &only_received, 1).await;
    assert_eq!(only.len(), 1, "subscribed to message.received only");
    let rec: Value = serde_json::from_str(&only[0].body).unwrap();
    assert_eq!(
        (rec["type"].as_str(), rec["data"]["text"].as_str()),
        (Some("message.received"), Some("STOP"))
    );

    // an OTP sent and verified: otp.verified, and the code in no body
    let tok = app
        .state
        .core
        .token_create(&system(), "t", &["otp".to_owned()], None)
        .await
        .unwrap();
    let tok = tok.secret.expose_secret().to_owned();
    let http = reqwest::Client::new();
    let a: Value = http
        .post(app.at("/api/v1/otp"))
        .bearer_auth(&tok)
        .json(&serde_json::json!({"to": "623456789", "purpose": "signup"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(a["id"].is_i64(), "{a}");
    app.settle().await;
    let text = app
        .sim
        .ledger()
        .into_iter()
        .find(|e| e.recipient == "+224623456789")
        .expect("the code was texted")
        .text;
    let code: String = text.chars().filter(char::is_ascii_digit).collect();
    assert!(code.len() >= 4, "{text}");
    let v = http
        .post(app.at("/api/v1/otp/verify"))
        .bearer_auth(&tok)
        .json(&serde_json::json!({"to": "623456789", "purpose": "signup", "code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(v.status(), 200);
    // the OTP message was sent too (message.sent of an OTP has no text)
    app.sim.process_queue();
    app.sync().await;
    let got = wait_for(&app, &r, 4).await;
    let bodies: Vec<Value> = got
        .iter()
        .map(|g| serde_json::from_str(&g.body).unwrap())
        .collect();
    let verified = bodies
        .iter()
        .find(|b| b["type"] == "otp.verified")
        .expect("otp.verified delivered");
    assert_eq!(verified["data"]["to"], "+224623456789");
    assert_eq!(verified["data"]["purpose"], "signup");
    for g in &got {
        assert!(
            !g.body.contains(&code),
            "the code left in a webhook: {}",
            g.body
        );
        assert_eq!(g.signature, expected_signature(&secret, g));
    }

    // a send refused before any call (offline device): message.failed
    let phone = messagepro::Phone::parse("624567890", "GN").unwrap();
    let req = SendRequest::sms(phone, "Hors ligne", SmsRoute::device(app.offline_device()));
    let failed_id = match app.state.core.submit(&system(), req).await {
        Err(messagepro_core::SendError::Failed { message_id, .. }) => message_id,
        other => panic!("{other:?}"),
    };
    let n = r.got().len();
    let got = wait_for(&app, &r, n + 1).await;
    let failed: Value = serde_json::from_str(&got[n].body).unwrap();
    assert_eq!(failed["type"], "message.failed");
    assert_eq!(failed["data"]["id"], failed_id);
    assert!(failed["data"]["error"].is_string(), "{failed}");
    app.cleanup().await;
}

#[tokio::test]
async fn the_admin_page_adds_an_endpoint_shows_its_secret_once_and_refuses_bad_input() {
    let app = hook_app().await;
    app.login_as("admin").await;
    // bad URL, no event, credentials in the URL: 422, translated, nothing recorded
    for (url, event, fr) in [
        (
            "ftp://erp.local/hook",
            "message.sent",
            "Indiquez une URL complète",
        ),
        (
            "https://erp.example.com/hook",
            "",
            "Cochez au moins un événement",
        ),
        (
            "https://u:p@erp.example.com/hook",
            "message.sent",
            "Ne mettez ni nom",
        ),
        (
            "https://erp.example.com/hook",
            "message.bogus",
            "Événement inconnu",
        ),
    ] {
        let r = app
            .post("/admin/webhooks", &[("url", url), ("event", event)])
            .await;
        assert_eq!(r.status(), 422, "{url} {event}");
        let b = r.text().await.unwrap();
        assert!(b.contains(fr), "{b}");
        assert!(
            b.contains(url.split("//").nth(1).unwrap_or(url)) || url.contains('@'),
            "the form keeps the URL"
        );
    }
    assert!(app.state.core.webhook_endpoints().await.unwrap().is_empty());
    // English too
    let r = app.post("/language", &[("lang", "en")]).await;
    assert!(r.status().is_redirection() || r.status().is_success());
    let b = app
        .post(
            "/admin/webhooks",
            &[("url", "nope"), ("event", "otp.verified")],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(b.contains("Give a full http:// or https:// URL."), "{b}");
    // a good one: the secret once
    let r = app
        .post(
            "/admin/webhooks",
            &[
                ("url", "https://erp.example.com/hook"),
                ("description", "ERP"),
                ("event", "message.sent"),
                ("event", "otp.verified"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let b = r.text().await.unwrap();
    let secret = regex_lite::Regex::new(r"whsec_[A-Za-z0-9+/=]{40,}")
        .unwrap()
        .find(&b)
        .expect("the secret is shown")
        .as_str()
        .to_owned();
    let eps = app.state.core.webhook_endpoints().await.unwrap();
    assert_eq!(eps.len(), 1);
    assert_eq!(eps[0].secret, secret);
    assert_eq!(eps[0].events, "message.sent otp.verified");
    assert!(
        !format!("{:?}", eps[0]).contains(&secret),
        "Debug hides the secret"
    );
    let list = app.get("/admin/webhooks").await.text().await.unwrap();
    assert!(list.contains("https://erp.example.com/hook") && !list.contains(&secret));
    let audit = audit(&app, 10).await;
    assert!(audit.iter().any(|a| a.action == "webhook.create"));
    assert!(
        audit
            .iter()
            .all(|a| !a.detail.as_deref().unwrap_or("").contains(&secret))
    );
    // disable, delete
    let id = eps[0].id;
    let r = app
        .post(&format!("/admin/webhooks/{id}/disable"), &[])
        .await;
    assert_eq!(r.status(), 303);
    assert!(!app.state.core.webhook_endpoint(id).await.unwrap().enabled);
    let r = app.post(&format!("/admin/webhooks/{id}/delete"), &[]).await;
    assert_eq!(r.status(), 303);
    assert!(app.state.core.webhook_endpoints().await.unwrap().is_empty());
    assert_eq!(app.get("/admin/webhooks/9999").await.status(), 404);
    // not an admin: refused
    let other = helpers::TestApp::with_client(&app, helpers::new_client());
    other.login_as("operateur").await;
    assert_eq!(other.get("/admin/webhooks").await.status(), 403);
    app.cleanup().await;
}

#[tokio::test]
async fn an_unreachable_endpoint_shows_a_translated_reason_and_a_scheduled_retry() {
    let app = hook_app().await;
    // a port nothing listens on
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks", closed.local_addr().unwrap());
    drop(closed);
    let (ep, _) = endpoint(&app, &url, &["message.sent"]).await;
    app.send_and_deliver("621234567").await;
    let mut log = app.state.core.webhook_log(ep, 10).await.unwrap();
    for _ in 0..200 {
        if log.deliveries.first().is_some_and(|d| !d.1.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        log = app.state.core.webhook_log(ep, 10).await.unwrap();
    }
    let attempt = &log.deliveries[0].1[0];
    assert_eq!(attempt.status, None);
    assert_eq!(attempt.error.as_deref(), Some("connect"));
    assert!(
        attempt
            .response
            .as_deref()
            .is_some_and(|r| !r.contains("/hooks")),
        "the library's words, without the URL: {:?}",
        attempt.response
    );
    app.login_as("admin").await;
    let page = app
        .get(&format!("/admin/webhooks/{ep}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Connexion impossible"), "{page}");
    assert!(page.contains("Nouvel essai prévu"));
    // the library's English words only on hover
    assert_eq!(
        page.matches("error sending request").count(),
        page.matches("title=\"error sending request").count()
    );
    assert!(page.contains("État\u{a0}:"), "French punctuation");
    // an id that is not a number is a page that says so, not a raw 400
    let r = app.get("/admin/webhooks/new").await;
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("<html"));
    app.cleanup().await;
}
