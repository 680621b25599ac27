//! Browser tests: Debian's headless Chromium, driven over WebDriver (chromedriver + fantoccini),
//! against the console wired to an in-process simulator. They prove what HTTP tests cannot: the
//! pages work in a real browser under our CSP (htmx loaded from `/assets`, no inline script).
//!
//! Chromium is a system package, not a crate: when `chromedriver` is not installed the tests print
//! why they skipped — unless `MESSAGEPRO_BROWSER_TESTS=required` (set by `.ci/run`), where a
//! missing browser is a failure.

mod helpers;

use std::time::Duration;

use fantoccini::Locator;

use helpers::browser::Browser;

use helpers::messaging::spawn_app_with_sim;

/// Waits until the text of `css` satisfies `pred` (htmx swaps happen asynchronously).
async fn wait_for_text(b: &Browser, css: &str, pred: impl Fn(&str) -> bool) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(el) = b.client.find(Locator::Css(css)).await
            && let Ok(t) = el.text().await
        {
            if pred(&t) {
                return t;
            }
            last = t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} never matched; last text: {last:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_superviseur_sends_to_a_local_number_and_sees_it_pending_then_sent_in_e164() {
    let Some(b) = helpers::browser::browser("superviseur SMS flow", (1280, 900), None).await else {
        return;
    };
    let app = spawn_app_with_sim().await;
    let user = app.create_user("superviseur").await;
    b.login(&app, &user.username, &user.password).await;

    // Arrange: the send form.
    let c = &b.client;
    c.goto(&app.at("/messaging/sms/send")).await.unwrap();
    c.find(Locator::Css("input[name=phone]"))
        .await
        .unwrap()
        .send_keys("621234567")
        .await
        .unwrap();
    c.find(Locator::Css("textarea[name=message]"))
        .await
        .unwrap()
        .send_keys("Votre commande #A-12 est prête")
        .await
        .unwrap();
    let online = app.online_device();
    c.find(Locator::Css(&format!(
        "select[name=device] option[value='{online}']"
    )))
    .await
    .expect("the online device is offered")
    .click()
    .await
    .unwrap();

    // Act: send.
    c.find(Locator::Css(
        "form[action='/messaging/sms/send'] button[type=submit]",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();

    // Assert: the platform accepted it once, for the E.164 number…
    let mut ledger = Vec::new();
    for _ in 0..50 {
        ledger = app.sim.shared().ledger();
        if !ledger.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ledger.len(), 1, "exactly one message reached the platform");
    assert_eq!(ledger[0].recipient, "+224621234567");

    // …and the history shows it pending, with the E.164 number.
    c.goto(&app.at("/messaging/sms/history")).await.unwrap();
    let body = c.source().await.unwrap();
    assert!(
        body.contains("+224621234567"),
        "history shows the E.164 number"
    );
    assert!(body.contains("Votre commande #A-12 est prête"));
    assert!(
        c.find(Locator::Css(".badge-pending")).await.is_ok(),
        "the message is pending until the device picks it up"
    );

    // The device picks it up and reports it; the console syncs; the history says sent.
    app.sim.shared().process_queue();
    app.sim.shared().process_queue();
    app.sync().await;
    c.refresh().await.unwrap();
    assert!(
        c.find(Locator::Css(".badge-sent")).await.is_ok(),
        "after the platform reports it, the history shows it sent"
    );
    assert!(c.find(Locator::Css(".badge-pending")).await.is_err());

    b.close().await;
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_counter_tells_e_acute_from_euro() {
    let Some(b) = helpers::browser::browser("live SMS counter", (1280, 900), None).await else {
        return;
    };
    let app = spawn_app_with_sim().await;
    let user = app.create_user("superviseur").await;
    b.login(&app, &user.username, &user.password).await;
    let c = &b.client;
    c.goto(&app.at("/messaging/sms/send")).await.unwrap();
    let textarea = c
        .find(Locator::Css("textarea[name=message]"))
        .await
        .unwrap();

    // "é" is in the GSM-7 basic table: one unit, 159 left in the first segment.
    textarea.send_keys("é").await.unwrap();
    let left_e = wait_for_text(&b, "#sms-counter .counter-left", |t| t.contains("159")).await;
    let enc_e = b.text_of("#sms-counter .counter-enc").await;

    // "€" is a GSM-7 extension character: two units, 158 left.
    textarea.clear().await.unwrap();
    textarea.send_keys("€").await.unwrap();
    let left_euro = wait_for_text(&b, "#sms-counter .counter-left", |t| t.contains("158")).await;
    let enc_euro = b.text_of("#sms-counter .counter-enc").await;
    assert_ne!(left_e, left_euro, "the counter changed");
    assert_eq!(enc_e, enc_euro, "both stay GSM-7");

    // "ê" is not GSM-7: the message switches to Unicode (70 per segment).
    textarea.clear().await.unwrap();
    textarea.send_keys("ê").await.unwrap();
    wait_for_text(&b, "#sms-counter .counter-left", |t| t.contains("69")).await;
    let enc_unicode = b.text_of("#sms-counter .counter-enc").await;
    assert_ne!(enc_unicode, enc_e, "ê switches the encoding to Unicode");

    b.close().await;
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lecteur_has_no_send_menu_and_the_send_page_is_forbidden() {
    let Some(b) = helpers::browser::browser("lecteur permissions", (1280, 900), None).await else {
        return;
    };
    let app = spawn_app_with_sim().await;
    let user = app.create_user("lecteur").await;
    b.login(&app, &user.username, &user.password).await;
    let c = &b.client;

    c.goto(&app.at("/messaging/")).await.unwrap();
    let nav: Vec<String> = {
        let mut hrefs = Vec::new();
        for a in c.find_all(Locator::Css("nav.main-nav a")).await.unwrap() {
            if let Some(h) = a.attr("href").await.unwrap() {
                hrefs.push(h);
            }
        }
        hrefs
    };
    assert!(!nav.is_empty(), "the lecteur has a navigation bar");
    for send in [
        "/messaging/sms/send",
        "/messaging/sms/bulk",
        "/messaging/whatsapp/send",
        "/messaging/otp/send",
    ] {
        assert!(
            !nav.iter().any(|h| h == send),
            "no {send} link for a lecteur: {nav:?}"
        );
    }
    assert!(
        nav.iter().any(|h| h.contains("/messaging/sms/history")),
        "history link present: {nav:?}"
    );

    // Typing the URL does not help: the page is refused…
    c.goto(&app.at("/messaging/sms/send")).await.unwrap();
    assert!(
        c.find(Locator::Css("textarea[name=message]"))
            .await
            .is_err(),
        "no send form for a lecteur"
    );
    // …with HTTP 403 (checked over HTTP with the same credentials).
    let r = app.login(&user.username, &user.password).await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.get("/messaging/sms/send").await.status(), 403);

    b.close().await;
    app.cleanup().await;
}

/// The value of a form field (`input`/`textarea`).
async fn value_of(b: &Browser, css: &str) -> String {
    b.client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_being_typed_when_the_session_expires_survives_the_login_again() {
    let Some(b) =
        helpers::browser::browser("session expiry while typing a campaign", (1280, 900), None)
            .await
    else {
        return;
    };
    let app = spawn_app_with_sim().await;
    let user = app.create_user("superviseur").await;
    b.login(&app, &user.username, &user.password).await;
    let c = &b.client;
    c.goto(&app.at("/messaging/sms/bulk")).await.unwrap();
    let typed = |css: &'static str, text: &'static str| async move {
        c.find(Locator::Css(css))
            .await
            .unwrap()
            .send_keys(text)
            .await
            .unwrap();
    };
    typed("input[name=name]", "Soldes de décembre").await;
    // the live counter works on this form (its fragment is not filtered by the form's
    // `hx-select="main"`)
    typed("textarea[name=message]", "abc").await;
    wait_for_text(&b, "#sms-counter .counter-chars", |t| t.contains('3')).await;
    c.find(Locator::Css("textarea[name=message]"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    typed("textarea[name=recipients]", "621234567\n621234568").await;

    // Arrange: the session runs out while the message is being typed.
    app.clock.advance(Duration::from_secs(31 * 60));

    // Act: typing fires the live counter (htmx); its answer is HX-Redirect to the login page.
    typed("textarea[name=message]", "Tout à -20 % ce samedi").await;
    let mut url = c.current_url().await.unwrap();
    for _ in 0..100 {
        if url.path() == "/login" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        url = c.current_url().await.unwrap();
    }

    // Assert: a real login page (not a box inside the old one), saying why.
    assert_eq!(url.path(), "/login", "the browser went to the login page");
    let page = c.source().await.unwrap();
    assert!(
        page.contains("Votre session a expiré") || page.contains("Your session expired"),
        "the login page says the session expired: {page}"
    );
    assert!(
        c.find(Locator::Css("form[action='/logout']"))
            .await
            .is_err(),
        "no navigation bar still saying « logged in »"
    );

    // Act: log in again on that page.
    b.submit_login(&user.username, &user.password).await;

    // Assert: back on the campaign page, with everything typed put back.
    let url = c.current_url().await.unwrap();
    assert_eq!(url.path(), "/messaging/sms/bulk");
    let page = c.source().await.unwrap();
    assert!(
        !page.contains("Accès refusé") && !page.contains("Access denied"),
        "no false « access denied » after logging in again"
    );
    assert_eq!(value_of(&b, "input[name=name]").await, "Soldes de décembre");
    assert_eq!(
        value_of(&b, "textarea[name=recipients]").await,
        "621234567\n621234568"
    );
    assert_eq!(
        value_of(&b, "textarea[name=message]").await,
        "Tout à -20 % ce samedi"
    );
    // the counter follows the restored text (22 characters, one segment)
    wait_for_text(&b, "#sms-counter .counter-chars", |t| t.contains("22")).await;

    b.close().await;
    app.cleanup().await;
}
