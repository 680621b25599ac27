//! OTP pages over HTTP against the in-process simulator: rendering per role, send then verify
//! (once), the binding to the phone, expiry, the attempt limit, `{{otp}}` validation — and the
//! code itself never in a page, the audit log or the local record.

mod helpers;

use std::time::Duration;

use helpers::SENTINEL_SECRET;
use helpers::messaging::{SimApp, spawn_app_with_sim};
use messagepro_store::{AuditFilter, Channel, MessageFilter, Page};

async fn body(r: reqwest::Response) -> (u16, String) {
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The code the simulator put in the last SMS it accepted (6 digits in the text).
fn code_from_ledger(app: &SimApp) -> String {
    let entry = app
        .sim
        .shared()
        .ledger()
        .into_iter()
        .filter(|e| e.kind == "sms")
        .max_by_key(|e| e.id)
        .expect("an SMS in the ledger");
    let re = regex_lite::Regex::new(r"\b(\d{6})\b").unwrap();
    re.captures(&entry.text).expect("a code in the SMS")[1].to_owned()
}

async fn send_otp(app: &SimApp, phone: &str, message: &str, expire: &str) -> (u16, String) {
    let device = app.online_device();
    body(
        app.post(
            "/messaging/otp/send",
            &[
                ("phone", phone),
                ("channel", "sms"),
                ("device", &device),
                ("sim", "1"),
                ("message", message),
                ("expire", expire),
            ],
        )
        .await,
    )
    .await
}

async fn verify(app: &SimApp, phone: &str, code: &str) -> (u16, String) {
    body(
        app.post("/messaging/otp/verify", &[("phone", phone), ("code", code)])
            .await,
    )
    .await
}

/// Every text the console keeps about OTPs: audit entries and local records.
async fn kept_texts(app: &SimApp) -> String {
    let mut out = String::new();
    for e in app
        .store
        .list_audit(&AuditFilter::default(), Page::first(1000))
        .await
        .unwrap()
    {
        out.push_str(&format!(
            "{} {:?} {:?} {}\n",
            e.action, e.target, e.detail, e.outcome
        ));
    }
    for m in app
        .store
        .list_messages(&MessageFilter::default(), Page::first(1000))
        .await
        .unwrap()
    {
        out.push_str(&format!(
            "{} {} {:?} {:?} {}\n",
            m.recipient, m.text, m.platform_id, m.platform_message, m.route
        ));
    }
    out
}

#[tokio::test]
async fn otp_pages_render_for_roles_that_may_send_codes_only() {
    let app = spawn_app_with_sim().await;
    app.login_as("superviseur").await;
    let device = app.online_device();
    let (status, html) = body(app.get("/messaging/otp/send").await).await;
    assert_eq!(status, 200);
    assert!(html.contains(&device), "device picker");
    assert!(
        html.contains("{{otp}}"),
        "default message carries the placeholder"
    );
    assert!(!html.contains(SENTINEL_SECRET));
    assert_eq!(app.get("/messaging/otp/verify").await.status(), 200);

    let op = spawn_app_with_sim().await;
    op.login_as("operateur").await;
    assert_eq!(op.get("/messaging/otp/send").await.status(), 403);
    assert_eq!(op.get("/messaging/otp/verify").await.status(), 403);
    app.cleanup().await;
    op.cleanup().await;
}

#[tokio::test]
async fn a_code_sent_by_sms_verifies_once_and_never_shows_up_anywhere() {
    let app = spawn_app_with_sim().await;
    app.login_as("superviseur").await;
    let mut pages = Vec::new();

    let r = app
        .post(
            "/messaging/otp/send",
            &[
                ("phone", "621 23 45 67"),
                ("channel", "sms"),
                ("device", &app.online_device()),
                ("sim", "1"),
                ("message", "Votre code : {{otp}}"),
                ("expire", "300"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, "/messaging/otp/verify");
    let code = code_from_ledger(&app);
    assert!(!location.contains(&code));

    let (_, html) = body(app.get(&location).await).await;
    assert!(html.contains("Code envoyé à +224621234567"), "{html}");
    pages.push(html);
    pages.push(body(app.get("/messaging/otp/send").await).await.1);

    // the local record keeps the template, not the code
    let rows = app
        .store
        .list_messages(
            &MessageFilter {
                channel: Some(Channel::Otp),
                ..Default::default()
            },
            Page::first(5),
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].text, "Votre code : {{otp}}");

    let (status, html) = verify(&app, "621234567", &code).await;
    assert_eq!(status, 200);
    assert!(html.contains("data-result=\"verified\""), "{html}");
    assert!(html.contains("le numéro est vérifié"));
    pages.push(html);

    let (status, html) = verify(&app, "621234567", &code).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("data-result=\"rejected\""),
        "second use refused: {html}"
    );
    assert!(html.contains("Code invalide ou expiré"));
    pages.push(html);

    // the status sync worker must not bring the code into the record either
    app.sim.shared().process_queue();
    app.sync().await;
    pages.push(body(app.get("/messaging/otp/send").await).await.1);
    pages.push(body(app.get("/admin/audit").await).await.1);

    for p in &pages {
        assert!(!p.contains(&code), "the code is in a page");
        assert!(!p.contains(SENTINEL_SECRET));
    }
    let kept = kept_texts(&app).await;
    assert!(
        kept.contains("otp.send") && kept.contains("otp.verify"),
        "{kept}"
    );
    assert!(!kept.contains(&code), "the code is kept somewhere: {kept}");
    app.cleanup().await;
}

#[tokio::test]
async fn a_code_only_verifies_for_the_phone_it_was_sent_to_and_before_it_expires() {
    let app = spawn_app_with_sim().await;
    app.login_as("superviseur").await;
    let (status, _) = send_otp(&app, "621234567", "Code {{otp}}", "60").await;
    assert_eq!(status, 303);
    let code = code_from_ledger(&app);

    // another phone with the right code: refused locally, the platform is not asked
    let (_, html) = verify(&app, "622000000", &code).await;
    assert!(html.contains("data-result=\"rejected\""), "{html}");

    // past its lifetime
    app.clock.advance(Duration::from_secs(61));
    let (_, html) = verify(&app, "621234567", &code).await;
    assert!(html.contains("data-result=\"rejected\""), "expired: {html}");

    // a new code works, and the old one still does not
    let (status, _) = send_otp(&app, "621234567", "Code {{otp}}", "300").await;
    assert_eq!(status, 303);
    let fresh = code_from_ledger(&app);
    if fresh != code {
        let (_, html) = verify(&app, "621234567", &code).await;
        assert!(html.contains("data-result=\"rejected\""));
    }
    let (_, html) = verify(&app, "621234567", &fresh).await;
    assert!(html.contains("data-result=\"verified\""), "{html}");
    app.cleanup().await;
}

#[tokio::test]
async fn five_wrong_codes_lock_the_phone_until_a_new_code_is_sent() {
    let app = spawn_app_with_sim().await;
    app.login_as("superviseur").await;
    assert_eq!(
        send_otp(&app, "621234567", "Code {{otp}}", "300").await.0,
        303
    );
    let code = code_from_ledger(&app);
    let wrong = if code == "111111" { "222222" } else { "111111" };
    for _ in 0..5 {
        let (status, _) = verify(&app, "621234567", wrong).await;
        assert_eq!(status, 200);
    }
    let (status, html) = verify(&app, "621234567", &code).await;
    assert_eq!(status, 429, "{html}");
    assert!(html.contains("Trop de codes erronés"));
    // a new code right away is refused (cooldown), 30 s later it goes
    let (status, html) = send_otp(&app, "621234567", "Code {{otp}}", "300").await;
    assert_eq!(status, 422);
    assert!(html.contains("Patientez 30 secondes"), "{html}");
    app.clock.advance(Duration::from_secs(30));
    assert_eq!(
        send_otp(&app, "621234567", "Code {{otp}}", "300").await.0,
        303
    );
    let fresh = code_from_ledger(&app);
    let (_, html) = verify(&app, "621234567", &fresh).await;
    assert!(html.contains("data-result=\"verified\""), "{html}");
    app.cleanup().await;
}

#[tokio::test]
async fn a_message_without_the_placeholder_or_a_too_long_expiry_is_refused_clearly() {
    let app = spawn_app_with_sim().await;
    app.login_as("superviseur").await;
    let (status, html) = send_otp(&app, "621234567", "Votre code arrive", "300").await;
    assert_eq!(status, 422);
    assert!(html.contains("Le message doit contenir {{otp}}"), "{html}");
    assert!(
        html.contains("Votre code arrive"),
        "the form keeps the message"
    );
    let (status, html) = send_otp(&app, "621234567", "Code {{otp}}", "900").await;
    assert_eq!(status, 422);
    assert!(html.contains("entre 30 et 600"), "{html}");
    let (status, html) = send_otp(&app, "12", "Code {{otp}}", "300").await;
    assert_eq!(status, 422);
    assert!(html.contains("« 12 »"), "{html}");
    assert!(
        app.sim.shared().ledger().is_empty(),
        "nothing reached the platform"
    );
    let (status, html) = verify(&app, "621234567", "12ab").await;
    assert_eq!(status, 422);
    assert!(html.contains("uniquement des chiffres"));
    app.cleanup().await;
}

#[tokio::test]
async fn a_code_sent_by_whatsapp_through_a_disconnected_account_gives_the_reason() {
    let app = spawn_app_with_sim().await;
    app.login_as("superviseur").await;
    let wa = app.fixture().whatsapp.unwrap();
    let (status, html) = body(
        app.post(
            "/messaging/otp/send",
            &[
                ("phone", "621234567"),
                ("channel", "whatsapp"),
                ("account", &wa.disconnected.unique),
                ("message", "Code {{otp}}"),
                ("expire", "300"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("Ce compte WhatsApp est déconnecté"), "{html}");
    let r = app
        .post(
            "/messaging/otp/send",
            &[
                ("phone", "621234567"),
                ("channel", "whatsapp"),
                ("account", &wa.connected.unique),
                ("message", "Code {{otp}}"),
                ("expire", "300"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let chat = app
        .sim
        .shared()
        .ledger()
        .into_iter()
        .find(|e| e.kind == "whatsapp")
        .expect("the code went out as a chat");
    let re = regex_lite::Regex::new(r"\b(\d{6})\b").unwrap();
    let code = re.captures(&chat.text).expect("a code in the chat")[1].to_owned();
    let (_, html) = verify(&app, "621234567", &code).await;
    assert!(html.contains("data-result=\"verified\""), "{html}");
    assert!(!html.contains(&code));
    app.cleanup().await;
}
