//! The local contact book, one contact at a time — create, read, change, delete, groups and
//! the opt-out flag — for the integration API (`/api/v1/contacts`, `/api/v1/groups`). Every
//! change needs [`Permission::ManageContacts`] (the `contacts` scope of a token) and is
//! audited. The opt-out flag *is* the suppression list ([`Core::opt_out`] / [`Core::opt_in`]):
//! what a contact shows is what the next send obeys.

use messagepro::Phone;
use messagepro_store::{Contact, ContactFilter, Group, Page, StoreError};

use super::{ContactsError, MAX_NAME, clip};
use crate::{Actor, Core, SendError};

/// A contact with its groups and whether it may be texted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactView {
    pub contact: Contact,
    /// (id, name), by name.
    pub groups: Vec<(i64, String)>,
    /// On the suppression list.
    pub opted_out: bool,
}

/// What a change sets (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct ContactChange {
    pub name: Option<String>,
    pub phone: Option<Phone>,
    /// The whole set of groups (ids).
    pub groups: Option<Vec<i64>>,
    pub opted_out: Option<bool>,
}

/// Why a contact or group change is refused.
#[derive(Debug, thiserror::Error)]
pub enum BookError {
    #[error("permission denied")]
    Forbidden,
    #[error("not found")]
    NotFound,
    /// Another contact has this phone / another group this name.
    #[error("already exists")]
    Exists,
    /// A code: `invalid_name`, `unknown_group`.
    #[error("invalid: {0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ContactsError> for BookError {
    fn from(e: ContactsError) -> Self {
        match e {
            ContactsError::Forbidden => BookError::Forbidden,
            ContactsError::Store(s) => BookError::Store(s),
            ContactsError::EmptyImport => BookError::Invalid("empty"),
        }
    }
}

impl From<SendError> for BookError {
    fn from(e: SendError) -> Self {
        match e {
            SendError::Forbidden => BookError::Forbidden,
            SendError::Store(s) => BookError::Store(s),
            _ => BookError::Invalid("opt_out"),
        }
    }
}

fn store_err(e: StoreError) -> BookError {
    match e {
        StoreError::Conflict(_) => BookError::Exists,
        StoreError::NotFound(_) => BookError::NotFound,
        e => BookError::Store(e),
    }
}

impl Core {
    /// A contact with its groups and opt-out state.
    pub async fn contact_view(&self, id: i64) -> Result<ContactView, BookError> {
        let store = &self.inner.store;
        let contact = store.contact_by_id(id).await?.ok_or(BookError::NotFound)?;
        let all = store.list_groups().await?;
        self.view(contact, &all).await
    }

    async fn view(&self, contact: Contact, all: &[Group]) -> Result<ContactView, BookError> {
        let store = &self.inner.store;
        let ids = store.contact_group_ids(contact.id).await?;
        let groups = all
            .iter()
            .filter(|g| ids.contains(&g.id))
            .map(|g| (g.id, g.name.clone()))
            .collect();
        let opted_out = store.suppression(&contact.phone).await?.is_some();
        Ok(ContactView {
            contact,
            groups,
            opted_out,
        })
    }

    /// Contacts newest first (`search` in name or phone, `group`), `limit` after the keyset
    /// `before` id. Opted-out contacts included.
    pub async fn contact_list(
        &self,
        search: Option<String>,
        group: Option<i64>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<ContactView>, BookError> {
        let store = &self.inner.store;
        let filter = ContactFilter {
            search,
            group_id: group,
            include_opted_out: true,
        };
        let page = match before {
            Some(id) => Page::before(id, limit),
            None => Page::first(limit),
        };
        let all = store.list_groups().await?;
        let mut out = Vec::new();
        for c in store.list_contacts(&filter, page).await? {
            out.push(self.view(c, &all).await?);
        }
        Ok(out)
    }

    fn check_groups(all: &[Group], ids: &[i64]) -> Result<(), BookError> {
        if ids.iter().all(|id| all.iter().any(|g| g.id == *id)) {
            Ok(())
        } else {
            Err(BookError::Invalid("unknown_group"))
        }
    }

    /// Creates a contact in `groups`, opted out or not. Audited.
    pub async fn contact_create(
        &self,
        actor: &Actor,
        name: &str,
        phone: &Phone,
        groups: &[i64],
        opted_out: bool,
    ) -> Result<ContactView, BookError> {
        self.check_manage(actor)?;
        let name = clip(name, MAX_NAME);
        if name.is_empty() {
            return Err(BookError::Invalid("invalid_name"));
        }
        let store = &self.inner.store;
        let all = store.list_groups().await?;
        Self::check_groups(&all, groups)?;
        let contact = store
            .insert_contact(&name, phone.e164(), self.now_ms())
            .await
            .map_err(store_err)?;
        for g in groups {
            store.add_to_group(contact.id, *g).await?;
        }
        if opted_out {
            self.opt_out(actor, phone, Some("api")).await?;
        }
        let mut audit = self.audit(actor, "contact.create", phone.e164());
        audit.detail = Some(name);
        store.audit(&audit).await?;
        self.contact_view(contact.id).await
    }

    /// Changes what `change` sets. Audited.
    pub async fn contact_update(
        &self,
        actor: &Actor,
        id: i64,
        change: &ContactChange,
    ) -> Result<ContactView, BookError> {
        self.check_manage(actor)?;
        let store = &self.inner.store;
        let c = store.contact_by_id(id).await?.ok_or(BookError::NotFound)?;
        let name = match &change.name {
            Some(n) => {
                let n = clip(n, MAX_NAME);
                if n.is_empty() {
                    return Err(BookError::Invalid("invalid_name"));
                }
                n
            }
            None => c.name.clone(),
        };
        let all = store.list_groups().await?;
        if let Some(g) = &change.groups {
            Self::check_groups(&all, g)?;
        }
        let phone = change
            .phone
            .as_ref()
            .map_or(c.phone.clone(), |p| p.e164().to_owned());
        if name != c.name || phone != c.phone {
            store
                .update_contact(id, &name, &phone, self.now_ms())
                .await
                .map_err(store_err)?;
        }
        if let Some(wanted) = &change.groups {
            let now = store.contact_group_ids(id).await?;
            for g in wanted.iter().filter(|g| !now.contains(g)) {
                store.add_to_group(id, *g).await?;
            }
            for g in now.iter().filter(|g| !wanted.contains(g)) {
                store.remove_from_group(id, *g).await?;
            }
        }
        if let Some(out) = change.opted_out {
            let p = Phone::parse(&phone, "GN").map_err(|_| BookError::Invalid("invalid_phone"))?;
            if out {
                self.opt_out(actor, &p, Some("api")).await?;
            } else {
                self.opt_in(actor, &p).await?;
            }
        }
        store
            .audit(&self.audit(actor, "contact.update", &phone))
            .await?;
        self.view(
            store.contact_by_id(id).await?.ok_or(BookError::NotFound)?,
            &all,
        )
        .await
    }

    /// Deletes a contact (its opt-out stays on the suppression list). Audited.
    pub async fn contact_delete(&self, actor: &Actor, id: i64) -> Result<(), BookError> {
        self.check_manage(actor)?;
        let store = &self.inner.store;
        let c = store.contact_by_id(id).await?.ok_or(BookError::NotFound)?;
        store.delete_contact(id).await?;
        store
            .audit(&self.audit(actor, "contact.delete", &c.phone))
            .await?;
        Ok(())
    }

    /// Creates a group. Audited.
    pub async fn group_create(&self, actor: &Actor, name: &str) -> Result<Group, BookError> {
        self.check_manage(actor)?;
        let name = clip(name, MAX_NAME);
        if name.is_empty() {
            return Err(BookError::Invalid("invalid_name"));
        }
        let store = &self.inner.store;
        let g = store
            .insert_group(&name, self.now_ms())
            .await
            .map_err(store_err)?;
        store
            .audit(&self.audit(actor, "group.create", &name))
            .await?;
        Ok(g)
    }

    /// Deletes a group (its members stay contacts). Audited.
    pub async fn group_delete(&self, actor: &Actor, id: i64) -> Result<(), BookError> {
        self.check_manage(actor)?;
        let store = &self.inner.store;
        let g = store.group_by_id(id).await?.ok_or(BookError::NotFound)?;
        store.delete_group(id).await?;
        store
            .audit(&self.audit(actor, "group.delete", &g.name))
            .await?;
        Ok(())
    }
}
