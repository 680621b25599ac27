//! Typed async client for the **Message Pro** SMS / WhatsApp / OTP platform (a white-label of the
//! Zender gateway).
//!
//! The platform's protocol is unusual, and this crate hides it: every answer is HTTP 200 with the
//! real result in a JSON `status`; parameters travel only as query string or form (never JSON);
//! `+` must be sent as `%2B`; list pages overlap badly; stored text comes back HTML-escaped.
//! See `docs/wire-protocol.md` (in this repository) for the wire reference; every `§` and `Q`
//! number cited in this crate is a section of it.
//!
//! # Quick start
//!
//! ```no_run
//! use messagepro::{Client, SendSms, SmsRoute, Sim};
//!
//! # async fn demo() -> messagepro::Result<()> {
//! // MESSAGEPRO_API_SECRET (and optionally MESSAGEPRO_BASE_URL) from the environment or `.env`.
//! let client = Client::from_env()?;
//!
//! let credits = client.get_credits().await?;
//! println!("balance: {} {}", credits.credits, credits.currency);
//!
//! // Local numbers are read with the default country (GN unless configured).
//! let phone = client.parse_phone("621 23 45 67")?;
//! let route = SmsRoute::Devices { device: "device-unique-id".into(), sim: Sim::One, priority: false };
//! match client.send_sms(&SendSms::new(phone, "Bonjour !", route)).await {
//!     Ok(receipt) => println!("{}", receipt.message),
//!     Err(messagepro::Error::NotEnoughCredits(p)) => eprintln!("top up: {}", p.message),
//!     Err(e) if e.is_ambiguous() => eprintln!("unknown outcome, reconcile before resending: {e}"),
//!     Err(e) => return Err(e),
//! }
//!
//! // Every row of a list, exactly once (the platform's page 2 skips rows).
//! let sent = client.all_sent_messages().await?;
//! println!("{} messages sent", sent.len());
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! - [`Client`] / [`ClientBuilder`] (`client.rs`): configuration and the one request function.
//! - [`api`]: one module per API area, each an `impl Client` block — 54 endpoints.
//! - [`Error`]: platform answers mapped to variants by their exact message.
//! - [`Phone`]: E.164 numbers parsed with a default country.
//! - [`sms::analyze`]: GSM-7 / UCS-2 length and segment count.
//! - [`fetch_all`]: reads a whole list despite the pagination quirk.

#![deny(missing_docs)]

pub mod api;
mod client;
mod error;
mod paging;
mod phone;
pub mod sms;
mod wire;

pub use api::Ack;
pub use api::account::{Credits, Earnings, Subscription, Usage};
pub use api::campaigns::{CampaignControl, CampaignStatus, SmsCampaign, WaCampaign};
pub use api::contacts::{Contact, CreateContact, Group, Unsubscribed};
pub use api::devices::{Device, GatewayRate, Notification, PartnerRate, Pricing, Rates, Shortener};
pub use api::otp::{OtpChannel, OtpCode, OtpSent, SendOtp};
pub use api::sms::{
    Gateway, PendingSms, ReceivedSms, Recipients, SendBulkSms, SendSms, SenderType, SentSms, Sim,
    SmsMode, SmsReceipt, SmsRoute, SmsStatus,
};
pub use api::ussd::{UssdRequest, UssdStatus};
pub use api::whatsapp::{
    ChatStatus, DocumentSource, DocumentType, MediaKind, MediaSource, PendingChat, ReceivedChat,
    SendBulkWhatsApp, SendWhatsApp, SentChat, WaAccount, WaAccountStatus, WaBulkReceipt, WaContent,
    WaGroup, WaGroupContact, WaLink, WaLinkStatus, WaReceipt, WaRecipient, WaServer, WaValidation,
};
pub use client::{Client, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_COUNTRY};
pub use error::{Error, PlatformError, Result};
pub use paging::{DEFAULT_FETCH_ALL_LIMIT, PageRequest, fetch_all};
pub use phone::{Phone, PhoneError};
pub use secrecy::SecretString;
