//! Everything logged during calls — ours and reqwest/hyper's, at TRACE — is free of the secret
//! and of OTP codes, and names the endpoint.
//!
//! A test binary of its own: tracing caches per-callsite interest process-wide, and a scoped
//! subscriber in one test racing with unsubscribed tests on other threads loses events.

use std::io::Write;
use std::sync::{Arc, Mutex};

use messagepro::{Client, OtpChannel, SendOtp, SendSms, SmsRoute};
use serde_json::json;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "0123456789abcdef0123456789abcdef01234567";

fn client_for(base: &str) -> Client {
    Client::builder()
        .base_url(base)
        .secret(SECRET)
        .read_retries(1)
        .retry_backoff(std::time::Duration::from_millis(1))
        .build()
        .unwrap()
}

fn envelope(status: i64, message: &str, data: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"status": status, "message": message, "data": data}))
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn trace_logs_never_contain_the_secret_or_an_otp_code() {
    // Arrange: capture everything on this (current-thread) runtime.
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(captured.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let server = MockServer::start().await;
    let client = client_for(&server.uri());
    Mock::given(path("/api/send/otp"))
        .respond_with(envelope(
            200,
            "OTP has been sent!",
            json!({"phone": "+224621234567", "message": "Code: 483920", "otp": 483920}),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/api/get/otp"))
        .respond_with(envelope(403, "OTP is invalid or expired!", json!(false)))
        .mount(&server)
        .await;
    Mock::given(path("/api/send/sms"))
        .respond_with(envelope(
            403,
            "Not enough credits to send this message!",
            json!(false),
        ))
        .mount(&server)
        .await;
    let phone = client.parse_phone("621234567").unwrap();

    // Act
    let sent = client
        .send_otp(&SendOtp::new(
            phone.clone(),
            "Code: {{otp}}",
            OtpChannel::WhatsApp {
                account: "a".into(),
                priority: false,
            },
        ))
        .await
        .unwrap();
    let _ = client.verify_otp("654321").await;
    let _ = client
        .send_sms(&SendSms::new(phone, "Bonjour", SmsRoute::device("d")))
        .await;
    let _ = client_for("http://127.0.0.1:9").get_credits().await;

    // Assert
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert_eq!(sent.otp.expose(), "483920");
    assert!(
        logs.contains("send/otp"),
        "the span names the endpoint:\n{logs}"
    );
    assert!(logs.contains("get/credits"));
    assert!(!logs.contains(SECRET), "secret in logs:\n{logs}");
    assert!(!logs.contains("483920"), "OTP code in logs:\n{logs}");
    assert!(!logs.contains("654321"), "typed OTP in logs:\n{logs}");
}
