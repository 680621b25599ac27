//! CSRF, security headers, and secrets: a POST without a valid token changes nothing; every
//! response carries the headers; no page and no log line contains a password hash, a password,
//! the Message Pro secret, a session id or a CSRF token.

mod helpers;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use helpers::{SENTINEL_SECRET, TestApp, new_client, spawn_app};
use http::Method;
use messagepro_console::routes::all_rules;

/// Every log line of this test binary (all levels), captured once.
fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let w = buf.clone();
        tracing_subscriber::fmt()
            // everything the server side logs; the test's own HTTP client (cookie jar) is not
            // the application and does log the cookies it stores
            .with_env_filter("trace,cookie_store=off,reqwest=off,hyper_util::client=off")
            .with_writer(move || LogWriter(w.clone()))
            .with_ansi(false)
            .init();
        buf
    })
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);
impl Write for LogWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_post_without_a_valid_csrf_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    app.login_as("admin").await;
    let before = app.store.count_users().await.unwrap();
    let form = [("username", "intruder"), ("role", "1"), ("password", "")];

    let none = app.post_raw("/admin/users/new", &form).await;
    assert_eq!(none.status(), 403);
    let mut wrong = form.to_vec();
    let bad = "0".repeat(64);
    wrong.push(("csrf_token", &bad));
    assert_eq!(app.post_raw("/admin/users/new", &wrong).await.status(), 403);

    // a token of another session is worthless here
    let other = TestApp::with_client(&app, new_client());
    let foreign = other.csrf().await;
    let mut stolen = form.to_vec();
    stolen.push(("csrf_token", &foreign));
    assert_eq!(
        app.post_raw("/admin/users/new", &stolen).await.status(),
        403
    );
    // nor in the header
    let r = app
        .client
        .post(app.at("/admin/users/new"))
        .header("x-csrf-token", &foreign)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    assert_eq!(
        app.store.count_users().await.unwrap(),
        before,
        "nothing created"
    );
    assert!(
        app.store
            .user_by_username("intruder")
            .await
            .unwrap()
            .is_none()
    );

    // the same form with the session's token works
    let ok = app.post("/admin/users/new", &form).await;
    assert_eq!(ok.status(), 200);
    assert!(
        app.store
            .user_by_username("intruder")
            .await
            .unwrap()
            .is_some()
    );
    app.cleanup().await;
}

#[tokio::test]
async fn the_login_form_itself_needs_the_csrf_token() {
    let app = spawn_app().await;
    let u = app.create_user("admin").await;
    let r = app
        .post_raw(
            "/login",
            &[("username", &u.username), ("password", &u.password)],
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(app.get("/admin/users").await.status(), 303, "not logged in");
    app.cleanup().await;
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in [
        "/login",
        "/healthz",
        "/assets/app.css",
        "/no-such-page",
        "/messaging/",
    ] {
        let r = app.get(path).await;
        let h = r.headers();
        assert_eq!(
            h["content-security-policy"],
            "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
            "{path}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
    }
    let css = app.get("/assets/app.css").await;
    assert_eq!(css.headers()["cache-control"], "public, max-age=86400");
    let htmx = app.get("/assets/htmx.min.js").await;
    assert_eq!(htmx.status(), 200);
    assert!(htmx.text().await.unwrap().contains("htmx"));
    let page = app.get("/login").await;
    assert_eq!(page.headers()["cache-control"], "no-store");
    let body = page.text().await.unwrap();
    assert!(body.contains(r#"<script src="/assets/htmx.min.js""#));
    assert!(!body.contains("<script>"), "no inline script");
    assert!(!body.contains("style="), "no inline style");
    app.cleanup().await;
}

#[tokio::test]
async fn error_pages_show_no_internals() {
    let app = spawn_app().await;
    let r = app.get("/no-such-page").await;
    assert_eq!(r.status(), 404);
    let body = r.text().await.unwrap();
    assert!(body.contains("Page introuvable") && body.contains("Page not found"));
    app.login_as("lecteur").await;
    let r = app.get("/admin/users").await;
    assert_eq!(r.status(), 403);
    let body = r.text().await.unwrap();
    assert!(body.contains("Accès refusé"));
    assert!(
        !body.contains("admin.users"),
        "no permission names or internals"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn no_page_or_log_contains_a_hash_a_password_the_secret_a_session_id_or_a_csrf_token() {
    let logs = logs().clone();
    let app = spawn_app().await;
    let admin = app.login_as("admin").await;
    let other = app.create_user("lecteur").await;
    // a failed login and a reset password page too
    let probe = TestApp::with_client(&app, new_client());
    let _ = probe.login(&other.username, "a-wrong-password-xyz").await;
    let reset = app
        .post(&format!("/admin/users/{}/password", other.id), &[])
        .await;
    assert_eq!(reset.status(), 200);
    let reset_body = reset.text().await.unwrap();

    let hashes: Vec<String> = app
        .store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.password_hash)
        .collect();
    let mut pages = vec![reset_body];
    for rule in all_rules().filter(|r| r.method == Method::GET) {
        let path = rule
            .path
            .replace("{id}", &other.id.to_string())
            .replace("{file}", "app.css");
        let r = app.get(&path).await;
        pages.push(r.text().await.unwrap());
    }
    let token = app.csrf().await;
    for body in &pages {
        for h in &hashes {
            assert!(!body.contains(h.as_str()), "a page shows a password hash");
        }
        assert!(!body.contains("$argon2"), "a page shows a hash");
        assert!(
            !body.contains(SENTINEL_SECRET),
            "a page shows the API secret"
        );
        assert!(!body.contains(&admin.password), "a page shows a password");
    }
    // the session id given at login (a user of its own: `other`'s password was just reset)
    let third = app.create_user("lecteur").await;
    let r = probe.login(&third.username, &third.password).await;
    let session_id = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|v| {
            let v = v.to_str().unwrap();
            v.strip_prefix("messagepro_session=")
                .map(|rest| rest.split(';').next().unwrap().to_owned())
        })
        .expect("login sets the session cookie");
    assert!(session_id.len() >= 16);
    let _ = probe.get("/messaging/").await;

    let log = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(!log.is_empty(), "logs were captured");
    for h in &hashes {
        assert!(!log.contains(h.as_str()), "a log line has a hash");
    }
    assert!(!log.contains("$argon2"));
    assert!(
        !log.contains(SENTINEL_SECRET),
        "a log line has the API secret"
    );
    assert!(!log.contains(&admin.password), "a log line has a password");
    assert!(
        !log.contains("a-wrong-password-xyz"),
        "a log line has a tried password"
    );
    assert!(!log.contains(&token), "a log line has the CSRF token");
    let leak: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(&session_id))
        .take(3)
        .collect();
    assert!(leak.is_empty(), "a log line has a session id: {leak:#?}");
    app.cleanup().await;
}
