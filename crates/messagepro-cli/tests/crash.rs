//! The crash-safety harness: the real `messagepro` binary, an external `messagepro sim`, a
//! campaign accepted into the outbox, then `kill -9` of the console at random moments and a
//! restart each time; at the end the simulator's ledger is compared with the database:
//! **0 lost** (every recipient's message on the platform exactly once and `sent` locally),
//! **0 duplicated** (no recipient twice in the ledger), **0 stuck** (no row left non-final).
//!
//! Short by default (CI): 1,000 recipients, 5 kills. The full run (docs/operations.md):
//! `MESSAGEPRO_CRASH_RECIPIENTS=10000 MESSAGEPRO_CRASH_KILLS=20 cargo test --release -p
//! messagepro-cli --test crash -- --nocapture`. With `MESSAGEPRO_TEST_DATABASE_URL` set, the
//! PostgreSQL variant runs two console processes on one fresh database and kills them
//! alternately. Everything targets 127.0.0.1 and stops by itself.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use messagepro::{Phone, SmsRoute};
use messagepro_core::{Actor, Core, CoreSettings, SystemClock};
use messagepro_core::{CampaignRequest, SendChannel};
use messagepro_store::{MessageStatus, Store};
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const SECRET: &str = "crash-harness-secret-0123456789";

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `messagepro sim` speaking `flavour` (`current`: sends return ids, reconciliation follows them;
/// `3.3.8`: no ids, reconciliation matches the lists).
async fn start_sim(flavour: &str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_messagepro"))
        .args([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--secret",
            SECRET,
            "--latency-ms",
            "15",
            "--flavour",
            flavour,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the simulator starts")
        .unwrap()
        .expect("the simulator prints its URL");
    (child, url.trim().to_owned())
}

/// `messagepro serve` on a free port over `db`: web + outbox worker, short lease and grace.
fn start_console(db: &str, sim: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_messagepro"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", db])
        .env("MESSAGEPRO_API_SECRET", SECRET)
        .env("MESSAGEPRO_BASE_URL", sim)
        .env("MESSAGEPRO_COOKIE_SECURE", "false")
        .env("MESSAGEPRO_LEASE_SECONDS", "3")
        .env("MESSAGEPRO_UNKNOWN_GRACE_SECONDS", "3")
        .env("MESSAGEPRO_SYNC_SECONDS", "1")
        .env("MESSAGEPRO_WORKER_CONCURRENCY", "8")
        // the harness measures crash safety, not the send policy: no quiet hours, no pacing
        .env("MESSAGEPRO_QUIET_HOURS", "off")
        .env("MESSAGEPRO_SMS_PER_MINUTE", "0")
        .env("MESSAGEPRO_LOG", "error")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

async fn get_json(url: &str) -> serde_json::Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

/// Accepts the campaign into the outbox (what the console's confirm button does).
async fn enqueue(store: &Store, sim: &str, n: usize) -> i64 {
    let fixture = get_json(&format!("{sim}/_sim/fixture")).await;
    let device = fixture["devices"]["online"]["unique"]
        .as_str()
        .expect("the fixture's online device")
        .to_owned();
    let client = messagepro::Client::builder()
        .base_url(sim)
        .secret(SECRET)
        .build()
        .unwrap();
    let core = Core::new(
        store.clone(),
        client,
        CoreSettings {
            reconcile_every: None,
            policy: messagepro_core::policy::PolicySettings::unrestricted(),
            ..Default::default()
        },
        Arc::new(SystemClock),
    );
    let numbers = (0..n)
        .map(|i| Phone::parse(&format!("62{:07}", 1_000_000 + i), "GN").unwrap())
        .collect();
    let out = core
        .submit_campaign(
            &Actor::System {
                name: "crash-harness",
            },
            CampaignRequest {
                name: "Crash".into(),
                text: "Votre commande est prête".into(),
                numbers,
                groups: vec![],
                columns: Default::default(),
                start_ms: None,
                channel: SendChannel::Sms {
                    route: SmsRoute::device(device),
                },
            },
        )
        .await
        .unwrap();
    assert_eq!(out.recipients, n);
    out.campaign.id
}

async fn counts(store: &Store) -> HashMap<MessageStatus, i64> {
    store
        .message_status_counts()
        .await
        .unwrap()
        .into_iter()
        .collect()
}

/// Kills (SIGKILL) and restarts the consoles, `kills` times in all, then lets one run until
/// every row is final, and checks the ledger against the database.
async fn run(store: Store, db: &str, processes: usize, label: &str, flavour: &str) {
    let n = knob("MESSAGEPRO_CRASH_RECIPIENTS", 1_000);
    let kills = knob("MESSAGEPRO_CRASH_KILLS", 5);
    let (mut sim_child, sim) = start_sim(flavour).await;
    let label = &format!("{label}, {flavour} build");
    enqueue(&store, &sim, n).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(knob("MESSAGEPRO_CRASH_SEED", 7) as u64);
    let mut consoles: Vec<Child> = (0..processes).map(|_| start_console(db, &sim)).collect();
    let started = Instant::now();
    for k in 0..kills {
        tokio::time::sleep(Duration::from_millis(rng.random_range(300..1_500))).await;
        let victim = k % processes;
        consoles[victim].kill().await.unwrap(); // SIGKILL: no shutdown code runs
        let c = counts(&store).await;
        eprintln!(
            "{label}: kill {} of process {victim} at {:?}: {c:?}",
            k + 1,
            started.elapsed()
        );
        consoles[victim] = start_console(db, &sim);
    }
    // let them finish; the simulator moves pending messages to sent in real time, and is told
    // to process its queue so the run does not wait for its pace
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let _ = reqwest::Client::new()
            .post(format!("{sim}/_sim/queue/process"))
            .body("{}")
            .send()
            .await;
        let c = counts(&store).await;
        let open: i64 = c
            .iter()
            .filter(|(s, _)| !matches!(s, MessageStatus::Sent | MessageStatus::Failed))
            .map(|(_, n)| n)
            .sum();
        if open == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{label}: rows still not final: {c:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for mut c in consoles {
        let _ = c.kill().await;
    }
    let ledger = get_json(&format!("{sim}/_sim/ledger")).await;
    let _ = sim_child.kill().await;
    let mut on_platform: HashMap<String, u64> = HashMap::new();
    for e in ledger.as_array().unwrap() {
        *on_platform
            .entry(e["recipient"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let rows = store
        .list_messages(
            &Default::default(),
            messagepro_store::Page::first(1_000_000),
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), n, "one row per recipient");
    let duplicated = on_platform.values().filter(|&&k| k > 1).count();
    let lost = rows
        .iter()
        .filter(|m| m.status != MessageStatus::Sent || on_platform.get(&m.recipient) != Some(&1))
        .count();
    let stuck = rows
        .iter()
        .filter(|m| !matches!(m.status, MessageStatus::Sent | MessageStatus::Failed))
        .count();
    println!(
        "crash harness ({label}): {n} recipients, {kills} kills × kill -9, {:?}: {lost} lost, {duplicated} duplicated, {stuck} stuck",
        started.elapsed()
    );
    let failed: Vec<_> = rows
        .iter()
        .filter(|m| m.status == MessageStatus::Failed)
        .map(|m| (m.id, m.platform_message.clone()))
        .take(5)
        .collect();
    assert_eq!(duplicated, 0, "{label}: a recipient got the SMS twice");
    assert_eq!(stuck, 0, "{label}: rows left non-final");
    assert_eq!(
        lost, 0,
        "{label}: rows not delivered exactly once: {failed:?}"
    );
    assert_eq!(
        on_platform.len(),
        n,
        "{label}: the platform has someone else"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_nine_during_a_campaign_loses_nothing_and_duplicates_nothing_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/crash.db", dir.path().display());
    let store = Store::connect(&db).await.unwrap();
    store.migrate().await.unwrap();
    run(store, &db, 1, "sqlite", "current").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_nine_on_the_documented_build_without_ids_loses_nothing_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/crash.db", dir.path().display());
    let store = Store::connect(&db).await.unwrap();
    store.migrate().await.unwrap();
    run(store, &db, 1, "sqlite", "3.3.8").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_nine_of_two_processes_on_postgres_loses_nothing_and_duplicates_nothing() {
    let Ok(url) = std::env::var("MESSAGEPRO_TEST_DATABASE_URL") else {
        eprintln!("skipped: MESSAGEPRO_TEST_DATABASE_URL is not set (PostgreSQL)");
        return;
    };
    // a fresh database for this run (the consoles are separate processes)
    let name = format!(
        "crash_{}_{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos() % 1_000_000
    );
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    let base = url
        .rsplit_once('/')
        .map(|(b, _)| b)
        .unwrap_or(&url)
        .to_owned();
    let db = format!("{base}/{name}");
    let store = Store::connect(&db).await.unwrap();
    store.migrate().await.unwrap();
    run(store.clone(), &db, 2, "postgres, 2 processes", "current").await;
    store.close().await;
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&admin)
        .await
        .unwrap();
}
