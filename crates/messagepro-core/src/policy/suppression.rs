//! The suppression list — one for every channel and entry point: numbers marked by someone
//! (console, CLI, API), the platform's unsubscribed list (`get/unsubscribed`, synced) and the
//! stop / start keywords the recipients text back (read from `get/sms.received`; the webhook
//! intake of the integration API feeds [`Core::apply_inbound`] too).
//!
//! Keywords (case, accents, surrounding punctuation ignored; the keyword alone or followed by at
//! most two words, « Stop merci »): STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, ARRET,
//! DESABONNER opt out; START, DEMARRER opt back in — which also removes the number from the
//! platform's unsubscribed list, or the next sync would bring it back.

use messagepro::{PageRequest, Phone};
use messagepro_store::Outcome;

use crate::permissions::Permission;
use crate::{Actor, Core, SendError};

/// What an inbound text asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    Stop,
    Start,
}

const STOP_WORDS: &[&str] = &[
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "ARRET",
    "DESABONNER",
];
const START_WORDS: &[&str] = &["START", "DEMARRER"];

/// Upper case without accents (É → E), keeping letters and digits only.
fn fold(word: &str) -> String {
    word.chars()
        .flat_map(char::to_uppercase)
        .map(|c| match c {
            'À' | 'Â' | 'Ä' | 'Á' => 'A',
            'É' | 'È' | 'Ê' | 'Ë' => 'E',
            'Î' | 'Ï' | 'Í' => 'I',
            'Ô' | 'Ö' | 'Ó' => 'O',
            'Ù' | 'Û' | 'Ü' | 'Ú' => 'U',
            'Ç' => 'C',
            other => other,
        })
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// The keyword an inbound text is, if it is one.
pub fn keyword(text: &str) -> Option<Keyword> {
    let words: Vec<String> = text
        .split_whitespace()
        .map(fold)
        .filter(|w| !w.is_empty())
        .collect();
    let first = words.first()?;
    if words.len() > 3 {
        return None;
    }
    if STOP_WORDS.contains(&first.as_str()) {
        Some(Keyword::Stop)
    } else if START_WORDS.contains(&first.as_str()) {
        Some(Keyword::Start)
    } else {
        None
    }
}

/// What one sync pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SuppressionReport {
    /// Numbers added from the platform's unsubscribed list.
    pub from_platform: usize,
    /// Platform-sourced numbers removed (no longer on the platform's list).
    pub platform_removed: usize,
    /// Received SMS read.
    pub inbound_read: usize,
    /// Numbers opted out / back in by a keyword.
    pub stopped: usize,
    pub started: usize,
}

const INBOUND_CURSOR: &str = "inbound_sms_last_id";

impl Core {
    /// Whether `e164` is on the suppression list.
    pub async fn is_suppressed(&self, e164: &str) -> Result<bool, SendError> {
        Ok(self.inner.store.suppression(e164).await?.is_some())
    }

    /// Puts `phone` on the suppression list (and marks the local contact opted out), audited.
    /// Needs `messaging.manage_contacts`. `Ok(false)`: it was already there.
    pub async fn opt_out(
        &self,
        actor: &Actor,
        phone: &Phone,
        reason: Option<&str>,
    ) -> Result<bool, SendError> {
        if !actor.can(Permission::ManageContacts) {
            return Err(SendError::Forbidden);
        }
        self.suppress_as(actor, phone.e164(), "local", reason).await
    }

    /// Takes `phone` off the suppression list (local marks and platform entries alike: the
    /// platform's row is deleted too), audited. Needs `messaging.manage_contacts`.
    pub async fn opt_in(&self, actor: &Actor, phone: &Phone) -> Result<bool, SendError> {
        if !actor.can(Permission::ManageContacts) {
            return Err(SendError::Forbidden);
        }
        self.unsuppress_as(actor, phone.e164()).await
    }

    async fn suppress_as(
        &self,
        actor: &Actor,
        e164: &str,
        source: &str,
        reason: Option<&str>,
    ) -> Result<bool, SendError> {
        let store = &self.inner.store;
        let now = self.now_ms();
        let added = store
            .suppress(e164, source, reason, Some(&actor.audit_name()), now)
            .await?;
        if let Some(c) = store.contact_by_phone(e164).await?
            && c.opted_out_ms.is_none()
        {
            store.set_contact_opt_out(c.id, Some(now), now).await?;
        }
        if added {
            let mut audit = self.audit(actor, "contact.opt_out", e164);
            audit.detail = Some(format!(
                "{source}{}",
                reason.map(|r| format!(": {r}")).unwrap_or_default()
            ));
            store.audit(&audit).await?;
            tracing::info!(source, "number opted out");
        }
        Ok(added)
    }

    async fn unsuppress_as(&self, actor: &Actor, e164: &str) -> Result<bool, SendError> {
        let store = &self.inner.store;
        let now = self.now_ms();
        let removed = store.unsuppress(e164).await?;
        if let Some(c) = store.contact_by_phone(e164).await?
            && c.opted_out_ms.is_some()
        {
            store.set_contact_opt_out(c.id, None, now).await?;
        }
        // the platform's own list, or the next sync brings the number back
        match self.inner.platform.all_unsubscribed().await {
            Ok(rows) => {
                let country = self.inner.platform.default_country().to_owned();
                for r in rows {
                    if Phone::parse(&r.phone, &country).is_ok_and(|p| p.e164() == e164)
                        && let Err(e) = self.inner.platform.delete_unsubscribed(r.id).await
                    {
                        tracing::warn!(error = %e, "cannot remove the number from the platform's unsubscribed list");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "platform unsubscribed list unavailable"),
        }
        if removed {
            let mut audit = self.audit(actor, "contact.opt_in", e164);
            audit.outcome = Outcome::Success;
            store.audit(&audit).await?;
            tracing::info!("number opted back in");
        }
        Ok(removed)
    }

    /// Applies one inbound text from `sender`: a stop keyword suppresses the number, a start
    /// keyword restores it. Returns the keyword acted on.
    pub async fn apply_inbound(
        &self,
        sender: &str,
        text: &str,
    ) -> Result<Option<Keyword>, SendError> {
        let Some(k) = keyword(text) else {
            return Ok(None);
        };
        let country = self.inner.platform.default_country().to_owned();
        let Ok(phone) = Phone::parse(sender, &country) else {
            return Ok(None);
        };
        let system = Actor::System { name: "inbound" };
        match k {
            Keyword::Stop => {
                let word = text.split_whitespace().next().unwrap_or_default();
                self.suppress_as(&system, phone.e164(), "inbound", Some(word))
                    .await?;
            }
            Keyword::Start => {
                self.unsuppress_as(&system, phone.e164()).await?;
            }
        }
        Ok(Some(k))
    }

    /// One sync pass: the platform's unsubscribed list (added as `platform`; platform entries
    /// it no longer has are removed), then the SMS received since the last pass (stop / start
    /// keywords, oldest first). Run by the worker every
    /// [`crate::policy::PolicySettings::suppression_sync_every`].
    pub async fn sync_suppressions_once(&self) -> anyhow::Result<SuppressionReport> {
        let store = &self.inner.store;
        let platform = &self.inner.platform;
        let country = platform.default_country().to_owned();
        let mut report = SuppressionReport::default();
        let system = Actor::System {
            name: "platform sync",
        };
        // 1. the platform's list
        let listed: std::collections::HashSet<String> = platform
            .all_unsubscribed()
            .await?
            .iter()
            .filter_map(|r| Phone::parse(&r.phone, &country).ok())
            .map(|p| p.e164().to_owned())
            .collect();
        for e164 in &listed {
            if self.suppress_as(&system, e164, "platform", None).await? {
                report.from_platform += 1;
            }
        }
        for e164 in store.suppressions_from("platform").await? {
            if !listed.contains(&e164) && store.unsuppress(&e164).await? {
                report.platform_removed += 1;
            }
        }
        // 2. keywords in the SMS received since the last pass
        let last: u64 = store
            .sync_state(INBOUND_CURSOR)
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut fresh = Vec::new();
        for page in 1..=20u32 {
            let rows = platform
                .get_received_messages(PageRequest { page, limit: 100 })
                .await?;
            let n = rows.len();
            let older = rows.iter().any(|r| r.id <= last);
            fresh.extend(rows.into_iter().filter(|r| r.id > last));
            if older || n < 100 {
                break;
            }
        }
        fresh.sort_by_key(|r| r.id);
        for r in &fresh {
            report.inbound_read += 1;
            match self.apply_inbound(&r.sender, &r.message).await? {
                Some(Keyword::Stop) => report.stopped += 1,
                Some(Keyword::Start) => report.started += 1,
                None => {}
            }
        }
        if let Some(max) = fresh.iter().map(|r| r.id).max() {
            store
                .set_sync_state(INBOUND_CURSOR, &max.to_string(), self.now_ms())
                .await?;
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_in_any_case_with_accents_and_punctuation() {
        for t in [
            "STOP",
            "stop",
            " Stop. ",
            "STOPALL",
            "unsubscribe",
            "Cancel",
            "end",
            "QUIT",
            "ARRET",
            "Arrêt",
            "arrêt !",
            "DESABONNER",
            "désabonner",
            "Stop merci",
        ] {
            assert_eq!(keyword(t), Some(Keyword::Stop), "{t:?}");
        }
        for t in ["START", "start", "Démarrer", "DEMARRER svp"] {
            assert_eq!(keyword(t), Some(Keyword::Start), "{t:?}");
        }
        for t in [
            "",
            "Bonjour, je veux arrêter",
            "stopper",
            "please stop sending me these messages now",
            "OK",
        ] {
            assert_eq!(keyword(t), None, "{t:?}");
        }
    }
}
