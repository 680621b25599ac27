//! The platform's webhook posts (`POST /webhooks/messagepro`, wire reference § 2.8): a form with
//! the webhook's `secret`, a `type` (`sms`, `whatsapp`, `ussd`, `notifications`) and `data[…]`
//! fields. The platform does not retry and ignores our answer, so a post is **stored first**
//! (de-duplicated by type + platform id: a post replayed by a proxy or by hand counts once) and
//! the console answers 200 at once; applying it comes after, from the stored row:
//!
//! - a received SMS or WhatsApp chat goes to the inbox, and a stop / start keyword updates the
//!   suppression list ([`Core::apply_inbound`]) — at once, not at the next list sync;
//! - USSD answers and notifications are kept for the inbox.
//!
//! A crash between storing and applying leaves the row unprocessed; [`Core::intake_sweep`] (run
//! by the worker with the suppression sync) finishes it. Applying twice is harmless (suppressing
//! a suppressed number changes nothing), and `processed_ms` is set once.

use std::collections::BTreeMap;

use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::policy::suppression::Keyword;
use crate::{Core, SendError};

/// The post types of the platform.
pub const KINDS: &[&str] = &["sms", "whatsapp", "ussd", "notifications"];

/// Why a post was refused.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// No secret configured, or the post's does not match.
    #[error("the webhook secret does not match")]
    Unauthorized,
    #[error("invalid post: {0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Send(#[from] SendError),
}

impl From<messagepro_store::StoreError> for IntakeError {
    fn from(e: messagepro_store::StoreError) -> Self {
        IntakeError::Send(SendError::Store(e))
    }
}

/// What a post became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intake {
    /// Stored now (row id).
    Stored(i64),
    /// Already stored before (a replay): nothing new.
    Duplicate,
}

impl Core {
    /// Whether `given` is the configured webhook secret (constant time; `false` when none is
    /// configured).
    pub fn intake_secret_ok(&self, given: &str) -> bool {
        let Some(secret) = &self.inner.settings.webhook_secret else {
            return false;
        };
        let want = secret.expose_secret().as_bytes();
        let given = given.as_bytes();
        want.len() == given.len() && bool::from(want.ct_eq(given))
    }

    /// Stores one post (after checking its secret). `data`: the `data[…]` fields, by name.
    pub async fn intake_record(
        &self,
        secret: &str,
        kind: &str,
        data: &BTreeMap<String, String>,
    ) -> Result<Intake, IntakeError> {
        if !self.intake_secret_ok(secret) {
            tracing::warn!("webhook post refused: wrong secret");
            return Err(IntakeError::Unauthorized);
        }
        if !KINDS.contains(&kind) {
            return Err(IntakeError::Invalid("type"));
        }
        let get = |k: &str| data.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let dedupe = match kind {
            // the USSD post's id is always 1 (§ 2.8): its fields are the key
            "ussd" => format!(
                "ussd:{}:{}:{}:{}",
                get("device").unwrap_or_default(),
                get("sim").unwrap_or_default(),
                get("code").unwrap_or_default(),
                get("timestamp").unwrap_or_default()
            ),
            _ => {
                let id = get("id").ok_or(IntakeError::Invalid("id"))?;
                let on = get("device").or(get("wid")).unwrap_or_default();
                format!("{kind}:{on}:{id}")
            }
        };
        let (sender, text) = match kind {
            "sms" | "whatsapp" => (get("phone"), get("message")),
            "notifications" => (get("package"), get("content")),
            _ => (None, get("response")),
        };
        let payload = serde_json::to_string(data).unwrap_or_else(|_| "{}".into());
        let id = self
            .inner
            .store
            .inbound_insert(kind, &dedupe, sender, text, &payload, self.now_ms())
            .await?;
        Ok(match id {
            Some(id) => Intake::Stored(id),
            None => Intake::Duplicate,
        })
    }

    /// Applies a stored post (once): stop / start keywords of received texts. Returns the
    /// outcome recorded (`stop`, `start`, `received`, `stored`), `None` if already processed.
    pub async fn intake_process(&self, id: i64) -> Result<Option<String>, IntakeError> {
        let store = &self.inner.store;
        let Some(row) = store.inbound_by_id(id).await? else {
            return Ok(None);
        };
        if row.processed_ms.is_some() {
            return Ok(None);
        }
        let outcome = match (row.kind.as_str(), &row.sender, &row.text) {
            ("sms" | "whatsapp", Some(sender), Some(text)) => {
                match self.apply_inbound(sender, text).await? {
                    Some(Keyword::Stop) => "stop",
                    Some(Keyword::Start) => "start",
                    None => "received",
                }
            }
            ("sms" | "whatsapp", _, _) => "received",
            _ => "stored",
        };
        let done = store.inbound_done(id, outcome, self.now_ms()).await?;
        tracing::info!(id, kind = %row.kind, outcome, "webhook post applied");
        Ok(done.then(|| outcome.to_owned()))
    }

    /// Applies every stored post not applied yet (oldest first). Returns how many.
    pub async fn intake_sweep(&self) -> Result<usize, IntakeError> {
        let mut n = 0;
        for row in self.inner.store.inbound_pending(200).await? {
            if self.intake_process(row.id).await?.is_some() {
                n += 1;
            }
        }
        Ok(n)
    }
}
