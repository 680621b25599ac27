//! OTP endpoints: `send/otp` and `get/otp` (verify).
//!
//! The platform returns the code in clear so the caller can keep its own binding (spec §3.2).
//! That code is a secret: [`OtpCode`] never shows it in `Debug`, and the call span records
//! neither the code nor the message.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::client::{Kind, Params};
use crate::error::Error;
use crate::{Client, Phone, Result, SmsRoute, wire};

/// Channel of an OTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OtpChannel {
    /// `type=sms` with a device or credits route (`priority` is not used by `send/otp`).
    Sms {
        /// Device or credits.
        route: SmsRoute,
    },
    /// `type=whatsapp` from a linked account.
    WhatsApp {
        /// WhatsApp account unique id.
        account: String,
        /// `true` sends `priority=1` (push now); `false` omits it (queued, platform default).
        priority: bool,
    },
}

/// `send/otp` request. The message must contain the `{{otp}}` placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendOtp {
    /// Recipient.
    pub phone: Phone,
    /// Text with `{{otp}}`, e.g. `Votre code : {{otp}}`.
    pub message: String,
    /// Lifetime in seconds (platform default 300).
    pub expire: Option<u32>,
    /// SMS or WhatsApp.
    pub channel: OtpChannel,
}

impl SendOtp {
    /// An OTP with the platform's default lifetime.
    pub fn new(phone: Phone, message: impl Into<String>, channel: OtpChannel) -> Self {
        Self {
            phone,
            message: message.into(),
            expire: None,
            channel,
        }
    }

    /// Sets the lifetime in seconds.
    pub fn expire(mut self, seconds: u32) -> Self {
        self.expire = Some(seconds);
        self
    }
}

/// A one-time code. `Debug` redacts it; use [`OtpCode::expose`] where it is really needed.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct OtpCode(#[serde(deserialize_with = "wire::uint")] u64);

impl OtpCode {
    /// The code as the user will type it (six digits).
    pub fn expose(&self) -> String {
        self.0.to_string()
    }
}

impl fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpCode([REDACTED])")
    }
}

/// `send/otp` answer data.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct OtpSent {
    /// Normalised recipient.
    #[serde(default, deserialize_with = "wire::string")]
    pub phone: String,
    /// The message with the code substituted (contains the code: treat as secret).
    #[serde(default, deserialize_with = "wire::html")]
    pub message: String,
    /// The code.
    pub otp: OtpCode,
}

impl fmt::Debug for OtpSent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtpSent")
            .field("phone", &self.phone)
            .field("message", &"[REDACTED]")
            .field("otp", &self.otp)
            .finish()
    }
}

fn has_placeholder(message: &str) -> bool {
    let compact: String = message.chars().filter(|c| !c.is_whitespace()).collect();
    compact.contains("{{otp}}")
}

impl Client {
    /// Sends a one-time code (`POST send/otp`). Never retried: the platform mints a live code
    /// even when the send later fails.
    ///
    /// ```no_run
    /// use messagepro::{OtpChannel, SendOtp, SmsRoute};
    /// # async fn demo(client: messagepro::Client) -> messagepro::Result<()> {
    /// let phone = client.parse_phone("621234567")?;
    /// let req = SendOtp::new(phone, "Votre code : {{otp}}", OtpChannel::Sms { route: SmsRoute::device("dev-1") });
    /// let sent = client.send_otp(&req).await?;
    /// # let _ = sent.otp.expose();
    /// # Ok(()) }
    /// ```
    pub async fn send_otp(&self, req: &SendOtp) -> Result<OtpSent> {
        if !has_placeholder(&req.message) {
            return Err(Error::InvalidInput(
                "the OTP message must contain the {{otp}} placeholder".into(),
            ));
        }
        let mut p = Params::new();
        p = match &req.channel {
            OtpChannel::Sms { .. } => p.add("type", "sms"),
            OtpChannel::WhatsApp { .. } => p.add("type", "whatsapp"),
        };
        p = p
            .add("phone", req.phone.e164())
            .add("message", &req.message)
            .opt("expire", req.expire);
        p = match &req.channel {
            OtpChannel::Sms { route } => route.push(p, false),
            OtpChannel::WhatsApp { account, priority } => {
                let p = p.add("account", account);
                if *priority { p.add("priority", 1) } else { p }
            }
        };
        let a = self.call("send/otp", Kind::Write, p).await?;
        self.data("send/otp", a.data)
    }

    /// Verifies a code (`get/otp`). `Ok(())` when it was live (it is now consumed);
    /// [`Error::OtpInvalidOrExpired`] otherwise. Not retried (a retry after a lost answer would
    /// report a consumed code as invalid). The platform does not bind codes to a phone number.
    ///
    /// ```no_run
    /// # async fn demo(client: messagepro::Client) -> messagepro::Result<()> {
    /// match client.verify_otp("483920").await {
    ///     Ok(()) => println!("verified"),
    ///     Err(messagepro::Error::OtpInvalidOrExpired(_)) => println!("wrong or expired code"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn verify_otp(&self, code: &str) -> Result<()> {
        let code = code.trim();
        if code.is_empty() {
            return Err(Error::InvalidInput("the OTP code is empty".into()));
        }
        self.call("get/otp", Kind::Action, Params::new().add("otp", code))
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_may_contain_spaces() {
        assert!(has_placeholder("Code: {{ otp }}"));
        assert!(!has_placeholder("Code: {otp}"));
    }

    #[test]
    fn debug_never_shows_the_code() {
        let sent: OtpSent = serde_json::from_value(serde_json::json!(
            {"phone": "+224621234567", "message": "Code: 483920", "otp": 483920}
        ))
        .unwrap();
        let dbg = format!("{sent:?}");
        assert!(!dbg.contains("483920"), "{dbg}");
        assert_eq!(sent.otp.expose(), "483920");
    }
}
