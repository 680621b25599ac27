//! Webhooks (a tiny axum receiver on port 0 records the platform's form POSTs) and every fault
//! kind: HTML 500, hang until the client times out, reset, accept-then-drop, latency; faults
//! never touch `/_sim/*`.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::extract::{Form, State};
use common::{expect, sim};
use serde_json::json;
use tokio::sync::mpsc;

async fn receiver() -> (String, mpsc::UnboundedReceiver<HashMap<String, String>>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(
                |State(tx): State<mpsc::UnboundedSender<HashMap<String, String>>>,
                 Form(f): Form<HashMap<String, String>>| async move {
                    let _ = tx.send(f);
                    "ok"
                },
            ),
        )
        .with_state(tx);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", l.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(l, app).await.expect("serve") });
    (url, rx)
}

async fn next(
    rx: &mut mpsc::UnboundedReceiver<HashMap<String, String>>,
) -> HashMap<String, String> {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("webhook within 5 s")
        .expect("open")
}

#[tokio::test]
async fn webhooks_for_inbound_sms_whatsapp_and_ussd() {
    let t = sim().await;
    let (url, mut rx) = receiver().await;
    let secret = t.ctl("/_sim/webhook", json!({ "url": url })).await["secret"]
        .as_str()
        .expect("secret")
        .to_string();
    let d = t.fx.devices.clone().expect("devices");
    t.ctl(
        "/_sim/inbound/sms",
        json!({ "device": d.online.unique, "sim": 2, "from": "+224655000001", "message": "Bonjour & merci" }),
    )
    .await;
    let f = next(&mut rx).await;
    assert_eq!(f["secret"], secret);
    assert_eq!(f["type"], "sms");
    assert_eq!(f["data[device]"], d.online.unique);
    assert_eq!(f["data[sim]"], "2");
    assert_eq!(f["data[phone]"], "+224655000001");
    assert_eq!(f["data[message]"], "Bonjour &amp; merci");
    assert!(
        f.contains_key("data[rid]") && f.contains_key("data[timestamp]") && f["data[id]"] == "1"
    );
    let rec = t.list("/api/get/sms.received").await;
    assert_eq!(rec[0]["sender"], "+224655000001");
    // "stop…" (any case) → unsubscribed.
    t.ctl(
        "/_sim/inbound/sms",
        json!({ "from": "+224655000002", "message": "StOp please" }),
    )
    .await;
    next(&mut rx).await;
    let unsub = t.list("/api/get/unsubscribed").await;
    assert_eq!(unsub.len(), 1);
    assert_eq!(unsub[0]["phone"], "+224655000002");
    // WhatsApp inbound.
    t.ctl(
        "/_sim/inbound/whatsapp",
        json!({ "from": "+224621999888", "message": "STOP" }),
    )
    .await;
    let f = next(&mut rx).await;
    assert_eq!(f["type"], "whatsapp");
    assert_eq!(f["data[wid]"], "+224621000111");
    assert_eq!(f["data[attachment]"], "0");
    assert_eq!(
        t.list("/api/get/wa.received").await[0]["recipient"],
        "+224621999888"
    );
    assert_eq!(t.list("/api/get/unsubscribed").await.len(), 2);
    // USSD answer → webhook with id always 1.
    expect(
        &t.api(
            "/api/send/ussd",
            json!({ "code": "*144#", "sim": "2", "device": "{online}" }),
        )
        .await,
        200,
        "USSD request has been queued!",
    );
    expect(
        &t.api(
            "/api/send/ussd",
            json!({ "code": "*145#", "sim": "1", "device": "{online}" }),
        )
        .await,
        200,
        "USSD request has been queued!",
    );
    t.sim.process_queue();
    let mut codes = vec![];
    for _ in 0..2 {
        let f = next(&mut rx).await;
        assert_eq!(f["type"], "ussd");
        assert_eq!(f["data[id]"], "1");
        codes.push(f["data[code]"].clone());
    }
    codes.sort();
    assert_eq!(codes, ["*144#", "*145#"]);
    let u = t.list("/api/get/ussd").await;
    assert!(u.iter().all(|x| x["status"] == "completed" && !x["response"].as_str().unwrap_or("").is_empty()));
    // Notifications.
    t.ctl(
        "/_sim/inbound/notification",
        json!({ "package": "com.whatsapp", "title": "Ali", "content": "Salut" }),
    )
    .await;
    assert_eq!(next(&mut rx).await["type"], "notifications");
    assert_eq!(
        t.list("/api/get/notifications").await[0]["package_name"],
        "com.whatsapp"
    );
}

fn sms_form(t: &common::T, msg: &str) -> Vec<(String, String)> {
    t.pairs(&json!({ "secret": "{full}", "mode": "devices", "phone": "+224621234567", "message": msg, "device": "{online}" }))
}

#[tokio::test]
async fn fault_http_500_html_and_control_unaffected() {
    let t = sim().await;
    t.ctl("/_sim/faults", json!({ "fail_rate": 1.0 })).await;
    let r = t
        .http
        .post(t.url("/api/send/sms"))
        .form(&sms_form(&t, "f"))
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), 500);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/html")
    );
    assert!(
        r.text()
            .await
            .expect("body")
            .contains("500 Internal Server Error")
    );
    // Nothing stored, and /_sim still answers.
    assert!(t.sim.ledger().is_empty());
    let r = t
        .http
        .get(t.url("/_sim/fixture"))
        .send()
        .await
        .expect("fixture");
    assert_eq!(r.status(), 200);
    t.ctl("/_sim/faults", json!({})).await;
    expect(&t.form("/api/send/sms", json!({ "secret": "{full}", "mode": "devices", "phone": "+224621234567", "message": "ok", "device": "{online}" })).await, 200, "Message has been queued for sending!");
}

#[tokio::test]
async fn fault_hang_until_client_timeout() {
    let t = sim().await;
    t.ctl("/_sim/faults", json!({ "hang_rate": 1.0, "hang_ms": 3000 }))
        .await;
    let start = Instant::now();
    let r = t
        .http
        .post(t.url("/api/send/sms"))
        .timeout(Duration::from_millis(300))
        .form(&sms_form(&t, "h"))
        .send()
        .await;
    let err = r.expect_err("must time out");
    assert!(err.is_timeout(), "{err}");
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert!(
        t.sim.ledger().is_empty(),
        "a hanging request is not processed"
    );
}

#[tokio::test]
async fn fault_reset_before_answer() {
    let t = sim().await;
    t.ctl("/_sim/faults", json!({ "reset_rate": 1.0 })).await;
    let err = t
        .http
        .post(t.url("/api/send/sms"))
        .form(&sms_form(&t, "r"))
        .send()
        .await
        .expect_err("must fail");
    assert!(
        err.is_request() || err.is_connect() || err.to_string().contains("connection"),
        "{err}"
    );
    assert!(t.sim.ledger().is_empty(), "reset happens before processing");
}

#[tokio::test]
async fn fault_accept_then_drop() {
    let t = sim().await;
    t.ctl("/_sim/faults", json!({ "drop_after_accept_rate": 1.0 }))
        .await;
    let err = t
        .http
        .post(t.url("/api/send/sms"))
        .form(&sms_form(&t, "ambiguous"))
        .send()
        .await
        .expect_err("no answer");
    assert!(!err.is_timeout(), "{err}");
    // ...but the message was stored: the ambiguous case an outbox must reconcile.
    let ledger = t.sim.ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].text, "ambiguous");
    t.ctl("/_sim/faults", json!({})).await;
    let pending = t.list("/api/get/sms.pending").await;
    assert_eq!(pending[0]["message"], "ambiguous");
}

#[tokio::test]
async fn fault_latency_and_partial_rates_are_seeded() {
    let t = sim().await;
    t.ctl(
        "/_sim/faults",
        json!({ "latency_ms": 150, "jitter_ms": 50 }),
    )
    .await;
    let start = Instant::now();
    expect(
        &t.api("/api/get/credits", json!({})).await,
        200,
        "Remaining Credits",
    );
    let el = start.elapsed();
    assert!(
        el >= Duration::from_millis(150) && el < Duration::from_millis(1500),
        "{el:?}"
    );
    // Half the requests fail: with a fixed seed the pattern is reproducible.
    let pattern = |t: common::T| async move {
        t.ctl("/_sim/faults", json!({ "fail_rate": 0.5 })).await;
        let mut out = Vec::new();
        for _ in 0..20 {
            let r = t
                .http
                .get(t.url("/api/get/credits"))
                .query(&[("secret", t.fx.secrets.full.as_str())])
                .send()
                .await
                .expect("req");
            out.push(r.status().as_u16());
        }
        out
    };
    let a = pattern(sim().await).await;
    let b = pattern(sim().await).await;
    assert_eq!(a, b);
    assert!(a.contains(&500) && a.contains(&200), "{a:?}");
}
