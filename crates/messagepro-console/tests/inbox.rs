//! The inbox (`/messaging/inbox`): the SMS and WhatsApp messages the platform's webhook posts to
//! `/webhooks/messagepro`, newest first, HTML-escaped, with what was done (STOP / START / kept),
//! the channel filter, the pages, the empty state, the permission and both languages. Runs on
//! SQLite, and on PostgreSQL when `MESSAGEPRO_TEST_DATABASE_URL` is set.

mod helpers;

use std::time::Duration;

use helpers::{TestApp, new_client, spawn_app, spawn_app_with};
use secrecy::SecretString;

const SECRET: &str = "whsec-inbox-test-0123456789";

async fn app() -> TestApp {
    spawn_app_with(|s| s.webhook_secret = Some(SecretString::from(SECRET))).await
}

/// Posts one received message as the platform does (`type`, `data[…]`, the webhook secret).
async fn receive(app: &TestApp, kind: &str, id: u32, phone: &str, message: &str) {
    let id = id.to_string();
    let on = if kind == "whatsapp" {
        ("data[wid]", "+224628000999")
    } else {
        ("data[device]", "00000000-dev-1")
    };
    let r = reqwest::Client::new()
        .post(app.at("/webhooks/messagepro"))
        .form(&[
            ("secret", SECRET),
            ("type", kind),
            ("data[id]", id.as_str()),
            on,
            ("data[phone]", phone),
            ("data[message]", message),
            ("data[timestamp]", "1717171717"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

/// Waits until every stored post is applied (the intake applies them on its own task).
async fn settled(app: &TestApp) {
    for _ in 0..250 {
        if app.store.inbound_pending(10).await.unwrap().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the webhook posts were never applied");
}

/// The inbox page's HTML (status 200 asserted).
async fn inbox(app: &TestApp, query: &str) -> String {
    let r = app.get(&format!("/messaging/inbox{query}")).await;
    assert_eq!(r.status(), 200, "/messaging/inbox{query}");
    // long words carry `<wbr>` break points: the assertions read the text without them
    r.text().await.unwrap().replace("<wbr>", "")
}

fn rows(html: &str) -> usize {
    html.matches("class=\"inbox-row\"").count()
}

#[tokio::test]
async fn received_messages_show_sender_and_text_escaped_newest_first_and_filter_by_channel() {
    let app = app().await;
    app.login_as("lecteur").await;
    receive(
        &app,
        "sms",
        1,
        "+224622345678",
        "Bonjour <script>alert(1)</script> & merci",
    )
    .await;
    // the platform escapes received text (wire § 1.6): shown as typed, escaped once
    receive(&app, "whatsapp", 7, "+224655123456", "Tom &amp; Jerry").await;
    settled(&app).await;

    let all = inbox(&app, "").await;
    assert_eq!(rows(&all), 2);
    assert!(all.contains("+224622345678") && all.contains("+224655123456"));
    assert!(
        all.contains("Bonjour &#60;script&#62;alert(1)&#60;/script&#62; &#38; merci"),
        "text not escaped: {all}"
    );
    assert!(
        !all.contains("<script>alert(1)"),
        "raw script tag in the page"
    );
    assert!(all.contains("Tom &#38; Jerry") && !all.contains("&#38;amp;"));
    assert!(all.contains("Enregistré"), "outcome of an ordinary message");
    // newest first
    let wa = all.find("+224655123456").unwrap();
    let sms = all.find("+224622345678").unwrap();
    assert!(wa < sms, "the WhatsApp message came last and shows first");
    // the kind badges
    assert!(all.contains("badge badge-whatsapp\">WhatsApp<"));
    assert!(all.contains("badge badge-sms\">SMS<"));

    let only_sms = inbox(&app, "?kind=sms").await;
    assert_eq!(rows(&only_sms), 1);
    assert!(only_sms.contains("+224622345678") && !only_sms.contains("+224655123456"));
    assert!(only_sms.contains("href=\"/messaging/inbox?kind=sms\" aria-current=\"page\""));
    let only_wa = inbox(&app, "?kind=whatsapp").await;
    assert_eq!(rows(&only_wa), 1);
    assert!(only_wa.contains("+224655123456") && !only_wa.contains("+224622345678"));
    assert_eq!(app.get("/messaging/inbox?kind=ussd").await.status(), 400);
    app.cleanup().await;
}

#[tokio::test]
async fn a_stop_shows_the_opt_out_and_a_start_the_opt_in() {
    let app = app().await;
    app.login_as("lecteur").await;
    receive(&app, "sms", 1, "+224622345678", "STOP").await;
    settled(&app).await;
    assert!(
        app.store
            .suppression("+224622345678")
            .await
            .unwrap()
            .is_some()
    );
    let page = inbox(&app, "").await;
    assert!(page.contains("STOP → ajouté aux désinscrits"), "{page}");
    assert!(!page.contains("START → retiré"));

    receive(&app, "whatsapp", 2, "+224622345678", "START").await;
    settled(&app).await;
    let page = inbox(&app, "").await;
    assert!(page.contains("START → retiré des désinscrits"));
    assert!(
        page.contains("STOP → ajouté aux désinscrits"),
        "the STOP row stays"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_user_without_messaging_read_is_refused_and_has_no_inbox_link() {
    let app = app().await;
    app.store
        .create_role("otp-desk", "", &["messaging.send_otp"], 0)
        .await
        .unwrap();
    app.login_as("otp-desk").await;
    assert_eq!(app.get("/messaging/inbox").await.status(), 403);
    let otp = app.get("/messaging/otp/send").await.text().await.unwrap();
    assert!(!otp.contains("href=\"/messaging/inbox\""));

    let reader = TestApp::with_client(&app, new_client());
    reader.login_as("lecteur").await;
    let dash = reader.get("/messaging/").await.text().await.unwrap();
    assert!(
        dash.contains("href=\"/messaging/inbox\""),
        "nav link missing"
    );
    let page = inbox(&reader, "").await;
    assert!(
        page.contains("href=\"/messaging/inbox\" class=\"active\" aria-current=\"page\""),
        "the nav marks the inbox as current"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn the_empty_state_says_where_to_point_the_webhook() {
    let app = app().await;
    app.login_as("lecteur").await;
    let page = inbox(&app, "").await;
    assert_eq!(rows(&page), 0);
    assert!(page.contains("Aucun message reçu pour"), "{page}");
    let host = app.url.trim_start_matches("http://");
    assert!(
        page.contains(&format!("value=\"http://{host}/webhooks/messagepro\"")),
        "webhook URL missing"
    );
    assert!(page.contains("Le secret du webhook est configuré"));
    assert!(!page.contains("MESSAGEPRO_WEBHOOK_SECRET"));
    let wa = inbox(&app, "?kind=whatsapp").await;
    assert!(wa.contains("Aucun message WhatsApp reçu"));

    // without a secret the platform's posts are refused: the page says what to configure
    let bare = spawn_app().await;
    bare.login_as("lecteur").await;
    let page = inbox(&bare, "").await;
    assert!(page.contains("MESSAGEPRO_WEBHOOK_SECRET"));
    bare.cleanup().await;
    app.cleanup().await;
}

#[tokio::test]
async fn the_inbox_renders_in_french_and_in_english() {
    let app = app().await;
    app.login_as("lecteur").await;
    receive(&app, "sms", 1, "+224622345678", "STOP").await;
    receive(&app, "sms", 2, "+224622345679", "Merci").await;
    settled(&app).await;
    let fr = inbox(&app, "").await;
    assert!(fr.contains("<html lang=\"fr\">"));
    assert!(fr.contains("<title>Messages reçus"));
    assert!(fr.contains("Expéditeur") && fr.contains("Enregistré"));
    let r = app
        .post("/language", &[("lang", "en"), ("next", "/messaging/inbox")])
        .await;
    assert_eq!(r.status(), 303);
    let en = inbox(&app, "").await;
    assert!(en.contains("<html lang=\"en\">"));
    assert!(en.contains("<title>Inbox"));
    assert!(en.contains("STOP → added to the opt-out list"));
    assert!(en.contains("Sender") && en.contains("Stored"));
    assert!(
        !en.contains("messaging.inbox."),
        "a key without a translation"
    );
    assert!(
        !fr.contains("messaging.inbox."),
        "a key without a translation"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn the_inbox_pages_by_fifty_to_older_messages() {
    let app = app().await;
    app.login_as("lecteur").await;
    for i in 1..=51 {
        receive(&app, "sms", i, "+224622345678", &format!("message n°{i}.")).await;
    }
    settled(&app).await;
    let first = inbox(&app, "").await;
    assert_eq!(rows(&first), 50);
    assert!(first.contains("message n°51.") && !first.contains("message n°1."));
    let re = regex_lite::Regex::new(r#"href="(/messaging/inbox\?before=\d+)""#).unwrap();
    let next = re.captures(&first).expect("an older page link")[1].to_owned();
    let older = inbox(&app, next.trim_start_matches("/messaging/inbox")).await;
    assert_eq!(rows(&older), 1);
    assert!(older.contains("message n°1.") && !older.contains("message n°2."));
    app.cleanup().await;
}
