//! The platform's webhook posts (`POST /webhooks/messagepro`, wire reference § 2.8): a form with
//! the webhook's `secret`, a `type` (`sms`, `whatsapp`, `ussd`, `notifications`) and `data[…]`
//! fields. The platform does not retry and ignores our answer, so a post is **stored first**
//! (de-duplicated by type + platform id: a post replayed by a proxy or by hand counts once) and
//! the console answers 200 at once; applying it comes after, from the stored row:
//!
//! - a received SMS or WhatsApp chat goes to the inbox, and a stop / start keyword updates the
//!   suppression list ([`Core::apply_inbound`]) — at once, not at the next list sync;
//! - USSD answers and notifications are kept (the console's inbox, [`Core::inbox`], shows the
//!   received SMS and WhatsApp messages with what was done).
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

/// The kinds of post the inbox shows: messages received from people.
pub const INBOX_KINDS: &[&str] = &["sms", "whatsapp"];

/// Most rows one inbox page returns.
pub const INBOX_MAX: i64 = 200;

/// What processing a received message did, as the inbox says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxOutcome {
    /// Not applied yet (just received, or a crash left it to the worker's sweep).
    Pending,
    /// A stop keyword: the sender was added to the suppression list.
    OptedOut,
    /// A start keyword: the sender was removed from the suppression list.
    OptedIn,
    /// An ordinary message: kept for the inbox.
    Stored,
}

impl InboxOutcome {
    /// `pending`, `stop`, `start`, `stored` (translation keys, CSS classes).
    pub fn as_str(self) -> &'static str {
        match self {
            InboxOutcome::Pending => "pending",
            InboxOutcome::OptedOut => "stop",
            InboxOutcome::OptedIn => "start",
            InboxOutcome::Stored => "stored",
        }
    }

    fn of(outcome: Option<&str>) -> InboxOutcome {
        match outcome {
            None => InboxOutcome::Pending,
            Some("stop") => InboxOutcome::OptedOut,
            Some("start") => InboxOutcome::OptedIn,
            Some(_) => InboxOutcome::Stored,
        }
    }
}

/// A received SMS or WhatsApp message, for the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxEntry {
    /// The stored post's id (the paging key).
    pub id: i64,
    /// `sms` or `whatsapp`.
    pub kind: String,
    /// The sender in E.164 when the platform's value parses, else as reported (empty if none).
    pub sender: String,
    pub text: String,
    pub received_ms: i64,
    pub outcome: InboxOutcome,
}

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

/// Decodes, in one pass, the HTML entities the platform's input sanitiser writes into received
/// text (wire reference § 1.6: `&amp;` `&lt;` `&gt;` `&quot;` `&#039;`, and numeric ones), so the
/// inbox shows what the customer typed; anything else is left as is.
fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let decoded = rest.find(';').filter(|&end| end <= 10).and_then(|end| {
            let c = match &rest[1..end] {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                e => e
                    .strip_prefix("#x")
                    .or_else(|| e.strip_prefix("#X"))
                    .map(|h| u32::from_str_radix(h, 16))
                    .or_else(|| e.strip_prefix('#').map(str::parse::<u32>))
                    .and_then(Result::ok)
                    .and_then(char::from_u32),
            }?;
            Some((c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
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

    /// The inbox: received SMS and WhatsApp messages (or one `kind` of the two), newest first,
    /// older than the post `before` when given; at most `limit` (capped at [`INBOX_MAX`]).
    pub async fn inbox(
        &self,
        kind: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<InboxEntry>, SendError> {
        let kinds: Vec<&str> = match kind {
            Some(k) if INBOX_KINDS.contains(&k) => vec![k],
            Some(_) => return Err(SendError::Invalid("kind")),
            None => INBOX_KINDS.to_vec(),
        };
        let rows = self
            .inner
            .store
            .inbound_page(&kinds, before, limit.clamp(1, INBOX_MAX))
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| InboxEntry {
                id: r.id,
                sender: r
                    .sender
                    .as_deref()
                    .map(|s| {
                        messagepro::Phone::parse_international(s.trim())
                            .map(|p| p.e164().to_owned())
                            .unwrap_or_else(|_| s.trim().to_owned())
                    })
                    .unwrap_or_default(),
                text: r.text.as_deref().map(unescape).unwrap_or_default(),
                received_ms: r.received_ms,
                outcome: InboxOutcome::of(r.outcome.as_deref()),
                kind: r.kind,
            })
            .collect())
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

#[cfg(test)]
mod tests {
    use super::unescape;

    #[test]
    fn the_sanitisers_entities_are_decoded_once() {
        assert_eq!(unescape("Tom &amp; Jerry"), "Tom & Jerry");
        assert_eq!(
            unescape("&lt;b&gt; l&#039;&quot;x&quot; &#x41;"),
            "<b> l'\"x\" A"
        );
        // decoded once: an escaped entity stays an entity
        assert_eq!(unescape("&amp;lt;"), "&lt;");
        // not an entity: kept
        assert_eq!(unescape("A & B &nope; &#xZZ; &"), "A & B &nope; &#xZZ; &");
    }
}
