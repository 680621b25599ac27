//! The contact book: CSV import with a report for every row ([`import`]), the two-way sync
//! with the Message Pro contact book ([`sync`]), and one contact or group at a time for the
//! integration API ([`book`]). The console's contact pages, and any later
//! caller (CLI, integration API), call these methods so each rule is written once.
//!
//! Phones are parsed with [`messagepro::Phone`] and the platform client's default country and
//! kept in E.164, so `621 23 45 67` and `+224 621 23 45 67` are one contact. Results are data
//! and machine codes ([`import::RowOutcome::code`], [`sync::SyncReason::code`]), never sentences:
//! the console turns them into text in the user's language. Both operations need
//! [`Permission::ManageContacts`] and write one audit entry.

pub mod book;
pub mod import;
pub mod sync;
#[cfg(test)]
mod testenv;

use messagepro_store::{NewAudit, Outcome, StoreError};

use crate::permissions::Permission;
use crate::{Actor, Core};

pub use import::{CsvRow, ImportReport, ImportRow, MAX_IMPORT_ROWS, RowOutcome, decode, parse_csv};
pub use sync::{ContactSyncReport, SyncIssue, SyncReason, SyncSubject};

/// Longest contact name kept (longer names are cut).
pub const MAX_NAME: usize = 100;

/// Why an import or a sync did not run.
#[derive(Debug, thiserror::Error)]
pub enum ContactsError {
    /// The actor may not manage contacts. Nothing changed.
    #[error("permission denied")]
    Forbidden,
    /// The import text holds no row (only blank lines). Nothing changed.
    #[error("nothing to import")]
    EmptyImport,
    /// The database failed (an internal error for the page).
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

impl ContactsError {
    /// The stable machine code (`forbidden`, `empty`, `internal`).
    pub fn code(&self) -> &'static str {
        match self {
            ContactsError::Forbidden => "forbidden",
            ContactsError::EmptyImport => "empty",
            ContactsError::Store(_) => "internal",
        }
    }
}

/// `s` trimmed, at most `n` characters: how contact fields are kept.
pub fn clip(s: &str, n: usize) -> String {
    s.trim().chars().take(n).collect()
}

impl Core {
    fn check_manage(&self, actor: &Actor) -> Result<(), ContactsError> {
        if actor.can(Permission::ManageContacts) {
            Ok(())
        } else {
            Err(ContactsError::Forbidden)
        }
    }

    /// Appends the audit entry of a contact-book operation. A failure is logged: it never hides
    /// the result of work already done.
    async fn audit_contacts(&self, actor: &Actor, action: &str, outcome: Outcome, detail: String) {
        let entry = NewAudit {
            target: None,
            outcome,
            detail: Some(detail),
            ..self.audit(actor, action, "")
        };
        if let Err(e) = self.inner.store.audit(&entry).await {
            tracing::error!(error = %e, action, "cannot write the audit log");
        }
    }
}
