//! Campaign endpoints: SMS and WhatsApp campaign lists, pause/resume (`remote/*`), deletes.
//!
//! Quirks handled here: `delete/sms.campaign` checks existence with `campaign` but deletes with
//! `id`, so both are sent with the same value (spec §2.4); `remote/*.sms` answers 200
//! `Action is not supported in this campaign!` for credits campaigns, surfaced as
//! [`CampaignControl::supported`] = false.

use serde::{Deserialize, Serialize};

use crate::client::{Kind, Params};
use crate::paging::{DEFAULT_FETCH_ALL_LIMIT, PageRequest, fetch_all};
use crate::{Ack, Client, Result, SenderType, wire};

/// Status of a campaign as listed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CampaignStatus {
    /// No message left below "sent".
    Completed,
    /// Running.
    Running,
    /// Paused.
    Paused,
    /// Gateway campaigns (`none`) or anything else.
    #[serde(other)]
    None,
}

/// A row of `get/sms.campaigns`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct SmsCampaign {
    /// Campaign id.
    #[serde(deserialize_with = "wire::uint")]
    pub id: u64,
    /// Device unique, gateway **id** or partner unique.
    #[serde(default, deserialize_with = "wire::string")]
    pub sender: String,
    /// Kind of sender.
    pub sender_type: SenderType,
    /// Status.
    pub status: CampaignStatus,
    /// Name.
    #[serde(default, deserialize_with = "wire::html")]
    pub name: String,
    /// Recipients recorded at creation.
    #[serde(default, deserialize_with = "wire::uint")]
    pub contacts: u64,
    /// Unix seconds.
    #[serde(default, deserialize_with = "wire::int")]
    pub created: i64,
}

/// A row of `get/wa.campaigns`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct WaCampaign {
    /// Campaign id.
    #[serde(deserialize_with = "wire::uint")]
    pub id: u64,
    /// Sending account `+digits`.
    #[serde(default, deserialize_with = "wire::string")]
    pub account: String,
    /// `text`, `media` or `document`.
    #[serde(rename = "type", default, deserialize_with = "wire::string")]
    pub kind: String,
    /// Status.
    pub status: CampaignStatus,
    /// Name.
    #[serde(default, deserialize_with = "wire::html")]
    pub name: String,
    /// Recipients.
    #[serde(default, deserialize_with = "wire::uint")]
    pub contacts: u64,
    /// Unix seconds.
    #[serde(default, deserialize_with = "wire::int")]
    pub created: i64,
}

/// Answer of a `remote/*` call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CampaignControl {
    /// The platform message.
    pub message: String,
    /// False when the platform answered `Action is not supported in this campaign!`.
    pub supported: bool,
}

impl Client {
    /// One page of SMS campaigns (`get/sms.campaigns`).
    pub async fn get_sms_campaigns(&self, page: PageRequest) -> Result<Vec<SmsCampaign>> {
        self.list("get/sms.campaigns", page).await
    }

    /// Every SMS campaign.
    pub async fn all_sms_campaigns(&self) -> Result<Vec<SmsCampaign>> {
        fetch_all(DEFAULT_FETCH_ALL_LIMIT, |p| self.get_sms_campaigns(p)).await
    }

    /// One page of WhatsApp campaigns (`get/wa.campaigns`).
    pub async fn get_wa_campaigns(&self, page: PageRequest) -> Result<Vec<WaCampaign>> {
        self.list("get/wa.campaigns", page).await
    }

    async fn remote(&self, endpoint: &'static str, campaign: u64) -> Result<CampaignControl> {
        let a = self
            .call(
                endpoint,
                Kind::Action,
                Params::new().add("campaign", campaign),
            )
            .await?;
        Ok(CampaignControl {
            supported: a.message != "Action is not supported in this campaign!",
            message: a.message,
        })
    }

    /// Resumes an SMS campaign (`remote/start.sms`).
    ///
    /// ```no_run
    /// # async fn demo(client: messagepro::Client) -> messagepro::Result<()> {
    /// let r = client.start_sms_campaign(12).await?;
    /// if !r.supported { eprintln!("credits campaigns cannot be paused or resumed"); }
    /// # Ok(()) }
    /// ```
    pub async fn start_sms_campaign(&self, campaign: u64) -> Result<CampaignControl> {
        self.remote("remote/start.sms", campaign).await
    }

    /// Pauses an SMS campaign (`remote/stop.sms`).
    pub async fn stop_sms_campaign(&self, campaign: u64) -> Result<CampaignControl> {
        self.remote("remote/stop.sms", campaign).await
    }

    /// Resumes a WhatsApp campaign (`remote/start.chats`).
    pub async fn start_wa_campaign(&self, campaign: u64) -> Result<CampaignControl> {
        self.remote("remote/start.chats", campaign).await
    }

    /// Pauses a WhatsApp campaign (`remote/stop.chats`).
    pub async fn stop_wa_campaign(&self, campaign: u64) -> Result<CampaignControl> {
        self.remote("remote/stop.chats", campaign).await
    }

    /// Deletes an SMS campaign and its messages (`delete/sms.campaign`, sends `id` and
    /// `campaign` with the same value).
    pub async fn delete_sms_campaign(&self, id: u64) -> Result<Ack> {
        let p = Params::new().add("id", id).add("campaign", id);
        self.ack("delete/sms.campaign", Kind::Action, p).await
    }

    /// Deletes a WhatsApp campaign and its chats (`delete/wa.campaign`).
    pub async fn delete_wa_campaign(&self, id: u64) -> Result<Ack> {
        self.ack(
            "delete/wa.campaign",
            Kind::Action,
            Params::new().add("id", id),
        )
        .await
    }
}
