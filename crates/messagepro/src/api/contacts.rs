//! Contact book endpoints: contacts, contact groups and the unsubscribed list.
//!
//! `create/contact` accepts local formats on the platform side, but the client still sends
//! E.164 (one rule everywhere), and joins group ids without spaces (the platform stores
//! `"1, 2"` verbatim and the member `" 2"` would never match, spec §2.3.3).

use serde::{Deserialize, Serialize};

use crate::client::{Kind, Params};
use crate::error::Error;
use crate::paging::{DEFAULT_FETCH_ALL_LIMIT, PageRequest, fetch_all};
use crate::{Ack, Client, Phone, Result, wire};

/// `create/contact` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateContact {
    /// Name (≥ 3 bytes).
    pub name: String,
    /// Number.
    pub phone: Phone,
    /// Group ids (at least one; each must exist).
    pub groups: Vec<u64>,
}

impl CreateContact {
    /// A contact in `groups` (must not be empty).
    pub fn new(name: impl Into<String>, phone: Phone, groups: Vec<u64>) -> Result<Self> {
        if groups.is_empty() {
            return Err(Error::InvalidInput(
                "a contact must belong to at least one group".into(),
            ));
        }
        Ok(Self {
            name: name.into(),
            phone,
            groups,
        })
    }
}

/// A row of `get/contacts`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Contact {
    /// Contact id.
    #[serde(deserialize_with = "wire::uint")]
    pub id: u64,
    /// Group ids as stored (strings; the platform's `[""]` for no group becomes `[]`).
    #[serde(default, deserialize_with = "wire::string_list")]
    pub groups: Vec<String>,
    /// E.164.
    #[serde(default, deserialize_with = "wire::string")]
    pub phone: String,
    /// Name, HTML-unescaped.
    #[serde(default, deserialize_with = "wire::html")]
    pub name: String,
}

/// A row of `get/groups`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Group {
    /// Group id.
    #[serde(deserialize_with = "wire::uint")]
    pub id: u64,
    /// Name, HTML-unescaped.
    #[serde(default, deserialize_with = "wire::html")]
    pub name: String,
}

/// A row of `get/unsubscribed`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Unsubscribed {
    /// Row id.
    #[serde(deserialize_with = "wire::uint")]
    pub id: u64,
    /// Number that sent "stop".
    #[serde(default, deserialize_with = "wire::string")]
    pub phone: String,
    /// Unix seconds.
    #[serde(default, deserialize_with = "wire::int")]
    pub created: i64,
}

impl Client {
    /// Creates a contact (`POST create/contact`). No id is returned; list to find it.
    ///
    /// ```no_run
    /// # async fn demo(client: messagepro::Client) -> messagepro::Result<()> {
    /// let c = messagepro::CreateContact::new("Awa Camara", client.parse_phone("621234567")?, vec![1])?;
    /// client.create_contact(&c).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_contact(&self, req: &CreateContact) -> Result<Ack> {
        let groups = req
            .groups
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let p = Params::new()
            .add("name", &req.name)
            .add("phone", req.phone.e164())
            .add("groups", groups);
        self.ack("create/contact", Kind::Write, p).await
    }

    /// Creates a contact group (`POST create/group`). No id is returned.
    ///
    /// ```no_run
    /// # async fn demo(client: messagepro::Client) -> messagepro::Result<()> {
    /// client.create_group("Clients Kaloum").await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_group(&self, name: &str) -> Result<Ack> {
        self.ack("create/group", Kind::Write, Params::new().add("name", name))
            .await
    }

    /// One page of contacts (`get/contacts`, id descending).
    pub async fn get_contacts(&self, page: PageRequest) -> Result<Vec<Contact>> {
        self.list("get/contacts", page).await
    }

    /// Every contact.
    pub async fn all_contacts(&self) -> Result<Vec<Contact>> {
        fetch_all(DEFAULT_FETCH_ALL_LIMIT, |p| self.get_contacts(p)).await
    }

    /// One page of contact groups (`get/groups`).
    pub async fn get_groups(&self, page: PageRequest) -> Result<Vec<Group>> {
        self.list("get/groups", page).await
    }

    /// Every contact group.
    pub async fn all_groups(&self) -> Result<Vec<Group>> {
        fetch_all(DEFAULT_FETCH_ALL_LIMIT, |p| self.get_groups(p)).await
    }

    /// One page of unsubscribed numbers (`get/unsubscribed`).
    pub async fn get_unsubscribed(&self, page: PageRequest) -> Result<Vec<Unsubscribed>> {
        self.list("get/unsubscribed", page).await
    }

    /// Every unsubscribed number.
    pub async fn all_unsubscribed(&self) -> Result<Vec<Unsubscribed>> {
        fetch_all(DEFAULT_FETCH_ALL_LIMIT, |p| self.get_unsubscribed(p)).await
    }

    /// Deletes a contact (`delete/contact`).
    pub async fn delete_contact(&self, id: u64) -> Result<Ack> {
        self.ack("delete/contact", Kind::Action, Params::new().add("id", id))
            .await
    }

    /// Deletes a contact group (`delete/group`); contacts keep the stale id.
    pub async fn delete_group(&self, id: u64) -> Result<Ack> {
        self.ack("delete/group", Kind::Action, Params::new().add("id", id))
            .await
    }

    /// Removes a number from the unsubscribed list (`delete/unsubscribed`).
    pub async fn delete_unsubscribed(&self, id: u64) -> Result<Ack> {
        self.ack(
            "delete/unsubscribed",
            Kind::Action,
            Params::new().add("id", id),
        )
        .await
    }
}
