//! Errors of the send entry point, as machine codes: [`SendError::code`] is stable text
//! (`forbidden`, `device_offline`, `not_enough_credits`, …) that the console turns into a
//! sentence (`send.error.<code>` in its translation files) and the integration API into a
//! problem `code`. Platform failures keep the platform's exact words in
//! [`SendError::platform_message`]; transport details and secrets are never in either.

use messagepro_store::StoreError;

/// Why a send did not go out.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The actor may not use this channel. Nothing recorded.
    #[error("permission denied")]
    Forbidden,
    /// The text is empty. Nothing recorded.
    #[error("empty message")]
    EmptyText,
    /// A parameter is invalid (`code` says which rule). Nothing recorded.
    #[error("invalid request: {0}")]
    Invalid(&'static str),
    /// Too many requests of this kind: try again in `retry_after_ms`. Nothing recorded.
    #[error("rate limited")]
    RateLimited { retry_after_ms: i64 },
    /// Recorded as `failed` (see [`FailCause`]).
    #[error("send {message_id} failed: {cause}")]
    Failed { message_id: i64, cause: FailCause },
    /// The database failed (an internal error for the page).
    /// The recipient opted out: the message is recorded `skipped` (`skip.opted_out`), never
    /// sent.
    #[error("the recipient opted out (message {message_id} skipped)")]
    OptedOut { message_id: i64 },
    /// The text's template is wrong (unknown or unclosed variable) or a recipient lacks a value.
    #[error("template: {0}")]
    Template(#[from] crate::template::TemplateError),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// Why a recorded send failed.
#[derive(Debug, thiserror::Error)]
pub enum FailCause {
    /// The chosen own Android device is offline: Message Pro would accept the SMS and keep it
    /// waiting silently until the phone reconnects, so it is refused instead.
    #[error("the device is offline")]
    DeviceOffline,
    /// Message Pro refused (or could not be reached, every attempt, before the request left).
    #[error(transparent)]
    Platform(#[from] messagepro::Error),
    /// The job's stored payload cannot be read (a bug or a hand-edited row).
    #[error("unreadable job payload")]
    BadPayload,
    /// Failed as recorded by another worker (the stored reason: the platform's words or
    /// `send.error.<code>`).
    #[error("failed: {0}")]
    Recorded(String),
}

impl FailCause {
    /// The machine code of this failure.
    pub fn code(&self) -> &'static str {
        match self {
            FailCause::DeviceOffline => "device_offline",
            FailCause::Platform(e) => platform_error_code(e),
            FailCause::BadPayload => "internal",
            FailCause::Recorded(r) => match r.strip_prefix("send.error.") {
                Some(code) => known_code(code),
                None => "platform",
            },
        }
    }

    /// What is stored in the message's `platform_message`: the platform's words, or
    /// `send.error.<code>` for failures diagnosed here (the console translates those).
    pub fn stored(&self) -> String {
        match self {
            FailCause::Platform(e) if e.platform_message().is_some() => {
                e.platform_message().unwrap_or_default().to_owned()
            }
            FailCause::Recorded(r) => r.clone(),
            other => format!("send.error.{}", other.code()),
        }
    }
}

impl SendError {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            SendError::Forbidden => "forbidden",
            SendError::EmptyText => "empty_text",
            SendError::Invalid(code) => code,
            SendError::RateLimited { .. } => "rate_limited",
            SendError::Store(_) => "internal",
            SendError::OptedOut { .. } => "opted_out",
            SendError::Template(e) => e.code(),
            SendError::Failed { cause, .. } => cause.code(),
        }
    }

    /// The local message id, when the attempt was recorded.
    pub fn message_id(&self) -> Option<i64> {
        match self {
            SendError::Failed { message_id, .. } | SendError::OptedOut { message_id } => {
                Some(*message_id)
            }
            _ => None,
        }
    }

    /// The platform's exact words, when the platform answered.
    pub fn platform_message(&self) -> Option<&str> {
        match self {
            SendError::Failed {
                cause: FailCause::Platform(e),
                ..
            } => e.platform_message(),
            SendError::Failed {
                cause: FailCause::Recorded(r),
                ..
            } if !r.starts_with("send.error.") => Some(r),
            _ => None,
        }
    }
}

/// The machine code of a client error.
pub fn platform_error_code(e: &messagepro::Error) -> &'static str {
    use messagepro::Error as E;
    match e {
        E::NotEnoughCredits(_) => "not_enough_credits",
        E::DeviceNotFound(_) => "device_not_found",
        E::DeviceUnavailable(_) => "device_unavailable",
        E::GatewayNotFound(_) => "gateway_not_found",
        E::InvalidPhone(_) => "invalid_phone",
        E::MessageTooShort(_) => "too_short",
        E::MessageTooLong(_) => "too_long",
        E::NotSubscribed(_) => "not_subscribed",
        E::QuotaReached(_) => "quota_reached",
        E::WhatsAppAccountNotFound(_) => "wa_account_not_found",
        E::WhatsAppDisconnected(_) => "wa_disconnected",
        E::OtpInvalidOrExpired(_) => "otp_invalid",
        E::MissingSecret | E::InvalidSecret(_) => "secret",
        E::PermissionDenied(_) => "api_permission",
        E::InvalidParameters(_) => "invalid_parameters",
        E::UnknownEndpoint(_) => "unknown_endpoint",
        E::ContentRejected(_) => "content_rejected",
        E::ServiceNotInPackage(_) => "service_not_in_package",
        E::MessageNotFound(_) => "message_not_found",
        E::Transport { .. } | E::Timeout { .. } => "unreachable",
        E::InvalidInput(_) => "invalid_input",
        _ if e.platform_message().is_some() => "platform",
        _ => "unreachable",
    }
}

/// Every machine code a stored `send.error.<code>` can carry (the console has a sentence for
/// each, plus `platform`).
pub const KNOWN_CODES: &[&str] = &[
    "device_offline",
    "not_enough_credits",
    "device_not_found",
    "device_unavailable",
    "gateway_not_found",
    "invalid_phone",
    "too_short",
    "too_long",
    "not_subscribed",
    "quota_reached",
    "wa_account_not_found",
    "wa_disconnected",
    "otp_invalid",
    "secret",
    "api_permission",
    "invalid_parameters",
    "unreachable",
    "invalid_input",
    "internal",
    "not_on_platform",
    "deleted_on_platform",
    "unknown_endpoint",
    "content_rejected",
    "service_not_in_package",
    "message_not_found",
];

/// A stored `send.error.<code>` suffix as one of the known codes (anything else: `platform`).
fn known_code(code: &str) -> &'static str {
    KNOWN_CODES
        .iter()
        .copied()
        .find(|k| *k == code)
        .unwrap_or("platform")
}

#[cfg(test)]
mod tests {
    use super::*;
    use messagepro::Error as E;

    #[test]
    fn the_newer_builds_errors_have_their_own_known_codes() {
        for (words, code) in [
            ("Invalid API Endpoint!", "unknown_endpoint"),
            (
                "We detected inappropriate content in your message!",
                "content_rejected",
            ),
            (
                "Subscription has no permission to use SMS services!",
                "service_not_in_package",
            ),
            ("Message doesn't exist!", "message_not_found"),
        ] {
            let e = E::from_platform(400, words);
            assert_eq!(platform_error_code(&e), code, "{words}");
            assert_eq!(known_code(code), code);
            // refused at send: the platform's words are stored, the code is still known
            let cause = FailCause::Platform(e);
            assert_eq!(cause.stored(), words);
            assert_eq!(cause.code(), code);
        }
    }

    #[test]
    fn a_row_deleted_on_the_platform_reads_back_as_its_code() {
        let stored = crate::reconcile::DELETED_ON_PLATFORM;
        assert_eq!(
            FailCause::Recorded(stored.into()).code(),
            "deleted_on_platform"
        );
        assert_eq!(
            FailCause::Recorded("send.error.no_such_code".into()).code(),
            "platform"
        );
    }
}
