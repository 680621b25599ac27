//! Campaign ingest (a load command, not a timed test): how long `Core::submit_campaign` takes to
//! turn N typed numbers into N recipient rows — normalised numbers in, opt-out checked against
//! a suppression list of 1,000 numbers, each text rendered (plain, then `{{col.ref}}` from a CSV
//! column), pace offsets, one message + one outbox job per recipient, one transaction — next
//! to the baseline measured in the same run on the same database: the per-row statements the
//! ingest used before (one `INSERT … RETURNING` per message, in one transaction; jobs not even
//! counted, so the baseline is flattered).
//!
//! `cargo run --release -p messagepro-core --example campaign_ingest -- [RECIPIENTS] [ROUNDS]`
//! (defaults 100000, 3). SQLite (`synchronous=FULL`, a file in a temporary folder) always;
//! PostgreSQL too when `MESSAGEPRO_TEST_DATABASE_URL` is set. Medians over the rounds, each on
//! a fresh database. Prints the table recorded in `docs/benchmarks.md`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use messagepro::{Client, Phone, SmsRoute};
use messagepro_core::policy::PolicySettings;
use messagepro_core::{Actor, CampaignRequest, Core, CoreSettings, SendChannel, SystemClock};
use messagepro_store::{Channel, MessageStatus, NewMessage, Store};

fn numbers(n: usize) -> Vec<Phone> {
    (0..n)
        .map(|i| Phone::parse(&format!("62{:07}", 1_000_000 + i), "GN").unwrap())
        .collect()
}

async fn fresh(
    backend: &str,
    dir: &std::path::Path,
    tag: &str,
) -> Result<(Store, Option<String>), Box<dyn std::error::Error>> {
    if backend == "postgres" {
        let url = std::env::var("MESSAGEPRO_TEST_DATABASE_URL")?;
        let schema = format!("ingest_{}_{tag}", std::process::id());
        let pg = Store::connect_postgres_schema(&url, &schema).await?;
        pg.migrate().await?;
        Ok((pg, Some(schema)))
    } else {
        let s = Store::connect(&format!("sqlite://{}/{tag}.db", dir.display())).await?;
        s.migrate().await?;
        Ok((s, None))
    }
}

/// `submit_campaign` of `phones`, personalised or not: (seconds, rows recorded, skipped).
async fn ingest(store: &Store, phones: &[Phone], personalised: bool) -> (f64, usize, usize) {
    // the platform is never called: no groups, and names are not asked for
    let client = Client::builder()
        .base_url("http://127.0.0.1:9")
        .secret("bench")
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let core = Core::new(
        store.clone(),
        client,
        CoreSettings {
            reconcile_every: None,
            policy: PolicySettings::unrestricted(),
            ..Default::default()
        },
        Arc::new(SystemClock),
    );
    for p in phones
        .iter()
        .step_by((phones.len() / 1_000).max(1))
        .take(1_000)
    {
        store
            .suppress(p.e164(), "local", None, Some("bench"), 1)
            .await
            .unwrap();
    }
    let mut req = CampaignRequest::new(
        "Bench",
        if personalised {
            "Votre commande {{col.ref}} est prête"
        } else {
            "Promo du jour"
        },
        phones.to_vec(),
        SendChannel::Sms {
            route: SmsRoute::device("dev"),
        },
    );
    if personalised {
        req.columns = phones
            .iter()
            .enumerate()
            .map(|(i, p)| (p.e164().to_owned(), vec![("ref".into(), format!("C-{i}"))]))
            .collect::<HashMap<_, _>>();
    }
    let t = Instant::now();
    let out = core
        .submit_campaign(&Actor::System { name: "bench" }, req)
        .await
        .expect("campaign accepted");
    (t.elapsed().as_secs_f64(), out.recipients, out.opted_out)
}

/// The baseline: one statement per message row, one transaction.
async fn per_row(store: &Store, phones: &[Phone]) -> f64 {
    let rows: Vec<NewMessage> = phones
        .iter()
        .map(|p| NewMessage {
            channel: Channel::Sms,
            recipient: p.e164().to_owned(),
            text: "Promo du jour".into(),
            route: serde_json::json!({"mode": "devices", "device": "dev", "sim": 1}),
            status: MessageStatus::Queued,
            segments: 1,
            created_by: None,
            campaign_id: None,
        })
        .collect();
    let t = Instant::now();
    store
        .insert_messages(&rows, 1)
        .await
        .expect("rows inserted");
    t.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(100_000);
    let rounds = args.get(1).copied().unwrap_or(3).max(1);
    let mut backends = vec![("SQLite (WAL, synchronous=FULL)", "sqlite")];
    if std::env::var("MESSAGEPRO_TEST_DATABASE_URL").is_ok() {
        backends.push(("PostgreSQL", "postgres"));
    }
    let dir = tempfile::tempdir()?;
    let phones = numbers(n);
    println!("{n} recipients, median of {rounds} rounds, a fresh database each");
    println!(
        "| backend | per-row baseline s | ingest s | personalised ingest s | baseline / ingest |"
    );
    println!("|---|---|---|---|---|");
    for (name, backend) in backends {
        let mut cols: [Vec<f64>; 4] = Default::default();
        for round in 0..rounds {
            let fresh_one =
                async |tag: &str| fresh(backend, dir.path(), &format!("{tag}{round}")).await;
            let (s, schema_a) = fresh_one("base").await?;
            let base = per_row(&s, &phones).await;
            s.close().await;
            let (s, schema_b) = fresh_one("plain").await?;
            let (plain, rows, skipped) = ingest(&s, &phones, false).await;
            assert_eq!(
                (rows, skipped),
                (n, n.min(1_000)),
                "every recipient recorded"
            );
            s.close().await;
            let (s, schema_c) = fresh_one("perso").await?;
            let (perso, rows, _) = ingest(&s, &phones, true).await;
            assert_eq!(rows, n);
            for schema in [schema_a, schema_b, schema_c].into_iter().flatten() {
                s.drop_schema(&schema).await?;
            }
            s.close().await;
            for (c, v) in cols.iter_mut().zip([base, plain, perso, base / plain]) {
                c.push(v);
            }
        }
        let [a, b, c, d] = cols.map(median);
        println!("| {name} | {a:.2} | **{b:.2}** | {c:.2} | {d:.1} |");
    }
    Ok(())
}
