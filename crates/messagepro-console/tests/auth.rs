//! Logging in and out: cookie attributes, session id cycling, wrong passwords, throttling and
//! lockout (with the clock moved, not slept), disabled users, timeouts.

mod helpers;

use helpers::{spawn_app, spawn_app_with};
use messagepro_store::AuditFilter;
use std::time::Duration;

#[tokio::test]
async fn login_sets_a_strict_httponly_cookie_and_cycles_the_session_id() {
    let app = spawn_app().await;
    let u = app.create_user("lecteur").await;
    let page = app.get("/login").await;
    let before = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("messagepro_session="))
        .expect("the login page opens a session (for its CSRF token)");
    assert!(before.contains("HttpOnly"), "{before}");
    assert!(before.contains("SameSite=Strict"), "{before}");
    let r = app.login(&u.username, &u.password).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/");
    let after = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("messagepro_session="))
        .expect("login sets a new session cookie");
    assert!(
        after.contains("HttpOnly") && after.contains("SameSite=Strict"),
        "{after}"
    );
    let id = |c: &str| c.split(';').next().unwrap().to_owned();
    assert_ne!(id(&before), id(&after), "session id must change at login");
    // logged in: the dashboard opens
    assert_eq!(app.get("/messaging/").await.status(), 200);
    app.cleanup().await;
}

#[tokio::test]
async fn a_wrong_password_is_refused_with_a_generic_message() {
    let app = spawn_app().await;
    let u = app.create_user("lecteur").await;
    let r = app.login(&u.username, "not-the-password").await;
    assert_eq!(r.status(), 401);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("Identifiant ou mot de passe incorrect"),
        "{body}"
    );
    let unknown = app.login("nobody-here", "whatever-password").await;
    assert_eq!(unknown.status(), 401, "unknown users get the same answer");
    assert_eq!(
        app.get("/messaging/").await.status(),
        303,
        "still anonymous"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn six_wrong_passwords_lock_the_account_and_the_lock_is_audited_and_expires() {
    let app = spawn_app().await;
    let u = app.create_user("operateur").await;
    let mut last = None;
    for i in 0..6 {
        let r = app.login(&u.username, &format!("wrong-{i}")).await;
        last = Some((r.status(), r.text().await.unwrap()));
    }
    let (status, body) = last.unwrap();
    assert_eq!(status, 429);
    assert!(body.contains("Trop de tentatives"), "{body}");
    assert!(body.contains("15 minutes"), "{body}");
    // even the right password is refused while locked
    let r = app.login(&u.username, &u.password).await;
    assert_eq!(r.status(), 429);

    let locks = app
        .store
        .list_audit(
            &AuditFilter {
                action: Some("auth.lockout".into()),
                ..Default::default()
            },
            messagepro_store::Page::first(10),
        )
        .await
        .unwrap();
    assert!(
        locks
            .iter()
            .any(|e| e.target.as_deref() == Some(u.username.as_str())),
        "{locks:?}"
    );
    let failures = app
        .store
        .count_audit(&AuditFilter {
            action: Some("auth.login_failed".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        failures, 5,
        "the 6th attempt was blocked before any password check"
    );

    app.clock.advance(Duration::from_secs(14 * 60));
    let r = app.login(&u.username, &u.password).await;
    assert_eq!(r.status(), 429, "still locked after 14 minutes");
    assert!(r.text().await.unwrap().contains("1 minutes"));
    app.clock.advance(Duration::from_secs(61));
    let r = app.login(&u.username, &u.password).await;
    assert_eq!(r.status(), 303, "unlocked after 15 minutes");
    app.cleanup().await;
}

#[tokio::test]
async fn the_lock_message_is_in_english_when_the_browser_asks_for_it() {
    let app = spawn_app().await;
    let token = app.csrf().await;
    let mut body = String::new();
    for _ in 0..5 {
        body = app
            .client
            .post(app.at("/login"))
            .header("accept-language", "en-GB,en;q=0.9")
            .form(&[
                ("username", "ghost"),
                ("password", "x"),
                ("csrf_token", &token),
            ])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
    }
    assert!(
        body.contains("Too many login attempts. Try again in 15 minutes."),
        "{body}"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_disabled_user_cannot_log_in_and_loses_open_sessions() {
    let app = spawn_app().await;
    let u = app.login_as("lecteur").await;
    assert_eq!(app.get("/messaging/").await.status(), 200);
    app.store.set_user_disabled(u.id, true, 0).await.unwrap();
    assert_eq!(app.get("/messaging/").await.status(), 303, "session ended");
    let r = app.login(&u.username, &u.password).await;
    assert_eq!(r.status(), 401);
    app.cleanup().await;
}

#[tokio::test]
async fn sessions_end_after_the_idle_timeout_and_the_absolute_timeout() {
    let app = spawn_app().await;
    app.login_as("lecteur").await;
    app.clock.advance(Duration::from_secs(29 * 60));
    assert_eq!(
        app.get("/messaging/").await.status(),
        200,
        "29 min idle: still in"
    );
    app.clock.advance(Duration::from_secs(31 * 60));
    let r = app.get("/messaging/").await;
    assert_eq!(r.status(), 303, "31 min idle: out");

    app.login_as("lecteur").await;
    for _ in 0..26 {
        app.clock.advance(Duration::from_secs(28 * 60));
        let _ = app.get("/messaging/").await;
    }
    // 26 × 28 min > 12 h, always active
    assert_eq!(
        app.get("/messaging/").await.status(),
        303,
        "absolute timeout"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = spawn_app().await;
    app.login_as("admin").await;
    let r = app.post("/logout", &[]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.get("/admin/users").await.status(), 303);
    app.cleanup().await;
}

#[tokio::test]
async fn the_session_cookie_is_secure_unless_configured_off() {
    let app = spawn_app_with(|s| s.cookie_secure = true).await;
    let r = app.get("/login").await;
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("; Secure"), "{cookie}");
    app.cleanup().await;
    let plain = spawn_app().await; // the tests' default: plain http
    let r = plain.get("/login").await;
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(!cookie.contains("Secure"), "{cookie}");
    plain.cleanup().await;
}

/// Five failures from one client behind a trusted proxy lock that client's IP, not the others'.
#[tokio::test]
async fn behind_a_trusted_proxy_the_ip_lock_follows_x_forwarded_for() {
    let app = spawn_app_with(|s| s.trust_forwarded_for = true).await;
    let victim = app.create_user("lecteur").await;
    let token = app.csrf().await;
    let attempt = |xff: &'static str, user: String, pw: String| {
        let req = app
            .client
            .post(app.at("/login"))
            .header("x-forwarded-for", xff)
            .form(&[
                ("username", user),
                ("password", pw),
                ("csrf_token", token.clone()),
            ]);
        async move { req.send().await.unwrap().status() }
    };
    // the guesser tries 5 different usernames (no username lock) from 10.0.0.66
    for i in 0..5 {
        attempt("203.0.113.9, 10.0.0.66", format!("guess-{i}"), "x".into()).await;
    }
    let blocked = attempt(
        "10.0.0.66",
        victim.username.clone(),
        victim.password.clone(),
    )
    .await;
    assert_eq!(blocked, 429, "the guesser's IP is locked");
    let ok = attempt(
        "10.0.0.77",
        victim.username.clone(),
        victim.password.clone(),
    )
    .await;
    assert_eq!(ok, 303, "another client behind the same proxy is not");
    let audit = app
        .store
        .list_audit(
            &AuditFilter {
                action: Some("auth.login".into()),
                ..Default::default()
            },
            messagepro_store::Page::first(5),
        )
        .await
        .unwrap();
    assert_eq!(audit[0].ip.as_deref(), Some("10.0.0.77"));
    app.cleanup().await;
}

#[tokio::test]
async fn x_forwarded_for_is_ignored_unless_trusted() {
    let app = spawn_app().await;
    let token = app.csrf().await;
    for i in 0..5 {
        app.client
            .post(app.at("/login"))
            .header("x-forwarded-for", format!("10.9.9.{i}"))
            .form(&[
                ("username", format!("guess-{i}")),
                ("password", "x".into()),
                ("csrf_token", token.clone()),
            ])
            .send()
            .await
            .unwrap();
    }
    let u = app.create_user("lecteur").await;
    let r = app.login(&u.username, &u.password).await;
    assert_eq!(
        r.status(),
        429,
        "a forged header does not escape the per-IP lock"
    );
    app.cleanup().await;
}
