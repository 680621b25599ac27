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

use messagepro::{SentSms, SmsStatus};
use messagepro_store::{
    CampaignStatus, Channel, Message, MessageFilter, MessageStatus, Page, Store,
};
use tokio::task::JoinHandle;

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

/// The period of the background worker: `MESSAGEPRO_SYNC_SECONDS` (default 5; 0 turns it off).
pub fn period_from_env() -> Option<Duration> {
    let secs = std::env::var("MESSAGEPRO_SYNC_SECONDS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(5);
    (secs > 0).then(|| Duration::from_secs(secs))
}

/// Runs [`sync_once`] every `period` until the task is aborted. Errors are logged, not fatal.
pub fn spawn(state: AppState, period: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let span = tracing::info_span!("job", name = "status_sync");
            let _enter = span.enter();
            match sync_once(&state).await {
                Ok(r) if r.updated > 0 => tracing::info!(
                    checked = r.checked,
                    updated = r.updated,
                    "statuses reconciled"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = format!("{e:#}"), "status sync failed"),
            }
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

/// One platform row, from either list.
struct Remote<'a> {
    id: String,
    recipient: &'a str,
    text: &'a str,
    /// `None`: still pending on the platform.
    done: Option<&'a SentSms>,
}

async fn waiting_rows(store: &Store) -> anyhow::Result<Vec<Message>> {
    let mut rows = Vec::new();
    for status in [MessageStatus::Pending, MessageStatus::Unknown] {
        for channel in [Channel::Sms, Channel::Otp] {
            let f = MessageFilter {
                channel: Some(channel),
                status: Some(status),
                ..Default::default()
            };
            rows.extend(store.list_messages(&f, Page::first(MAX_ROWS)).await?);
        }
    }
    rows.sort_by_key(|m| m.id);
    Ok(rows)
}

/// One reconciliation pass.
pub async fn sync_once(state: &AppState) -> anyhow::Result<SyncReport> {
    let store = &state.store;
    let rows = waiting_rows(store).await?;
    if rows.is_empty() {
        return Ok(SyncReport::default());
    }
    let api = &state.api;
    let pending = api.all_pending_messages().await?;
    let sent = api.all_sent_messages().await?;

    let mut remote: Vec<Remote<'_>> = sent
        .iter()
        .map(|s| Remote {
            id: s.id.to_string(),
            recipient: &s.recipient,
            text: &s.message,
            done: Some(s),
        })
        .chain(pending.iter().map(|p| Remote {
            id: p.id.to_string(),
            recipient: &p.recipient,
            text: &p.message,
            done: None,
        }))
        .collect();
    remote.sort_by_key(|r| r.id.parse::<u64>().unwrap_or(u64::MAX));

    // platform ids already owned by a local row (any status), so a row is never matched twice
    let oldest = rows.iter().map(|m| m.created_ms).min().unwrap_or(0);
    let mut claimed: HashSet<String> = HashSet::new();
    for channel in [Channel::Sms, Channel::Otp] {
        let f = MessageFilter {
            channel: Some(channel),
            from_ms: Some(oldest - 86_400_000),
            ..Default::default()
        };
        for m in store.list_messages(&f, Page::first(MAX_ROWS * 4)).await? {
            if let Some(p) = m.platform_id {
                claimed.insert(p);
            }
        }
    }

    let now = state.clock.now_ms();
    let mut report = SyncReport {
        checked: rows.len(),
        updated: 0,
    };
    let mut touched_campaigns = HashSet::new();
    for m in &rows {
        let found = match &m.platform_id {
            Some(pid) => remote.iter().find(|r| &r.id == pid),
            None => remote.iter().find(|r| {
                !claimed.contains(&r.id) && r.recipient == m.recipient && text_matches(m, r.text)
            }),
        };
        let Some(r) = found else { continue };
        claimed.insert(r.id.clone());
        let (status, code) = match r.done {
            None => (MessageStatus::Pending, None),
            Some(s) => match s.status {
                SmsStatus::Sent => (MessageStatus::Sent, Some(s.status_code.as_str())),
                SmsStatus::Failed => (MessageStatus::Failed, Some(s.status_code.as_str())),
                _ => continue,
            },
        };
        let code = code.filter(|c| !c.is_empty());
        if status != m.status || m.platform_id.is_none() {
            store
                .update_message_status(m.id, status, Some(&r.id), code, now)
                .await?;
            if status != m.status {
                report.updated += 1;
            }
            if let Some(c) = m.campaign_id {
                touched_campaigns.insert(c);
            }
        }
    }
    for cid in touched_campaigns {
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
    Ok(report)
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
