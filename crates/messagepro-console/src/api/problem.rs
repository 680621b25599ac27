//! RFC 9457 problem details, the one error shape of the integration API:
//! `application/problem+json` with `type` (`urn:messagepro:problem:<code>`), `title`, `status`,
//! `detail` and a stable `code` a program can switch on, plus extensions where they help
//! (`attempts_left`, `retry_after`, `message_id`). Texts are plain English; nothing internal
//! (SQL, paths, secrets) is ever in them — internal errors are logged and answered with a
//! generic `internal` problem.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use messagepro_core::SendError;
use serde_json::{Map, Value, json};

/// A problem to answer.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    /// Extension members (`attempts_left`…).
    pub extra: Map<String, Value>,
    /// Seconds for `Retry-After` (429).
    pub retry_after_s: Option<i64>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            status,
            code,
            detail: detail.into(),
            extra: Map::new(),
            retry_after_s: None,
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Problem {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    pub fn unauthorized() -> Problem {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Send a valid, unrevoked API token as `Authorization: Bearer <token>`.",
        )
    }

    pub fn insufficient_scope(scope: &str) -> Problem {
        Problem::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!("This token lacks the `{scope}` scope."),
        )
        .with("scope", scope)
    }

    pub fn invalid(code: &'static str, detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    pub fn not_found(what: &str) -> Problem {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("No such {what}."),
        )
    }

    pub fn rate_limited(retry_after_ms: i64) -> Problem {
        let s = ((retry_after_ms + 999) / 1000).max(1);
        let mut p = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("Too many requests; try again in {s} s."),
        )
        .with("retry_after", s.max(1));
        p.retry_after_s = Some(s.max(1));
        p
    }

    /// An internal error: logged here, answered without its cause.
    pub fn internal(cause: &dyn std::fmt::Display) -> Problem {
        tracing::error!(error = %cause, "integration API internal error");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "The server failed; retry the request (with the same Idempotency-Key).",
        )
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut v = json!({
            "type": format!("urn:messagepro:problem:{}", self.code),
            "title": title(self.code),
            "status": self.status.as_u16(),
            "detail": self.detail,
            "code": self.code,
        });
        if let Value::Object(m) = &mut v {
            m.extend(self.extra.clone());
        }
        v
    }

    /// The problem of a send refused by core.
    pub fn from_send(e: &SendError) -> Problem {
        match e {
            SendError::Forbidden => Problem::insufficient_scope("messages:send"),
            SendError::EmptyText => Problem::invalid("empty_text", "`text` is empty."),
            SendError::OptedOut { message_id } => Problem::invalid(
                "opted_out",
                "The recipient opted out (STOP); the message is recorded as skipped and is not sent.",
            )
            .with("message_id", *message_id),
            SendError::RateLimited { retry_after_ms } => Problem::rate_limited(*retry_after_ms),
            SendError::Invalid(code) => Problem::invalid(code, invalid_detail(code)),
            SendError::Template(t) => Problem::invalid("invalid_template", t.to_string()),
            SendError::Failed { message_id, cause } => Problem::invalid(
                "send_failed",
                format!("The platform refused the message ({}).", cause.code()),
            )
            .with("message_id", *message_id),
            SendError::Store(e) => Problem::internal(e),
        }
    }
}

/// What an `Invalid` code of core means.
fn invalid_detail(code: &str) -> &'static str {
    match code {
        "route_required" => {
            "No route given and no default is configured (`route`, or default_sms_route / default_whatsapp_account)."
        }
        "invalid_route" => {
            "`route` names a device and a gateway at once, a SIM other than 1 or 2, or a device for WhatsApp."
        }
        "otp_placeholder" => "The OTP template must contain {{otp}}.",
        "otp_template_too_long" => "The OTP template is longer than 500 characters.",
        "otp_lifetime" => "The OTP lifetime must be 30 to 600 seconds.",
        "otp_purpose" => "`purpose` is empty or longer than 64 characters.",
        _ => "The request is invalid.",
    }
}

/// A short human title per code.
fn title(code: &str) -> &'static str {
    match code {
        "unauthorized" => "Unauthorized",
        "insufficient_scope" => "Insufficient scope",
        "invalid_json" => "Malformed JSON",
        "invalid_request" => "Invalid request",
        "invalid_phone" => "Invalid phone number",
        "opted_out" => "Recipient opted out",
        "rate_limited" => "Rate limited",
        "idempotency_key_reused" => "Idempotency key reused",
        "idempotency_key_in_flight" => "Request in flight",
        "invalid_idempotency_key" => "Invalid idempotency key",
        "otp_invalid" => "Wrong code",
        "otp_locked" => "Code locked",
        "otp_missing" => "No code to verify",
        "no_rule" => "No rule for this event",
        "not_found" => "Not found",
        "internal" => "Internal error",
        "unsupported_media_type" => "Unsupported media type",
        "too_long" => "Text too long",
        "empty_text" => "Empty text",
        "invalid_media" => "Invalid media link",
        "route_required" => "No route",
        "invalid_route" => "Invalid route",
        "otp_placeholder" | "otp_template_too_long" => "Invalid OTP template",
        "otp_lifetime" => "Invalid OTP lifetime",
        "otp_purpose" => "Invalid OTP purpose",
        "invalid_event" => "Invalid event",
        "missing_recipient" | "no_recipient" => "No recipient",
        "group_not_found" => "Unknown group",
        "too_many_recipients" => "Too many recipients",
        "invalid_rule" => "Invalid event rule",
        "missing_variable" => "Missing template value",
        "platform_unavailable" => "Platform unavailable",
        "send_failed" => "Send refused by the platform",
        "invalid_template" => "Invalid template",
        "invalid_url" => "Invalid URL",
        "unknown_event" => "Unknown event type",
        "no_events" => "No event type",
        "delivery_not_finished" => "Delivery not finished",
        _ => "Request refused",
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = self.body().to_string();
        let mut res = (self.status, body).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(s) = self.retry_after_s
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_carries_type_title_status_detail_code_and_extensions() {
        let p = Problem::invalid("otp_invalid", "Wrong code.").with("attempts_left", 3);
        let b = p.body();
        assert_eq!(b["type"], "urn:messagepro:problem:otp_invalid");
        assert_eq!(b["title"], "Wrong code");
        assert_eq!(b["status"], 422);
        assert_eq!(b["code"], "otp_invalid");
        assert_eq!(b["attempts_left"], 3);
        let res = Problem::rate_limited(1500).into_response();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers()[header::RETRY_AFTER], "2");
        assert_eq!(
            res.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
    }
}
