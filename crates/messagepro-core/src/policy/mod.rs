//! The send policy, applied in core to every entry point (console, CLI, integration API) and
//! checked again by the worker right before each send, so a rule that changes while a message
//! waits (an opt-out, the clock entering quiet hours) still holds:
//!
//! 1. **Opt-out** ([`suppression`]): a number on the suppression list is never sent to; its
//!    message is recorded `skipped` (`skip.opted_out`). OTP codes the recipient asked for are
//!    exempt ([`PolicySettings::otp_ignores_opt_out`]).
//! 2. **Quiet hours** ([`crate::quiet`]): a promotional message (a campaign's) whose recipient's
//!    local time is in the window waits, and leaves when the window opens. Transactional sends
//!    (a single message, an OTP) are exempt unless [`PolicySettings::quiet_for_transactional`].
//! 3. **Pacing** ([`pacing`]): per SMS device + SIM and per WhatsApp account, a rate shared by
//!    every worker process through the database (`messagepro_store` `pacing`), a random gap
//!    between a WhatsApp campaign's chats, and the device's daily cap when the platform reports
//!    one. A paced message waits; it is never dropped.
//!
//! The gate returns [`Gate`]; the worker turns it into the job's end (`skipped`, or ready again
//! later without counting an attempt).

pub mod pacing;
pub mod suppression;

use std::time::Duration;

use crate::quiet::QuietHours;

/// A rate: at most `count` sends per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub per: Duration,
}

impl Rate {
    pub fn per_minute(count: u32) -> Rate {
        Rate {
            count,
            per: Duration::from_secs(60),
        }
    }

    /// The spacing between two sends that keeps every window of `per` at `count` or fewer —
    /// with a margin of 2 % + 20 ms, because the platform counts the sends when they arrive,
    /// after a network delay that varies from one request to the next.
    pub fn interval_ms(&self) -> i64 {
        let exact = self.per.as_millis() as i64 / i64::from(self.count.max(1));
        exact + exact / 50 + 20
    }
}

/// The knobs of the policy (the console maps its configuration onto these).
#[derive(Debug, Clone)]
pub struct PolicySettings {
    /// The window in which promotional messages wait (default 21:00–08:00, recipient's time).
    pub quiet_hours: QuietHours,
    /// Apply quiet hours to transactional sends too (default `false`).
    pub quiet_for_transactional: bool,
    /// OTP codes are sent to opted-out numbers (the recipient asked for them; default `true`).
    pub otp_ignores_opt_out: bool,
    /// SMS rate per device and SIM (`None`: unpaced).
    pub sms_rate: Option<Rate>,
    /// SMS per device and SIM per UTC day when the device reports no daily limit (`None`: none).
    pub sms_daily_cap: Option<i64>,
    /// Random gap between two chats of a WhatsApp campaign on one account (`None`: none).
    pub wa_campaign_gap: Option<(Duration, Duration)>,
    /// How often the suppression list is synced with the platform (its unsubscribed list and
    /// the stop / start keywords in received SMS); `None`: never (tests call
    /// [`crate::Core::sync_suppressions_once`]).
    pub suppression_sync_every: Option<Duration>,
}

impl Default for PolicySettings {
    /// Quiet hours 21:00–08:00, OTP exempt from opt-out, no pacing, no periodic sync: the
    /// library's defaults. The console's configuration turns pacing and the sync on.
    fn default() -> Self {
        PolicySettings {
            quiet_hours: QuietHours::default(),
            quiet_for_transactional: false,
            otp_ignores_opt_out: true,
            sms_rate: None,
            sms_daily_cap: None,
            wa_campaign_gap: None,
            suppression_sync_every: None,
        }
    }
}

impl PolicySettings {
    /// No quiet hours and no pacing (opt-out still holds): load runs, crash harnesses and tests
    /// that are not about the policy.
    pub fn unrestricted() -> PolicySettings {
        PolicySettings {
            quiet_hours: QuietHours::disabled(),
            ..Default::default()
        }
    }
}

/// What the policy says of one message about to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// Send it now.
    Go,
    /// Never send it: recorded `skipped` with this reason code.
    Skip(&'static str),
    /// Not yet: ready again at `run_at_ms` (`reason` kept on the job).
    Defer {
        run_at_ms: i64,
        reason: &'static str,
    },
}

impl crate::Core {
    /// The policy's word on one message about to be sent (see the module doc for the order).
    /// `suppressed`: the claim found the recipient on the suppression list (the store checks
    /// a whole claimed batch in one statement, in the claim's transaction).
    pub(crate) async fn gate(&self, p: &crate::outbox::Payload, suppressed: bool) -> Gate {
        let policy = &self.inner.settings.policy;
        let is_otp = matches!(p, crate::outbox::Payload::Otp { .. });
        // 1. opt-out
        if suppressed && !(is_otp && policy.otp_ignores_opt_out) {
            return Gate::Skip("skip.opted_out");
        }
        // 2. quiet hours in the recipient's time zone
        if (p.is_promotional() || (policy.quiet_for_transactional && !is_otp))
            && !policy.quiet_hours.is_disabled()
        {
            let now = self.now_ms();
            let zones = crate::quiet::zones_of_e164(p.to());
            let open = policy.quiet_hours.next_allowed(&zones, now);
            if open > now {
                return Gate::Defer {
                    run_at_ms: open,
                    reason: "quiet hours",
                };
            }
        }
        // 3. pacing
        if let Some(paced) = self.pace_of(p).await {
            match self.take_pace(&paced).await {
                Ok(g) => return g,
                Err(e) => {
                    tracing::warn!(error = %e, "pacing unavailable: waiting a second");
                    return Gate::Defer {
                        run_at_ms: self.now_ms() + 1_000,
                        reason: "pacing",
                    };
                }
            }
        }
        Gate::Go
    }
}
