//! Fallback routes: a message may carry a second channel or route (a WhatsApp event message,
//! then SMS; an SMS by device, then by credits) tried once, only when the first ends `failed` —
//! the platform said this way cannot deliver. Never for `unknown` (the first may have reached
//! the phone: it is reconciled, not doubled) nor for `skipped`.
//!
//! The fallback is built when the message is accepted ([`Core::fallback_of`]: the same text,
//! the fallback's route) and stored with it; the database marks it due when the message fails
//! (migration 0009's trigger); the worker's [`Core::fallbacks_pass`] records each due one as a
//! new message and outbox job, exactly once, checking the opt-out list again (someone who sent
//! STOP in between is recorded `skipped`, not texted on another channel).

use messagepro::{Phone, WaContent};
use messagepro_store::{FallbackRecorded, MessageStatus, NewFallback, NewMessage, StoreError};

use crate::outbox::Payload;
use crate::send::{SendChannel, SendRequest, channel_route_json, segments_of};
use crate::{Actor, Core};

/// Fallbacks recorded by one pass at most.
const BATCH: i64 = 100;

impl Core {
    /// The fallback of a message to `to` with `text`, sent by `channel` (a WhatsApp fallback
    /// carries the text as a text chat).
    pub(crate) fn fallback_of(&self, channel: &SendChannel, to: &Phone, text: &str) -> NewFallback {
        let channel = match channel {
            SendChannel::WhatsApp {
                account, priority, ..
            } => SendChannel::WhatsApp {
                account: account.clone(),
                content: WaContent::Text(text.to_owned()),
                priority: *priority,
            },
            sms => sms.clone(),
        };
        let store_channel = channel.store_channel();
        let req = SendRequest {
            channel,
            recipient: to.clone(),
            text: text.to_owned(),
        };
        NewFallback {
            channel: store_channel,
            route: channel_route_json(&req.channel),
            payload: serde_json::to_value(Payload::from_request(&req)).unwrap_or_default(),
            text: text.to_owned(),
            segments: segments_of(store_channel, text),
        }
    }

    /// Records the fallbacks whose message failed (up to a batch): each a new message with its
    /// outbox job — or `skipped` if its recipient opted out since — in one transaction with
    /// the fallback marked done. Returns how many were recorded.
    pub async fn fallbacks_pass(&self) -> Result<usize, StoreError> {
        let store = &self.inner.store;
        let due = store.fallbacks_due(BATCH).await?;
        if due.is_empty() {
            return Ok(0);
        }
        let phones: Vec<String> = due.iter().map(|d| d.recipient.clone()).collect();
        let suppressed = store.suppressed_among(&phones).await?;
        let system = Actor::System { name: "fallback" };
        let mut recorded = 0;
        for d in due {
            let Ok(channel) = d.channel.parse() else {
                tracing::warn!(
                    message_id = d.message_id,
                    "fallback with an unknown channel: left due"
                );
                continue;
            };
            let payload: Option<Payload> = serde_json::from_str(&d.payload).ok();
            let message = NewMessage {
                channel,
                recipient: d.recipient.clone(),
                text: d.text.clone(),
                route: serde_json::from_str(&d.route).unwrap_or_default(),
                status: MessageStatus::Queued,
                segments: d.segments,
                created_by: d.created_by,
                campaign_id: d.campaign_id,
            };
            let opted_out = suppressed.contains(&d.recipient);
            let now = self.now_ms();
            let job = payload
                .as_ref()
                .filter(|_| !opted_out)
                .map(|p| self.new_job(p, now));
            let skip = if opted_out {
                Some("skip.opted_out")
            } else if payload.is_none() {
                Some("skip.bad_fallback")
            } else {
                None
            };
            let mut audit = self.audit(&system, "message.fallback", &d.recipient);
            audit.detail = Some(format!(
                "message {} failed ({}): {} fallback{}",
                d.message_id,
                d.failure.as_deref().unwrap_or("no reason"),
                d.channel,
                if opted_out {
                    ", skipped: opted out"
                } else {
                    ""
                }
            ));
            match store
                .fallback_record(d.message_id, &message, job.as_ref(), skip, &audit, now)
                .await?
            {
                FallbackRecorded::Recorded(id) => {
                    recorded += 1;
                    tracing::info!(
                        message_id = d.message_id,
                        fallback_id = id,
                        "fallback recorded"
                    );
                }
                FallbackRecorded::NotDue => {}
            }
        }
        if recorded > 0 {
            crate::telemetry::fallbacks(recorded as u64);
            self.inner.wake.notify_one();
        }
        Ok(recorded)
    }
}
