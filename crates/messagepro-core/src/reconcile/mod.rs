//! Status reconciliation: moves local messages that are `pending` (queued on the platform) or
//! `unknown` (the send may or may not have reached it) to what Message Pro says now. Two paths:
//!
//! **By id** (the newer build, spec Q21: `send/sms` returns `messageId`). A waiting row that
//! holds a platform id is looked up alone — `get/sms.message` for SMS and SMS-OTP rows,
//! `get/wa.message` for chat rows — at most [`BY_ID_CONCURRENCY`] lookups at a time (the first
//! of a pass alone: it probes the endpoint); the lists are not read for it. The platform's `pending` / `queued` keep the row `pending`; `sent` /
//! `failed` are final (with the handset code). `404 Message doesn't exist!` means the row was
//! deleted on the platform (the lookup finds only this account's rows): the row is `failed` with
//! `send.error.deleted_on_platform` — it has no status to wait for, and sending it again could
//! deliver it twice. (Pointing the console at another account's key would make every id answer
//! 404: reconcile before changing accounts.) A lookup that fails otherwise (transport, 5xx)
//! leaves the row for the next pass. When the build has no such endpoint
//! (`Invalid API Endpoint!`, the 3.3.8 build) or the key may not use it (`get_message`), the
//! rows go to the lists instead, and that channel is not probed again for [`BY_ID_RETRY`].
//!
//! **By the lists** (the 3.3.8 build returns no ids; an `unknown` row never got an answer; the
//! fallback above). The sent and pending lists are read only when some row needs them, and
//! whole, with the client's paging helper (the platform's page 2 skips rows). A row with an id
//! is found by it. Otherwise a local row is matched to a platform row by recipient + text, taking
//! the earliest platform row not already claimed by another local row (its id is then stored,
//! and later passes follow it). The text match understands what the platform does to a text on
//! `send/sms`: spintax (`{a|b}` picks one option), a footer appended after a blank line, and for
//! OTP rows the `{{otp}}` placeholder (a run of digits: the code is never copied into the local
//! record).
//!
//! Order matters so that a row is never credited with another's platform row: rows already
//! holding an id first, then `pending` rows (they certainly reached the platform), then
//! `unknown` rows (they may not have). An `unknown` row still absent from the platform's lists
//! after [`crate::CoreSettings::unknown_grace`] (by then any request that reached the platform
//! is listed) is queued again while its job has attempts left, else `failed` with
//! `send.error.not_on_platform` — resolved from the lists, never resent blind. (A row the user
//! deleted on the platform inside the grace period would be sent again: documented.)
//!
//! [`SyncReport`] counts which path settled each row (`by_id`, `by_list_id`, `by_text`) and
//! how many lists were read.

mod by_id;
mod lists;
mod text;

use std::collections::HashSet;

use messagepro_store::{
    CampaignStatus, Channel, Message, MessageFilter, MessageStatus, Page, Store,
};

use crate::Core;

pub(crate) use by_id::ByIdOff;
pub use by_id::{BY_ID_CONCURRENCY, BY_ID_RETRY, DELETED_ON_PLATFORM};
pub use text::text_matches;

/// Rows looked at per pass (oldest first among the newest this many).
const MAX_ROWS: i64 = 5_000;

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Local rows that were waiting for the platform.
    pub checked: usize,
    /// Rows whose status changed.
    pub updated: usize,
    /// `unknown` rows not found on the platform in this pass.
    pub unmatched_unknown: Vec<i64>,
    /// `unknown` rows absent from the platform past the grace period, queued again.
    pub requeued: usize,
    /// Requests made to `get/sms.message` / `get/wa.message` (whatever they answered).
    pub lookups: usize,
    /// Rows answered by `get/sms.message` / `get/wa.message` (found, or deleted there).
    pub by_id: usize,
    /// Of those, rows the platform no longer has (`failed`, `send.error.deleted_on_platform`).
    pub deleted_on_platform: usize,
    /// Rows with a platform id found in the lists (the by-id endpoint missing or refused).
    pub by_list_id: usize,
    /// Rows without a platform id matched by recipient + text in the lists.
    pub by_text: usize,
    /// Lists read (`get/sms.sent`, `get/sms.pending`, `get/wa.sent`, `get/wa.pending`).
    pub lists_read: usize,
}

/// Whether a local row went out as a WhatsApp chat (its platform rows are in the chat lists).
fn is_chat(m: &Message) -> bool {
    m.channel == Channel::Whatsapp
        || serde_json::from_str::<serde_json::Value>(&m.route)
            .ok()
            .and_then(|v| {
                v.get("mode")
                    .and_then(|x| x.as_str())
                    .map(|x| x == "whatsapp")
            })
            .unwrap_or(false)
}

/// The order rows are matched in: with an id first, then pending (certainly on the platform),
/// then unknown; oldest first within each.
fn match_order(m: &Message) -> (u8, i64) {
    let rank = match (&m.platform_id, m.status) {
        (Some(_), _) => 0,
        (None, MessageStatus::Pending) => 1,
        _ => 2,
    };
    (rank, m.id)
}

async fn waiting_rows(store: &Store) -> anyhow::Result<Vec<Message>> {
    let mut rows = Vec::new();
    for status in [MessageStatus::Pending, MessageStatus::Unknown] {
        let f = MessageFilter {
            status: Some(status),
            ..Default::default()
        };
        rows.extend(store.list_messages(&f, Page::first(MAX_ROWS)).await?);
    }
    rows.sort_by_key(match_order);
    Ok(rows)
}

impl Core {
    /// One reconciliation pass: rows with a platform id by id where the build allows it, the
    /// others by the SMS lists (SMS and SMS OTP rows) and the chat lists (WhatsApp rows), read
    /// only when some row needs them; then the `unknown` rows past their grace are resolved.
    pub async fn reconcile_once(&self) -> anyhow::Result<SyncReport> {
        let r = sync_once(self).await?;
        crate::telemetry::reconciled(r.updated as u64);
        Ok(r)
    }
}

async fn sync_once(core: &Core) -> anyhow::Result<SyncReport> {
    let store = core.store();
    let rows = waiting_rows(store).await?;
    let (chats, sms): (Vec<Message>, Vec<Message>) = rows.into_iter().partition(is_chat);
    let mut report = SyncReport {
        checked: chats.len() + sms.len(),
        ..Default::default()
    };
    let mut touched = HashSet::new();
    let sms = by_id::follow_ids(core, sms, false, &mut report, &mut touched).await?;
    let chats = by_id::follow_ids(core, chats, true, &mut report, &mut touched).await?;
    if !sms.is_empty() {
        // one day of margin: the platform's clock is not ours
        let oldest = sms.iter().map(|m| m.created_ms).min().unwrap_or(0);
        let since = oldest / 1000 - 86_400;
        let remote = lists::sms_rows(core.platform(), since).await?;
        report.lists_read += 2;
        lists::reconcile(core, &sms, &remote, false, &mut report, &mut touched).await?;
    }
    if !chats.is_empty() {
        let remote = lists::chat_rows(core.platform()).await?;
        report.lists_read += 2;
        lists::reconcile(core, &chats, &remote, true, &mut report, &mut touched).await?;
    }
    // unknown rows the platform does not have, after the grace period (any request that reached
    // it is in its lists by then): ready to send again while attempts remain — decided from
    // the platform's lists, not blind — else failed. A late OTP is useless: failed.
    let now = core.now_ms();
    let grace = core.settings().unknown_grace.as_millis() as i64;
    let mut requeued = false;
    for id in std::mem::take(&mut report.unmatched_unknown) {
        let Some(m) = store.message_by_id(id).await? else {
            continue;
        };
        if m.status != MessageStatus::Unknown || m.updated_ms + grace > now {
            continue;
        }
        let reason = "send.error.not_on_platform";
        let outcome = if m.channel == Channel::Otp {
            store
                .update_message_status(id, MessageStatus::Failed, None, Some(reason), now)
                .await?;
            Some(false)
        } else {
            store.resolve_absent(id, reason, now).await?
        };
        match outcome {
            Some(true) => {
                requeued = true;
                report.requeued += 1;
                tracing::info!(
                    message = id,
                    "not on the platform after the grace period: queued again"
                );
            }
            Some(false) => {
                report.updated += 1;
                if let Some(c) = m.campaign_id {
                    touched.insert(c);
                }
            }
            None => {}
        }
    }
    if requeued {
        core.inner.wake.notify_one();
    }
    // campaigns whose rows finished without a pass touching them (failed at dispatch)
    touched.extend(store.running_campaign_ids().await?);
    finish_campaigns(store, touched, now).await?;
    Ok(report)
}

/// Marks `done` the running campaigns whose rows all have a final status (`skipped`
/// included), and `running` the scheduled ones whose start has come.
async fn finish_campaigns(store: &Store, touched: HashSet<i64>, now: i64) -> anyhow::Result<()> {
    for cid in touched {
        let waiting = |s| MessageFilter {
            campaign_id: Some(cid),
            status: Some(s),
            ..Default::default()
        };
        let left = store
            .count_messages(&waiting(MessageStatus::Pending))
            .await?
            + store
                .count_messages(&waiting(MessageStatus::Queued))
                .await?
            + store
                .count_messages(&waiting(MessageStatus::Unknown))
                .await?
            + store
                .count_messages(&waiting(MessageStatus::Sending))
                .await?;
        let Some(c) = store.campaign_by_id(cid).await? else {
            continue;
        };
        let open = matches!(c.status, CampaignStatus::Running | CampaignStatus::Queued);
        if open && left == 0 {
            store
                .update_campaign_status(cid, CampaignStatus::Done, now)
                .await?;
        } else if c.status == CampaignStatus::Queued && c.start_ms.is_none_or(|s| s <= now) {
            // a scheduled campaign whose start has come
            store
                .update_campaign_status(cid, CampaignStatus::Running, now)
                .await?;
        }
    }
    Ok(())
}
