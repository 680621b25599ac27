//! Load figures of the store on each backend: ingest 100,000 messages (batches of 1,000 in one
//! transaction each), then read the history pages a console shows (first page, a deep page by
//! keyset and by offset, a filtered count).
//!
//! `cargo run --release -p messagepro-store --example store_load` (set
//! `MESSAGEPRO_TEST_DATABASE_URL` to include PostgreSQL; it runs in a throw-away schema).

use std::time::Instant;

use messagepro_store::*;

const N: usize = 100_000;
const BATCH: usize = 1_000;

async fn run(name: &str, store: &Store) {
    store.migrate().await.unwrap();
    let t = Instant::now();
    for b in 0..N / BATCH {
        let batch: Vec<NewMessage> = (0..BATCH)
            .map(|i| NewMessage {
                channel: if i % 10 == 0 {
                    Channel::Whatsapp
                } else {
                    Channel::Sms
                },
                recipient: format!("+22462{:07}", b * BATCH + i),
                text: "Bonjour, votre commande est prête.".into(),
                route: serde_json::json!({"mode": "devices", "device": 1}),
                status: MessageStatus::Queued,
                segments: 1,
                created_by: None,
                campaign_id: None,
            })
            .collect();
        store
            .insert_messages(&batch, 1_000 + b as i64)
            .await
            .unwrap();
    }
    let ingest = t.elapsed();
    let f = MessageFilter {
        channel: Some(Channel::Sms),
        ..Default::default()
    };
    let time = |label: &'static str, d: std::time::Duration| {
        println!("{name:>8} {label:<34} {:>9.2} ms", d.as_secs_f64() * 1e3)
    };
    println!(
        "{name:>8} {:<34} {:>9.0} msg/s ({:.2} s)",
        "ingest 100k (1k per transaction)",
        N as f64 / ingest.as_secs_f64(),
        ingest.as_secs_f64()
    );
    let mut samples = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let p = store.list_messages(&f, Page::first(50)).await.unwrap();
        samples.push(t.elapsed());
        assert_eq!(p.len(), 50);
    }
    samples.sort();
    time("history first page (p95 of 20)", samples[18]);
    let first = store.list_messages(&f, Page::first(50)).await.unwrap();
    let deep_id = first[0].id - 90_000;
    let t = Instant::now();
    store
        .list_messages(&f, Page::before(deep_id, 50))
        .await
        .unwrap();
    time("history page at ~90k (keyset)", t.elapsed());
    let t = Instant::now();
    store
        .list_messages(&f, Page::number(1_600, 50))
        .await
        .unwrap();
    time("history page at ~80k (offset)", t.elapsed());
    let t = Instant::now();
    let n = store.count_messages(&f).await.unwrap();
    time("count sms (filtered)", t.elapsed());
    assert_eq!(n, 90_000);
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/load.db", dir.path().display());
    let sqlite = Store::connect(&url).await.unwrap();
    run("sqlite", &sqlite).await;
    if let Ok(url) = std::env::var("MESSAGEPRO_TEST_DATABASE_URL") {
        let schema = format!("load_{}", uuid::Uuid::new_v4().simple());
        let pg = Store::connect_postgres_schema(&url, &schema).await.unwrap();
        run("postgres", &pg).await;
        pg.drop_schema(&schema).await.unwrap();
    } else {
        println!("skipped: PostgreSQL (set MESSAGEPRO_TEST_DATABASE_URL)");
    }
}
