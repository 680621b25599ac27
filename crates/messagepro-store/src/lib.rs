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
mod connect;
mod error;
mod messaging;
mod model;
mod nonces;
mod otp;
mod outbox;
mod sessions;
mod throttle;
mod users;

pub use connect::{Backend, DEFAULT_DATABASE_URL, Store};
pub use error::StoreError;
pub use model::*;
pub use nonces::RateDecision;
pub use otp::OtpAttempt;
pub use outbox::{Finish, Job, Lease, NewJob, OutboxCounts};

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
/// is reused. `tests` below drop such futures at random points and check, from another
/// session, that no pooled backend is left inside a transaction block.
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

    #[tokio::test]
    async fn a_begin_dropped_mid_flight_never_returns_a_connection_inside_a_transaction() {
        let Ok(url) = std::env::var("MESSAGEPRO_TEST_DATABASE_URL") else {
            eprintln!("skipped: MESSAGEPRO_TEST_DATABASE_URL is not set (PostgreSQL)");
            return;
        };
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .min_connections(2)
            .connect(&url)
            .await
            .unwrap();
        // the two backends of the pool
        let (mut a, mut b) = (pool.acquire().await.unwrap(), pool.acquire().await.unwrap());
        let mut pids = Vec::new();
        for c in [&mut a, &mut b] {
            let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
                .fetch_one(&mut **c)
                .await
                .unwrap();
            pids.push(pid);
        }
        drop((a, b));
        // drop the transaction's future at a varying point (after k scheduler turns: finer
        // than the timer's millisecond), many times
        for i in 0..600u64 {
            let p = pool.clone();
            let fut = async move {
                let mut tx = p.begin_write().await?;
                sqlx::query("SELECT 1").execute(&mut *tx).await?;
                tx.commit().await
            };
            let turns = i % 60;
            tokio::select! {
                _ = fut => {}
                _ = async { for _ in 0..turns { tokio::task::yield_now().await } } => {}
            }
        }
        // let the spawned BEGINs finish, and their dropped transactions roll back on next use
        for _ in 0..500 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            if pool.num_idle() == pool.size() as usize {
                break;
            }
        }
        for _ in 0..4 {
            sqlx::query("SELECT 1").execute(&pool).await.unwrap();
        }
        // seen from another session: neither backend sits inside a transaction block
        let watcher = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .unwrap();
        let stuck: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = ANY($1) AND state LIKE 'idle in transaction%'",
        )
        .bind(&pids)
        .fetch_one(&watcher)
        .await
        .unwrap();
        assert_eq!(
            stuck, 0,
            "a pooled connection was left inside a transaction"
        );
        watcher.close().await;
        pool.close().await;
    }
}
