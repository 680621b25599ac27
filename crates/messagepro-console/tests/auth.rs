//! Logging in and out: cookie attributes, session id cycling, wrong passwords, throttling and
//! lockout (with the clock moved, not slept), disabled users, timeouts.

mod helpers;

use helpers::{TestApp, TestUser, new_client, spawn_app, spawn_app_with};
use messagepro_store::AuditFilter;
use std::time::Duration;

fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with(&format!("{name}=")))
}

#[tokio::test]
async fn login_sets_a_strict_httponly_cookie_and_cycles_the_session_id() {
    let app = spawn_app().await;
    let u = app.create_user("lecteur").await;
    let page = app.get("/login").await;
    assert!(
        set_cookie(&page, "messagepro_session").is_none(),
        "the login page opens no session"
    );
    let csrf = set_cookie(&page, "messagepro_csrf").expect("the login form's signed CSRF cookie");
    assert!(
        csrf.contains("HttpOnly") && csrf.contains("SameSite=Strict"),
        "{csrf}"
    );
    let r = app.login(&u.username, &u.password).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/");
    let first = set_cookie(&r, "messagepro_session").expect("login sets a session cookie");
    assert!(
        first.contains("HttpOnly") && first.contains("SameSite=Strict"),
        "{first}"
    );
    // logged in: the dashboard opens
    assert_eq!(app.get("/messaging/").await.status(), 200);
    // logging in again (same browser) gives another session id
    let r = app.login(&u.username, &u.password).await;
    let second = set_cookie(&r, "messagepro_session").expect("a new session cookie");
    let id = |c: &str| c.split(';').next().unwrap().to_owned();
    assert_ne!(id(&first), id(&second), "session id must change at login");
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
async fn the_cookies_are_secure_unless_configured_off() {
    for secure in [true, false] {
        let app = spawn_app_with(|s| s.cookie_secure = secure).await;
        let u = app.create_user("lecteur").await;
        let page = app.get("/login").await;
        let csrf = set_cookie(&page, "messagepro_csrf").unwrap();
        // (a Secure cookie is not sent back over plain http: log in with a client of its own)
        let token = helpers::csrf_in(&page.text().await.unwrap()).unwrap();
        let value = csrf.split(';').next().unwrap().to_owned();
        let r = app
            .client
            .post(app.at("/login"))
            .header("cookie", value)
            .form(&[
                ("username", u.username.as_str()),
                ("password", u.password.as_str()),
                ("csrf_token", &token),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let session = set_cookie(&r, "messagepro_session").unwrap();
        for c in [&csrf, &session] {
            assert_eq!(c.contains("; Secure"), secure, "{c}");
        }
        app.cleanup().await;
    }
}

/// Rows of the `sessions` table.
async fn session_rows(app: &TestApp) -> i64 {
    use messagepro_store::Backend;
    let sql = "SELECT COUNT(*) FROM sessions";
    match app.store.backend() {
        Backend::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        Backend::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
    }
}

#[tokio::test]
async fn anonymous_requests_create_no_session_rows() {
    let app = spawn_app().await;
    for i in 0..20 {
        // a new visitor each time (no cookie)
        let visitor = TestApp::with_client(&app, new_client());
        assert_eq!(visitor.get("/login").await.status(), 200);
        assert_eq!(visitor.get("/login?next=/messaging/").await.status(), 200);
        assert_eq!(visitor.get("/messaging/").await.status(), 303);
        assert_eq!(visitor.get("/healthz").await.status(), 200);
        assert_eq!(visitor.get("/no/such/page").await.status(), 404);
        // the language switch and a failed login are anonymous too
        let r = visitor.post("/language", &[("lang", "en")]).await;
        assert_eq!(r.status(), 303);
        let page = visitor.get("/login").await.text().await.unwrap();
        assert!(
            page.contains("Log in"),
            "the chosen language is kept: {page}"
        );
        // a username of its own, so the per-(username, IP) lock stays out of the way
        assert_eq!(
            visitor
                .login(&format!("nobody{i}"), "wrong-password")
                .await
                .status(),
            401
        );
    }
    assert_eq!(
        session_rows(&app).await,
        0,
        "anonymous visitors wrote sessions"
    );
    // logging in does create one (and the anonymous form token was accepted)
    app.login_as("lecteur").await;
    assert_eq!(session_rows(&app).await, 1);
    app.cleanup().await;
}

#[tokio::test]
async fn the_anonymous_form_token_must_match_its_own_signed_cookie() {
    let app = spawn_app().await;
    let u = app.create_user("lecteur").await;
    let other = TestApp::with_client(&app, new_client());
    let foreign = other.csrf().await;
    let mine = app.csrf().await;
    assert_ne!(foreign, mine);
    let form = |t: &str| {
        vec![
            ("username", u.username.clone()),
            ("password", u.password.clone()),
            ("csrf_token", t.to_owned()),
        ]
    };
    // another visitor's token is refused with my cookie
    let r = app
        .client
        .post(app.at("/login"))
        .form(&form(&foreign))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // a cookie made up by an attacker (their own token, a guessed signature) is refused
    let forged = "a".repeat(64);
    let r = new_client()
        .post(app.at("/login"))
        .header(
            "cookie",
            format!("messagepro_csrf={forged}.{}", "0".repeat(64)),
        )
        .form(&form(&forged))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // my own token works
    let r = app
        .client
        .post(app.at("/login"))
        .form(&form(&mine))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    app.cleanup().await;
}

#[tokio::test]
async fn expired_sessions_are_purged_periodically() {
    let app = spawn_app_with(|s| s.session_purge_every = Duration::from_millis(100)).await;
    app.login_as("lecteur").await;
    let other = TestApp::with_client(&app, new_client());
    other.login_as("lecteur").await;
    assert_eq!(session_rows(&app).await, 2);
    // 31 minutes without a request: both sessions are past their idle expiry
    app.clock.advance(Duration::from_secs(31 * 60));
    let mut rows = 2;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        rows = session_rows(&app).await;
        if rows == 0 {
            break;
        }
    }
    assert_eq!(rows, 0, "expired sessions still in the database");
    app.cleanup().await;
}

/// With the per-IP limit set to 5, five failures from one client behind a trusted proxy lock
/// that client's IP, not the others'.
#[tokio::test]
async fn behind_a_trusted_proxy_the_ip_lock_follows_x_forwarded_for() {
    let app = spawn_app_with(|s| {
        s.trust_forwarded_for = true;
        s.login_ip_max_failures = 5;
    })
    .await;
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
    let app = spawn_app_with(|s| s.login_ip_max_failures = 5).await;
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

/// The resident memory of this test process (server included), in KiB (`None` off Linux).
fn vm_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

async fn count(app: &TestApp, action: &str) -> i64 {
    app.store
        .count_audit(&AuditFilter {
            action: Some(action.into()),
            ..Default::default()
        })
        .await
        .unwrap()
}

/// Fires `n` logins at once (each its own request, one shared CSRF cookie jar) and returns their
/// statuses; `user_of(i)` and `password_of(i)` give each attempt's form.
async fn flood(
    app: &TestApp,
    token: &str,
    n: usize,
    user_of: impl Fn(usize) -> String,
    password_of: impl Fn(usize) -> String,
) -> tokio::task::JoinSet<u16> {
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let req = app.client.post(app.at("/login")).form(&[
            ("username", user_of(i)),
            ("password", password_of(i)),
            ("csrf_token", token.to_owned()),
        ]);
        set.spawn(async move { req.send().await.unwrap().status().as_u16() });
    }
    set
}

#[tokio::test]
async fn a_flood_of_200_parallel_wrong_passwords_verifies_at_most_five_and_memory_stays_flat() {
    let app = spawn_app().await;
    let u = app.create_user("operateur").await;
    let token = app.csrf().await;
    let before = vm_rss_kib();

    let name = u.username.clone();
    let mut set = flood(
        &app,
        &token,
        200,
        |_| name.clone(),
        |i| format!("wrong-{i}"),
    )
    .await;
    let mut statuses = Vec::new();
    // the right password, sent while the flood is still being answered
    while statuses.len() < 20 {
        statuses.push(set.join_next().await.unwrap().unwrap());
    }
    let right = app.login(&u.username, &u.password).await;
    let right_status = right.status().as_u16();
    while let Some(s) = set.join_next().await {
        statuses.push(s.unwrap());
    }
    let verified = count(&app, "auth.login_failed").await + count(&app, "auth.login").await;
    let grown_mib = before
        .zip(vm_rss_kib())
        .map(|(b, a)| a.saturating_sub(b) / 1024);
    eprintln!(
        "200 parallel wrong passwords: {verified} verified, 401: {}, 429: {}, 503: {}, memory +{grown_mib:?} MiB",
        statuses.iter().filter(|s| **s == 401).count(),
        statuses.iter().filter(|s| **s == 429).count(),
        statuses.iter().filter(|s| **s == 503).count(),
    );

    assert!(
        (1..=5).contains(&verified),
        "{verified} passwords verified for one user"
    );
    assert_eq!(
        right_status, 429,
        "the right password got in during the flood"
    );
    assert!(
        statuses.iter().all(|s| [401, 429, 503].contains(s)),
        "{statuses:?}"
    );
    assert!(statuses.iter().filter(|s| **s == 429).count() >= 195);
    assert_eq!(
        count(&app, "auth.lockout").await,
        1,
        "one lock, audited once"
    );
    if let Some(mib) = grown_mib {
        assert!(mib < 100, "memory grew by {mib} MiB");
    }
    app.cleanup().await;
}

/// 200 parallel logins, each for another username (none locked by its own count): the per-IP
/// limit stops the guesser at 100, and the verifier bounds how many argon2 run at once.
#[tokio::test]
async fn a_flood_over_many_usernames_is_bounded_by_the_ip_limit_and_the_verifier() {
    let app = spawn_app().await;
    let token = app.csrf().await;
    let before = vm_rss_kib();
    let mut set = flood(&app, &token, 200, |i| format!("guess-{i}"), |_| "x".into()).await;
    let mut statuses = Vec::new();
    while let Some(s) = set.join_next().await {
        statuses.push(s.unwrap());
    }
    let verified = count(&app, "auth.login_failed").await;
    let grown_mib = before
        .zip(vm_rss_kib())
        .map(|(b, a)| a.saturating_sub(b) / 1024);
    eprintln!(
        "200 parallel logins over 200 usernames: {verified} verified, 503: {}, memory +{grown_mib:?} MiB",
        statuses.iter().filter(|s| **s == 503).count()
    );
    assert!(verified <= 100, "{verified} verified from one IP");
    assert!(
        statuses.iter().all(|s| [401, 429, 503].contains(s)),
        "{statuses:?}"
    );
    if let Some(mib) = grown_mib {
        assert!(mib < 100, "memory grew by {mib} MiB");
    }
    app.cleanup().await;
}

async fn lock_out(app: &TestApp, u: &TestUser) {
    for i in 0..5 {
        app.login(&u.username, &format!("wrong-{i}")).await;
    }
    assert_eq!(
        app.login(&u.username, &u.password).await.status(),
        429,
        "{} is locked",
        u.username
    );
}

#[tokio::test]
async fn another_user_from_the_same_ip_logs_in_while_one_is_locked() {
    let app = spawn_app().await;
    let cashier = app.create_user("operateur").await;
    let colleague = app.create_user("operateur").await;
    lock_out(&app, &cashier).await;
    // the next till, same shop, same 4G router (same IP)
    let till = TestApp::with_client(&app, new_client());
    let r = till.login(&colleague.username, &colleague.password).await;
    assert_eq!(r.status(), 303, "the colleague is not locked out");
    assert_eq!(till.get("/messaging/").await.status(), 200);
    // even an admin from that IP
    let boss = TestApp::with_client(&app, new_client());
    boss.login_as("admin").await;
    // and the cashier still is
    assert_eq!(
        app.login(&cashier.username, &cashier.password)
            .await
            .status(),
        429
    );
    app.cleanup().await;
}

#[tokio::test]
async fn an_admin_unlocks_a_user_from_the_users_page_and_lock_and_unlock_are_audited() {
    let app = spawn_app().await;
    let cashier = app.create_user("operateur").await;
    lock_out(&app, &cashier).await;
    let admin = TestApp::with_client(&app, new_client());
    admin.login_as("admin").await;
    let page = admin.get("/admin/users").await.text().await.unwrap();
    let unlock = format!("/admin/users/{}/unlock", cashier.id);
    assert!(page.contains("Verrouillé jusqu"), "{page}");
    assert!(page.contains(&unlock), "{page}");

    let r = admin.post(&unlock, &[]).await;
    assert_eq!(r.status(), 303);
    let page = admin.get("/admin/users").await.text().await.unwrap();
    assert!(page.contains("Compte déverrouillé"), "{page}");
    assert!(!page.contains(&unlock), "still shown as locked: {page}");
    assert_eq!(
        app.login(&cashier.username, &cashier.password)
            .await
            .status(),
        303,
        "unlocked"
    );
    let audit = |action: &str| {
        let f = AuditFilter {
            action: Some(action.into()),
            ..Default::default()
        };
        let store = app.store.clone();
        async move {
            store
                .list_audit(&f, messagepro_store::Page::first(10))
                .await
                .unwrap()
        }
    };
    let locks = audit("auth.lockout").await;
    assert_eq!(locks.len(), 1, "{locks:?}");
    assert_eq!(locks[0].target.as_deref(), Some(cashier.username.as_str()));
    let unlocks = audit("auth.unlock").await;
    assert_eq!(unlocks.len(), 1, "{unlocks:?}");
    assert_eq!(
        unlocks[0].target.as_deref(),
        Some(cashier.username.as_str())
    );
    assert!(unlocks[0].username.as_deref().unwrap().starts_with("admin"));
    assert!(unlocks[0].detail.as_deref().unwrap().contains("was locked"));
    // an operateur may not unlock
    let op = TestApp::with_client(&app, new_client());
    op.login_as("operateur").await;
    assert_eq!(op.post(&unlock, &[]).await.status(), 403);
    app.cleanup().await;
}

#[tokio::test]
async fn each_new_lock_of_the_same_account_lasts_twice_as_long_until_a_success() {
    let app = spawn_app().await;
    let u = app.create_user("lecteur").await;
    let minutes_in = |body: &str| body.contains("Réessayez dans");
    lock_out(&app, &u).await;
    let r = app.login(&u.username, &u.password).await;
    assert!(r.text().await.unwrap().contains("15 minutes"));
    app.clock.advance(Duration::from_secs(15 * 60 + 1));
    let mut body = String::new();
    for i in 0..5 {
        body = app
            .login(&u.username, &format!("again-{i}"))
            .await
            .text()
            .await
            .unwrap();
    }
    assert!(minutes_in(&body) && body.contains("30 minutes"), "{body}");
    app.clock.advance(Duration::from_secs(30 * 60 + 1));
    assert_eq!(app.login(&u.username, &u.password).await.status(), 303);
    // a success forgets the history: the next lock is 15 minutes again
    for i in 0..5 {
        body = app
            .login(&u.username, &format!("later-{i}"))
            .await
            .text()
            .await
            .unwrap();
    }
    assert!(body.contains("15 minutes"), "{body}");
    app.cleanup().await;
}

/// A guesser spread over many addresses: each (username, IP) pair stays under its limit, the
/// username's own limit (20 by default) locks it.
#[tokio::test]
async fn a_guesser_spread_over_many_ips_locks_the_username_not_the_ips() {
    let app = spawn_app_with(|s| s.trust_forwarded_for = true).await;
    let victim = app.create_user("lecteur").await;
    let other = app.create_user("lecteur").await;
    let token = app.csrf().await;
    let attempt = |ip: String, user: &TestUser, pw: String| {
        let req = app
            .client
            .post(app.at("/login"))
            .header("x-forwarded-for", ip)
            .form(&[
                ("username", user.username.clone()),
                ("password", pw),
                ("csrf_token", token.clone()),
            ]);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    for i in 0..20 {
        let s = attempt(format!("10.1.0.{}", i % 10), &victim, format!("w{i}")).await;
        assert_eq!(s, if i < 19 { 401 } else { 429 }, "attempt {i}");
    }
    assert_eq!(
        attempt("10.2.0.1".into(), &victim, victim.password.clone()).await,
        429,
        "locked from a new address too"
    );
    let ok = TestApp::with_client(&app, new_client());
    let t = ok.csrf().await;
    let r = ok
        .client
        .post(ok.at("/login"))
        .header("x-forwarded-for", "10.1.0.3")
        .form(&[
            ("username", other.username.as_str()),
            ("password", other.password.as_str()),
            ("csrf_token", &t),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "the guesser's addresses are not locked");
    app.cleanup().await;
}
