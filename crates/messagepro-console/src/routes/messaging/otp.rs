//! `/messaging/otp/...` — sending one-time codes (SMS through an own device, or WhatsApp through
//! a linked account) and verifying them. The service is `messagepro_core::otp`: the code is
//! drawn by the worker from a CSPRNG, only its keyed hash is stored (table `otp_codes`), it is
//! bound to phone + purpose (`console` here), single use, 5 attempts, resend cooldown and
//! per-phone / per-IP limits — all decided atomically in the database. This file parses the
//! form, calls core and renders; the code is never shown, logged or put in a URL.

use askama::Template;
use axum::Router;
use axum::extract::RawForm;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use http::StatusCode;
use messagepro::{OtpChannel, Phone, Sim, SmsRoute};
use messagepro_core::otp::{MAX_LIFETIME_S, MIN_LIFETIME_S, OtpRequest, VerifyError};
use messagepro_store::{Channel, Message, MessageFilter, MessageStatus, Page};

use crate::app::AppState;
use crate::error::AppError;
use crate::permissions::Permission;
use crate::routes::{Access, RouteRule};
use crate::send::SendError;
use crate::ui::{PageCtx, Ui, flash, render};

const OTP: Access = Access::Perm(Permission::SendOtp);

pub const RULES: &[RouteRule] = &[
    RouteRule::get("/messaging/otp/send", OTP),
    RouteRule::post("/messaging/otp/send", OTP),
    RouteRule::get("/messaging/otp/verify", OTP),
    RouteRule::post("/messaging/otp/verify", OTP),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/messaging/otp/send", get(send_form).post(send))
        .route("/messaging/otp/verify", get(verify_form).post(verify))
}

/// Default lifetime of a code, seconds.
pub const DEFAULT_EXPIRE: u32 = 300;
/// Longest lifetime accepted, seconds.
pub const MAX_EXPIRE: u32 = MAX_LIFETIME_S;
/// Shortest lifetime accepted, seconds (a shorter code cannot be typed in time).
pub const MIN_EXPIRE: u32 = MIN_LIFETIME_S;
/// Longest OTP message.
const MAX_MESSAGE: usize = messagepro_core::otp::MAX_TEMPLATE;
/// What the console's codes prove (a code sent here verifies only here).
pub const PURPOSE: &str = "console";

/// What the user typed.
#[derive(Debug, Clone, Default)]
pub struct OtpForm {
    pub phone: String,
    /// `sms` or `whatsapp`.
    pub channel: String,
    pub device: String,
    pub sim: String,
    pub account: String,
    pub message: String,
    pub expire: String,
    /// One-time token of the form (double-submit guard).
    pub nonce: String,
}

impl OtpForm {
    fn from_body(body: &[u8]) -> OtpForm {
        let mut f = OtpForm::default();
        for (k, v) in form_urlencoded::parse(body) {
            let v = v.into_owned();
            match k.as_ref() {
                "phone" => f.phone = v.trim().chars().take(40).collect(),
                "channel" => f.channel = v,
                "device" => f.device = v.trim().to_owned(),
                "sim" => f.sim = v,
                "account" => f.account = v.trim().to_owned(),
                "message" => f.message = v.chars().take(MAX_MESSAGE + 1).collect(),
                "expire" => f.expire = v.trim().to_owned(),
                "nonce" => f.nonce = v.trim().to_owned(),
                _ => {}
            }
        }
        f
    }
    fn is_whatsapp(&self) -> bool {
        self.channel == "whatsapp"
    }
}

pub use messagepro_core::otp::has_placeholder;

/// The lifetime in seconds, or `None` when outside [`MIN_EXPIRE`]..=[`MAX_EXPIRE`].
pub fn parse_expire(s: &str) -> Option<u32> {
    if s.trim().is_empty() {
        return Some(DEFAULT_EXPIRE);
    }
    s.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (MIN_EXPIRE..=MAX_EXPIRE).contains(n))
}

/// A picker option: (value, label, usable).
#[derive(Debug, Clone)]
pub struct Opt {
    pub value: String,
    pub label: String,
    pub usable: bool,
}

#[derive(Template)]
#[template(path = "messaging/otp_send.html")]
struct SendPage {
    page: PageCtx,
    form: OtpForm,
    devices: Vec<Opt>,
    accounts: Vec<Opt>,
    platform_error: Option<String>,
    error: Option<String>,
    /// Latest OTP sends with their translated platform note.
    recent: Vec<(Message, Option<String>)>,
    min: u32,
    max: u32,
    nonce: String,
}

async fn send_page(ui: &Ui, form: OtpForm, error: Option<String>) -> Result<Response, AppError> {
    let mut platform_error = None;
    let reason = |e: &messagepro::Error| {
        ui.tf(
            &crate::send::platform_error_key(e),
            &[("detail", e.platform_message().unwrap_or(""))],
        )
    };
    let devices = match ui.state.core.devices_read().await.map(|r| r.value) {
        Ok(d) => d
            .iter()
            .map(|d| Opt {
                value: d.unique.clone(),
                label: format!(
                    "{} — {}",
                    d.name,
                    ui.t(if d.online {
                        "otp.online"
                    } else {
                        "otp.offline"
                    })
                ),
                usable: d.online,
            })
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot list devices");
            platform_error = Some(reason(&e));
            Vec::new()
        }
    };
    let accounts = match ui
        .state
        .core
        .whatsapp_accounts_read()
        .await
        .map(|r| r.value)
    {
        Ok(a) => a
            .iter()
            .map(|a| {
                let connected = a.status == messagepro::WaAccountStatus::Connected;
                Opt {
                    value: a.unique.clone(),
                    label: format!(
                        "{} — {}",
                        a.phone,
                        ui.t(if connected {
                            "otp.connected"
                        } else {
                            "otp.disconnected"
                        })
                    ),
                    usable: connected,
                }
            })
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot list WhatsApp accounts");
            platform_error.get_or_insert_with(|| reason(&e));
            Vec::new()
        }
    };
    let recent = ui
        .state
        .store
        .list_messages(
            &MessageFilter {
                channel: Some(Channel::Otp),
                ..Default::default()
            },
            Page::first(10),
        )
        .await?
        .into_iter()
        .map(|m| {
            let note = m
                .platform_message
                .as_deref()
                .map(|pm| crate::send::describe_stored_message(&ui.state.i18n, ui.lang, pm));
            (m, note)
        })
        .collect();
    render(&SendPage {
        page: ui.page("otp.send_title"),
        form,
        devices,
        accounts,
        platform_error: platform_error
            .map(|r| ui.tf("otp.platform_unavailable", &[("reason", &r)])),
        error,
        recent,
        min: MIN_EXPIRE,
        max: MAX_EXPIRE,
        nonce: ui.form_nonce().await?,
    })
}

fn unprocessable(mut r: Response) -> Response {
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    r
}

#[tracing::instrument(skip_all)]
async fn send_form(ui: Ui) -> Result<Response, AppError> {
    let form = OtpForm {
        channel: "sms".into(),
        sim: "1".into(),
        message: ui.t("otp.default_message"),
        expire: DEFAULT_EXPIRE.to_string(),
        ..Default::default()
    };
    send_page(&ui, form, None).await
}

#[tracing::instrument(skip_all)]
async fn send(ui: Ui, RawForm(body): RawForm) -> Result<Response, AppError> {
    let form = OtpForm::from_body(&body);
    let fail = |msg: String, form: OtpForm| {
        let ui = &ui;
        async move { send_page(ui, form, Some(msg)).await.map(unprocessable) }
    };
    let Ok(phone) = Phone::parse(&form.phone, &ui.state.settings.default_country) else {
        let msg = ui.tf("otp.error.invalid_phone", &[("phone", &form.phone)]);
        return fail(msg, form).await;
    };
    if !has_placeholder(&form.message) {
        return fail(ui.t("otp.error.placeholder"), form).await;
    }
    if form.message.chars().count() > MAX_MESSAGE {
        return fail(ui.t("otp.error.too_long"), form).await;
    }
    let Some(expire) = parse_expire(&form.expire) else {
        return fail(ui.t("otp.error.expire"), form).await;
    };
    let channel = if form.is_whatsapp() {
        if form.account.is_empty() {
            return fail(ui.t("otp.error.account_required"), form).await;
        }
        OtpChannel::WhatsApp {
            account: form.account.clone(),
            priority: false,
        }
    } else {
        if form.device.is_empty() {
            return fail(ui.t("otp.error.device_required"), form).await;
        }
        OtpChannel::Sms {
            route: SmsRoute::Devices {
                device: form.device.clone(),
                sim: if form.sim == "2" { Sim::Two } else { Sim::One },
                priority: false,
            },
        }
    };
    let wait = ui.state.core.otp_cooldown_left(&phone, PURPOSE).await?;
    if wait > 0 {
        let msg = ui.tn("otp.error.cooldown", wait, &[]);
        return fail(msg, form).await;
    }
    if !ui.use_nonce(&form.nonce).await? {
        tracing::info!("OTP form submitted twice (or without its token): ignored");
        flash(&ui.session, "error", ui.t("sms.send.duplicate")).await?;
        return Ok(Redirect::to("/messaging/otp/send").into_response());
    }
    let req = OtpRequest {
        phone: phone.clone(),
        purpose: PURPOSE.to_owned(),
        template: form.message.clone(),
        channel,
        lifetime_s: expire,
    };
    match ui.state.core.otp_send(&ui.actor()?, req).await {
        Ok(outcome) => {
            let key = if outcome.status == MessageStatus::Unknown {
                "otp.sent_unknown"
            } else {
                "otp.sent"
            };
            flash(
                &ui.session,
                "success",
                ui.tf(
                    key,
                    &[("phone", phone.e164()), ("seconds", &expire.to_string())],
                ),
            )
            .await?;
            Ok(Redirect::to("/messaging/otp/verify").into_response())
        }
        Err(SendError::Forbidden) => Err(AppError::Forbidden),
        Err(SendError::Store(e)) => Err(e.into()),
        Err(SendError::RateLimited { retry_after_ms }) => {
            let secs = (retry_after_ms + 999) / 1000;
            fail(ui.tn("otp.error.cooldown", secs, &[]), form).await
        }
        Err(e) => {
            let msg = crate::send::user_message(&e, &ui.state.i18n, ui.lang);
            fail(msg, form).await
        }
    }
}

// ----- verify -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "messaging/otp_verify.html")]
struct VerifyPage {
    page: PageCtx,
    phone: String,
    /// `verified` or `rejected` after an attempt.
    result: Option<&'static str>,
    message: Option<String>,
}

#[tracing::instrument(skip_all)]
async fn verify_form(ui: Ui) -> Result<Response, AppError> {
    render(&VerifyPage {
        page: ui.page("otp.verify_title"),
        phone: String::new(),
        result: None,
        message: None,
    })
}

#[tracing::instrument(skip_all)]
async fn verify(ui: Ui, RawForm(body): RawForm) -> Result<Response, AppError> {
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let get = |k: &str| {
        form.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let phone_in: String = get("phone").chars().take(40).collect();
    let code = get("code");
    let answer = |result: &'static str, key: &str, status: StatusCode| {
        let msg = ui.t(key);
        let mut r = render(&VerifyPage {
            page: ui.page("otp.verify_title"),
            phone: phone_in.clone(),
            result: Some(result),
            message: Some(msg),
        })?;
        *r.status_mut() = status;
        Ok::<Response, AppError>(r)
    };
    let Ok(phone) = Phone::parse(&phone_in, &ui.state.settings.default_country) else {
        return answer(
            "rejected",
            "otp.error.invalid_phone_verify",
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    if !(4..=10).contains(&code.len()) || !code.chars().all(|c| c.is_ascii_digit()) {
        return answer(
            "rejected",
            "otp.error.code_format",
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    match ui
        .state
        .core
        .otp_verify(&ui.actor()?, &phone, PURPOSE, &code)
        .await
    {
        Ok(()) => answer("verified", "otp.verified", StatusCode::OK),
        Err(VerifyError::Locked) => answer("rejected", "otp.locked", StatusCode::TOO_MANY_REQUESTS),
        Err(VerifyError::Invalid { .. } | VerifyError::NoCode) => {
            answer("rejected", "otp.invalid", StatusCode::OK)
        }
        Err(VerifyError::Forbidden) => Err(AppError::Forbidden),
        Err(VerifyError::Store(e)) => Err(AppError::Internal(anyhow::anyhow!(e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_placeholder_is_required_and_may_hold_spaces() {
        assert!(has_placeholder("Code : {{otp}}"));
        assert!(has_placeholder("Code : {{ otp }}"));
        assert!(!has_placeholder("Code : {otp}"));
        assert!(!has_placeholder("Code : 123456"));
    }

    #[test]
    fn expiry_defaults_to_300_and_stops_at_600() {
        assert_eq!(parse_expire(""), Some(300));
        assert_eq!(parse_expire("600"), Some(600));
        assert_eq!(parse_expire("601"), None);
        assert_eq!(parse_expire("5"), None);
        assert_eq!(parse_expire("abc"), None);
    }
}
