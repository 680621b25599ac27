//! Web sessions stored in the database through [`messagepro_store::Store`], so they survive a
//! restart and are shared by several console instances on PostgreSQL. Expiry is checked against
//! the injected clock. Session ids are never logged. Each save also copies the owner, the
//! sign-in and last-seen times and the User-Agent out of the session's data into columns of
//! their own ([`SessionMeta`]), so a user can list and end their own sessions (`/account`).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use messagepro_store::{SessionMeta, Store};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use crate::clock::Clock;

/// `tower_sessions::SessionStore` over the console's store.
#[derive(Clone)]
pub struct DbSessionStore {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for DbSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DbSessionStore")
    }
}

impl DbSessionStore {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        DbSessionStore { store, clock }
    }
}

fn backend(e: messagepro_store::StoreError) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

impl DbSessionStore {
    /// tower-sessions computes expiry from the system clock; the store keeps it on the injected
    /// clock's time line (the two differ only in tests, where the clock is moved by hand).
    fn skew_ms(&self) -> i64 {
        self.clock.now_ms() - crate::clock::SystemClock.now_ms()
    }

    fn expiry_ms(&self, r: &Record) -> i64 {
        (r.expiry_date.unix_timestamp_nanos() / 1_000_000) as i64 + self.skew_ms()
    }
}

/// The columns the sessions list reads, from the keys the login writes ([`crate::guard`]).
fn meta(r: &Record) -> SessionMeta {
    use crate::guard::{AUTH_AT, SEEN_AT, UID, USER_AGENT};
    let int = |k: &str| r.data.get(k).and_then(serde_json::Value::as_i64);
    let user_id = int(UID);
    SessionMeta {
        user_id,
        created_ms: user_id.and(int(AUTH_AT)),
        seen_ms: user_id.and(int(SEEN_AT)),
        user_agent: user_id
            .and(r.data.get(USER_AGENT))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned),
    }
}

/// Longest User-Agent kept with a session (enough to tell the browser and the system).
const USER_AGENT_MAX: usize = 256;

/// The request's User-Agent as kept with a session at login: printable characters only,
/// at most [`USER_AGENT_MAX`] of them.
pub fn user_agent(headers: &http::HeaderMap) -> Option<String> {
    let ua: String = headers
        .get(http::header::USER_AGENT)?
        .to_str()
        .ok()?
        .chars()
        .filter(|c| !c.is_control())
        .take(USER_AGENT_MAX)
        .collect();
    (!ua.trim().is_empty()).then_some(ua)
}

fn encode(r: &Record) -> session_store::Result<String> {
    serde_json::to_string(&r.data).map_err(|e| session_store::Error::Encode(e.to_string()))
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let data = encode(record)?;
        // Draw another id on the (astronomically unlikely) collision.
        while !self
            .store
            .session_create_with(
                &record.id.to_string(),
                &data,
                self.expiry_ms(record),
                &meta(record),
            )
            .await
            .map_err(backend)?
        {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = encode(record)?;
        self.store
            .session_save_with(
                &record.id.to_string(),
                &data,
                self.expiry_ms(record),
                &meta(record),
            )
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some(row) = self
            .store
            .session_load(&id.to_string(), self.clock.now_ms())
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let data = serde_json::from_str(&row.data)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = time::OffsetDateTime::from_unix_timestamp_nanos(
            (row.expiry_ms - self.skew_ms()) as i128 * 1_000_000,
        )
        .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.store
            .session_delete(&id.to_string())
            .await
            .map_err(backend)
    }
}
