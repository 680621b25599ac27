//! Reconciliation by platform id (the newer build, spec Q21): each waiting row that holds an id
//! is looked up alone (`get/sms.message`, `get/wa.message`), the first of a pass probing the
//! endpoint; a missing or refused endpoint sends the channel to the lists for [`BY_ID_RETRY`].

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use messagepro::{ChatStatus, SmsStatus};
use messagepro_store::{Message, MessageStatus};

use super::{SyncReport, match_order};
use crate::Core;

/// By-id lookups in flight at once.
pub const BY_ID_CONCURRENCY: usize = 8;

/// How long a channel whose by-id endpoint is missing or refused is reconciled by the lists
/// before the endpoint is tried again.
pub const BY_ID_RETRY: Duration = Duration::from_secs(600);

/// The reason stored on a row whose platform id answers `Message doesn't exist!`.
pub const DELETED_ON_PLATFORM: &str = "send.error.deleted_on_platform";

/// Until when (clock milliseconds) each channel's by-id endpoint is not used.
#[derive(Debug, Default)]
pub(crate) struct ByIdOff {
    sms_until_ms: Option<i64>,
    chats_until_ms: Option<i64>,
}

impl ByIdOff {
    fn slot(&mut self, chats: bool) -> &mut Option<i64> {
        if chats {
            &mut self.chats_until_ms
        } else {
            &mut self.sms_until_ms
        }
    }
}

impl Core {
    /// Whether the by-id endpoint of this channel is in use now (not off after a refusal).
    fn by_id_on(&self, chats: bool) -> bool {
        let now = self.now_ms();
        let mut off = self.inner.by_id_off.lock().expect("by-id lock");
        let slot = off.slot(chats);
        match *slot {
            Some(until) if until > now => false,
            Some(_) => {
                *slot = None;
                true
            }
            None => true,
        }
    }

    /// Reads the lists for this channel for [`BY_ID_RETRY`].
    fn by_id_pause(&self, chats: bool) {
        let until = self.now_ms() + BY_ID_RETRY.as_millis() as i64;
        *self.inner.by_id_off.lock().expect("by-id lock").slot(chats) = Some(until);
    }
}

/// What a by-id lookup said about one row.
enum Lookup {
    /// The platform's status now (`None`: a status this client does not know; left as is) and
    /// the handset code.
    Found(Option<MessageStatus>, String),
    /// `Message doesn't exist!`: deleted on the platform.
    Gone,
    /// The endpoint is missing or refused (`true`: this row's request said so; `false`: not
    /// asked, another had said so): the lists decide.
    Unsupported(bool),
    /// Anything else (transport, 5xx): the next pass tries again.
    Failed(messagepro::Error),
}

async fn lookup(api: &messagepro::Client, id: u64, chats: bool) -> Lookup {
    use messagepro::Error as E;
    let found = if chats {
        api.get_wa_message(id).await.map(|c| {
            let status = match c.status {
                ChatStatus::Pending | ChatStatus::Queued => Some(MessageStatus::Pending),
                ChatStatus::Sent => Some(MessageStatus::Sent),
                ChatStatus::Failed => Some(MessageStatus::Failed),
                ChatStatus::Unknown => None,
            };
            (status, String::new())
        })
    } else {
        api.get_sms_message(id).await.map(|m| {
            let status = match m.status {
                SmsStatus::Pending | SmsStatus::Queued => Some(MessageStatus::Pending),
                SmsStatus::Sent => Some(MessageStatus::Sent),
                SmsStatus::Failed => Some(MessageStatus::Failed),
                SmsStatus::Unknown => None,
            };
            (status, m.status_code)
        })
    };
    match found {
        Ok((status, code)) => Lookup::Found(status, code),
        Err(E::MessageNotFound(_)) => Lookup::Gone,
        Err(E::UnknownEndpoint(_) | E::PermissionDenied(_)) => Lookup::Unsupported(true),
        Err(e) => Lookup::Failed(e),
    }
}

/// Follows the rows of one channel that hold a platform id by that id, records what changed, and
/// returns the rows the lists must settle (no id, or the endpoint missing or refused), in
/// matching order.
pub(super) async fn follow_ids(
    core: &Core,
    rows: Vec<Message>,
    chats: bool,
    report: &mut SyncReport,
    touched: &mut HashSet<i64>,
) -> anyhow::Result<Vec<Message>> {
    if rows.is_empty() || !core.by_id_on(chats) {
        return Ok(rows);
    }
    let (with_id, mut rest): (Vec<Message>, Vec<Message>) = rows.into_iter().partition(|m| {
        m.platform_id
            .as_deref()
            .is_some_and(|p| p.parse::<u64>().is_ok())
    });
    if with_id.is_empty() {
        return Ok(rest);
    }
    let api = core.platform();
    let id_of = |m: &Message| {
        m.platform_id
            .as_deref()
            .and_then(|p| p.parse::<u64>().ok())
            .unwrap_or_default()
    };
    // the first row alone probes the endpoint; the others follow only if it answered
    let mut with_id = with_id.into_iter();
    let first = with_id.next().expect("one row with an id");
    let probe = lookup(api, id_of(&first), chats).await;
    let unsupported = AtomicBool::new(matches!(probe, Lookup::Unsupported(_)));
    let mut answers: Vec<(Message, Lookup)> = vec![(first, probe)];
    let others: Vec<(Message, Lookup)> = futures::stream::iter(with_id)
        .map(|m| {
            let unsupported = &unsupported;
            async move {
                if unsupported.load(Ordering::Relaxed) {
                    return (m, Lookup::Unsupported(false));
                }
                let l = lookup(api, id_of(&m), chats).await;
                if matches!(l, Lookup::Unsupported(_)) {
                    unsupported.store(true, Ordering::Relaxed);
                }
                (m, l)
            }
        })
        .buffer_unordered(BY_ID_CONCURRENCY)
        .collect()
        .await;
    answers.extend(others);
    if unsupported.load(Ordering::Relaxed) {
        core.by_id_pause(chats);
        tracing::info!(
            chats,
            retry_s = BY_ID_RETRY.as_secs(),
            "the platform has no by-id lookup for this key or build: reconciling by the lists"
        );
    }
    let mut changes = Vec::new();
    let mut failed = 0usize;
    let mut first_error = None;
    for (m, answer) in answers {
        report.lookups += usize::from(!matches!(answer, Lookup::Unsupported(false)));
        let pid = m.platform_id.clone().unwrap_or_default();
        let (status, code) = match answer {
            Lookup::Unsupported(_) => {
                rest.push(m);
                continue;
            }
            Lookup::Failed(e) => {
                failed += 1;
                first_error.get_or_insert(e);
                continue;
            }
            Lookup::Found(None, _) => {
                report.by_id += 1;
                continue;
            }
            Lookup::Found(Some(status), code) => {
                report.by_id += 1;
                (status, Some(code).filter(|c| !c.is_empty()))
            }
            Lookup::Gone => {
                report.by_id += 1;
                report.deleted_on_platform += 1;
                tracing::info!(
                    message = m.id,
                    platform_id = %pid,
                    "the platform no longer has this message: failed"
                );
                (MessageStatus::Failed, Some(DELETED_ON_PLATFORM.to_owned()))
            }
        };
        if status != m.status {
            report.updated += 1;
            changes.push((m.id, status, pid, code));
            if let Some(c) = m.campaign_id {
                touched.insert(c);
            }
        }
    }
    if let Some(e) = first_error {
        tracing::warn!(
            failed,
            chats,
            error = %e,
            "by-id lookups failed: those rows wait for the next pass"
        );
    }
    // one transaction; a row that moved on meanwhile is left alone
    core.store()
        .reconcile_messages(&changes, core.now_ms())
        .await?;
    rest.sort_by_key(match_order);
    Ok(rest)
}
