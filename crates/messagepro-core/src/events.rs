//! Business events — the original integration's order and stock hooks as data. A business
//! application posts `{"type": "order.validated", "id": "<its own event id>", "data": {…}}`; the
//! event type's rule (`event_rules`, edited in the console) says what it causes: a message from a
//! template over the event's data (`« Votre commande #{{order.reference}} a été validée ! »`) to
//! a phone found in the data (`client.phone`) or to every member of a platform group
//! (`commerciaux`).
//!
//! Exactly once: the event row (unique per type + caller's id), its messages and their outbox
//! jobs, the audit entry and the request's idempotency key are ONE transaction
//! ([`messagepro_store::Store::enqueue_guarded`]). A retry of the same event — even five at
//! once — records nothing new and answers with the first one's messages.
//!
//! Event messages are transactional (no quiet hours; the opt-out list applies: an opted-out
//! recipient's message is recorded `skipped`).

use messagepro::{Phone, WaContent};
use messagepro_store::{
    Guard, Guarded, GuardedMessage, IdemDone, MessageStatus, NewEvent, NewMessage,
};

use crate::campaign::personalised;
use crate::outbox::Payload;
use crate::route::RouteChoice;
use crate::send::{SendChannel, SendRequest, channel_route_json, segments_of};
use crate::template::{Lang, Template, TemplateError, Vars};
use crate::{Actor, Core, SendError};

/// Longest event type and caller's id.
pub const MAX_TYPE: usize = 64;
pub const MAX_ID: usize = 128;
/// Most recipients one event may reach (a group).
pub const MAX_RECIPIENTS: usize = 5_000;

/// An event as posted.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: String,
    /// The caller's id of the event (de-duplicated per type).
    pub id: String,
    pub data: serde_json::Value,
}

/// What an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventOutcome {
    /// Recorded now: the messages it caused (local ids, in recipient order).
    Accepted { messages: Vec<i64> },
    /// Already recorded: the first one's messages; nothing new was written.
    Duplicate { messages: Vec<i64> },
}

/// Why an event was refused (nothing recorded).
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("permission denied")]
    Forbidden,
    #[error(
        "the event type must be 1 to 64 characters among letters, digits and . _ - :, and the id 1 to 128 characters"
    )]
    InvalidEvent,
    #[error("no rule for event type {0:?}")]
    NoRule(String),
    #[error("the event data has no phone at {0:?}")]
    MissingRecipient(String),
    #[error("the phone at {0:?} is not a valid number")]
    InvalidPhone(String),
    #[error("no platform group is named {0:?}")]
    GroupNotFound(String),
    #[error("the rule reaches no recipient")]
    NoRecipient,
    #[error("the rule reaches more than {MAX_RECIPIENTS} recipients")]
    TooManyRecipients,
    #[error("the rule is invalid: {0}")]
    BadRule(&'static str),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("the platform cannot be read: {0}")]
    Platform(#[from] messagepro::Error),
    #[error(transparent)]
    Send(#[from] SendError),
}

impl EventError {
    /// The stable machine code (the API's problem `code`).
    pub fn code(&self) -> &'static str {
        match self {
            EventError::Forbidden => "insufficient_scope",
            EventError::InvalidEvent => "invalid_event",
            EventError::NoRule(_) => "no_rule",
            EventError::MissingRecipient(_) => "missing_recipient",
            EventError::InvalidPhone(_) => "invalid_phone",
            EventError::GroupNotFound(_) => "group_not_found",
            EventError::NoRecipient => "no_recipient",
            EventError::TooManyRecipients => "too_many_recipients",
            EventError::BadRule(_) => "invalid_rule",
            EventError::Template(TemplateError::Missing { .. }) => "missing_variable",
            EventError::Template(_) => "invalid_rule",
            EventError::Platform(_) => "platform_unavailable",
            EventError::Send(e) => e.code(),
        }
    }
}

fn valid_name(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'))
}

/// The value at a dotted `path` of `data` as text (strings and numbers).
pub fn value_at(data: &serde_json::Value, path: &str) -> Option<String> {
    let mut at = data;
    for seg in path.split('.') {
        at = match at {
            serde_json::Value::Object(map) => map.get(seg)?,
            serde_json::Value::Array(items) => items.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    match at {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The send channel of a rule's `channel` (`sms` / `whatsapp`) and route JSON (empty: the
/// configured default).
fn rule_channel(
    channel: &str,
    route: Option<&str>,
    defaults: &crate::route::DefaultRoutes,
) -> Result<SendChannel, EventError> {
    let choice: RouteChoice = match route.filter(|r| !r.trim().is_empty()) {
        Some(r) => serde_json::from_str(r).map_err(|_| EventError::BadRule("route"))?,
        None => RouteChoice::default(),
    };
    Ok(match channel {
        "sms" => SendChannel::Sms {
            route: choice.sms_route(defaults)?,
        },
        "whatsapp" => SendChannel::WhatsApp {
            account: choice.whatsapp_account(defaults)?,
            content: WaContent::Text(String::new()),
            priority: true,
        },
        _ => return Err(EventError::BadRule("channel")),
    })
}

fn parse_ids(json: &str) -> Vec<i64> {
    serde_json::from_str(json).unwrap_or_default()
}

impl Core {
    /// Records `ev` and the messages its rule causes, exactly once (see the module doc);
    /// `idempotency`: the request's key, marked done in the same transaction.
    #[tracing::instrument(skip_all, fields(kind = %ev.kind))]
    pub async fn submit_event(
        &self,
        actor: &Actor,
        ev: &Event,
        idempotency: Option<IdemDone<'_>>,
    ) -> Result<EventOutcome, EventError> {
        if !actor.has_scope("events") {
            return Err(EventError::Forbidden);
        }
        if !valid_name(&ev.kind, MAX_TYPE) || ev.id.trim().is_empty() || ev.id.len() > MAX_ID {
            return Err(EventError::InvalidEvent);
        }
        let store = &self.inner.store;
        // the fast answer to a retry (the transaction below is what guarantees it)
        if let Some(e) = store
            .event_by_id(&ev.kind, &ev.id)
            .await
            .map_err(SendError::from)?
        {
            return Ok(EventOutcome::Duplicate {
                messages: parse_ids(&e.messages),
            });
        }
        let rule = store
            .event_rule(&ev.kind)
            .await
            .map_err(SendError::from)?
            .filter(|r| r.enabled)
            .ok_or_else(|| EventError::NoRule(ev.kind.clone()))?;
        let template = Template::parse_event(&rule.template)?;
        let defaults = &self.inner.settings.routes;
        let channel = rule_channel(&rule.channel, rule.route.as_deref(), defaults)?;
        let fallback = match rule.fallback_channel.as_deref().filter(|c| !c.is_empty()) {
            Some(c) => Some(rule_channel(c, rule.fallback_route.as_deref(), defaults)?),
            None => None,
        };
        let recipients = self.event_recipients(&rule, &ev.data).await?;
        if recipients.is_empty() {
            return Err(EventError::NoRecipient);
        }
        if recipients.len() > MAX_RECIPIENTS {
            return Err(EventError::TooManyRecipients);
        }
        let e164s: Vec<String> = recipients.iter().map(|p| p.e164().to_owned()).collect();
        let suppressed = store
            .suppressed_among(&e164s)
            .await
            .map_err(SendError::from)?;
        let now = self.now_ms();
        let store_channel = channel.store_channel();
        let mut items = Vec::with_capacity(recipients.len());
        for phone in &recipients {
            let text = template.render(&Vars {
                phone: phone.e164(),
                name: None,
                columns: &[],
                now: self.local_now(phone.e164()),
                lang: Lang::Fr,
                data: Some(&ev.data),
            })?;
            let send = SendRequest {
                channel: personalised(&channel, &text),
                recipient: phone.clone(),
                text: text.clone(),
            };
            let opted_out = suppressed.contains(phone.e164());
            items.push(GuardedMessage {
                message: NewMessage {
                    channel: store_channel,
                    recipient: phone.e164().to_owned(),
                    text: text.clone(),
                    route: channel_route_json(&send.channel),
                    status: MessageStatus::Queued,
                    segments: segments_of(store_channel, &text),
                    created_by: actor.user_id(),
                    campaign_id: None,
                },
                job: (!opted_out).then(|| self.new_job(&Payload::from_request(&send), now)),
                skip_reason: opted_out.then_some("skip.opted_out"),
                fallback: fallback.as_ref().map(|f| self.fallback_of(f, phone, &text)),
            });
        }
        let mut audit = self.audit(actor, &format!("event.{}", ev.kind), &ev.id);
        audit.detail = Some(format!(
            "event {} {}: {} message(s), {} opted out",
            ev.kind,
            ev.id,
            items.len(),
            items.iter().filter(|i| i.job.is_none()).count()
        ));
        let data = ev.data.to_string();
        let guard = Guard {
            idempotency,
            event: Some(NewEvent {
                kind: &ev.kind,
                event_id: &ev.id,
                token_id: actor.token_id(),
                data: &data,
            }),
        };
        match store
            .enqueue_guarded(&items, &audit, &guard, now)
            .await
            .map_err(SendError::from)?
        {
            Guarded::Recorded { messages, .. } => {
                self.inner.wake.notify_one();
                tracing::info!(messages = messages.len(), "event accepted");
                Ok(EventOutcome::Accepted { messages })
            }
            Guarded::DuplicateEvent(e) => Ok(EventOutcome::Duplicate {
                messages: parse_ids(&e.messages),
            }),
        }
    }

    async fn event_recipients(
        &self,
        rule: &messagepro_store::EventRule,
        data: &serde_json::Value,
    ) -> Result<Vec<Phone>, EventError> {
        let country = self.inner.platform.default_country().to_owned();
        if let Some(path) = rule.recipient_path.as_deref().filter(|p| !p.is_empty()) {
            let raw = value_at(data, path)
                .ok_or_else(|| EventError::MissingRecipient(path.to_owned()))?;
            let phone = Phone::parse(&raw, &country)
                .map_err(|_| EventError::InvalidPhone(path.to_owned()))?;
            return Ok(vec![phone]);
        }
        let Some(name) = rule.recipient_group.as_deref().filter(|g| !g.is_empty()) else {
            return Err(EventError::BadRule("recipient"));
        };
        let groups = self.inner.platform.all_groups().await?;
        let group = groups
            .iter()
            .find(|g| g.name.trim().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| EventError::GroupNotFound(name.to_owned()))?;
        Ok(self.group_members(&[group.id]).await?)
    }
}

/// A rule as an admin types it (checked by [`Core::event_rule_save`]).
#[derive(Debug, Clone, Default)]
pub struct RuleInput {
    pub kind: String,
    pub channel: String,
    pub template: String,
    pub recipient_path: String,
    pub recipient_group: String,
    /// Route JSON (`{"device": "…", "sim": 1}`, `{"gateway": "1"}`, `{"account": "…"}`), or
    /// empty for the configured default.
    pub route: String,
    /// `sms`, `whatsapp`, or empty for none: tried once when the message fails.
    pub fallback_channel: String,
    /// The fallback's route JSON, or empty for that channel's configured default.
    pub fallback_route: String,
    pub enabled: bool,
}

/// Why a rule cannot be saved.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("permission denied")]
    Forbidden,
    #[error("invalid rule: {0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Store(#[from] messagepro_store::StoreError),
}

impl RuleError {
    pub fn code(&self) -> &'static str {
        match self {
            RuleError::Forbidden => "forbidden",
            RuleError::Invalid(c) => c,
            RuleError::Template(t) => t.code(),
            RuleError::Store(_) => "internal",
        }
    }
}

impl Core {
    /// Creates or replaces the rule of `input.kind` (admins: `admin.users`). Audited.
    pub async fn event_rule_save(&self, actor: &Actor, input: &RuleInput) -> Result<(), RuleError> {
        if !actor.can(crate::Permission::AdminUsers) {
            return Err(RuleError::Forbidden);
        }
        let kind = input.kind.trim();
        if !valid_name(kind, MAX_TYPE) {
            return Err(RuleError::Invalid("rule.invalid_type"));
        }
        if !matches!(input.channel.as_str(), "sms" | "whatsapp") {
            return Err(RuleError::Invalid("rule.invalid_channel"));
        }
        if input.template.trim().is_empty() || input.template.chars().count() > 2_000 {
            return Err(RuleError::Invalid("rule.invalid_template"));
        }
        Template::parse_event(&input.template)?;
        let path = input.recipient_path.trim();
        let group = input.recipient_group.trim();
        if path.is_empty() == group.is_empty() {
            return Err(RuleError::Invalid("rule.one_recipient"));
        }
        let route = input.route.trim();
        if !route.is_empty() && serde_json::from_str::<RouteChoice>(route).is_err() {
            return Err(RuleError::Invalid("rule.invalid_route"));
        }
        let fallback_channel = input.fallback_channel.trim();
        let fallback_route = input.fallback_route.trim();
        if !matches!(fallback_channel, "" | "sms" | "whatsapp") {
            return Err(RuleError::Invalid("rule.invalid_channel"));
        }
        if fallback_channel.is_empty() && !fallback_route.is_empty() {
            return Err(RuleError::Invalid("rule.fallback_route_alone"));
        }
        if !fallback_route.is_empty()
            && serde_json::from_str::<RouteChoice>(fallback_route).is_err()
        {
            return Err(RuleError::Invalid("rule.invalid_route"));
        }
        if fallback_channel == input.channel && fallback_route == route {
            return Err(RuleError::Invalid("rule.fallback_same"));
        }
        let rule = messagepro_store::EventRule {
            kind: kind.to_owned(),
            channel: input.channel.clone(),
            template: input.template.trim().to_owned(),
            recipient_path: (!path.is_empty()).then(|| path.to_owned()),
            recipient_group: (!group.is_empty()).then(|| group.to_owned()),
            route: (!route.is_empty()).then(|| route.to_owned()),
            fallback_channel: (!fallback_channel.is_empty()).then(|| fallback_channel.to_owned()),
            fallback_route: (!fallback_route.is_empty()).then(|| fallback_route.to_owned()),
            enabled: input.enabled,
            updated_ms: 0,
        };
        let store = &self.inner.store;
        store.event_rule_upsert(&rule, self.now_ms()).await?;
        let mut audit = self.audit(actor, "event_rule.save", kind);
        audit.detail = Some(format!(
            "{} to {}{} enabled={}",
            rule.channel,
            if path.is_empty() { group } else { path },
            rule.fallback_channel
                .as_deref()
                .map(|c| format!(", fallback {c}"))
                .unwrap_or_default(),
            rule.enabled
        ));
        store.audit(&audit).await?;
        Ok(())
    }

    /// Deletes the rule of `kind`; `false` when there was none. Audited.
    pub async fn event_rule_delete(&self, actor: &Actor, kind: &str) -> Result<bool, RuleError> {
        if !actor.can(crate::Permission::AdminUsers) {
            return Err(RuleError::Forbidden);
        }
        let store = &self.inner.store;
        let done = store.event_rule_delete(kind).await?;
        if done {
            store
                .audit(&self.audit(actor, "event_rule.delete", kind))
                .await?;
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_found_by_dotted_path() {
        let d = serde_json::json!({"client": {"phone": " 621234567 ", "n": 5}, "items": [{"sku": "A"}]});
        assert_eq!(value_at(&d, "client.phone").as_deref(), Some("621234567"));
        assert_eq!(value_at(&d, "client.n").as_deref(), Some("5"));
        assert_eq!(value_at(&d, "items.0.sku").as_deref(), Some("A"));
        assert_eq!(value_at(&d, "client"), None);
        assert_eq!(value_at(&d, "client.missing"), None);
    }

    #[test]
    fn event_names_are_checked() {
        assert!(valid_name("order.validated", MAX_TYPE));
        assert!(!valid_name("", MAX_TYPE));
        assert!(!valid_name("order validated", MAX_TYPE));
        assert!(!valid_name(&"a".repeat(65), MAX_TYPE));
    }
}
