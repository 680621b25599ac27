//! The console's side of sending: the domain lives in `messagepro-core` (the send entry point,
//! the outbox, reconciliation, OTP); this module only turns core's machine codes into sentences
//! in the user's language (keys `send.error.<code>` in `locales/*.toml`) and maps the logged-in
//! user to a core [`Actor`].

pub use messagepro_core::campaign::CampaignRequest;
pub use messagepro_core::recipients;
pub use messagepro_core::send::{SendChannel, SendOutcome, SendRequest};
pub use messagepro_core::{Actor, FailCause, SendError};

use crate::guard::CurrentUser;
use crate::i18n::{I18n, Lang};

impl CurrentUser {
    /// This user as the author of a core request (`ip`: the client address, for the audit).
    pub fn actor(&self, ip: Option<String>) -> Actor {
        Actor::User {
            id: self.id,
            username: self.username.clone(),
            permissions: self.permissions.clone(),
            ip,
        }
    }
}

/// The translation key of a send error (`send.error.*`).
pub fn message_key(e: &SendError) -> String {
    format!("send.error.{}", e.code())
}

/// A sentence for the user, in `lang`. Unrecognised platform answers quote the platform's
/// message (never internals: transport errors and secrets are not shown).
pub fn user_message(e: &SendError, i18n: &I18n, lang: Lang) -> String {
    use messagepro_core::template::TemplateError;
    let detail = match e {
        SendError::Template(TemplateError::UnknownVariable(v))
        | SendError::Template(TemplateError::Missing { variable: v }) => format!("{{{{{v}}}}}"),
        _ => e.platform_message().unwrap_or("").to_owned(),
    };
    i18n.tf(lang, &message_key(e), &[("detail", &detail)])
}

/// What a history page shows for a stored `platform_message`: the platform's own words as they
/// are, or — for skips (`skip.opted_out`) and failures diagnosed here (stored as a `send.error.*` key: device offline,
/// platform unreachable, not found on the platform) — the sentence in the user's language.
pub fn describe_stored_message(i18n: &I18n, lang: Lang, stored: &str) -> String {
    if stored.starts_with("send.error.") || stored.starts_with("skip.") {
        i18n.tf(lang, stored, &[("detail", "")])
    } else {
        stored.to_owned()
    }
}

/// The translation key for a client error (`send.error.*`).
pub fn platform_error_key(e: &messagepro::Error) -> String {
    format!(
        "send.error.{}",
        messagepro_core::error::platform_error_code(e)
    )
}
