//! Reconciliation by the platform's lists (the 3.3.8 build returns no ids; an `unknown` row
//! never got an answer; the by-id fallback): the sent and pending lists read whole, each local
//! row found by its id or matched by recipient + text to the earliest unclaimed platform row.

use std::collections::HashSet;

use messagepro::{ChatStatus, PageRequest, SentSms, SmsStatus};
use messagepro_store::{Message, MessageFilter, MessageStatus, Page};

use super::text::text_matches;
use super::{MAX_ROWS, SyncReport, is_chat};
use crate::Core;

/// One platform row, from a sent or a pending list.
pub(super) struct Remote {
    id: String,
    recipient: String,
    text: String,
    /// `None`: still pending on the platform; else the final status and the handset code.
    done: Option<(MessageStatus, String)>,
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

pub(super) async fn sms_rows(api: &messagepro::Client, since: i64) -> anyhow::Result<Vec<Remote>> {
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
pub(super) async fn chat_rows(api: &messagepro::Client) -> anyhow::Result<Vec<Remote>> {
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

/// Matches `rows` (all SMS-list rows or all chat-list rows) to `remote` and records changes.
pub(super) async fn reconcile(
    core: &Core,
    rows: &[Message],
    remote: &[Remote],
    chats: bool,
    report: &mut SyncReport,
    touched: &mut HashSet<i64>,
) -> anyhow::Result<()> {
    let store = core.store();
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

    let now = core.now_ms();
    // platform rows by id and by recipient (oldest first): a pass is linear in the lists
    let by_id: std::collections::HashMap<&str, &Remote> =
        remote.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut by_recipient: std::collections::HashMap<&str, Vec<&Remote>> =
        std::collections::HashMap::new();
    for r in remote {
        by_recipient
            .entry(r.recipient.as_str())
            .or_default()
            .push(r);
    }
    let mut changes = Vec::new();
    for m in rows {
        let found = match &m.platform_id {
            Some(pid) => by_id.get(pid.as_str()).copied(),
            None => by_recipient.get(m.recipient.as_str()).and_then(|rs| {
                rs.iter()
                    .copied()
                    .find(|r| !claimed.contains(&r.id) && text_matches(m, &r.text))
            }),
        };
        let Some(r) = found else {
            if m.status == MessageStatus::Unknown {
                report.unmatched_unknown.push(m.id);
            }
            continue;
        };
        claimed.insert(r.id.clone());
        if m.platform_id.is_some() {
            report.by_list_id += 1;
        } else {
            report.by_text += 1;
        }
        let (status, code) = match &r.done {
            None => (MessageStatus::Pending, None),
            Some((s, code)) => (*s, Some(code.as_str()).filter(|c| !c.is_empty())),
        };
        if status != m.status || m.platform_id.is_none() {
            changes.push((m.id, status, r.id.clone(), code.map(str::to_owned)));
            if status != m.status {
                report.updated += 1;
            }
            if let Some(c) = m.campaign_id {
                touched.insert(c);
            }
        }
    }
    // one transaction for the whole pass; a row that moved on meanwhile is left alone
    store.reconcile_messages(&changes, now).await?;
    Ok(())
}
