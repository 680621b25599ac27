//! SMS campaigns: the page with the campaign list, the upload and preview of recipients (the
//! preview is core's: personalised examples, opted-out recipients, a missing variable), the
//! send — now or at a time typed in the console's time zone — and pause / resume / cancel.

use super::*;
use crate::id::Id;

/// A campaign in the list, with progress from the local rows and the platform's status.
#[derive(Debug, Clone)]
pub struct CampaignRow {
    pub c: Campaign,
    pub sent: i64,
    pub failed: i64,
    /// Never sent by policy (opted out, cancelled).
    pub skipped: i64,
    pub waiting: i64,
    /// The scheduled start, formatted, while it has not come.
    pub starts: Option<String>,
    /// While quiet hours hold in the console's time zone: when they end (local time).
    pub quiet_until: Option<String>,
    /// Percentage of rows with a final status.
    pub progress: i64,
    /// Whether the viewer may pause or resume it (its creator, or `messaging.manage_campaigns`).
    pub may_control: bool,
}

/// A platform contact group in the picker.
#[derive(Debug, Clone)]
pub struct GroupOpt {
    pub id: u64,
    pub name: String,
    pub selected: bool,
}

/// The computed preview of a campaign.
#[derive(Debug, Clone)]
pub struct Preview {
    pub phones: Vec<String>,
    pub invalid: Vec<InvalidLine>,
    pub duplicates: usize,
    pub segments: usize,
    pub total_sms: usize,
    pub cost: Option<String>,
    pub unpriced: usize,
    /// Comma-separated E.164 numbers (hidden field of the confirm form).
    pub numbers_csv: String,
    /// The recipients' CSV columns as JSON (hidden field, when the text uses `{{col.…}}`).
    pub columns_json: String,
    /// Of the recipients, how many opted out (recorded skipped, never sent).
    pub opted_out: usize,
    /// Up to three recipients with their own text.
    pub examples: Vec<(String, String)>,
    /// A recipient lacking a value — (phone, `{{variable}}`, how many lack one): the send is
    /// blocked.
    pub missing: Option<(String, String, String)>,
    /// How long the sends take at the device's pace, in words.
    pub duration: Option<String>,
    /// The scheduled start, formatted.
    pub starts: Option<String>,
    /// Quiet hours at the start in the console's time zone: when the messages will leave.
    pub quiet_until: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub(super) struct BulkForm {
    nonce: String,
    name: String,
    message: String,
    recipients: String,
    file: String,
    groups: Vec<u64>,
    route: RouteFields,
    /// `YYYY-MM-DDTHH:MM` in the console's time zone; empty: now.
    start_at: String,
    /// The confirm step's columns (JSON).
    columns: String,
}

#[derive(Template)]
#[template(path = "messaging/sms_bulk.html")]
pub(super) struct BulkPage {
    page: PageCtx,
    form_name: String,
    form_message: String,
    form_recipients: String,
    form_start_at: String,
    time_zone: String,
    route: RouteFields,
    credits: bool,
    sim2: bool,
    groups: Vec<GroupOpt>,
    choices: Choices,
    counter: CounterView,
    preview: Option<Preview>,
    error: Option<String>,
    campaigns: Vec<CampaignRow>,
    can_send: bool,
    nonce: String,
}

pub(super) async fn campaign_rows(
    state: &AppState,
    viewer: &crate::guard::CurrentUser,
) -> Result<Vec<CampaignRow>, AppError> {
    let campaigns: Vec<Campaign> = state
        .store
        .list_campaigns(Page::first(20))
        .await?
        .into_iter()
        .filter(|c| c.channel == Channel::Sms)
        .collect();
    let mut out = Vec::new();
    for c in campaigns {
        let count = |s| MessageFilter {
            campaign_id: Some(c.id),
            status: Some(s),
            ..Default::default()
        };
        let sent = state
            .store
            .count_messages(&count(MessageStatus::Sent))
            .await?;
        let failed = state
            .store
            .count_messages(&count(MessageStatus::Failed))
            .await?;
        let skipped = state
            .store
            .count_messages(&count(MessageStatus::Skipped))
            .await?;
        let total = c.total.max(1);
        let now = state.core.clock().now_ms();
        out.push(CampaignRow {
            may_control: viewer.can(Permission::SendSms)
                && (c.created_by == Some(viewer.id) || viewer.can(Permission::ManageCampaigns)),
            progress: (sent + failed + skipped) * 100 / total,
            waiting: (c.total - sent - failed - skipped).max(0),
            starts: c
                .start_ms
                .filter(|s| *s > now && c.status == CampaignStatus::Queued)
                .map(|s| local_datetime(state, s)),
            quiet_until: (c.status == CampaignStatus::Running
                && c.total - sent - failed - skipped > 0)
                .then(|| quiet_until(state, now))
                .flatten(),
            sent,
            failed,
            skipped,
            c,
        });
    }
    Ok(out)
}

pub(super) async fn render_bulk(
    ui: &Ui,
    form: BulkForm,
    preview: Option<Preview>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let country = ui.state.settings.default_country.clone();
    let choices = load_choices(&ui.state, &country, &form.route, ui.lang).await;
    let groups = match ui.state.platform.all_groups().await {
        Ok(gs) => gs
            .into_iter()
            .map(|g| GroupOpt {
                selected: form.groups.contains(&g.id),
                id: g.id,
                name: g.name,
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    let can_send = ui.user()?.can(Permission::SendSms);
    let mut r = render(&BulkPage {
        page: ui.page("sms.bulk.title"),
        counter: Counter::of(&form.message).view(ui),
        credits: form.route.is_credits(),
        sim2: form.route.sim == "2",
        form_name: form.name,
        form_message: form.message,
        form_recipients: form.recipients,
        form_start_at: form.start_at,
        time_zone: ui.state.settings.time_zone.name().to_owned(),
        route: form.route,
        groups,
        choices,
        preview,
        error,
        campaigns: campaign_rows(&ui.state, ui.user()?).await?,
        can_send,
        nonce: ui.form_nonce().await?,
    })?;
    *r.status_mut() = status;
    Ok(r)
}

/// The campaign list alone: the page polls it every 5 s, so progress moves without a reload
/// (no form token, no platform call — only the local counts).
#[derive(Template)]
#[template(path = "messaging/_campaigns.html")]
pub(super) struct CampaignsFragment {
    page: PageCtx,
    campaigns: Vec<CampaignRow>,
    can_send: bool,
}

#[tracing::instrument(skip_all)]
pub(super) async fn bulk_campaigns(ui: Ui) -> Result<Response, AppError> {
    render(&CampaignsFragment {
        page: ui.page("sms.bulk.title"),
        campaigns: campaign_rows(&ui.state, ui.user()?).await?,
        can_send: ui.user()?.can(Permission::SendSms),
    })
}

#[tracing::instrument(skip_all)]
pub(super) async fn bulk_page(ui: Ui) -> Result<Response, AppError> {
    let form = BulkForm {
        route: RouteFields {
            mode: "devices".into(),
            sim: "1".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    render_bulk(&ui, form, None, None, StatusCode::OK).await
}

/// Largest accepted upload / form (a CSV of ~100,000 numbers).
pub(super) const BULK_LIMIT: usize = 4 * 1024 * 1024;

/// Reads an urlencoded or multipart (CSV upload, sent by htmx with the CSRF header) form.
pub(super) async fn read_bulk_form(state: &AppState, req: Request) -> Result<BulkForm, AppError> {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut file = String::new();
    if multipart {
        let mut mp = Multipart::from_request(req, state)
            .await
            .map_err(|_| AppError::BadRequest)?;
        while let Some(field) = mp.next_field().await.map_err(|_| AppError::BadRequest)? {
            let name = field.name().unwrap_or_default().to_owned();
            let is_file = field.file_name().is_some();
            let bytes = field.bytes().await.map_err(|_| AppError::BadRequest)?;
            if bytes.len() > BULK_LIMIT {
                return Err(AppError::BadRequest);
            }
            let text = String::from_utf8_lossy(&bytes).into_owned();
            if is_file && name == "file" {
                file = text;
            } else {
                pairs.push((name, text));
            }
        }
    } else {
        let bytes = axum::body::to_bytes(req.into_body(), BULK_LIMIT)
            .await
            .map_err(|_| AppError::BadRequest)?;
        pairs = form_urlencoded::parse(&bytes).into_owned().collect();
    }
    let groups = pairs
        .iter()
        .filter(|(k, _)| k == "groups")
        .filter_map(|(_, v)| v.trim().parse().ok())
        .collect();
    let map: HashMap<String, String> = pairs.into_iter().collect();
    let g = |k: &str| map.get(k).cloned().unwrap_or_default();
    Ok(BulkForm {
        nonce: g("nonce"),
        name: g("name"),
        message: g("message"),
        recipients: g("recipients"),
        file,
        groups,
        route: RouteFields::from_pairs(&map),
        start_at: g("start_at"),
        columns: g("columns"),
    })
}

/// Builds the preview: numbers from the textarea, the file and the groups' members.
/// Why a preview could not be built: a translation key, or core's refusal (a template error
/// names its variable).
pub(super) enum PreviewError {
    Key(String),
    Send(SendError),
}

impl From<String> for PreviewError {
    fn from(key: String) -> Self {
        PreviewError::Key(key)
    }
}

pub(super) async fn build_preview(
    state: &AppState,
    form: &BulkForm,
    lang: crate::i18n::Lang,
) -> Result<(RecipientList, Preview), PreviewError> {
    let country = &state.settings.default_country;
    let mut list = RecipientList::new();
    list.add_text("list", &form.recipients, country);
    list.add_text("file", &form.file, country);
    if !form.groups.is_empty() {
        let members = state
            .core
            .group_members(&form.groups)
            .await
            .map_err(|e| crate::send::platform_error_key(&e).to_owned())?;
        for p in members {
            list.push(p);
        }
    }
    let start_ms = parse_start(state, &form.start_at)?;
    let route = form.route.route().map_err(str::to_owned)?;
    let mut req = CampaignRequest::new(
        form.name.trim(),
        form.message.clone(),
        list.phones.clone(),
        SendChannel::Sms { route },
    );
    req.columns = list.columns.clone();
    let core_preview = match state.core.preview_campaign(&req).await {
        Ok(p) => p,
        Err(e) => return Err(PreviewError::Send(e)),
    };
    let worst = if core_preview.worst_text.is_empty() {
        form.message.clone()
    } else {
        core_preview.worst_text.clone()
    };
    let segments = analyze(&worst).segments.max(1);
    let (cost, unpriced) = if form.route.is_credits() {
        match state.core.rates_read().await.map(|r| r.value) {
            Ok(rates) => match pricing::estimate(
                &rates,
                form.route.gateway.trim(),
                &list.phones,
                segments,
                country,
            ) {
                Some(e) => (Some(price_text(&e.total, lang)), e.unpriced),
                None => (None, list.phones.len()),
            },
            Err(_) => (None, list.phones.len()),
        }
    } else {
        (None, 0)
    };
    let preview = Preview {
        phones: list.phones.iter().map(|p| p.e164().to_owned()).collect(),
        invalid: list.invalid.clone(),
        duplicates: list.duplicates,
        segments,
        total_sms: segments * list.phones.len(),
        cost,
        unpriced,
        numbers_csv: list
            .phones
            .iter()
            .map(|p| p.e164().to_owned())
            .collect::<Vec<_>>()
            .join(","),
        columns_json: if form.message.contains("col.") && !list.columns.is_empty() {
            serde_json::to_string(&list.columns).unwrap_or_default()
        } else {
            String::new()
        },
        opted_out: core_preview.opted_out,
        examples: core_preview.examples,
        missing: core_preview
            .missing
            .map(|(phone, variable, n)| (phone, format!("{{{{{variable}}}}}"), n.to_string())),
        duration: (core_preview.duration_ms >= 60_000)
            .then(|| duration_words(core_preview.duration_ms)),
        starts: start_ms.map(|s| local_datetime(state, s)),
        quiet_until: quiet_until(
            state,
            start_ms.unwrap_or_else(|| state.core.clock().now_ms()),
        ),
    };
    Ok((list, preview))
}

/// The start typed in the form (`YYYY-MM-DDTHH:MM`, console time zone) as Unix ms; `None`
/// when empty. A time in the past or more than a year ahead is an error key.
fn parse_start(state: &AppState, typed: &str) -> Result<Option<i64>, String> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    let local = chrono::NaiveDateTime::parse_from_str(typed, "%Y-%m-%dT%H:%M")
        .map_err(|_| "sms.error.start_invalid".to_owned())?;
    // a time that does not exist (a DST gap) takes the next valid one
    let at = (0..=120)
        .find_map(|m| {
            (local + chrono::Duration::minutes(m))
                .and_local_timezone(state.settings.time_zone)
                .earliest()
        })
        .ok_or_else(|| "sms.error.start_invalid".to_owned())?
        .timestamp_millis();
    let now = state.core.clock().now_ms();
    if at <= now {
        return Err("sms.error.start_past".to_owned());
    }
    if at > now + 366 * 86_400_000 {
        return Err("sms.error.start_invalid".to_owned());
    }
    Ok(Some(at))
}

/// Unix ms as `YYYY-MM-DD HH:MM (zone)` in the console's time zone.
pub(super) fn local_datetime(state: &AppState, ms: i64) -> String {
    let tz = state.settings.time_zone;
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| {
            format!(
                "{} ({})",
                d.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
                tz.name()
            )
        })
        .unwrap_or_default()
}

/// When quiet hours that hold at `at_ms` in the console's time zone end, as local `HH:MM`
/// (`None` outside quiet hours). Recipients in other zones follow their own clocks; this is
/// what the page can say in one line.
fn quiet_until(state: &AppState, at_ms: i64) -> Option<String> {
    let q = state.settings.policy.quiet_hours;
    let tz = state.settings.time_zone;
    let open = q.next_allowed(&[tz], at_ms);
    (open > at_ms).then(|| {
        chrono::DateTime::from_timestamp_millis(open)
            .map(|d| d.with_timezone(&tz).format("%H:%M").to_string())
            .unwrap_or_default()
    })
}

/// A duration as `2 h 05 min` / `7 min`.
fn duration_words(ms: i64) -> String {
    let minutes = (ms + 59_999) / 60_000;
    if minutes >= 60 {
        format!("{} h {:02} min", minutes / 60, minutes % 60)
    } else {
        format!("{minutes} min")
    }
}

pub(super) fn check_bulk(form: &BulkForm) -> Option<&'static str> {
    if form.name.trim().chars().count() < 3 {
        return Some("sms.error.campaign_name");
    }
    if form.message.trim().is_empty() {
        return Some("send.error.empty_text");
    }
    form.route.route().err()
}

#[tracing::instrument(skip_all)]
pub(super) async fn bulk_preview(ui: Ui, req: Request) -> Result<Response, AppError> {
    let form = read_bulk_form(&ui.state, req).await?;
    if let Some(key) = check_bulk(&form) {
        let msg = ui.t(key);
        return render_bulk(&ui, form, None, Some(msg), StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    match build_preview(&ui.state, &form, ui.lang).await {
        Ok((_, preview)) => {
            let error = preview
                .phones
                .is_empty()
                .then(|| ui.t("sms.error.no_recipients"));
            render_bulk(&ui, form, Some(preview), error, StatusCode::OK).await
        }
        Err(PreviewError::Key(key)) => {
            let msg = ui.t(&key);
            render_bulk(&ui, form, None, Some(msg), StatusCode::OK).await
        }
        Err(PreviewError::Send(SendError::Forbidden)) => Err(AppError::Forbidden),
        Err(PreviewError::Send(SendError::Store(e))) => Err(e.into()),
        Err(PreviewError::Send(e)) => {
            let msg = crate::send::user_message(&e, &ui.state.i18n, ui.lang);
            render_bulk(&ui, form, None, Some(msg), StatusCode::OK).await
        }
    }
}

/// Confirm step: the numbers come back from the preview (already normalised, re-checked here).
#[tracing::instrument(skip_all)]
pub(super) async fn bulk_send(ui: Ui, req: Request) -> Result<Response, AppError> {
    let mut form = read_bulk_form(&ui.state, req).await?;
    // the confirm form carries the normalised numbers in `numbers`
    let numbers = std::mem::take(&mut form.recipients);
    let mut list = RecipientList::new();
    for n in numbers
        .split([',', '\n'])
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        match Phone::parse_international(n) {
            Ok(p) => {
                list.push(p);
            }
            Err(_) => return Err(AppError::BadRequest),
        }
    }
    form.recipients = numbers.replace(',', "\n");
    if let Some(key) = check_bulk(&form) {
        let msg = ui.t(key);
        return render_bulk(&ui, form, None, Some(msg), StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    if list.phones.is_empty() {
        let msg = ui.t("sms.error.no_recipients");
        return render_bulk(&ui, form, None, Some(msg), StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let Ok(route) = form.route.route() else {
        return Err(AppError::BadRequest);
    };
    if !ui.use_nonce(&form.nonce).await? {
        tracing::info!("campaign form submitted twice (or without its token): ignored");
        flash(&ui.session, "error", ui.t("sms.bulk.duplicate")).await?;
        return Ok(Redirect::to("/messaging/sms/bulk").into_response());
    }
    let start_ms = match parse_start(&ui.state, &form.start_at) {
        Ok(s) => s,
        Err(key) => {
            let msg = ui.t(&key);
            return render_bulk(&ui, form, None, Some(msg), StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    let columns = if form.columns.trim().is_empty() {
        Default::default()
    } else {
        serde_json::from_str(&form.columns).map_err(|_| AppError::BadRequest)?
    };
    let req = CampaignRequest {
        name: form.name.trim().to_owned(),
        text: form.message.clone(),
        numbers: list.phones,
        groups: Vec::new(),
        columns,
        start_ms,
        channel: SendChannel::Sms { route },
    };
    match ui.state.core.submit_campaign(&ui.actor()?, req).await {
        Ok(out) => {
            let n = out.queued.to_string();
            let skipped = out.opted_out.to_string();
            let text = match out.campaign.start_ms {
                Some(at) => ui.tf(
                    "sms.bulk.scheduled",
                    &[
                        ("name", &out.campaign.name),
                        ("n", &n),
                        ("at", &local_datetime(&ui.state, at)),
                    ],
                ),
                None => ui.tf(
                    "sms.bulk.started",
                    &[("name", &out.campaign.name), ("n", &n)],
                ),
            };
            let text = if out.opted_out > 0 {
                format!(
                    "{text} {}",
                    ui.tf("sms.bulk.skipped_opted_out", &[("n", &skipped)])
                )
            } else {
                text
            };
            flash(&ui.session, "success", text).await?;
            Ok(Redirect::to("/messaging/sms/bulk").into_response())
        }
        Err(SendError::Forbidden) => Err(AppError::Forbidden),
        Err(SendError::Store(e)) => Err(e.into()),
        Err(e) => {
            let msg = crate::send::user_message(&e, &ui.state.i18n, ui.lang);
            render_bulk(&ui, form, None, Some(msg), StatusCode::OK).await
        }
    }
}

pub(super) async fn campaign_control(ui: Ui, id: i64, pause: bool) -> Result<Response, AppError> {
    let changed = match ui
        .state
        .core
        .set_campaign_paused(&ui.actor()?, id, pause)
        .await
    {
        Ok(c) => c,
        Err(SendError::Store(messagepro_store::StoreError::NotFound(_))) => {
            return Err(AppError::NotFound);
        }
        Err(e) => return Err(e.into()),
    };
    let (kind, key) = match (changed, pause) {
        (true, true) => ("success", "sms.bulk.paused"),
        (true, false) => ("success", "sms.bulk.resumed"),
        (false, _) => ("error", "sms.bulk.not_supported"),
    };
    flash(&ui.session, kind, ui.t(key)).await?;
    Ok(Redirect::to("/messaging/sms/bulk").into_response())
}

#[tracing::instrument(skip_all)]
pub(super) async fn bulk_pause(ui: Ui, Id(id): Id) -> Result<Response, AppError> {
    campaign_control(ui, id, true).await
}

#[tracing::instrument(skip_all)]
pub(super) async fn bulk_resume(ui: Ui, Id(id): Id) -> Result<Response, AppError> {
    campaign_control(ui, id, false).await
}

/// Cancels a campaign: its messages not yet being sent are skipped (`skip.cancelled`).
#[tracing::instrument(skip_all)]
pub(super) async fn bulk_cancel(ui: Ui, Id(id): Id) -> Result<Response, AppError> {
    let n = match ui.state.core.cancel_campaign(&ui.actor()?, id).await {
        Ok(n) => n,
        Err(SendError::Store(messagepro_store::StoreError::NotFound(_))) => {
            return Err(AppError::NotFound);
        }
        Err(e) => return Err(e.into()),
    };
    match n {
        Some(n) => {
            let n = n.to_string();
            flash(
                &ui.session,
                "success",
                ui.tf("sms.bulk.cancelled", &[("n", &n)]),
            )
            .await?
        }
        None => flash(&ui.session, "error", ui.t("sms.bulk.not_supported")).await?,
    }
    Ok(Redirect::to("/messaging/sms/bulk").into_response())
}
