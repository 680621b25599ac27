//! What a WhatsApp send takes: the recipient, the content (text, media or document, from a URL or
//! file bytes) and the single and bulk requests.

use serde::{Deserialize, Serialize};

use crate::client::{Params, Upload};
use crate::error::Error;
use crate::{Phone, Recipients, Result};

/// A single-chat recipient: a phone number or a WhatsApp group JID (`…@g.us`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaRecipient {
    /// A person (sent as E.164).
    Phone(Phone),
    /// A group JID, sent verbatim.
    Group(String),
}

impl WaRecipient {
    pub(super) fn wire(&self) -> String {
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
    pub(super) fn push(&self, p: Params) -> Result<(Params, Vec<Upload>)> {
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
