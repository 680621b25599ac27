//! `/api/v1/messages`: send one SMS or WhatsApp message (202, recorded in the outbox before the
//! answer; the worker sends it), read one with its delivery state, list them with filters and a
//! cursor. Opt-out, quiet hours (for `kind: promotional`) and pacing are core's, as for the
//! console.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderMap, StatusCode};
use messagepro::{DocumentSource, DocumentType, MediaKind, MediaSource, Phone, WaContent};
use messagepro_core::route::RouteChoice;
use messagepro_core::{AcceptOptions, SendChannel, SendError, SendRequest};
use messagepro_store::{Channel, Message, MessageFilter, MessageStatus, Page};
use serde::Deserialize;
use serde_json::Value;

use super::openapi::{Delivery, FallbackOut, MessageAccepted, MessageList, MessageOut, ProblemDoc};

use super::auth::ApiAuth;
use super::idempotency::{Reply, idempotent};
use super::problem::Problem;
use super::{body, iso, parse_time};
use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/messages", post(send).get(list))
        .route("/api/v1/messages/{id}", get(one))
}

/// `POST /api/v1/messages`: `to` and `text` are enough when a default route is configured.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendBody {
    /// `sms` (default) or `whatsapp`.
    #[serde(default)]
    pub channel: Option<String>,
    /// The recipient: local (`621234567`, default country) or international (`+224…`).
    pub to: String,
    /// The text (the caption of a WhatsApp media or document).
    pub text: String,
    #[serde(default)]
    #[schema(value_type = Option<super::openapi::RouteDoc>)]
    pub route: Option<RouteChoice>,
    /// WhatsApp: an image, audio or video link (.jpg .png .gif .mp3 .ogg .mp4).
    #[serde(default)]
    pub media_url: Option<String>,
    /// WhatsApp: a document link (.pdf .xls .xlsx .doc .docx).
    #[serde(default)]
    pub document_url: Option<String>,
    #[serde(default)]
    pub document_name: Option<String>,
    /// Not before this time (RFC 3339).
    #[serde(default)]
    pub send_at: Option<String>,
    /// `transactional` (default) or `promotional` (quiet hours apply).
    #[serde(default)]
    pub kind: Option<String>,
    /// Tried once, with the same text, if this send ends `failed` (e.g. WhatsApp, then SMS).
    #[serde(default)]
    pub fallback: Option<FallbackBody>,
}

/// A message's second way to its recipient.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FallbackBody {
    /// `sms` or `whatsapp` (a WhatsApp fallback is a text chat).
    pub channel: String,
    /// Omitted: that channel's default route.
    #[serde(default)]
    #[schema(value_type = Option<super::openapi::RouteDoc>)]
    pub route: Option<RouteChoice>,
}

/// A recipient typed by a caller, normalised to E.164 with the default country.
pub fn phone(state: &AppState, field: &str, raw: &str) -> Result<Phone, Problem> {
    Phone::parse(raw, &state.settings.default_country).map_err(|_| {
        Problem::invalid(
            "invalid_phone",
            format!(
                "`{field}` is not a valid phone number (local numbers use the default country)."
            ),
        )
        .with("field", field)
    })
}

fn extension(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    path.rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

fn http_url(field: &str, url: &str) -> Result<String, Problem> {
    let url = url.trim();
    if url.starts_with("https://") || url.starts_with("http://") {
        Ok(url.to_owned())
    } else {
        Err(Problem::invalid(
            "invalid_request",
            format!("`{field}` must be an http(s) URL."),
        ))
    }
}

fn whatsapp_content(b: &SendBody) -> Result<WaContent, Problem> {
    match (&b.media_url, &b.document_url) {
        (Some(_), Some(_)) => Err(Problem::invalid(
            "invalid_request",
            "Give `media_url` or `document_url`, not both.",
        )),
        (Some(url), None) => {
            let url = http_url("media_url", url)?;
            let kind = match extension(&url).as_str() {
                "jpg" | "jpeg" | "png" | "gif" => MediaKind::Image,
                "mp3" | "ogg" => MediaKind::Audio,
                "mp4" => MediaKind::Video,
                _ => {
                    return Err(Problem::invalid(
                        "invalid_media",
                        "`media_url` must end in .jpg, .jpeg, .png, .gif, .mp3, .ogg or .mp4.",
                    ));
                }
            };
            Ok(WaContent::Media {
                caption: b.text.clone(),
                source: MediaSource::Url { url, kind },
            })
        }
        (None, Some(url)) => {
            let url = http_url("document_url", url)?;
            let kind = DocumentType::parse(&extension(&url)).ok_or_else(|| {
                Problem::invalid(
                    "invalid_media",
                    "`document_url` must end in .pdf, .xls, .xlsx, .doc or .docx.",
                )
            })?;
            Ok(WaContent::Document {
                caption: b.text.clone(),
                source: DocumentSource::Url {
                    url,
                    kind,
                    name: b.document_name.clone(),
                },
            })
        }
        (None, None) => Ok(WaContent::Text(b.text.clone())),
    }
}

/// The answer to a send (and its stored replay).
fn accepted_body(
    id: i64,
    channel: Channel,
    to: &str,
    segments: i64,
    send_at: Option<i64>,
) -> Value {
    to_value(&MessageAccepted {
        id,
        object: "message",
        channel: channel.as_str().to_owned(),
        status: "queued",
        to: to.to_owned(),
        segments,
        send_at: send_at.map(iso),
    })
}

#[utoipa::path(post, path = "/api/v1/messages", tag = "messages",
    request_body = SendBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe (24 h, per token)")),
    responses(
        (status = 202, description = "Recorded; the worker sends it", body = MessageAccepted),
        (status = 400, description = "Malformed JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `messages:send`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "The same Idempotency-Key is in flight", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Invalid (`invalid_phone`, `opted_out`, `route_required`, `idempotency_key_reused`…)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub(crate) async fn send(
    State(state): State<AppState>,
    auth: ApiAuth,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let (b, value) = match body::parse::<SendBody>(&headers, &bytes) {
        Ok(v) => v,
        Err(p) => return p.into_response(),
    };
    let (st, au) = (state.clone(), auth.clone());
    idempotent(
        &st,
        &au,
        &headers,
        "POST /api/v1/messages",
        &value,
        |key| async move {
            auth.require("messages:send")?;
            let to = phone(&state, "to", &b.to)?;
            let kind = b.channel.as_deref().unwrap_or("sms");
            if kind == "sms" && (b.media_url.is_some() || b.document_url.is_some()) {
                return Err(Problem::invalid(
                    "invalid_request",
                    "`media_url` and `document_url` are for WhatsApp.",
                ));
            }
            let content = match kind {
                "whatsapp" => whatsapp_content(&b)?,
                _ => WaContent::Text(b.text.clone()),
            };
            let channel = send_channel(&state, "channel", kind, b.route.as_ref(), content)?;
            let fallback = match &b.fallback {
                Some(f) => {
                    let fallback = send_channel(
                        &state,
                        "fallback.channel",
                        &f.channel,
                        f.route.as_ref(),
                        WaContent::Text(b.text.clone()),
                    )?;
                    if same_way(&fallback, &channel) {
                        return Err(Problem::invalid(
                            "invalid_request",
                            "`fallback` must be another channel or route than the send itself.",
                        ));
                    }
                    Some(fallback)
                }
                None => None,
            };
            let promotional = match b.kind.as_deref().unwrap_or("transactional") {
                "transactional" => false,
                "promotional" => true,
                _ => {
                    return Err(Problem::invalid(
                        "invalid_request",
                        "`kind` must be \"transactional\" or \"promotional\".",
                    ));
                }
            };
            let send_at = b
                .send_at
                .as_deref()
                .map(|t| parse_time("send_at", t))
                .transpose()?;
            if b.text.chars().count() > 2_000 {
                return Err(Problem::invalid(
                    "too_long",
                    "`text` is longer than 2000 characters.",
                ));
            }
            let req = SendRequest {
                channel,
                recipient: to.clone(),
                text: b.text.clone(),
            };
            let store_channel = req.channel.store_channel();
            let segments = match store_channel {
                Channel::Whatsapp => 1,
                _ => messagepro::sms::analyze(&req.text).segments.max(1) as i64,
            };
            let e164 = to.e164().to_owned();
            let respond = |ids: &[i64]| {
                let id = ids.first().copied().unwrap_or_default();
                (
                    202u16,
                    accepted_body(id, store_channel, &e164, segments, send_at).to_string(),
                )
            };
            let opts = AcceptOptions {
                promotional,
                send_at_ms: send_at,
                idempotency: key.as_ref().map(|k| k.done(&respond)),
                fallback,
            };
            match state.core.accept_with(&auth.actor, &req, opts).await {
                Ok(a) => Ok(Reply {
                    status: StatusCode::ACCEPTED,
                    body: accepted_body(a.message_id, store_channel, &e164, segments, send_at),
                    stored: key.is_some(),
                }),
                Err(SendError::Forbidden) => Err(Problem::insufficient_scope("messages:send")),
                Err(e) => Err(Problem::from_send(&e)),
            }
        },
    )
    .await
}

/// The send channel named by `kind` (`sms` / `whatsapp`, the request's `field`) and `route`
/// (omitted: the configured default of that channel).
fn send_channel(
    state: &AppState,
    field: &str,
    kind: &str,
    route: Option<&RouteChoice>,
    content: WaContent,
) -> Result<SendChannel, Problem> {
    let defaults = &state.core.settings().routes;
    let route = route.cloned().unwrap_or_default();
    match kind {
        "sms" => Ok(SendChannel::Sms {
            route: route
                .sms_route(defaults)
                .map_err(|e| Problem::from_send(&e))?,
        }),
        "whatsapp" => Ok(SendChannel::WhatsApp {
            account: route
                .whatsapp_account(defaults)
                .map_err(|e| Problem::from_send(&e))?,
            content,
            priority: true,
        }),
        _ => Err(Problem::invalid(
            "invalid_request",
            format!("`{field}` must be \"sms\" or \"whatsapp\"."),
        )),
    }
}

/// Whether two channels leave the same way (the same SMS route, or the same account).
fn same_way(a: &SendChannel, b: &SendChannel) -> bool {
    match (a, b) {
        (SendChannel::Sms { route: x }, SendChannel::Sms { route: y }) => x == y,
        (SendChannel::WhatsApp { account: x, .. }, SendChannel::WhatsApp { account: y, .. }) => {
            x == y
        }
        _ => false,
    }
}

/// A message as the API shows it.
pub fn message_out(
    m: &Message,
    job: Option<&messagepro_store::Job>,
    links: Option<&messagepro_store::FallbackLinks>,
) -> MessageOut {
    let failure = (m.status == MessageStatus::Failed || m.status == MessageStatus::Skipped)
        .then(|| m.platform_message.clone())
        .flatten();
    MessageOut {
        id: m.id,
        object: "message",
        channel: m.channel.as_str().to_owned(),
        to: m.recipient.clone(),
        text: m.text.clone(),
        status: m.status.as_str().to_owned(),
        segments: m.segments,
        route: serde_json::from_str(&m.route).unwrap_or(Value::Null),
        platform_id: m.platform_id.clone(),
        reason: failure,
        campaign_id: m.campaign_id,
        created_at: iso(m.created_ms),
        updated_at: iso(m.updated_ms),
        delivery: job.map(|j| Delivery {
            attempts: j.attempt,
            state: j.state.clone(),
            next_attempt_at: (j.state == "ready").then(|| iso(j.run_at_ms)),
        }),
        fallback: links.and_then(|l| {
            l.state.as_ref().map(|state| FallbackOut {
                state: state.clone(),
                message_id: l.fallback_id,
            })
        }),
        fallback_of: links.and_then(|l| l.fallback_of),
    }
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

#[utoipa::path(get, path = "/api/v1/messages/{id}", tag = "messages",
    params(("id" = i64, Path, description = "Local message id")),
    responses(
        (status = 200, description = "The message and its delivery state", body = MessageOut),
        (status = 401, description = "No valid token", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `messages:read`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "No such message", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub(crate) async fn one(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    auth.require("messages:read")?;
    let id: i64 = id.parse().map_err(|_| Problem::not_found("message"))?;
    let m = state
        .store
        .message_by_id(id)
        .await
        .map_err(|e| Problem::internal(&e))?
        .ok_or_else(|| Problem::not_found("message"))?;
    let job = state
        .store
        .job_of_message(id)
        .await
        .map_err(|e| Problem::internal(&e))?;
    let links = state
        .store
        .fallback_links(id)
        .await
        .map_err(|e| Problem::internal(&e))?;
    Ok(Reply::new(
        StatusCode::OK,
        to_value(&message_out(&m, job.as_ref(), Some(&links))),
    )
    .into_response())
}

/// `GET /api/v1/messages` filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `sms`, `whatsapp` or `otp`.
    pub channel: Option<String>,
    /// `queued`, `sending`, `pending`, `sent`, `failed`, `unknown`, `skipped`.
    pub status: Option<String>,
    /// Recipient (local or international).
    pub to: Option<String>,
    pub campaign_id: Option<i64>,
    /// Created at or after (RFC 3339).
    pub since: Option<String>,
    /// Created before (RFC 3339).
    pub until: Option<String>,
    /// 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/messages", tag = "messages",
    params(ListQuery),
    responses(
        (status = 200, description = "Messages, newest first", body = MessageList),
        (status = 401, description = "No valid token", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `messages:read`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "An invalid filter", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub(crate) async fn list(
    State(state): State<AppState>,
    auth: ApiAuth,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Problem> {
    auth.require("messages:read")?;
    let Query(q) = query.map_err(|e| Problem::invalid("invalid_request", e.body_text()))?;
    let channel = q
        .channel
        .as_deref()
        .map(|c| {
            c.parse::<Channel>()
                .map_err(|_| Problem::invalid("invalid_request", "Unknown `channel`."))
        })
        .transpose()?;
    let status = q
        .status
        .as_deref()
        .map(|s| {
            s.parse::<MessageStatus>()
                .map_err(|_| Problem::invalid("invalid_request", "Unknown `status`."))
        })
        .transpose()?;
    let recipient =
        q.to.as_deref()
            .map(|t| phone(&state, "to", t).map(|p| p.e164().to_owned()))
            .transpose()?;
    let filter = MessageFilter {
        channel,
        status,
        campaign_id: q.campaign_id,
        recipient,
        from_ms: q
            .since
            .as_deref()
            .map(|t| parse_time("since", t))
            .transpose()?,
        to_ms: q
            .until
            .as_deref()
            .map(|t| parse_time("until", t))
            .transpose()?,
        ..Default::default()
    };
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let before_id = q
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<i64>()
                .map_err(|_| Problem::invalid("invalid_request", "Unknown `cursor`."))
        })
        .transpose()?;
    let page = Page {
        limit: limit + 1,
        offset: 0,
        before_id,
    };
    let mut rows = state
        .store
        .list_messages(&filter, page)
        .await
        .map_err(|e| Problem::internal(&e))?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = more
        .then(|| rows.last().map(|m| m.id.to_string()))
        .flatten();
    let list = MessageList {
        object: "list",
        data: rows.iter().map(|m| message_out(m, None, None)).collect(),
        next_cursor: next,
    };
    Ok(Reply::new(StatusCode::OK, to_value(&list)).into_response())
}
