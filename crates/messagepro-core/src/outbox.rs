//! The delivery engine: what an outbox job holds ([`Payload`]: everything needed to replay the
//! send), how one job is dispatched and its outcome recorded; the [`crate::Worker`] claims jobs.
//!
//! Dispatch of one job: claim (lease + message `sending`, committed) → for an OTP, arm the code
//! (its hash committed) → call Message Pro → record, only while the lease holds:
//!
//! | answer | message | job |
//! |---|---|---|
//! | accepted | `pending` / `sent` (+ platform id when returned) | done |
//! | refused by the platform, device offline | `failed` + reason | done |
//! | may have reached it (timeout after sending, dropped answer, HTML page) | `unknown` | done: reconciled, never resent |
//! | certainly did not leave (connection refused, DNS/TLS, connect timeout) | `queued` | ready again after backoff with jitter; `failed` after `max_attempts` |
//!
//! A job whose worker died stays `running` until its lease runs out; [`Core::expire_leases`]
//! then makes its message `unknown` for reconciliation. The queue itself is in the store
//! (`messagepro_store::outbox`); this module is written by hand because no queue crate has the
//! `unknown` state (DESIGN.md).

use std::time::Duration;

use base64::Engine;
use messagepro::{
    DocumentSource, DocumentType, Gateway, MediaKind, MediaSource, OtpChannel, Phone, SendSms,
    SendWhatsApp, Sim, SmsRoute, WaContent, WaRecipient,
};
use messagepro_store::{Finish, Job, Lease, MessageStatus, StoreError};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::send::{SendChannel, SendRequest};
use crate::{Core, FailCause};

/// An SMS route as stored in a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum RouteSpec {
    Devices {
        device: String,
        sim: u8,
        priority: bool,
    },
    Credits {
        gateway: String,
    },
}

impl RouteSpec {
    pub fn of(r: &SmsRoute) -> RouteSpec {
        match r {
            SmsRoute::Devices {
                device,
                sim,
                priority,
            } => RouteSpec::Devices {
                device: device.clone(),
                sim: sim.number(),
                priority: *priority,
            },
            SmsRoute::Credits { gateway } => RouteSpec::Credits {
                gateway: match gateway {
                    Gateway::Id(id) => id.to_string(),
                    Gateway::Partner(p) => p.clone(),
                },
            },
        }
    }
    pub fn route(&self) -> SmsRoute {
        match self {
            RouteSpec::Devices {
                device,
                sim,
                priority,
            } => SmsRoute::Devices {
                device: device.clone(),
                sim: Sim::from_number(i64::from(*sim)),
                priority: *priority,
            },
            RouteSpec::Credits { gateway } => SmsRoute::Credits {
                gateway: Gateway::parse(gateway),
            },
        }
    }
}

/// WhatsApp content as stored in a job (uploaded files are kept, base64, so a retry resends
/// the same bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentSpec {
    Text {
        text: String,
    },
    MediaUrl {
        caption: String,
        url: String,
        kind: MediaKind,
    },
    MediaFile {
        caption: String,
        name: String,
        base64: String,
    },
    DocumentUrl {
        caption: String,
        url: String,
        kind: DocumentType,
        name: Option<String>,
    },
    DocumentFile {
        caption: String,
        name: String,
        base64: String,
    },
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
fn unb64(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

impl ContentSpec {
    pub fn of(c: &WaContent) -> ContentSpec {
        match c {
            WaContent::Text(t) => ContentSpec::Text { text: t.clone() },
            WaContent::Media { caption, source } => match source {
                MediaSource::Url { url, kind } => ContentSpec::MediaUrl {
                    caption: caption.clone(),
                    url: url.clone(),
                    kind: *kind,
                },
                MediaSource::File { name, bytes } => ContentSpec::MediaFile {
                    caption: caption.clone(),
                    name: name.clone(),
                    base64: b64(bytes),
                },
            },
            WaContent::Document { caption, source } => match source {
                DocumentSource::Url { url, kind, name } => ContentSpec::DocumentUrl {
                    caption: caption.clone(),
                    url: url.clone(),
                    kind: *kind,
                    name: name.clone(),
                },
                DocumentSource::File { name, bytes } => ContentSpec::DocumentFile {
                    caption: caption.clone(),
                    name: name.clone(),
                    base64: b64(bytes),
                },
            },
        }
    }
    pub fn content(&self) -> Option<WaContent> {
        Some(match self {
            ContentSpec::Text { text } => WaContent::Text(text.clone()),
            ContentSpec::MediaUrl { caption, url, kind } => WaContent::Media {
                caption: caption.clone(),
                source: MediaSource::Url {
                    url: url.clone(),
                    kind: *kind,
                },
            },
            ContentSpec::MediaFile {
                caption,
                name,
                base64,
            } => WaContent::Media {
                caption: caption.clone(),
                source: MediaSource::File {
                    name: name.clone(),
                    bytes: unb64(base64)?,
                },
            },
            ContentSpec::DocumentUrl {
                caption,
                url,
                kind,
                name,
            } => WaContent::Document {
                caption: caption.clone(),
                source: DocumentSource::Url {
                    url: url.clone(),
                    kind: *kind,
                    name: name.clone(),
                },
            },
            ContentSpec::DocumentFile {
                caption,
                name,
                base64,
            } => WaContent::Document {
                caption: caption.clone(),
                source: DocumentSource::File {
                    name: name.clone(),
                    bytes: unb64(base64)?,
                },
            },
        })
    }
}

/// How an OTP goes out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum OtpVia {
    Sms { route: RouteSpec },
    Whatsapp { account: String, priority: bool },
}

impl OtpVia {
    pub fn of(c: &OtpChannel) -> OtpVia {
        match c {
            OtpChannel::Sms { route } => OtpVia::Sms {
                route: RouteSpec::of(route),
            },
            OtpChannel::WhatsApp { account, priority } => OtpVia::Whatsapp {
                account: account.clone(),
                priority: *priority,
            },
        }
    }
}

/// Everything a worker needs to (re)play a send. Never holds an OTP code: the worker draws
/// the code when it sends and stores only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Payload {
    Sms {
        to: String,
        text: String,
        route: RouteSpec,
        /// A campaign's message: quiet hours apply, and it queues behind the campaign's pace.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        promotional: bool,
    },
    Whatsapp {
        to: String,
        account: String,
        content: ContentSpec,
        priority: bool,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        promotional: bool,
    },
    Otp {
        to: String,
        /// Text with `{{otp}}`.
        template: String,
        otp_id: i64,
        lifetime_s: u32,
        channel: OtpVia,
    },
}

impl Payload {
    pub fn from_request(req: &SendRequest) -> Payload {
        let to = req.recipient.e164().to_owned();
        match &req.channel {
            SendChannel::Sms { route } => Payload::Sms {
                to,
                text: req.text.clone(),
                route: RouteSpec::of(route),
                promotional: false,
            },
            SendChannel::WhatsApp {
                account,
                content,
                priority,
            } => Payload::Whatsapp {
                to,
                account: account.clone(),
                content: ContentSpec::of(content),
                priority: *priority,
                promotional: false,
            },
        }
    }

    /// The same send, as a campaign's (promotional) message.
    pub fn promotional(mut self) -> Payload {
        match &mut self {
            Payload::Sms { promotional, .. } | Payload::Whatsapp { promotional, .. } => {
                *promotional = true
            }
            Payload::Otp { .. } => {}
        }
        self
    }

    /// Whether quiet hours and the campaign pace apply.
    pub fn is_promotional(&self) -> bool {
        matches!(
            self,
            Payload::Sms {
                promotional: true,
                ..
            } | Payload::Whatsapp {
                promotional: true,
                ..
            }
        )
    }

    /// The recipient (E.164).
    pub fn to(&self) -> &str {
        match self {
            Payload::Sms { to, .. } | Payload::Whatsapp { to, .. } | Payload::Otp { to, .. } => to,
        }
    }
}

/// What dispatching one job did.
#[derive(Debug)]
pub enum Dispatched {
    /// Recorded `pending`, `sent` or `unknown`.
    Done {
        status: MessageStatus,
        platform_message: Option<String>,
    },
    /// Recorded `failed` (reason stored).
    Failed(FailCause),
    /// Certainly not sent; the job is ready again later.
    Retrying(FailCause),
    /// The lease was lost (expired, taken over): nothing recorded by this worker.
    LeaseLost,
    /// Not sent yet by policy (quiet hours, pacing): ready again at `run_at_ms`.
    Deferred {
        run_at_ms: i64,
        reason: &'static str,
    },
}

/// How a dispatched job ends, decided after the call and recorded in a batch.
#[derive(Debug)]
pub(crate) struct Decision {
    lease: Lease,
    finish: Finish,
    outcome: Dispatched,
    revoke_otp: Option<i64>,
}

impl Decision {
    /// A claimed job given back unsent (a worker shutting down).
    pub(crate) fn release(job: Job) -> Decision {
        Decision {
            lease: job.lease(),
            finish: Finish::Release,
            outcome: Dispatched::LeaseLost,
            revoke_otp: None,
        }
    }
}

/// The platform's answer to one call: status, platform id, platform message.
pub(crate) type CallResult = Result<(MessageStatus, Option<String>, Option<String>), FailCause>;

/// Sends one SMS and reads the receipt (`sent` when a gateway sent it at once).
pub(crate) async fn send_sms(client: &messagepro::Client, req: &SendSms) -> CallResult {
    let r = client.send_sms(req).await?;
    let status = if r.is_sent_immediately() {
        MessageStatus::Sent
    } else {
        MessageStatus::Pending
    };
    Ok((status, r.message_id.map(|i| i.to_string()), Some(r.message)))
}

/// Sends one chat and reads the receipt (`sent` for a priority chat pushed at once; the chat id
/// when the build returns one).
pub(crate) async fn send_chat(client: &messagepro::Client, req: &SendWhatsApp) -> CallResult {
    let r = client.send_whatsapp(req).await?;
    let status = if r.message.contains("has been sent") {
        MessageStatus::Sent
    } else {
        MessageStatus::Pending
    };
    Ok((status, r.message_id.map(|i| i.to_string()), Some(r.message)))
}

impl Core {
    /// Claims the given job (if still ready) under a one-off worker id and dispatches it.
    pub(crate) async fn dispatch_job_id(
        &self,
        job_id: i64,
    ) -> Result<Option<Dispatched>, StoreError> {
        let worker = format!("inline-{}", std::process::id());
        let lease_ms = self.inner.settings.lease.as_millis() as i64;
        let Some(job) = self
            .inner
            .store
            .claim_job(job_id, &worker, lease_ms, self.now_ms())
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(self.dispatch(&job).await?))
    }

    /// Sends one claimed job and records the outcome under its lease.
    pub async fn dispatch(&self, job: &Job) -> Result<Dispatched, StoreError> {
        let d = self.decide(job).await;
        Ok(self
            .record_outcomes(vec![d])
            .await?
            .pop()
            .unwrap_or(Dispatched::LeaseLost))
    }

    /// Calls the platform for a claimed job and decides how it ends (nothing recorded yet).
    #[tracing::instrument(skip_all, fields(job = job.id, message = job.message_id, attempt = job.attempt))]
    pub(crate) async fn decide(&self, job: &Job) -> Decision {
        let lease = job.lease();
        let payload = serde_json::from_str::<Payload>(&job.payload);
        let otp_id = match &payload {
            Ok(Payload::Otp { otp_id, .. }) => Some(*otp_id),
            _ => None,
        };
        let gate = match &payload {
            Ok(p) => self.gate(p, job.suppressed).await,
            Err(_) => crate::policy::Gate::Go,
        };
        match gate {
            crate::policy::Gate::Go => {}
            crate::policy::Gate::Skip(reason) => {
                tracing::info!(reason, "not sent: policy");
                if let Ok(p) = &payload {
                    crate::telemetry::send(crate::telemetry::channel(p), "skipped");
                }
                return Decision {
                    lease,
                    finish: Finish::Complete {
                        status: MessageStatus::Skipped,
                        platform_id: None,
                        platform_message: Some(reason.to_owned()),
                    },
                    outcome: Dispatched::Done {
                        status: MessageStatus::Skipped,
                        platform_message: Some(reason.to_owned()),
                    },
                    revoke_otp: otp_id,
                };
            }
            crate::policy::Gate::Defer { run_at_ms, reason } => {
                tracing::debug!(reason, run_at_ms, "waits: policy");
                if let Ok(p) = &payload {
                    crate::telemetry::send(crate::telemetry::channel(p), "deferred");
                }
                return Decision {
                    lease,
                    finish: Finish::Defer {
                        run_at_ms,
                        reason: reason.to_owned(),
                    },
                    outcome: Dispatched::Deferred { run_at_ms, reason },
                    revoke_otp: None,
                };
            }
        }
        let label = payload
            .as_ref()
            .map_or("unknown", crate::telemetry::channel);
        let started = std::time::Instant::now();
        let result = match &payload {
            Ok(p) => self.call(p, &lease).await,
            Err(_) => Err(FailCause::BadPayload),
        };
        crate::telemetry::platform_call(label, started.elapsed().as_secs_f64());
        let now = self.now_ms();
        let (finish, outcome, revoke_otp) = match result {
            Ok((status, platform_id, platform_message)) => {
                tracing::info!(status = %status, "send accepted by the platform");
                (
                    Finish::Complete {
                        status,
                        platform_id,
                        platform_message: platform_message.clone(),
                    },
                    Dispatched::Done {
                        status,
                        platform_message,
                    },
                    None,
                )
            }
            Err(FailCause::Platform(e)) if e.is_ambiguous() => {
                tracing::warn!(error = %e, "send outcome unknown: will reconcile");
                (
                    Finish::Complete {
                        status: MessageStatus::Unknown,
                        platform_id: None,
                        platform_message: None,
                    },
                    Dispatched::Done {
                        status: MessageStatus::Unknown,
                        platform_message: None,
                    },
                    None,
                )
            }
            Err(FailCause::Platform(e))
                if e.is_certainly_not_sent() && job.attempt < job.max_attempts =>
            {
                let delay = self.backoff(job.attempt);
                tracing::info!(error = %e, delay_ms = delay.as_millis() as u64, "not sent: retry later");
                let error = format!("send.error.{}", crate::error::platform_error_code(&e));
                (
                    Finish::Retry {
                        run_at_ms: now + delay.as_millis() as i64,
                        error,
                    },
                    Dispatched::Retrying(FailCause::Platform(e)),
                    None,
                )
            }
            Err(cause) => {
                let stored = cause.stored();
                tracing::info!(reason = %stored, "send failed");
                (
                    Finish::Complete {
                        status: MessageStatus::Failed,
                        platform_id: None,
                        platform_message: Some(stored),
                    },
                    Dispatched::Failed(cause),
                    otp_id,
                )
            }
        };
        let result_label = match &outcome {
            Dispatched::Done { status, .. } => status.as_str(),
            Dispatched::Failed(_) => "failed",
            Dispatched::Retrying(_) => "retrying",
            Dispatched::Deferred { .. } => "deferred",
            Dispatched::LeaseLost => "lease_lost",
        };
        crate::telemetry::send(label, result_label);
        Decision {
            lease,
            finish,
            outcome,
            revoke_otp,
        }
    }

    /// Records decisions in one transaction, each only while its lease holds, and in the same
    /// transaction claims up to `claim` ready jobs for `worker` (one commit for a worker's turn).
    /// Says which leases held, and returns the claimed jobs. The batch is left intact, so the
    /// worker can retry it after a transient error.
    pub(crate) async fn record_and_claim(
        &self,
        ds: &[Decision],
        worker: &str,
        claim: usize,
    ) -> Result<(Vec<bool>, Vec<Job>), StoreError> {
        let store = &self.inner.store;
        let now = self.now_ms();
        let items: Vec<(Lease, Finish)> = ds
            .iter()
            .map(|d| (d.lease.clone(), d.finish.clone()))
            .collect();
        let lease_ms = self.inner.settings.lease.as_millis() as i64;
        let (kept, jobs) = store
            .finish_and_claim(&items, worker, claim as i64, lease_ms, now)
            .await?;
        for (d, ok) in ds.iter().zip(&kept) {
            if !ok {
                tracing::warn!(
                    job = d.lease.job_id,
                    "lease lost before the outcome was recorded"
                );
            } else if let Some(id) = d.revoke_otp {
                store.otp_revoke(id, now).await?;
            }
        }
        Ok((kept, jobs))
    }

    /// Records decisions (see [`Core::record_and_claim`]) and returns each outcome.
    pub(crate) async fn record_outcomes(
        &self,
        ds: Vec<Decision>,
    ) -> Result<Vec<Dispatched>, StoreError> {
        let (kept, _) = self.record_and_claim(&ds, "", 0).await?;
        Ok(ds
            .into_iter()
            .zip(kept)
            .map(|(d, ok)| if ok { d.outcome } else { Dispatched::LeaseLost })
            .collect())
    }

    /// Exponential backoff with ±20 % jitter: base × 2^(attempt-1), capped.
    fn backoff(&self, attempt: i64) -> Duration {
        let s = &self.inner.settings;
        let exp = s
            .retry_base
            .saturating_mul(1u32 << (attempt.clamp(1, 20) - 1) as u32)
            .min(s.retry_max);
        let jitter: f64 = rand::rng().random_range(0.8..1.2);
        exp.mul_f64(jitter)
    }

    async fn call(&self, p: &Payload, lease: &Lease) -> CallResult {
        let country = self.inner.platform.default_country().to_owned();
        let phone = |to: &str| {
            Phone::parse(to, &country)
                .map_err(|e| FailCause::Platform(messagepro::Error::InvalidInput(e.to_string())))
        };
        let client = &self.inner.platform;
        match p {
            Payload::Sms {
                to, text, route, ..
            } => {
                let route = route.route();
                self.check_device(&route).await?;
                send_sms(client, &SendSms::new(phone(to)?, text.clone(), route)).await
            }
            Payload::Whatsapp {
                to,
                account,
                content,
                priority,
                ..
            } => {
                let content = content.content().ok_or(FailCause::BadPayload)?;
                let mut w =
                    SendWhatsApp::new(account.clone(), WaRecipient::Phone(phone(to)?), content);
                w.priority = *priority;
                send_chat(client, &w).await
            }
            Payload::Otp {
                to,
                template,
                otp_id,
                lifetime_s,
                channel,
            } => {
                self.send_otp_code(phone(to)?, template, *otp_id, *lifetime_s, channel, lease)
                    .await
            }
        }
    }
}
