//! One-time codes as a service with its own table (`otp_codes`), for every entry point.
//!
//! - The code is drawn by this process from a CSPRNG (`rand::rng()`, ChaCha12 seeded by the
//!   OS) when the worker sends it — never by the platform, never stored: only
//!   HMAC-SHA256(key, id ‖ phone ‖ purpose ‖ code) is, spelt in the letters `a`–`p` so no run of
//!   digits (a code) can appear in the database. It goes out as an ordinary SMS or WhatsApp
//!   chat through the outbox; a retry after a failure that certainly did not leave draws a new
//!   code and replaces the hash.
//! - A code is bound to phone + purpose, lives at most 10 minutes, allows [`MAX_ATTEMPTS`]
//!   verifications (each reserved atomically before the comparison), is single use, and is
//!   replaced (revoked) by the next code sent for the same phone and purpose.
//! - Sending is limited atomically: [`RESEND_COOLDOWN_S`] between codes to one phone and
//!   purpose, [`PER_PHONE_PER_HOUR`] per phone, [`PER_IP_PER_HOUR`] per client IP.
//! - The platform's `verify/otp` (code only, bound to nothing) is not used.

use hmac::Mac;
use messagepro::{OtpChannel, Phone, SendSms, SendWhatsApp, WaContent, WaRecipient};
use messagepro_store::{Channel, Lease, MessageStatus, NewMessage, OtpAttempt};
use rand::Rng;
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::outbox::{CallResult, OtpVia, Payload, send_chat, send_sms};
use crate::permissions::Permission;
use crate::send::{Accepted, SendOutcome, otp_route_json, segments_of};
use crate::{Actor, Core, FailCause, SendError};

/// Longest lifetime of a code, seconds.
pub const MAX_LIFETIME_S: u32 = 600;
/// Shortest lifetime of a code, seconds.
pub const MIN_LIFETIME_S: u32 = 30;
/// Wrong codes accepted before the code is locked.
pub const MAX_ATTEMPTS: i64 = 5;
/// Seconds between two codes to the same phone and purpose.
pub const RESEND_COOLDOWN_S: i64 = 30;
/// Codes per phone per hour.
pub const PER_PHONE_PER_HOUR: i64 = 10;
/// Codes per client IP per hour.
pub const PER_IP_PER_HOUR: i64 = 30;
/// Longest OTP message.
pub const MAX_TEMPLATE: usize = 500;

/// A code to send.
#[derive(Debug, Clone)]
pub struct OtpRequest {
    pub phone: Phone,
    /// What the code proves (`login`, `signup`, `console`…): a code verifies only for it.
    pub purpose: String,
    /// Text with `{{otp}}` (spaces allowed inside the braces).
    pub template: String,
    pub channel: OtpChannel,
    /// Seconds, [`MIN_LIFETIME_S`]..=[`MAX_LIFETIME_S`].
    pub lifetime_s: u32,
}

/// Why a code did not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    /// Wrong code; `left` attempts remain on the current code.
    #[error("wrong code")]
    Invalid { left: i64 },
    /// Too many wrong codes: a new code must be sent.
    #[error("too many attempts")]
    Locked,
    /// No live code for this phone and purpose (never sent, expired, used or replaced).
    #[error("no code to verify")]
    NoCode,
    #[error("forbidden")]
    Forbidden,
    #[error("storage: {0}")]
    Store(String),
}

impl VerifyError {
    /// The machine code (`otp_invalid`, `otp_locked`, `otp_missing`, …).
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::Invalid { .. } => "otp_invalid",
            VerifyError::Locked => "otp_locked",
            VerifyError::NoCode => "otp_missing",
            VerifyError::Forbidden => "forbidden",
            VerifyError::Store(_) => "internal",
        }
    }
}

/// Whether `template` holds the `{{otp}}` placeholder.
pub fn has_placeholder(template: &str) -> bool {
    placeholder(template).is_some()
}

/// Byte range of `{{ otp }}` in `template`.
fn placeholder(template: &str) -> Option<(usize, usize)> {
    let start = template.find("{{")?;
    let end = start + template[start..].find("}}")? + 2;
    (template[start + 2..end - 2].trim() == "otp").then_some((start, end))
}

fn render(template: &str, code: &str) -> String {
    match placeholder(template) {
        Some((a, b)) => format!("{}{}{}", &template[..a], code, &template[b..]),
        None => template.to_owned(),
    }
}

impl Core {
    fn code_hash(&self, otp_id: i64, phone: &str, purpose: &str, code: &str) -> String {
        let mut mac =
            hmac::Hmac::<sha2::Sha256>::new_from_slice(self.inner.settings.otp_key.expose_secret())
                .expect("HMAC takes any key length");
        mac.update(format!("{otp_id}\n{phone}\n{purpose}\n{}", code.trim()).as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .flat_map(|b| [b >> 4, b & 0x0f])
            .map(|n| (b'a' + n) as char)
            .collect()
    }

    /// Accepts a code to send (limits checked atomically, then message + job + audit in one
    /// transaction) and dispatches it at once like [`Core::submit`].
    #[tracing::instrument(skip_all)]
    pub async fn otp_send(&self, actor: &Actor, req: OtpRequest) -> Result<SendOutcome, SendError> {
        let a = self.otp_record(actor, &req, true, None).await?;
        let out = self.dispatch_now(a).await;
        if let Err(SendError::Failed { .. }) = &out {
            // a code that certainly did not go out does not hold the phone back
            let purpose = req.purpose.trim();
            let phone = req.phone.e164();
            let store = &self.inner.store;
            store
                .rate_undo(&format!("otp:cooldown:{phone}:{purpose}"))
                .await?;
            store.rate_undo(&format!("otp:phone:{phone}")).await?;
        }
        out
    }

    /// Accepts a code to send without waiting for it (the integration API); `idempotency`:
    /// the request's key, marked done in the transaction of the message and its job.
    pub async fn otp_accept(
        &self,
        actor: &Actor,
        req: &OtpRequest,
        idempotency: Option<messagepro_store::IdemDone<'_>>,
    ) -> Result<Accepted, SendError> {
        let a = self.otp_record(actor, req, false, idempotency).await?;
        self.inner.wake.notify_one();
        Ok(a)
    }

    async fn otp_record(
        &self,
        actor: &Actor,
        req: &OtpRequest,
        inline: bool,
        idempotency: Option<messagepro_store::IdemDone<'_>>,
    ) -> Result<Accepted, SendError> {
        if !actor.can(Permission::SendOtp) {
            return Err(SendError::Forbidden);
        }
        if !has_placeholder(&req.template) {
            return Err(SendError::Invalid("otp_placeholder"));
        }
        if req.template.chars().count() > MAX_TEMPLATE {
            return Err(SendError::Invalid("otp_template_too_long"));
        }
        if !(MIN_LIFETIME_S..=MAX_LIFETIME_S).contains(&req.lifetime_s) {
            return Err(SendError::Invalid("otp_lifetime"));
        }
        let purpose = req.purpose.trim();
        if purpose.is_empty() || purpose.len() > 64 {
            return Err(SendError::Invalid("otp_purpose"));
        }
        let store = &self.inner.store;
        let now = self.now_ms();
        let phone = req.phone.e164();
        const HOUR: i64 = 3_600_000;
        // the cooldown first: 20 concurrent sends inside it get exactly one through
        let cool_key = format!("otp:cooldown:{phone}:{purpose}");
        let phone_key = format!("otp:phone:{phone}");
        let cool = store
            .rate_hit(&cool_key, i64::MAX, HOUR, RESEND_COOLDOWN_S * 1000, now)
            .await?;
        if !cool.allowed {
            return Err(SendError::RateLimited {
                retry_after_ms: cool.retry_after_ms,
            });
        }
        let per_phone = store
            .rate_hit(&phone_key, PER_PHONE_PER_HOUR, HOUR, 0, now)
            .await?;
        if !per_phone.allowed {
            store.rate_undo(&cool_key).await?;
            return Err(SendError::RateLimited {
                retry_after_ms: per_phone.retry_after_ms,
            });
        }
        // per client IP for console users; an API token's IP is its server's (one ERP for
        // all its customers), so integration callers are held by the per-phone limits and the
        // token's own rate instead
        if let (Actor::User { .. }, Some(ip)) = (actor, actor.ip()) {
            let per_ip = store
                .rate_hit(&format!("otp:ip:{ip}"), PER_IP_PER_HOUR, HOUR, 0, now)
                .await?;
            if !per_ip.allowed {
                // refused: this phone is not held back by an attempt that did not happen
                store.rate_undo(&cool_key).await?;
                store.rate_undo(&phone_key).await?;
                return Err(SendError::RateLimited {
                    retry_after_ms: per_ip.retry_after_ms,
                });
            }
        }
        let lifetime_ms = i64::from(req.lifetime_s) * 1000;
        let otp_id = store
            .otp_create(phone, purpose, now + lifetime_ms, now)
            .await?;
        let payload = Payload::Otp {
            to: phone.to_owned(),
            template: req.template.clone(),
            otp_id,
            lifetime_s: req.lifetime_s,
            channel: OtpVia::of(&req.channel),
        };
        let message = NewMessage {
            channel: Channel::Otp,
            recipient: phone.to_owned(),
            text: req.template.clone(),
            route: otp_route_json(&req.channel),
            status: MessageStatus::Queued,
            segments: segments_of(Channel::Otp, &render(&req.template, "000000")),
            created_by: actor.user_id(),
            campaign_id: None,
        };
        let run_at = if inline {
            self.inline_deadline(now)
        } else {
            now
        };
        let job = self.new_job(&payload, run_at);
        let mut audit = self.audit(actor, "otp.send", phone);
        audit.detail = Some(format!("purpose={purpose} lifetime={}s", req.lifetime_s));
        let Some(idem) = idempotency else {
            let (message_id, job_id) = store.enqueue_message(&message, &job, &audit, now).await?;
            return Ok(Accepted { message_id, job_id });
        };
        let guard = messagepro_store::Guard {
            idempotency: Some(idem),
            event: None,
        };
        let item = messagepro_store::GuardedMessage {
            message,
            job: Some(job),
            skip_reason: None,
            fallback: None,
        };
        match store.enqueue_guarded(&[item], &audit, &guard, now).await? {
            messagepro_store::Guarded::Recorded { messages, jobs } => Ok(Accepted {
                message_id: messages.first().copied().unwrap_or_default(),
                job_id: jobs.first().copied().flatten().unwrap_or_default(),
            }),
            messagepro_store::Guarded::DuplicateEvent(_) => Err(SendError::Invalid("duplicate")),
        }
    }

    /// The worker's half: draw the code, commit its hash, send the rendered text.
    pub(crate) async fn send_otp_code(
        &self,
        phone: Phone,
        template: &str,
        otp_id: i64,
        lifetime_s: u32,
        via: &OtpVia,
        lease: &Lease,
    ) -> CallResult {
        if let OtpVia::Sms { route } = via {
            self.check_device(&route.route()).await?;
        }
        let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
        let purpose = self.otp_purpose(otp_id).await.unwrap_or_default();
        let hash = self.code_hash(otp_id, phone.e164(), &purpose, &code);
        let now = self.now_ms();
        let armed = self
            .inner
            .store
            .otp_arm(
                otp_id,
                lease.message_id,
                &hash,
                now + i64::from(lifetime_s) * 1000,
                now,
            )
            .await
            .unwrap_or(false);
        if !armed {
            return Err(FailCause::BadPayload);
        }
        let text = render(template, &code);
        drop(code);
        let client = &self.inner.platform;
        match via {
            OtpVia::Sms { route } => {
                send_sms(client, &SendSms::new(phone, text, route.route())).await
            }
            OtpVia::Whatsapp { account, priority } => {
                let mut w = SendWhatsApp::new(
                    account.clone(),
                    WaRecipient::Phone(phone),
                    WaContent::Text(text),
                );
                w.priority = *priority;
                send_chat(client, &w).await
            }
        }
    }

    async fn otp_purpose(&self, otp_id: i64) -> Option<String> {
        self.inner.store.otp_purpose(otp_id).await.ok().flatten()
    }

    /// Checks a code typed for `phone` + `purpose`. Each call uses one attempt, reserved
    /// before the comparison; a right code is consumed (single use).
    #[tracing::instrument(skip_all)]
    pub async fn otp_verify(
        &self,
        actor: &Actor,
        phone: &Phone,
        purpose: &str,
        code: &str,
    ) -> Result<(), VerifyError> {
        if !actor.can(Permission::SendOtp) {
            return Err(VerifyError::Forbidden);
        }
        let store = &self.inner.store;
        let now = self.now_ms();
        let purpose = purpose.trim();
        let attempt = store
            .otp_attempt(phone.e164(), purpose, MAX_ATTEMPTS, now)
            .await
            .map_err(|e| VerifyError::Store(e.to_string()))?;
        let result = match attempt {
            OtpAttempt::NoCode => Err(VerifyError::NoCode),
            OtpAttempt::Locked => Err(VerifyError::Locked),
            OtpAttempt::Reserved {
                id,
                code_hash,
                attempts,
            } => {
                let typed = self.code_hash(id, phone.e164(), purpose, code);
                let same = typed.len() == code_hash.len()
                    && bool::from(typed.as_bytes().ct_eq(code_hash.as_bytes()));
                if same
                    && store
                        .otp_consume(id, now)
                        .await
                        .map_err(|e| VerifyError::Store(e.to_string()))?
                {
                    Ok(())
                } else {
                    Err(VerifyError::Invalid {
                        left: (MAX_ATTEMPTS - attempts).max(0),
                    })
                }
            }
        };
        let mut audit = self.audit(actor, "otp.verify", phone.e164());
        audit.outcome = if result.is_ok() {
            messagepro_store::Outcome::Success
        } else {
            messagepro_store::Outcome::Failure
        };
        audit.detail = Some(match &result {
            Ok(()) => format!("purpose={purpose} verified"),
            Err(e) => format!("purpose={purpose} {}", e.code()),
        });
        store
            .audit(&audit)
            .await
            .map_err(|e| VerifyError::Store(e.to_string()))?;
        result
    }

    /// Seconds before another code may be sent to `phone` for `purpose` (0: now).
    pub async fn otp_cooldown_left(&self, phone: &Phone, purpose: &str) -> Result<i64, SendError> {
        let left = self
            .inner
            .store
            .rate_cooldown_left(
                &format!("otp:cooldown:{}:{}", phone.e164(), purpose.trim()),
                RESEND_COOLDOWN_S * 1000,
                self.now_ms(),
            )
            .await?;
        Ok((left + 999) / 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_placeholder_may_hold_spaces() {
        assert!(has_placeholder("Code : {{otp}}"));
        assert!(has_placeholder("Code : {{ otp }}"));
        assert!(!has_placeholder("Code : {{code}}"));
        assert!(!has_placeholder("Code"));
        assert_eq!(render("Code {{ otp }}.", "123456"), "Code 123456.");
    }
}
