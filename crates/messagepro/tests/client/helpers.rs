//! Shared test helpers: a mock server + client pair, envelope builders, request parsers.

use std::time::Duration;

use messagepro::Client;
use serde_json::{Value, json};
use wiremock::{MockServer, Request, ResponseTemplate};

/// A realistic 40-hex secret; tests assert it never leaks.
pub const SECRET: &str = "0123456789abcdef0123456789abcdef01234567";

pub async fn setup() -> (MockServer, Client) {
    let server = MockServer::start().await;
    let client = client_for(&server.uri());
    (server, client)
}

pub fn client_for(base: &str) -> Client {
    Client::builder()
        .base_url(base)
        .secret(SECRET)
        .timeout(Duration::from_secs(5))
        .retry_backoff(Duration::from_millis(10))
        .build()
        .expect("client builds")
}

/// HTTP 200 with the platform envelope.
pub fn envelope(status: i64, message: &str, data: Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({ "status": status, "message": message, "data": data }))
}

pub fn ok(message: &str) -> ResponseTemplate {
    envelope(200, message, json!(false))
}

pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture exists"))
        .expect("fixture is JSON")
}

pub fn fixture_response(name: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(fixture(name))
}

/// Decoded urlencoded form body.
pub fn form(req: &Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&req.body)
        .into_owned()
        .collect()
}

pub fn query(req: &Request) -> Vec<(String, String)> {
    req.url.query_pairs().into_owned().collect()
}

pub fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

pub fn keys(pairs: &[(String, String)]) -> Vec<&str> {
    pairs.iter().map(|(k, _)| k.as_str()).collect()
}

pub async fn only_request(server: &MockServer) -> Request {
    let mut reqs = server.received_requests().await.expect("recording on");
    assert_eq!(reqs.len(), 1, "exactly one request expected");
    reqs.remove(0)
}

pub fn content_type(req: &Request) -> String {
    req.headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}
