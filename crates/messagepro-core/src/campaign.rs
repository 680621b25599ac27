//! Campaigns as local, per-recipient work: numbers, CSV rows and platform groups are expanded to
//! one recipient each (normalised, de-duplicated in input order), each recipient's text is
//! rendered from the template ([`crate::template`]: `{{contact.name}}` from the contact book,
//! `{{col.…}}` from its CSV row), opted-out recipients are recorded `skipped (opted out)`, and
//! every other recipient becomes its own message and outbox job — spread over time by the pace
//! of its device or account ([`Core::campaign_offsets`]), from the scheduled start. One
//! transaction records it all. The preview ([`Core::preview_campaign`]) runs the very same
//! expansion and rendering, so a missing variable is an error there, never an empty string in a
//! customer's SMS. Pause, resume, cancel and reschedule survive restarts (they are rows).

use std::collections::{HashMap, HashSet};

use messagepro::Phone;
use messagepro_store::{
    Admit, CampaignStatus, Channel, MessageStatus, NewCampaign, NewMessage, Outcome,
};

use crate::outbox::Payload;
use crate::permissions::Permission;
use crate::send::{SendChannel, SendRequest, channel_route_json, segments_of};
use crate::template::{Lang, Template, TemplateError, Vars};
use crate::{Actor, Core, SendError};

/// A campaign (SMS or WhatsApp). Numbers already normalised; platform groups are expanded here.
#[derive(Debug, Clone)]
pub struct CampaignRequest {
    pub name: String,
    /// The template: plain text, or with `{{contact.name}}`, `{{col.reference}}`…
    pub text: String,
    pub numbers: Vec<Phone>,
    /// Platform contact group ids.
    pub groups: Vec<u64>,
    /// Route and content, the same for every recipient.
    pub channel: SendChannel,
    /// The CSV columns of recipients that came from a file, by E.164 (`{{col.<header>}}`).
    pub columns: HashMap<String, Vec<(String, String)>>,
    /// Start at (Unix ms); `None` or a past time: now.
    pub start_ms: Option<i64>,
}

impl CampaignRequest {
    /// A campaign to `numbers`, starting now, without groups or columns.
    pub fn new(
        name: impl Into<String>,
        text: impl Into<String>,
        numbers: Vec<Phone>,
        channel: SendChannel,
    ) -> CampaignRequest {
        CampaignRequest {
            name: name.into(),
            text: text.into(),
            numbers,
            groups: Vec::new(),
            channel,
            columns: HashMap::new(),
            start_ms: None,
        }
    }
}

/// The result of [`Core::submit_campaign`].
#[derive(Debug, Clone)]
pub struct CampaignOutcome {
    pub campaign: messagepro_store::Campaign,
    /// Messages recorded (one per distinct recipient, skipped ones included).
    pub recipients: usize,
    /// Of those, queued to be sent.
    pub queued: usize,
    /// Of those, skipped because the number opted out.
    pub opted_out: usize,
    /// When the last message is due (Unix ms), by the pace (quiet hours may add to it).
    pub estimated_end_ms: i64,
}

impl CampaignOutcome {
    /// What the integration API answers.
    pub fn summary(&self) -> CampaignSummary {
        CampaignSummary {
            id: self.campaign.id,
            name: self.campaign.name.clone(),
            channel: self.campaign.channel,
            status: self.campaign.status,
            recipients: self.recipients,
            queued: self.queued,
            opted_out: self.opted_out,
            start_ms: self.campaign.start_ms,
            estimated_end_ms: self.estimated_end_ms,
        }
    }
}

/// A started campaign as the integration API answers it — also built inside the campaign's
/// transaction for its idempotency key ([`CampaignIdem`]), so a replay answers the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignSummary {
    pub id: i64,
    pub name: String,
    pub channel: messagepro_store::Channel,
    pub status: CampaignStatus,
    pub recipients: usize,
    pub queued: usize,
    pub opted_out: usize,
    pub start_ms: Option<i64>,
    pub estimated_end_ms: i64,
}

/// An integration API idempotency key to mark done with the campaign: `respond` builds the
/// stored answer.
pub struct CampaignIdem<'a> {
    pub token_id: i64,
    pub key: &'a str,
    #[allow(clippy::type_complexity)]
    pub respond: &'a (dyn Fn(&CampaignSummary) -> (u16, String) + Send + Sync),
}

impl std::fmt::Debug for CampaignIdem<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CampaignIdem")
            .field("token_id", &self.token_id)
            .finish_non_exhaustive()
    }
}

/// What a campaign would do, computed as [`Core::submit_campaign`] does.
#[derive(Debug, Clone)]
pub struct CampaignPreview {
    /// Distinct recipients.
    pub recipients: usize,
    /// Of those, opted out (they will be `skipped`).
    pub opted_out: usize,
    /// Up to three recipients that will be sent to, with their rendered text.
    pub examples: Vec<(String, String)>,
    /// The longest rendered text (spintax at its longest option) over all recipients sent to.
    pub worst_text: String,
    /// The first recipient lacking a value, the variable, and how many recipients lack one.
    pub missing: Option<(String, String, usize)>,
    /// How long the sends take at the pace (ms).
    pub duration_ms: i64,
}

/// One expanded recipient.
struct Recipient {
    phone: Phone,
    name: Option<String>,
    columns: Vec<(String, String)>,
    opted_out: bool,
}

impl Core {
    /// The members of platform groups as a campaign to those groups sends to them (the
    /// campaign and its preview use this one list): platform contacts in any of `groups` whose
    /// phone parses, de-duplicated in platform order. Opted-out members are included — the
    /// campaign records them `skipped (opted out)`.
    pub async fn group_members(&self, groups: &[u64]) -> Result<Vec<Phone>, messagepro::Error> {
        Ok(self
            .group_members_named(groups)
            .await?
            .into_iter()
            .map(|(p, _)| p)
            .collect())
    }

    async fn group_members_named(
        &self,
        groups: &[u64],
    ) -> Result<Vec<(Phone, String)>, messagepro::Error> {
        let contacts = self.inner.platform.all_contacts().await?;
        let wanted: HashSet<String> = groups.iter().map(|g| g.to_string()).collect();
        let country = self.inner.platform.default_country().to_owned();
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for c in contacts {
            if !c.groups.iter().any(|g| wanted.contains(g.trim())) {
                continue;
            }
            let Ok(p) = Phone::parse(&c.phone, &country) else {
                continue;
            };
            if seen.insert(p.e164().to_owned()) {
                out.push((p, c.name));
            }
        }
        Ok(out)
    }

    /// Numbers then group members, de-duplicated in input order, with their names (local
    /// contact book first, then the platform's contact), CSV columns and opt-out state.
    async fn expand(
        &self,
        req: &CampaignRequest,
        template: &Template,
    ) -> Result<Vec<Recipient>, SendError> {
        let members = if req.groups.is_empty() {
            Vec::new()
        } else {
            self.group_members_named(&req.groups)
                .await
                .map_err(|_| SendError::Invalid("groups_unreadable"))?
        };
        let mut platform_names: HashMap<String, String> = members
            .iter()
            .filter(|(_, n)| !n.trim().is_empty())
            .map(|(p, n)| (p.e164().to_owned(), n.clone()))
            .collect();
        let mut seen = HashSet::new();
        let phones: Vec<Phone> = req
            .numbers
            .iter()
            .cloned()
            .chain(members.into_iter().map(|(p, _)| p))
            .filter(|p| seen.insert(p.e164().to_owned()))
            .collect();
        let e164s: Vec<String> = phones.iter().map(|p| p.e164().to_owned()).collect();
        let store = &self.inner.store;
        let suppressed = store.suppressed_among(&e164s).await?;
        let needs_names = template.variables().iter().any(|v| v == "contact.name");
        let local = if needs_names {
            store.contacts_among(&e164s).await?
        } else {
            HashMap::new()
        };
        if needs_names && req.groups.is_empty() {
            // typed numbers may be platform contacts too
            if let Ok(all) = self.inner.platform.all_contacts().await {
                let country = self.inner.platform.default_country().to_owned();
                for c in all {
                    if let Ok(p) = Phone::parse(&c.phone, &country)
                        && !c.name.trim().is_empty()
                    {
                        platform_names.entry(p.e164().to_owned()).or_insert(c.name);
                    }
                }
            }
        }
        Ok(phones
            .into_iter()
            .map(|p| {
                let e = p.e164().to_owned();
                let name = local
                    .get(&e)
                    .map(|c| c.name.clone())
                    .filter(|n| !n.trim().is_empty())
                    .or_else(|| platform_names.get(&e).cloned());
                Recipient {
                    opted_out: suppressed.contains(&e),
                    columns: req.columns.get(&e).cloned().unwrap_or_default(),
                    name,
                    phone: p,
                }
            })
            .collect())
    }

    /// The local date and time `{{date.now}}` / `{{date.time}}` show for a recipient.
    pub(crate) fn local_now(&self, e164: &str) -> chrono::NaiveDateTime {
        let tz = crate::quiet::zones_of_e164(e164)
            .first()
            .copied()
            .unwrap_or(chrono_tz::Africa::Conakry);
        chrono::DateTime::from_timestamp_millis(self.now_ms())
            .unwrap_or_default()
            .with_timezone(&tz)
            .naive_local()
    }

    fn render_for(&self, t: &Template, r: &Recipient) -> Result<String, TemplateError> {
        t.render(&Vars {
            phone: r.phone.e164(),
            name: r.name.as_deref(),
            columns: &r.columns,
            now: self.local_now(r.phone.e164()),
            lang: Lang::Fr,
            data: None,
        })
    }

    /// What [`Core::submit_campaign`] would do with `req` — recipients, opt-outs, three
    /// rendered examples, the worst-case text, the first missing variable — without recording
    /// anything. A template error (unknown or unclosed variable) is [`SendError::Template`].
    pub async fn preview_campaign(
        &self,
        req: &CampaignRequest,
    ) -> Result<CampaignPreview, SendError> {
        let template = Template::parse(&req.text)?;
        let recipients = self.expand(req, &template).await?;
        let mut examples = Vec::new();
        let mut worst = String::new();
        let mut missing: Option<(String, String, usize)> = None;
        let mut sendable = 0;
        for r in recipients.iter().filter(|r| !r.opted_out) {
            sendable += 1;
            match self.render_for(&template, r) {
                Ok(text) => {
                    let longest = crate::template::spintax_longest(&text);
                    if longest.chars().count() > worst.chars().count() {
                        worst = longest;
                    }
                    if examples.len() < 3 {
                        examples.push((r.phone.e164().to_owned(), text));
                    }
                }
                Err(TemplateError::Missing { variable }) => match &mut missing {
                    Some((_, _, n)) => *n += 1,
                    None => missing = Some((r.phone.e164().to_owned(), variable, 1)),
                },
                Err(e) => return Err(e.into()),
            }
        }
        let offsets = self.campaign_offsets(&req.channel, sendable);
        Ok(CampaignPreview {
            recipients: recipients.len(),
            opted_out: recipients.len() - sendable,
            examples,
            worst_text: worst,
            missing,
            duration_ms: offsets.last().copied().unwrap_or(0),
        })
    }

    /// Starts a campaign: the campaign, one message per distinct recipient — a job for each,
    /// or `skipped (opted out)` — and the audit entry in one transaction; the workers send them
    /// from the start time, at the pace of the route. A recipient lacking a template value
    /// refuses the whole campaign ([`TemplateError::Missing`]), as the preview does.
    #[tracing::instrument(skip_all, fields(numbers = req.numbers.len(), groups = req.groups.len()))]
    pub async fn submit_campaign(
        &self,
        actor: &Actor,
        req: CampaignRequest,
    ) -> Result<CampaignOutcome, SendError> {
        self.submit_campaign_with(actor, req, None).await
    }

    /// [`Core::submit_campaign`] with the integration API's idempotency key, marked done in
    /// the campaign's transaction.
    pub async fn submit_campaign_with(
        &self,
        actor: &Actor,
        req: CampaignRequest,
        idempotency: Option<CampaignIdem<'_>>,
    ) -> Result<CampaignOutcome, SendError> {
        if !actor.can(req.channel.permission()) {
            return Err(SendError::Forbidden);
        }
        if req.text.trim().is_empty() {
            return Err(SendError::EmptyText);
        }
        let template = Template::parse(&req.text)?;
        let recipients = self.expand(&req, &template).await?;
        if recipients.is_empty() {
            return Err(SendError::Invalid("no_recipients"));
        }
        let now = self.now_ms();
        let start = req.start_ms.unwrap_or(now).max(now);
        let store_channel = req.channel.store_channel();
        let route = channel_route_json(&req.channel);
        let sendable = recipients.iter().filter(|r| !r.opted_out).count();
        let offsets = self.campaign_offsets(&req.channel, sendable);
        let mut next = offsets.iter();
        let mut rows: Vec<(NewMessage, Admit)> = Vec::with_capacity(recipients.len());
        for r in &recipients {
            let text = if template.is_personalised() {
                self.render_for(&template, r)?
            } else {
                req.text.clone()
            };
            let admit = if r.opted_out {
                Admit::Skip("skip.opted_out".into())
            } else {
                let send = SendRequest {
                    channel: personalised(&req.channel, &text),
                    recipient: r.phone.clone(),
                    text: text.clone(),
                };
                let at = start + next.next().copied().unwrap_or(0);
                Admit::Queue(self.new_job(&Payload::from_request(&send).promotional(), at))
            };
            rows.push((
                NewMessage {
                    channel: store_channel,
                    recipient: r.phone.e164().to_owned(),
                    segments: segments_of(store_channel, &text),
                    text,
                    route: route.clone(),
                    status: MessageStatus::Queued,
                    created_by: actor.user_id(),
                    campaign_id: None,
                },
                admit,
            ));
        }
        let campaign = NewCampaign {
            name: req.name.clone(),
            channel: store_channel,
            status: if start > now {
                CampaignStatus::Queued
            } else {
                CampaignStatus::Running
            },
            total: rows.len() as i64,
            created_by: actor.user_id(),
            start_ms: (start > now).then_some(start),
            token_id: actor.token_id(),
        };
        let opted_out = recipients.len() - sendable;
        let mut audit = self.audit(actor, &format!("{store_channel}.campaign"), &req.name);
        audit.detail = Some(format!(
            "{} recipients ({} numbers, {} groups), {opted_out} opted out{}",
            rows.len(),
            req.numbers.len(),
            req.groups.len(),
            if start > now {
                format!(", scheduled at {start}")
            } else {
                String::new()
            }
        ));
        let estimated_end_ms = start + offsets.last().copied().unwrap_or(0);
        let summary = |id: i64| CampaignSummary {
            id,
            name: campaign.name.clone(),
            channel: store_channel,
            status: campaign.status,
            recipients: rows.len(),
            queued: sendable,
            opted_out,
            start_ms: campaign.start_ms,
            estimated_end_ms,
        };
        let respond = |ids: &[i64]| match &idempotency {
            Some(i) => (i.respond)(&summary(ids.first().copied().unwrap_or_default())),
            None => (500, String::new()),
        };
        let done = idempotency.as_ref().map(|i| messagepro_store::IdemDone {
            token_id: i.token_id,
            key: i.key,
            respond: &respond,
        });
        let (campaign, queued) = self
            .inner
            .store
            .enqueue_campaign(&campaign, &rows, &audit, done.as_ref(), now)
            .await?;
        tracing::info!(
            campaign = campaign.id,
            recipients = rows.len(),
            queued,
            "campaign accepted"
        );
        self.inner.wake.notify_one();
        Ok(CampaignOutcome {
            campaign,
            recipients: rows.len(),
            queued,
            opted_out,
            estimated_end_ms,
        })
    }

    /// The platform ids of the contact groups named `names` (case-insensitive, as the events'
    /// rules name them); `Ok(Err(name))` is the first name no group has.
    pub async fn group_ids_named(
        &self,
        names: &[String],
    ) -> Result<Result<Vec<u64>, String>, messagepro::Error> {
        if names.is_empty() {
            return Ok(Ok(Vec::new()));
        }
        let groups = self.inner.platform.all_groups().await?;
        let mut ids = Vec::with_capacity(names.len());
        for name in names {
            match groups
                .iter()
                .find(|g| g.name.trim().eq_ignore_ascii_case(name.trim()))
            {
                Some(g) => ids.push(g.id),
                None => return Ok(Err(name.clone())),
            }
        }
        Ok(Ok(ids))
    }

    /// The campaign, if `actor` may control it: send on its channel, and either created it
    /// (a console user, or the API token that started it) or hold `messaging.manage_campaigns` (a refusal is audited under `action`).
    async fn campaign_for(
        &self,
        actor: &Actor,
        campaign_id: i64,
        action: &str,
    ) -> Result<messagepro_store::Campaign, SendError> {
        let store = &self.inner.store;
        let c = store
            .campaign_by_id(campaign_id)
            .await?
            .ok_or(messagepro_store::StoreError::NotFound("campaign"))?;
        let needed = match c.channel {
            Channel::Whatsapp => Permission::SendWhatsapp,
            _ => Permission::SendSms,
        };
        if !actor.can(needed) {
            return Err(SendError::Forbidden);
        }
        let own = (c.created_by.is_some() && c.created_by == actor.user_id())
            || (c.token_id.is_some() && c.token_id == actor.token_id());
        if !own && !actor.can(Permission::ManageCampaigns) {
            let mut audit = self.audit(actor, action, &c.name);
            audit.detail = Some(format!("campaign {campaign_id}: not the owner"));
            audit.outcome = Outcome::Denied;
            store.audit(&audit).await?;
            return Err(SendError::Forbidden);
        }
        Ok(c)
    }

    async fn audit_campaign(
        &self,
        actor: &Actor,
        action: &str,
        c: &messagepro_store::Campaign,
        ok: bool,
        detail: String,
    ) -> Result<(), SendError> {
        let mut audit = self.audit(actor, action, &c.name);
        audit.detail = Some(detail);
        if !ok {
            audit.outcome = Outcome::Failure;
        }
        self.inner.store.audit(&audit).await?;
        Ok(())
    }

    /// Pauses (`pause = true`) or resumes a campaign: its messages not yet sent wait (held in
    /// the outbox) until it is resumed, then keep their spacing; both survive restarts.
    /// Audited. `Ok(false)`: the campaign was not running or scheduled (pause) or not paused
    /// (resume). `Forbidden` unless the actor may send on the campaign's channel and either
    /// created it or holds `messaging.manage_campaigns` (the refusal is audited).
    pub async fn set_campaign_paused(
        &self,
        actor: &Actor,
        campaign_id: i64,
        pause: bool,
    ) -> Result<bool, SendError> {
        let action = if pause {
            "campaign.pause"
        } else {
            "campaign.resume"
        };
        let c = self.campaign_for(actor, campaign_id, action).await?;
        let store = &self.inner.store;
        let changed = store
            .set_campaign_paused(campaign_id, pause, self.now_ms())
            .await?;
        if changed && pause {
            store.pace_reset_horizons().await?;
        }
        self.audit_campaign(
            actor,
            action,
            &c,
            changed,
            format!("campaign {campaign_id}"),
        )
        .await?;
        if changed && !pause {
            self.inner.wake.notify_one();
        }
        Ok(changed)
    }

    /// Cancels a campaign: every message not yet being sent is `skipped` (`skip.cancelled`).
    /// Same rights as pausing; audited. `Ok(None)`: it was already finished or cancelled.
    pub async fn cancel_campaign(
        &self,
        actor: &Actor,
        campaign_id: i64,
    ) -> Result<Option<u64>, SendError> {
        let c = self
            .campaign_for(actor, campaign_id, "campaign.cancel")
            .await?;
        let store = &self.inner.store;
        let n = store.cancel_campaign(campaign_id, self.now_ms()).await?;
        if n.is_some() {
            store.pace_reset_horizons().await?;
        }
        let detail = match n {
            Some(n) => format!("campaign {campaign_id}: {n} messages cancelled"),
            None => format!("campaign {campaign_id}: already finished"),
        };
        self.audit_campaign(actor, "campaign.cancel", &c, n.is_some(), detail)
            .await?;
        Ok(n)
    }

    /// Moves the start of a scheduled campaign that has not started (every message keeps its
    /// place). Same rights as pausing; audited. `Ok(false)`: it has started, or is paused,
    /// finished or cancelled. A start in the past is refused (`Invalid("start_in_past")`).
    pub async fn reschedule_campaign(
        &self,
        actor: &Actor,
        campaign_id: i64,
        start_ms: i64,
    ) -> Result<bool, SendError> {
        let c = self
            .campaign_for(actor, campaign_id, "campaign.reschedule")
            .await?;
        let now = self.now_ms();
        if start_ms <= now {
            return Err(SendError::Invalid("start_in_past"));
        }
        let ok = self
            .inner
            .store
            .reschedule_campaign(campaign_id, start_ms, now)
            .await?;
        self.audit_campaign(
            actor,
            "campaign.reschedule",
            &c,
            ok,
            format!("campaign {campaign_id}: start at {start_ms}"),
        )
        .await?;
        Ok(ok)
    }
}

/// The channel with a WhatsApp text replaced by the recipient's rendered text (media and
/// documents keep their caption as rendered).
pub(crate) fn personalised(channel: &SendChannel, text: &str) -> SendChannel {
    match channel {
        SendChannel::WhatsApp {
            account,
            content,
            priority,
        } => {
            use messagepro::WaContent;
            let content = match content {
                WaContent::Text(_) => WaContent::Text(text.to_owned()),
                WaContent::Media { source, .. } => WaContent::Media {
                    caption: text.to_owned(),
                    source: source.clone(),
                },
                WaContent::Document { source, .. } => WaContent::Document {
                    caption: text.to_owned(),
                    source: source.clone(),
                },
            };
            SendChannel::WhatsApp {
                account: account.clone(),
                content,
                priority: *priority,
            }
        }
        sms => sms.clone(),
    }
}
