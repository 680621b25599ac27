//! `/messaging/contacts…` and `/messaging/groups` — the contact book: search and pages, create
//! (with groups), CSV import with a per-row report, groups, and a two-way sync with Message Pro.
//!
//! Phones are parsed at the edge with [`Phone`] and the configured default country and stored in
//! E.164, so `621 23 45 67` and `+224 621 23 45 67` are one contact. The import reports **every**
//! row (created, duplicate — of an earlier line or of an existing contact —, invalid or missing
//! phone) with its line number: nothing is dropped silently.
//!
//! Why the sync matches by phone (contacts) and by name (groups): the platform returns no id on
//! create and the local store keeps no platform id, so these are the only keys both sides share.
//! A local contact is pushed into the platform groups of its local groups; one without a group is
//! reported, not pushed (`create/contact` needs at least one group).

use std::collections::{BTreeSet, HashMap, HashSet};

use askama::Template;
use axum::Router;
use axum::extract::{FromRequest, Multipart, Path, Query, RawForm, Request};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use http::{StatusCode, header};
use messagepro::{CreateContact, Phone};
use messagepro_store::{Contact, ContactFilter, Group, Outcome, Page, StoreError};
use serde::Deserialize;

use crate::app::AppState;
use crate::error::AppError;
use crate::login::audit;
use crate::permissions::Permission;
use crate::routes::{Access, RouteRule};
use crate::ui::{PageCtx, Ui, flash, render};

const READ: Access = Access::Perm(Permission::MessagingRead);
const MANAGE: Access = Access::Perm(Permission::ManageContacts);

pub const RULES: &[RouteRule] = &[
    RouteRule::get("/messaging/contacts", READ),
    RouteRule::get("/messaging/contacts/create", MANAGE),
    RouteRule::post("/messaging/contacts/create", MANAGE),
    RouteRule::get("/messaging/contacts/import", MANAGE),
    RouteRule::post("/messaging/contacts/import", MANAGE),
    RouteRule::post("/messaging/contacts/sync", MANAGE),
    RouteRule::post("/messaging/contacts/{id}", MANAGE),
    RouteRule::post("/messaging/contacts/{id}/delete", MANAGE),
    RouteRule::post("/messaging/contacts/{id}/optout", MANAGE),
    RouteRule::get("/messaging/groups", READ),
    RouteRule::post("/messaging/groups", MANAGE),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/messaging/contacts", get(list))
        .route("/messaging/contacts/create", get(create_form).post(create))
        .route("/messaging/contacts/import", get(import_form).post(import))
        .route("/messaging/contacts/sync", post(sync))
        .route("/messaging/contacts/{id}", post(update))
        .route("/messaging/contacts/{id}/delete", post(delete))
        .route("/messaging/contacts/{id}/optout", post(toggle_opt_out))
        .route("/messaging/groups", get(groups).post(create_group))
}

/// Contacts per page.
pub const PAGE_SIZE: i64 = 50;
/// Rows accepted in one import.
pub const MAX_IMPORT_ROWS: usize = 10_000;
/// Longest name kept.
const MAX_NAME: usize = 100;

/// The `(key, value)` pairs of a urlencoded body (repeated keys kept, e.g. `groups`).
fn pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn field(pairs: &[(String, String)], key: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn ids(pairs: &[(String, String)], key: &str) -> BTreeSet<i64> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .filter_map(|(_, v)| v.trim().parse().ok())
        .collect()
}

fn clip(s: &str, n: usize) -> String {
    s.trim().chars().take(n).collect()
}

fn unprocessable(mut r: Response) -> Response {
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    r
}

// ----- list --------------------------------------------------------------------------------

#[derive(Debug, Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    pub q: String,
    pub group: Option<String>,
    pub page: Option<i64>,
    /// `?contact=<id>`: the page of one contact (view, or edit for managers).
    pub contact: Option<i64>,
}

#[derive(Template)]
#[template(path = "messaging/contacts_list.html")]
struct ListPage {
    page: PageCtx,
    contacts: Vec<Contact>,
    groups: Vec<Group>,
    q: String,
    group: Option<i64>,
    total: i64,
    number: i64,
    prev: Option<String>,
    next: Option<String>,
    can_manage: bool,
}

impl ListPage {
    fn is_group(&self, id: &i64) -> bool {
        self.group == Some(*id)
    }
    fn total_text(&self) -> String {
        self.page
            .tf("contacts.total", &[("n", &self.total.to_string())])
    }
}

fn list_link(q: &str, group: Option<i64>, page: i64) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    if !q.is_empty() {
        s.append_pair("q", q);
    }
    if let Some(g) = group {
        s.append_pair("group", &g.to_string());
    }
    s.append_pair("page", &page.to_string());
    format!("/messaging/contacts?{}", s.finish())
}

#[tracing::instrument(skip_all)]
async fn list(ui: Ui, Query(q): Query<ListQuery>) -> Result<Response, AppError> {
    if let Some(id) = q.contact {
        return detail(ui, id).await;
    }
    let search = clip(&q.q, 100);
    let group = q
        .group
        .as_deref()
        .and_then(|g| g.trim().parse::<i64>().ok());
    let number = q.page.unwrap_or(0).max(0);
    let filter = ContactFilter {
        search: (!search.is_empty()).then(|| search.clone()),
        group_id: group,
        include_opted_out: true,
    };
    let store = &ui.state.store;
    let total = store.count_contacts(&filter).await?;
    let contacts = store
        .list_contacts(&filter, Page::number(number, PAGE_SIZE))
        .await?;
    let prev = (number > 0).then(|| list_link(&search, group, number - 1));
    let next = ((number + 1) * PAGE_SIZE < total).then(|| list_link(&search, group, number + 1));
    render(&ListPage {
        page: ui.page("contacts.title"),
        groups: store.list_groups().await?,
        can_manage: ui.user()?.can(Permission::ManageContacts),
        contacts,
        q: search,
        group,
        total,
        number,
        prev,
        next,
    })
}

// ----- create ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "messaging/contacts_create.html")]
struct CreatePage {
    page: PageCtx,
    groups: Vec<Group>,
    name: String,
    phone: String,
    selected: BTreeSet<i64>,
    error: Option<String>,
}

#[tracing::instrument(skip_all)]
async fn create_form(ui: Ui) -> Result<Response, AppError> {
    render(&CreatePage {
        page: ui.page("contacts.create_title"),
        groups: ui.state.store.list_groups().await?,
        name: String::new(),
        phone: String::new(),
        selected: BTreeSet::new(),
        error: None,
    })
}

#[tracing::instrument(skip_all)]
async fn create(ui: Ui, RawForm(body): RawForm) -> Result<Response, AppError> {
    let form = pairs(&body);
    let name = clip(&field(&form, "name"), MAX_NAME);
    let phone_in = clip(&field(&form, "phone"), 40);
    let selected = ids(&form, "groups");
    let groups = ui.state.store.list_groups().await?;
    let fail = |msg: String| {
        render(&CreatePage {
            page: ui.page("contacts.create_title"),
            groups: groups.clone(),
            name: name.clone(),
            phone: phone_in.clone(),
            selected: selected.clone(),
            error: Some(msg),
        })
        .map(unprocessable)
    };
    if name.is_empty() {
        return fail(ui.t("contacts.error.name_required"));
    }
    let phone = match Phone::parse(&phone_in, &ui.state.settings.default_country) {
        Ok(p) => p,
        Err(_) => return fail(ui.tf("contacts.error.invalid_phone", &[("phone", &phone_in)])),
    };
    if selected
        .iter()
        .any(|id| !groups.iter().any(|g| g.id == *id))
    {
        return fail(ui.t("contacts.error.unknown_group"));
    }
    let now = ui.state.clock.now_ms();
    let contact = match ui
        .state
        .store
        .insert_contact(&name, phone.e164(), now)
        .await
    {
        Ok(c) => c,
        Err(StoreError::Conflict(_)) => {
            return fail(ui.tf("contacts.error.exists", &[("phone", phone.e164())]));
        }
        Err(e) => return Err(e.into()),
    };
    for g in &selected {
        ui.state.store.add_to_group(contact.id, *g).await?;
    }
    let user = ui.user()?;
    audit(
        &ui.state,
        Some((user.id, &user.username)),
        "contact.create",
        Some(contact.phone.clone()),
        None,
        Outcome::Success,
        (!selected.is_empty()).then(|| format!("{} group(s)", selected.len())),
    )
    .await;
    flash(
        &ui.session,
        "success",
        ui.tf("contacts.created", &[("phone", &contact.phone)]),
    )
    .await?;
    Ok(Redirect::to("/messaging/contacts").into_response())
}

// ----- detail, edit, delete, opt-out -----------------------------------------------------------

#[derive(Template)]
#[template(path = "messaging/contacts_edit.html")]
struct EditPage {
    page: PageCtx,
    contact: Contact,
    groups: Vec<Group>,
    name: String,
    phone: String,
    selected: BTreeSet<i64>,
    can_manage: bool,
    error: Option<String>,
}

async fn load_contact(state: &AppState, id: i64) -> Result<Contact, AppError> {
    state
        .store
        .contact_by_id(id)
        .await?
        .ok_or(AppError::NotFound)
}

/// The local groups `contact` belongs to.
async fn groups_of(state: &AppState, contact: &Contact) -> Result<BTreeSet<i64>, AppError> {
    let mut out = BTreeSet::new();
    for g in state.store.list_groups().await? {
        let filter = ContactFilter {
            search: Some(contact.phone.clone()),
            group_id: Some(g.id),
            include_opted_out: true,
        };
        let found = state.store.list_contacts(&filter, Page::first(50)).await?;
        if found.iter().any(|c| c.id == contact.id) {
            out.insert(g.id);
        }
    }
    Ok(out)
}

async fn edit_page(
    ui: &Ui,
    contact: Contact,
    form: Option<(String, String, BTreeSet<i64>)>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let (name, phone, selected) = match form {
        Some(f) => f,
        None => (
            contact.name.clone(),
            contact.phone.clone(),
            groups_of(&ui.state, &contact).await?,
        ),
    };
    render(&EditPage {
        page: ui.page("contacts.edit_title"),
        groups: ui.state.store.list_groups().await?,
        can_manage: ui.user()?.can(Permission::ManageContacts),
        contact,
        name,
        phone,
        selected,
        error,
    })
}

/// The page of one contact (`/messaging/contacts?contact=<id>`: a query parameter rather than a
/// path segment, so every GET route of the table answers without a made-up id).
#[tracing::instrument(skip_all, fields(contact_id = id))]
async fn detail(ui: Ui, id: i64) -> Result<Response, AppError> {
    let contact = load_contact(&ui.state, id).await?;
    edit_page(&ui, contact, None, None).await
}

#[tracing::instrument(skip_all, fields(contact_id = id))]
async fn update(ui: Ui, Path(id): Path<i64>, RawForm(body): RawForm) -> Result<Response, AppError> {
    let contact = load_contact(&ui.state, id).await?;
    let form = pairs(&body);
    let name = clip(&field(&form, "name"), MAX_NAME);
    let phone_in = clip(&field(&form, "phone"), 40);
    let selected = ids(&form, "groups");
    let kept = (name.clone(), phone_in.clone(), selected.clone());
    if name.is_empty() {
        let msg = ui.t("contacts.error.name_required");
        return edit_page(&ui, contact, Some(kept), Some(msg))
            .await
            .map(unprocessable);
    }
    let Ok(phone) = Phone::parse(&phone_in, &ui.state.settings.default_country) else {
        let msg = ui.tf("contacts.error.invalid_phone", &[("phone", &phone_in)]);
        return edit_page(&ui, contact, Some(kept), Some(msg))
            .await
            .map(unprocessable);
    };
    let groups = ui.state.store.list_groups().await?;
    if selected.iter().any(|g| !groups.iter().any(|x| x.id == *g)) {
        let msg = ui.t("contacts.error.unknown_group");
        return edit_page(&ui, contact, Some(kept), Some(msg))
            .await
            .map(unprocessable);
    }
    // memberships are looked up by phone: read them before the number changes
    let before = groups_of(&ui.state, &contact).await?;
    let now = ui.state.clock.now_ms();
    match ui
        .state
        .store
        .update_contact(id, &name, phone.e164(), now)
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            let msg = ui.tf("contacts.error.exists", &[("phone", phone.e164())]);
            return edit_page(&ui, contact, Some(kept), Some(msg))
                .await
                .map(unprocessable);
        }
        Err(e) => return Err(e.into()),
    }
    for g in selected.difference(&before) {
        ui.state.store.add_to_group(id, *g).await?;
    }
    for g in before.difference(&selected) {
        ui.state.store.remove_from_group(id, *g).await?;
    }
    let user = ui.user()?;
    audit(
        &ui.state,
        Some((user.id, &user.username)),
        "contact.update",
        Some(phone.e164().to_owned()),
        None,
        Outcome::Success,
        (contact.phone != phone.e164()).then(|| format!("was {}", contact.phone)),
    )
    .await;
    flash(
        &ui.session,
        "success",
        ui.tf("contacts.updated", &[("phone", phone.e164())]),
    )
    .await?;
    Ok(Redirect::to(&format!("/messaging/contacts?contact={id}")).into_response())
}

#[tracing::instrument(skip_all, fields(contact_id = id))]
async fn delete(ui: Ui, Path(id): Path<i64>) -> Result<Response, AppError> {
    let contact = load_contact(&ui.state, id).await?;
    ui.state.store.delete_contact(id).await?;
    let user = ui.user()?;
    audit(
        &ui.state,
        Some((user.id, &user.username)),
        "contact.delete",
        Some(contact.phone.clone()),
        None,
        Outcome::Success,
        None,
    )
    .await;
    flash(
        &ui.session,
        "success",
        ui.tf("contacts.deleted", &[("phone", &contact.phone)]),
    )
    .await?;
    Ok(Redirect::to("/messaging/contacts").into_response())
}

#[tracing::instrument(skip_all, fields(contact_id = id))]
async fn toggle_opt_out(ui: Ui, Path(id): Path<i64>) -> Result<Response, AppError> {
    let contact = load_contact(&ui.state, id).await?;
    let now = ui.state.clock.now_ms();
    let opted_out = contact.opted_out_ms.is_none();
    ui.state
        .store
        .set_contact_opt_out(id, opted_out.then_some(now), now)
        .await?;
    let user = ui.user()?;
    audit(
        &ui.state,
        Some((user.id, &user.username)),
        if opted_out {
            "contact.opt_out"
        } else {
            "contact.opt_in"
        },
        Some(contact.phone.clone()),
        None,
        Outcome::Success,
        None,
    )
    .await;
    let key = if opted_out {
        "contacts.opted_out_done"
    } else {
        "contacts.opted_in_done"
    };
    flash(
        &ui.session,
        "success",
        ui.tf(key, &[("phone", &contact.phone)]),
    )
    .await?;
    Ok(Redirect::to(&format!("/messaging/contacts?contact={id}")).into_response())
}

// ----- groups ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "messaging/groups_list.html")]
struct GroupsPage {
    page: PageCtx,
    groups: Vec<Group>,
    can_manage: bool,
    name: String,
    error: Option<String>,
}

async fn groups_page(ui: &Ui, name: String, error: Option<String>) -> Result<Response, AppError> {
    render(&GroupsPage {
        page: ui.page("contacts.groups_title"),
        groups: ui.state.store.list_groups().await?,
        can_manage: ui.user()?.can(Permission::ManageContacts),
        name,
        error,
    })
}

#[tracing::instrument(skip_all)]
async fn groups(ui: Ui) -> Result<Response, AppError> {
    groups_page(&ui, String::new(), None).await
}

#[tracing::instrument(skip_all)]
async fn create_group(ui: Ui, RawForm(body): RawForm) -> Result<Response, AppError> {
    let form = pairs(&body);
    let name = clip(&field(&form, "name"), 64);
    // the platform refuses names under 3 bytes ("Group name is too short!"): refuse them here so
    // every local group can be synchronised
    if name.len() < 3 {
        let msg = ui.t("contacts.error.group_name");
        return groups_page(&ui, name, Some(msg)).await.map(unprocessable);
    }
    let now = ui.state.clock.now_ms();
    match ui.state.store.insert_group(&name, now).await {
        Ok(_) => {}
        Err(StoreError::Conflict(_)) => {
            let msg = ui.tf("contacts.error.group_exists", &[("name", &name)]);
            return groups_page(&ui, name, Some(msg)).await.map(unprocessable);
        }
        Err(e) => return Err(e.into()),
    }
    let user = ui.user()?;
    audit(
        &ui.state,
        Some((user.id, &user.username)),
        "group.create",
        Some(name.clone()),
        None,
        Outcome::Success,
        None,
    )
    .await;
    flash(
        &ui.session,
        "success",
        ui.tf("contacts.group_created", &[("name", &name)]),
    )
    .await?;
    Ok(Redirect::to("/messaging/groups").into_response())
}

// ----- import ------------------------------------------------------------------------------

/// What happened to one row of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowOutcome {
    Created,
    /// The number is on an earlier line of the same file.
    DuplicateInFile,
    /// The number is already a contact.
    DuplicateExisting,
    InvalidPhone,
    MissingPhone,
    TooManyRows,
}

impl RowOutcome {
    pub fn key(self) -> &'static str {
        match self {
            RowOutcome::Created => "contacts.import.created",
            RowOutcome::DuplicateInFile => "contacts.import.duplicate_file",
            RowOutcome::DuplicateExisting => "contacts.import.duplicate_existing",
            RowOutcome::InvalidPhone => "contacts.import.invalid_phone",
            RowOutcome::MissingPhone => "contacts.import.missing_phone",
            RowOutcome::TooManyRows => "contacts.import.too_many",
        }
    }
    pub fn css(self) -> &'static str {
        match self {
            RowOutcome::Created => "sent",
            RowOutcome::DuplicateInFile | RowOutcome::DuplicateExisting => "unknown",
            _ => "failed",
        }
    }
}

/// One reported row.
#[derive(Debug, Clone)]
pub struct ImportRow {
    /// 1-based line of the file.
    pub line: u64,
    pub name: String,
    /// What the file said.
    pub input: String,
    /// E.164, when it parsed.
    pub phone: Option<String>,
    pub outcome: RowOutcome,
    /// For in-file duplicates: the first line with that number.
    pub first_line: Option<u64>,
}

/// A parsed row before it touches the store.
#[derive(Debug, Clone)]
struct RawRow {
    line: u64,
    name: String,
    phone: String,
}

const PHONE_HEADERS: &[&str] = &[
    "phone",
    "telephone",
    "téléphone",
    "tel",
    "tél",
    "numero",
    "numéro",
    "number",
    "mobile",
    "portable",
];
const NAME_HEADERS: &[&str] = &["name", "nom", "nom complet", "full name", "contact"];

/// The 1-based line of the first non-newline byte at or after `offset`.
fn line_of(text: &[u8], offset: usize) -> u64 {
    let mut start = offset.min(text.len());
    while start < text.len() && matches!(text[start], b'\n' | b'\r') {
        start += 1;
    }
    1 + text[..start].iter().filter(|&&b| b == b'\n').count() as u64
}

/// Reads CSV text (`,` or `;`, optional header `name/nom`, `phone/téléphone…`; without a header
/// the columns are name then phone, or phone alone). Blank lines are not rows.
fn parse_csv(text: &str) -> Vec<RawRow> {
    let text = text.trim_start_matches('\u{feff}');
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let delim = if first.matches(';').count() > first.matches(',').count() {
        b';'
    } else if first.contains('\t') && !first.contains(',') {
        b'\t'
    } else {
        b','
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delim)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let (mut name_col, mut phone_col): (Option<usize>, usize) = (Some(0), 1);
    let mut out = Vec::new();
    let mut header_seen = false;
    let mut record = csv::StringRecord::new();
    loop {
        let line = rdr.position().line();
        match rdr.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(_) => {
                // an unreadable line (bad quoting) is reported as a row without a phone
                out.push(RawRow {
                    line,
                    name: String::new(),
                    phone: String::new(),
                });
                continue;
            }
        }
        // the reader's position of a record that follows blank lines points at those lines:
        // count the newlines up to its first real byte instead
        let line = record
            .position()
            .map(|p| line_of(text.as_bytes(), p.byte() as usize))
            .unwrap_or(line);
        if record.iter().all(|f| f.is_empty()) {
            continue;
        }
        if !header_seen {
            header_seen = true;
            let lower: Vec<String> = record.iter().map(|f| f.to_lowercase()).collect();
            let p = lower
                .iter()
                .position(|f| PHONE_HEADERS.contains(&f.as_str()));
            if let Some(p) = p {
                phone_col = p;
                name_col = lower
                    .iter()
                    .position(|f| NAME_HEADERS.contains(&f.as_str()));
                continue;
            }
            if record.len() == 1 {
                name_col = None;
                phone_col = 0;
            }
        }
        out.push(RawRow {
            line,
            name: name_col
                .and_then(|c| record.get(c))
                .map(|s| clip(s, MAX_NAME))
                .unwrap_or_default(),
            phone: record.get(phone_col).unwrap_or("").to_owned(),
        });
    }
    out
}

#[derive(Template)]
#[template(path = "messaging/contacts_import.html")]
struct ImportPage {
    page: PageCtx,
    groups: Vec<Group>,
    selected: BTreeSet<i64>,
    csv: String,
    report: Option<Vec<ImportRow>>,
    error: Option<String>,
}

impl ImportPage {
    fn count(&self, o: &RowOutcome) -> usize {
        self.report
            .as_ref()
            .map(|r| r.iter().filter(|x| x.outcome == *o).count())
            .unwrap_or(0)
    }
    fn summary(&self) -> String {
        let n = |o| self.count(&o).to_string();
        let total = self.report.as_ref().map(Vec::len).unwrap_or(0).to_string();
        let dup = (self.count(&RowOutcome::DuplicateInFile)
            + self.count(&RowOutcome::DuplicateExisting))
        .to_string();
        let invalid = (self.count(&RowOutcome::InvalidPhone)
            + self.count(&RowOutcome::MissingPhone)
            + self.count(&RowOutcome::TooManyRows))
        .to_string();
        self.page.tf(
            "contacts.import.summary",
            &[
                ("total", &total),
                ("created", &n(RowOutcome::Created)),
                ("duplicates", &dup),
                ("invalid", &invalid),
            ],
        )
    }
    fn row_text(&self, r: &ImportRow) -> String {
        let first = r.first_line.map(|l| l.to_string()).unwrap_or_default();
        self.page.tf(r.outcome.key(), &[("line", &first)])
    }
}

#[tracing::instrument(skip_all)]
async fn import_form(ui: Ui) -> Result<Response, AppError> {
    render(&ImportPage {
        page: ui.page("contacts.import_title"),
        groups: ui.state.store.list_groups().await?,
        selected: BTreeSet::new(),
        csv: String::new(),
        report: None,
        error: None,
    })
}

/// The import form, urlencoded (textarea) or multipart (file and/or textarea).
struct ImportInput {
    csv: String,
    file: Option<Vec<u8>>,
    groups: BTreeSet<i64>,
}

async fn read_import(state: &AppState, req: Request) -> Result<ImportInput, AppError> {
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !is_multipart {
        let RawForm(body) = RawForm::from_request(req, state)
            .await
            .map_err(|_| AppError::BadRequest)?;
        let form = pairs(&body);
        return Ok(ImportInput {
            csv: field(&form, "csv"),
            file: None,
            groups: ids(&form, "groups"),
        });
    }
    let mut mp = Multipart::from_request(req, state)
        .await
        .map_err(|_| AppError::BadRequest)?;
    let mut input = ImportInput {
        csv: String::new(),
        file: None,
        groups: BTreeSet::new(),
    };
    while let Some(f) = mp.next_field().await.map_err(|_| AppError::BadRequest)? {
        match f.name().unwrap_or("") {
            "file" => {
                let bytes = f.bytes().await.map_err(|_| AppError::BadRequest)?;
                if !bytes.is_empty() {
                    input.file = Some(bytes.to_vec());
                }
            }
            "csv" => input.csv = f.text().await.map_err(|_| AppError::BadRequest)?,
            "groups" => {
                if let Ok(id) = f.text().await.unwrap_or_default().trim().parse() {
                    input.groups.insert(id);
                }
            }
            _ => {}
        }
    }
    Ok(input)
}

/// Decodes an uploaded file: UTF-8, else Windows-1252/Latin-1 (Excel's default in French).
fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    }
}

/// Imports rows into the store and reports each one.
pub async fn import_rows(
    state: &AppState,
    rows: &[(u64, String, String)],
    groups: &BTreeSet<i64>,
) -> Result<Vec<ImportRow>, AppError> {
    let country = &state.settings.default_country;
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut report = Vec::with_capacity(rows.len());
    for (i, (line, name, input)) in rows.iter().enumerate() {
        let mut row = ImportRow {
            line: *line,
            name: name.clone(),
            input: clip(input, 40),
            phone: None,
            outcome: RowOutcome::Created,
            first_line: None,
        };
        if i >= MAX_IMPORT_ROWS {
            row.outcome = RowOutcome::TooManyRows;
            report.push(row);
            continue;
        }
        if input.trim().is_empty() {
            row.outcome = RowOutcome::MissingPhone;
            report.push(row);
            continue;
        }
        let Ok(phone) = Phone::parse(input, country) else {
            row.outcome = RowOutcome::InvalidPhone;
            report.push(row);
            continue;
        };
        let e164 = phone.e164().to_owned();
        row.phone = Some(e164.clone());
        if let Some(first) = seen.get(&e164) {
            row.outcome = RowOutcome::DuplicateInFile;
            row.first_line = Some(*first);
            report.push(row);
            continue;
        }
        seen.insert(e164.clone(), *line);
        let now = state.clock.now_ms();
        let contact_name = if name.is_empty() {
            e164.clone()
        } else {
            name.clone()
        };
        let id = match state.store.insert_contact(&contact_name, &e164, now).await {
            Ok(c) => c.id,
            Err(StoreError::Conflict(_)) => {
                row.outcome = RowOutcome::DuplicateExisting;
                // an existing contact still joins the chosen groups
                match state.store.contact_by_phone(&e164).await? {
                    Some(c) => c.id,
                    None => {
                        report.push(row);
                        continue;
                    }
                }
            }
            Err(e) => return Err(e.into()),
        };
        for g in groups {
            state.store.add_to_group(id, *g).await?;
        }
        report.push(row);
    }
    Ok(report)
}

#[tracing::instrument(skip_all)]
async fn import(ui: Ui, req: Request) -> Result<Response, AppError> {
    // htmx does not swap 4xx answers: its requests get the error page with 200
    let htmx = req.headers().contains_key("hx-request");
    let input = read_import(&ui.state, req).await?;
    let all_groups = ui.state.store.list_groups().await?;
    let groups: BTreeSet<i64> = input
        .groups
        .iter()
        .copied()
        .filter(|id| all_groups.iter().any(|g| g.id == *id))
        .collect();
    let text = match &input.file {
        Some(bytes) => decode(bytes),
        None => input.csv.clone(),
    };
    let raw = parse_csv(&text);
    if raw.is_empty() {
        let msg = ui.t("contacts.import.empty");
        return render(&ImportPage {
            page: ui.page("contacts.import_title"),
            groups: all_groups,
            selected: groups,
            csv: input.csv,
            report: None,
            error: Some(msg),
        })
        .map(|r| if htmx { r } else { unprocessable(r) });
    }
    let rows: Vec<(u64, String, String)> =
        raw.into_iter().map(|r| (r.line, r.name, r.phone)).collect();
    let report = import_rows(&ui.state, &rows, &groups).await?;
    let created = report
        .iter()
        .filter(|r| r.outcome == RowOutcome::Created)
        .count();
    let user = ui.user()?;
    audit(
        &ui.state,
        Some((user.id, &user.username)),
        "contact.import",
        None,
        None,
        Outcome::Success,
        Some(format!("{} rows, {created} created", report.len())),
    )
    .await;
    render(&ImportPage {
        page: ui.page("contacts.import_title"),
        groups: ui.state.store.list_groups().await?,
        selected: groups,
        csv: String::new(),
        report: Some(report),
        error: None,
    })
}

// ----- sync with the platform ---------------------------------------------------------------

/// What a sync did.
#[derive(Debug, Default, Clone)]
pub struct SyncReport {
    pub pulled_groups: usize,
    pub pulled_contacts: usize,
    pub pushed_groups: usize,
    pub pushed_contacts: usize,
    /// Local contacts not pushed because they belong to no group (phones).
    pub skipped_no_group: Vec<String>,
    /// Sentences already translated.
    pub errors: Vec<String>,
}

#[derive(Template)]
#[template(path = "messaging/contacts_sync.html")]
struct SyncPage {
    page: PageCtx,
    report: SyncReport,
}

impl SyncPage {
    fn line(&self, key: &str, n: impl std::fmt::Display) -> String {
        self.page.tf(key, &[("n", &n.to_string())])
    }
}

/// A platform error as a sentence in the user's language.
fn platform_sentence(ui: &Ui, what: &str, e: &messagepro::Error) -> String {
    use messagepro::Error as E;
    // the send path's sentences speak of a message; these speak of the contact book
    let key = match e {
        E::Transport { .. } | E::Timeout { .. } | E::Decode { .. } => {
            "contacts.sync.reason.unreachable".to_owned()
        }
        E::QuotaReached(_) => "contacts.sync.reason.quota".to_owned(),
        E::InvalidParameters(_) => "contacts.sync.reason.refused".to_owned(),
        E::InvalidPhone(_) => "contacts.sync.reason.invalid_phone".to_owned(),
        other => crate::send::platform_error_key(other),
    };
    let reason = ui.tf(&key, &[("detail", e.platform_message().unwrap_or(""))]);
    ui.tf(
        "contacts.sync.error",
        &[("what", what), ("reason", &reason)],
    )
}

/// Every local contact (all pages).
async fn all_local_contacts(
    state: &AppState,
    group: Option<i64>,
) -> Result<Vec<Contact>, AppError> {
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
        let batch = state.store.list_contacts(&filter, page).await?;
        let n = batch.len();
        before = batch.last().map(|c| c.id);
        out.extend(batch);
        if n < 1000 {
            return Ok(out);
        }
    }
}

/// Pulls the platform's groups and contacts into the store, then pushes local ones.
pub async fn sync_with_platform(ui: &Ui) -> Result<SyncReport, AppError> {
    let state = &ui.state;
    let api = &state.platform;
    let store = &state.store;
    let country = &state.settings.default_country;
    let mut report = SyncReport::default();

    // 1. groups: platform → local (by name)
    let remote_groups = match api.all_groups().await {
        Ok(g) => g,
        Err(e) => {
            report
                .errors
                .push(platform_sentence(ui, &ui.t("contacts.sync.groups"), &e));
            return Ok(report);
        }
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
            None => match store.insert_group(&name, state.clock.now_ms()).await {
                Ok(new) => {
                    report.pulled_groups += 1;
                    local_by_name.insert(name.clone(), new.id);
                    new.id
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            },
        };
        remote_to_local.insert(g.id.to_string(), local);
    }

    // 2. contacts: platform → local (by E.164)
    let remote_contacts = match api.all_contacts().await {
        Ok(c) => c,
        Err(e) => {
            report
                .errors
                .push(platform_sentence(ui, &ui.t("contacts.sync.contacts"), &e));
            return Ok(report);
        }
    };
    let mut remote_phones: HashSet<String> = HashSet::new();
    for c in &remote_contacts {
        let Ok(phone) = Phone::parse(&c.phone, country) else {
            report.errors.push(ui.tf(
                "contacts.sync.invalid_remote",
                &[("phone", &clip(&c.phone, 40))],
            ));
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
                    .insert_contact(&name, phone.e164(), state.clock.now_ms())
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
            Err(e) => report.errors.push(platform_sentence(ui, &g.name, &e)),
        }
    }
    let remote_groups = if pushed_any {
        match api.all_groups().await {
            Ok(g) => g,
            Err(e) => {
                report
                    .errors
                    .push(platform_sentence(ui, &ui.t("contacts.sync.groups"), &e));
                return Ok(report);
            }
        }
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
        for c in all_local_contacts(state, Some(g.id)).await? {
            groups_of.entry(c.id).or_default().push(*remote);
        }
    }
    for c in all_local_contacts(state, None).await? {
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
        let req = match CreateContact::new(name, phone, gids.clone()) {
            Ok(r) => r,
            Err(e) => {
                report.errors.push(platform_sentence(ui, &c.phone, &e));
                continue;
            }
        };
        match api.create_contact(&req).await {
            Ok(_) => report.pushed_contacts += 1,
            Err(e) => report.errors.push(platform_sentence(ui, &c.phone, &e)),
        }
    }
    Ok(report)
}

#[tracing::instrument(skip_all)]
async fn sync(ui: Ui) -> Result<Response, AppError> {
    let report = sync_with_platform(&ui).await?;
    let user = ui.user()?;
    audit(
        &ui.state,
        Some((user.id, &user.username)),
        "contact.sync",
        None,
        None,
        if report.errors.is_empty() {
            Outcome::Success
        } else {
            Outcome::Failure
        },
        Some(format!(
            "pulled {} groups, {} contacts; pushed {} groups, {} contacts; {} errors",
            report.pulled_groups,
            report.pulled_contacts,
            report.pushed_groups,
            report.pushed_contacts,
            report.errors.len()
        )),
    )
    .await;
    render(&SyncPage {
        page: ui.page("contacts.sync_title"),
        report,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_a_french_header_and_semicolons_keeps_line_numbers() {
        let rows = parse_csv("Nom;Téléphone\nAwa;621 23 45 67\n\nMoussa;abc\n");
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].line, rows[0].name.as_str()), (2, "Awa"));
        assert_eq!((rows[1].line, rows[1].phone.as_str()), (4, "abc"));
    }

    #[test]
    fn csv_without_header_reads_name_then_phone_or_phone_alone() {
        let rows = parse_csv("Awa,621234567\nBinta,622000000\n");
        assert_eq!(rows[0].phone, "621234567");
        assert_eq!(rows[1].line, 2);
        let rows = parse_csv("621234567\n622000000\n");
        assert_eq!(rows[1].phone, "622000000");
        assert_eq!(rows[1].name, "");
    }
}
