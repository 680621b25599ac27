//! Pacing: how fast one SMS device + SIM or one WhatsApp account may send, shared by every
//! worker process through the store's `pacing` rows (a conditional `UPDATE` takes a slot, so
//! two processes never both take it).
//!
//! - **Key**: `sms:<device>:<sim>` for an own device, `wa:<account>` for WhatsApp; credits
//!   (gateways, partners) are not paced — the platform paces them.
//! - **Interval**: SMS, [`super::Rate::interval_ms`] of the configured rate; a WhatsApp
//!   *campaign's* chat, a random gap in the configured range (single chats are not gapped).
//! - **Daily cap**: the device's own limit when the platform reports a daily one
//!   (`limit_status`, `limit_interval = daily`, `limit_number`), else the configured cap.
//! - **Waiting**: a transactional message that finds the slot taken waits for the next slot; a
//!   campaign's message is placed at the key's *horizon* (the end of the line), which then moves
//!   on by one interval — so a backlog is spread once instead of every waiting job retrying at
//!   every slot. A campaign is also spread when it is accepted
//!   ([`crate::Core::campaign_offsets`]), so it rarely waits at all.

use std::time::Duration;

use messagepro_store::PaceDecision;
use rand::Rng;

use super::Gate;
use crate::Core;
use crate::outbox::{Payload, RouteSpec};

/// One message's pacing: its key, the gap it takes, its daily cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Paced {
    pub key: String,
    pub interval_ms: i64,
    pub cap: Option<i64>,
    pub promotional: bool,
}

fn random_gap((lo, hi): (Duration, Duration)) -> i64 {
    let (lo, hi) = (lo.as_millis() as i64, hi.as_millis() as i64);
    if hi <= lo {
        lo
    } else {
        rand::rng().random_range(lo..=hi)
    }
}

impl Core {
    /// The pacing of a payload, `None` when it is not paced.
    pub(crate) async fn pace_of(&self, p: &Payload) -> Option<Paced> {
        let policy = &self.inner.settings.policy;
        match p {
            Payload::Sms {
                route: RouteSpec::Devices { device, sim, .. },
                promotional,
                ..
            } => {
                let rate = policy.sms_rate?;
                let cap = self
                    .device_daily_limit(device)
                    .await
                    .or(policy.sms_daily_cap);
                Some(Paced {
                    key: format!("sms:{device}:{sim}"),
                    interval_ms: rate.interval_ms(),
                    cap,
                    promotional: *promotional,
                })
            }
            Payload::Whatsapp {
                account,
                promotional: true,
                ..
            } => Some(Paced {
                key: format!("wa:{account}"),
                interval_ms: random_gap(policy.wa_campaign_gap?),
                cap: None,
                promotional: true,
            }),
            _ => None,
        }
    }

    /// The daily limit the platform reports for an own device, if any (cached device list).
    async fn device_daily_limit(&self, device: &str) -> Option<i64> {
        let devices = self.devices_cached().await?;
        let d = devices.iter().find(|d| d.unique == device)?;
        (d.limit_status && d.limit_interval.eq_ignore_ascii_case("daily") && d.limit_number > 0)
            .then_some(d.limit_number as i64)
    }

    /// Takes the slot of `paced` now, or says when to try again.
    pub(crate) async fn take_pace(
        &self,
        paced: &Paced,
    ) -> Result<Gate, messagepro_store::StoreError> {
        let store = &self.inner.store;
        let now = self.now_ms();
        Ok(
            match store
                .pace_take(&paced.key, paced.interval_ms, paced.cap, now)
                .await?
            {
                PaceDecision::Go => Gate::Go,
                PaceDecision::CapReached { day } => Gate::Defer {
                    // the next UTC day, spread over its first minutes
                    run_at_ms: (day + 1) * 86_400_000 + rand::rng().random_range(0..600_000),
                    reason: "daily cap",
                },
                PaceDecision::Wait {
                    next_ms,
                    horizon_ms,
                } => {
                    let run_at_ms = if paced.promotional {
                        let at = next_ms.max(horizon_ms);
                        store
                            .pace_push_horizon(&paced.key, at + paced.interval_ms)
                            .await?;
                        at
                    } else {
                        next_ms
                    };
                    Gate::Defer {
                        run_at_ms,
                        reason: "pacing",
                    }
                }
            },
        )
    }

    /// When each of `n` recipients of a campaign is due, as offsets from its start: one
    /// interval apart on a paced device, one random gap apart on WhatsApp, all at once
    /// otherwise. The last offset is the estimated duration.
    pub fn campaign_offsets(&self, channel: &crate::SendChannel, n: usize) -> Vec<i64> {
        let policy = &self.inner.settings.policy;
        let step: Box<dyn Fn() -> i64> = match channel {
            crate::SendChannel::Sms {
                route: messagepro::SmsRoute::Devices { .. },
            } => match policy.sms_rate {
                Some(r) => {
                    let i = r.interval_ms();
                    Box::new(move || i)
                }
                None => Box::new(|| 0),
            },
            crate::SendChannel::WhatsApp { .. } => match policy.wa_campaign_gap {
                Some(g) => Box::new(move || random_gap(g)),
                None => Box::new(|| 0),
            },
            _ => Box::new(|| 0),
        };
        let mut at = 0;
        (0..n)
            .map(|k| {
                if k > 0 {
                    at += step();
                }
                at
            })
            .collect()
    }
}
