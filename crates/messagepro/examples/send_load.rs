//! Throughput of `Client::send_sms` against an in-process simulator (loopback only, bounded).
//!
//! `cargo run --release -p messagepro --example send_load -- [REQUESTS] [MAX_SECS]`
//! (defaults 50000, 10). Runs the same workload twice: one request in flight (one connection),
//! then 16 in flight; prints both rates and their ratio. Each call is the full client path:
//! `SendSms` → form encoding (`%2B`) → HTTP → envelope decoding → `SmsReceipt`.

use std::time::{Duration, Instant};

use futures::StreamExt;
use messagepro::{Client, Phone, SendSms, Sim, SmsRoute};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let total = args.first().copied().unwrap_or(50_000);
    let max = Duration::from_secs(args.get(1).copied().unwrap_or(10));

    let sim = messagepro_sim::Simulator::builder()
        .seed(1)
        .auto_progress(false)
        .start("127.0.0.1:0")
        .await?;
    let fx = sim.fixture();
    let device = fx
        .devices
        .as_ref()
        .ok_or("demo fixture")?
        .online
        .unique
        .clone();
    let client = Client::builder()
        .base_url(sim.url())
        .secret(fx.secrets.full.clone())
        .build()?;
    let req = SendSms::new(
        Phone::parse("621234567", "GN")?,
        "Bonjour, votre commande est prête.",
        SmsRoute::Devices {
            device,
            sim: Sim::One,
            priority: false,
        },
    );

    let mut rates = Vec::new();
    let mut sent = 0u64;
    for in_flight in [1usize, 16] {
        let start = Instant::now();
        let done = futures::stream::iter(0..total)
            .take_while(|_| std::future::ready(start.elapsed() < max))
            .map(|_| client.send_sms(&req))
            .buffer_unordered(in_flight)
            .fold(0u64, |n, r| {
                r.expect("the simulator accepts every send");
                std::future::ready(n + 1)
            })
            .await;
        let secs = start.elapsed().as_secs_f64();
        let rate = done as f64 / secs;
        println!("{in_flight:>2} in flight: {done} sends in {secs:.2} s = {rate:.0} sends/s");
        rates.push(rate);
        sent += done;
    }
    println!("ratio 16 / 1 in flight: {:.2}", rates[1] / rates[0]);
    assert_eq!(
        sim.shared().ledger().len() as u64,
        sent,
        "every accepted send is one message on the platform"
    );
    Ok(())
}
