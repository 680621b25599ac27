//! USSD endpoints: queue a request on a device, list results, delete, clear pending.

use serde::{Deserialize, Serialize};

use crate::client::{Kind, Params};
use crate::paging::PageRequest;
use crate::{Ack, Client, Result, Sim, wire};

/// Status of a USSD request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UssdStatus {
    /// Waiting for the handset.
    Pending,
    /// Picked up.
    Queued,
    /// Answered.
    Completed,
    /// Anything else.
    #[serde(other)]
    Unknown,
}

/// A row of `get/ussd`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct UssdRequest {
    /// Row id.
    #[serde(deserialize_with = "wire::uint")]
    pub id: u64,
    /// Device unique id.
    #[serde(default, deserialize_with = "wire::string")]
    pub device: String,
    /// Slot as listed (the platform reports 2 for every slot ≥ 1, spec §2.2.21).
    #[serde(default, deserialize_with = "wire::uint")]
    pub sim: u64,
    /// MMI code.
    #[serde(default, deserialize_with = "wire::html")]
    pub code: String,
    /// Handset answer; empty until completed.
    #[serde(default, deserialize_with = "wire::html")]
    pub response: String,
    /// Status.
    pub status: UssdStatus,
    /// Unix seconds.
    #[serde(default, deserialize_with = "wire::int")]
    pub created: i64,
}

impl Client {
    /// Queues a USSD request such as `*123#` on an own device (`POST send/ussd`).
    ///
    /// ```no_run
    /// # async fn demo(client: messagepro::Client) -> messagepro::Result<()> {
    /// client.send_ussd("*123#", "device-unique", messagepro::Sim::One).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_ussd(&self, code: &str, device: &str, sim: Sim) -> Result<Ack> {
        let p = Params::new()
            .add("code", code)
            .add("sim", sim.number())
            .add("device", device);
        self.ack("send/ussd", Kind::Write, p).await
    }

    /// One page of USSD requests (`get/ussd`).
    pub async fn get_ussd(&self, page: PageRequest) -> Result<Vec<UssdRequest>> {
        self.list("get/ussd", page).await
    }

    /// Deletes a USSD request (`delete/ussd`).
    pub async fn delete_ussd(&self, id: u64) -> Result<Ack> {
        self.ack("delete/ussd", Kind::Action, Params::new().add("id", id))
            .await
    }

    /// Deletes every pending or queued USSD request (`clear/ussd`; dropped by newer builds).
    pub async fn clear_ussd(&self) -> Result<Ack> {
        self.ack("clear/ussd", Kind::Action, Params::new()).await
    }
}
