//! `messagepro whatsapp send|bulk|show|accounts|sent|received` — WhatsApp chats through linked
//! accounts.
//!
//! Content is text by default; at most one of `--media-url` (with `--media-type`),
//! `--media-file`, `--document-url` (with `--document-type`) or `--document-file` turns it into
//! a media or document chat with the message as caption. Files are uploaded as multipart.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use messagepro::{
    DocumentSource, DocumentType, MediaKind, MediaSource, SendBulkWhatsApp, SendWhatsApp,
    WaContent, WaRecipient,
};

use crate::cli::Globals;
use crate::commands::client;
use crate::commands::sms::{RecipientArgs, spinner};
use crate::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Send one chat to a number or a WhatsApp group.
    Send(SendArgs),
    /// Send a campaign to numbers and/or contact groups.
    Bulk(BulkArgs),
    /// List linked WhatsApp accounts (all pages).
    Accounts,
    /// Show one sent chat by id, with its status now (newer platform builds).
    Show {
        /// Chat id.
        id: u64,
    },
    /// List sent and failed chats (all pages).
    Sent,
    /// List received chats (all pages).
    Received,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum MediaTypeArg {
    Image,
    Audio,
    Video,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum DocTypeArg {
    Pdf,
    Xls,
    Xlsx,
    Doc,
    Docx,
}

#[derive(Debug, clap::Args)]
struct ContentArgs {
    /// Text, or caption of the media/document.
    #[arg(long)]
    message: String,
    /// Link to an image, audio or video.
    #[arg(long, requires = "media_type", conflicts_with_all = ["media_file", "document_url", "document_file"])]
    media_url: Option<String>,
    /// Kind of `--media-url`.
    #[arg(long, value_enum)]
    media_type: Option<MediaTypeArg>,
    /// Image/audio/video file to upload (jpg, jpeg, png, gif, mp4, mp3, ogg).
    #[arg(long, conflicts_with_all = ["document_url", "document_file"])]
    media_file: Option<PathBuf>,
    /// Link to a document.
    #[arg(long, requires = "document_type", conflicts_with = "document_file")]
    document_url: Option<String>,
    /// Type of `--document-url`.
    #[arg(long, value_enum)]
    document_type: Option<DocTypeArg>,
    /// File name shown to the recipient for `--document-url`.
    #[arg(long, requires = "document_url")]
    document_name: Option<String>,
    /// Document to upload (pdf, xls, xlsx, doc, docx).
    #[arg(long)]
    document_file: Option<PathBuf>,
}

fn read_file(path: &Path) -> anyhow::Result<(String, Vec<u8>)> {
    let bytes =
        std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "upload".into());
    Ok((name, bytes))
}

impl ContentArgs {
    fn content(&self) -> anyhow::Result<WaContent> {
        let caption = self.message.clone();
        if let Some(url) = &self.media_url {
            let kind = match self.media_type {
                Some(MediaTypeArg::Image) => MediaKind::Image,
                Some(MediaTypeArg::Audio) => MediaKind::Audio,
                _ => MediaKind::Video,
            };
            return Ok(WaContent::Media {
                caption,
                source: MediaSource::Url {
                    url: url.clone(),
                    kind,
                },
            });
        }
        if let Some(path) = &self.media_file {
            let (name, bytes) = read_file(path)?;
            return Ok(WaContent::Media {
                caption,
                source: MediaSource::File { name, bytes },
            });
        }
        if let Some(url) = &self.document_url {
            let kind = match self.document_type {
                Some(DocTypeArg::Pdf) | None => DocumentType::Pdf,
                Some(DocTypeArg::Xls) => DocumentType::Xls,
                Some(DocTypeArg::Xlsx) => DocumentType::Xlsx,
                Some(DocTypeArg::Doc) => DocumentType::Doc,
                Some(DocTypeArg::Docx) => DocumentType::Docx,
            };
            return Ok(WaContent::Document {
                caption,
                source: DocumentSource::Url {
                    url: url.clone(),
                    kind,
                    name: self.document_name.clone(),
                },
            });
        }
        if let Some(path) = &self.document_file {
            let (name, bytes) = read_file(path)?;
            return Ok(WaContent::Document {
                caption,
                source: DocumentSource::File { name, bytes },
            });
        }
        Ok(WaContent::Text(caption))
    }
}

#[derive(Debug, clap::Args)]
struct SendArgs {
    /// Sender account unique id (see `messagepro whatsapp accounts`).
    #[arg(long)]
    account: String,
    /// Recipient number (local or international) or group JID (…@g.us).
    #[arg(long)]
    to: String,
    #[command(flatten)]
    content: ContentArgs,
    /// Push now instead of queueing (`priority=1`).
    #[arg(long)]
    priority: bool,
}

#[derive(Debug, clap::Args)]
struct BulkArgs {
    /// Sender account unique id.
    #[arg(long)]
    account: String,
    /// Campaign name (at least 3 characters).
    #[arg(long, default_value = "messagepro-cli")]
    campaign: String,
    #[command(flatten)]
    content: ContentArgs,
    #[command(flatten)]
    to: RecipientArgs,
}

const SENT_HEADERS: &[&str] = &["ID", "TIME", "TO", "STATUS", "MESSAGE"];

fn sent_cells(c: &messagepro::SentChat) -> Vec<String> {
    vec![
        c.id.to_string(),
        output::time(c.created),
        c.recipient.clone(),
        format!("{:?}", c.status).to_lowercase(),
        output::cell(c.message.as_deref().unwrap_or(""), 50),
    ]
}

pub async fn run(args: Args, g: &Globals) -> anyhow::Result<ExitCode> {
    let client = client::build(g)?;
    match args.command {
        Command::Send(a) => {
            let recipient = if a.to.contains("@g.us") {
                WaRecipient::Group(a.to.trim().to_owned())
            } else {
                let phone = client.parse_phone(&a.to)?;
                super::suppressed::refuse(&client, g, &phone).await?;
                WaRecipient::Phone(phone)
            };
            let mut req = SendWhatsApp::new(a.account, recipient, a.content.content()?);
            req.priority = a.priority;
            let receipt = client.send_whatsapp(&req).await?;
            if g.json {
                output::json(&receipt)?;
            } else {
                output::line(&receipt.message)?;
            }
        }
        Command::Bulk(a) => {
            let recipients =
                super::sms::without_opted_out(&client, g, a.to.recipients(&client, g.json)?)
                    .await?;
            let req =
                SendBulkWhatsApp::new(a.account, a.campaign, a.content.content()?, recipients);
            let s = spinner(g.json, "sending campaign");
            let r = client.send_bulk_whatsapp(&req).await;
            s.finish_and_clear();
            let r = r?;
            if g.json {
                output::json(&r)?;
            } else {
                output::line(&r.message)?;
            }
        }
        Command::Accounts => {
            let rows = client.all_whatsapp_accounts().await?;
            output::list(
                g.json,
                &rows,
                &["ID", "PHONE", "UNIQUE", "STATUS", "CREATED"],
                |a| {
                    vec![
                        a.id.to_string(),
                        a.phone.clone(),
                        a.unique.clone(),
                        format!("{:?}", a.status).to_lowercase(),
                        output::time(a.created),
                    ]
                },
            )?;
        }
        Command::Show { id } => {
            let c = client.get_wa_message(id).await?;
            output::list(g.json, std::slice::from_ref(&c), SENT_HEADERS, sent_cells)?;
        }
        Command::Sent => {
            let rows = client.all_sent_chats().await?;
            output::list(g.json, &rows, SENT_HEADERS, sent_cells)?;
        }
        Command::Received => {
            let rows = client.all_received_chats().await?;
            output::list(
                g.json,
                &rows,
                &["ID", "TIME", "FROM", "ACCOUNT", "MESSAGE"],
                |c| {
                    vec![
                        c.id.to_string(),
                        output::time(c.created),
                        c.recipient.clone(),
                        c.account.clone(),
                        output::cell(c.message.as_deref().unwrap_or(""), 50),
                    ]
                },
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
