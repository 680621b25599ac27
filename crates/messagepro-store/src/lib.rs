//! Storage for the console and the CLI: one [`Store`] type with a SQLite backend (the default, a
//! file under `./data`) and a PostgreSQL backend (to run several console instances), chosen by the
//! database URL.
//!
//! Why one type over two pools rather than one trait per backend: every query is written once, in
//! the SQL subset both engines accept (`$1` placeholders, `RETURNING`, integer milliseconds for
//! time), and is run on whichever pool is configured (the `on_pool!` macro). sqlx cannot
//! compile-check one query against two databases, so the queries are runtime-checked and kept
//! honest by one test suite (`tests/story.rs`) that runs on both backends.
//!
//! The store never reads the clock: every write takes `now_ms` (Unix milliseconds UTC) from the
//! caller, so the console's injectable clock governs lockouts and session expiry in tests.

mod audit;
mod campaigns;
mod connect;
mod error;
mod events;
mod fallbacks;
mod idempotency;
mod inbound;
mod login_attempts;
mod messaging;
mod model;
mod nonces;
mod ops;
mod otp;
mod outbox;
mod platform_reads;
mod policy;
mod sessions;
mod throttle;
mod tokens;
mod users;
mod webhooks;

pub use campaigns::Admit;
pub use connect::{Backend, DEFAULT_DATABASE_URL, Store};
pub use error::StoreError;
pub use events::{EventRule, Guard, Guarded, GuardedMessage, IdemDone, NewEvent, StoredEvent};
pub use fallbacks::{DueFallback, FallbackLinks, FallbackRecorded, NewFallback};
pub use idempotency::IdemBegin;
pub use inbound::InboundEvent;
pub use login_attempts::{AttemptKey, Reservation};
pub use model::*;
pub use nonces::RateDecision;
pub use ops::OpsSnapshot;
pub use otp::OtpAttempt;
pub use outbox::{Finish, Job, Lease, NewJob, OutboxCounts};
pub use policy::{PaceDecision, Suppression};
pub use tokens::{ApiToken, NewApiToken};
pub use webhooks::{
    DeliveryNext, NewWebhookEndpoint, WebhookAttempt, WebhookDelivery, WebhookEndpoint,
};

/// Result alias of this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Runs `$body` with `$pool` bound to the configured pool (SQLite or PostgreSQL). The body is
/// expanded once per backend, so `sqlx::query_as::<_, Row>` infers the database from the pool.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store.backend() {
            $crate::connect::Backend::Sqlite($pool) => $body,
            $crate::connect::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Opens a write transaction. On SQLite it is `BEGIN IMMEDIATE`: the write lock is taken at
/// once (waiting up to the busy timeout), instead of failing with `SQLITE_BUSY` when a deferred
/// transaction that has read tries to write while another connection writes.
pub(crate) trait BeginWrite {
    type Db: sqlx::Database;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>;
}

impl BeginWrite for sqlx::SqlitePool {
    type Db = sqlx::Sqlite;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

/// On PostgreSQL `BEGIN` runs on a task of its own: a caller's future dropped while `BEGIN` is
/// in flight (axum drops a handler's future when the client disconnects) would otherwise hand
/// the connection back to the pool inside an open transaction (transact-rs/sqlx#4393, unfixed
/// in sqlx 0.8). On its own task the `BEGIN` always completes, and if nobody awaits the
/// transaction any more it is dropped there, which queues its rollback before the connection
/// is reused. `tests` below put a slow proxy in front of PostgreSQL, drop a transaction's
/// future while its `BEGIN` is on the wire, and check from another session that the backend
/// is not left `idle in transaction` — which sqlx's own `begin()` does, in the same test.
impl BeginWrite for sqlx::PgPool {
    type Db = sqlx::Postgres;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        let pool = self.clone();
        match tokio::spawn(async move { pool.begin().await }).await {
            Ok(r) => r,
            Err(e) => Err(sqlx::Error::Io(std::io::Error::other(e))),
        }
    }
}

/// A value bound to a dynamically built query (filters).
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    I(i64),
    S(String),
}

/// Builds `WHERE` clauses with numbered placeholders for queries whose filters are optional.
#[derive(Debug, Default)]
pub(crate) struct Where {
    clauses: Vec<String>,
    pub(crate) args: Vec<Arg>,
}

impl Where {
    /// Adds `clause`, where `?` stands for the next placeholder.
    pub(crate) fn push(&mut self, clause: &str, arg: Arg) {
        self.args.push(arg);
        let n = self.args.len();
        self.clauses.push(clause.replace('?', &format!("${n}")));
    }
    /// Adds a clause without an argument.
    pub(crate) fn push_raw(&mut self, clause: &str) {
        self.clauses.push(clause.to_owned());
    }
    /// Merges the last two clauses into `a OR b` (they carry their own parentheses).
    pub(crate) fn join_last_two_with_or(&mut self) {
        if self.clauses.len() >= 2 {
            let b = self.clauses.pop().unwrap_or_default();
            let a = self.clauses.pop().unwrap_or_default();
            self.clauses.push(format!("{a} OR {b}"));
        }
    }
    pub(crate) fn clauses_mut(&mut self) -> &mut Vec<String> {
        &mut self.clauses
    }
    pub(crate) fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }
    /// The next placeholder number (for LIMIT/OFFSET after the filters).
    pub(crate) fn next(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }
}

/// Binds every [`Arg`] to a query, in order.
macro_rules! bind_args {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args.iter() {
            q = match a {
                $crate::Arg::I(v) => q.bind(*v),
                $crate::Arg::S(s) => q.bind(s.clone()),
            };
        }
        q
    }};
}
pub(crate) use bind_args;

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;
    use std::time::Duration;

    /// A TCP proxy to `target` that holds every answer of the server for `delay`: it widens the
    /// window between "BEGIN sent" and "BEGIN answered" so a test can drop a future inside it.
    async fn slow_proxy(target: std::net::SocketAddr, delay: Duration) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = tokio::net::TcpStream::connect(target).await.unwrap();
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                tokio::spawn(async move { tokio::io::copy(&mut cr, &mut sw).await });
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n) = sr.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        tokio::time::sleep(delay).await;
                        if cw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        port
    }

    /// Drops a transaction's future while its `BEGIN` is in flight, lets the pool take the
    /// connection back, and says whether that backend now sits inside a transaction block.
    async fn left_in_transaction(url: &str, guarded: bool) -> bool {
        let opts = sqlx::postgres::PgConnectOptions::from_str(url).unwrap();
        let target = tokio::net::lookup_host((opts.get_host(), opts.get_port()))
            .await
            .unwrap()
            .next()
            .unwrap();
        let port = slow_proxy(target, Duration::from_millis(60)).await;
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(opts.clone().host("127.0.0.1").port(port))
            .await
            .unwrap();
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&pool)
            .await
            .unwrap();
        let idle = |pool: sqlx::PgPool| async move {
            for _ in 0..300 {
                if pool.num_idle() == 1 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("the connection never came back to the pool");
        };
        // back in the pool (sqlx pings a connection on release: 60 ms through the proxy)
        idle(pool.clone()).await;
        // the client gives up 20 ms into a BEGIN whose answer takes 60 ms (axum drops a
        // handler's future the same way when the browser disconnects)
        let p = pool.clone();
        let begin = async move {
            if guarded {
                p.begin_write().await.map(drop)
            } else {
                p.begin().await.map(drop)
            }
        };
        assert!(
            tokio::time::timeout(Duration::from_millis(20), begin)
                .await
                .is_err(),
            "the BEGIN was still in flight when dropped"
        );
        // the connection goes back to the pool, then is used as any other
        idle(pool.clone()).await;
        sqlx::query("SELECT 1").execute(&pool).await.unwrap();
        idle(pool.clone()).await;
        // seen from another session
        let watcher = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .unwrap();
        let state: Option<String> =
            sqlx::query_scalar("SELECT state FROM pg_stat_activity WHERE pid = $1")
                .bind(pid)
                .fetch_optional(&watcher)
                .await
                .unwrap()
                .flatten();
        watcher.close().await;
        pool.close().await;
        state.is_some_and(|s| s.starts_with("idle in transaction"))
    }

    #[tokio::test]
    async fn a_begin_dropped_mid_flight_never_returns_a_connection_inside_a_transaction() {
        let Ok(url) = std::env::var("MESSAGEPRO_TEST_DATABASE_URL") else {
            eprintln!("skipped: MESSAGEPRO_TEST_DATABASE_URL is not set (PostgreSQL)");
            return;
        };
        // the hazard is real with sqlx's own `begin()` (transact-rs/sqlx#4393): this proves the
        // test can see it. If this starts failing, a sqlx release fixed it and the guard in
        // `BeginWrite for PgPool` can go.
        assert!(
            left_in_transaction(&url, false).await,
            "sqlx's begin() no longer leaves the connection in a transaction"
        );
        assert!(
            !left_in_transaction(&url, true).await,
            "begin_write() returned a pooled connection inside a transaction"
        );
    }
}
