//! The API secret (and OTP codes) never appear in `Display`/`Debug` of the client or of errors.

use std::time::Duration;

use messagepro::{Client, Error};
use serde_json::json;
use wiremock::matchers::any;
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} leaks the secret: {text}");
}

fn check_error(e: &Error) {
    assert_clean("Display", &e.to_string());
    assert_clean("Debug", &format!("{e:?}"));
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        assert_clean("source", &s.to_string());
        assert_clean("source Debug", &format!("{s:?}"));
        source = s.source();
    }
}

#[tokio::test]
async fn client_and_builder_debug_do_not_show_the_secret() {
    let (_server, client) = setup().await;
    let dbg = format!("{client:?}");
    assert_clean("Client Debug", &dbg);
    assert!(dbg.contains("REDACTED"));
    let b = Client::builder().secret(SECRET);
    assert_clean("ClientBuilder Debug", &format!("{b:?}"));
}

#[tokio::test]
async fn platform_errors_do_not_show_the_secret() {
    let (server, client) = setup().await;
    Mock::given(any())
        .respond_with(envelope(401, "Invalid API secret supplied!", json!(false)))
        .mount(&server)
        .await;
    check_error(&client.get_credits().await.unwrap_err());
}

#[tokio::test]
async fn a_proxy_page_echoing_the_url_is_redacted_in_the_decode_error() {
    let (server, client) = setup().await;
    let page =
        format!("<html><body>502 Bad Gateway for /api/get/credits?secret={SECRET}</body></html>");
    Mock::given(any())
        .respond_with(ResponseTemplate::new(502).set_body_raw(page, "text/html"))
        .mount(&server)
        .await;
    let e = client.get_credits().await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Decode {
                http_status: 502,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.is_ambiguous(),
        "an HTML page means we cannot know what happened"
    );
    assert!(e.to_string().contains("[REDACTED]"));
    check_error(&e);
}

#[tokio::test]
async fn transport_errors_carry_no_url() {
    // Nothing listens on port 9 (discard) on test machines: connection refused.
    let client = client_for("http://127.0.0.1:9");
    let e = client.get_credits().await.unwrap_err();
    assert!(matches!(e, Error::Transport { .. }), "{e:?}");
    assert!(
        !e.is_ambiguous(),
        "a refused connection never reached the platform"
    );
    check_error(&e);
}

#[tokio::test]
async fn timeouts_carry_no_url() {
    let server = wiremock::MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2)))
        .mount(&server)
        .await;
    let client = Client::builder()
        .base_url(server.uri())
        .secret(SECRET)
        .timeout(Duration::from_millis(200))
        .read_retries(0)
        .build()
        .unwrap();
    let e = client.get_credits().await.unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
    check_error(&e);
}

#[tokio::test]
async fn redirects_are_not_followed_so_the_secret_is_not_resent() {
    let (server, client) = setup().await;
    Mock::given(wiremock::matchers::path("/api/get/credits"))
        .respond_with(ResponseTemplate::new(301).insert_header(
            "location",
            format!("{}/elsewhere/api/get/credits", server.uri()),
        ))
        .mount(&server)
        .await;
    let e = client.get_credits().await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Decode {
                http_status: 301,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("redirect"), "{e}");
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 1, "the Location was not requested");
    check_error(&e);
}
