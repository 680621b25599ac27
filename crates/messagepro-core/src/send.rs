//! The send entry point of every channel. [`Core::accept`] records a send durably: the actor's
//! right for the channel is checked, then ONE transaction writes the message (`queued`), its
//! outbox job (the payload that replays it) and the audit entry — before any network call, so
//! nothing accepted is lost. The worker ([`crate::outbox`]) sends it.
//!
//! [`Core::submit`] is what the console uses: accept, then dispatch that very job at once on a
//! task of its own (a client that disconnects cannot cancel it), and wait up to
//! [`crate::CoreSettings::inline_wait`] for the outcome so the page can say « sent » or « device
//! offline » right away. If the wait runs out, or the process dies, the job is still in the
//! outbox and a worker finishes it; the integration API uses [`Core::accept`] alone.

use messagepro::{OtpChannel, Phone, SmsRoute, WaContent};
use messagepro_store::{
    Channel, Guarded, GuardedMessage, MessageStatus, NewAudit, NewJob, NewMessage, Outcome,
};
use serde_json::json;

use crate::outbox::{Dispatched, Payload};
use crate::permissions::Permission;
use crate::{Actor, Core, FailCause, SendError};

/// How a message leaves, with everything the platform needs for that channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendChannel {
    /// An SMS through an own device or paid credits.
    Sms {
        /// Device (unique id, SIM, priority) or credits (gateway / partner device).
        route: SmsRoute,
    },
    /// A WhatsApp chat from a linked account. [`SendRequest::text`] is what the history shows
    /// (the text, or the caption of a media/document); `content` is what is sent.
    WhatsApp {
        /// WhatsApp account unique id (`get_whatsapp_accounts` → `unique`).
        account: String,
        /// Text, media or document.
        content: WaContent,
        /// `true`: pushed now (failures reported synchronously); `false`: queued.
        priority: bool,
    },
}

impl SendChannel {
    /// The permission needed to send on this channel.
    pub fn permission(&self) -> Permission {
        match self {
            SendChannel::Sms { .. } => Permission::SendSms,
            SendChannel::WhatsApp { .. } => Permission::SendWhatsapp,
        }
    }

    /// The channel of the local record.
    pub fn store_channel(&self) -> Channel {
        match self {
            SendChannel::Sms { .. } => Channel::Sms,
            SendChannel::WhatsApp { .. } => Channel::Whatsapp,
        }
    }
}

/// One message to send, parsed at the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRequest {
    pub channel: SendChannel,
    /// The recipient, already normalised to E.164.
    pub recipient: Phone,
    /// The text (SMS, WhatsApp text or caption).
    pub text: String,
}

impl SendRequest {
    /// A single SMS.
    pub fn sms(recipient: Phone, text: impl Into<String>, route: SmsRoute) -> SendRequest {
        SendRequest {
            channel: SendChannel::Sms { route },
            recipient,
            text: text.into(),
        }
    }
}

/// What happened to an accepted send (failures are [`SendError::Failed`]).
#[derive(Debug, Clone)]
pub struct SendOutcome {
    /// Id of the local message row.
    pub message_id: i64,
    /// `Queued`/`Sending` (still in the outbox: the worker finishes it), `Pending` (queued on
    /// the platform), `Sent`, or `Unknown` (may have left: reconciled, never resent).
    pub status: MessageStatus,
    /// The platform's answer (`Message has been queued for sending!`…), when there was one.
    pub platform_message: Option<String>,
}

/// The `route` JSON recorded with a message (history, reconciliation).
pub fn route_json(route: &SmsRoute) -> serde_json::Value {
    match route {
        SmsRoute::Devices {
            device,
            sim,
            priority,
        } => {
            json!({"mode": "devices", "device": device, "sim": sim.number(), "priority": priority})
        }
        SmsRoute::Credits { gateway } => {
            let g = match gateway {
                messagepro::Gateway::Id(id) => id.to_string(),
                messagepro::Gateway::Partner(u) => u.clone(),
            };
            json!({"mode": "credits", "gateway": g})
        }
    }
}

pub(crate) fn channel_route_json(channel: &SendChannel) -> serde_json::Value {
    match channel {
        SendChannel::Sms { route } => route_json(route),
        SendChannel::WhatsApp {
            account, content, ..
        } => {
            let kind = match content {
                WaContent::Text(_) => "text",
                WaContent::Media { .. } => "media",
                WaContent::Document { .. } => "document",
            };
            json!({"mode": "whatsapp", "account": account, "type": kind})
        }
    }
}

/// The `route` JSON of an OTP message.
pub(crate) fn otp_route_json(channel: &OtpChannel) -> serde_json::Value {
    match channel {
        OtpChannel::Sms { route } => {
            let mut v = route_json(route);
            v["otp"] = json!("sms");
            v
        }
        OtpChannel::WhatsApp { account, .. } => {
            json!({"mode": "whatsapp", "account": account, "otp": "whatsapp"})
        }
    }
}

pub(crate) fn segments_of(channel: Channel, text: &str) -> i64 {
    match channel {
        Channel::Whatsapp => 1,
        _ => messagepro::sms::analyze(text).segments.max(1) as i64,
    }
}

/// How [`Core::accept_with`] records a send.
#[derive(Debug, Default)]
pub struct AcceptOptions<'a> {
    /// A promotional message: quiet hours apply (an API caller's `kind: promotional`).
    pub promotional: bool,
    /// Not before this time (Unix ms); `None`: now.
    pub send_at_ms: Option<i64>,
    /// The idempotency key to mark done with the message, in its transaction.
    pub idempotency: Option<messagepro_store::IdemDone<'a>>,
    /// A second channel or route tried once if this send ends `failed` (see
    /// [`crate::fallback`]).
    pub fallback: Option<SendChannel>,
}

/// A send accepted into the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    pub message_id: i64,
    pub job_id: i64,
}

impl Core {
    pub(crate) fn new_job(&self, payload: &Payload, run_at_ms: i64) -> NewJob {
        NewJob {
            payload: serde_json::to_value(payload).unwrap_or_default(),
            max_attempts: self.inner.settings.max_attempts,
            run_at_ms,
        }
    }

    pub(crate) fn audit(&self, actor: &Actor, action: &str, target: &str) -> NewAudit {
        NewAudit {
            at_ms: self.now_ms(),
            user_id: actor.user_id(),
            username: Some(actor.audit_name()),
            action: action.to_owned(),
            target: Some(target.to_owned()),
            ip: actor.ip().map(str::to_owned),
            outcome: Outcome::Success,
            detail: None,
        }
    }

    /// Records a send durably (message + outbox job + audit entry, one transaction) and wakes
    /// this process's worker. Returns at once.
    #[tracing::instrument(skip_all, fields(channel = %req.channel.store_channel()))]
    pub async fn accept(&self, actor: &Actor, req: &SendRequest) -> Result<Accepted, SendError> {
        self.accept_with(actor, req, AcceptOptions::default()).await
    }

    /// [`Core::accept`] with the integration API's options: a promotional message (quiet hours
    /// and the campaign pace apply), a later start, and an idempotency key marked done in the
    /// same transaction as the message and its job.
    #[tracing::instrument(skip_all, fields(channel = %req.channel.store_channel()))]
    pub async fn accept_with(
        &self,
        actor: &Actor,
        req: &SendRequest,
        opts: AcceptOptions<'_>,
    ) -> Result<Accepted, SendError> {
        let a = self.record(actor, req, false, opts).await?;
        self.inner.wake.notify_one();
        Ok(a)
    }

    /// The durable half of [`Core::accept`], without waking the worker. `inline`: this process
    /// dispatches it at once, so workers only take it if that has not happened by
    /// [`Core::inline_deadline`].
    async fn record(
        &self,
        actor: &Actor,
        req: &SendRequest,
        inline: bool,
        opts: AcceptOptions<'_>,
    ) -> Result<Accepted, SendError> {
        if !actor.can(req.channel.permission()) {
            tracing::warn!("send refused: permission");
            return Err(SendError::Forbidden);
        }
        if req.text.trim().is_empty() {
            return Err(SendError::EmptyText);
        }
        let channel = req.channel.store_channel();
        if self.is_suppressed(req.recipient.e164()).await? {
            return Err(self.record_opted_out(actor, req).await?);
        }
        let message = NewMessage {
            channel,
            recipient: req.recipient.e164().to_owned(),
            text: req.text.clone(),
            route: channel_route_json(&req.channel),
            status: MessageStatus::Queued,
            segments: segments_of(channel, &req.text),
            created_by: actor.user_id(),
            campaign_id: None,
        };
        let mut payload = Payload::from_request(req);
        if opts.promotional {
            payload = payload.promotional();
        }
        let now = self.now_ms();
        let run_at = match opts.send_at_ms {
            Some(at) => at.max(now),
            None if inline => self.inline_deadline(now),
            None => now,
        };
        let job = self.new_job(&payload, run_at);
        let audit = self.audit(actor, &format!("{channel}.send"), &message.recipient);
        let store = &self.inner.store;
        if let Some(f) = &opts.fallback
            && !actor.can(f.permission())
        {
            return Err(SendError::Forbidden);
        }
        let fallback = opts
            .fallback
            .as_ref()
            .map(|f| self.fallback_of(f, &req.recipient, &req.text));
        let (message_id, job_id) = match (opts.idempotency, fallback) {
            (None, None) => store.enqueue_message(&message, &job, &audit, now).await?,
            (idem, fallback) => {
                let guard = messagepro_store::Guard {
                    idempotency: idem,
                    event: None,
                };
                let item = GuardedMessage {
                    message,
                    job: Some(job),
                    skip_reason: None,
                    fallback,
                };
                match store.enqueue_guarded(&[item], &audit, &guard, now).await? {
                    Guarded::Recorded { messages, jobs } => (
                        messages.first().copied().unwrap_or_default(),
                        jobs.first().copied().flatten().unwrap_or_default(),
                    ),
                    Guarded::DuplicateEvent(_) => {
                        return Err(SendError::Invalid("duplicate"));
                    }
                }
            }
        };
        tracing::info!(message_id, job_id, "message accepted");
        Ok(Accepted { message_id, job_id })
    }

    /// Records a send refused because its recipient opted out: the message `skipped`
    /// (`skip.opted_out`, so the history shows it) and the audit entry; no job.
    async fn record_opted_out(
        &self,
        actor: &Actor,
        req: &SendRequest,
    ) -> Result<SendError, SendError> {
        let store = &self.inner.store;
        let channel = req.channel.store_channel();
        let now = self.now_ms();
        let m = store
            .insert_message(
                &NewMessage {
                    channel,
                    recipient: req.recipient.e164().to_owned(),
                    text: req.text.clone(),
                    route: channel_route_json(&req.channel),
                    status: MessageStatus::Skipped,
                    segments: segments_of(channel, &req.text),
                    created_by: actor.user_id(),
                    campaign_id: None,
                },
                now,
            )
            .await?;
        store.skip_messages(&[m.id], "skip.opted_out", now).await?;
        let mut audit = self.audit(actor, &format!("{channel}.send"), &m.recipient);
        audit.outcome = Outcome::Failure;
        audit.detail = Some(format!("message {}: opted out", m.id));
        store.audit(&audit).await?;
        tracing::info!(message_id = m.id, "send refused: the recipient opted out");
        Ok(SendError::OptedOut { message_id: m.id })
    }

    /// Accepts a send and dispatches it at once, waiting (bounded) for its outcome.
    pub async fn submit(&self, actor: &Actor, req: SendRequest) -> Result<SendOutcome, SendError> {
        // not handed to the worker: this task dispatches it (the worker's poll is the fallback)
        let accepted = self
            .record(actor, &req, true, AcceptOptions::default())
            .await?;
        self.dispatch_now(accepted).await
    }

    /// When workers may take a job this process records for inline dispatch (if the process
    /// died before dispatching it): after the inline wait and a margin.
    pub(crate) fn inline_deadline(&self, now: i64) -> i64 {
        now + self.inner.settings.inline_wait.as_millis() as i64 + 2_000
    }

    /// Dispatches an accepted job on its own task and waits up to `inline_wait` for it.
    pub(crate) async fn dispatch_now(&self, a: Accepted) -> Result<SendOutcome, SendError> {
        let core = self.clone();
        let task = tokio::spawn(async move { core.dispatch_job_id(a.job_id).await });
        let deadline = tokio::time::Instant::now() + self.inner.settings.inline_wait;
        let waited = tokio::time::timeout_at(deadline, task).await;
        let outcome = match waited {
            Ok(Ok(Ok(Some(d)))) => d,
            Ok(Ok(Err(e))) => return Err(SendError::Store(e)),
            // taken by another worker first, still running, or the task failed: wait (bounded)
            // for what is stored
            _ => loop {
                let m = self
                    .inner
                    .store
                    .message_by_id(a.message_id)
                    .await?
                    .ok_or(messagepro_store::StoreError::NotFound("message"))?;
                let waiting = matches!(m.status, MessageStatus::Queued | MessageStatus::Sending);
                if m.status == MessageStatus::Failed {
                    return Err(SendError::Failed {
                        message_id: a.message_id,
                        cause: FailCause::Recorded(m.platform_message.unwrap_or_default()),
                    });
                }
                if !waiting || tokio::time::Instant::now() >= deadline {
                    return Ok(SendOutcome {
                        message_id: a.message_id,
                        status: m.status,
                        platform_message: m.platform_message,
                    });
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            },
        };
        match outcome {
            Dispatched::Done {
                status,
                platform_message,
            } => Ok(SendOutcome {
                message_id: a.message_id,
                status,
                platform_message,
            }),
            Dispatched::Failed(cause) => Err(SendError::Failed {
                message_id: a.message_id,
                cause,
            }),
            Dispatched::Retrying(_) | Dispatched::LeaseLost | Dispatched::Deferred { .. } => {
                Ok(SendOutcome {
                    message_id: a.message_id,
                    status: MessageStatus::Queued,
                    platform_message: None,
                })
            }
        }
    }

    /// The platform's device list, cached a few seconds (one read per few seconds, not per
    /// SMS); `None` when it cannot be read.
    pub(crate) async fn devices_cached(&self) -> Option<Vec<messagepro::Device>> {
        let cached = {
            let g = self.inner.devices.lock().unwrap_or_else(|e| e.into_inner());
            g.as_ref()
                .filter(|(at, _)| at.elapsed() < std::time::Duration::from_secs(3))
                .map(|(_, d)| d.clone())
        };
        if cached.is_some() {
            return cached;
        }
        match self.inner.platform.all_devices().await {
            Ok(devices) => {
                *self.inner.devices.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some((std::time::Instant::now(), devices.clone()));
                Some(devices)
            }
            Err(e) => {
                tracing::warn!(error = %e, "device list unavailable; sending without the online check");
                None
            }
        }
    }

    /// Refuses an own device known to be offline (the device list is cached a few seconds; a
    /// failed read does not block the send).
    pub(crate) async fn check_device(&self, route: &SmsRoute) -> Result<(), FailCause> {
        let SmsRoute::Devices { device, .. } = route else {
            return Ok(());
        };
        let online = self
            .devices_cached()
            .await
            .map(|d| d.iter().find(|d| &d.unique == device).map(|d| d.online))
            .unwrap_or(None);
        match online {
            Some(false) => Err(FailCause::DeviceOffline),
            // unknown devices are left to the platform ("Device doesn't exist!")
            _ => Ok(()),
        }
    }
}
