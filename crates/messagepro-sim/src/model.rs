//! The simulator's in-memory data model: the "world" (accounts, packages, devices, gateways,
//! WhatsApp servers and accounts, platform settings — everything a test may patch through
//! `POST /_sim/platform`) and the records the API creates (messages, chats, campaigns, contacts…).
//!
//! One `State` value lives behind one `Mutex`; every handler locks it once. Rows are kept in
//! `BTreeMap`s keyed by id so "id descending" listings are a reverse iteration. Deleted SMS and
//! chats stay in memory with `deleted = true` so `/_sim/ledger` can still report them.
//!
//! Stored statuses are enums ([`SendState`] for SMS and chats, [`UssdState`], [`CampaignState`])
//! and the SMS mode is [`SmsMode`]; the platform's numbers (SMS/chat 1 pending, 2 queued,
//! 3 sent, 4 failed) only appear in the ledger, through [`SendState::code`]. Priorities stay
//! numbers: their stored values mean different things per route (see [`Sms::priority`]).
//! The simulated [`Clock`] stays within `0..=MAX_TIME` whatever it is asked to move.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use crate::SimError;

/// Which Zender build the simulator speaks (spec Q21).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Flavour {
    /// The 3.3.8 build the wire reference describes: sends return no ids.
    #[serde(rename = "3.3.8")]
    V3_3_8,
    /// The newer build Message Pro runs (Q21): message ids from `send/sms` and
    /// `send/whatsapp.bulk`, `get/sms.message` / `get/wa.message`, per-package service checks,
    /// a content filter, no `clear/ussd`.
    #[default]
    #[serde(rename = "current")]
    Current,
}

impl Flavour {
    /// Parses `3.3.8` or `current` (as the CLI's `--flavour` takes it).
    pub fn parse(s: &str) -> Option<Flavour> {
        match s.trim() {
            "3.3.8" => Some(Flavour::V3_3_8),
            "current" => Some(Flavour::Current),
            _ => None,
        }
    }

    /// True on the newer build.
    pub fn is_current(self) -> bool {
        self == Flavour::Current
    }
}

impl std::fmt::Display for Flavour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Flavour::V3_3_8 => "3.3.8",
            Flavour::Current => "current",
        })
    }
}

/// Platform-wide settings (Zender's admin settings) plus simulator knobs for infrastructure
/// failures that a test may want to provoke.
#[derive(Clone, Serialize, Deserialize)]
pub struct Settings {
    /// Minimum message length in bytes (escaped text), always enforced.
    pub message_min: usize,
    /// Maximum message length in bytes; 0 = unlimited.
    pub message_max: usize,
    /// Footer appended (`"\n\n" + footer`) when the package's footermark is 1.
    pub footer: String,
    /// Platform currency (upper-case ISO 4217).
    pub currency: String,
    /// Zender "free model": accounts without a subscription get the default package.
    pub free_model: bool,
    /// Package given by the free model.
    pub default_package: u64,
    /// When false, SMS sends answer `500 System configuration error!`.
    pub push_configured: bool,
    /// When true, every insert/delete answers `500 Something went wrong!`.
    pub db_fail: bool,
    /// When true, partner price conversion fails (nothing stored, success answered).
    pub exchange_fail: bool,
    /// When true, `get/wa.qr` fails to render (500).
    pub qr_image_fail: bool,
    /// Numbers (E.164) that `validate/whatsapp` reports as not on WhatsApp.
    pub wa_unknown_numbers: Vec<String>,
    /// Current flavour only: words the content filter refuses (case-insensitive, whole text
    /// searched) in a message, a caption or a media/document URL.
    #[serde(default)]
    pub filtered_words: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            message_min: 1,
            message_max: 0,
            footer: String::new(),
            currency: "GNF".into(),
            free_model: false,
            default_package: 1,
            push_configured: true,
            db_fail: false,
            exchange_fail: false,
            qr_image_fail: false,
            wa_unknown_numbers: vec!["+224620000000".into()],
            filtered_words: vec!["arnaque".into(), "escroquerie".into()],
        }
    }
}

/// A subscription package; every limit `< 1` means unlimited.
#[derive(Clone, Serialize, Deserialize)]
pub struct Package {
    pub name: String,
    pub send_limit: i64,
    pub receive_limit: i64,
    pub ussd_limit: i64,
    pub notification_limit: i64,
    pub contact_limit: i64,
    pub device_limit: i64,
    pub key_limit: i64,
    pub webhook_limit: i64,
    pub action_limit: i64,
    pub scheduled_limit: i64,
    pub wa_send_limit: i64,
    pub wa_receive_limit: i64,
    pub wa_account_limit: i64,
    /// 1 = append the platform footer, 2 = don't.
    pub footermark: u8,
    /// WhatsApp server ids enabled for this package.
    pub wa_servers: Vec<u64>,
    /// Current flavour only: the services the package includes (`sms`, `whatsapp`,
    /// `android_ussd`); the others answer `403 Subscription has no permission to use …`.
    #[serde(default = "all_services")]
    pub services: Vec<String>,
}

/// Every service a package can include.
pub fn all_services() -> Vec<String> {
    vec!["sms".into(), "whatsapp".into(), "android_ussd".into()]
}

impl Package {
    /// True when the package includes `service` (`sms`, `whatsapp`, `android_ussd`).
    pub fn has_service(&self, service: &str) -> bool {
        self.services.iter().any(|s| s == service)
    }
}

#[derive(Clone, Serialize, Deserialize)]
pub struct Account {
    pub email: String,
    pub country: String,
    pub credits: f64,
    pub earnings: f64,
    /// Subscription → package id; `None` = not subscribed.
    pub package: Option<u64>,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct Device {
    pub user: u64,
    pub unique: String,
    pub name: String,
    pub manufacturer: String,
    pub version: f64,
    pub online: bool,
    pub sims: u8,
    pub random_send: bool,
    pub random_min: i64,
    pub random_max: i64,
    pub limit_status: bool,
    /// `daily` or `monthly`.
    pub limit_interval: String,
    pub limit_number: i64,
    pub packages: Vec<String>,
    /// Shared as a partner device.
    pub partner: bool,
    pub partner_sim: Vec<String>,
    pub partner_priority: bool,
    pub partner_country: String,
    pub partner_rate: f64,
    pub partner_currency: String,
    pub created: i64,
}

/// How the gateway's provider "handler file" behaves.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Handler {
    Ok,
    Missing,
    Broken,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct Gateway {
    pub name: String,
    /// Provider reports delivery later (stored status 2, credits deducted on the callback).
    pub callback: bool,
    /// `{"default": "…", "countries": {"gn": "…"}}`.
    pub pricing: serde_json::Value,
    pub handler: Handler,
    /// Provider call fails (a failed row is stored, 500 answered).
    pub provider_fails: bool,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct Shortener {
    pub name: String,
    /// Plugin fails to load (500 "We encountered a shortener error!").
    pub broken: bool,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct WaServer {
    pub name: String,
    pub capacity: i64,
    pub reachable: bool,
    /// The server hands out a QR string on `create/wa.link`.
    pub qr_ok: bool,
    /// Length of the QR strings it hands out (< 200 → `get/wa.qr` answers 400).
    pub qr_len: usize,
    /// Priority-1 sends answer 200.
    pub send_ok: bool,
    /// Queue triggers answer 200.
    pub trigger_ok: bool,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct WaAccount {
    pub user: u64,
    pub server: u64,
    /// Raw WhatsApp id, e.g. `224621234567:12@s.whatsapp.net`.
    pub wid: String,
    pub unique: String,
    /// `connected`, `connecting`, `disconnecting`, `disconnected`.
    pub status: String,
    pub created: i64,
}

impl WaAccount {
    /// `+` followed by the digits before `:` of the WhatsApp id.
    pub fn phone(&self) -> String {
        let digits: String = self
            .wid
            .split([':', '@'])
            .next()
            .unwrap_or("")
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        format!("+{digits}")
    }
}

/// Everything configurable: patched as a whole with a JSON merge patch by `/_sim/platform`.
#[derive(Clone, Serialize, Deserialize)]
pub struct World {
    pub settings: Settings,
    pub packages: BTreeMap<u64, Package>,
    pub accounts: BTreeMap<u64, Account>,
    pub devices: BTreeMap<u64, Device>,
    pub gateways: BTreeMap<u64, Gateway>,
    pub shorteners: BTreeMap<u64, Shortener>,
    pub wa_servers: BTreeMap<u64, WaServer>,
    pub wa_accounts: BTreeMap<u64, WaAccount>,
}

/// An API key. No `Debug`: the secret is the map key it is stored under and never printed.
#[derive(Clone)]
pub struct ApiKey {
    pub user: u64,
    pub permissions: std::sync::Arc<[String]>,
}

impl ApiKey {
    pub fn has(&self, perm: &str) -> bool {
        self.permissions.iter().any(|p| p == perm)
    }
}

/// Stored status of an SMS or a chat row. The platform stores numbers (1 pending, 2 picked
/// up/queued, 3 sent, 4 failed); [`SendState::code`] gives them back (the ledger prints them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendState {
    /// 1: waiting for the handset / WhatsApp server to pick it up.
    Pending,
    /// 2: picked up (or handed to a gateway with delivery callback), not reported yet.
    Queued,
    /// 3: reported sent.
    Sent,
    /// 4: reported failed (or refused at pick-up, quota full).
    Failed,
}

impl SendState {
    /// The stored number (1–4).
    pub fn code(self) -> u8 {
        match self {
            SendState::Pending => 1,
            SendState::Queued => 2,
            SendState::Sent => 3,
            SendState::Failed => 4,
        }
    }

    /// Reported, sent or failed (the platform's `status >= 3`, the "sent" lists).
    pub fn is_final(self) -> bool {
        matches!(self, SendState::Sent | SendState::Failed)
    }

    /// The word of `get/sms.message` / `get/wa.message`.
    pub fn word(self) -> &'static str {
        match self {
            SendState::Pending => "pending",
            SendState::Queued => "queued",
            SendState::Sent => "sent",
            SendState::Failed => "failed",
        }
    }
}

/// Stored status of a USSD request (1 pending, 2 queued, 3 completed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UssdState {
    Pending,
    Queued,
    Completed,
}

impl UssdState {
    /// The word of `get/ussd`.
    pub fn word(self) -> &'static str {
        match self {
            UssdState::Pending => "pending",
            UssdState::Queued => "queued",
            UssdState::Completed => "completed",
        }
    }
}

/// Stored status of an SMS or WhatsApp campaign (1 running, 2 paused; `remote/*`). Listings
/// show `completed` from the rows, not from this value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CampaignState {
    Running,
    Paused,
}

/// How an SMS (or SMS campaign) is sent: stored 1 = own devices, 2 = credits (gateway or
/// partner device).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmsMode {
    Devices,
    Credits,
}

impl SmsMode {
    /// The word of the SMS lists' `mode` field.
    pub fn word(self) -> &'static str {
        match self {
            SmsMode::Devices => "devices",
            SmsMode::Credits => "credits",
        }
    }
}

#[derive(Clone)]
pub struct Sms {
    pub id: u64,
    pub user: u64,
    pub cid: u64,
    /// Device id (own device or partner device); 0 for gateway rows.
    pub did: u64,
    pub gateway: u64,
    pub sim: u8,
    pub mode: SmsMode,
    /// Stored priority: 1/2 on own devices (listed as `>= 2`), the partner device's
    /// `global_priority` (1 yes / 2 no), 0 on gateways.
    pub priority: u8,
    pub api: bool,
    pub phone: String,
    pub message: String,
    pub status: SendState,
    pub status_code: String,
    pub create_date: i64,
    /// Simulated time of the 1 → 2 transition.
    pub fetched_at: i64,
    /// Price to deduct later (partner / callback gateway), in platform currency.
    pub price: f64,
    pub deleted: bool,
}

#[derive(Clone)]
pub struct SmsCampaign {
    pub id: u64,
    pub user: u64,
    pub did: u64,
    pub gateway: u64,
    pub mode: SmsMode,
    pub status: CampaignState,
    pub name: String,
    pub contacts: i64,
    pub create_date: i64,
}

#[derive(Clone)]
pub struct ReceivedSms {
    pub id: u64,
    pub user: u64,
    pub did: u64,
    /// Handset's message id and SIM slot (only sent in the webhook; kept for completeness).
    #[allow(dead_code)]
    pub rid: u64,
    #[allow(dead_code)]
    pub sim: u8,
    pub phone: String,
    pub message: String,
    pub receive_date: i64,
}

#[derive(Clone)]
pub struct Chat {
    pub id: u64,
    pub user: u64,
    pub cid: u64,
    pub wa: u64,
    pub phone: String,
    pub payload: serde_json::Value,
    pub status: SendState,
    /// 1 priority (sent at once), 2 queued. No listing shows it; kept for completeness.
    #[allow(dead_code)]
    pub priority: u8,
    pub api: bool,
    pub create_date: i64,
    pub fetched_at: i64,
    pub deleted: bool,
}

#[derive(Clone)]
pub struct WaCampaign {
    pub id: u64,
    pub user: u64,
    pub wa: u64,
    pub kind: String,
    pub status: CampaignState,
    pub name: String,
    pub contacts: i64,
    pub processed: i64,
    pub create_date: i64,
}

#[derive(Clone)]
pub struct WaReceived {
    pub id: u64,
    pub user: u64,
    pub wa: u64,
    pub phone: String,
    pub message: String,
    pub attachment: Option<String>,
    pub receive_date: i64,
}

#[derive(Clone)]
pub struct Contact {
    pub id: u64,
    pub user: u64,
    pub groups: String,
    pub phone: String,
    pub name: String,
}

#[derive(Clone)]
pub struct Group {
    pub id: u64,
    pub user: u64,
    pub name: String,
}

#[derive(Clone)]
pub struct Unsubscribed {
    pub id: u64,
    pub user: u64,
    pub phone: String,
    pub create_date: i64,
}

#[derive(Clone)]
pub struct Ussd {
    pub id: u64,
    pub user: u64,
    pub did: u64,
    pub sim: u8,
    pub code: String,
    pub response: String,
    pub status: UssdState,
    pub create_date: i64,
    pub fetched_at: i64,
}

#[derive(Clone)]
pub struct Notification {
    pub id: u64,
    pub user: u64,
    pub did: u64,
    pub package: String,
    pub title: String,
    pub text: String,
    pub create_date: i64,
}

/// Resettable quota counters of one account (3.5).
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Quota {
    pub sent: i64,
    pub received: i64,
    pub wa_sent: i64,
    pub wa_received: i64,
    pub ussd: i64,
    pub notifications: i64,
}

/// A QR linking token (`create/wa.link` / `create/wa.relink`).
#[derive(Clone)]
pub struct QrToken {
    /// Secret of the key that created it (looked up again on use).
    pub secret: String,
    pub server: u64,
    pub qr: String,
    pub created: i64,
    pub relink: Option<u64>,
    /// Set once "scanned": the linked account id.
    pub linked: Option<u64>,
}

#[derive(Clone, Default)]
pub struct Webhook {
    pub url: String,
    pub secret: String,
}

/// Per-table id counters.
#[derive(Default)]
pub struct Ids {
    pub sms: u64,
    pub sms_campaign: u64,
    pub received: u64,
    pub chat: u64,
    pub wa_campaign: u64,
    pub wa_received: u64,
    pub contact: u64,
    pub group: u64,
    pub unsubscribed: u64,
    pub ussd: u64,
    pub notification: u64,
    pub device: u64,
    pub wa_account: u64,
    pub rid: u64,
}

/// The simulated clock: real time (or frozen time when auto progress is off) plus an offset
/// moved by "advance time".
pub struct Clock {
    pub base: i64,
    pub started: Instant,
    pub offset: i64,
    pub frozen: bool,
}

/// Latest simulated time: 9999-12-31T23:59:59Z. Time differences between rows then never
/// overflow, whatever `advance_time` was asked.
pub const MAX_TIME: i64 = 253_402_300_799;

impl Clock {
    /// Real (or frozen) time, without the offset.
    fn real(&self) -> i64 {
        let run = if self.frozen {
            0
        } else {
            self.started.elapsed().as_secs() as i64
        };
        self.base.saturating_add(run)
    }

    pub fn now(&self) -> i64 {
        self.real().saturating_add(self.offset).clamp(0, MAX_TIME)
    }

    /// Moves the offset by `seconds`, keeping the simulated time within `0..=MAX_TIME`.
    pub fn advance(&mut self, seconds: i64) {
        let real = self.real();
        self.offset = self
            .offset
            .saturating_add(seconds)
            .clamp(real.saturating_neg(), MAX_TIME.saturating_sub(real));
    }
}

/// The life-cycle pace (3.10): seconds from submission to pick-up and from pick-up to report.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Pace {
    pub pickup_secs: i64,
    pub report_secs: i64,
    /// Fraction of picked-up SMS/chats that end failed (4).
    pub fail_rate: f64,
}

impl Default for Pace {
    fn default() -> Self {
        Self {
            pickup_secs: 1,
            report_secs: 2,
            fail_rate: 0.0,
        }
    }
}

/// The whole mutable state of one simulator.
pub struct State {
    pub rng: StdRng,
    pub clock: Clock,
    pub base_url: String,
    pub world: World,
    pub keys: HashMap<String, ApiKey>,
    /// OTP namespaces: secret → code → (created, lifetime).
    pub otp: HashMap<String, HashMap<String, (i64, i64)>>,
    pub sms: BTreeMap<u64, Sms>,
    pub sms_campaigns: BTreeMap<u64, SmsCampaign>,
    pub received: BTreeMap<u64, ReceivedSms>,
    pub chats: BTreeMap<u64, Chat>,
    pub wa_campaigns: BTreeMap<u64, WaCampaign>,
    pub wa_received: BTreeMap<u64, WaReceived>,
    pub contacts: BTreeMap<u64, Contact>,
    pub groups: BTreeMap<u64, Group>,
    pub unsubscribed: BTreeMap<u64, Unsubscribed>,
    pub ussd: BTreeMap<u64, Ussd>,
    pub notifications: BTreeMap<u64, Notification>,
    pub quota: HashMap<u64, Quota>,
    pub tokens: HashMap<String, QrToken>,
    /// (kind, recipient, text, route) → number of submissions.
    pub submissions: HashMap<(char, String, String, String), u32>,
    pub webhook: Option<Webhook>,
    pub ids: Ids,
    pub pace: Pace,
    /// The build spoken (fixed at start; `reset` keeps it).
    pub flavour: Flavour,
}

impl State {
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    pub fn quota(&mut self, user: u64) -> &mut Quota {
        self.quota.entry(user).or_default()
    }

    /// The account's package (3.5): subscription, else the free model's default, else none.
    pub fn package(&self, user: u64) -> Option<&Package> {
        let acc = self.world.accounts.get(&user)?;
        match acc.package {
            Some(p) => self.world.packages.get(&p).or_else(|| {
                self.world
                    .packages
                    .get(&self.world.settings.default_package)
            }),
            None if self.world.settings.free_model => self
                .world
                .packages
                .get(&self.world.settings.default_package),
            None => None,
        }
    }

    pub fn device_by_unique(&self, unique: &str) -> Option<(u64, &Device)> {
        self.world
            .devices
            .iter()
            .find(|(_, d)| d.unique == unique)
            .map(|(id, d)| (*id, d))
    }

    /// The device an injected inbound event arrives on: `unique` when given, else the demo
    /// user's first device.
    pub fn inbound_device(&self, unique: Option<&str>) -> Result<u64, SimError> {
        match unique {
            Some(u) => self
                .device_by_unique(u)
                .map(|(id, _)| id)
                .ok_or(SimError::UnknownDevice),
            None => self
                .world
                .devices
                .iter()
                .find(|(_, d)| d.user == crate::fixture::DEMO_USER)
                .map(|(id, _)| *id)
                .ok_or(SimError::NoDevice),
        }
    }

    pub fn wa_by_unique(&self, unique: &str) -> Option<(u64, &WaAccount)> {
        self.world
            .wa_accounts
            .iter()
            .find(|(_, a)| a.unique == unique)
            .map(|(id, a)| (*id, a))
    }

    /// Random lowercase hex string of `n` characters from the seeded generator.
    pub fn hex(&mut self, n: usize) -> String {
        use rand::Rng;
        let bytes: Vec<u8> = (0..n.div_ceil(2)).map(|_| self.rng.random()).collect();
        let mut s = hex::encode(bytes);
        s.truncate(n);
        s
    }

    /// Counts SMS rows (not failed) of `user` on device `did` in the current day or month.
    pub fn device_window_count(&self, user: u64, did: u64, monthly: bool) -> i64 {
        let now = chrono::DateTime::from_timestamp(self.now(), 0).unwrap_or_default();
        let fmt = if monthly { "%Y-%m" } else { "%Y-%m-%d" };
        let key = now.format(fmt).to_string();
        self.sms
            .values()
            .filter(|m| {
                !m.deleted && m.user == user && m.did == did && m.status != SendState::Failed
            })
            .filter(|m| {
                chrono::DateTime::from_timestamp(m.create_date, 0)
                    .unwrap_or_default()
                    .format(fmt)
                    .to_string()
                    == key
            })
            .count() as i64
    }

    /// `Some("daily"|"monthly")` when the device limit is enabled and reached.
    pub fn device_limit_hit(&self, user: u64, did: u64) -> Option<&'static str> {
        let d = self.world.devices.get(&did)?;
        if !d.limit_status {
            return None;
        }
        let monthly = d.limit_interval == "monthly";
        if self.device_window_count(user, did, monthly) >= d.limit_number {
            Some(if monthly { "monthly" } else { "daily" })
        } else {
            None
        }
    }

    /// Records one submission of (kind, recipient, text, route) for the ledger.
    pub fn note_submission(&mut self, kind: char, recipient: &str, text: &str, route: &str) {
        *self
            .submissions
            .entry((kind, recipient.into(), text.into(), route.into()))
            .or_default() += 1;
    }
}

/// The "daily/monthly allowed messages" message.
pub fn device_limit_message(interval: &str) -> String {
    format!(
        "The {interval} allowed messages has been reached for this device, please try again later!"
    )
}

/// Limit test of 3.5: a limit < 1 is unlimited, else blocked when `used >= limit`.
pub fn limit_reached(used: i64, limit: i64) -> bool {
    limit >= 1 && used >= limit
}
