//! `/messaging/otp/...` — sending one-time codes (SMS through an own device, or WhatsApp through
//! a linked account) and verifying them.
//!
//! **The code is a secret.** Message Pro returns it in clear (`data.otp`) so the caller can bind
//! it; the console never shows, logs, stores or redirects with it. The send goes through the one
//! send path ([`crate::send::SendService::submit`]), which records the *template* (`{{otp}}`), not
//! the text with the code.
//!
//! Why a local binding: the platform's `get/otp` accepts any live code of the API key, whatever
//! the phone — a customer could read out someone else's code. So at send time the console keeps
//! an audit entry `otp.issue` (target: the phone; detail: lifetime and a keyed fingerprint
//! HMAC-SHA256(key derived from the API secret, phone ‖ code), written with letters only, so the
//! digits of a code never appear in the log). Verification first checks the phone + code against
//! a live, unused fingerprint locally (5 wrong attempts per code, then a new code is needed), and
//! only then asks the platform, which consumes the code. Every attempt is audited (`otp.verify`),
//! and an attempt that reached the platform carries the fingerprint, which marks it used.
//! The audit log is the store for this because it is already append-only, shared by every console
//! instance (PostgreSQL) and needs no new table.

use askama::Template;
use axum::Router;
use axum::extract::RawForm;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use http::StatusCode;
use messagepro::{OtpChannel, Phone, Sim, SmsRoute};
use messagepro_store::{AuditFilter, Channel, Message, MessageFilter, Outcome, Page};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::app::AppState;
use crate::error::AppError;
use crate::login::audit;
use crate::permissions::Permission;
use crate::routes::{Access, RouteRule};
use crate::send::{SendChannel, SendError, SendRequest};
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
pub const MAX_EXPIRE: u32 = 600;
/// Shortest lifetime accepted, seconds (a shorter code cannot be typed in time).
pub const MIN_EXPIRE: u32 = 30;
/// Wrong codes accepted for one phone before a new code is needed.
pub const MAX_ATTEMPTS: usize = 5;
/// Seconds before another code may be sent to the same phone.
pub const RESEND_COOLDOWN: i64 = 30;
/// Longest OTP message.
const MAX_MESSAGE: usize = 500;

const ISSUE: &str = "otp.issue";
const VERIFY: &str = "otp.verify";

// ----- binding ------------------------------------------------------------------------------

fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for i in 0..64 {
        ipad[i] ^= k[i];
        opad[i] ^= k[i];
    }
    let inner = Sha256::new()
        .chain_update(ipad)
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(opad)
        .chain_update(inner)
        .finalize()
        .into()
}

/// The keyed fingerprint of (phone, code), as 64 letters `a`–`p` (no digits, so a code can never
/// show up inside it).
fn fingerprint(state: &AppState, phone: &Phone, code: &str) -> String {
    let secret = state
        .settings
        .api_secret
        .as_ref()
        .map(|s| s.expose_secret().to_owned())
        .unwrap_or_default();
    let key = Sha256::new()
        .chain_update(b"messagepro-console otp binding v1\0")
        .chain_update(secret.as_bytes())
        .finalize();
    let mac = hmac_sha256(
        &key,
        format!("{}\n{}", phone.e164(), code.trim()).as_bytes(),
    );
    mac.iter()
        .flat_map(|b| [b >> 4, b & 0x0f])
        .map(|n| (b'a' + n) as char)
        .collect()
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// One issued code: (issued at, lifetime ms, fingerprint).
#[derive(Debug, Clone)]
struct Issued {
    /// Audit entry id (ids grow with time even when the clock stands still).
    id: i64,
    at_ms: i64,
    ttl_ms: i64,
    h: String,
}

fn parse_issue(detail: &str) -> Option<Issued> {
    let mut ttl = None;
    let mut h = None;
    for part in detail.split_whitespace() {
        if let Some(v) = part.strip_prefix("ttl=") {
            ttl = v.parse::<i64>().ok();
        } else if let Some(v) = part.strip_prefix("h=") {
            h = Some(v.to_owned());
        }
    }
    Some(Issued {
        id: 0,
        at_ms: 0,
        ttl_ms: ttl? * 1000,
        h: h?,
    })
}

fn fingerprint_of(detail: &str) -> Option<&str> {
    detail.split_whitespace().find_map(|p| p.strip_prefix("h="))
}

// ----- send ---------------------------------------------------------------------------------

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
                _ => {}
            }
        }
        f
    }
    fn is_whatsapp(&self) -> bool {
        self.channel == "whatsapp"
    }
}

/// Whether `message` holds the `{{otp}}` placeholder (spaces inside the braces allowed, as the
/// platform accepts them).
pub fn has_placeholder(message: &str) -> bool {
    let compact: String = message.chars().filter(|c| !c.is_whitespace()).collect();
    compact.contains("{{otp}}")
}

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
}

async fn send_page(ui: &Ui, form: OtpForm, error: Option<String>) -> Result<Response, AppError> {
    let api = &ui.state.api;
    let mut platform_error = None;
    let reason = |e: &messagepro::Error| {
        ui.tf(
            crate::send::platform_error_key(e),
            &[("detail", e.platform_message().unwrap_or(""))],
        )
    };
    let devices = match api.all_devices().await {
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
    let accounts = match api.all_whatsapp_accounts().await {
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
    let wait = cooldown_left(&ui.state, phone.e164()).await?;
    if wait > 0 {
        let msg = ui.tf("otp.error.cooldown", &[("seconds", &wait.to_string())]);
        return fail(msg, form).await;
    }
    let user = ui.user()?.clone();
    let req = SendRequest {
        channel: SendChannel::Otp {
            channel,
            expire: Some(expire),
        },
        recipient: phone.clone(),
        text: form.message.clone(),
        campaign: None,
    };
    match ui.state.sender().submit(&user, req).await {
        Ok(outcome) => {
            match outcome.otp {
                Some(sent) => {
                    let h = fingerprint(&ui.state, &phone, &sent.otp.expose());
                    drop(sent);
                    audit(
                        &ui.state,
                        Some((user.id, &user.username)),
                        ISSUE,
                        Some(phone.e164().to_owned()),
                        None,
                        Outcome::Success,
                        Some(format!("ttl={expire} h={h}")),
                    )
                    .await;
                }
                // ambiguous: the platform may have minted a code we never saw; it cannot be
                // verified here, the user sends a new one
                None => tracing::warn!("OTP send outcome unknown: no code to bind"),
            }
            flash(
                &ui.session,
                "success",
                ui.tf(
                    "otp.sent",
                    &[("phone", phone.e164()), ("seconds", &expire.to_string())],
                ),
            )
            .await?;
            Ok(Redirect::to("/messaging/otp/verify").into_response())
        }
        Err(SendError::Forbidden) => Err(AppError::Forbidden),
        Err(SendError::Store(e)) => Err(e.into()),
        Err(e) => {
            let msg = e.user_message(&ui.state.i18n, ui.lang);
            fail(msg, form).await
        }
    }
}

/// Seconds left before `phone` may receive another code (0: now).
async fn cooldown_left(state: &AppState, phone: &str) -> Result<i64, AppError> {
    let now = state.clock.now_ms();
    let since = now - RESEND_COOLDOWN * 1000;
    let recent = state
        .store
        .list_audit(
            &AuditFilter {
                action: Some(ISSUE.into()),
                from_ms: Some(since),
                ..Default::default()
            },
            Page::first(5000),
        )
        .await?;
    Ok(recent
        .iter()
        .filter(|e| e.target.as_deref() == Some(phone))
        .map(|e| (e.at_ms + RESEND_COOLDOWN * 1000 - now + 999) / 1000)
        .max()
        .unwrap_or(0)
        .max(0))
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

/// Why a local check refused a code.
enum Refusal {
    /// No live, unused code with this fingerprint for this phone.
    NoMatch,
    /// Too many wrong codes since the last code was sent.
    Locked,
}

/// Finds the live, unused code of `phone` matching `h`.
async fn find_issued(
    state: &AppState,
    phone: &str,
    h: &str,
) -> Result<Result<Issued, Refusal>, AppError> {
    let now = state.clock.now_ms();
    let window = i64::from(MAX_EXPIRE) * 1000;
    let entries = |action: &str| AuditFilter {
        action: Some(action.into()),
        from_ms: Some(now - window),
        ..Default::default()
    };
    let issued: Vec<Issued> = state
        .store
        .list_audit(&entries(ISSUE), Page::first(5000))
        .await?
        .into_iter()
        .filter(|e| e.target.as_deref() == Some(phone))
        .filter_map(|e| {
            let mut i = parse_issue(e.detail.as_deref().unwrap_or(""))?;
            i.at_ms = e.at_ms;
            i.id = e.id;
            Some(i)
        })
        .collect();
    let attempts = state
        .store
        .list_audit(&entries(VERIFY), Page::first(5000))
        .await?;
    let attempts: Vec<_> = attempts
        .iter()
        .filter(|e| e.target.as_deref() == Some(phone))
        .collect();
    // the newest code decides the attempt budget
    if let Some(newest) = issued.iter().map(|i| i.id).max() {
        let wrong = attempts
            .iter()
            .filter(|e| e.id > newest && e.outcome == Outcome::Failure.as_str())
            .count();
        if wrong >= MAX_ATTEMPTS {
            return Ok(Err(Refusal::Locked));
        }
    }
    let used = |h: &str| {
        attempts
            .iter()
            .filter_map(|e| e.detail.as_deref().and_then(fingerprint_of))
            .any(|x| same(x, h))
    };
    Ok(issued
        .into_iter()
        .find(|i| now < i.at_ms + i.ttl_ms && same(&i.h, h) && !used(&i.h))
        .ok_or(Refusal::NoMatch))
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
    let user = ui.user()?.clone();
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
    let h = fingerprint(&ui.state, &phone, &code);
    let record = |outcome: Outcome, detail: String| {
        let state = ui.state.clone();
        let user = user.clone();
        let target = phone.e164().to_owned();
        async move {
            audit(
                &state,
                Some((user.id, &user.username)),
                VERIFY,
                Some(target),
                None,
                outcome,
                Some(detail),
            )
            .await;
        }
    };
    match find_issued(&ui.state, phone.e164(), &h).await? {
        Err(Refusal::Locked) => {
            record(Outcome::Denied, "locked".into()).await;
            return answer("rejected", "otp.locked", StatusCode::TOO_MANY_REQUESTS);
        }
        Err(Refusal::NoMatch) => {
            record(Outcome::Failure, "no live code matches".into()).await;
            return answer("rejected", "otp.invalid", StatusCode::OK);
        }
        Ok(_) => {}
    }
    match ui.state.api.verify_otp(&code).await {
        Ok(()) => {
            record(Outcome::Success, format!("h={h}")).await;
            answer("verified", "otp.verified", StatusCode::OK)
        }
        Err(messagepro::Error::OtpInvalidOrExpired(_)) => {
            record(Outcome::Failure, format!("platform refused h={h}")).await;
            answer("rejected", "otp.invalid", StatusCode::OK)
        }
        Err(e) => {
            tracing::warn!(error = %e, "OTP verification failed");
            // not marked used: the platform may not have seen the code
            record(Outcome::Failure, "platform unreachable".into()).await;
            let msg = ui.tf(
                crate::send::platform_error_key(&e),
                &[("detail", e.platform_message().unwrap_or(""))],
            );
            let mut r = render(&VerifyPage {
                page: ui.page("otp.verify_title"),
                phone: phone_in.clone(),
                result: Some("rejected"),
                message: Some(msg),
            })?;
            *r.status_mut() = StatusCode::BAD_GATEWAY;
            Ok(r)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

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

    #[test]
    fn an_issue_detail_round_trips() {
        let i = parse_issue("ttl=300 h=abcdef").unwrap();
        assert_eq!((i.ttl_ms, i.h.as_str()), (300_000, "abcdef"));
        assert_eq!(fingerprint_of("platform refused h=xyz"), Some("xyz"));
        assert!(parse_issue("locked").is_none());
    }
}
