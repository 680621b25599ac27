//! Status reconciliation: moves local SMS records that are `pending` (queued on the platform)
//! or `unknown` (the send may or may not have reached it) to what Message Pro says now.
//!
//! The platform returns no message id on most builds, so a local row is matched to a platform row
//! by recipient + text, taking the earliest platform row not already claimed by another local
//! row (the platform id is then stored in `platform_id`, and later passes match on it). OTP rows
//! are matched with their `{{otp}}` template (the platform lists the text with the code in it;
//! the code is never copied into the local record). Both lists are read whole with the client's
//! paging helper (the platform's page 2 skips rows).
//!
//! [`sync_once`] is one pass (tests call it directly); [`spawn`] runs it periodically.

use std::collections::HashSet;
use std::time::Duration;

use messagepro::{ChatStatus, PageRequest, SentSms, SmsStatus};
use messagepro_store::{
    CampaignStatus, Channel, Message, MessageFilter, MessageStatus, Page, Store,
};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::app::AppState;

/// Rows looked at per pass (oldest first among the newest this many).
const MAX_ROWS: i64 = 5_000;

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Local rows that were waiting for the platform.
    pub checked: usize,
    /// Rows whose status changed.
    pub updated: usize,
}

/// Runs [`sync_once`] every `period` until the task is aborted. Errors are logged, not fatal.
pub fn spawn(state: AppState, period: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let pass = async {
                match sync_once(&state).await {
                    Ok(r) if r.updated > 0 => tracing::info!(
                        checked = r.checked,
                        updated = r.updated,
                        "statuses reconciled"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = format!("{e:#}"), "status sync failed"),
                }
            };
            pass.instrument(tracing::info_span!("job", name = "status_sync"))
                .await;
        }
    })
}

/// Whether a platform text is the local text (or, for OTP, the template with a code in it).
fn text_matches(local: &Message, platform: &str) -> bool {
    if local.channel == Channel::Otp {
        let compact: String = local.text.replace(' ', "");
        if let Some(pos) = local.text.find("{{") {
            let (before, rest) = local.text.split_at(pos);
            if let Some(end) = rest.find("}}") {
                let after = &rest[end + 2..];
                return compact.contains("{{otp}}")
                    && platform.len() > before.len() + after.len()
                    && platform.starts_with(before)
                    && platform.ends_with(after)
                    && platform[before.len()..platform.len() - after.len()]
                        .chars()
                        .all(|c| c.is_ascii_digit());
            }
        }
        return false;
    }
    local.text == platform
}

/// One platform row, from a sent or a pending list.
struct Remote {
    id: String,
    recipient: String,
    text: String,
    /// `None`: still pending on the platform; else the final status and the handset code.
    done: Option<(MessageStatus, String)>,
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

async fn waiting_rows(store: &Store) -> anyhow::Result<Vec<Message>> {
    let mut rows = Vec::new();
    for status in [MessageStatus::Pending, MessageStatus::Unknown] {
        let f = MessageFilter {
            status: Some(status),
            ..Default::default()
        };
        rows.extend(store.list_messages(&f, Page::first(MAX_ROWS)).await?);
    }
    rows.sort_by_key(|m| m.id);
    Ok(rows)
}

/// Every SMS row of the platform, sent and pending, oldest id first.
/// The sent list back to `since` (Unix seconds). The platform lists newest first and its page 2
/// skips rows, so page 1 is read with a doubling limit until it reaches rows older than `since`
/// or the end of the list — a pass does not download years of history to settle today's rows.
async fn sent_since(api: &messagepro::Client, since: i64) -> anyhow::Result<Vec<SentSms>> {
    let mut limit: u32 = 200;
    loop {
        let rows = api.get_sent_messages(PageRequest::first(limit)).await?;
        let reached = rows
            .iter()
            .map(|r| r.created)
            .min()
            .is_some_and(|c| c < since);
        if rows.len() < limit as usize || reached || limit >= 1 << 24 {
            return Ok(rows);
        }
        limit *= 2;
    }
}

async fn sms_rows(api: &messagepro::Client, since: i64) -> anyhow::Result<Vec<Remote>> {
    let pending = api.all_pending_messages().await?;
    let sent = sent_since(api, since).await?;
    let mut out: Vec<Remote> = sent
        .into_iter()
        .filter_map(|s| {
            let status = match s.status {
                SmsStatus::Sent => MessageStatus::Sent,
                SmsStatus::Failed => MessageStatus::Failed,
                _ => return None,
            };
            Some(Remote {
                id: s.id.to_string(),
                recipient: s.recipient,
                text: s.message,
                done: Some((status, s.status_code)),
            })
        })
        .chain(pending.into_iter().map(|p| Remote {
            id: p.id.to_string(),
            recipient: p.recipient,
            text: p.message,
            done: None,
        }))
        .collect();
    out.sort_by_key(|r| r.id.parse::<u64>().unwrap_or(u64::MAX));
    Ok(out)
}

/// Every WhatsApp chat of the platform, sent and pending, oldest id first.
async fn chat_rows(api: &messagepro::Client) -> anyhow::Result<Vec<Remote>> {
    let pending = messagepro::fetch_all(messagepro::DEFAULT_FETCH_ALL_LIMIT, |p| {
        api.get_pending_chats(p)
    })
    .await?;
    let sent = api.all_sent_chats().await?;
    let mut out: Vec<Remote> = sent
        .into_iter()
        .filter_map(|s| {
            let status = match s.status {
                ChatStatus::Sent => MessageStatus::Sent,
                ChatStatus::Failed => MessageStatus::Failed,
                _ => return None,
            };
            Some(Remote {
                id: s.id.to_string(),
                recipient: s.recipient,
                text: s.message.unwrap_or_default(),
                done: Some((status, String::new())),
            })
        })
        .chain(pending.into_iter().map(|p| Remote {
            id: p.id.to_string(),
            recipient: p.recipient,
            text: p.message.unwrap_or_default(),
            done: None,
        }))
        .collect();
    out.sort_by_key(|r| r.id.parse::<u64>().unwrap_or(u64::MAX));
    Ok(out)
}

/// One reconciliation pass (SMS lists for SMS and SMS OTP rows, chat lists for WhatsApp rows).
pub async fn sync_once(state: &AppState) -> anyhow::Result<SyncReport> {
    let rows = waiting_rows(&state.store).await?;
    let (chats, sms): (Vec<Message>, Vec<Message>) = rows.into_iter().partition(is_chat);
    let mut report = SyncReport::default();
    let mut touched = HashSet::new();
    if !sms.is_empty() {
        // one day of margin: the platform's clock is not ours
        let oldest = sms.iter().map(|m| m.created_ms).min().unwrap_or(0);
        let since = oldest / 1000 - 86_400;
        let remote = sms_rows(&state.api, since).await?;
        reconcile(state, &sms, &remote, false, &mut report, &mut touched).await?;
    }
    if !chats.is_empty() {
        let remote = chat_rows(&state.api).await?;
        reconcile(state, &chats, &remote, true, &mut report, &mut touched).await?;
    }
    finish_campaigns(&state.store, touched, state.clock.now_ms()).await?;
    Ok(report)
}

/// Matches `rows` (all SMS-list rows or all chat-list rows) to `remote` and records changes.
async fn reconcile(
    state: &AppState,
    rows: &[Message],
    remote: &[Remote],
    chats: bool,
    report: &mut SyncReport,
    touched: &mut HashSet<i64>,
) -> anyhow::Result<()> {
    let store = &state.store;
    // platform ids already owned by a local row of the same list (any status): never twice
    let oldest = rows.iter().map(|m| m.created_ms).min().unwrap_or(0);
    let f = MessageFilter {
        from_ms: Some(oldest - 86_400_000),
        ..Default::default()
    };
    let mut claimed: HashSet<String> = store
        .list_messages(&f, Page::first(MAX_ROWS * 4))
        .await?
        .into_iter()
        .filter(|m| is_chat(m) == chats)
        .filter_map(|m| m.platform_id)
        .collect();

    let now = state.clock.now_ms();
    report.checked += rows.len();
    for m in rows {
        let found = match &m.platform_id {
            Some(pid) => remote.iter().find(|r| &r.id == pid),
            None => remote.iter().find(|r| {
                !claimed.contains(&r.id) && r.recipient == m.recipient && text_matches(m, &r.text)
            }),
        };
        let Some(r) = found else { continue };
        claimed.insert(r.id.clone());
        let (status, code) = match &r.done {
            None => (MessageStatus::Pending, None),
            Some((s, code)) => (*s, Some(code.as_str()).filter(|c| !c.is_empty())),
        };
        if status != m.status || m.platform_id.is_none() {
            store
                .update_message_status(m.id, status, Some(&r.id), code, now)
                .await?;
            if status != m.status {
                report.updated += 1;
            }
            if let Some(c) = m.campaign_id {
                touched.insert(c);
            }
        }
    }
    Ok(())
}

/// Marks `done` the campaigns whose rows all have a final status.
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
                .await?;
        if left == 0 {
            store
                .update_campaign_status(cid, CampaignStatus::Done, now)
                .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(channel: Channel, text: &str) -> Message {
        Message {
            id: 1,
            channel,
            recipient: "+224621234567".into(),
            text: text.into(),
            route: "{}".into(),
            status: MessageStatus::Pending,
            platform_id: None,
            platform_message: None,
            segments: 1,
            created_by: None,
            campaign_id: None,
            created_ms: 0,
            updated_ms: 0,
        }
    }

    #[test]
    fn sms_text_must_match_exactly() {
        let m = msg(Channel::Sms, "Bonjour");
        assert!(text_matches(&m, "Bonjour"));
        assert!(!text_matches(&m, "Bonjour !"));
    }

    #[test]
    fn otp_text_matches_its_template_with_digits_only() {
        let m = msg(Channel::Otp, "Votre code : {{otp}}.");
        assert!(text_matches(&m, "Votre code : 483920."));
        assert!(!text_matches(&m, "Votre code : abc."));
        assert!(!text_matches(&m, "Autre code : 483920."));
    }
}
