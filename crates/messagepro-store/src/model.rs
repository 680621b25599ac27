//! The records the store reads and writes. Column names match the struct fields so rows decode
//! with `#[derive(sqlx::FromRow)]` on both backends; enums are stored as lowercase text.

use std::fmt;
use std::str::FromStr;

/// A console user as stored (the hash never leaves the server; it has no `Display`).
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role_id: i64,
    pub role_name: String,
    pub language: Option<String>,
    pub disabled: bool,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub last_login_ms: Option<i64>,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("password_hash", &"[redacted]")
            .field("role_name", &self.role_name)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

/// A new user (the password is already hashed).
#[derive(Clone)]
pub struct NewUser {
    pub username: String,
    pub password_hash: String,
    pub role_id: i64,
    pub language: Option<String>,
}

/// A role and its permissions (permission names as text, e.g. `messaging.read`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub builtin: bool,
    pub permissions: Vec<String>,
    pub created_ms: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct RoleRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub builtin: bool,
    pub created_ms: i64,
}

/// A stored session (tower-sessions record serialised as JSON).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub id: String,
    pub data: String,
    pub expiry_ms: i64,
}

/// What the "My account" page shows of a session, copied by the console's session store from
/// the session's data at every save (`None` for an anonymous session).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionMeta {
    pub user_id: Option<i64>,
    /// When the user signed in (Unix ms).
    pub created_ms: Option<i64>,
    /// When the session was last seen (Unix ms; refreshed about once a minute).
    pub seen_ms: Option<i64>,
    pub user_agent: Option<String>,
}

/// A live session of a user, for the user's own sessions list. `id` is the session id — a
/// bearer secret: never shown, logged or printed (`Debug` redacts it).
#[derive(Clone, sqlx::FromRow)]
pub struct UserSession {
    pub id: String,
    pub created_ms: Option<i64>,
    pub seen_ms: Option<i64>,
    pub user_agent: Option<String>,
    pub expiry_ms: i64,
}

impl fmt::Debug for UserSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserSession")
            .field("id", &"[redacted]")
            .field("created_ms", &self.created_ms)
            .field("seen_ms", &self.seen_ms)
            .field("user_agent", &self.user_agent)
            .finish_non_exhaustive()
    }
}

/// Outcome of an audited action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// One line to append to the audit log.
#[derive(Debug, Clone)]
pub struct NewAudit {
    pub at_ms: i64,
    pub user_id: Option<i64>,
    pub username: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub outcome: Outcome,
    pub detail: Option<String>,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    pub at_ms: i64,
    pub user_id: Option<i64>,
    pub username: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub outcome: String,
    pub detail: Option<String>,
}

/// Filters of the audit page (all optional, combined with AND).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub username: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

/// Pagination: newest first. `before_id` (keyset, for long lists) wins over `offset`.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
    pub before_id: Option<i64>,
}

impl Page {
    /// The first `limit` rows.
    pub fn first(limit: i64) -> Page {
        Page {
            limit,
            offset: 0,
            before_id: None,
        }
    }
    /// Page `n` (0-based) of `size` rows, by offset.
    pub fn number(n: i64, size: i64) -> Page {
        Page {
            limit: size,
            offset: n.max(0) * size,
            before_id: None,
        }
    }
    /// The `limit` rows older than `id` (keyset).
    pub fn before(id: i64, limit: i64) -> Page {
        Page {
            limit,
            offset: 0,
            before_id: Some(id),
        }
    }
}

/// Failed-login bookkeeping for one key (`user:<name>` or `ip:<addr>`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ThrottleState {
    pub key: String,
    pub failures: i64,
    pub first_failure_ms: i64,
    pub locked_until_ms: Option<i64>,
    /// Locks since the last success or unlock (each lock lasts twice the previous one).
    #[sqlx(default)]
    pub lockouts: i64,
}

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }
        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The stored text.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }
        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s { $($text => Ok($name::$variant),)+ other => Err(format!("unknown {}: {other}", stringify!($name))) }
            }
        }
        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> { s.parse() }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

text_enum!(
    /// The channel a message went through.
    Channel { Sms = "sms", Whatsapp = "whatsapp", Otp = "otp" }
);
text_enum!(
    /// Local status of a message. `Queued`: accepted, its outbox job waits; `Sending`: a worker
    /// holds the job and may be calling the platform; `Unknown`: the request may have reached the
    /// platform (timeout after sending, lease expired); reconciled from the platform, never resent.
    /// `Skipped`: never sent, by policy (opted out, cancelled…); the reason is in
    /// `platform_message` as a code (`skip.opted_out`).
    MessageStatus { Queued = "queued", Sending = "sending", Sent = "sent", Pending = "pending", Failed = "failed", Unknown = "unknown", Skipped = "skipped" }
);
text_enum!(
    /// Status of a campaign.
    CampaignStatus { Draft = "draft", Queued = "queued", Running = "running", Paused = "paused", Done = "done", Cancelled = "cancelled" }
);

/// The local record of one send.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Message {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub channel: Channel,
    /// E.164.
    pub recipient: String,
    pub text: String,
    /// Route chosen (mode, device, gateway, SIM…) as JSON text.
    pub route: String,
    #[sqlx(try_from = "String")]
    pub status: MessageStatus,
    /// The platform's id of the message, when known.
    pub platform_id: Option<String>,
    /// The platform's answer message (e.g. an error text).
    pub platform_message: Option<String>,
    pub segments: i64,
    pub created_by: Option<i64>,
    pub campaign_id: Option<i64>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// A message to record (status `queued` unless told otherwise).
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub channel: Channel,
    pub recipient: String,
    pub text: String,
    pub route: serde_json::Value,
    pub status: MessageStatus,
    pub segments: i64,
    pub created_by: Option<i64>,
    pub campaign_id: Option<i64>,
}

/// Filters of message lists (all optional, combined with AND).
#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    pub channel: Option<Channel>,
    pub status: Option<MessageStatus>,
    pub campaign_id: Option<i64>,
    pub created_by: Option<i64>,
    /// Exact E.164 recipient.
    pub recipient: Option<String>,
    /// Substring of the text.
    pub text_contains: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

/// A campaign (bulk send).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Campaign {
    pub id: i64,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub channel: Channel,
    #[sqlx(try_from = "String")]
    pub status: CampaignStatus,
    pub total: i64,
    pub created_by: Option<i64>,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// Scheduled start (Unix ms), when it was scheduled for later.
    pub start_ms: Option<i64>,
    /// When it was paused (resume shifts its waiting jobs by the pause's length).
    pub paused_ms: Option<i64>,
    /// The integration API token that started it.
    pub token_id: Option<i64>,
}

/// A new campaign.
#[derive(Debug, Clone)]
pub struct NewCampaign {
    pub name: String,
    pub channel: Channel,
    pub status: CampaignStatus,
    pub total: i64,
    pub created_by: Option<i64>,
    /// Scheduled start (Unix ms); `None`: now.
    pub start_ms: Option<i64>,
    /// The integration API token that starts it.
    pub token_id: Option<i64>,
}

/// A contact (phone in E.164, unique).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Contact {
    pub id: i64,
    pub name: String,
    pub phone: String,
    pub opted_out_ms: Option<i64>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// Filters of the contact list.
#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    /// Substring of the name or the phone.
    pub search: Option<String>,
    pub group_id: Option<i64>,
    pub include_opted_out: bool,
}

/// A contact group with its member count.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Group {
    pub id: i64,
    pub name: String,
    pub created_ms: i64,
    pub members: i64,
}
