//! Status reconciliation: moves local messages that are `pending` (queued on the platform) or
//! `unknown` (the send may or may not have reached it) to what Message Pro says now.
//!
//! A row with a platform id is followed by that id. Otherwise (the 3.3.8 build returns no ids) a
//! local row is matched to a platform row by recipient + text, taking the earliest platform row
//! not already claimed by another local row (its id is then stored, and later passes match on
//! it). The text match understands what the platform does to a text on `send/sms`: spintax
//! (`{a|b}` picks one option), a footer appended after a blank line, and for OTP rows the
//! `{{otp}}` placeholder (a run of digits: the code is never copied into the local record).
//!
//! Order matters so that a row is never credited with another's platform row: rows already
//! holding an id first, then `pending` rows (they certainly reached the platform), then
//! `unknown` rows (they may not have). An `unknown` row still absent from the platform's lists
//! after [`crate::CoreSettings::unknown_grace`] (by then any request that reached the platform
//! is listed) is queued again while its job has attempts left, else `failed` with
//! `send.error.not_on_platform` — resolved from the lists, never resent blind. (A row the user
//! deleted on the platform inside the grace period would be sent again: documented.) Both lists are read whole with the client's paging helper (the
//! platform's page 2 skips rows).

use std::collections::HashSet;

use messagepro::{ChatStatus, PageRequest, SentSms, SmsStatus};
use messagepro_store::{
    CampaignStatus, Channel, Message, MessageFilter, MessageStatus, Page, Store,
};

use crate::Core;

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
}

/// A piece of a text as the platform will render it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Lit(char),
    /// Spintax: one of the options (a `{x}` without `|` is one option).
    Alt(Vec<Vec<Node>>),
    /// The OTP placeholder: a run of digits.
    Digits,
}

/// Parses `text` into nodes. Unbalanced braces are literal.
fn parse(text: &str, otp: bool) -> Vec<Node> {
    fn seq(chars: &[char], i: &mut usize, otp: bool, nested: bool) -> (Vec<Vec<Node>>, bool) {
        let mut options = vec![Vec::new()];
        while *i < chars.len() {
            let c = chars[*i];
            if otp && c == '{' && chars.get(*i + 1) == Some(&'{') {
                let rest: String = chars[*i..].iter().collect();
                if let Some(end) = rest.find("}}") {
                    let inner = &rest[2..end];
                    if inner.trim() == "otp" {
                        options.last_mut().expect("one option").push(Node::Digits);
                        *i += rest[..end + 2].chars().count();
                        continue;
                    }
                }
            }
            match c {
                '{' => {
                    let save = *i;
                    *i += 1;
                    let (opts, closed) = seq(chars, i, otp, true);
                    if closed {
                        options
                            .last_mut()
                            .expect("one option")
                            .push(Node::Alt(opts));
                    } else {
                        *i = save + 1;
                        options.last_mut().expect("one option").push(Node::Lit('{'));
                    }
                }
                '}' if nested => {
                    *i += 1;
                    return (options, true);
                }
                '|' if nested => {
                    *i += 1;
                    options.push(Vec::new());
                }
                _ => {
                    *i += 1;
                    options.last_mut().expect("one option").push(Node::Lit(c));
                }
            }
        }
        (options, !nested)
    }
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    seq(&chars, &mut i, otp, false)
        .0
        .into_iter()
        .next()
        .unwrap_or_default()
}

/// Every end position reachable by matching `nodes` from each of `starts` in `text`.
fn advance(nodes: &[Node], text: &[char], starts: HashSet<usize>) -> HashSet<usize> {
    let mut pos = starts;
    for n in nodes {
        if pos.is_empty() {
            break;
        }
        pos = match n {
            Node::Lit(c) => pos
                .into_iter()
                .filter(|&p| text.get(p) == Some(c))
                .map(|p| p + 1)
                .collect(),
            Node::Digits => pos
                .into_iter()
                .flat_map(|p| {
                    let run = text[p.min(text.len())..]
                        .iter()
                        .take_while(|c| c.is_ascii_digit())
                        .count();
                    (1..=run.min(10)).map(move |k| p + k)
                })
                .collect(),
            Node::Alt(opts) => opts
                .iter()
                .flat_map(|o| advance(o, text, pos.clone()))
                .collect(),
        };
    }
    pos
}

/// Whether `platform` (the stored text) can be what the platform made of `local`: the same text,
/// with spintax resolved, OTP digits in place of `{{otp}}`, and an optional footer after a
/// blank line.
pub fn text_matches(local: &Message, platform: &str) -> bool {
    let otp = local.channel == Channel::Otp;
    if !otp && local.text == platform {
        return true;
    }
    let nodes = parse(&local.text, otp);
    let text: Vec<char> = platform.chars().collect();
    let ends = advance(&nodes, &text, HashSet::from([0]));
    ends.iter()
        .any(|&e| e == text.len() || (text.get(e) == Some(&'\n') && text.get(e + 1) == Some(&'\n')))
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
    // with an id first, then pending (certainly on the platform), then unknown
    let mut rows = Vec::new();
    for status in [MessageStatus::Pending, MessageStatus::Unknown] {
        let f = MessageFilter {
            status: Some(status),
            ..Default::default()
        };
        rows.extend(store.list_messages(&f, Page::first(MAX_ROWS)).await?);
    }
    rows.sort_by_key(|m| {
        let rank = match (&m.platform_id, m.status) {
            (Some(_), _) => 0,
            (None, MessageStatus::Pending) => 1,
            _ => 2,
        };
        (rank, m.id)
    });
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

impl Core {
    /// One reconciliation pass (SMS lists for SMS and SMS OTP rows, chat lists for WhatsApp
    /// rows), then the `unknown` rows past their grace are failed.
    pub async fn reconcile_once(&self) -> anyhow::Result<SyncReport> {
        sync_once(self).await
    }
}

async fn sync_once(core: &Core) -> anyhow::Result<SyncReport> {
    let store = core.store();
    let rows = waiting_rows(store).await?;
    let (chats, sms): (Vec<Message>, Vec<Message>) = rows.into_iter().partition(is_chat);
    let mut report = SyncReport::default();
    let mut touched = HashSet::new();
    if !sms.is_empty() {
        // one day of margin: the platform's clock is not ours
        let oldest = sms.iter().map(|m| m.created_ms).min().unwrap_or(0);
        let since = oldest / 1000 - 86_400;
        let remote = sms_rows(core.platform(), since).await?;
        reconcile(core, &sms, &remote, false, &mut report, &mut touched).await?;
    }
    if !chats.is_empty() {
        let remote = chat_rows(core.platform()).await?;
        reconcile(core, &chats, &remote, true, &mut report, &mut touched).await?;
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

/// Matches `rows` (all SMS-list rows or all chat-list rows) to `remote` and records changes.
async fn reconcile(
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
    report.checked += rows.len();
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
                .await?
            + store
                .count_messages(&waiting(MessageStatus::Sending))
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
    fn spintax_and_a_footer_match_what_the_platform_made_of_them() {
        let m = msg(Channel::Sms, "{Bonjour|Salut} {Awa|client}, promo !");
        assert!(text_matches(&m, "Salut Awa, promo !"));
        assert!(text_matches(&m, "Bonjour client, promo !"));
        assert!(text_matches(
            &m,
            "Bonjour client, promo !\n\nEnvoyé par Boutique"
        ));
        assert!(!text_matches(&m, "Bonsoir client, promo !"));
        assert!(!text_matches(&m, "Bonjour client, promo !!"));
        let nested = msg(Channel::Sms, "{a|{b|c}d}!");
        assert!(text_matches(&nested, "cd!"));
        assert!(!text_matches(&nested, "c!"));
        let unbalanced = msg(Channel::Sms, "prix {10");
        assert!(text_matches(&unbalanced, "prix {10"));
    }

    #[test]
    fn otp_text_matches_its_template_with_digits_only() {
        let m = msg(Channel::Otp, "Votre code : {{otp}}.");
        assert!(text_matches(&m, "Votre code : 483920."));
        assert!(!text_matches(&m, "Votre code : abc."));
        assert!(!text_matches(&m, "Autre code : 483920."));
    }
}
