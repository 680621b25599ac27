//! The storage error: what callers need to distinguish (not found, conflict on a unique name)
//! and the underlying sqlx error for everything else.

/// An error from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is neither `sqlite:` nor `postgres:`/`postgresql:`.
    #[error("unsupported database URL (expected sqlite://… or postgres://…)")]
    UnsupportedUrl,
    /// A unique constraint refused the write (e.g. a username that already exists).
    #[error("already exists: {0}")]
    Conflict(&'static str),
    /// The row the operation needs does not exist.
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// Preparing the database file or folder failed.
    #[error("cannot prepare the database location")]
    Io(#[from] std::io::Error),
    /// A migration failed.
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other database error.
    #[error("database error")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(e)
    }
}

/// Maps a unique-constraint violation to [`StoreError::Conflict`].
pub(crate) fn conflict(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::Database(e),
    }
}
