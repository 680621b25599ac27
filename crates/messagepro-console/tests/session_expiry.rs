//! A session that expires while someone works: where each kind of request is sent, what the
//! login page says, and where the user lands after logging in again (the browser half — the
//! typed campaign kept and put back — is in `browser.rs`).

mod helpers;

use std::time::Duration;

use helpers::{csrf_in, spawn_app};

const IDLE_PAST: Duration = Duration::from_secs(31 * 60);

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn an_htmx_request_after_expiry_gets_hx_redirect_back_to_its_page_not_a_login_box() {
    let app = spawn_app().await;
    app.login_as("superviseur").await;
    let page = app.get("/messaging/sms/bulk").await.text().await.unwrap();
    let token = csrf_in(&page).expect("csrf token on the page");
    app.clock.advance(IDLE_PAST);

    // the live counter of the campaign form, as htmx sends it
    let r = app
        .client
        .post(app.at("/messaging/sms/analyze"))
        .header("HX-Request", "true")
        .header("HX-Current-URL", app.at("/messaging/sms/bulk?x=1"))
        .header("X-CSRF-Token", &token)
        .form(&[("message", "Promo du jour")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "htmx follows HX-Redirect on a 200");
    let to = r
        .headers()
        .get("hx-redirect")
        .expect("HX-Redirect header")
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        to, "/login?next=%2Fmessaging%2Fsms%2Fbulk%3Fx%3D1&expired=1",
        "back to the page the user is on (not the fragment endpoint), marked expired"
    );
    assert!(
        r.headers().get("location").is_none(),
        "no 303 for htmx to follow into the fragment"
    );
    let body = r.text().await.unwrap();
    assert!(
        !body.contains("name=\"password\""),
        "no login box inside the page: {body}"
    );

    // the login page says the truth, in French and in English
    let login = app.get(&to).await.text().await.unwrap();
    assert!(login.contains("Votre session a expiré"), "{login}");
    assert!(login.contains(r#"name="next" value="/messaging/sms/bulk?x=1""#));
    let en = app
        .client
        .get(app.at(&to))
        .header("accept-language", "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(en.contains("Your session expired"), "{en}");

    // logging in again lands on the campaign page, which opens (no false "access denied")
    let again = app.create_user("superviseur").await;
    let r = app
        .post(
            "/login",
            &[
                ("username", &again.username),
                ("password", &again.password),
                ("next", "/messaging/sms/bulk?x=1"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/messaging/sms/bulk?x=1");
    let back = app.get("/messaging/sms/bulk?x=1").await;
    assert_eq!(back.status(), 200);
    app.cleanup().await;
}

#[tokio::test]
async fn plain_requests_after_expiry_go_to_the_login_page_marked_expired() {
    let app = spawn_app().await;
    app.login_as("superviseur").await;
    let page = app.get("/messaging/sms/bulk").await.text().await.unwrap();
    let token = csrf_in(&page).unwrap();
    app.clock.advance(IDLE_PAST);

    // a form POST without htmx comes back to the page it was sent from
    let r = app
        .client
        .post(app.at("/messaging/sms/bulk/preview"))
        .header("Referer", app.at("/messaging/sms/bulk"))
        .form(&[("csrf_token", token.as_str()), ("name", "Promo")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        location(&r),
        "/login?next=%2Fmessaging%2Fsms%2Fbulk&expired=1"
    );

    // an anonymous visitor (no session cookie) is not told a session expired
    let visitor = helpers::TestApp::with_client(&app, helpers::new_client());
    let r = visitor.get("/messaging/sms/history").await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/login?next=%2Fmessaging%2Fsms%2Fhistory");
    let login = visitor
        .get("/login?next=%2Fmessaging%2Fsms%2Fhistory")
        .await
        .text()
        .await
        .unwrap();
    assert!(!login.contains("Votre session a expiré"));

    // a foreign page in HX-Current-URL keeps only its path: same origin
    let r = visitor
        .client
        .get(app.at("/messaging/sms/history"))
        .header("HX-Request", "true")
        .header("HX-Current-URL", "https://evil.example/phish")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers().get("hx-redirect").unwrap().to_str().unwrap(),
        "/login?next=%2Fphish"
    );
    app.cleanup().await;
}
