//! Durable dispatch throughput (a load command, not a timed test): a campaign accepted into the
//! outbox (one transaction), then claimed → `sending` committed → `send/sms` → outcome recorded,
//! against an in-process simulator on loopback — next to the raw client rate measured in the
//! same run on the same simulator.
//!
//! `cargo run --release -p messagepro-core --example dispatch_load -- [MESSAGES] [CONCURRENCY] [ROUNDS]`
//! (defaults 20000, 32, 3). SQLite (`synchronous=FULL`, a file in a temporary folder) always;
//! PostgreSQL too when `MESSAGEPRO_TEST_DATABASE_URL` is set (a fresh schema, dropped after).
//! Each round measures the raw client, then durable dispatch on a fresh database, back to back;
//! the table shows the medians over the rounds (this machine's figures vary by ±30 % from run
//! to run) and the ratio is the median of the per-round ratios. Prints the figures recorded in
//! `docs/benchmarks.md`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use messagepro::{Client, Phone, SendSms, SmsRoute};
use messagepro_core::{Actor, Core, CoreSettings, SystemClock};
use messagepro_core::{CampaignRequest, SendChannel};
use messagepro_store::{MessageStatus, Store};

fn numbers(n: usize) -> Vec<Phone> {
    (0..n)
        .map(|i| Phone::parse(&format!("62{:07}", 1_000_000 + i), "GN").unwrap())
        .collect()
}

async fn raw(client: &Client, device: &str, n: usize, concurrency: usize) -> f64 {
    let phones = numbers(n);
    let t = Instant::now();
    futures::stream::iter(phones)
        .map(|p| {
            let req = SendSms::new(p, "Promo du jour", SmsRoute::device(device));
            async move { client.send_sms(&req).await.map(|_| ()) }
        })
        .buffer_unordered(concurrency)
        .for_each(|r| async move { r.expect("raw send") })
        .await;
    n as f64 / t.elapsed().as_secs_f64()
}

async fn durable(
    store: Store,
    client: Client,
    device: &str,
    n: usize,
    concurrency: usize,
) -> (f64, f64, f64) {
    let core = Core::new(
        store.clone(),
        client,
        CoreSettings {
            concurrency,
            reconcile_every: None,
            policy: messagepro_core::policy::PolicySettings::unrestricted(),
            ..Default::default()
        },
        Arc::new(SystemClock),
    );
    let t = Instant::now();
    core.submit_campaign(
        &Actor::System { name: "bench" },
        CampaignRequest {
            name: "Bench".into(),
            text: "Promo du jour".into(),
            numbers: numbers(n),
            groups: vec![],
            columns: Default::default(),
            start_ms: None,
            channel: SendChannel::Sms {
                route: SmsRoute::device(device),
            },
        },
    )
    .await
    .expect("campaign accepted");
    let ingest = t.elapsed();
    // the production path: a worker (claims as sends finish, records outcomes in batches)
    let t2 = Instant::now();
    let handle = messagepro_core::Worker::new(core.clone()).spawn();
    // the wait probes two partial indexes (cheap): it must not slow what it measures
    while store.outbox_active().await.expect("outbox state") {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let dispatch = t2.elapsed();
    handle.shutdown().await;
    let pending = store
        .message_status_counts()
        .await
        .unwrap()
        .into_iter()
        .find(|(s, _)| *s == MessageStatus::Pending)
        .map(|(_, c)| c)
        .unwrap_or(0);
    assert_eq!(
        pending as usize, n,
        "every message recorded as accepted by the platform"
    );
    (
        n as f64 / ingest.as_secs_f64(),
        n as f64 / dispatch.as_secs_f64(),
        n as f64 / (ingest + dispatch).as_secs_f64(),
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A fresh simulator (demo fixture, no automatic progress), a client for it and its online
/// device.
async fn simulator()
-> Result<(messagepro_sim::SimHandle, Client, String), Box<dyn std::error::Error>> {
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
        .timeout(Duration::from_secs(30))
        .build()?;
    Ok((sim, client, device))
}

/// A fresh, migrated database of the backend: `(store, PostgreSQL schema to drop)`.
async fn fresh(
    backend: &str,
    dir: &std::path::Path,
    round: usize,
) -> Result<(Store, Option<String>), Box<dyn std::error::Error>> {
    if backend == "postgres" {
        let url = std::env::var("MESSAGEPRO_TEST_DATABASE_URL")?;
        let schema = format!("bench_{}_{round}", std::process::id());
        let pg = Store::connect_postgres_schema(&url, &schema).await?;
        pg.migrate().await?;
        Ok((pg, Some(schema)))
    } else {
        let s = Store::connect(&format!("sqlite://{}/bench{round}.db", dir.display())).await?;
        s.migrate().await?;
        Ok((s, None))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(20_000);
    let concurrency = args.get(1).copied().unwrap_or(32);
    let rounds = args.get(2).copied().unwrap_or(3).max(1);
    let mut backends = vec![("SQLite (WAL, synchronous=FULL)", "sqlite")];
    if std::env::var("MESSAGEPRO_TEST_DATABASE_URL").is_ok() {
        backends.push(("PostgreSQL", "postgres"));
    }
    let dir = tempfile::tempdir()?;
    println!(
        "{n} messages, {concurrency} in flight, simulator on loopback, median of {rounds} rounds"
    );
    println!(
        "| backend | raw client msg/s | ingest msg/s | dispatch msg/s | accept→recorded msg/s | dispatch / raw |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, backend) in backends {
        let mut cols: [Vec<f64>; 5] = Default::default();
        for round in 0..rounds {
            // a fresh simulator for each half of a round, so raw and durable each see the same
            // empty platform (a ledger already holding the raw half's messages would be heavier)
            let (sim, client, device) = simulator().await?;
            let raw_rate = raw(&client, &device, n, concurrency).await;
            sim.shutdown().await;
            let (sim, client, device) = simulator().await?;
            let (store, schema) = fresh(backend, dir.path(), round).await?;
            let (ingest, dispatch, total) =
                durable(store.clone(), client, &device, n, concurrency).await;
            for (c, v) in
                cols.iter_mut()
                    .zip([raw_rate, ingest, dispatch, total, dispatch / raw_rate])
            {
                c.push(v);
            }
            if let Some(s) = schema {
                store.drop_schema(&s).await?;
            }
            store.close().await;
            sim.shutdown().await;
        }
        let [raw_rate, ingest, dispatch, total, ratio] = cols.map(median);
        println!(
            "| {name} | {raw_rate:.0} | {ingest:.0} | {dispatch:.0} | {total:.0} | {ratio:.2} |"
        );
    }
    Ok(())
}
