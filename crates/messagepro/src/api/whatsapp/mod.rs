//! WhatsApp endpoints: sends (text, media, document; URL or uploaded file), campaigns' sends,
//! accounts, chats lists, server list, account linking (QR), groups, number validation. The
//! request types are in `request.rs`, the answers and listed rows in `rows.rs`; the calls here.
//!
//! Content is an enum so a request is either text, media or a document, and a media/document
//! comes either from a URL (with its declared kind) or from file bytes (sent as multipart,
//! spec §1.2). Wire names follow §2.1.4: `type=text|media|document`, `media_url` + `media_type`
//! (`image|audio|video`), `media_file`, `document_url` + `document_type` (`pdf|xls|xlsx|doc|docx`)
//! + optional `document_name`, `document_file`.

use serde::Deserialize;

use crate::client::{Kind, Params};
use crate::error::Error;
use crate::paging::{DEFAULT_FETCH_ALL_LIMIT, PageRequest, fetch_all};
use crate::{Ack, Client, Phone, Result, wire};

mod request;
mod rows;

pub use request::*;
pub use rows::*;

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
