//! The one send path of the console. Every send — single SMS, SMS campaign, WhatsApp, OTP —
//! goes through [`SendService::submit`] (or [`SendService::submit_campaign`] for an SMS
//! campaign), so the guarantees live in one place:
//!
//! 1. the request arrives already parsed ([`Phone`], a typed route) — handlers parse at the edge;
//! 2. the user's permission for the channel is checked again here (defence in depth: the route
//!    guard checked the page, this checks the channel actually used);
//! 3. ONE database transaction records the message row (status `queued`, who, route, segments)
//!    and its audit entry — *before* any network call, so nothing the user submitted is lost;
//! 4. Message Pro is called through [`messagepro::Client`];
//! 5. the outcome is recorded: `pending` (queued on the platform), `sent`, `failed` with the
//!    platform's exact message, or `unknown` when the request may have reached the platform
//!    ([`messagepro::Error::is_ambiguous`]) — the [`sync`] worker reconciles those later.
//!
//! Why one module: a later issue puts a durable outbox between steps 3 and 4 (a worker claims the
//! queued rows); callers keep calling the same entry point.
//!
//! Failures the user must read are [`SendError`]s; [`SendError::user_message`] turns them into a
//! sentence in the user's language (keys under `[send.error]` in `locales/*.toml`).

pub mod recipients;
pub mod sync;

use std::sync::Arc;

use messagepro::{
    Client, OtpChannel, OtpSent, Phone, Recipients, SendBulkSms, SendOtp, SendSms, SendWhatsApp,
    SmsRoute, WaContent, WaRecipient,
};
use messagepro_store::{
    Campaign, CampaignStatus, Channel, MessageStatus, NewAudit, NewCampaign, NewMessage, Outcome,
    Store, StoreError,
};
use serde_json::json;

use crate::app::AppState;
use crate::clock::Clock;
use crate::guard::CurrentUser;
use crate::i18n::{I18n, Lang};
use crate::permissions::Permission;

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
    /// A one-time code. [`SendRequest::text`] is the template with `{{otp}}`; the code itself is
    /// only in [`SendOutcome::otp`] and is never stored or logged here.
    Otp {
        /// SMS route or WhatsApp account.
        channel: OtpChannel,
        /// Lifetime in seconds (platform default 300 when `None`).
        expire: Option<u32>,
    },
}

impl SendChannel {
    /// The permission a user needs to send on this channel.
    pub fn permission(&self) -> Permission {
        match self {
            SendChannel::Sms { .. } => Permission::SendSms,
            SendChannel::WhatsApp { .. } => Permission::SendWhatsapp,
            SendChannel::Otp { .. } => Permission::SendOtp,
        }
    }

    /// The channel of the local record.
    pub fn store_channel(&self) -> Channel {
        match self {
            SendChannel::Sms { .. } => Channel::Sms,
            SendChannel::WhatsApp { .. } => Channel::Whatsapp,
            SendChannel::Otp { .. } => Channel::Otp,
        }
    }
}

/// One message to send, parsed at the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRequest {
    pub channel: SendChannel,
    /// The recipient, already normalised to E.164.
    pub recipient: Phone,
    /// The text (SMS, WhatsApp text or caption, OTP template with `{{otp}}`).
    pub text: String,
    /// Local campaign id when the message belongs to one.
    pub campaign: Option<i64>,
}

impl SendRequest {
    /// A single SMS.
    pub fn sms(recipient: Phone, text: impl Into<String>, route: SmsRoute) -> SendRequest {
        SendRequest {
            channel: SendChannel::Sms { route },
            recipient,
            text: text.into(),
            campaign: None,
        }
    }
}

/// What happened to an accepted send (failures are [`SendError::Failed`]).
#[derive(Debug, Clone)]
pub struct SendOutcome {
    /// Id of the local message row.
    pub message_id: i64,
    /// `Pending` (queued on the platform), `Sent`, or `Unknown` (ambiguous: reconciled later).
    pub status: MessageStatus,
    /// The platform's answer (`Message has been queued for sending!`…), when there was one.
    pub platform_message: Option<String>,
    /// OTP sends only: what the platform returned, including the code (its `Debug` is redacted).
    /// Never store or show the code; keep a hash if it must be checked locally.
    pub otp: Option<OtpSent>,
}

/// Why a send did not go out, at a level the page can explain.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The user's role does not allow this channel. Nothing recorded.
    #[error("permission denied")]
    Forbidden,
    /// The text is empty. Nothing recorded.
    #[error("empty message")]
    EmptyText,
    /// Recorded as `failed` (see [`FailCause`]).
    #[error("send {message_id} failed: {cause}")]
    Failed { message_id: i64, cause: FailCause },
    /// The database failed (an internal error for the page).
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// Why a recorded send failed.
#[derive(Debug, thiserror::Error)]
pub enum FailCause {
    /// The chosen own Android device is offline: Message Pro would accept the SMS and keep it
    /// waiting silently until the phone reconnects, so the console refuses instead.
    #[error("the device is offline")]
    DeviceOffline,
    /// Message Pro refused (or could not be reached before the request left).
    #[error(transparent)]
    Platform(#[from] messagepro::Error),
}

impl SendError {
    /// The translation key of the sentence explaining this error (`send.error.*`).
    pub fn message_key(&self) -> &'static str {
        match self {
            SendError::Forbidden => "send.error.forbidden",
            SendError::EmptyText => "send.error.empty_text",
            SendError::Store(_) => "send.error.internal",
            SendError::Failed { cause, .. } => match cause {
                FailCause::DeviceOffline => "send.error.device_offline",
                FailCause::Platform(e) => platform_error_key(e),
            },
        }
    }

    /// The local message id, when the attempt was recorded.
    pub fn message_id(&self) -> Option<i64> {
        match self {
            SendError::Failed { message_id, .. } => Some(*message_id),
            _ => None,
        }
    }

    /// The platform's exact words, when the platform answered.
    pub fn platform_message(&self) -> Option<&str> {
        match self {
            SendError::Failed {
                cause: FailCause::Platform(e),
                ..
            } => e.platform_message(),
            _ => None,
        }
    }

    /// A sentence for the user, in `lang`. Unrecognised platform answers quote the platform's
    /// message (never internals: transport errors and secrets are not shown).
    pub fn user_message(&self, i18n: &I18n, lang: Lang) -> String {
        let detail = self.platform_message().unwrap_or("");
        i18n.tf(lang, self.message_key(), &[("detail", detail)])
    }
}

/// What a history page shows for a stored `platform_message`: the platform's own words as they
/// are, or — for failures the console itself diagnosed (stored as a `send.error.*` key: device
/// offline, platform unreachable) — the sentence in the user's language.
pub fn describe_stored_message(i18n: &I18n, lang: Lang, stored: &str) -> String {
    if stored.starts_with("send.error.") {
        i18n.tf(lang, stored, &[("detail", "")])
    } else {
        stored.to_owned()
    }
}

/// The translation key for a client error (`send.error.*`).
pub fn platform_error_key(e: &messagepro::Error) -> &'static str {
    use messagepro::Error as E;
    match e {
        E::NotEnoughCredits(_) => "send.error.not_enough_credits",
        E::DeviceNotFound(_) => "send.error.device_not_found",
        E::DeviceUnavailable(_) => "send.error.device_unavailable",
        E::GatewayNotFound(_) => "send.error.gateway_not_found",
        E::InvalidPhone(_) => "send.error.invalid_phone",
        E::MessageTooShort(_) => "send.error.too_short",
        E::MessageTooLong(_) => "send.error.too_long",
        E::NotSubscribed(_) => "send.error.not_subscribed",
        E::QuotaReached(_) => "send.error.quota_reached",
        E::WhatsAppAccountNotFound(_) => "send.error.wa_account_not_found",
        E::WhatsAppDisconnected(_) => "send.error.wa_disconnected",
        E::OtpInvalidOrExpired(_) => "send.error.otp_invalid",
        E::MissingSecret | E::InvalidSecret(_) => "send.error.secret",
        E::PermissionDenied(_) => "send.error.api_permission",
        E::InvalidParameters(_) => "send.error.invalid_parameters",
        E::Transport { .. } | E::Timeout { .. } => "send.error.unreachable",
        E::InvalidInput(_) => "send.error.invalid_input",
        _ if e.platform_message().is_some() => "send.error.platform",
        _ => "send.error.unreachable",
    }
}

/// An SMS campaign to start: recipients already normalised and de-duplicated.
#[derive(Debug, Clone)]
pub struct CampaignRequest {
    pub name: String,
    pub text: String,
    pub numbers: Vec<Phone>,
    /// Platform contact group ids (their members are not recorded locally one by one).
    pub groups: Vec<u64>,
    pub route: SmsRoute,
}

/// The result of [`SendService::submit_campaign`].
#[derive(Debug, Clone)]
pub struct CampaignOutcome {
    pub campaign: Campaign,
    /// `Pending`/`Unknown` on success; the error otherwise (rows recorded `failed`).
    pub status: MessageStatus,
    pub platform_message: Option<String>,
}

/// The send service: cheap to clone (store pool, client and clock are shared).
#[derive(Clone)]
pub struct SendService {
    store: Store,
    api: Client,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SendService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendService").finish_non_exhaustive()
    }
}

impl AppState {
    /// The send service over this state's store, client and clock.
    pub fn sender(&self) -> SendService {
        SendService::new(self.store.clone(), self.api.clone(), self.clock.clone())
    }
}

/// The `route` JSON recorded with a message (shown in history, used by the sync worker).
pub fn route_json(channel: &SendChannel) -> serde_json::Value {
    fn sms(route: &SmsRoute) -> serde_json::Value {
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
    match channel {
        SendChannel::Sms { route } => sms(route),
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
        SendChannel::Otp { channel, .. } => match channel {
            OtpChannel::Sms { route } => {
                let mut v = sms(route);
                v["otp"] = json!("sms");
                v
            }
            OtpChannel::WhatsApp { account, .. } => {
                json!({"mode": "whatsapp", "account": account, "otp": "whatsapp"})
            }
        },
    }
}

fn segments_of(channel: &SendChannel, text: &str) -> i64 {
    match channel {
        SendChannel::WhatsApp { .. } => 1,
        _ => messagepro::sms::analyze(text).segments.max(1) as i64,
    }
}

impl SendService {
    pub fn new(store: Store, api: Client, clock: Arc<dyn Clock>) -> SendService {
        SendService { store, api, clock }
    }

    /// The Message Pro client (pages read devices, rates… through it).
    pub fn api(&self) -> &Client {
        &self.api
    }

    /// Sends one message: permission → record (one transaction) → platform → outcome.
    #[tracing::instrument(skip_all, fields(channel = %req.channel.store_channel(), user = %user.username))]
    pub async fn submit(
        &self,
        user: &CurrentUser,
        req: SendRequest,
    ) -> Result<SendOutcome, SendError> {
        if !user.can(req.channel.permission()) {
            tracing::warn!("send refused: permission");
            return Err(SendError::Forbidden);
        }
        if req.text.trim().is_empty() {
            return Err(SendError::EmptyText);
        }
        let now = self.clock.now_ms();
        let message = NewMessage {
            channel: req.channel.store_channel(),
            recipient: req.recipient.e164().to_owned(),
            text: req.text.clone(),
            route: route_json(&req.channel),
            status: MessageStatus::Queued,
            segments: segments_of(&req.channel, &req.text),
            created_by: Some(user.id),
            campaign_id: req.campaign,
        };
        let audit = NewAudit {
            at_ms: now,
            user_id: Some(user.id),
            username: Some(user.username.clone()),
            action: format!("{}.send", message.channel),
            target: Some(message.recipient.clone()),
            ip: None,
            outcome: Outcome::Success,
            detail: None,
        };
        let id = self
            .store
            .insert_message_audited(&message, &audit, now)
            .await?;
        tracing::info!(message_id = id, "message recorded");
        self.dispatch(id, &req).await
    }

    /// Calls the platform for an already recorded message and records the outcome.
    async fn dispatch(&self, id: i64, req: &SendRequest) -> Result<SendOutcome, SendError> {
        let result = self.call_platform(req).await;
        let now = self.clock.now_ms();
        match result {
            Ok((status, platform_id, platform_message, otp)) => {
                self.store
                    .update_message_status(
                        id,
                        status,
                        platform_id.as_deref(),
                        platform_message.as_deref(),
                        now,
                    )
                    .await?;
                tracing::info!(message_id = id, status = %status, "send accepted");
                Ok(SendOutcome {
                    message_id: id,
                    status,
                    platform_message,
                    otp,
                })
            }
            Err(FailCause::Platform(e)) if e.is_ambiguous() => {
                tracing::warn!(message_id = id, error = %e, "send outcome unknown: will reconcile");
                self.store
                    .update_message_status(id, MessageStatus::Unknown, None, None, now)
                    .await?;
                Ok(SendOutcome {
                    message_id: id,
                    status: MessageStatus::Unknown,
                    platform_message: None,
                    otp: None,
                })
            }
            Err(cause) => {
                let stored = match &cause {
                    FailCause::DeviceOffline => "send.error.device_offline".to_owned(),
                    FailCause::Platform(e) => e
                        .platform_message()
                        .map(str::to_owned)
                        .unwrap_or_else(|| platform_error_key(e).to_owned()),
                };
                tracing::info!(message_id = id, reason = %stored, "send failed");
                self.store
                    .update_message_status(id, MessageStatus::Failed, None, Some(&stored), now)
                    .await?;
                Err(SendError::Failed {
                    message_id: id,
                    cause,
                })
            }
        }
    }

    /// Refuses an own device that is known to be offline (a failed device list does not block).
    async fn check_device(&self, route: &SmsRoute) -> Result<(), FailCause> {
        let SmsRoute::Devices { device, .. } = route else {
            return Ok(());
        };
        match self.api.all_devices().await {
            Ok(devices) => match devices.iter().find(|d| &d.unique == device) {
                Some(d) if !d.online => Err(FailCause::DeviceOffline),
                // unknown devices are left to the platform ("Device doesn't exist!")
                _ => Ok(()),
            },
            Err(e) => {
                tracing::warn!(error = %e, "device list unavailable; sending without the online check");
                Ok(())
            }
        }
    }

    #[allow(clippy::type_complexity)]
    async fn call_platform(
        &self,
        req: &SendRequest,
    ) -> Result<
        (
            MessageStatus,
            Option<String>,
            Option<String>,
            Option<OtpSent>,
        ),
        FailCause,
    > {
        match &req.channel {
            SendChannel::Sms { route } => {
                self.check_device(route).await?;
                let r = self
                    .api
                    .send_sms(&SendSms::new(
                        req.recipient.clone(),
                        req.text.clone(),
                        route.clone(),
                    ))
                    .await?;
                let status = if r.is_sent_immediately() {
                    MessageStatus::Sent
                } else {
                    MessageStatus::Pending
                };
                Ok((
                    status,
                    r.message_id.map(|i| i.to_string()),
                    Some(r.message),
                    None,
                ))
            }
            SendChannel::WhatsApp {
                account,
                content,
                priority,
            } => {
                let mut w = SendWhatsApp::new(
                    account.clone(),
                    WaRecipient::Phone(req.recipient.clone()),
                    content.clone(),
                );
                w.priority = *priority;
                let r = self.api.send_whatsapp(&w).await?;
                let status = if r.message.contains("has been sent") {
                    MessageStatus::Sent
                } else {
                    MessageStatus::Pending
                };
                Ok((status, None, Some(r.message), None))
            }
            SendChannel::Otp { channel, expire } => {
                if let OtpChannel::Sms { route } = channel {
                    self.check_device(route).await?;
                }
                let mut o = SendOtp::new(req.recipient.clone(), req.text.clone(), channel.clone());
                o.expire = *expire;
                let sent = self.api.send_otp(&o).await?;
                Ok((MessageStatus::Pending, None, None, Some(sent)))
            }
        }
    }

    /// Starts an SMS campaign with `send/sms.bulk`: the campaign and one `queued` row per number
    /// are recorded (one transaction) with the audit entry before the platform is called; the
    /// rows then become `pending` (reconciled by the sync worker) or `failed`.
    #[tracing::instrument(skip_all, fields(user = %user.username, numbers = req.numbers.len()))]
    pub async fn submit_campaign(
        &self,
        user: &CurrentUser,
        req: CampaignRequest,
    ) -> Result<CampaignOutcome, SendError> {
        if !user.can(Permission::SendSms) {
            return Err(SendError::Forbidden);
        }
        if req.text.trim().is_empty() {
            return Err(SendError::EmptyText);
        }
        let now = self.clock.now_ms();
        let channel = SendChannel::Sms {
            route: req.route.clone(),
        };
        let campaign = NewCampaign {
            name: req.name.clone(),
            channel: Channel::Sms,
            status: CampaignStatus::Queued,
            total: req.numbers.len() as i64,
            created_by: Some(user.id),
        };
        let segments = segments_of(&channel, &req.text);
        let rows: Vec<NewMessage> = req
            .numbers
            .iter()
            .map(|p| NewMessage {
                channel: Channel::Sms,
                recipient: p.e164().to_owned(),
                text: req.text.clone(),
                route: route_json(&channel),
                status: MessageStatus::Queued,
                segments,
                created_by: Some(user.id),
                campaign_id: None,
            })
            .collect();
        let audit = NewAudit {
            at_ms: now,
            user_id: Some(user.id),
            username: Some(user.username.clone()),
            action: "sms.campaign".into(),
            target: Some(req.name.clone()),
            ip: None,
            outcome: Outcome::Success,
            detail: Some(format!(
                "{} numbers, {} groups",
                req.numbers.len(),
                req.groups.len()
            )),
        };
        let (campaign_id, ids) = self
            .store
            .insert_campaign_audited(&campaign, &rows, &audit, now)
            .await?;
        let result = async {
            self.check_device(&req.route).await?;
            let to = Recipients::new(req.numbers.clone(), req.groups.clone())?;
            let bulk = SendBulkSms::new(req.name.clone(), req.text.clone(), to, req.route.clone());
            Ok::<_, FailCause>(self.api.send_bulk_sms(&bulk).await?)
        }
        .await;
        let now = self.clock.now_ms();
        let (row_status, campaign_status, msg, err) = match result {
            Ok(ack) => (
                MessageStatus::Pending,
                CampaignStatus::Running,
                Some(ack.message),
                None,
            ),
            Err(FailCause::Platform(e)) if e.is_ambiguous() => {
                (MessageStatus::Unknown, CampaignStatus::Running, None, None)
            }
            Err(cause) => {
                let stored = match &cause {
                    FailCause::DeviceOffline => "send.error.device_offline".to_owned(),
                    FailCause::Platform(e) => e
                        .platform_message()
                        .map(str::to_owned)
                        .unwrap_or_else(|| platform_error_key(e).to_owned()),
                };
                (
                    MessageStatus::Failed,
                    CampaignStatus::Cancelled,
                    Some(stored),
                    Some(cause),
                )
            }
        };
        self.store
            .set_queued_campaign_rows(campaign_id, row_status, msg.as_deref(), now)
            .await?;
        self.store
            .update_campaign_status(campaign_id, campaign_status, now)
            .await?;
        if let Some(cause) = err {
            return Err(SendError::Failed {
                message_id: ids.first().copied().unwrap_or(0),
                cause,
            });
        }
        let campaign = self
            .store
            .campaign_by_id(campaign_id)
            .await?
            .ok_or(StoreError::NotFound("campaign"))?;
        Ok(CampaignOutcome {
            campaign,
            status: row_status,
            platform_message: msg,
        })
    }
}
