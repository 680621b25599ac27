//! Retries (reads only) and the ambiguity flag the outbox relies on.

use std::time::Duration;

use messagepro::{Client, Error, SendSms, SmsRoute};
use wiremock::matchers::{any, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

fn slow_client(server: &MockServer, retries: u32) -> Client {
    Client::builder()
        .base_url(server.uri())
        .secret(SECRET)
        .timeout(Duration::from_millis(300))
        .read_retries(retries)
        .retry_backoff(Duration::from_millis(10))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_read_that_times_out_is_retried_and_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(path("/api/get/credits"))
        .respond_with(fixture_response("credits.json").set_delay(Duration::from_secs(2)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/get/credits"))
        .respond_with(fixture_response("credits.json"))
        .mount(&server)
        .await;
    let c = slow_client(&server, 2).get_credits().await.unwrap();
    assert_eq!(c.credits, "1250.5");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn reads_give_up_after_the_configured_retries() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2)))
        .mount(&server)
        .await;
    let e = slow_client(&server, 2).get_credits().await.unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }));
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        3,
        "1 try + 2 retries"
    );
}

#[tokio::test]
async fn a_send_that_times_out_is_not_retried_and_is_ambiguous() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ok("Message has been queued for sending!").set_delay(Duration::from_secs(2)))
        .mount(&server)
        .await;
    let client = slow_client(&server, 5);
    let phone = client.parse_phone("621234567").unwrap();
    let e = client
        .send_sms(&SendSms::new(phone, "Bonjour", SmsRoute::device("d")))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Timeout {
                ambiguous: true,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.is_ambiguous());
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "sends are never retried"
    );
}

#[tokio::test]
async fn deletes_and_campaign_controls_are_not_retried() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ok("x").set_delay(Duration::from_secs(2)))
        .mount(&server)
        .await;
    let client = slow_client(&server, 5);
    assert!(client.delete_contact(1).await.is_err());
    assert!(client.stop_sms_campaign(1).await.is_err());
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_refused_connection_is_retried_for_reads_and_not_ambiguous() {
    let client = Client::builder()
        .base_url("http://127.0.0.1:9")
        .secret(SECRET)
        .read_retries(1)
        .retry_backoff(Duration::from_millis(1))
        .build()
        .unwrap();
    let e = client.get_credits().await.unwrap_err();
    assert!(!e.is_ambiguous());
}

#[tokio::test]
async fn a_connection_dropped_after_the_request_is_sent_is_ambiguous() {
    use tokio::io::AsyncReadExt;
    // A server that reads the request and hangs up without answering (the outbox case).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = sock.read(&mut buf).await.unwrap();
        drop(sock);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    });
    let client = Client::builder()
        .base_url(format!("http://{addr}"))
        .secret(SECRET)
        .build()
        .unwrap();
    let phone = client.parse_phone("621234567").unwrap();
    let e = client
        .send_sms(&SendSms::new(phone, "Bonjour", SmsRoute::device("d")))
        .await
        .unwrap_err();
    let head = server.await.unwrap();
    assert!(head.starts_with("POST /api/send/sms"), "{head}");
    assert!(
        matches!(
            e,
            Error::Transport {
                ambiguous: true,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.is_ambiguous());
}
