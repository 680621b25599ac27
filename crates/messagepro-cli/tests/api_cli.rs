//! The API commands of the built `messagepro` binary against a wiremock Message Pro: exact
//! request, human and JSON output, exit codes (0 ok, 1 OTP rejected, 2 errors).

use std::process::{Command, Output};

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "0123456789abcdef0123456789abcdef01234567";

/// Runs the binary with the given base URL and secret, in an empty temporary directory (so no
/// `.env` is picked up), on a blocking thread so the mock server keeps serving.
async fn run(base: Option<&str>, secret: Option<&str>, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_messagepro"));
    cmd.current_dir(dir.path())
        .env_remove("MESSAGEPRO_API_SECRET")
        .env_remove("MESSAGEPRO_BASE_URL")
        .env_remove("MESSAGEPRO_DEFAULT_COUNTRY")
        .env_remove("MESSAGEPRO_LOG")
        .args(args);
    if let Some(b) = base {
        cmd.env("MESSAGEPRO_BASE_URL", b);
    }
    if let Some(s) = secret {
        cmd.env("MESSAGEPRO_API_SECRET", s);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("binary runs"))
        .await
        .expect("join");
    drop(dir);
    out
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn envelope(status: i64, message: &str, data: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"status": status, "message": message, "data": data}))
}

/// Decodes an `application/x-www-form-urlencoded` body (the CLI crate has no `url` dev-dependency).
fn form(body: &[u8]) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < b.len() => {
                    let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 2;
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8(out).unwrap()
    }
    std::str::from_utf8(body)
        .unwrap()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn field<'a>(f: &'a [(String, String)], k: &str) -> Option<&'a str> {
    f.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str())
}

/// Empty unsubscribed and contact lists: a direct send checks the platform's opt-out list
/// first (and a bulk send to groups their members).
async fn mount_lists(server: &MockServer) {
    for p in ["/api/get/unsubscribed", "/api/get/contacts"] {
        Mock::given(path(p))
            .respond_with(envelope(200, "Listed", json!([])))
            .mount(server)
            .await;
    }
}

/// The send requests the server received (the list reads left out).
async fn sends(server: &MockServer) -> Vec<wiremock::Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path().starts_with("/api/send/"))
        .collect()
}

#[tokio::test]
async fn sms_send_posts_the_e164_phone_and_reports_not_enough_credits_with_a_nonzero_exit() {
    // Arrange: the acceptance check of the brief.
    let server = MockServer::start().await;
    mount_lists(&server).await;
    Mock::given(method("POST"))
        .and(path("/api/send/sms"))
        .respond_with(envelope(
            403,
            "Not enough credits to send this message!",
            json!(false),
        ))
        .expect(1)
        .mount(&server)
        .await;

    // Act
    let out = run(
        Some(&server.uri()),
        Some(SECRET),
        &[
            "sms",
            "send",
            "--phone",
            "621234567",
            "--message",
            "Bonjour",
            "--device",
            "dev-7",
            "--sim",
            "1",
        ],
    )
    .await;

    // Assert
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(&out));
    assert!(
        stderr(&out).contains("Not enough credits to send this message!"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains(SECRET));
    let reqs = sends(&server).await;
    assert_eq!(reqs.len(), 1);
    let body = String::from_utf8(reqs[0].body.clone()).unwrap();
    assert!(body.contains("phone=%2B224621234567"), "{body}");
    let ct = reqs[0]
        .headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(ct, "application/x-www-form-urlencoded");
    let f = form(&reqs[0].body);
    assert_eq!(field(&f, "device"), Some("dev-7"));
    assert_eq!(field(&f, "sim"), Some("1"));
    assert_eq!(field(&f, "mode"), Some("devices"));
    assert_eq!(field(&f, "secret"), Some(SECRET));
}

#[tokio::test]
async fn sms_send_success_prints_the_platform_message() {
    let server = MockServer::start().await;
    mount_lists(&server).await;
    Mock::given(path("/api/send/sms"))
        .respond_with(envelope(
            200,
            "Message has been queued for sending!",
            json!(false),
        ))
        .mount(&server)
        .await;
    let out = run(
        Some(&server.uri()),
        Some(SECRET),
        &[
            "sms",
            "send",
            "--phone",
            "+224 621 23 45 67",
            "--message",
            "Hi",
            "--gateway",
            "3",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("Message has been queued for sending!"));
    let reqs = sends(&server).await;
    let f = form(&reqs[0].body);
    assert_eq!(field(&f, "mode"), Some("credits"));
    assert_eq!(field(&f, "gateway"), Some("3"));
}

#[tokio::test]
async fn without_a_secret_any_api_command_fails_with_the_missing_secret_message() {
    for args in [
        vec!["account", "credits"],
        vec!["devices"],
        vec![
            "sms",
            "send",
            "--phone",
            "621234567",
            "--message",
            "x",
            "--device",
            "d",
        ],
    ] {
        let out = run(Some("http://127.0.0.1:9"), None, &args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains("MESSAGEPRO_API_SECRET"), "{args:?}: {err}");
        assert!(err.contains(".env"), "{err}");
    }
}

#[tokio::test]
async fn device_and_gateway_together_are_a_usage_error() {
    let out = run(
        Some("http://127.0.0.1:9"),
        Some(SECRET),
        &[
            "sms",
            "send",
            "--phone",
            "621234567",
            "--message",
            "x",
            "--device",
            "d",
            "--gateway",
            "1",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot be used with"),
        "{}",
        stderr(&out)
    );
    let none = run(
        Some("http://127.0.0.1:9"),
        Some(SECRET),
        &["sms", "send", "--phone", "621234567", "--message", "x"],
    )
    .await;
    assert_eq!(none.status.code(), Some(2));
}

#[tokio::test]
async fn account_credits_prints_human_text_and_json() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/get/credits"))
        .respond_with(envelope(
            200,
            "Remaining Credits",
            json!({"credits": "1250.5", "currency": "GNF"}),
        ))
        .mount(&server)
        .await;
    let human = run(Some(&server.uri()), Some(SECRET), &["account", "credits"]).await;
    assert_eq!(human.status.code(), Some(0), "{}", stderr(&human));
    assert_eq!(stdout(&human).trim(), "Credits: 1250.5 GNF");
    let js = run(
        Some(&server.uri()),
        Some(SECRET),
        &["--json", "account", "credits"],
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&stdout(&js)).expect("valid JSON");
    assert_eq!(v, json!({"credits": "1250.5", "currency": "GNF"}));
}

#[tokio::test]
async fn otp_verify_exits_1_when_the_code_is_rejected_and_0_when_accepted() {
    let server = MockServer::start().await;
    Mock::given(path("/api/get/otp"))
        .respond_with(envelope(403, "OTP is invalid or expired!", json!(false)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/get/otp"))
        .respond_with(envelope(200, "OTP has been verified!", json!(false)))
        .mount(&server)
        .await;
    let bad = run(
        Some(&server.uri()),
        Some(SECRET),
        &["otp", "verify", "--code", "111111"],
    )
    .await;
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("OTP is invalid or expired!"));
    let good = run(
        Some(&server.uri()),
        Some(SECRET),
        &["otp", "verify", "--code", "483920"],
    )
    .await;
    assert_eq!(good.status.code(), Some(0));
    assert!(stdout(&good).contains("verified"));
}

#[tokio::test]
async fn sms_bulk_merges_numbers_file_numbers_and_groups() {
    let server = MockServer::start().await;
    mount_lists(&server).await;
    Mock::given(path("/api/send/sms.bulk"))
        .respond_with(envelope(
            200,
            "Bulk messages has been queued for sending!",
            json!(false),
        ))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("numbers.txt");
    std::fs::write(&file, "# clients\n622 00 00 00\n\n+221771234567\n").unwrap();
    let out = run(
        Some(&server.uri()),
        Some(SECRET),
        &[
            "sms",
            "bulk",
            "--campaign",
            "Promo",
            "--message",
            "Bonjour",
            "--numbers",
            "621234567",
            "--numbers-file",
            file.to_str().unwrap(),
            "--groups",
            "1,2",
            "--device",
            "dev-1",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("Bulk messages has been queued for sending!"));
    let reqs = sends(&server).await;
    let f = form(&reqs[0].body);
    assert_eq!(
        field(&f, "numbers"),
        Some("+224621234567,+224622000000,+221771234567")
    );
    assert_eq!(field(&f, "groups"), Some("1,2"));
    assert_eq!(field(&f, "campaign"), Some("Promo"));
}

#[tokio::test]
async fn sms_bulk_refuses_invalid_numbers_before_sending() {
    let server = MockServer::start().await;
    let out = run(
        Some(&server.uri()),
        Some(SECRET),
        &[
            "sms",
            "bulk",
            "--message",
            "x",
            "--numbers",
            "621234567,12",
            "--device",
            "d",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("invalid phone number"),
        "{}",
        stderr(&out)
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn lists_page_through_everything_with_page_1_and_a_growing_limit() {
    let server = MockServer::start().await;
    Mock::given(path("/api/get/contacts"))
        .respond_with(envelope(
            200,
            "Saved Contacts",
            json!([{"id": 7, "groups": ["1"], "phone": "+224621234567", "name": "Awa &amp; Fils"}]),
        ))
        .mount(&server)
        .await;
    let out = run(Some(&server.uri()), Some(SECRET), &["contacts", "list"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Awa & Fils"), "{text}");
    assert!(text.contains("+224621234567"));
    let reqs = server.received_requests().await.unwrap();
    let q: Vec<(String, String)> = reqs[0].url.query_pairs().into_owned().collect();
    assert_eq!(field(&q, "page"), Some("1"));
    assert_eq!(field(&q, "limit"), Some("500"));
}

#[tokio::test]
async fn whatsapp_send_to_a_local_number_sends_e164_recipient() {
    let server = MockServer::start().await;
    mount_lists(&server).await;
    Mock::given(path("/api/send/whatsapp"))
        .respond_with(envelope(
            200,
            "WhatsApp chat has been queued for sending!",
            json!(false),
        ))
        .mount(&server)
        .await;
    let out = run(
        Some(&server.uri()),
        Some(SECRET),
        &[
            "whatsapp",
            "send",
            "--account",
            "acc",
            "--to",
            "621234567",
            "--message",
            "Salut",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let reqs = sends(&server).await;
    let f = form(&reqs[0].body);
    assert_eq!(field(&f, "recipient"), Some("+224621234567"));
    assert_eq!(field(&f, "type"), Some("text"));
}

#[tokio::test]
async fn a_proxy_error_page_exits_2_with_a_clear_message() {
    let server = MockServer::start().await;
    Mock::given(path("/api/get/devices"))
        .respond_with(
            ResponseTemplate::new(502).set_body_raw("<html>Bad Gateway</html>", "text/html"),
        )
        .mount(&server)
        .await;
    let out = run(Some(&server.uri()), Some(SECRET), &["devices"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("could not be understood"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn otp_send_by_whatsapp_prints_the_code_and_sends_the_channel_fields() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/send/otp"))
        .respond_with(envelope(
            200,
            "OTP has been sent!",
            json!({"phone": "+224621234567", "message": "Code: 483920", "otp": 483920}),
        ))
        .mount(&server)
        .await;
    let out = run(
        Some(&server.uri()),
        Some(SECRET),
        &[
            "--json",
            "otp",
            "send",
            "--phone",
            "621234567",
            "--whatsapp-account",
            "acc-1",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(v["otp"], json!(483920));
    let reqs = server.received_requests().await.unwrap();
    let f = form(&reqs[0].body);
    assert_eq!(field(&f, "type"), Some("whatsapp"));
    assert_eq!(field(&f, "account"), Some("acc-1"));
    assert_eq!(field(&f, "phone"), Some("+224621234567"));
    assert!(field(&f, "message").unwrap().contains("{{otp}}"));
    // Two channels at once are a usage error.
    let both = run(
        Some(&server.uri()),
        Some(SECRET),
        &[
            "otp",
            "send",
            "--phone",
            "621234567",
            "--whatsapp-account",
            "a",
            "--device",
            "d",
        ],
    )
    .await;
    assert_eq!(both.status.code(), Some(2));
}
