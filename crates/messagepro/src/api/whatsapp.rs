//! WhatsApp endpoints: sends (text, media, document; URL or uploaded file), campaigns' sends,
//! accounts, chats lists, server list, account linking (QR), groups, number validation.
//!
//! Content is an enum so a request is either text, media or a document, and a media/document
//! comes either from a URL (with its declared kind) or from file bytes (sent as multipart,
//! spec §1.2). Wire names follow §2.1.4: `type=text|media|document`, `media_url` + `media_type`
//! (`image|audio|video`), `media_file`, `document_url` + `document_type` (`pdf|xls|xlsx|doc|docx`)
//! + optional `document_name`, `document_file`.

use serde::{Deserialize, Serialize};

use crate::client::{Kind, Params, Upload};
use crate::error::Error;
use crate::paging::{DEFAULT_FETCH_ALL_LIMIT, PageRequest, fetch_all};
use crate::{Ack, Client, Phone, Recipients, Result, wire};

/// A single-chat recipient: a phone number or a WhatsApp group JID (`…@g.us`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaRecipient {
    /// A person (sent as E.164).
    Phone(Phone),
    /// A group JID, sent verbatim.
    Group(String),
}

impl WaRecipient {
    fn wire(&self) -> String {
        match self {
            WaRecipient::Phone(p) => p.e164().to_owned(),
            WaRecipient::Group(j) => j.clone(),
        }
    }
}

/// Kind of a media sent by URL. Wire: `media_type=image|audio|video`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// jpg/png/gif.
    Image,
    /// mp3/ogg (the platform drops the caption of audio).
    Audio,
    /// mp4.
    Video,
}

impl MediaKind {
    fn wire(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
        }
    }
}

/// Declared type of a document sent by URL. Wire: `document_type=pdf|xls|xlsx|doc|docx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocumentType {
    /// PDF.
    Pdf,
    /// Excel 97.
    Xls,
    /// Excel.
    Xlsx,
    /// Word 97.
    Doc,
    /// Word.
    Docx,
}

impl DocumentType {
    fn wire(self) -> &'static str {
        match self {
            DocumentType::Pdf => "pdf",
            DocumentType::Xls => "xls",
            DocumentType::Xlsx => "xlsx",
            DocumentType::Doc => "doc",
            DocumentType::Docx => "docx",
        }
    }

    /// From a file extension or type name (`pdf`, `DOCX`…).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "pdf" => Some(Self::Pdf),
            "xls" => Some(Self::Xls),
            "xlsx" => Some(Self::Xlsx),
            "doc" => Some(Self::Doc),
            "docx" => Some(Self::Docx),
            _ => None,
        }
    }
}

/// Where a media comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaSource {
    /// A direct link (`media_url` + `media_type`).
    Url {
        /// The link.
        url: String,
        /// Its kind.
        kind: MediaKind,
    },
    /// An uploaded file (`media_file`, multipart). The platform derives the kind from the
    /// extension: jpg, jpeg, png, gif, mp4, mp3, ogg.
    File {
        /// File name with extension.
        name: String,
        /// Content.
        bytes: Vec<u8>,
    },
}

/// Where a document comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentSource {
    /// A link (`document_url` + `document_type`, optional `document_name`).
    Url {
        /// The link.
        url: String,
        /// Its type.
        kind: DocumentType,
        /// File name shown to the recipient.
        name: Option<String>,
    },
    /// An uploaded file (`document_file`, multipart); its name is kept.
    File {
        /// File name with extension (pdf, xls, xlsx, doc, docx).
        name: String,
        /// Content.
        bytes: Vec<u8>,
    },
}

/// What a chat carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaContent {
    /// `type=text`.
    Text(String),
    /// `type=media` with a caption.
    Media {
        /// Caption (`message`).
        caption: String,
        /// URL or file.
        source: MediaSource,
    },
    /// `type=document` with a caption.
    Document {
        /// Caption (`message`).
        caption: String,
        /// URL or file.
        source: DocumentSource,
    },
}

impl WaContent {
    fn push(&self, p: Params) -> Result<(Params, Vec<Upload>)> {
        let mut uploads = Vec::new();
        let p = match self {
            WaContent::Text(t) => p.add("type", "text").add("message", t),
            WaContent::Media { caption, source } => {
                let p = p.add("type", "media").add("message", caption);
                match source {
                    MediaSource::Url { url, kind } => {
                        check_url(url)?;
                        p.add("media_url", url).add("media_type", kind.wire())
                    }
                    MediaSource::File { name, bytes } => {
                        uploads.push(Upload {
                            field: "media_file",
                            file_name: name.clone(),
                            bytes: bytes.clone(),
                        });
                        p
                    }
                }
            }
            WaContent::Document { caption, source } => {
                let p = p.add("type", "document").add("message", caption);
                match source {
                    DocumentSource::Url { url, kind, name } => {
                        check_url(url)?;
                        p.add("document_url", url)
                            .add("document_type", kind.wire())
                            .opt("document_name", name.as_ref())
                    }
                    DocumentSource::File { name, bytes } => {
                        uploads.push(Upload {
                            field: "document_file",
                            file_name: name.clone(),
                            bytes: bytes.clone(),
                        });
                        p
                    }
                }
            }
        };
        Ok((p, uploads))
    }
}

fn check_url(u: &str) -> Result<()> {
    match url::Url::parse(u) {
        Ok(parsed) if parsed.has_host() => Ok(()),
        _ => Err(Error::InvalidInput(format!("`{u}` is not a URL"))),
    }
}

/// `send/whatsapp` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendWhatsApp {
    /// Sender account unique id (`get/wa.accounts` → `unique`).
    pub account: String,
    /// Person or group.
    pub recipient: WaRecipient,
    /// Text, media or document.
    pub content: WaContent,
    /// `true` sends `priority=1` (pushed now, failures reported synchronously); `false` omits it
    /// (queued, the platform default).
    pub priority: bool,
    /// Shortener id.
    pub shortener: Option<u64>,
}

impl SendWhatsApp {
    /// A queued chat.
    pub fn new(account: impl Into<String>, recipient: WaRecipient, content: WaContent) -> Self {
        Self {
            account: account.into(),
            recipient,
            content,
            priority: false,
            shortener: None,
        }
    }
}

/// `send/whatsapp.bulk` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendBulkWhatsApp {
    /// Sender account unique id.
    pub account: String,
    /// Campaign name (≥ 3 bytes).
    pub campaign: String,
    /// Text, media or document.
    pub content: WaContent,
    /// Numbers and/or contact groups.
    pub recipients: Recipients,
    /// Extra WhatsApp group JIDs (`…@g.us`) appended to `recipients`.
    pub group_jids: Vec<String>,
    /// Shortener id.
    pub shortener: Option<u64>,
}

impl SendBulkWhatsApp {
    /// A campaign.
    pub fn new(
        account: impl Into<String>,
        campaign: impl Into<String>,
        content: WaContent,
        recipients: Recipients,
    ) -> Self {
        Self {
            account: account.into(),
            campaign: campaign.into(),
            content,
            recipients,
            group_jids: Vec::new(),
            shortener: None,
        }
    }
}

impl SendBulkWhatsApp {
    /// A campaign to WhatsApp group JIDs only (`…@g.us`); fails when `jids` is empty or an
    /// entry is not a group JID.
    pub fn to_group_jids(
        account: impl Into<String>,
        campaign: impl Into<String>,
        content: WaContent,
        jids: Vec<String>,
    ) -> Result<Self> {
        if jids.is_empty() {
            return Err(Error::InvalidInput(
                "a campaign needs at least one recipient".into(),
            ));
        }
        if let Some(bad) = jids.iter().find(|j| !j.contains("@g.us")) {
            return Err(Error::InvalidInput(format!(
                "`{bad}` is not a WhatsApp group JID (…@g.us)"
            )));
        }
        let mut req = Self::new(account, campaign, content, Recipients::none());
        req.group_jids = jids;
        Ok(req)
    }
}

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

fn leading_count(message: &str) -> Option<u64> {
    message.split_whitespace().next()?.parse().ok()
}

impl Client {
    /// Sends one chat (`POST send/whatsapp`, multipart when a file is attached). Never retried.
    ///
    /// ```no_run
    /// use messagepro::{SendWhatsApp, WaContent, WaRecipient};
    /// # async fn demo(client: messagepro::Client) -> messagepro::Result<()> {
    /// let to = WaRecipient::Phone(client.parse_phone("621234567")?);
    /// let req = SendWhatsApp::new("account-unique", to, WaContent::Text("Bonjour".into()));
    /// client.send_whatsapp(&req).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_whatsapp(&self, req: &SendWhatsApp) -> Result<WaReceipt> {
        let p = Params::new()
            .add("account", &req.account)
            .add("recipient", req.recipient.wire());
        let (p, uploads) = req.content.push(p)?;
        let p = if req.priority {
            p.add("priority", 1)
        } else {
            p
        };
        let p = p.opt("shortener", req.shortener);
        let a = self
            .call_with_files("send/whatsapp", Kind::Write, p, uploads)
            .await?;
        Ok(WaReceipt {
            message_id: a.data.get("messageId").and_then(wire::id_value),
            message: a.message,
        })
    }

    /// Starts a WhatsApp campaign (`POST send/whatsapp.bulk`; recipients go in `recipients`,
    /// not the `numbers` of the vendor examples).
    ///
    /// ```no_run
    /// use messagepro::{Recipients, SendBulkWhatsApp, WaContent};
    /// # async fn demo(client: messagepro::Client) -> messagepro::Result<()> {
    /// let to = Recipients::groups(vec![4])?;
    /// let req = SendBulkWhatsApp::new("account-unique", "Promo", WaContent::Text("Bonjour".into()), to);
    /// let r = client.send_bulk_whatsapp(&req).await?;
    /// println!("{:?} chats queued", r.queued);
    /// # Ok(()) }
    /// ```
    pub async fn send_bulk_whatsapp(&self, req: &SendBulkWhatsApp) -> Result<WaBulkReceipt> {
        let mut list: Vec<String> = req
            .recipients
            .phone_numbers()
            .iter()
            .map(|p| p.e164().to_owned())
            .collect();
        list.extend(req.group_jids.iter().cloned());
        let p = Params::new()
            .add("account", &req.account)
            .add("campaign", &req.campaign);
        let (p, uploads) = req.content.push(p)?;
        let p = p
            .opt("recipients", (!list.is_empty()).then(|| list.join(",")))
            .opt("groups", req.recipients.groups_csv())
            .opt("shortener", req.shortener);
        let a = self
            .call_with_files("send/whatsapp.bulk", Kind::Write, p, uploads)
            .await?;
        let campaign_id = a.data.get("campaignId").and_then(wire::id_value);
        let message_ids = match a.data.get("messageIds") {
            Some(serde_json::Value::Array(ids)) => ids.iter().filter_map(wire::id_value).collect(),
            // a PHP array with holes serialises as an object
            Some(serde_json::Value::Object(ids)) => {
                ids.values().filter_map(wire::id_value).collect()
            }
            _ => Vec::new(),
        };
        Ok(WaBulkReceipt {
            queued: leading_count(&a.message),
            message: a.message,
            campaign_id,
            message_ids,
        })
    }

    /// One sent (or still waiting) chat by id (`get/wa.message`, `type=sent`; newer builds only,
    /// spec Q21 — a 3.3.8 build answers [`Error::UnknownEndpoint`]). An id that is not this
    /// account's, or was deleted, is [`Error::MessageNotFound`].
    ///
    /// [`Error::UnknownEndpoint`]: crate::Error::UnknownEndpoint
    /// [`Error::MessageNotFound`]: crate::Error::MessageNotFound
    pub async fn get_wa_message(&self, id: u64) -> Result<SentChat> {
        self.one("get/wa.message", id, "sent").await
    }

    /// One received chat by id (`get/wa.message`, `type=received`; newer builds only).
    pub async fn get_received_wa_message(&self, id: u64) -> Result<ReceivedChat> {
        self.one("get/wa.message", id, "received").await
    }

    /// One page of linked WhatsApp accounts (`get/wa.accounts`).
    pub async fn get_whatsapp_accounts(&self, page: PageRequest) -> Result<Vec<WaAccount>> {
        self.list("get/wa.accounts", page).await
    }

    /// Every linked WhatsApp account.
    pub async fn all_whatsapp_accounts(&self) -> Result<Vec<WaAccount>> {
        fetch_all(DEFAULT_FETCH_ALL_LIMIT, |p| self.get_whatsapp_accounts(p)).await
    }

    /// One page of sent/failed chats (`get/wa.sent`).
    pub async fn get_sent_chats(&self, page: PageRequest) -> Result<Vec<SentChat>> {
        self.list("get/wa.sent", page).await
    }

    /// Every sent/failed chat.
    pub async fn all_sent_chats(&self) -> Result<Vec<SentChat>> {
        fetch_all(DEFAULT_FETCH_ALL_LIMIT, |p| self.get_sent_chats(p)).await
    }

    /// One page of pending/queued chats (`get/wa.pending`).
    pub async fn get_pending_chats(&self, page: PageRequest) -> Result<Vec<PendingChat>> {
        self.list("get/wa.pending", page).await
    }

    /// One page of received chats (`get/wa.received`).
    pub async fn get_received_chats(&self, page: PageRequest) -> Result<Vec<ReceivedChat>> {
        self.list("get/wa.received", page).await
    }

    /// Every received chat.
    pub async fn all_received_chats(&self) -> Result<Vec<ReceivedChat>> {
        fetch_all(DEFAULT_FETCH_ALL_LIMIT, |p| self.get_received_chats(p)).await
    }

    /// WhatsApp servers available to the package (`get/wa.servers`).
    pub async fn get_wa_servers(&self) -> Result<Vec<WaServer>> {
        let a = self
            .call("get/wa.servers", Kind::Read, Params::new())
            .await?;
        self.list_data("get/wa.servers", a.data)
    }

    /// Starts linking a new account on server `sid` (`POST create/wa.link`).
    pub async fn create_wa_link(&self, sid: u64) -> Result<WaLink> {
        let a = self
            .call("create/wa.link", Kind::Write, Params::new().add("sid", sid))
            .await?;
        self.data("create/wa.link", a.data)
    }

    /// Re-links an existing account (`POST create/wa.relink`).
    pub async fn create_wa_relink(&self, sid: u64, unique: &str) -> Result<WaLink> {
        let p = Params::new().add("sid", sid).add("unique", unique);
        let a = self.call("create/wa.relink", Kind::Write, p).await?;
        self.data("create/wa.relink", a.data)
    }

    /// The QR code PNG of a link token (`get/wa.qr`; authenticated by the token, not the secret).
    pub async fn get_wa_qr(&self, token: &str) -> Result<Vec<u8>> {
        let raw = self
            .send_raw(
                "get/wa.qr",
                Kind::Read,
                Params::new().add("token", token),
                Vec::new(),
                false,
            )
            .await?;
        if raw.content_type.starts_with("image/") || raw.body.starts_with(b"\x89PNG") {
            return Ok(raw.body);
        }
        let a = self.envelope(&raw)?;
        Err(if a.status == 200 {
            Error::Decode {
                http_status: raw.http_status,
                reason: "expected a PNG image".into(),
                snippet: String::new(),
            }
        } else {
            Error::from_platform(a.status, a.message)
        })
    }

    /// Polls the result of a link (`get/wa.info`): [`WaLinkStatus::Waiting`] on status 301.
    pub async fn get_wa_info(&self, token: &str) -> Result<WaLinkStatus> {
        let raw = self
            .send_raw(
                "get/wa.info",
                Kind::Read,
                Params::new().add("token", token),
                Vec::new(),
                false,
            )
            .await?;
        let a = self.envelope(&raw)?;
        match a.status {
            200 => {
                #[derive(Deserialize)]
                struct Info {
                    #[serde(deserialize_with = "wire::string")]
                    wid: String,
                    #[serde(deserialize_with = "wire::string")]
                    unique: String,
                }
                let i: Info = self.data("get/wa.info", a.data)?;
                Ok(WaLinkStatus::Linked {
                    wid: i.wid,
                    unique: i.unique,
                })
            }
            301 => Ok(WaLinkStatus::Waiting),
            s => Err(Error::from_platform(s, a.message)),
        }
    }

    /// Groups of an account (`get/wa.groups`).
    pub async fn get_wa_groups(&self, unique: &str) -> Result<Vec<WaGroup>> {
        let a = self
            .call(
                "get/wa.groups",
                Kind::Read,
                Params::new().add("unique", unique),
            )
            .await?;
        self.list_data("get/wa.groups", a.data)
    }

    /// Members of a group, admins excluded (`get/wa.group.contacts`).
    pub async fn get_wa_group_contacts(
        &self,
        unique: &str,
        gid: &str,
    ) -> Result<Vec<WaGroupContact>> {
        let p = Params::new().add("unique", unique).add("gid", gid);
        let a = self.call("get/wa.group.contacts", Kind::Read, p).await?;
        self.list_data("get/wa.group.contacts", a.data)
    }

    /// Unlinks and deletes an account (`delete/wa.account`).
    pub async fn delete_wa_account(&self, unique: &str) -> Result<Ack> {
        self.ack(
            "delete/wa.account",
            Kind::Action,
            Params::new().add("unique", unique),
        )
        .await
    }

    /// Deletes a sent or queued chat (`delete/wa.sent`).
    pub async fn delete_sent_chat(&self, id: u64) -> Result<Ack> {
        self.ack("delete/wa.sent", Kind::Action, Params::new().add("id", id))
            .await
    }

    /// Deletes a received chat (`delete/wa.received`).
    pub async fn delete_received_chat(&self, id: u64) -> Result<Ack> {
        self.ack(
            "delete/wa.received",
            Kind::Action,
            Params::new().add("id", id),
        )
        .await
    }

    /// Checks that a number exists on WhatsApp (`validate/whatsapp`).
    /// [`Error::Other`] with status 404 when it does not.
    pub async fn validate_whatsapp(&self, unique: &str, phone: &Phone) -> Result<WaValidation> {
        let p = Params::new()
            .add("unique", unique)
            .add("phone", phone.e164());
        let a = self.call("validate/whatsapp", Kind::Read, p).await?;
        self.data("validate/whatsapp", a.data)
    }
}
