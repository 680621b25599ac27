//! SMS endpoints: single and bulk sends, the sent / pending / received lists and their deletes.
//!
//! The request types make the spec's invalid combinations unrepresentable: a send goes either
//! through one of the account's own Android devices (`mode=devices`, `device`, `sim`,
//! `priority`) or through credits (`mode=credits`, `gateway` = a gateway id or a partner
//! device's unique id) — never a mix. Recipients are [`Phone`]s, so only E.164 reaches the
//! wire (the send endpoints force a `+`, spec §3.3 variant B).

use serde::{Deserialize, Serialize};

use crate::client::{Kind, Params};
use crate::error::Error;
use crate::paging::{DEFAULT_FETCH_ALL_LIMIT, PageRequest, fetch_all};
use crate::{Ack, Client, Phone, Result, wire};

/// SIM slot of an Android device. Wire: `sim=1` / `sim=2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Sim {
    /// Slot 1 (the platform default).
    #[default]
    One,
    /// Slot 2.
    Two,
}

impl Sim {
    /// `1` or `2`.
    pub fn number(self) -> u8 {
        match self {
            Sim::One => 1,
            Sim::Two => 2,
        }
    }

    /// Slot from a number the way the platform normalises it (`< 2` → 1, otherwise 2).
    pub fn from_number(n: i64) -> Self {
        if n < 2 { Sim::One } else { Sim::Two }
    }
}

/// A paid route: a platform gateway (integer id from `get/rates`) or another user's shared
/// Android device (its unique id). Wire: `gateway=<id or unique>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Gateway {
    /// A platform gateway id.
    Id(u64),
    /// A partner device unique id.
    Partner(String),
}

impl Gateway {
    /// Integer text → [`Gateway::Id`], anything else → [`Gateway::Partner`] (the platform's rule).
    pub fn parse(s: &str) -> Self {
        let t = s.trim();
        match t.parse::<u64>() {
            Ok(id) if !t.starts_with('0') || t == "0" => Gateway::Id(id),
            _ => Gateway::Partner(t.to_owned()),
        }
    }

    fn wire(&self) -> String {
        match self {
            Gateway::Id(id) => id.to_string(),
            Gateway::Partner(u) => u.clone(),
        }
    }
}

/// How an SMS leaves: an own device, or credits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SmsRoute {
    /// `mode=devices`: one of the account's Android phones.
    Devices {
        /// Device unique id (`get/devices` → `unique`).
        device: String,
        /// SIM slot (always sent).
        sim: Sim,
        /// `true` sends `priority=1` (the vendor's "send as priority"); `false` omits the
        /// parameter (platform default). See spec §3.7 / Q3 about how lists report it.
        priority: bool,
    },
    /// `mode=credits`: a platform gateway or a partner device, paid from the balance.
    Credits {
        /// Which paid route.
        gateway: Gateway,
    },
}

impl SmsRoute {
    /// Own device, SIM 1, no priority.
    pub fn device(device: impl Into<String>) -> Self {
        SmsRoute::Devices {
            device: device.into(),
            sim: Sim::One,
            priority: false,
        }
    }

    /// Paid route.
    pub fn credits(gateway: Gateway) -> Self {
        SmsRoute::Credits { gateway }
    }

    /// Appends `mode`, `device`/`sim`/`priority` or `gateway`.
    pub(crate) fn push(&self, p: Params, with_priority: bool) -> Params {
        match self {
            SmsRoute::Devices {
                device,
                sim,
                priority,
            } => {
                let p = p
                    .add("mode", "devices")
                    .add("device", device)
                    .add("sim", sim.number());
                if with_priority && *priority {
                    p.add("priority", 1)
                } else {
                    p
                }
            }
            SmsRoute::Credits { gateway } => {
                p.add("mode", "credits").add("gateway", gateway.wire())
            }
        }
    }
}

/// `send/sms` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendSms {
    /// Recipient (sent as E.164).
    pub phone: Phone,
    /// Text (spintax allowed).
    pub message: String,
    /// Device or credits.
    pub route: SmsRoute,
    /// Shortener id (`get/shorteners`); URLs in the text are shortened.
    pub shortener: Option<u64>,
}

impl SendSms {
    /// A send without shortener.
    pub fn new(phone: Phone, message: impl Into<String>, route: SmsRoute) -> Self {
        Self {
            phone,
            message: message.into(),
            route,
            shortener: None,
        }
    }

    /// Shortens URLs with this shortener id.
    pub fn shortener(mut self, id: u64) -> Self {
        self.shortener = Some(id);
        self
    }
}

/// Who receives a campaign: phone numbers and/or contact groups (at least one entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recipients {
    numbers: Vec<Phone>,
    groups: Vec<u64>,
}

impl Recipients {
    /// Numbers and groups; fails with [`Error::InvalidInput`] when both are empty.
    pub fn new(numbers: Vec<Phone>, groups: Vec<u64>) -> Result<Self> {
        if numbers.is_empty() && groups.is_empty() {
            return Err(Error::InvalidInput(
                "a campaign needs at least one phone number or contact group".into(),
            ));
        }
        Ok(Self { numbers, groups })
    }

    /// Only numbers (at least one).
    pub fn numbers(numbers: Vec<Phone>) -> Result<Self> {
        Self::new(numbers, Vec::new())
    }

    /// Only contact groups (at least one).
    pub fn groups(groups: Vec<u64>) -> Result<Self> {
        Self::new(Vec::new(), groups)
    }

    /// No numbers and no groups: only for requests that carry their recipients elsewhere
    /// (WhatsApp group JIDs), whose constructors check that something is addressed.
    pub(crate) fn none() -> Self {
        Self {
            numbers: Vec::new(),
            groups: Vec::new(),
        }
    }

    /// The phone numbers.
    pub fn phone_numbers(&self) -> &[Phone] {
        &self.numbers
    }

    /// The contact group ids.
    pub fn group_ids(&self) -> &[u64] {
        &self.groups
    }

    pub(crate) fn numbers_csv(&self) -> Option<String> {
        (!self.numbers.is_empty()).then(|| {
            self.numbers
                .iter()
                .map(Phone::e164)
                .collect::<Vec<_>>()
                .join(",")
        })
    }

    pub(crate) fn groups_csv(&self) -> Option<String> {
        (!self.groups.is_empty()).then(|| {
            self.groups
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        })
    }
}

/// `send/sms.bulk` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendBulkSms {
    /// Campaign name.
    pub campaign: String,
    /// Text (spintax and shortcodes such as `{{contact.name}}`).
    pub message: String,
    /// Numbers and/or groups.
    pub recipients: Recipients,
    /// Device or credits.
    pub route: SmsRoute,
    /// Shortener id.
    pub shortener: Option<u64>,
}

impl SendBulkSms {
    /// A campaign without shortener.
    pub fn new(
        campaign: impl Into<String>,
        message: impl Into<String>,
        recipients: Recipients,
        route: SmsRoute,
    ) -> Self {
        Self {
            campaign: campaign.into(),
            message: message.into(),
            recipients,
            route,
            shortener: None,
        }
    }
}

/// What a send answered. Older builds return no id (`data: false`); newer builds return
/// `{"messageId": …}` (spec Q21).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SmsReceipt {
    /// `Message has been queued for sending!` or `Message has been sent!`.
    pub message: String,
    /// The new message id when the build reports it.
    pub message_id: Option<u64>,
}

impl SmsReceipt {
    /// True when a gateway sent it immediately (`Message has been sent!`) rather than queued.
    pub fn is_sent_immediately(&self) -> bool {
        self.message == "Message has been sent!"
    }
}

/// Sending route of a listed message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsMode {
    /// Own device.
    Devices,
    /// Gateway or partner device.
    Credits,
    /// Anything else a build may send.
    #[serde(other)]
    Unknown,
}

/// Kind of sender of a listed message or campaign.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SenderType {
    /// Own Android device.
    Device,
    /// Platform gateway.
    Gateway,
    /// Shared device of another user.
    PartnerDevice,
    /// Anything else.
    #[serde(other)]
    Unknown,
}

/// Status of a sent SMS. The lists give only `sent` / `failed`; `get/sms.message` (newer builds,
/// spec Q21) also answers for messages still waiting.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsStatus {
    /// Stored status 1: waiting for the handset or the partner device.
    Pending,
    /// Stored status 2: picked up by the handset, or awaiting a gateway callback.
    Queued,
    /// Stored status 3.
    Sent,
    /// Stored status 4.
    Failed,
    /// Anything else.
    #[serde(other)]
    Unknown,
}

/// A row of `get/sms.sent`, or the sent message `get/sms.message` found.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct SentSms {
    /// Message id.
    #[serde(deserialize_with = "wire::uint")]
    pub id: u64,
    /// Route.
    pub mode: SmsMode,
    /// Device unique, gateway name or partner unique.
    #[serde(default, deserialize_with = "wire::string")]
    pub sender: String,
    /// Kind of sender.
    pub sender_type: SenderType,
    /// SIM slot (0 for gateways).
    #[serde(default, deserialize_with = "wire::uint")]
    pub sim: u64,
    /// `true` iff the stored priority is ≥ 2 (spec §3.7; inverted with respect to the send
    /// parameter's documentation).
    #[serde(default, deserialize_with = "wire::boolean")]
    pub priority: bool,
    /// Created through the API.
    #[serde(default, deserialize_with = "wire::boolean")]
    pub api: bool,
    /// Sent or failed.
    pub status: SmsStatus,
    /// Last handset code, e.g. `SMS_DELIVERED`; empty for gateways.
    #[serde(default, deserialize_with = "wire::string")]
    pub status_code: String,
    /// Recipient (E.164 as stored).
    #[serde(default, deserialize_with = "wire::string")]
    pub recipient: String,
    /// Final text, HTML-unescaped.
    #[serde(default, deserialize_with = "wire::html")]
    pub message: String,
    /// Unix seconds.
    #[serde(default, deserialize_with = "wire::int")]
    pub created: i64,
}

/// A row of `get/sms.pending` (waiting for the handset).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct PendingSms {
    /// Message id.
    #[serde(deserialize_with = "wire::uint")]
    pub id: u64,
    /// Route.
    pub mode: SmsMode,
    /// Device unique, gateway name or partner unique.
    #[serde(default, deserialize_with = "wire::string")]
    pub sender: String,
    /// Kind of sender.
    pub sender_type: SenderType,
    /// SIM slot.
    #[serde(default, deserialize_with = "wire::uint")]
    pub sim: u64,
    /// `true` iff stored priority ≥ 2.
    #[serde(default, deserialize_with = "wire::boolean")]
    pub priority: bool,
    /// Created through the API.
    #[serde(default, deserialize_with = "wire::boolean")]
    pub api: bool,
    /// Recipient.
    #[serde(default, deserialize_with = "wire::string")]
    pub recipient: String,
    /// Text, HTML-unescaped.
    #[serde(default, deserialize_with = "wire::html")]
    pub message: String,
    /// Unix seconds.
    #[serde(default, deserialize_with = "wire::int")]
    pub created: i64,
}

/// A row of `get/sms.received`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ReceivedSms {
    /// Row id.
    #[serde(deserialize_with = "wire::uint")]
    pub id: u64,
    /// Device unique id that received it.
    #[serde(default, deserialize_with = "wire::string")]
    pub device: String,
    /// Sender as reported by the handset (may be alphanumeric).
    #[serde(default, deserialize_with = "wire::string")]
    pub sender: String,
    /// Text, HTML-unescaped.
    #[serde(default, deserialize_with = "wire::html")]
    pub message: String,
    /// Unix seconds.
    #[serde(default, deserialize_with = "wire::int")]
    pub created: i64,
}

impl Client {
    /// Sends one SMS (`POST send/sms`). Never retried automatically: on an ambiguous error
    /// ([`Error::is_ambiguous`]) look the message up in the lists before sending again.
    ///
    /// ```no_run
    /// use messagepro::{SendSms, SmsRoute, Sim};
    /// # async fn demo(client: messagepro::Client) -> messagepro::Result<()> {
    /// let phone = client.parse_phone("621 23 45 67")?; // → +224621234567
    /// let route = SmsRoute::Devices { device: "00000000-…".into(), sim: Sim::One, priority: false };
    /// let receipt = client.send_sms(&SendSms::new(phone, "Bonjour", route)).await?;
    /// println!("{}", receipt.message);
    /// # Ok(()) }
    /// ```
    pub async fn send_sms(&self, req: &SendSms) -> Result<SmsReceipt> {
        let p = Params::new()
            .add("phone", req.phone.e164())
            .add("message", &req.message);
        let p = req.route.push(p, true).opt("shortener", req.shortener);
        let a = self.call("send/sms", Kind::Write, p).await?;
        // `messageId` (spec Q21); `message_id` tolerated
        let message_id = ["messageId", "message_id"]
            .iter()
            .find_map(|k| a.data.get(k).and_then(wire::id_value));
        Ok(SmsReceipt {
            message: a.message,
            message_id,
        })
    }

    /// Starts an SMS campaign (`POST send/sms.bulk`). Numbers are sent comma-separated in
    /// E.164. No campaign id is returned by the platform; see `get_sms_campaigns`.
    ///
    /// ```no_run
    /// use messagepro::{Recipients, SendBulkSms, SmsRoute};
    /// # async fn demo(client: messagepro::Client) -> messagepro::Result<()> {
    /// let to = Recipients::new(vec![client.parse_phone("621234567")?], vec![3])?;
    /// let req = SendBulkSms::new("Promo", "Bonjour {{contact.name}}", to, SmsRoute::device("dev-1"));
    /// client.send_bulk_sms(&req).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_bulk_sms(&self, req: &SendBulkSms) -> Result<Ack> {
        let p = Params::new()
            .add("campaign", &req.campaign)
            .add("message", &req.message)
            .opt("numbers", req.recipients.numbers_csv())
            .opt("groups", req.recipients.groups_csv());
        let p = req.route.push(p, true).opt("shortener", req.shortener);
        self.ack("send/sms.bulk", Kind::Write, p).await
    }

    /// One page of sent and failed SMS (`get/sms.sent`). Mind the page-2 gap (§1.8); use
    /// [`all_sent_messages`](Self::all_sent_messages) for everything.
    ///
    /// ```no_run
    /// # async fn demo(client: messagepro::Client) -> messagepro::Result<()> {
    /// let newest = client.get_sent_messages(messagepro::PageRequest::first(20)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn get_sent_messages(&self, page: PageRequest) -> Result<Vec<SentSms>> {
        self.list("get/sms.sent", page).await
    }

    /// Every sent/failed SMS, each once.
    pub async fn all_sent_messages(&self) -> Result<Vec<SentSms>> {
        fetch_all(DEFAULT_FETCH_ALL_LIMIT, |p| self.get_sent_messages(p)).await
    }

    /// One page of SMS waiting for the handset (`get/sms.pending`).
    pub async fn get_pending_messages(&self, page: PageRequest) -> Result<Vec<PendingSms>> {
        self.list("get/sms.pending", page).await
    }

    /// Every pending SMS, each once.
    pub async fn all_pending_messages(&self) -> Result<Vec<PendingSms>> {
        fetch_all(DEFAULT_FETCH_ALL_LIMIT, |p| self.get_pending_messages(p)).await
    }

    /// One page of received SMS (`get/sms.received`).
    pub async fn get_received_messages(&self, page: PageRequest) -> Result<Vec<ReceivedSms>> {
        self.list("get/sms.received", page).await
    }

    /// Every received SMS, each once.
    pub async fn all_received_messages(&self) -> Result<Vec<ReceivedSms>> {
        fetch_all(DEFAULT_FETCH_ALL_LIMIT, |p| self.get_received_messages(p)).await
    }

    /// One sent (or still waiting) SMS by the id `send/sms` returned (`get/sms.message`,
    /// `type=sent`; newer builds only, spec Q21 — a 3.3.8 build answers
    /// [`Error::UnknownEndpoint`]). Needs the key's `get_message` permission. An id that is not
    /// this account's, or was deleted, is [`Error::MessageNotFound`].
    ///
    /// ```no_run
    /// # async fn demo(client: messagepro::Client, id: u64) -> messagepro::Result<()> {
    /// let m = client.get_sms_message(id).await?;
    /// println!("{:?} {}", m.status, m.status_code);
    /// # Ok(()) }
    /// ```
    pub async fn get_sms_message(&self, id: u64) -> Result<SentSms> {
        self.one("get/sms.message", id, "sent").await
    }

    /// One received SMS by id (`get/sms.message`, `type=received`; newer builds only).
    pub async fn get_received_sms_message(&self, id: u64) -> Result<ReceivedSms> {
        self.one("get/sms.message", id, "received").await
    }

    /// Deletes a sent or pending SMS (`delete/sms.sent`); succeeds for unknown ids.
    pub async fn delete_sent_message(&self, id: u64) -> Result<Ack> {
        self.ack("delete/sms.sent", Kind::Action, Params::new().add("id", id))
            .await
    }

    /// Deletes a received SMS (`delete/sms.received`).
    pub async fn delete_received_message(&self, id: u64) -> Result<Ack> {
        self.ack(
            "delete/sms.received",
            Kind::Action,
            Params::new().add("id", id),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_text_follows_the_platform_integer_rule() {
        assert_eq!(Gateway::parse("12"), Gateway::Id(12));
        assert_eq!(Gateway::parse("007"), Gateway::Partner("007".into()));
        assert_eq!(
            Gateway::parse("00000000-0000-0000-aaaa-0123456789ab"),
            Gateway::Partner("00000000-0000-0000-aaaa-0123456789ab".into())
        );
    }

    #[test]
    fn recipients_need_at_least_one_entry() {
        assert!(matches!(
            Recipients::new(vec![], vec![]),
            Err(Error::InvalidInput(_))
        ));
        assert!(Recipients::groups(vec![1]).is_ok());
    }
}
