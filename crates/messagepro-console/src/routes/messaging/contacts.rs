//! `/messaging/contacts…` and `/messaging/groups` — the contact book: search and pages, create
//! (with groups), CSV import with a per-row report, groups, and a two-way sync with Message Pro.
//!
//! Phones are parsed at the edge with [`Phone`] and the configured default country and stored in
//! E.164, so `621 23 45 67` and `+224 621 23 45 67` are one contact. The import (a report for
//! **every** row) and the sync live in `messagepro-core` ([`messagepro_core::contacts`]): these
//! handlers read the form, call core and turn its codes into sentences.

use std::collections::BTreeSet;

use askama::Template;
use axum::Router;
use axum::extract::{FromRequest, Multipart, Query, RawForm, Request};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use http::{StatusCode, header};
use messagepro::Phone;
use messagepro_core::ContactsError;
use messagepro_core::contacts::{
    self, ContactSyncReport, ImportReport, ImportRow, MAX_NAME, RowOutcome, SyncIssue, SyncReason,
    SyncSubject, clip,
};
use messagepro_store::{Contact, ContactFilter, Group, Outcome, Page, StoreError};
use serde::Deserialize;

use crate::app::AppState;
use crate::error::AppError;
use crate::id::Id;
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
async fn update(ui: Ui, Id(id): Id, RawForm(body): RawForm) -> Result<Response, AppError> {
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
async fn delete(ui: Ui, Id(id): Id) -> Result<Response, AppError> {
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
async fn toggle_opt_out(ui: Ui, Id(id): Id) -> Result<Response, AppError> {
    let contact = load_contact(&ui.state, id).await?;
    let opted_out = contact.opted_out_ms.is_none();
    let phone =
        messagepro::Phone::parse_international(&contact.phone).map_err(|_| AppError::BadRequest)?;
    // core keeps the suppression list, the contact's mark and the audit entry together
    let actor = ui.actor()?;
    let core = &ui.state.core;
    if opted_out {
        core.opt_out(&actor, &phone, Some("contacts page")).await?;
    } else {
        core.opt_in(&actor, &phone).await?;
    }
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

#[derive(Template)]
#[template(path = "messaging/contacts_import.html")]
struct ImportPage {
    page: PageCtx,
    groups: Vec<Group>,
    selected: BTreeSet<i64>,
    csv: String,
    report: Option<ImportReport>,
    error: Option<String>,
}

impl ImportPage {
    fn summary(&self, report: &ImportReport) -> String {
        self.page.tf(
            "contacts.import.summary",
            &[
                ("total", &report.rows.len().to_string()),
                ("created", &report.created().to_string()),
                ("duplicates", &report.duplicates().to_string()),
                ("invalid", &report.invalid().to_string()),
            ],
        )
    }
    fn row_text(&self, r: &ImportRow) -> String {
        let first = r.first_line.map(|l| l.to_string()).unwrap_or_default();
        let key = format!("contacts.import.{}", r.outcome.code());
        self.page.tf(&key, &[("line", &first)])
    }
    fn css(&self, r: &ImportRow) -> &'static str {
        match r.outcome {
            RowOutcome::Created => "sent",
            o if o.is_duplicate() => "unknown",
            _ => "failed",
        }
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

#[tracing::instrument(skip_all)]
async fn import(ui: Ui, req: Request) -> Result<Response, AppError> {
    // htmx does not swap 4xx answers: its requests get the error page with 200
    let htmx = req.headers().contains_key("hx-request");
    let input = read_import(&ui.state, req).await?;
    let text = match &input.file {
        Some(bytes) => contacts::decode(bytes),
        None => input.csv.clone(),
    };
    let result = ui
        .state
        .core
        .import_contacts(&ui.actor()?, &text, &input.groups)
        .await;
    let report = match result {
        Ok(report) => report,
        Err(ContactsError::EmptyImport) => {
            let msg = ui.t("contacts.import.empty");
            return render(&ImportPage {
                page: ui.page("contacts.import_title"),
                groups: ui.state.store.list_groups().await?,
                selected: input.groups,
                csv: input.csv,
                report: None,
                error: Some(msg),
            })
            .map(|r| if htmx { r } else { unprocessable(r) });
        }
        Err(e) => return Err(e.into()),
    };
    render(&ImportPage {
        page: ui.page("contacts.import_title"),
        groups: ui.state.store.list_groups().await?,
        selected: report.groups.clone(),
        csv: String::new(),
        report: Some(report),
        error: None,
    })
}

// ----- sync with the platform ---------------------------------------------------------------

#[derive(Template)]
#[template(path = "messaging/contacts_sync.html")]
struct SyncPage {
    page: PageCtx,
    report: ContactSyncReport,
    /// The report's issues as sentences in the user's language.
    errors: Vec<String>,
}

impl SyncPage {
    fn line(&self, key: &str, n: impl std::fmt::Display) -> String {
        self.page.tf(key, &[("n", &n.to_string())])
    }
}

/// A sync issue as a sentence in the user's language: the contact book's own reasons are
/// `contacts.sync.reason.<code>` (the send path's sentences speak of a message), any other
/// platform failure is the send path's `send.error.<code>`.
fn issue_sentence(ui: &Ui, issue: &SyncIssue) -> String {
    match issue {
        SyncIssue::InvalidRemotePhone { phone } => {
            ui.tf("contacts.sync.invalid_remote", &[("phone", phone)])
        }
        SyncIssue::Platform {
            subject,
            reason,
            detail,
        } => {
            let what = match subject {
                SyncSubject::Groups => ui.t("contacts.sync.groups"),
                SyncSubject::Contacts => ui.t("contacts.sync.contacts"),
                SyncSubject::Group(name) => name.clone(),
                SyncSubject::Contact(phone) => phone.clone(),
            };
            let key = match reason {
                SyncReason::Platform(code) => format!("send.error.{code}"),
                other => format!("contacts.sync.reason.{}", other.code()),
            };
            let reason = ui.tf(&key, &[("detail", detail.as_deref().unwrap_or(""))]);
            ui.tf(
                "contacts.sync.error",
                &[("what", &what), ("reason", &reason)],
            )
        }
    }
}

#[tracing::instrument(skip_all)]
async fn sync(ui: Ui) -> Result<Response, AppError> {
    let report = ui.state.core.sync_contacts(&ui.actor()?).await?;
    render(&SyncPage {
        page: ui.page("contacts.sync_title"),
        errors: report
            .issues
            .iter()
            .map(|i| issue_sentence(&ui, i))
            .collect(),
        report,
    })
}
