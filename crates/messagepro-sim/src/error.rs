//! [`SimError`]: why a control call (a [`crate::Shared`] method or a `/_sim/*` request) was
//! refused. The control API answers it as HTTP 400 `{"error": "<Display>"}` (404 for an unknown
//! control path); the `/api/*` endpoints never use it (they answer the platform's envelope).

use http::StatusCode;

/// A refused control call. The `Display` text is the `error` field of the `/_sim/*` answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// No device has the given unique id.
    #[error("unknown device")]
    UnknownDevice,
    /// No device given and the demo user has none (e.g. patched away).
    #[error("no device")]
    NoDevice,
    /// No WhatsApp account has the given unique id.
    #[error("unknown WhatsApp account")]
    UnknownWaAccount,
    /// No WhatsApp account given and the demo user has none.
    #[error("no WhatsApp account")]
    NoWaAccount,
    /// The QR token of `wa/scan` was never handed out (or the simulator was reset since).
    #[error("unknown token")]
    UnknownToken,
    /// The API key that created the QR token was deleted meanwhile.
    #[error("the key that created the token is gone")]
    TokenKeyGone,
    /// Inbound SMS dropped: the package's receive quota is full.
    #[error("receive quota of the package is full")]
    ReceiveQuotaFull,
    /// Inbound chat dropped: the package's WhatsApp receive quota is full.
    #[error("WhatsApp receive quota of the package is full")]
    WaReceiveQuotaFull,
    /// Notification dropped: the package's notification quota is full.
    #[error("notification quota of the package is full")]
    NotificationQuotaFull,
    /// The merged world does not deserialise (world left unchanged).
    #[error("invalid platform patch: {0}")]
    InvalidPlatformPatch(String),
    /// The merged quota counters do not deserialise (counters left unchanged).
    #[error("invalid quota patch: {0}")]
    InvalidQuotaPatch(String),
    /// The `/_sim/faults` body is not a fault description.
    #[error("invalid faults: {0}")]
    InvalidFaults(String),
    /// A required control field is missing or has the wrong JSON type.
    #[error("`{field}` ({kind}) is required")]
    MissingField {
        field: &'static str,
        /// The JSON type expected: `string`, `integer`, `bool`, `number`.
        kind: &'static str,
    },
    /// The request body is not JSON.
    #[error("JSON body expected: {0}")]
    BadJson(String),
    /// No control endpoint at this path (HTTP 404).
    #[error("unknown control endpoint")]
    UnknownEndpoint,
}

impl SimError {
    /// The HTTP status `/_sim/*` answers this error with: 404 for an unknown control path,
    /// 400 otherwise.
    pub fn http_status(&self) -> StatusCode {
        match self {
            SimError::UnknownEndpoint => StatusCode::NOT_FOUND,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// A missing or ill-typed control field.
    pub(crate) fn field(field: &'static str, kind: &'static str) -> Self {
        SimError::MissingField { field, kind }
    }
}
