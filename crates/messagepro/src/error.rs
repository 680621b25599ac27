//! The one error type of the client, and the table that turns Message Pro's answers into it.
//!
//! Message Pro answers HTTP 200 for everything and puts the real result in the JSON `status`
//! and `message` fields (spec §1.4). Callers need two things from a failure: *what kind* of
//! failure it is (so a console can say "top up your credits" rather than echo a string), and the
//! *exact* platform wording (so nothing is lost). Every platform variant therefore carries a
//! [`PlatformError`] with the raw `status` and `message`, and the variant is chosen by matching
//! the message against the strings of spec §2 ([`Error::from_platform`]).
//!
//! The API secret travels as a query/form parameter, so anything that could echo a URL or a body
//! is scrubbed here: reqwest errors lose their URL (`without_url`) and body snippets have the
//! secret replaced before they are stored.

use std::fmt;
use std::time::Duration;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The `status` and exact `message` of a Message Pro answer that was not a success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformError {
    /// The JSON `status` field (400, 401, 403, 404, 500, …), not the HTTP status.
    pub status: i64,
    /// The JSON `message` field, verbatim.
    pub message: String,
}

impl fmt::Display for PlatformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\" (status {})", self.message, self.status)
    }
}

/// Everything that can go wrong when talking to Message Pro.
///
/// Platform answers are mapped to the specific variants below by their exact message; anything
/// unknown lands in [`Error::Platform`] (status 500) or [`Error::Other`]. Use
/// [`Error::status`] / [`Error::platform_message`] to get the raw answer back, and
/// [`Error::is_ambiguous`] to know whether a failed *send* may nevertheless have been accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No API secret was configured.
    #[error(
        "no Message Pro API secret is configured: set MESSAGEPRO_API_SECRET in .env or in the environment"
    )]
    MissingSecret,
    /// The platform does not know the secret (or the QR token).
    #[error("Message Pro rejected the API secret: {0}")]
    InvalidSecret(PlatformError),
    /// The API key lacks the permission this endpoint checks.
    #[error("the API key is not allowed to use this endpoint: {0}")]
    PermissionDenied(PlatformError),
    /// A parameter was missing or malformed (including bad media fields).
    #[error("Message Pro rejected the request parameters: {0}")]
    InvalidParameters(PlatformError),
    /// The platform build has no such endpoint (`Invalid API Endpoint!`): e.g. `get/sms.message`
    /// on a 3.3.8 build (spec Q21).
    #[error("this Message Pro build does not have the endpoint: {0}")]
    UnknownEndpoint(PlatformError),
    /// The newer build's content filter refused the text or the media (spec Q21).
    #[error("Message Pro's content filter refused the message: {0}")]
    ContentRejected(PlatformError),
    /// The newer build's per-package service check: the package excludes SMS, WhatsApp or
    /// USSD (spec Q21).
    #[error("the subscription package does not include this service: {0}")]
    ServiceNotInPackage(PlatformError),
    /// `get/sms.message` / `get/wa.message`: no such message for this account (spec Q21).
    #[error("the message does not exist on Message Pro: {0}")]
    MessageNotFound(PlatformError),
    /// The platform could not parse or validate a phone number.
    #[error("Message Pro rejected the phone number: {0}")]
    InvalidPhone(PlatformError),
    /// The message is shorter than the platform's minimum.
    #[error("the message is too short for Message Pro: {0}")]
    MessageTooShort(PlatformError),
    /// The message is longer than the platform's maximum.
    #[error("the message is too long for Message Pro: {0}")]
    MessageTooLong(PlatformError),
    /// The account has no subscription package.
    #[error("the account is not subscribed to a package that allows this: {0}")]
    NotSubscribed(PlatformError),
    /// A package, device, chat, contact, USSD or WhatsApp-account limit has been reached.
    #[error("a sending or package limit has been reached: {0}")]
    QuotaReached(PlatformError),
    /// The account's credit balance does not cover the price.
    #[error("the account does not have enough credits: {0}")]
    NotEnoughCredits(PlatformError),
    /// The Android device (own or partner) does not exist for this account.
    #[error("the device does not exist: {0}")]
    DeviceNotFound(PlatformError),
    /// The gateway id is unknown.
    #[error("the gateway does not exist: {0}")]
    GatewayNotFound(PlatformError),
    /// The WhatsApp account unique id is not one of this account's.
    #[error("the WhatsApp account does not exist: {0}")]
    WhatsAppAccountNotFound(PlatformError),
    /// The partner device is not shared, or it is the caller's own device.
    #[error("the device cannot be used for this send: {0}")]
    DeviceUnavailable(PlatformError),
    /// The WhatsApp account is not connected to its server.
    #[error("the WhatsApp account is not connected: {0}")]
    WhatsAppDisconnected(PlatformError),
    /// The OTP code is not a live code of this API secret.
    #[error("the one-time code is invalid or has expired: {0}")]
    OtpInvalidOrExpired(PlatformError),
    /// A platform-side failure (status 500) with no more specific variant.
    #[error("Message Pro failed on its side: {0}")]
    Platform(PlatformError),
    /// Any other platform answer that is not a success.
    #[error("Message Pro refused the request: {0}")]
    Other(PlatformError),
    /// The request could not be sent or the answer could not be read.
    /// (`Display` does not repeat the source: print the chain, e.g. anyhow's `{:#}`.)
    #[error("could not reach Message Pro")]
    Transport {
        /// The underlying error, with its URL removed (it would contain the secret).
        #[source]
        source: reqwest::Error,
        /// Whether the request may have reached the platform.
        ambiguous: bool,
    },
    /// No answer arrived in time.
    #[error("Message Pro did not answer within {after:?}")]
    Timeout {
        /// The configured timeout.
        after: Duration,
        /// Whether the request may have reached the platform (false for connect timeouts).
        ambiguous: bool,
    },
    /// The answer was not the JSON envelope the API promises (e.g. an HTML page from a proxy).
    #[error(
        "Message Pro sent an answer that could not be understood (HTTP {http_status}): {reason}; body starts with: {snippet}"
    )]
    Decode {
        /// HTTP status line of the answer.
        http_status: u16,
        /// What went wrong while decoding.
        reason: String,
        /// The first characters of the body, with the secret removed.
        snippet: String,
    },
    /// The request was rejected before it was sent (client-side validation).
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

impl Error {
    /// Maps a non-success envelope to the most specific variant (spec §2 message strings).
    pub fn from_platform(status: i64, message: impl Into<String>) -> Self {
        let message = message.into();
        let p = PlatformError { status, message };
        let m = p.message.as_str();
        match m {
            "Invalid API secret supplied!" | "Invalid token supplied!" => Self::InvalidSecret(p),
            "This API key doesn't have permission to use this endpoint!"
            | "Insufficient Permissions!" => Self::PermissionDenied(p),
            "Invalid API Endpoint!" => Self::UnknownEndpoint(p),
            "We detected inappropriate content in your message!"
            | "We detected inappropriate content in your media!" => Self::ContentRejected(p),
            "Subscription has no permission to use SMS services!"
            | "Subscription has no permission to use WhatsApp services!"
            | "Subscription has no permission to use Android USSD service!" => {
                Self::ServiceNotInPackage(p)
            }
            "Message doesn't exist!" => Self::MessageNotFound(p),
            "Invalid Parameters!"
            | "Sim parameter must be an integer value!"
            | "Priority parameter must be an integer value!"
            | "You provided an invalid media url!"
            | "Please declare the media type!"
            | "Invalid media file!"
            | "You provided an invalid document url!"
            | "Please declare the document type!"
            | "Invalid Document Type!"
            | "Invalid Document File!"
            | "Contact name is too short!"
            | "Group name is too short!"
            | "Campaign name is too short!"
            | "QR string is too short to be valid!" => Self::InvalidParameters(p),
            "Invalid phone number!" => Self::InvalidPhone(p),
            "Message is too short!"
            | "OTP message is too short!"
            | "Chat message is too short!" => Self::MessageTooShort(p),
            "Message is too long!" | "OTP message is too long!" | "Chat message is too long!" => {
                Self::MessageTooLong(p)
            }
            "Account is not subscribed to any premium package!"
            | "You are not subscribed to any premium package!" => Self::NotSubscribed(p),
            "Maximum allowed number of sent messages has been reached!"
            | "The daily allowed messages has been reached for this device, please try again later!"
            | "The monthly allowed messages has been reached for this device, please try again later!"
            | "You have reached the maximum sent messages for your current package!"
            | "You have reached the maximum number of allowed chats!"
            | "Maximum number of USSD requests has been reached!"
            | "You have reached the maximum allowed contacts!"
            | "You have reached the maximum allowed WhatsApp accounts for your package!"
            | "No chats were queued. Please check the sending limit of your package!" => {
                Self::QuotaReached(p)
            }
            "Not enough credits to send this message!" => Self::NotEnoughCredits(p),
            "Device doesn't exist!" => Self::DeviceNotFound(p),
            "Specified gateway doesn't exist!" => Self::GatewayNotFound(p),
            "WhatsApp account doesn't exist!" => Self::WhatsAppAccountNotFound(p),
            "Device is not available!"
            | "You cannot send messages with credits using your own devices!" => {
                Self::DeviceUnavailable(p)
            }
            "WhatsApp account is disconnected!" | "WhatsApp account is not connected!" => {
                Self::WhatsAppDisconnected(p)
            }
            "OTP is invalid or expired!" => Self::OtpInvalidOrExpired(p),
            _ if status >= 500 => Self::Platform(p),
            _ => Self::Other(p),
        }
    }

    /// The platform answer behind this error, if it came from the platform.
    pub fn platform(&self) -> Option<&PlatformError> {
        match self {
            Self::InvalidSecret(p)
            | Self::PermissionDenied(p)
            | Self::InvalidParameters(p)
            | Self::UnknownEndpoint(p)
            | Self::ContentRejected(p)
            | Self::ServiceNotInPackage(p)
            | Self::MessageNotFound(p)
            | Self::InvalidPhone(p)
            | Self::MessageTooShort(p)
            | Self::MessageTooLong(p)
            | Self::NotSubscribed(p)
            | Self::QuotaReached(p)
            | Self::NotEnoughCredits(p)
            | Self::DeviceNotFound(p)
            | Self::GatewayNotFound(p)
            | Self::WhatsAppAccountNotFound(p)
            | Self::DeviceUnavailable(p)
            | Self::WhatsAppDisconnected(p)
            | Self::OtpInvalidOrExpired(p)
            | Self::Platform(p)
            | Self::Other(p) => Some(p),
            _ => None,
        }
    }

    /// The JSON `status` of the platform answer, if any.
    pub fn status(&self) -> Option<i64> {
        self.platform().map(|p| p.status)
    }

    /// The exact platform `message`, if any.
    pub fn platform_message(&self) -> Option<&str> {
        self.platform().map(|p| p.message.as_str())
    }

    /// True when the request may have reached Message Pro even though no usable answer came
    /// back: a timeout or broken connection after the request was sent, or an answer that was not
    /// the API's JSON (a proxy error page). A sender must reconcile (look the message up in the
    /// lists) instead of sending again.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            Self::Transport { ambiguous, .. } | Self::Timeout { ambiguous, .. } => *ambiguous,
            Self::Decode { .. } => true,
            _ => false,
        }
    }

    /// True when the request certainly did not reach the platform (connection refused, DNS or
    /// TLS failure, connect timeout): a send may be retried without risk of a duplicate.
    pub fn is_certainly_not_sent(&self) -> bool {
        matches!(
            self,
            Self::Transport {
                ambiguous: false,
                ..
            } | Self::Timeout {
                ambiguous: false,
                ..
            }
        )
    }

    /// True for transport failures that a read may safely retry (connect errors, timeouts).
    pub(crate) fn is_retryable_read(&self) -> bool {
        matches!(self, Self::Transport { .. } | Self::Timeout { .. })
    }

    /// Wraps a reqwest error: strips the URL (it carries the secret) and classifies timeouts.
    pub(crate) fn from_reqwest(
        e: reqwest::Error,
        timeout: Duration,
        connect_timeout: Duration,
    ) -> Self {
        let connect = e.is_connect();
        let builder = e.is_builder();
        if e.is_timeout() {
            return Self::Timeout {
                after: if connect { connect_timeout } else { timeout },
                ambiguous: !connect,
            };
        }
        Self::Transport {
            source: e.without_url(),
            ambiguous: !(connect || builder),
        }
    }
}

/// Replaces every occurrence of `secret` (raw and form-encoded) in `text` and truncates it.
pub(crate) fn redact_snippet(text: &str, secret: &str, max_chars: usize) -> String {
    let mut s: String = text.chars().take(max_chars).collect();
    if !secret.is_empty() {
        s = s.replace(secret, "[REDACTED]");
        let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        if encoded != secret {
            s = s.replace(&encoded, "[REDACTED]");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_500_messages_become_platform_errors_and_others_become_other() {
        assert!(matches!(
            Error::from_platform(500, "Something went wrong!"),
            Error::Platform(_)
        ));
        assert!(matches!(
            Error::from_platform(404, "Specified shortener doesn't exist!"),
            Error::Other(_)
        ));
    }

    #[test]
    fn display_keeps_the_exact_platform_message() {
        let e = Error::from_platform(403, "Not enough credits to send this message!");
        assert!(
            e.to_string()
                .contains("Not enough credits to send this message!")
        );
        assert_eq!(e.status(), Some(403));
        assert!(!e.is_ambiguous());
    }

    #[test]
    fn redaction_removes_raw_and_encoded_secrets() {
        let s = redact_snippet("x secret=a+b/c y a%2Bb%2Fc", "a+b/c", 200);
        assert!(!s.contains("a+b/c"));
        assert!(!s.contains("a%2Bb%2Fc"));
    }
}
