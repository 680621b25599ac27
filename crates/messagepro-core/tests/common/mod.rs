//! What the engine and policy tests share: a fresh migrated store (SQLite in a temporary
//! folder, or a schema of its own on PostgreSQL when `MESSAGEPRO_TEST_DATABASE_URL` is set) and
//! a client for the in-process simulator.

#![allow(dead_code)]

use std::time::Duration;

use messagepro_sim::SimHandle;
use messagepro_store::Store;

/// A fresh, migrated store: `(store, PostgreSQL schema to drop, SQLite folder to keep alive)`.
/// `tag` prefixes the schema and names the SQLite file.
pub async fn store(tag: &str) -> (Store, Option<String>, Option<tempfile::TempDir>) {
    match std::env::var("MESSAGEPRO_TEST_DATABASE_URL") {
        Ok(url) => {
            let schema = format!("{tag}_{}", rand_suffix());
            let s = Store::connect_postgres_schema(&url, &schema).await.unwrap();
            s.migrate().await.unwrap();
            (s, Some(schema), None)
        }
        Err(_) => {
            let dir = tempfile::tempdir().unwrap();
            let s = Store::connect(&format!("sqlite://{}/{tag}.db", dir.path().display()))
                .await
                .unwrap();
            s.migrate().await.unwrap();
            (s, None, Some(dir))
        }
    }
}

/// A suffix unique to this moment and process.
pub fn rand_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{n:x}{:x}", std::process::id())
}

/// A client for `sim` with `secret`: reads retried quickly, sends never.
pub fn client(sim: &SimHandle, secret: &str, timeout: Duration) -> messagepro::Client {
    messagepro::Client::builder()
        .base_url(sim.url())
        .secret(secret)
        .timeout(timeout)
        .read_retries(3)
        .retry_backoff(Duration::from_millis(20))
        .build()
        .unwrap()
}
