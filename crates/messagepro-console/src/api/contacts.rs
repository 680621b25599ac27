//! `/api/v1/contacts` and `/api/v1/groups`: the local contact book (the one the console's
//! contact pages show) — list, create, read, change, delete; groups listed, created, deleted;
//! the `opted_out` flag is the suppression list itself. Scope `contacts`. Core checks and
//! audits every change ([`messagepro_core::contacts::book`]); this file parses and answers.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use http::{HeaderMap, StatusCode};
use messagepro_core::contacts::book::{BookError, ContactChange, ContactView};
use messagepro_store::Group;
use serde::Deserialize;

use super::auth::ApiAuth;
use super::idempotency::{Reply, idempotent};
use super::messages::phone;
use super::openapi::{ContactList, ContactOut, GroupList, GroupOut, ProblemDoc};
use super::problem::Problem;
use super::{body, iso};
use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/contacts", get(list).post(create))
        .route(
            "/api/v1/contacts/{id}",
            get(one).patch(update).delete(remove),
        )
        .route("/api/v1/groups", get(groups).post(create_group))
        .route("/api/v1/groups/{id}", delete(remove_group))
}

fn contact_out(v: &ContactView) -> ContactOut {
    ContactOut {
        id: v.contact.id,
        object: "contact",
        name: v.contact.name.clone(),
        phone: v.contact.phone.clone(),
        opted_out: v.opted_out,
        groups: v
            .groups
            .iter()
            .map(|(id, name)| GroupOut {
                id: *id,
                object: "group",
                name: name.clone(),
                members: None,
            })
            .collect(),
        created_at: iso(v.contact.created_ms),
        updated_at: iso(v.contact.updated_ms),
    }
}

fn group_out(g: &Group) -> GroupOut {
    GroupOut {
        id: g.id,
        object: "group",
        name: g.name.clone(),
        members: Some(g.members),
    }
}

fn problem(e: BookError) -> Problem {
    match e {
        BookError::Forbidden => Problem::insufficient_scope("contacts"),
        BookError::NotFound => Problem::not_found("contact or group"),
        BookError::Exists => Problem::new(
            StatusCode::CONFLICT,
            "already_exists",
            "A contact with this phone (or a group with this name) already exists.",
        ),
        BookError::Invalid("invalid_name") => {
            Problem::invalid("invalid_request", "`name` must have 1 to 100 characters.")
                .with("field", "name")
        }
        BookError::Invalid("unknown_group") => Problem::invalid(
            "unknown_group",
            "`groups` names a group id that does not exist (GET /api/v1/groups).",
        )
        .with("field", "groups"),
        BookError::Invalid(code) => Problem::invalid(code, "The request is invalid."),
        BookError::Store(e) => Problem::internal(&e),
    }
}

fn id_of(text: &str) -> Result<i64, Problem> {
    text.parse()
        .map_err(|_| Problem::not_found("contact or group"))
}

/// `GET /api/v1/contacts` filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ContactQuery {
    /// Part of the name or the phone.
    pub search: Option<String>,
    /// Members of this group id.
    pub group: Option<i64>,
    /// 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/contacts", tag = "contacts",
    params(ContactQuery),
    responses(
        (status = 200, description = "Contacts, newest first", body = ContactList),
        (status = 401, description = "No valid token", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `contacts`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "An invalid filter", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub(crate) async fn list(
    State(state): State<AppState>,
    auth: ApiAuth,
    query: Result<Query<ContactQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Problem> {
    auth.require("contacts")?;
    let Query(q) = query.map_err(|e| Problem::invalid("invalid_request", e.body_text()))?;
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let before = q
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<i64>()
                .map_err(|_| Problem::invalid("invalid_request", "Unknown `cursor`."))
        })
        .transpose()?;
    let search = q.search.filter(|s| !s.trim().is_empty());
    let mut rows = state
        .core
        .contact_list(search, q.group, before, limit + 1)
        .await
        .map_err(problem)?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = more
        .then(|| rows.last().map(|v| v.contact.id.to_string()))
        .flatten();
    let list = ContactList {
        object: "list",
        data: rows.iter().map(contact_out).collect(),
        next_cursor: next,
    };
    Ok(axum::Json(list).into_response())
}

/// `POST /api/v1/contacts`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    pub name: String,
    /// Local (`621234567`, default country) or international.
    pub phone: String,
    /// Group ids (`GET /api/v1/groups`).
    #[serde(default)]
    pub groups: Vec<i64>,
    /// On the suppression list: nothing but OTP codes is sent to it.
    #[serde(default)]
    pub opted_out: bool,
}

#[utoipa::path(post, path = "/api/v1/contacts", tag = "contacts",
    request_body = ContactBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe (24 h, per token)")),
    responses(
        (status = 201, description = "Created", body = ContactOut),
        (status = 400, description = "Malformed JSON or Idempotency-Key", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `contacts`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`already_exists` (this phone), or the Idempotency-Key is in flight", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_phone`, `unknown_group`, `invalid_request`, `idempotency_key_reused`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub(crate) async fn create(
    State(state): State<AppState>,
    auth: ApiAuth,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let (b, value) = match body::parse::<ContactBody>(&headers, &bytes) {
        Ok(v) => v,
        Err(p) => return p.into_response(),
    };
    let (st, au) = (state.clone(), auth.clone());
    idempotent(
        &st,
        &au,
        &headers,
        "POST /api/v1/contacts",
        &value,
        |_| async move {
            auth.require("contacts")?;
            let p = phone(&state, "phone", &b.phone)?;
            let v = state
                .core
                .contact_create(&auth.actor, &b.name, &p, &b.groups, b.opted_out)
                .await
                .map_err(problem)?;
            let out = serde_json::to_value(contact_out(&v)).unwrap_or_default();
            Ok(Reply::new(StatusCode::CREATED, out))
        },
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "contacts",
    params(("id" = i64, Path, description = "Contact id")),
    responses(
        (status = 200, description = "The contact", body = ContactOut),
        (status = 401, description = "No valid token", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `contacts`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "No such contact", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub(crate) async fn one(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    auth.require("contacts")?;
    let v = state
        .core
        .contact_view(id_of(&id)?)
        .await
        .map_err(problem)?;
    Ok(axum::Json(contact_out(&v)).into_response())
}

/// `PATCH /api/v1/contacts/{id}`: what is given changes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactPatch {
    pub name: Option<String>,
    pub phone: Option<String>,
    /// The whole set of group ids.
    pub groups: Option<Vec<i64>>,
    pub opted_out: Option<bool>,
}

#[utoipa::path(patch, path = "/api/v1/contacts/{id}", tag = "contacts",
    params(("id" = i64, Path, description = "Contact id")),
    request_body = ContactPatch,
    responses(
        (status = 200, description = "The contact as it is now", body = ContactOut),
        (status = 400, description = "Malformed JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `contacts`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "No such contact", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`already_exists`: another contact has this phone", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_phone`, `unknown_group`, `invalid_request`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub(crate) async fn update(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, Problem> {
    auth.require("contacts")?;
    let id = id_of(&id)?;
    let (b, _) = body::parse::<ContactPatch>(&headers, &bytes)?;
    let change = ContactChange {
        name: b.name,
        phone: b
            .phone
            .as_deref()
            .map(|p| phone(&state, "phone", p))
            .transpose()?,
        groups: b.groups,
        opted_out: b.opted_out,
    };
    let v = state
        .core
        .contact_update(&auth.actor, id, &change)
        .await
        .map_err(problem)?;
    Ok(axum::Json(contact_out(&v)).into_response())
}

#[utoipa::path(delete, path = "/api/v1/contacts/{id}", tag = "contacts",
    params(("id" = i64, Path, description = "Contact id")),
    responses(
        (status = 204, description = "Deleted (an opt-out stays on the suppression list)"),
        (status = 401, description = "No valid token", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `contacts`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "No such contact", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub(crate) async fn remove(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    auth.require("contacts")?;
    state
        .core
        .contact_delete(&auth.actor, id_of(&id)?)
        .await
        .map_err(problem)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(get, path = "/api/v1/groups", tag = "contacts",
    responses(
        (status = 200, description = "Every group with its member count, by name", body = GroupList),
        (status = 401, description = "No valid token", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `contacts`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub(crate) async fn groups(
    State(state): State<AppState>,
    auth: ApiAuth,
) -> Result<Response, Problem> {
    auth.require("contacts")?;
    let all = state
        .core
        .store()
        .list_groups()
        .await
        .map_err(|e| Problem::internal(&e))?;
    let list = GroupList {
        object: "list",
        data: all.iter().map(group_out).collect(),
    };
    Ok(axum::Json(list).into_response())
}

/// `POST /api/v1/groups`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupBody {
    pub name: String,
}

#[utoipa::path(post, path = "/api/v1/groups", tag = "contacts",
    request_body = GroupBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe (24 h, per token)")),
    responses(
        (status = 201, description = "Created", body = GroupOut),
        (status = 400, description = "Malformed JSON or Idempotency-Key", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `contacts`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`already_exists` (this name), or the Idempotency-Key is in flight", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_request`, `idempotency_key_reused`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub(crate) async fn create_group(
    State(state): State<AppState>,
    auth: ApiAuth,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let (b, value) = match body::parse::<GroupBody>(&headers, &bytes) {
        Ok(v) => v,
        Err(p) => return p.into_response(),
    };
    let (st, au) = (state.clone(), auth.clone());
    idempotent(
        &st,
        &au,
        &headers,
        "POST /api/v1/groups",
        &value,
        |_| async move {
            auth.require("contacts")?;
            let g = state
                .core
                .group_create(&auth.actor, &b.name)
                .await
                .map_err(problem)?;
            let out = serde_json::to_value(group_out(&g)).unwrap_or_default();
            Ok(Reply::new(StatusCode::CREATED, out))
        },
    )
    .await
}

#[utoipa::path(delete, path = "/api/v1/groups/{id}", tag = "contacts",
    params(("id" = i64, Path, description = "Group id")),
    responses(
        (status = 204, description = "Deleted (its members stay contacts)"),
        (status = 401, description = "No valid token", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `contacts`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "No such group", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub(crate) async fn remove_group(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    auth.require("contacts")?;
    state
        .core
        .group_delete(&auth.actor, id_of(&id)?)
        .await
        .map_err(problem)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
