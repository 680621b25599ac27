//! `/messaging/sms/...` — send one SMS (with a live segment counter), SMS campaigns (preview, then
//! send; pause/resume), and the SMS history (filters, pages, CSV export).
//!
//! Handlers only parse and render: phone numbers are parsed here with the configured default
//! country, the route (own device or credits) is built from the form, and every send goes through
//! the one send service ([`crate::send`]), which records the attempt before calling Message Pro.
//! Cost estimates come from [`messagepro_core::pricing`]; this file only formats the amounts.
//! Platform lists (devices, rates, groups, campaigns) fail soft: the page still renders and says
//! the platform is unreachable.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{FromRequest, Multipart, Path, Query, Request};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use http::{StatusCode, header};
use messagepro::sms::{Encoding, analyze};
use messagepro::{Gateway, Phone, Rates, Sim, SmsRoute};
use messagepro_core::pricing::{self, Price};
use messagepro_store::{Campaign, Channel, Message, MessageFilter, MessageStatus, Page};
use serde::Deserialize;

use crate::app::AppState;
use crate::error::AppError;
use crate::permissions::Permission;
use crate::routes::{Access, RouteRule};
use crate::send::recipients::{InvalidLine, RecipientList};
use crate::send::{CampaignRequest, SendChannel, SendError, SendRequest};
use crate::ui::{PageCtx, Ui, flash, render};

const SEND: Access = Access::Perm(Permission::SendSms);
const READ: Access = Access::Perm(Permission::MessagingRead);

pub const RULES: &[RouteRule] = &[
    RouteRule::get("/messaging/sms/send", SEND),
    RouteRule::post("/messaging/sms/send", SEND),
    RouteRule::post("/messaging/sms/analyze", SEND),
    RouteRule::get("/messaging/sms/bulk", SEND),
    RouteRule::post("/messaging/sms/bulk", SEND),
    RouteRule::post("/messaging/sms/bulk/preview", SEND),
    RouteRule::post("/messaging/sms/bulk/{id}/pause", SEND),
    RouteRule::post("/messaging/sms/bulk/{id}/resume", SEND),
    RouteRule::get("/messaging/sms/history", READ),
    RouteRule::get("/messaging/sms/history.csv", READ),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/messaging/sms/send", get(send_page).post(send_submit))
        .route("/messaging/sms/analyze", post(analyze_fragment))
        .route("/messaging/sms/bulk", get(bulk_page).post(bulk_send))
        .route("/messaging/sms/bulk/preview", post(bulk_preview))
        .route("/messaging/sms/bulk/{id}/pause", post(bulk_pause))
        .route("/messaging/sms/bulk/{id}/resume", post(bulk_resume))
        .route("/messaging/sms/history", get(history))
        .route("/messaging/sms/history.csv", get(history_csv))
}

// ----- route choice (devices / credits) -------------------------------------------------------

/// The route fields shared by the single and the campaign forms.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RouteFields {
    /// `devices` or `credits`.
    pub mode: String,
    /// Own device unique id.
    pub device: String,
    /// `1` or `2`.
    pub sim: String,
    /// Checkbox: present when ticked.
    pub priority: Option<String>,
    /// Gateway id or partner device unique id.
    pub gateway: String,
}

impl RouteFields {
    fn from_pairs(f: &HashMap<String, String>) -> RouteFields {
        let g = |k: &str| f.get(k).cloned().unwrap_or_default();
        RouteFields {
            mode: g("mode"),
            device: g("device"),
            sim: g("sim"),
            priority: f.get("priority").cloned(),
            gateway: g("gateway"),
        }
    }

    fn is_credits(&self) -> bool {
        self.mode == "credits"
    }

    /// The route, or the translation key of what is missing.
    fn route(&self) -> Result<SmsRoute, &'static str> {
        if self.is_credits() {
            let g = self.gateway.trim();
            if g.is_empty() {
                return Err("sms.error.no_gateway");
            }
            Ok(SmsRoute::credits(Gateway::parse(g)))
        } else {
            let d = self.device.trim();
            if d.is_empty() {
                return Err("sms.error.no_device");
            }
            Ok(SmsRoute::Devices {
                device: d.to_owned(),
                sim: if self.sim.trim() == "2" {
                    Sim::Two
                } else {
                    Sim::One
                },
                priority: self.priority.is_some(),
            })
        }
    }
}

/// A device in the picker.
#[derive(Debug, Clone)]
pub struct DeviceOpt {
    pub unique: String,
    pub name: String,
    pub online: bool,
    pub selected: bool,
}

/// A paid route in the picker, with its price for the recipient's country.
#[derive(Debug, Clone)]
pub struct GatewayOpt {
    pub value: String,
    pub label: String,
    /// `"25 GNF"`, or empty when the route has no price for that country.
    pub price: String,
    pub selected: bool,
}

/// What the route pickers offer (from the platform, fail soft).
#[derive(Debug, Clone, Default)]
pub struct Choices {
    pub devices: Vec<DeviceOpt>,
    pub gateways: Vec<GatewayOpt>,
    /// The platform could not be read: pickers may be empty.
    pub unreachable: bool,
    /// Country the prices are for (ISO2).
    pub country: String,
    rates: Rates,
}

/// `1 234,5` style amounts are locale matters; keep it simple and exact enough for an estimate.
fn money(v: f64, currency: &str) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s} {currency}")
}

fn price_text(p: &Price) -> String {
    money(p.amount, &p.currency)
}

async fn load_choices(state: &AppState, country: &str, sel: &RouteFields) -> Choices {
    let api = &state.platform;
    let (devices, rates) = tokio::join!(api.all_devices(), api.get_rates());
    let mut c = Choices {
        country: country.to_owned(),
        ..Default::default()
    };
    match devices {
        Ok(ds) => {
            c.devices = ds
                .into_iter()
                .map(|d| DeviceOpt {
                    selected: d.unique == sel.device,
                    name: if d.name.is_empty() {
                        d.unique.clone()
                    } else {
                        d.name.clone()
                    },
                    unique: d.unique,
                    online: d.online,
                })
                .collect();
            // online devices first
            c.devices.sort_by_key(|d| !d.online);
        }
        Err(e) => {
            tracing::warn!(error = %e, "device list unavailable");
            c.unreachable = true;
        }
    }
    match rates {
        Ok(r) => {
            let price = |v: &str| {
                pricing::unit_price(&r, v, country)
                    .map(|p| price_text(&p))
                    .unwrap_or_default()
            };
            for g in &r.gateways {
                let value = g.id.to_string();
                c.gateways.push(GatewayOpt {
                    price: price(&value),
                    selected: value == sel.gateway,
                    label: g.name.clone(),
                    value,
                });
            }
            for p in &r.partners {
                c.gateways.push(GatewayOpt {
                    price: price(&p.unique),
                    selected: p.unique == sel.gateway,
                    label: format!("{} ({}, {})", p.name, p.country, p.status),
                    value: p.unique.clone(),
                });
            }
            c.rates = r;
        }
        Err(e) => {
            tracing::warn!(error = %e, "rates unavailable");
            c.unreachable = true;
        }
    }
    c
}

// ----- single send ----------------------------------------------------------------------------

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct SendForm {
    phone: String,
    message: String,
    nonce: String,
    mode: String,
    device: String,
    sim: String,
    priority: Option<String>,
    gateway: String,
}

impl SendForm {
    fn route_fields(&self) -> RouteFields {
        RouteFields {
            mode: self.mode.clone(),
            device: self.device.clone(),
            sim: self.sim.clone(),
            priority: self.priority.clone(),
            gateway: self.gateway.clone(),
        }
    }
}

/// The live counter (also rendered inside the send and campaign pages).
#[derive(Debug, Clone)]
pub struct Counter {
    pub unicode: bool,
    pub characters: usize,
    pub segments: usize,
    pub remaining: usize,
    /// Estimated cost, credits mode only.
    pub cost: Option<String>,
}

/// The counter as sentences in the user's language (what the fragment shows).
#[derive(Debug, Clone)]
pub struct CounterView {
    pub encoding: String,
    pub characters: String,
    pub segments: String,
    pub left: String,
    pub cost: Option<String>,
}

impl Counter {
    fn view(&self, ui: &Ui) -> CounterView {
        let n = |key: &str, v: usize| ui.tf(key, &[("n", &v.to_string())]);
        CounterView {
            encoding: ui.t(if self.unicode {
                "sms.counter.unicode"
            } else {
                "sms.counter.gsm7"
            }),
            characters: n("sms.counter.characters", self.characters),
            segments: n("sms.counter.segments", self.segments),
            left: n("sms.counter.left", self.remaining),
            cost: self
                .cost
                .as_ref()
                .map(|c| ui.tf("sms.counter.cost", &[("cost", c)])),
        }
    }

    fn of(text: &str) -> Counter {
        let a = analyze(text);
        Counter {
            unicode: a.encoding == Encoding::Ucs2,
            characters: a.characters,
            segments: a.segments,
            remaining: a.remaining,
            cost: None,
        }
    }
}

#[derive(Template)]
#[template(path = "messaging/sms_send.html")]
struct SendPage {
    page: PageCtx,
    form: SendForm,
    credits: bool,
    sim2: bool,
    choices: Choices,
    counter: CounterView,
    error: Option<String>,
    nonce: String,
}

#[derive(Template)]
#[template(path = "messaging/sms_counter.html")]
struct CounterFragment {
    counter: CounterView,
}

async fn render_send(
    ui: &Ui,
    form: SendForm,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let country = Phone::parse(&form.phone, &ui.state.settings.default_country)
        .ok()
        .and_then(|p| p.region().map(str::to_owned))
        .unwrap_or_else(|| ui.state.settings.default_country.clone());
    let rf = form.route_fields();
    let choices = load_choices(&ui.state, &country, &rf).await;
    let mut counter = Counter::of(&form.message);
    if rf.is_credits() {
        counter.cost = cost_for_one(&ui.state, &choices.rates, &form);
    }
    let mut r = render(&SendPage {
        page: ui.page("sms.send.title"),
        credits: rf.is_credits(),
        sim2: form.sim == "2",
        form,
        choices,
        counter: counter.view(ui),
        error,
        nonce: ui.form_nonce().await?,
    })?;
    *r.status_mut() = status;
    Ok(r)
}

/// The estimated cost of the single SMS of `form` (credits mode), when its number is valid and
/// the route has a price for it.
fn cost_for_one(state: &AppState, rates: &Rates, form: &SendForm) -> Option<String> {
    let phone = Phone::parse(&form.phone, &state.settings.default_country).ok()?;
    let segments = analyze(&form.message).segments.max(1);
    pricing::estimate(
        rates,
        form.gateway.trim(),
        &[phone],
        segments,
        &state.settings.default_country,
    )
    .map(|e| price_text(&e.total))
}

#[tracing::instrument(skip_all)]
async fn send_page(ui: Ui, Query(route): Query<RouteFields>) -> Result<Response, AppError> {
    // `?mode=…&device=…`: the route of the previous send stays selected
    let form = SendForm {
        mode: if route.mode == "credits" {
            "credits".into()
        } else {
            "devices".into()
        },
        sim: if route.sim == "2" {
            "2".into()
        } else {
            "1".into()
        },
        device: route.device,
        gateway: route.gateway,
        priority: route.priority,
        ..Default::default()
    };
    render_send(&ui, form, None, StatusCode::OK).await
}

/// The send page with the route of `form` selected.
fn send_page_url(form: &SendForm) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("mode", &form.mode)
        .append_pair("device", &form.device)
        .append_pair("sim", &form.sim)
        .append_pair("gateway", &form.gateway);
    if form.priority.is_some() {
        q.append_pair("priority", "1");
    }
    format!("/messaging/sms/send?{}", q.finish())
}

#[tracing::instrument(skip_all)]
async fn send_submit(ui: Ui, Form(form): Form<SendForm>) -> Result<Response, AppError> {
    let phone = match Phone::parse(form.phone.trim(), &ui.state.settings.default_country) {
        Ok(p) => p,
        Err(_) => {
            let msg = ui.tf("sms.error.invalid_phone", &[("input", form.phone.trim())]);
            return render_send(&ui, form, Some(msg), StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    if form.message.trim().is_empty() {
        let msg = ui.t("send.error.empty_text");
        return render_send(&ui, form, Some(msg), StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let route = match form.route_fields().route() {
        Ok(r) => r,
        Err(key) => {
            let msg = ui.t(key);
            return render_send(&ui, form, Some(msg), StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    let e164 = phone.e164().to_owned();
    if !ui.use_nonce(&form.nonce).await? {
        tracing::info!("send form submitted twice (or without its token): ignored");
        flash(&ui.session, "error", ui.t("sms.send.duplicate")).await?;
        return Ok(Redirect::to("/messaging/sms/history").into_response());
    }
    let req = SendRequest::sms(phone, form.message.clone(), route);
    match ui.state.core.submit(&ui.actor()?, req).await {
        Ok(outcome) => {
            let key = match outcome.status {
                MessageStatus::Sent => "sms.send.done_sent",
                MessageStatus::Unknown => "sms.send.done_unknown",
                MessageStatus::Queued | MessageStatus::Sending => "sms.send.done_queued",
                _ => "sms.send.done_pending",
            };
            let kind = if outcome.status == MessageStatus::Unknown {
                "error"
            } else {
                "success"
            };
            flash(&ui.session, kind, ui.tf(key, &[("phone", &e164)])).await?;
            Ok(Redirect::to(&send_page_url(&form)).into_response())
        }
        Err(SendError::Forbidden) => Err(AppError::Forbidden),
        Err(SendError::Store(e)) => Err(e.into()),
        Err(e) => {
            let msg = crate::send::user_message(&e, &ui.state.i18n, ui.lang);
            let mut form = form;
            form.phone = e164;
            render_send(&ui, form, Some(msg), StatusCode::OK).await
        }
    }
}

/// The counter fragment for the text being typed (htmx, `input changed delay:150ms`).
#[tracing::instrument(skip_all)]
async fn analyze_fragment(ui: Ui, Form(form): Form<SendForm>) -> Result<Response, AppError> {
    let mut counter = Counter::of(&form.message);
    if form.route_fields().is_credits()
        && !form.gateway.trim().is_empty()
        && let Ok(rates) = ui.state.platform.get_rates().await
    {
        counter.cost = cost_for_one(&ui.state, &rates, &form);
    }
    render(&CounterFragment {
        counter: counter.view(&ui),
    })
}

// ----- campaigns --------------------------------------------------------------------------------

/// A campaign in the list, with progress from the local rows and the platform's status.
#[derive(Debug, Clone)]
pub struct CampaignRow {
    pub c: Campaign,
    pub sent: i64,
    pub failed: i64,
    pub waiting: i64,
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
}

#[derive(Debug, Clone, Default)]
struct BulkForm {
    nonce: String,
    name: String,
    message: String,
    recipients: String,
    file: String,
    groups: Vec<u64>,
    route: RouteFields,
}

#[derive(Template)]
#[template(path = "messaging/sms_bulk.html")]
struct BulkPage {
    page: PageCtx,
    form_name: String,
    form_message: String,
    form_recipients: String,
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

async fn campaign_rows(
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
        let total = c.total.max(1);
        out.push(CampaignRow {
            may_control: viewer.can(Permission::SendSms)
                && (c.created_by == Some(viewer.id) || viewer.can(Permission::ManageCampaigns)),
            progress: (sent + failed) * 100 / total,
            waiting: (c.total - sent - failed).max(0),
            sent,
            failed,
            c,
        });
    }
    Ok(out)
}

async fn render_bulk(
    ui: &Ui,
    form: BulkForm,
    preview: Option<Preview>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let country = ui.state.settings.default_country.clone();
    let choices = load_choices(&ui.state, &country, &form.route).await;
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

#[tracing::instrument(skip_all)]
async fn bulk_page(ui: Ui) -> Result<Response, AppError> {
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
const BULK_LIMIT: usize = 4 * 1024 * 1024;

/// Reads an urlencoded or multipart (CSV upload, sent by htmx with the CSRF header) form.
async fn read_bulk_form(state: &AppState, req: Request) -> Result<BulkForm, AppError> {
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
    })
}

/// Builds the preview: numbers from the textarea, the file and the groups' members.
async fn build_preview(
    state: &AppState,
    form: &BulkForm,
) -> Result<(RecipientList, Preview), String> {
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
    let segments = analyze(&form.message).segments.max(1);
    let (cost, unpriced) = if form.route.is_credits() {
        match state.platform.get_rates().await {
            Ok(rates) => match pricing::estimate(
                &rates,
                form.route.gateway.trim(),
                &list.phones,
                segments,
                country,
            ) {
                Some(e) => (Some(price_text(&e.total)), e.unpriced),
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
    };
    Ok((list, preview))
}

fn check_bulk(form: &BulkForm) -> Option<&'static str> {
    if form.name.trim().chars().count() < 3 {
        return Some("sms.error.campaign_name");
    }
    if form.message.trim().is_empty() {
        return Some("send.error.empty_text");
    }
    form.route.route().err()
}

#[tracing::instrument(skip_all)]
async fn bulk_preview(ui: Ui, req: Request) -> Result<Response, AppError> {
    let form = read_bulk_form(&ui.state, req).await?;
    if let Some(key) = check_bulk(&form) {
        let msg = ui.t(key);
        return render_bulk(&ui, form, None, Some(msg), StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    match build_preview(&ui.state, &form).await {
        Ok((_, preview)) => {
            let error = preview
                .phones
                .is_empty()
                .then(|| ui.t("sms.error.no_recipients"));
            render_bulk(&ui, form, Some(preview), error, StatusCode::OK).await
        }
        Err(key) => {
            let msg = ui.t(&key);
            render_bulk(&ui, form, None, Some(msg), StatusCode::OK).await
        }
    }
}

/// Confirm step: the numbers come back from the preview (already normalised, re-checked here).
#[tracing::instrument(skip_all)]
async fn bulk_send(ui: Ui, req: Request) -> Result<Response, AppError> {
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
    let req = CampaignRequest {
        name: form.name.trim().to_owned(),
        text: form.message.clone(),
        numbers: list.phones,
        groups: Vec::new(),
        channel: SendChannel::Sms { route },
    };
    match ui.state.core.submit_campaign(&ui.actor()?, req).await {
        Ok(out) => {
            let n = out.recipients.to_string();
            flash(
                &ui.session,
                "success",
                ui.tf(
                    "sms.bulk.started",
                    &[("name", &out.campaign.name), ("n", &n)],
                ),
            )
            .await?;
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

async fn campaign_control(ui: Ui, id: i64, pause: bool) -> Result<Response, AppError> {
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
async fn bulk_pause(ui: Ui, Path(id): Path<i64>) -> Result<Response, AppError> {
    campaign_control(ui, id, true).await
}

#[tracing::instrument(skip_all)]
async fn bulk_resume(ui: Ui, Path(id): Path<i64>) -> Result<Response, AppError> {
    campaign_control(ui, id, false).await
}

// ----- history ----------------------------------------------------------------------------------

/// `?before=<id>`: the page of messages older than that id (keyset pagination).
#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    pub before: Option<i64>,
}

/// Rows per history page.
pub const HISTORY_PAGE: i64 = 50;

/// One page of the history of `channel`, and the id to continue from.
pub async fn history_page(
    ui: &Ui,
    channel: Channel,
    before: Option<i64>,
) -> Result<(Vec<Message>, Option<i64>), AppError> {
    let f = MessageFilter {
        channel: Some(channel),
        ..Default::default()
    };
    page_of(ui, &f, before).await
}

async fn page_of(
    ui: &Ui,
    f: &MessageFilter,
    before: Option<i64>,
) -> Result<(Vec<Message>, Option<i64>), AppError> {
    let page = match before {
        Some(b) => Page::before(b, HISTORY_PAGE),
        None => Page::first(HISTORY_PAGE),
    };
    let messages = ui.state.store.list_messages(f, page).await?;
    let next = (messages.len() as i64 == HISTORY_PAGE)
        .then(|| messages.last().map(|m| m.id))
        .flatten();
    Ok((messages, next))
}

/// The history filters (all optional).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct HistoryFilters {
    pub phone: String,
    pub status: String,
    /// `YYYY-MM-DD` (UTC), inclusive.
    pub from: String,
    /// `YYYY-MM-DD` (UTC), inclusive.
    pub to: String,
    /// User id of the sender.
    pub sender: String,
    pub before: Option<i64>,
}

fn day_ms(d: &str) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

impl HistoryFilters {
    /// The store filter, or the translation key of an invalid field.
    fn to_filter(&self, default_country: &str) -> Result<MessageFilter, &'static str> {
        let mut f = MessageFilter {
            channel: Some(Channel::Sms),
            ..Default::default()
        };
        if !self.phone.trim().is_empty() {
            let p = Phone::parse(self.phone.trim(), default_country)
                .map_err(|_| "sms.history.bad_phone")?;
            f.recipient = Some(p.e164().to_owned());
        }
        if !self.status.is_empty() {
            f.status = Some(self.status.parse().map_err(|_| "sms.history.bad_filter")?);
        }
        if !self.from.trim().is_empty() {
            f.from_ms = Some(day_ms(&self.from).ok_or("sms.history.bad_date")?);
        }
        if !self.to.trim().is_empty() {
            f.to_ms = Some(day_ms(&self.to).ok_or("sms.history.bad_date")? + 86_400_000);
        }
        if !self.sender.trim().is_empty() {
            f.created_by = Some(
                self.sender
                    .trim()
                    .parse()
                    .map_err(|_| "sms.history.bad_filter")?,
            );
        }
        Ok(f)
    }

    /// The query string of these filters (without `before`), for links.
    pub fn query(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("phone", &self.phone)
            .append_pair("status", &self.status)
            .append_pair("from", &self.from)
            .append_pair("to", &self.to)
            .append_pair("sender", &self.sender)
            .finish()
    }
}

/// A history row ready to show.
#[derive(Debug, Clone)]
pub struct HistoryRow {
    pub m: Message,
    /// The platform's answer, or the console's own diagnosis in the user's language.
    pub detail: Option<String>,
    pub sender: String,
    pub route: String,
}

#[derive(Template)]
#[template(path = "messaging/sms_history.html")]
struct HistoryPage {
    page: PageCtx,
    rows: Vec<HistoryRow>,
    next_before: Option<i64>,
    filters: HistoryFilters,
    query: String,
    users: Vec<(i64, String)>,
    statuses: Vec<&'static str>,
    error: Option<String>,
}

fn route_label(route: &str, credits: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(route).unwrap_or_default();
    let s = |k: &str| {
        v.get(k).map(|x| match x {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    match v.get("mode").and_then(|m| m.as_str()) {
        Some("devices") => format!(
            "{} · SIM {}",
            s("device").unwrap_or_default(),
            s("sim").unwrap_or_else(|| "1".into())
        ),
        Some("credits") => format!("{credits} · {}", s("gateway").unwrap_or_default()),
        Some(other) => other.to_owned(),
        None => String::new(),
    }
}

async fn user_names(ui: &Ui) -> Result<Vec<(i64, String)>, AppError> {
    Ok(ui
        .state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect())
}

fn rows_of(messages: Vec<Message>, users: &[(i64, String)], ui: &Ui) -> Vec<HistoryRow> {
    let credits = ui.t("sms.route.credits_short");
    messages
        .into_iter()
        .map(|m| HistoryRow {
            detail: m
                .platform_message
                .as_deref()
                .map(|pm| crate::send::describe_stored_message(&ui.state.i18n, ui.lang, pm)),
            sender: m
                .created_by
                .and_then(|id| users.iter().find(|(u, _)| *u == id))
                .map(|(_, n)| n.clone())
                .unwrap_or_default(),
            route: route_label(&m.route, &credits),
            m,
        })
        .collect()
}

#[tracing::instrument(skip_all)]
async fn history(ui: Ui, Query(q): Query<HistoryFilters>) -> Result<Response, AppError> {
    let users = user_names(&ui).await?;
    let (rows, next_before, error, status) = match q.to_filter(&ui.state.settings.default_country) {
        Ok(f) => {
            let (messages, next) = page_of(&ui, &f, q.before).await?;
            (rows_of(messages, &users, &ui), next, None, StatusCode::OK)
        }
        Err(key) => (
            Vec::new(),
            None,
            Some(ui.t(key)),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    };
    let mut r = render(&HistoryPage {
        page: ui.page("sms.history.title"),
        rows,
        next_before,
        query: q.query(),
        filters: q,
        users,
        statuses: MessageStatus::ALL.iter().map(|s| s.as_str()).collect(),
        error,
    })?;
    *r.status_mut() = status;
    Ok(r)
}

/// Most rows one export returns.
const CSV_MAX: i64 = 100_000;

/// Neutralises spreadsheet formulas in free text (`=`, `+`, `-`, `@` at the start).
fn csv_text(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

/// The UTF-8 byte order mark: Excel reads the file as UTF-8 only when it starts with it.
const EXCEL_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The history as a CSV that French Excel opens with its accents and columns intact (BOM, `;`).
#[tracing::instrument(skip_all)]
async fn history_csv(ui: Ui, Query(q): Query<HistoryFilters>) -> Result<Response, AppError> {
    let f = q
        .to_filter(&ui.state.settings.default_country)
        .map_err(|_| AppError::BadRequest)?;
    let users = user_names(&ui).await?;
    let messages = ui
        .state
        .store
        .list_messages(&f, Page::first(CSV_MAX))
        .await?;
    // French Excel opens a CSV by its locale: `;` between fields, and UTF-8 only with a BOM
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(EXCEL_BOM.to_vec());
    let columns = [
        "id",
        "created_utc",
        "recipient",
        "text",
        "segments",
        "status",
        "platform_message",
        "sender",
        "route",
        "platform_id",
    ];
    w.write_record(columns)
        .map_err(|e| AppError::Internal(e.into()))?;
    for r in rows_of(messages, &users, &ui) {
        let m = &r.m;
        w.write_record([
            m.id.to_string(),
            crate::ui::format_ms(m.created_ms),
            m.recipient.clone(),
            csv_text(&m.text),
            m.segments.to_string(),
            m.status.as_str().to_owned(),
            csv_text(r.detail.as_deref().unwrap_or("")),
            csv_text(&r.sender),
            csv_text(&r.route),
            m.platform_id.clone().unwrap_or_default(),
        ])
        .map_err(|e| AppError::Internal(e.into()))?;
    }
    let body = w
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("csv: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"sms-history.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_in_csv_text() {
        assert_eq!(csv_text("=1+1"), "'=1+1");
        assert_eq!(csv_text("Bonjour"), "Bonjour");
    }

    #[test]
    fn money_trims_useless_decimals() {
        assert_eq!(money(25.0, "GNF"), "25 GNF");
        assert_eq!(money(0.125, "USD"), "0.125 USD");
    }
}
