//! What the WhatsApp endpoints answer: send receipts, accounts, listed chats, servers, links,
//! groups and number validation.

use serde::{Deserialize, Serialize};

use crate::wire;

/// Answer of `send/whatsapp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaReceipt {
    /// `WhatsApp chat has been sent!` or `…queued for sending!`.
    pub message: String,
    /// The chat id, if a build returns `{"messageId": …}` here too (3.3.8 and the build of
    /// spec Q21 answer `data: false`).
    pub message_id: Option<u64>,
}

/// Answer of `send/whatsapp.bulk`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaBulkReceipt {
    /// `{N} chats has been queued for sending!`.
    pub message: String,
    /// N, read from the message.
    pub queued: Option<u64>,
    /// Campaign id, when a newer build returns it (Q21).
    pub campaign_id: Option<u64>,
    /// The id of each chat queued, in recipient order, when a newer build returns them (Q21);
    /// empty on 3.3.8.
    pub message_ids: Vec<u64>,
}

/// Live status of a WhatsApp account.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WaAccountStatus {
    /// Ready to send.
    Connected,
    /// Linking.
    Connecting,
    /// Unlinking.
    Disconnecting,
    /// Not connected.
    Disconnected,
    /// Server unreachable or other answer.
    #[serde(other)]
    Unknown,
}

/// A row of `get/wa.accounts`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct WaAccount {
    /// Row id.
    #[serde(deserialize_with = "wire::uint")]
    pub id: u64,
    /// `+digits`.
    #[serde(default, deserialize_with = "wire::string")]
    pub phone: String,
    /// Unique id used as `account` in sends.
    #[serde(default, deserialize_with = "wire::string")]
    pub unique: String,
    /// Live status.
    pub status: WaAccountStatus,
    /// Unix seconds.
    #[serde(default, deserialize_with = "wire::int")]
    pub created: i64,
}

/// Status of a sent chat. The lists give only `sent` / `failed`; `get/wa.message` (newer
/// builds, spec Q21) also answers for chats still waiting.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatStatus {
    /// Stored 1: waiting for the WhatsApp server.
    Pending,
    /// Stored 2: fetched by the WhatsApp server.
    Queued,
    /// Stored 3.
    Sent,
    /// Stored 4.
    Failed,
    /// Anything else.
    #[serde(other)]
    Unknown,
}

/// A row of `get/wa.sent`, or the sent chat `get/wa.message` found.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct SentChat {
    /// Row id.
    #[serde(deserialize_with = "wire::uint")]
    pub id: u64,
    /// Sending account `+digits`.
    #[serde(default, deserialize_with = "wire::string")]
    pub account: String,
    /// Sent or failed.
    pub status: ChatStatus,
    /// Created through the API.
    #[serde(default, deserialize_with = "wire::boolean")]
    pub api: bool,
    /// E.164 or group JID.
    #[serde(default, deserialize_with = "wire::string")]
    pub recipient: String,
    /// Text or caption, HTML-unescaped.
    #[serde(default, deserialize_with = "wire::opt_html")]
    pub message: Option<String>,
    /// Attachment URL.
    #[serde(default, deserialize_with = "wire::opt_string")]
    pub attachment: Option<String>,
    /// Unix seconds.
    #[serde(default, deserialize_with = "wire::int")]
    pub created: i64,
}

/// A row of `get/wa.pending`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct PendingChat {
    /// Row id.
    #[serde(deserialize_with = "wire::uint")]
    pub id: u64,
    /// Sending account `+digits`.
    #[serde(default, deserialize_with = "wire::string")]
    pub account: String,
    /// Created through the API.
    #[serde(default, deserialize_with = "wire::boolean")]
    pub api: bool,
    /// E.164 or group JID.
    #[serde(default, deserialize_with = "wire::string")]
    pub recipient: String,
    /// Text or caption.
    #[serde(default, deserialize_with = "wire::opt_html")]
    pub message: Option<String>,
    /// Attachment URL.
    #[serde(default, deserialize_with = "wire::opt_string")]
    pub attachment: Option<String>,
    /// Unix seconds.
    #[serde(default, deserialize_with = "wire::int")]
    pub created: i64,
}

/// A row of `get/wa.received`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ReceivedChat {
    /// Row id.
    #[serde(deserialize_with = "wire::uint")]
    pub id: u64,
    /// Receiving account `+digits`.
    #[serde(default, deserialize_with = "wire::string")]
    pub account: String,
    /// The **sender** (`+digits` or group JID) — the platform calls it `recipient`.
    #[serde(default, deserialize_with = "wire::string")]
    pub recipient: String,
    /// Text, HTML-unescaped.
    #[serde(default, deserialize_with = "wire::opt_html")]
    pub message: Option<String>,
    /// Downloaded attachment URL.
    #[serde(default, deserialize_with = "wire::opt_string")]
    pub attachment: Option<String>,
    /// Unix seconds.
    #[serde(default, deserialize_with = "wire::int")]
    pub created: i64,
}

/// A row of `get/wa.servers`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct WaServer {
    /// Server id (`sid` of `create/wa.link`).
    #[serde(deserialize_with = "wire::uint")]
    pub id: u64,
    /// Name.
    #[serde(default, deserialize_with = "wire::html")]
    pub name: String,
    /// `online` / `offline`.
    #[serde(default, deserialize_with = "wire::string")]
    pub status: String,
    /// Below capacity.
    #[serde(default, deserialize_with = "wire::boolean")]
    pub available: bool,
}

/// Answer of `create/wa.link` / `create/wa.relink`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct WaLink {
    /// The QR payload to render.
    #[serde(default, deserialize_with = "wire::string")]
    pub qrstring: String,
    /// URL of the PNG (`get/wa.qr?token=…`); the token is a 10-minute bearer credential.
    #[serde(default, deserialize_with = "wire::string")]
    pub qrimagelink: String,
    /// URL to poll (`get/wa.info?token=…`); absent for relinks.
    #[serde(default, deserialize_with = "wire::opt_string")]
    pub infolink: Option<String>,
}

impl WaLink {
    /// The `token` query parameter of the links.
    pub fn token(&self) -> Option<String> {
        let link = self.infolink.as_deref().unwrap_or(&self.qrimagelink);
        let url = url::Url::parse(link).ok()?;
        url.query_pairs()
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
    }
}

/// Result of polling `get/wa.info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum WaLinkStatus {
    /// Status 301: not scanned yet, poll again.
    Waiting,
    /// Linked.
    Linked {
        /// Raw WhatsApp id, e.g. `224621234567:12@s.whatsapp.net`.
        wid: String,
        /// Account unique id to use as `account`.
        unique: String,
    },
}

/// A row of `get/wa.groups`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct WaGroup {
    /// Group JID (`…@g.us`).
    #[serde(default, deserialize_with = "wire::string")]
    pub gid: String,
    /// Group name.
    #[serde(default, deserialize_with = "wire::html")]
    pub name: String,
}

/// A row of `get/wa.group.contacts` (admins are excluded by the platform).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct WaGroupContact {
    /// `+digits`.
    #[serde(default, deserialize_with = "wire::string")]
    pub phone: String,
}

/// Answer of `validate/whatsapp`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct WaValidation {
    /// `224621234567@s.whatsapp.net`.
    #[serde(default, deserialize_with = "wire::string")]
    pub jid: String,
    /// `+224621234567`.
    #[serde(default, deserialize_with = "wire::string")]
    pub phone: String,
}
