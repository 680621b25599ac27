//! Two-way sync of the local contact book with Message Pro's: platform groups and contacts are
//! pulled into the store, then local groups and contacts the platform lacks are pushed.
//!
//! Written by hand (no library knows either side). Contacts are matched by phone (E.164) and
//! groups by name: the platform returns no id on create and the local store keeps no platform
//! id, so these are the only keys both sides share. A local contact is pushed into the platform
//! groups of its local groups; one without a group is reported, not pushed (`create/contact`
//! needs at least one group). A platform failure does not abort the whole sync unless the lists
//! themselves cannot be read: each failure is one [`SyncIssue`] in the report, with a machine
//! [`SyncReason`] and the platform's own words.

use std::collections::{HashMap, HashSet};

use messagepro::{CreateContact, Phone};
use messagepro_store::{Contact, ContactFilter, Outcome, Page, StoreError};

use super::{ContactsError, MAX_NAME, clip};
use crate::{Actor, Core};

/// What a sync did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ContactSyncReport {
    pub pulled_groups: usize,
    pub pulled_contacts: usize,
    pub pushed_groups: usize,
    pub pushed_contacts: usize,
    /// Local contacts not pushed because they belong to no group (phones).
    pub skipped_no_group: Vec<String>,
    /// What went wrong, in order.
    pub issues: Vec<SyncIssue>,
}

/// What a failed platform call was about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncSubject {
    /// Reading the platform's groups.
    Groups,
    /// Reading the platform's contacts.
    Contacts,
    /// Pushing the local group of this name.
    Group(String),
    /// Pushing the local contact of this phone (E.164).
    Contact(String),
}

/// Why a platform call failed, as the contact book sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncReason {
    /// Message Pro could not be reached or answered something unreadable.
    Unreachable,
    /// The plan's contact limit is reached.
    Quota,
    /// Message Pro refused the parameters (its words are in the issue's `detail`).
    Refused,
    /// Message Pro refused the phone number.
    InvalidPhone,
    /// Any other failure, as the send path's code ([`crate::error::platform_error_code`]).
    Platform(&'static str),
}

impl SyncReason {
    /// The reason of a client error.
    pub fn of(e: &messagepro::Error) -> SyncReason {
        use messagepro::Error as E;
        match e {
            E::Transport { .. } | E::Timeout { .. } | E::Decode { .. } => SyncReason::Unreachable,
            E::QuotaReached(_) => SyncReason::Quota,
            E::InvalidParameters(_) => SyncReason::Refused,
            E::InvalidPhone(_) => SyncReason::InvalidPhone,
            other => SyncReason::Platform(crate::error::platform_error_code(other)),
        }
    }

    /// The stable machine code: `unreachable`, `quota`, `refused`, `invalid_phone`, or the send
    /// path's code for [`SyncReason::Platform`] (the console's keys are
    /// `contacts.sync.reason.<code>`, and `send.error.<code>` for the latter).
    pub fn code(self) -> &'static str {
        match self {
            SyncReason::Unreachable => "unreachable",
            SyncReason::Quota => "quota",
            SyncReason::Refused => "refused",
            SyncReason::InvalidPhone => "invalid_phone",
            SyncReason::Platform(code) => code,
        }
    }
}

/// One thing that went wrong during a sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncIssue {
    /// A platform call failed.
    Platform {
        subject: SyncSubject,
        reason: SyncReason,
        /// The platform's exact words, when it answered.
        detail: Option<String>,
    },
    /// A platform contact whose phone cannot be read was skipped (as written, at most 40
    /// characters).
    InvalidRemotePhone { phone: String },
}

impl SyncIssue {
    fn platform(subject: SyncSubject, e: &messagepro::Error) -> SyncIssue {
        SyncIssue::Platform {
            subject,
            reason: SyncReason::of(e),
            detail: e.platform_message().map(str::to_owned),
        }
    }
}

impl ContactSyncReport {
    /// The list a platform read returned, or `None` with the failure recorded (the sync stops
    /// there: without the list nothing more can be matched).
    fn read<T>(&mut self, subject: SyncSubject, r: messagepro::Result<T>) -> Option<T> {
        match r {
            Ok(list) => Some(list),
            Err(e) => {
                self.issues.push(SyncIssue::platform(subject, &e));
                None
            }
        }
    }
}

impl Core {
    /// Pulls the platform's groups and contacts into the store, then pushes local ones the
    /// platform lacks. Writes one `contact.sync` audit entry (a failure when the report has
    /// issues). `Err` only for the permission and the database; platform failures are in the
    /// report.
    #[tracing::instrument(skip_all)]
    pub async fn sync_contacts(&self, actor: &Actor) -> Result<ContactSyncReport, ContactsError> {
        self.check_manage(actor)?;
        let report = self.sync_with_platform().await?;
        let outcome = if report.issues.is_empty() {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        self.audit_contacts(
            actor,
            "contact.sync",
            outcome,
            format!(
                "pulled {} groups, {} contacts; pushed {} groups, {} contacts; {} errors",
                report.pulled_groups,
                report.pulled_contacts,
                report.pushed_groups,
                report.pushed_contacts,
                report.issues.len()
            ),
        )
        .await;
        Ok(report)
    }

    /// Every local contact (all pages), of one group or all.
    async fn all_local_contacts(&self, group: Option<i64>) -> Result<Vec<Contact>, StoreError> {
        let filter = ContactFilter {
            search: None,
            group_id: group,
            include_opted_out: true,
        };
        let mut out = Vec::new();
        let mut before = None;
        loop {
            let page = match before {
                Some(b) => Page::before(b, 1000),
                None => Page::first(1000),
            };
            let batch = self.inner.store.list_contacts(&filter, page).await?;
            let n = batch.len();
            before = batch.last().map(|c| c.id);
            out.extend(batch);
            if n < 1000 {
                return Ok(out);
            }
        }
    }

    async fn sync_with_platform(&self) -> Result<ContactSyncReport, StoreError> {
        let api = &self.inner.platform;
        let store = &self.inner.store;
        let country = api.default_country();
        let mut report = ContactSyncReport::default();

        // 1. groups: platform → local (by name)
        let Some(remote_groups) = report.read(SyncSubject::Groups, api.all_groups().await) else {
            return Ok(report);
        };
        let mut local_by_name: HashMap<String, i64> = store
            .list_groups()
            .await?
            .into_iter()
            .map(|g| (g.name, g.id))
            .collect();
        let mut remote_to_local: HashMap<String, i64> = HashMap::new();
        for g in &remote_groups {
            let name = g.name.trim().to_owned();
            let local = match local_by_name.get(&name) {
                Some(id) => *id,
                None => match store.insert_group(&name, self.now_ms()).await {
                    Ok(new) => {
                        report.pulled_groups += 1;
                        local_by_name.insert(name.clone(), new.id);
                        new.id
                    }
                    Err(StoreError::Conflict(_)) => continue,
                    Err(e) => return Err(e),
                },
            };
            remote_to_local.insert(g.id.to_string(), local);
        }

        // 2. contacts: platform → local (by E.164)
        let Some(remote_contacts) = report.read(SyncSubject::Contacts, api.all_contacts().await)
        else {
            return Ok(report);
        };
        let mut remote_phones: HashSet<String> = HashSet::new();
        for c in &remote_contacts {
            let Ok(phone) = Phone::parse(&c.phone, country) else {
                report.issues.push(SyncIssue::InvalidRemotePhone {
                    phone: clip(&c.phone, 40),
                });
                continue;
            };
            remote_phones.insert(phone.e164().to_owned());
            let id = match store.contact_by_phone(phone.e164()).await? {
                Some(existing) => existing.id,
                None => {
                    let name = if c.name.trim().is_empty() {
                        phone.e164().to_owned()
                    } else {
                        clip(&c.name, MAX_NAME)
                    };
                    let new = store
                        .insert_contact(&name, phone.e164(), self.now_ms())
                        .await?;
                    report.pulled_contacts += 1;
                    new.id
                }
            };
            for g in &c.groups {
                if let Some(local) = remote_to_local.get(g.trim()) {
                    store.add_to_group(id, *local).await?;
                }
            }
        }

        // 3. groups: local → platform
        let remote_names: HashSet<String> = remote_groups
            .iter()
            .map(|g| g.name.trim().to_owned())
            .collect();
        let local_groups = store.list_groups().await?;
        let mut pushed_any = false;
        for g in &local_groups {
            if remote_names.contains(&g.name) {
                continue;
            }
            match api.create_group(&g.name).await {
                Ok(_) => {
                    report.pushed_groups += 1;
                    pushed_any = true;
                }
                Err(e) => report
                    .issues
                    .push(SyncIssue::platform(SyncSubject::Group(g.name.clone()), &e)),
            }
        }
        let remote_groups = if pushed_any {
            let Some(g) = report.read(SyncSubject::Groups, api.all_groups().await) else {
                return Ok(report);
            };
            g
        } else {
            remote_groups
        };
        let remote_id_by_name: HashMap<String, u64> = remote_groups
            .iter()
            .map(|g| (g.name.trim().to_owned(), g.id))
            .collect();

        // 4. contacts: local → platform, in the platform groups of their local groups
        let mut groups_of: HashMap<i64, Vec<u64>> = HashMap::new();
        for g in &local_groups {
            let Some(remote) = remote_id_by_name.get(&g.name) else {
                continue;
            };
            for c in self.all_local_contacts(Some(g.id)).await? {
                groups_of.entry(c.id).or_default().push(*remote);
            }
        }
        for c in self.all_local_contacts(None).await? {
            if remote_phones.contains(&c.phone) {
                continue;
            }
            let Some(gids) = groups_of.get(&c.id).filter(|g| !g.is_empty()) else {
                report.skipped_no_group.push(c.phone.clone());
                continue;
            };
            let Ok(phone) = Phone::parse(&c.phone, country) else {
                continue;
            };
            // the platform wants a name of 3 bytes or more
            let name = if c.name.len() >= 3 {
                c.name.clone()
            } else {
                c.phone.clone()
            };
            let subject = || SyncSubject::Contact(c.phone.clone());
            let req = match CreateContact::new(name, phone, gids.clone()) {
                Ok(r) => r,
                Err(e) => {
                    report.issues.push(SyncIssue::platform(subject(), &e));
                    continue;
                }
            };
            match api.create_contact(&req).await {
                Ok(_) => report.pushed_contacts += 1,
                Err(e) => report.issues.push(SyncIssue::platform(subject(), &e)),
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testenv::{env, manager, reader};
    use super::*;
    use messagepro::PlatformError;
    use messagepro_store::{AuditFilter, ContactFilter};

    fn refused(status: i64, message: &str) -> PlatformError {
        PlatformError {
            status,
            message: message.into(),
        }
    }

    #[test]
    fn contact_book_reasons_have_their_own_codes_and_the_rest_keep_the_send_codes() {
        use messagepro::Error as E;
        let cases = [
            (E::QuotaReached(refused(400, "limit")), "quota"),
            (E::InvalidParameters(refused(400, "bad")), "refused"),
            (E::InvalidPhone(refused(400, "phone")), "invalid_phone"),
            (
                E::Decode {
                    http_status: 502,
                    reason: "html".into(),
                    snippet: String::new(),
                },
                "unreachable",
            ),
            (E::MissingSecret, "secret"),
            (E::InvalidInput("name".into()), "invalid_input"),
            (E::Other(refused(400, "Nope")), "platform"),
        ];
        for (e, code) in cases {
            assert_eq!(SyncReason::of(&e).code(), code, "{e}");
        }
        assert_eq!(
            SyncReason::of(&E::MissingSecret),
            SyncReason::Platform("secret")
        );
    }

    #[tokio::test]
    async fn a_sync_pulls_the_fixture_pushes_grouped_contacts_and_counts_each_side() {
        // Arrange
        let env = env().await;
        let fixture = env.sim.fixture();
        let store = env.core.store();
        let local = store.insert_group("Console locale", 0).await.unwrap();
        let c = store
            .insert_contact("Local Un", "+224625550001", 0)
            .await
            .unwrap();
        store.add_to_group(c.id, local.id).await.unwrap();
        store
            .insert_contact("Sans groupe", "+224625550002", 0)
            .await
            .unwrap();

        // Act
        let report = env.core.sync_contacts(&manager()).await.unwrap();

        // Assert
        assert_eq!(report.issues, []);
        assert_eq!(report.pulled_groups, fixture.groups.len());
        assert_eq!(report.pulled_contacts, fixture.contacts.len());
        assert_eq!(report.pushed_groups, 1, "the local group");
        assert_eq!(report.pushed_contacts, 1, "the grouped local contact");
        assert_eq!(report.skipped_no_group, ["+224625550002"]);
        let all = ContactFilter {
            include_opted_out: true,
            ..Default::default()
        };
        assert_eq!(
            store.count_contacts(&all).await.unwrap() as usize,
            fixture.contacts.len() + 2
        );
        let remote = env.core.platform().all_contacts().await.unwrap();
        assert!(remote.iter().any(|r| r.phone == "+224625550001"));

        // a second sync has nothing new to move
        let again = env.core.sync_contacts(&manager()).await.unwrap();
        assert_eq!(
            (
                again.pulled_groups,
                again.pulled_contacts,
                again.pushed_groups,
                again.pushed_contacts
            ),
            (0, 0, 0, 0)
        );
        assert_eq!(again.skipped_no_group, ["+224625550002"]);
        let audit = store
            .list_audit(
                &AuditFilter {
                    action: Some("contact.sync".into()),
                    ..Default::default()
                },
                Page::first(10),
            )
            .await
            .unwrap();
        assert_eq!(audit.len(), 2);
        assert!(audit.iter().all(|a| a.outcome == "success"), "{audit:?}");
        env.cleanup().await;
    }

    #[tokio::test]
    async fn an_unreachable_platform_is_one_issue_and_a_failed_audit() {
        // Arrange
        let env = env().await;
        env.sim.shutdown().await;
        // Act
        let report = env.core.sync_contacts(&manager()).await.unwrap();
        // Assert
        assert_eq!(
            report.issues,
            [SyncIssue::Platform {
                subject: SyncSubject::Groups,
                reason: SyncReason::Unreachable,
                detail: None,
            }]
        );
        let audit = env
            .core
            .store()
            .list_audit(&AuditFilter::default(), Page::first(10))
            .await
            .unwrap();
        assert_eq!(audit[0].action, "contact.sync");
        assert_eq!(audit[0].outcome, "failure");
    }

    #[tokio::test]
    async fn a_reader_may_not_sync() {
        let env = env().await;
        let err = env.core.sync_contacts(&reader()).await.unwrap_err();
        assert!(matches!(err, ContactsError::Forbidden));
        let all = ContactFilter {
            include_opted_out: true,
            ..Default::default()
        };
        assert_eq!(env.core.store().count_contacts(&all).await.unwrap(), 0);
        env.cleanup().await;
    }
}
