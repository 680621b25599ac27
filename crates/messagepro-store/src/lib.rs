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
mod sessions;
mod throttle;
mod users;

pub use connect::{Backend, DEFAULT_DATABASE_URL, Store};
pub use error::StoreError;
pub use model::*;

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

impl BeginWrite for sqlx::PgPool {
    type Db = sqlx::Postgres;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.begin().await
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
