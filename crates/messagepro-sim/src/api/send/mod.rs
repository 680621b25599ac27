//! Group `send` (2.1): `otp`, `sms`, `sms.bulk`, `whatsapp`, `whatsapp.bulk`, `ussd`, one file
//! per action, and here what they share: routes and prices, the length rule, the shortener, the
//! message pipeline (3.4), row inserts with the stored priority/SIM values (3.7), and the newer
//! build's checks (Q21: per-package services, the content filter). Checks run in the exact order
//! of the spec's tables.

use rand::Rng;
use serde_json::{Value, json};

use super::{Ctx, INVALID, Out, Reply, WA_UNREACHABLE, WENT_WRONG, bail, fail, ok};
use crate::model::{
    CampaignState, Chat, SendState, Sms, SmsCampaign, SmsMode, State, WaCampaign,
    device_limit_message, limit_reached,
};
use crate::params::int_rule;
use crate::phone::{self, Parsed};
use crate::text;

mod otp;
mod sms;
mod sms_bulk;
mod ussd;
mod whatsapp;

const NOT_SUBSCRIBED: &str = "Account is not subscribed to any premium package!";
const NOT_SUBSCRIBED_YOU: &str = "You are not subscribed to any premium package!";
const SEND_LIMIT: &str = "Maximum allowed number of sent messages has been reached!";
const NO_DEVICE: &str = "Device doesn't exist!";
const NO_GATEWAY: &str = "Specified gateway doesn't exist!";
const GATEWAY_ERROR: &str = "We encountered a gateway error!";
const OWN_DEVICE: &str = "You cannot send messages with credits using your own devices!";
const NOT_AVAILABLE: &str = "Device is not available!";
const NO_CREDITS: &str = "Not enough credits to send this message!";
const GATEWAY_FAILED: &str = "Gateway was unable to send your message!";
const NO_WA: &str = "WhatsApp account doesn't exist!";
const WA_LIMIT: &str = "You have reached the maximum number of allowed chats!";
const PRIORITY_INT: &str = "Priority parameter must be an integer value!";
const PACKAGE_MAX: &str = "You have reached the maximum sent messages for your current package!";
const NO_PAYLOAD: &str = "Sorry, we are unable to process your message.";

pub fn dispatch(c: &mut Ctx<'_>, action: &str) -> Out {
    match action {
        "otp" => otp::otp(c),
        "sms" => sms::sms(c),
        "sms.bulk" => sms_bulk::sms_bulk(c),
        "whatsapp" => whatsapp::whatsapp(c),
        "whatsapp.bulk" => whatsapp::whatsapp_bulk(c),
        "ussd" => ussd::ussd(c),
        _ => bail(500, "Invalid API Endpoint!"),
    }
}

/// A credits-mode route.
enum Credit {
    Gateway(u64),
    Partner(u64),
}

/// Price of one SMS to `region` on gateway `gid` (country price, else default).
fn gateway_price(st: &State, gid: u64, region: &str) -> f64 {
    let Some(gw) = st.world.gateways.get(&gid) else {
        return 0.0;
    };
    let num = |v: &Value| match v {
        Value::String(s) => s.parse().unwrap_or(0.0),
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        _ => 0.0,
    };
    gw.pricing
        .get("countries")
        .and_then(|c| c.get(region.to_ascii_lowercase()))
        .map(num)
        .or_else(|| gw.pricing.get("default").map(num))
        .unwrap_or(0.0)
}

fn partner_price(st: &State, did: u64) -> f64 {
    st.world
        .devices
        .get(&did)
        .map(|d| d.partner_rate)
        .unwrap_or(0.0)
}

/// Message length rule (1.7) with the endpoint's wording.
fn check_len(st: &State, msg: &str, short: &str, long: &str) -> Result<(), Reply> {
    let s = &st.world.settings;
    if msg.len() < s.message_min {
        return bail(400, short);
    }
    if s.message_max > 0 && msg.len() > s.message_max {
        return bail(400, long);
    }
    Ok(())
}

/// Optional `shortener` parameter (rows "shortener errors").
fn shortener(c: &Ctx<'_>) -> Result<Option<u64>, Reply> {
    let Some(v) = c.p.get("shortener") else {
        return Ok(None);
    };
    let n = int_rule(v).ok_or_else(|| fail(400, INVALID))?;
    if n <= 0 {
        return Ok(None);
    }
    match c.st.world.shorteners.get(&(n as u64)) {
        None => bail(404, "Specified shortener doesn't exist!"),
        Some(s) if s.broken => bail(500, "We encountered a shortener error!"),
        Some(_) => Ok(Some(n as u64)),
    }
}

fn footer_applies(st: &State, user: u64) -> bool {
    !st.world.settings.footer.is_empty() && st.package(user).is_some_and(|p| p.footermark == 1)
}

/// Shortener → footer → shortcodes → spintax (3.4).
fn pipeline(
    st: &mut State,
    user: u64,
    msg: &str,
    short: Option<u64>,
    footer: bool,
    vars: Option<&[(&str, String)]>,
) -> String {
    let mut s = match short {
        Some(id) => text::shorten(msg, id),
        None => msg.to_string(),
    };
    if footer && footer_applies(st, user) {
        s = format!("{s}\n\n{}", st.world.settings.footer);
    }
    if let Some(v) = vars {
        s = text::shortcodes(&s, v);
    }
    text::spintax(&s, &mut st.rng)
}

/// PHP's `(int)` cast: leading sign and digits, anything else ignored (`"2abc"` → 2, `"x"` → 0).
fn php_int(v: &str) -> i64 {
    let t = v.trim_start();
    let (neg, rest) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let n = digits.parse::<i64>().unwrap_or(0);
    if neg { -n } else { n }
}

/// `sim` / `priority` normalisation: `< 2` → 1 else 2.
fn one_or_two(v: i64) -> u8 {
    if v < 2 { 1 } else { 2 }
}

fn route_name(s: &Sms) -> &'static str {
    if s.mode == SmsMode::Devices {
        "device"
    } else if s.gateway > 0 {
        "gateway"
    } else {
        "partner"
    }
}

/// Inserts an SMS row and records it for the ledger.
fn insert_sms(st: &mut State, mut row: Sms) -> u64 {
    st.ids.sms += 1;
    row.id = st.ids.sms;
    let route = route_name(&row);
    st.note_submission('s', &row.phone, &row.message, route);
    let id = row.id;
    st.sms.insert(id, row);
    id
}

fn sms_row(c: &Ctx<'_>, phone: &str, message: String) -> Sms {
    Sms {
        id: 0,
        user: c.user,
        cid: 0,
        did: 0,
        gateway: 0,
        sim: 1,
        mode: SmsMode::Devices,
        priority: 1,
        api: true,
        phone: phone.to_string(),
        message,
        status: SendState::Pending,
        status_code: String::new(),
        create_date: c.st.now(),
        fetched_at: 0,
        price: 0.0,
        deleted: false,
    }
}

/// Partner SIM: random 1/2 when both slots are shared, else the shared slot.
fn partner_sim(st: &mut State, did: u64) -> u8 {
    let sims = st
        .world
        .devices
        .get(&did)
        .map(|d| d.partner_sim.clone())
        .unwrap_or_default();
    if sims.len() >= 2 {
        st.rng.random_range(1..=2)
    } else {
        sims.first().and_then(|s| s.parse().ok()).unwrap_or(1)
    }
}

/// Stored partner priority: the device's `global_priority` enum (1 yes / 2 no).
fn partner_priority(st: &State, did: u64) -> u8 {
    if st
        .world
        .devices
        .get(&did)
        .is_some_and(|d| d.partner_priority)
    {
        1
    } else {
        2
    }
}

/// Resolves `gateway` for `send/sms` (`bulk` changes the own-device code to 500 and skips the
/// device-limit check, which bulk does per recipient).
fn resolve_credit(c: &Ctx<'_>, gw: &str, bulk: bool) -> Result<Credit, Reply> {
    if let Some(id) = int_rule(gw) {
        return match c.st.world.gateways.get(&(id as u64)) {
            None => bail(404, NO_GATEWAY),
            Some(g) if g.handler == crate::model::Handler::Missing => bail(404, NO_GATEWAY),
            Some(g) if g.handler == crate::model::Handler::Broken => bail(500, GATEWAY_ERROR),
            Some(_) => Ok(Credit::Gateway(id as u64)),
        };
    }
    let Some((did, d)) = c.st.device_by_unique(gw) else {
        return bail(404, NO_DEVICE);
    };
    if d.user == c.user {
        return bail(if bulk { 500 } else { 403 }, OWN_DEVICE);
    }
    if !bulk && let Some(iv) = c.st.device_limit_hit(c.user, did) {
        return bail(403, device_limit_message(iv));
    }
    if !d.partner {
        return bail(403, NOT_AVAILABLE);
    }
    Ok(Credit::Partner(did))
}

/// Own device by unique id, or `404 Device doesn't exist!`.
fn own_device(c: &Ctx<'_>, unique: &str) -> Result<u64, Reply> {
    match c.st.device_by_unique(unique) {
        Some((id, d)) if d.user == c.user => Ok(id),
        _ => bail(404, NO_DEVICE),
    }
}

fn credits(st: &State, user: u64) -> f64 {
    st.world
        .accounts
        .get(&user)
        .map(|a| a.credits)
        .unwrap_or(0.0)
}

fn deduct(st: &mut State, user: u64, amount: f64) {
    if let Some(a) = st.world.accounts.get_mut(&user) {
        a.credits -= amount;
    }
}

fn date_vars(st: &State) -> (String, String) {
    let t = chrono::DateTime::from_timestamp(st.now(), 0).unwrap_or_default();
    (
        t.format("%B %-d, %Y").to_string(),
        t.format("%I:%M %p").to_string(),
    )
}

/// Checks shared by single and bulk WhatsApp sends after the subscription check: owned
/// account, reachable server, connected status. Returns the account id.
fn wa_account(c: &Ctx<'_>, unique: &str, not_connected: &str) -> Result<u64, Reply> {
    let Some((id, acc)) = c.st.wa_by_unique(unique).filter(|(_, a)| a.user == c.user) else {
        return bail(404, NO_WA);
    };
    if !c
        .st
        .world
        .wa_servers
        .get(&acc.server)
        .is_some_and(|s| s.reachable)
    {
        return bail(500, WA_UNREACHABLE);
    }
    if acc.status != "connected" {
        return bail(500, not_connected);
    }
    Ok(id)
}

#[allow(clippy::too_many_arguments)]
fn insert_chat(
    st: &mut State,
    user: u64,
    wa: u64,
    cid: u64,
    phone: &str,
    payload: Value,
    status: SendState,
    priority: u8,
) -> u64 {
    st.ids.chat += 1;
    let id = st.ids.chat;
    let text = payload
        .get("text")
        .or_else(|| payload.get("caption"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    st.note_submission('w', phone, &text, "whatsapp");
    let now = st.now();
    st.chats.insert(
        id,
        Chat {
            id,
            user,
            cid,
            wa,
            phone: phone.into(),
            payload,
            status,
            priority,
            api: true,
            create_date: now,
            fetched_at: if status == SendState::Pending { 0 } else { now },
            deleted: false,
        },
    );
    id
}

/// The WhatsApp server of account `wa` (both were checked by [`wa_account`]; a world patched
/// meanwhile answers the unreachable-server error instead of panicking under the state lock).
fn wa_server(st: &State, wa: u64) -> Result<crate::model::WaServer, Reply> {
    st.world
        .wa_accounts
        .get(&wa)
        .and_then(|a| st.world.wa_servers.get(&a.server))
        .cloned()
        .ok_or_else(|| fail(500, WA_UNREACHABLE))
}

/// `recipient`: group JIDs verbatim, else variant B + Mexico rule.
fn wa_recipient(r: &str) -> Option<String> {
    if r.contains("@g.us") {
        return Some(r.to_string());
    }
    phone::variant_b(r)
        .map(phone::mexico)
        .map(|p: Parsed| p.e164)
}

/// Q21 (newer build): a package without `service` (`sms`, `whatsapp`, `android_ussd`) refuses
/// the send. An account without a package is left to the endpoint's own subscription rule.
fn service(c: &Ctx<'_>, service: &str) -> Result<(), Reply> {
    if !c.st.flavour.is_current() {
        return Ok(());
    }
    match c.st.package(c.user) {
        Some(p) if !p.has_service(service) => bail(
            403,
            match service {
                "sms" => "Subscription has no permission to use SMS services!",
                "whatsapp" => "Subscription has no permission to use WhatsApp services!",
                _ => "Subscription has no permission to use Android USSD service!",
            },
        ),
        _ => Ok(()),
    }
}

/// True when `text` holds one of the platform's filtered words (case-insensitive).
fn filtered(st: &State, text: &str) -> bool {
    let text = text.to_lowercase();
    st.world
        .settings
        .filtered_words
        .iter()
        .map(|w| w.trim().to_lowercase())
        .any(|w| !w.is_empty() && text.contains(&w))
}

/// Q21 (newer build): the content filter over the message and, for WhatsApp, the media or
/// document URL and file name.
fn content_filter(c: &Ctx<'_>, message: &str, media: bool) -> Result<(), Reply> {
    if !c.st.flavour.is_current() {
        return Ok(());
    }
    if filtered(c.st, message) {
        return bail(400, "We detected inappropriate content in your message!");
    }
    if media {
        let named = ["media_url", "document_url", "document_name"]
            .iter()
            .filter_map(|k| c.p.get(k).map(str::to_string))
            .chain(
                ["media_file", "document_file"]
                    .iter()
                    .filter_map(|k| c.p.file(k).map(|f| f.filename.clone())),
            );
        for n in named {
            if filtered(c.st, &n) {
                return bail(400, "We detected inappropriate content in your media!");
            }
        }
    }
    Ok(())
}

/// The success `data` of a send that stored row `id`: `{"messageId": id}` on the newer build
/// (Q21), `false` on 3.3.8.
fn message_id(st: &State, id: u64) -> Value {
    if st.flavour.is_current() {
        json!({ "messageId": id })
    } else {
        json!(false)
    }
}

/// The failure text of a priority (immediate) WhatsApp push: Q21 changed it.
fn priority_failed(st: &State) -> &'static str {
    if st.flavour.is_current() {
        "Failed sending priority WhatsApp chat!"
    } else {
        "Failed sending WhatsApp chat!"
    }
}
