//! A webhook receiver on 127.0.0.1 for the webhook tests: it records each request's Standard
//! Webhooks headers and body, and answers the statuses a test scripts, in turn.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
}

/// A receiver answering the scripted statuses in turn (then 200 forever).
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

pub async fn receiver(script: Vec<u16>) -> Receiver {
    type Shared = (Arc<Mutex<Vec<Received>>>, Arc<Mutex<Vec<u16>>>);
    async fn handle(
        State((got, script)): State<Shared>,
        headers: HeaderMap,
        body: Bytes,
    ) -> axum::http::StatusCode {
        let h = |k: &str| {
            headers
                .get(k)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        got.lock().unwrap().push(Received {
            id: h("webhook-id"),
            timestamp: h("webhook-timestamp"),
            signature: h("webhook-signature"),
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        let mut s = script.lock().unwrap();
        let code = if s.is_empty() { 200 } else { s.remove(0) };
        axum::http::StatusCode::from_u16(code).unwrap()
    }
    let got = Arc::new(Mutex::new(Vec::new()));
    let shared: Shared = (got.clone(), Arc::new(Mutex::new(script)));
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(handle))
        .with_state(shared);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { url, got }
}

impl Receiver {
    pub fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}
