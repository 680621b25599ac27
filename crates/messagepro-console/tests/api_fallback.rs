//! Event rules with a fallback: a WhatsApp order notification the platform cannot deliver is
//! sent once by SMS instead — never when the chat went out, never twice, never to someone who
//! opted out in between — and the API shows the link both ways. Against the simulator, on
//! SQLite, and on PostgreSQL when `MESSAGEPRO_TEST_DATABASE_URL` is set.

mod helpers;

use helpers::messaging::{SimApp, spawn_app_with_sim_settings};
use messagepro_core::Actor;
use messagepro_core::events::RuleInput;
use messagepro_store::MessageStatus;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

/// A console whose worker does not run fallback passes by itself (the test runs them).
async fn app() -> SimApp {
    spawn_app_with_sim_settings(None, true, |s, f| {
        s.default_sms_route = f
            .devices
            .as_ref()
            .map(|d| messagepro::SmsRoute::device(d.online.unique.clone()));
        s.webhooks.poll = None;
    })
    .await
}

async fn token(app: &SimApp) -> String {
    let t = app
        .state
        .core
        .token_create(
            &Actor::System { name: "test" },
            "shop",
            &["events messages:read".to_owned()],
            None,
        )
        .await
        .unwrap();
    t.secret.expose_secret().to_owned()
}

/// `order.validated` → WhatsApp from the connected account, then SMS by the default route.
async fn whatsapp_then_sms(app: &SimApp) {
    let account = app.fixture().whatsapp.unwrap().connected.unique;
    app.state
        .core
        .event_rule_save(
            &Actor::System { name: "test" },
            &RuleInput {
                kind: "order.validated".into(),
                channel: "whatsapp".into(),
                template: "Votre commande #{{order.reference}} a été validée !".into(),
                recipient_path: "client.phone".into(),
                route: json!({ "account": account }).to_string(),
                fallback_channel: "sms".into(),
                enabled: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
}

async fn post_event(app: &SimApp, tok: &str, id: &str) -> Vec<i64> {
    let r = reqwest::Client::new()
        .post(app.at("/api/v1/events"))
        .bearer_auth(tok)
        .json(&json!({"type": "order.validated", "id": id,
            "data": {"order": {"reference": id}, "client": {"phone": "621234567"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let b: Value = r.json().await.unwrap();
    b["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect()
}

async fn get_message(app: &SimApp, tok: &str, id: i64) -> Value {
    reqwest::Client::new()
        .get(app.at(&format!("/api/v1/messages/{id}")))
        .bearer_auth(tok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn ledger(app: &SimApp, kind: &str) -> Vec<messagepro_sim::LedgerEntry> {
    app.sim
        .ledger()
        .into_iter()
        .filter(|e| e.kind == kind && e.recipient == "+224621234567")
        .collect()
}

fn break_whatsapp(app: &SimApp, broken: bool) {
    app.sim
        .patch_platform(&json!({"wa_servers": {"1": {"send_ok": !broken}}}))
        .unwrap();
}

#[tokio::test]
async fn a_whatsapp_message_that_fails_is_sent_once_by_sms_and_linked_both_ways() {
    let app = app().await;
    whatsapp_then_sms(&app).await;
    let tok = token(&app).await;
    break_whatsapp(&app, true);
    let ids = post_event(&app, &tok, "A-12").await;
    assert_eq!(ids.len(), 1);
    app.settle().await;
    let first = app.store.message_by_id(ids[0]).await.unwrap().unwrap();
    assert_eq!(first.status, MessageStatus::Failed, "{first:?}");
    assert!(ledger(&app, "sms").is_empty(), "no SMS before the pass");
    // the API shows the fallback waiting to be recorded
    let m = get_message(&app, &tok, ids[0]).await;
    assert_eq!(m["fallback"]["state"], "due", "{m}");

    // two passes at once (two workers): one fallback message, one SMS
    let core = app.state.core.clone();
    let (a, b) = tokio::join!(core.fallbacks_pass(), app.state.core.fallbacks_pass());
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    assert_eq!(app.state.core.fallbacks_pass().await.unwrap(), 0);
    app.settle().await;
    let sms = ledger(&app, "sms");
    assert_eq!(sms.len(), 1, "{sms:?}");
    assert_eq!(sms[0].text, "Votre commande #A-12 a été validée !");
    assert_eq!(sms[0].submissions, 1);
    assert_eq!(sms[0].route, "device");

    let m = get_message(&app, &tok, ids[0]).await;
    assert_eq!(m["status"], "failed");
    assert_eq!(m["fallback"]["state"], "done");
    let fid = m["fallback"]["message_id"].as_i64().expect("fallback id");
    let f = get_message(&app, &tok, fid).await;
    assert_eq!(f["channel"], "sms");
    assert_eq!(f["fallback_of"], ids[0]);
    assert_eq!(f["text"], "Votre commande #A-12 a été validée !");
    assert!(f["fallback"].is_null(), "a fallback has no fallback: {f}");
    // audited as the system's
    let audit = app
        .store
        .list_audit(&Default::default(), messagepro_store::Page::first(50))
        .await
        .unwrap();
    let entry = audit
        .iter()
        .find(|a| a.action == "message.fallback")
        .expect("audited");
    assert_eq!(entry.username.as_deref(), Some("system:fallback"));
    assert!(
        entry
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains(&format!("message {} failed", ids[0])),
        "{entry:?}"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn no_fallback_when_the_chat_goes_out_or_the_customer_opted_out_meanwhile() {
    let app = app().await;
    whatsapp_then_sms(&app).await;
    let tok = token(&app).await;
    // delivered on WhatsApp: the fallback is not needed
    let ids = post_event(&app, &tok, "A-1").await;
    app.settle().await;
    assert_eq!(
        app.store
            .message_by_id(ids[0])
            .await
            .unwrap()
            .unwrap()
            .status,
        MessageStatus::Sent
    );
    assert_eq!(app.state.core.fallbacks_pass().await.unwrap(), 0);
    let m = get_message(&app, &tok, ids[0]).await;
    assert_eq!(m["fallback"]["state"], "unneeded", "{m}");
    assert!(ledger(&app, "sms").is_empty());
    assert_eq!(ledger(&app, "whatsapp").len(), 1);

    // failed on WhatsApp, then the customer sends STOP before the fallback is recorded
    break_whatsapp(&app, true);
    let ids = post_event(&app, &tok, "A-2").await;
    app.settle().await;
    app.state
        .core
        .opt_out(
            &Actor::System { name: "test" },
            &messagepro::Phone::parse_international("+224621234567").unwrap(),
            Some("STOP"),
        )
        .await
        .unwrap();
    assert_eq!(app.state.core.fallbacks_pass().await.unwrap(), 1);
    app.settle().await;
    let m = get_message(&app, &tok, ids[0]).await;
    let f = get_message(&app, &tok, m["fallback"]["message_id"].as_i64().unwrap()).await;
    assert_eq!(f["status"], "skipped", "{f}");
    assert_eq!(f["reason"], "skip.opted_out");
    assert!(
        ledger(&app, "sms").is_empty(),
        "no SMS to an opted-out number"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_rule_fallback_is_checked_before_it_is_saved() {
    let app = app().await;
    let core = &app.state.core;
    let sys = Actor::System { name: "test" };
    let base = RuleInput {
        kind: "order.shipped".into(),
        channel: "sms".into(),
        template: "Commande {{order.reference}} expédiée".into(),
        recipient_path: "client.phone".into(),
        enabled: true,
        ..Default::default()
    };
    for (fallback_channel, fallback_route, code) in [
        ("fax", "", "rule.invalid_channel"),
        ("", "{\"gateway\": \"1\"}", "rule.fallback_route_alone"),
        ("sms", "not json", "rule.invalid_route"),
        ("sms", "", "rule.fallback_same"),
    ] {
        let e = core
            .event_rule_save(
                &sys,
                &RuleInput {
                    fallback_channel: fallback_channel.into(),
                    fallback_route: fallback_route.into(),
                    ..base.clone()
                },
            )
            .await
            .unwrap_err();
        assert_eq!(e.code(), code);
    }
    assert!(
        app.store
            .event_rule("order.shipped")
            .await
            .unwrap()
            .is_none(),
        "nothing saved"
    );
    core.event_rule_save(
        &sys,
        &RuleInput {
            fallback_channel: "sms".into(),
            fallback_route: "{\"gateway\": \"1\"}".into(),
            ..base.clone()
        },
    )
    .await
    .unwrap();
    let rule = app
        .store
        .event_rule("order.shipped")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rule.fallback_channel.as_deref(), Some("sms"));
    assert_eq!(rule.fallback_route.as_deref(), Some("{\"gateway\": \"1\"}"));
    app.cleanup().await;
}

#[tokio::test]
async fn an_api_message_with_a_fallback_goes_out_by_sms_when_whatsapp_fails() {
    let app = app().await;
    let t = app
        .state
        .core
        .token_create(
            &Actor::System { name: "test" },
            "erp",
            &["messages:send messages:read".to_owned()],
            None,
        )
        .await
        .unwrap();
    let tok = t.secret.expose_secret().to_owned();
    let account = app.fixture().whatsapp.unwrap().connected.unique;
    let send = |body: Value| {
        let (url, tok) = (app.at("/api/v1/messages"), tok.clone());
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .bearer_auth(tok)
                .json(&body)
                .send()
                .await
                .unwrap();
            let s = r.status().as_u16();
            (s, r.json::<Value>().await.unwrap())
        }
    };
    // refused, recording nothing: an unknown fallback channel, the same way twice
    let (s, b) = send(
        json!({"channel": "sms", "to": "621234567", "text": "Bonjour",
        "fallback": {"channel": "fax"}}),
    )
    .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (422, Some("invalid_request")),
        "{b}"
    );
    assert!(b["detail"].as_str().unwrap().contains("fallback.channel"));
    let (s, b) = send(
        json!({"channel": "sms", "to": "621234567", "text": "Bonjour",
        "fallback": {"channel": "sms"}}),
    )
    .await;
    assert_eq!(s, 422, "{b}");
    assert!(
        b["detail"]
            .as_str()
            .unwrap()
            .contains("another channel or route")
    );
    assert!(
        app.store
            .list_messages(&Default::default(), messagepro_store::Page::first(10))
            .await
            .unwrap()
            .is_empty()
    );

    break_whatsapp(&app, true);
    let (s, b) = send(
        json!({"channel": "whatsapp", "to": "621234567", "text": "Votre colis est arrivé",
        "route": {"account": account}, "fallback": {"channel": "sms"}}),
    )
    .await;
    assert_eq!(s, 202, "{b}");
    let id = b["id"].as_i64().unwrap();
    app.settle().await;
    assert_eq!(app.state.core.fallbacks_pass().await.unwrap(), 1);
    app.settle().await;
    let sms = ledger(&app, "sms");
    assert_eq!(sms.len(), 1, "{sms:?}");
    assert_eq!(sms[0].text, "Votre colis est arrivé");
    let m = get_message(&app, &tok, id).await;
    assert_eq!(
        (m["status"].as_str(), m["fallback"]["state"].as_str()),
        (Some("failed"), Some("done"))
    );
    app.cleanup().await;
}
