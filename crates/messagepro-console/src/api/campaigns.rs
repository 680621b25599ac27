//! `/api/v1/campaigns`: start a campaign (numbers and/or platform groups, a text that may be a
//! template with `{{contact.name}}`, a route or the default one, a start time), read it with
//! its progress, and pause, resume or cancel it. Core records the campaign, one message per
//! recipient with its outbox job (opted-out numbers `skipped`), the audit entry and the
//! idempotency key in one transaction; the workers send at the route's pace. The token that
//! started a campaign may control it (console users need `messaging.manage_campaigns` for
//! others' campaigns).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderMap, StatusCode};
use messagepro_core::route::RouteChoice;
use messagepro_core::{CampaignIdem, CampaignRequest, CampaignSummary, SendChannel, SendError};
use messagepro_store::{Campaign, MessageStatus};
use serde::Deserialize;
use serde_json::Value;

use super::auth::ApiAuth;
use super::idempotency::{Reply, idempotent};
use super::messages::phone;
use super::openapi::{CampaignAccepted, CampaignOut, ProblemDoc, Progress};
use super::problem::Problem;
use super::{body, iso, parse_time};
use crate::app::AppState;

/// Recipients one request may name (numbers; groups are expanded by core).
const MAX_NUMBERS: usize = 100_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/campaigns", post(start))
        .route("/api/v1/campaigns/{id}", get(one))
        .route("/api/v1/campaigns/{id}/{action}", post(control))
}

/// A platform contact group: its id, or its name.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum GroupRef {
    Id(u64),
    Name(String),
}

/// `POST /api/v1/campaigns`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignBody {
    /// Shown in the console and the audit log.
    pub name: String,
    /// The text; may use `{{contact.name}}` and spintax `{a|b}`.
    #[serde(default)]
    pub text: Option<String>,
    /// The same as `text` (give one of them).
    #[serde(default)]
    pub template: Option<String>,
    /// Recipients: local (`621234567`, default country) or international numbers.
    #[serde(default)]
    pub numbers: Vec<String>,
    /// Platform contact groups, by id or by name.
    #[serde(default)]
    pub groups: Vec<GroupRef>,
    /// `sms` (default) or `whatsapp` (text).
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<super::openapi::RouteDoc>)]
    pub route: Option<RouteChoice>,
    /// Start at this time (RFC 3339); now when absent or past.
    #[serde(default)]
    pub send_at: Option<String>,
}

fn accepted(o: &CampaignSummary) -> Value {
    serde_json::to_value(CampaignAccepted {
        id: o.id,
        object: "campaign",
        name: o.name.clone(),
        channel: o.channel.as_str().to_owned(),
        status: o.status.as_str().to_owned(),
        recipients: o.recipients,
        queued: o.queued,
        opted_out: o.opted_out,
        start_at: o.start_ms.map(iso),
        estimated_end_at: iso(o.estimated_end_ms),
    })
    .unwrap_or_default()
}

#[utoipa::path(post, path = "/api/v1/campaigns", tag = "campaigns",
    request_body = CampaignBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe (24 h, per token)")),
    responses(
        (status = 202, description = "Recorded with one message per recipient; the workers send them", body = CampaignAccepted),
        (status = 400, description = "Malformed JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `messages:send`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "The same Idempotency-Key is in flight", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Invalid (`invalid_phone`, `no_recipients`, `group_not_found`, `missing_variable`, `route_required`…)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "The platform's groups cannot be read now", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub(crate) async fn start(
    State(state): State<AppState>,
    auth: ApiAuth,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let (b, value) = match body::parse::<CampaignBody>(&headers, &bytes) {
        Ok(v) => v,
        Err(p) => return p.into_response(),
    };
    let (st, au) = (state.clone(), auth.clone());
    idempotent(
        &st,
        &au,
        &headers,
        "POST /api/v1/campaigns",
        &value,
        |key| async move {
            auth.require("messages:send")?;
            let req = request(&state, &b).await?;
            let respond = |c: &CampaignSummary| (202u16, accepted(c).to_string());
            let idem = key.as_ref().map(|k| CampaignIdem {
                token_id: k.token_id,
                key: &k.key,
                respond: &respond,
            });
            match state
                .core
                .submit_campaign_with(&auth.actor, req, idem)
                .await
            {
                Ok(o) => Ok(Reply {
                    status: StatusCode::ACCEPTED,
                    body: accepted(&o.summary()),
                    stored: key.is_some(),
                }),
                Err(SendError::Forbidden) => Err(Problem::insufficient_scope("messages:send")),
                Err(e) => Err(Problem::from_send(&e)),
            }
        },
    )
    .await
}

/// The core request from the body (names and numbers checked, groups resolved).
async fn request(state: &AppState, b: &CampaignBody) -> Result<CampaignRequest, Problem> {
    let name = b.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(
            Problem::invalid("invalid_request", "`name` must have 1 to 100 characters.")
                .with("field", "name"),
        );
    }
    let text = match (&b.text, &b.template) {
        (Some(t), None) | (None, Some(t)) => t.clone(),
        _ => {
            return Err(Problem::invalid(
                "invalid_request",
                "Give the text in `text` (or `template`), once.",
            ));
        }
    };
    if text.chars().count() > 2_000 {
        return Err(Problem::invalid(
            "too_long",
            "`text` is longer than 2000 characters.",
        ));
    }
    if b.numbers.len() > MAX_NUMBERS {
        return Err(Problem::invalid(
            "too_many_recipients",
            format!("At most {MAX_NUMBERS} numbers per campaign."),
        ));
    }
    let numbers = b
        .numbers
        .iter()
        .enumerate()
        .map(|(i, n)| phone(state, &format!("numbers[{i}]"), n))
        .collect::<Result<Vec<_>, _>>()?;
    let mut groups = Vec::new();
    let mut names = Vec::new();
    for g in &b.groups {
        match g {
            GroupRef::Id(id) => groups.push(*id),
            GroupRef::Name(n) => names.push(n.clone()),
        }
    }
    match state.core.group_ids_named(&names).await {
        Ok(Ok(ids)) => groups.extend(ids),
        Ok(Err(name)) => {
            return Err(Problem::invalid(
                "group_not_found",
                format!("No contact group is named \"{name}\"."),
            ));
        }
        Err(_) => {
            return Err(Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "platform_unavailable",
                "The platform's groups cannot be read now; retry later (nothing was recorded).",
            ));
        }
    }
    let defaults = &state.core.settings().routes;
    let route = b.route.clone().unwrap_or_default();
    let channel = match b.channel.as_deref().unwrap_or("sms") {
        "sms" => SendChannel::Sms {
            route: route
                .sms_route(defaults)
                .map_err(|e| Problem::from_send(&e))?,
        },
        "whatsapp" => SendChannel::WhatsApp {
            account: route
                .whatsapp_account(defaults)
                .map_err(|e| Problem::from_send(&e))?,
            content: messagepro::WaContent::Text(text.clone()),
            priority: false,
        },
        _ => {
            return Err(Problem::invalid(
                "invalid_request",
                "`channel` must be \"sms\" or \"whatsapp\".",
            ));
        }
    };
    let start_ms = b
        .send_at
        .as_deref()
        .map(|t| parse_time("send_at", t))
        .transpose()?;
    let mut req = CampaignRequest::new(name, text, numbers, channel);
    req.groups = groups;
    req.start_ms = start_ms;
    Ok(req)
}

/// A campaign with its progress.
fn campaign_out(c: &Campaign, counts: &[(MessageStatus, i64)]) -> Value {
    let n = |s: MessageStatus| counts.iter().find(|(k, _)| *k == s).map_or(0, |(_, n)| *n);
    let finished = n(MessageStatus::Sent) + n(MessageStatus::Failed) + n(MessageStatus::Skipped);
    serde_json::to_value(CampaignOut {
        id: c.id,
        object: "campaign",
        name: c.name.clone(),
        channel: c.channel.as_str().to_owned(),
        status: c.status.as_str().to_owned(),
        total: c.total,
        progress: Progress {
            queued: n(MessageStatus::Queued),
            sending: n(MessageStatus::Sending),
            pending: n(MessageStatus::Pending),
            sent: n(MessageStatus::Sent),
            failed: n(MessageStatus::Failed),
            unknown: n(MessageStatus::Unknown),
            skipped: n(MessageStatus::Skipped),
            percent: finished * 100 / c.total.max(1),
        },
        created_at: iso(c.created_ms),
        start_at: c.start_ms.map(iso),
        paused_at: c.paused_ms.map(iso),
    })
    .unwrap_or_default()
}

async fn read(state: &AppState, id: &str) -> Result<Value, Problem> {
    let id: i64 = id.parse().map_err(|_| Problem::not_found("campaign"))?;
    let store = state.core.store();
    let c = store
        .campaign_by_id(id)
        .await
        .map_err(|e| Problem::internal(&e))?
        .ok_or_else(|| Problem::not_found("campaign"))?;
    let counts = store
        .campaign_status_counts(id)
        .await
        .map_err(|e| Problem::internal(&e))?;
    Ok(campaign_out(&c, &counts))
}

#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "campaigns",
    params(("id" = i64, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "The campaign and its progress", body = CampaignOut),
        (status = 401, description = "No valid token", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `messages:read`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub(crate) async fn one(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    auth.require("messages:read")?;
    Ok(axum::Json(read(&state, &id).await?).into_response())
}

#[utoipa::path(post, path = "/api/v1/campaigns/{id}/{action}", tag = "campaigns",
    params(
        ("id" = i64, Path, description = "Campaign id"),
        ("action" = String, Path, description = "`pause`, `resume` or `cancel`"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe (24 h, per token)"),
    ),
    responses(
        (status = 200, description = "Done: the campaign as it is now", body = CampaignOut),
        (status = 400, description = "A malformed Idempotency-Key", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `messages:send`, or did not start this campaign", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign or action", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`campaign_state`: not running or scheduled (pause), not paused (resume), already finished (cancel); or the Idempotency-Key is in flight", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`idempotency_key_reused`: the key was used for another request", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub(crate) async fn control(
    State(state): State<AppState>,
    auth: ApiAuth,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let (st, au) = (state.clone(), auth.clone());
    let path = format!("POST /api/v1/campaigns/{id}/{action}");
    idempotent(&st, &au, &headers, &path, &Value::Null, |_| async move {
        let cid: i64 = id.parse().map_err(|_| Problem::not_found("campaign"))?;
        if !matches!(action.as_str(), "pause" | "resume" | "cancel") {
            return Err(Problem::not_found("action"));
        }
        auth.require("messages:send")?;
        let core = &state.core;
        let done = match action.as_str() {
            "cancel" => core
                .cancel_campaign(&auth.actor, cid)
                .await
                .map(|n| n.is_some()),
            a => {
                core.set_campaign_paused(&auth.actor, cid, a == "pause")
                    .await
            }
        };
        match done {
            Ok(true) => Ok(Reply::new(StatusCode::OK, read(&state, &id).await?)),
            Ok(false) => Err(Problem::new(
                StatusCode::CONFLICT,
                "campaign_state",
                match action.as_str() {
                    "pause" => "The campaign is not running or scheduled.",
                    "resume" => "The campaign is not paused.",
                    _ => "The campaign is already finished or cancelled.",
                },
            )),
            Err(SendError::Forbidden) => Err(Problem::new(
                StatusCode::FORBIDDEN,
                "not_campaign_owner",
                "Only the token that started this campaign may control it.",
            )),
            Err(SendError::Store(messagepro_store::StoreError::NotFound(_))) => {
                Err(Problem::not_found("campaign"))
            }
            Err(e) => Err(Problem::from_send(&e)),
        }
    })
    .await
}
