//! `/account` (« Mon compte »): every logged-in user changes their own password (checked
//! through the login throttle; the other sessions end, this one stays under a new id), their
//! language, and lists and ends their own sessions — never another user's. SQLite, or
//! PostgreSQL when `MESSAGEPRO_TEST_DATABASE_URL` is set.

mod helpers;

use helpers::{TestApp, TestUser, new_client, spawn_app};
use messagepro_console::Clock;
use messagepro_console::routes::account::session_handle;
use messagepro_store::{AuditEntry, AuditFilter, Page};

const CHROME_ANDROID: &str = "Mozilla/5.0 (Linux; Android 13; SM-A145F) AppleWebKit/537.36 \
                              (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36";
const FIREFOX_WINDOWS: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0";
const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) \
                             AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 \
                             Mobile/15E148 Safari/604.1";

/// A cookie-keeping client (no redirects) that says it is `ua`.
fn browser(ua: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(ua)
        .build()
        .unwrap()
}

/// Another session of the same running app, from a browser saying `ua`.
fn device(app: &TestApp, ua: &str) -> TestApp {
    TestApp::with_client(app, browser(ua))
}

/// Logs `session` in as `user` (an existing user: a second device of theirs).
async fn sign_in(session: &TestApp, user: &TestUser) {
    let r = session.login(&user.username, &user.password).await;
    assert_eq!(r.status(), 303, "login of {}", user.username);
}

/// Whether `session` is still logged in (its `/account` opens rather than sending to login).
async fn logged_in(session: &TestApp) -> bool {
    let r = session.get("/account").await;
    match r.status().as_u16() {
        200 => true,
        303 => {
            let to = r.headers()["location"].to_str().unwrap().to_owned();
            assert!(to.starts_with("/login?next=%2Faccount"), "{to}");
            false
        }
        s => panic!("/account answered {s}"),
    }
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// The session handles offered by an account page (the other devices' « Déconnecter »).
fn handles(html: &str) -> Vec<String> {
    let re = regex_lite::Regex::new(r#"name="session" value="([0-9a-f]{16})""#).unwrap();
    re.captures_iter(html).map(|c| c[1].to_owned()).collect()
}

async fn session_ids(app: &TestApp, user: &TestUser) -> Vec<String> {
    app.store
        .sessions_of_user(user.id, app.clock.now_ms())
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect()
}

/// The handle of `user`'s session whose User-Agent is `ua` (from the store, as the page
/// computes it).
async fn handle_of(app: &TestApp, user: &TestUser, ua: &str) -> String {
    let s = app
        .store
        .sessions_of_user(user.id, app.clock.now_ms())
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.user_agent.as_deref() == Some(ua))
        .expect("a session with that browser");
    session_handle(&s.id)
}

async fn audits(app: &TestApp, action: &str) -> Vec<AuditEntry> {
    let filter = AuditFilter {
        action: Some(action.into()),
        ..AuditFilter::default()
    };
    app.store
        .list_audit(&filter, Page::number(0, 100))
        .await
        .unwrap()
}

async fn hash_of(app: &TestApp, user: &TestUser) -> String {
    app.store
        .user_by_id(user.id)
        .await
        .unwrap()
        .unwrap()
        .password_hash
}

async fn change_password(
    session: &TestApp,
    current: &str,
    new: &str,
    confirm: &str,
) -> reqwest::Response {
    session
        .post(
            "/account/password",
            &[
                ("current_password", current),
                ("new_password", new),
                ("confirm_password", confirm),
            ],
        )
        .await
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions_and_keeps_this_one_under_a_new_id() {
    let app = spawn_app().await;
    let phone = device(&app, CHROME_ANDROID);
    let user = phone.login_as("operateur").await;
    let laptop = device(&app, FIREFOX_WINDOWS);
    sign_in(&laptop, &user).await;
    let before = session_ids(&app, &user).await;
    assert_eq!(
        before.len(),
        2,
        "both devices are recorded with their owner"
    );

    let new_pw = "Nouveau-secret-2026";
    let r = change_password(&phone, &user.password, new_pw, new_pw).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/account");
    let page = phone.get("/account").await;
    assert_eq!(page.status(), 200, "this device stays signed in");
    let page = page.text().await.unwrap();
    assert!(
        page.contains("Mot de passe modifié. Vos autres appareils ont été déconnectés (1)."),
        "{page}"
    );
    assert!(!page.contains(new_pw) && !page.contains(&user.password));

    assert!(!logged_in(&laptop).await, "the other device was signed out");
    let after = session_ids(&app, &user).await;
    assert_eq!(after.len(), 1, "only this device's session is left");
    assert!(
        !before.contains(&after[0]),
        "this device's session id was cycled"
    );

    let fresh = TestApp::with_client(&app, new_client());
    assert_eq!(
        fresh.login(&user.username, &user.password).await.status(),
        401,
        "the old password no longer works"
    );
    assert_eq!(fresh.login(&user.username, new_pw).await.status(), 303);

    let entries = audits(&app, "account.password_change").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].outcome, "success");
    assert_eq!(entries[0].user_id, Some(user.id));
    let detail = entries[0].detail.clone().unwrap_or_default();
    assert!(detail.contains("1 other session"), "{detail}");
    let everything = app
        .store
        .list_audit(&AuditFilter::default(), Page::number(0, 100))
        .await
        .unwrap();
    assert!(everything.len() >= 3, "{everything:?}");
    for e in everything {
        let all = format!("{e:?}");
        assert!(!all.contains(new_pw) && !all.contains(&user.password));
    }
    app.cleanup().await;
}

#[tokio::test]
async fn a_wrong_current_password_changes_nothing_and_is_throttled_like_a_login() {
    let app = spawn_app().await;
    let phone = device(&app, CHROME_ANDROID);
    let user = phone.login_as("operateur").await;
    let laptop = device(&app, FIREFOX_WINDOWS);
    sign_in(&laptop, &user).await;
    let hash = hash_of(&app, &user).await;
    let new_pw = "Nouveau-secret-2026";

    let r = change_password(&phone, "pas-le-bon-mot-de-passe", new_pw, new_pw).await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(
        body.contains(r#"id="current-error" role="alert">Mot de passe actuel incorrect."#),
        "the error is next to the current password field: {body}"
    );
    assert!(!body.contains("pas-le-bon-mot-de-passe") && !body.contains(new_pw));

    // in English too
    let token = phone.csrf().await;
    let r = phone
        .client
        .post(phone.at("/account/password"))
        .header("accept-language", "en")
        .form(&[
            ("csrf_token", token.as_str()),
            ("current_password", "still-not-the-password"),
            ("new_password", new_pw),
            ("confirm_password", new_pw),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Current password incorrect. Nothing was changed.")
    );

    assert_eq!(hash_of(&app, &user).await, hash, "password unchanged");
    assert!(logged_in(&laptop).await, "no session was ended");
    assert_eq!(session_ids(&app, &user).await.len(), 2);
    let failed = audits(&app, "account.password_check_failed").await;
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert_eq!(failed[0].user_id, Some(user.id));

    // not an unthrottled oracle: the login's budget (5 per account and IP) applies, and a
    // locked check refuses even the right password
    for _ in 0..2 {
        let r = change_password(&phone, "encore-un-essai-faux", new_pw, new_pw).await;
        assert_eq!(r.status(), 422);
    }
    let r = change_password(&phone, "cinquieme-essai-faux", new_pw, new_pw).await;
    assert_eq!(r.status(), 429, "the fifth failure locks");
    assert!(r.text().await.unwrap().contains("Trop de tentatives"));
    let r = change_password(&phone, &user.password, new_pw, new_pw).await;
    assert_eq!(
        r.status(),
        429,
        "locked: the right password is not even checked"
    );
    assert_eq!(hash_of(&app, &user).await, hash, "still unchanged");
    assert!(
        !audits(&app, "account.password_check_blocked")
            .await
            .is_empty()
    );
    assert!(
        audits(&app, "account.password_change")
            .await
            .iter()
            .all(|e| e.outcome != "success")
    );
    assert!(logged_in(&laptop).await);
    app.cleanup().await;
}

#[tokio::test]
async fn a_mismatched_weak_or_unchanged_new_password_is_refused_before_any_check() {
    let app = spawn_app().await;
    let phone = device(&app, CHROME_ANDROID);
    let user = phone.login_as("superviseur").await;
    let laptop = device(&app, FIREFOX_WINDOWS);
    sign_in(&laptop, &user).await;
    let hash = hash_of(&app, &user).await;

    let r = change_password(
        &phone,
        &user.password,
        "Nouveau-secret-2026",
        "Nouveau-secret-2027",
    )
    .await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(
        body.contains(r#"id="confirm-error" role="alert">La confirmation ne correspond pas"#),
        "{body}"
    );

    let r = change_password(&phone, &user.password, "court", "court").await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(
        body.contains(
            r#"id="new-error" role="alert">Mot de passe trop court (10 caractères au moins)."#
        ),
        "{body}"
    );

    let r = change_password(&phone, &user.password, &user.password, &user.password).await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Le nouveau mot de passe doit être différent de l&#39;actuel.")
    );

    // no CSRF token: refused before the handler
    let r = phone
        .post_raw(
            "/account/password",
            &[
                ("current_password", user.password.as_str()),
                ("new_password", "Nouveau-secret-2026"),
                ("confirm_password", "Nouveau-secret-2026"),
            ],
        )
        .await;
    assert_eq!(r.status(), 403);

    assert_eq!(hash_of(&app, &user).await, hash, "nothing changed");
    assert!(logged_in(&laptop).await, "no session was ended");
    assert_eq!(session_ids(&app, &user).await.len(), 2);
    assert!(
        audits(&app, "account.password_check_failed")
            .await
            .is_empty(),
        "a refused new password costs no attempt of the throttle"
    );
    let refused = audits(&app, "account.password_change").await;
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(refused.iter().all(|e| e.outcome == "failure"));
    app.cleanup().await;
}

#[tokio::test]
async fn the_language_is_saved_on_the_user_and_applies_at_once_and_on_other_devices() {
    let app = spawn_app().await;
    let phone = device(&app, CHROME_ANDROID);
    let user = phone.login_as("operateur").await;
    let page = phone.get("/account").await.text().await.unwrap();
    assert!(page.contains("<h1>Mon compte</h1>"), "French first");

    let r = phone.post("/account/language", &[("lang", "en")]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/account");
    let stored = app.store.user_by_id(user.id).await.unwrap().unwrap();
    assert_eq!(stored.language.as_deref(), Some("en"));
    let page = phone.get("/account").await.text().await.unwrap();
    assert!(page.contains(r#"<html lang="en">"#) && page.contains("<h1>My account</h1>"));
    assert!(page.contains("Language saved."), "{page}");
    assert!(page.contains(r#"<option value="en" selected"#));

    // a new session elsewhere opens in English: it is the user's, not the browser's
    let laptop = device(&app, FIREFOX_WINDOWS);
    sign_in(&laptop, &user).await;
    let other = laptop.get("/account").await.text().await.unwrap();
    assert!(other.contains("<h1>My account</h1>"), "{other}");

    let r = phone.post("/account/language", &[("lang", "xx")]).await;
    assert_eq!(r.status(), 400);
    let stored = app.store.user_by_id(user.id).await.unwrap().unwrap();
    assert_eq!(stored.language.as_deref(), Some("en"), "unchanged");

    assert_eq!(
        phone
            .post("/account/language", &[("lang", "fr")])
            .await
            .status(),
        303
    );
    let page = phone.get("/account").await.text().await.unwrap();
    assert!(page.contains("<h1>Mon compte</h1>") && page.contains("Langue enregistrée."));
    let entries = audits(&app, "account.language").await;
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].detail.as_deref(), Some("en -> fr"));
    assert_eq!(entries[1].detail.as_deref(), Some("auto -> en"));
    app.cleanup().await;
}

#[tokio::test]
async fn the_sessions_list_shows_this_users_devices_marks_this_one_and_no_session_id() {
    let app = spawn_app().await;
    let phone = device(&app, CHROME_ANDROID);
    let user = phone.login_as("operateur").await;
    let laptop = device(&app, FIREFOX_WINDOWS);
    sign_in(&laptop, &user).await;
    // someone else's session is not listed
    let stranger = device(&app, SAFARI_IPHONE);
    stranger.login_as("operateur").await;

    let page = phone.get("/account").await.text().await.unwrap();
    let chrome = page.find("Chrome · Android").expect("this device listed");
    let mark = page.find("Cet appareil").expect("this device marked");
    let firefox = page
        .find("Firefox · Windows")
        .expect("the other device listed");
    assert!(chrome < mark && mark < firefox, "this device first, marked");
    assert_eq!(page.matches("Cet appareil").count(), 1);
    assert!(
        !page.contains("Safari"),
        "another user's session is not listed"
    );
    assert_eq!(
        handles(&page),
        vec![handle_of(&app, &user, FIREFOX_WINDOWS).await],
        "one « Déconnecter », for the other device"
    );
    assert!(page.contains("Déconnecter les autres appareils"));
    for id in session_ids(&app, &user).await {
        assert!(!page.contains(&id), "a session id is on the page");
    }
    // the signed-in time is the login's, in the page's format
    let login_ms = app.clock.now_ms();
    assert!(page.contains(&messagepro_console::ui::format_ms(login_ms)));

    // sessions past the idle timeout are not listed (the guard would end them)
    let laptop_view = laptop.get("/account").await.text().await.unwrap();
    assert_eq!(laptop_view.matches("Cet appareil").count(), 1);
    app.clock.advance(std::time::Duration::from_secs(25 * 60));
    assert!(logged_in(&phone).await);
    app.clock.advance(std::time::Duration::from_secs(10 * 60));
    let page = phone.get("/account").await.text().await.unwrap();
    assert!(!page.contains("Firefox · Windows"), "idle session left out");
    assert!(page.contains("Vous n&#39;êtes connecté sur aucun autre appareil."));
    app.cleanup().await;
}

#[tokio::test]
async fn signing_out_one_device_or_all_the_others_really_ends_them() {
    let app = spawn_app().await;
    let phone = device(&app, CHROME_ANDROID);
    let user = phone.login_as("operateur").await;
    let laptop = device(&app, FIREFOX_WINDOWS);
    sign_in(&laptop, &user).await;
    let tablet = device(&app, SAFARI_IPHONE);
    sign_in(&tablet, &user).await;
    let page = phone.get("/account").await.text().await.unwrap();
    assert_eq!(handles(&page).len(), 2);

    let laptop_handle = handle_of(&app, &user, FIREFOX_WINDOWS).await;
    let r = phone
        .post("/account/sessions/end", &[("session", &laptop_handle)])
        .await;
    assert_eq!(r.status(), 303);
    let page = phone.get("/account").await.text().await.unwrap();
    assert!(page.contains("Appareil déconnecté."), "{page}");
    assert!(!page.contains("Firefox · Windows"));
    assert!(!logged_in(&laptop).await, "the laptop was signed out");
    assert!(logged_in(&tablet).await && logged_in(&phone).await);
    let entries = audits(&app, "account.session_end").await;
    assert_eq!(entries.len(), 1);
    assert!(
        entries[0]
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains("Firefox · Windows")
    );

    // an ended session's handle names nothing any more
    let again = phone
        .post("/account/sessions/end", &[("session", &laptop_handle)])
        .await;
    assert_eq!(again.status(), 404);
    // this device's own handle: not here (« Se déconnecter » is in the header)
    let own = handle_of(&app, &user, CHROME_ANDROID).await;
    let r = phone
        .post("/account/sessions/end", &[("session", &own)])
        .await;
    assert_eq!(r.status(), 400);
    assert!(logged_in(&phone).await);

    let r = phone.post("/account/sessions/end-others", &[]).await;
    assert_eq!(r.status(), 303);
    let page = phone.get("/account").await.text().await.unwrap();
    assert!(page.contains("Autres appareils déconnectés : 1."), "{page}");
    assert!(!logged_in(&tablet).await, "the tablet was signed out");
    assert!(logged_in(&phone).await, "this device stays");
    assert_eq!(session_ids(&app, &user).await.len(), 1);
    assert_eq!(
        audits(&app, "account.sessions_end_others").await[0]
            .detail
            .as_deref(),
        Some("1 session(s) ended")
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_user_cannot_end_another_users_session() {
    let app = spawn_app().await;
    let mallory_phone = device(&app, CHROME_ANDROID);
    let mallory = mallory_phone.login_as("admin").await;
    let awa_phone = device(&app, FIREFOX_WINDOWS);
    let awa = awa_phone.login_as("lecteur").await;
    let awa_laptop = device(&app, SAFARI_IPHONE);
    sign_in(&awa_laptop, &awa).await;

    // Awa's own page offers a real handle of her laptop; Mallory posts it
    let awa_page = awa_phone.get("/account").await.text().await.unwrap();
    let awa_handle = handle_of(&app, &awa, SAFARI_IPHONE).await;
    assert_eq!(handles(&awa_page), vec![awa_handle.clone()]);
    let r = mallory_phone
        .post("/account/sessions/end", &[("session", &awa_handle)])
        .await;
    assert_eq!(r.status(), 404, "another user's handle names nothing");
    // a made-up one neither
    let r = mallory_phone
        .post("/account/sessions/end", &[("session", "0123456789abcdef")])
        .await;
    assert_eq!(r.status(), 404);
    // nor a session id in place of a handle
    let awa_id = session_ids(&app, &awa).await.remove(0);
    let r = mallory_phone
        .post("/account/sessions/end", &[("session", &awa_id)])
        .await;
    assert_eq!(r.status(), 400);
    // « sign out other devices » is about Mallory's own devices only
    let r = mallory_phone
        .post("/account/sessions/end-others", &[])
        .await;
    assert_eq!(r.status(), 303);

    assert!(logged_in(&awa_laptop).await && logged_in(&awa_phone).await);
    assert_eq!(session_ids(&app, &awa).await.len(), 2);
    assert!(audits(&app, "account.session_end").await.is_empty());
    assert_eq!(session_ids(&app, &mallory).await.len(), 1);
    app.cleanup().await;
}

#[tokio::test]
async fn a_lecteur_reaches_the_page_from_the_header_and_uses_it() {
    let app = spawn_app().await;
    let visitor = TestApp::with_client(&app, new_client());
    assert!(
        !logged_in(&visitor).await,
        "anonymous: sent to the login page"
    );

    let phone = device(&app, CHROME_ANDROID);
    let user = phone.login_as("lecteur").await;
    let history = phone
        .get("/messaging/sms/history")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        history.contains(r#"<a href="/account">Mon compte</a>"#),
        "the header links to the page"
    );
    let r = phone.get("/account").await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"<a href="/account" aria-current="page">Mon compte</a>"#));
    assert!(page.contains("Cet appareil"));
    assert!(page.contains(&format!("Connecté en tant que {}", user.username)));

    assert_eq!(
        phone
            .post("/account/language", &[("lang", "en")])
            .await
            .status(),
        303
    );
    let new_pw = "Lecteur-secret-2026";
    let r = change_password(&phone, &user.password, new_pw, new_pw).await;
    assert_eq!(r.status(), 303);
    let page = phone.get("/account").await.text().await.unwrap();
    assert!(page.contains("Password changed."), "{page}");
    let fresh = TestApp::with_client(&app, new_client());
    assert_eq!(fresh.login(&user.username, new_pw).await.status(), 303);
    app.cleanup().await;
}
