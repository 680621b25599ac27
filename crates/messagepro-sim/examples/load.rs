//! Bounded load generator for `send/sms` on a simulator (in-process, loopback only).
//!
//! `cargo run --release -p messagepro-sim --example load -- [CONNECTIONS] [REQUESTS] [MAX_SECS]`
//! (defaults 16, 300000, 20). Each connection is one keep-alive HTTP/1 client connection
//! (hyper) sending urlencoded POSTs back to back; the run stops at REQUESTS or MAX_SECS.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let conns = args.first().copied().unwrap_or(16);
    let total = args.get(1).copied().unwrap_or(300_000);
    let max = Duration::from_secs(args.get(2).copied().unwrap_or(20));
    let sim = messagepro_sim::Simulator::builder()
        .seed(1)
        .auto_progress(false)
        .start("127.0.0.1:0")
        .await?;
    let fx = sim.fixture();
    let online = fx
        .devices
        .as_ref()
        .ok_or("demo fixture")?
        .online
        .unique
        .clone();
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("secret", &fx.secrets.full)
        .append_pair("mode", "devices")
        .append_pair("phone", "+224621234567")
        .append_pair("message", "Bonjour, votre commande est prete.")
        .append_pair("device", &online)
        .finish();
    let body = Bytes::from(body);
    let addr = sim.addr();
    let issued = Arc::new(AtomicU64::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (issued, ok, body) = (issued.clone(), ok.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
            stream.set_nodelay(true).expect("nodelay");
            let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .expect("handshake");
            tokio::spawn(conn);
            while issued.fetch_add(1, Ordering::Relaxed) < total && start.elapsed() < max {
                let req = http::Request::post("/api/send/sms")
                    .header("host", "127.0.0.1")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(Full::new(body.clone()))
                    .expect("request");
                let res = send.send_request(req).await.expect("response");
                let bytes = res.into_body().collect().await.expect("body").to_bytes();
                if bytes.starts_with(br#"{"status":200"#)
                    || bytes.windows(12).any(|w| w == br#""status":200"#)
                {
                    ok.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let secs = start.elapsed().as_secs_f64();
    let n = ok.load(Ordering::Relaxed);
    println!(
        "connections={conns} ok_requests={n} seconds={secs:.2} throughput={:.0} req/s",
        n as f64 / secs
    );
    println!("ledger rows={}", sim.ledger().len());
    let held = sim.mean_locked_dispatch("/api/send/sms", std::str::from_utf8(&body)?, 20_000);
    println!(
        "state lock held per send/sms dispatch: {:.1} µs (single thread)",
        held.as_secs_f64() * 1e6
    );
    Ok(())
}
