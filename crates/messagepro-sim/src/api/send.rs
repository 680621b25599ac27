//! Group `send` (2.1): `otp`, `sms`, `sms.bulk`, `whatsapp`, `whatsapp.bulk`, `ussd`. Checks run
//! in the exact order of the spec's tables; the message pipeline follows 3.4 and the stored
//! priority/SIM values follow 3.7.

use rand::Rng;
use serde_json::{Value, json};

use super::{Ctx, INVALID, Out, Reply, WA_UNREACHABLE, WENT_WRONG, bail, fail, ok};
use crate::model::{
    Chat, Sms, SmsCampaign, State, WaCampaign, device_limit_message, limit_reached,
};
use crate::params::int_rule;
use crate::phone::{self, Parsed};
use crate::text;

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
        "otp" => otp(c),
        "sms" => sms(c),
        "sms.bulk" => sms_bulk(c),
        "whatsapp" => whatsapp(c),
        "whatsapp.bulk" => whatsapp_bulk(c),
        "ussd" => ussd(c),
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
    if s.mode == 1 {
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
        mode: 1,
        priority: 1,
        api: true,
        phone: phone.to_string(),
        message,
        status: 1,
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

// ---------------------------------------------------------------------------------------------
// send/sms

fn sms(c: &mut Ctx<'_>) -> Out {
    c.need("sms_send")?;
    let (Some(mode), Some(phone), Some(message)) =
        (c.opt("mode"), c.opt("phone"), c.opt("message"))
    else {
        return bail(400, INVALID);
    };
    if !c.st.world.settings.push_configured {
        return bail(500, "System configuration error!");
    }
    let parsed = phone::variant_b(&phone).ok_or_else(|| fail(400, "Invalid phone number!"))?;
    check_len(
        c.st,
        &message,
        "Message is too short!",
        "Message is too long!",
    )?;
    let mut row = sms_row(c, &parsed.e164, String::new());
    let credit = match mode.as_str() {
        "devices" => {
            let device = c.req("device")?;
            let sim = match c.p.get("sim") {
                Some(v) => int_rule(v)
                    .ok_or_else(|| fail(400, "Sim parameter must be an integer value!"))?,
                None => 1,
            };
            let priority = match c.p.get("priority") {
                Some(v) => int_rule(v).ok_or_else(|| fail(400, PRIORITY_INT))?,
                None => 1,
            };
            let pkg =
                c.st.package(c.user)
                    .cloned()
                    .ok_or_else(|| fail(403, NOT_SUBSCRIBED))?;
            if limit_reached(c.st.quota(c.user).sent, pkg.send_limit) {
                return bail(403, SEND_LIMIT);
            }
            let did = own_device(c, &device)?;
            if let Some(iv) = c.st.device_limit_hit(c.user, did) {
                return bail(403, device_limit_message(iv));
            }
            row.did = did;
            row.sim = one_or_two(sim);
            row.priority = one_or_two(priority);
            None
        }
        "credits" => {
            let gw = c.req("gateway")?;
            Some(resolve_credit(c, &gw, false)?)
        }
        _ => return bail(400, INVALID),
    };
    let short = shortener(c)?;
    let text = pipeline(c.st, c.user, &message, short, credit.is_none(), None);
    row.message = text;
    match credit {
        None => {
            insert_sms(c.st, row);
            ok("Message has been queued for sending!", json!(false))
        }
        Some(Credit::Gateway(gid)) => {
            let price = gateway_price(c.st, gid, &parsed.region);
            if credits(c.st, c.user) < price {
                return bail(403, NO_CREDITS);
            }
            let gw = c.st.world.gateways[&gid].clone();
            row.mode = 2;
            row.gateway = gid;
            row.sim = 0;
            row.priority = 0;
            row.price = price;
            if gw.provider_fails {
                row.status = 4;
                insert_sms(c.st, row);
                return bail(500, GATEWAY_FAILED);
            }
            if gw.callback {
                row.status = 2;
                row.fetched_at = c.st.now();
                insert_sms(c.st, row);
                ok("Message has been queued for sending!", json!(false))
            } else {
                row.status = 3;
                deduct(c.st, c.user, price);
                insert_sms(c.st, row);
                ok("Message has been sent!", json!(false))
            }
        }
        Some(Credit::Partner(did)) => {
            let price = partner_price(c.st, did);
            if credits(c.st, c.user) < price {
                return bail(403, NO_CREDITS);
            }
            if !c.st.world.settings.exchange_fail {
                row.mode = 2;
                row.did = did;
                row.sim = partner_sim(c.st, did);
                row.priority = partner_priority(c.st, did);
                row.price = price;
                insert_sms(c.st, row);
            }
            ok("Message has been queued for sending!", json!(false))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// send/sms.bulk

struct Recipient {
    phone: String,
    region: String,
    name: String,
    group: String,
}

fn sms_book(c: &Ctx<'_>) -> Vec<Recipient> {
    let mut book = Vec::new();
    if let Some(numbers) = c.p.get("numbers") {
        for n in numbers.split(',') {
            if let Some(p) = phone::variant_b(n.trim()) {
                book.push(Recipient {
                    phone: p.e164.clone(),
                    region: p.region,
                    name: p.e164,
                    group: "Unknown".into(),
                });
            }
        }
    }
    if let Some(groups) = c.p.get("groups") {
        for g in groups.split(',') {
            let Some(gid) = g.trim().parse::<u64>().ok() else {
                continue;
            };
            let Some(group) = c.st.groups.get(&gid).filter(|g| g.user == c.user) else {
                continue;
            };
            let gid_s = gid.to_string();
            for ct in c.st.contacts.values().filter(|ct| ct.user == c.user) {
                if ct.groups.split(',').any(|m| m == gid_s) {
                    let region = phone::variant_c(&ct.phone)
                        .map(|p| p.region)
                        .unwrap_or_else(|| "ZZ".into());
                    book.push(Recipient {
                        phone: ct.phone.clone(),
                        region,
                        name: ct.name.clone(),
                        group: group.name.clone(),
                    });
                }
            }
        }
    }
    book
}

fn date_vars(st: &State) -> (String, String) {
    let t = chrono::DateTime::from_timestamp(st.now(), 0).unwrap_or_default();
    (
        t.format("%B %-d, %Y").to_string(),
        t.format("%I:%M %p").to_string(),
    )
}

fn sms_bulk(c: &mut Ctx<'_>) -> Out {
    c.need("sms_send_bulk")?;
    let (Some(mode), Some(name), Some(message)) =
        (c.opt("mode"), c.opt("campaign"), c.opt("message"))
    else {
        return bail(400, INVALID);
    };
    if !c.p.has("numbers") && !c.p.has("groups") {
        return bail(400, INVALID);
    }
    if !c.st.world.settings.push_configured {
        return bail(500, "System configuration error!");
    }
    check_len(
        c.st,
        &message,
        "Message is too short!",
        "Message is too long!",
    )?;
    let mut device = None;
    let (mut sim, mut priority) = (1u8, 1u8);
    let credit = match mode.as_str() {
        "devices" => {
            let unique = c.req("device")?;
            if let Some(v) = c.p.get("sim") {
                sim = one_or_two(
                    int_rule(v)
                        .ok_or_else(|| fail(400, "Sim parameter must be an integer value!"))?,
                );
            }
            if let Some(v) = c.p.get("priority") {
                let n = int_rule(v).ok_or_else(|| fail(400, PRIORITY_INT))?;
                priority = if n >= 1 { 2 } else { 1 };
            }
            if c.st.package(c.user).is_none() {
                return bail(403, NOT_SUBSCRIBED_YOU);
            }
            device = Some(own_device(c, &unique)?);
            None
        }
        "credits" => {
            let gw = c.req("gateway")?;
            Some(resolve_credit(c, &gw, true)?)
        }
        _ => return bail(400, INVALID),
    };
    let book = sms_book(c);
    if book.is_empty() {
        return bail(400, INVALID);
    }
    let short = shortener(c)?;
    let now = c.st.now();
    c.st.ids.sms_campaign += 1;
    let cid = c.st.ids.sms_campaign;
    let (did, gateway, mode_n) = match (&credit, device) {
        (None, Some(d)) => (d, 0, 1),
        (Some(Credit::Gateway(g)), _) => (0, *g, 2),
        (Some(Credit::Partner(d)), _) => (*d, 0, 2),
        _ => (0, 0, 1),
    };
    c.st.sms_campaigns.insert(
        cid,
        SmsCampaign {
            id: cid,
            user: c.user,
            did,
            gateway,
            mode: mode_n,
            status: 1,
            name,
            contacts: book.len() as i64,
            create_date: now,
        },
    );
    let (date_now, date_time) = date_vars(c.st);
    let vars_for = |r: &Recipient| {
        vec![
            ("contact.name", r.name.clone()),
            ("contact.number", r.phone.clone()),
            ("group.name", r.group.clone()),
            ("date.now", date_now.clone()),
            ("date.time", date_time.clone()),
        ]
    };
    let mut counter = 0i64;
    match credit {
        None => {
            let limit = c.st.package(c.user).map(|p| p.send_limit).unwrap_or(0);
            let quota_full = limit_reached(c.st.quota(c.user).sent, limit);
            for r in &book {
                if quota_full || c.st.device_limit_hit(c.user, did).is_some() {
                    continue;
                }
                let text = pipeline(c.st, c.user, &message, short, true, Some(&vars_for(r)));
                let mut row = sms_row(c, &r.phone, text);
                row.cid = cid;
                row.did = did;
                row.sim = sim;
                row.priority = priority;
                insert_sms(c.st, row);
                counter += 1;
            }
        }
        Some(Credit::Gateway(gid)) => {
            let gw = c.st.world.gateways[&gid].clone();
            for r in &book {
                let price = gateway_price(c.st, gid, &r.region);
                if credits(c.st, c.user) < price {
                    continue;
                }
                let text = pipeline(c.st, c.user, &message, short, false, None);
                let mut row = sms_row(c, &r.phone, text);
                row.cid = cid;
                row.mode = 2;
                row.gateway = gid;
                row.sim = 0;
                row.priority = 0;
                row.price = price;
                row.status = if gw.provider_fails {
                    4
                } else if gw.callback {
                    row.fetched_at = now;
                    2
                } else {
                    deduct(c.st, c.user, price);
                    3
                };
                insert_sms(c.st, row);
            }
            return ok("Bulk messages has been queued for sending!", json!(false));
        }
        Some(Credit::Partner(pd)) => {
            let price = partner_price(c.st, pd);
            let has_limit = c.st.world.devices.get(&pd).is_some_and(|d| d.limit_status);
            if credits(c.st, c.user) >= price * book.len() as f64
                && !c.st.world.settings.exchange_fail
            {
                for r in &book {
                    if c.st.device_limit_hit(c.user, pd).is_some() {
                        continue;
                    }
                    let text = pipeline(c.st, c.user, &message, short, false, Some(&vars_for(r)));
                    let mut row = sms_row(c, &r.phone, text);
                    row.cid = cid;
                    row.mode = 2;
                    row.did = pd;
                    row.sim = partner_sim(c.st, pd);
                    row.priority = partner_priority(c.st, pd);
                    row.price = price;
                    insert_sms(c.st, row);
                    if has_limit {
                        counter += 1;
                    }
                }
            }
        }
    }
    if counter == 0 {
        c.st.sms_campaigns.remove(&cid);
        return match c.st.device_limit_hit(c.user, did) {
            Some(iv) => bail(403, device_limit_message(iv)),
            None => bail(403, PACKAGE_MAX),
        };
    }
    if counter < book.len() as i64
        && let Some(camp) = c.st.sms_campaigns.get_mut(&cid)
    {
        camp.contacts = counter;
    }
    ok("Bulk messages has been queued for sending!", json!(false))
}

// ---------------------------------------------------------------------------------------------
// WhatsApp

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

fn ext_of(name: &str) -> String {
    name.rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

fn mime_of(doc: &str) -> Option<&'static str> {
    Some(match doc {
        "pdf" => "application/pdf",
        "xls" => "application/excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _ => return None,
    })
}

/// Builds the stored payload shape of 3.9 with an empty caption (filled per message).
fn wa_payload(c: &mut Ctx<'_>, kind: &str, bulk: bool) -> Result<Value, Reply> {
    let base = c.st.base_url.clone();
    match kind {
        "media" => {
            let (url, mtype) = if let Some(u) = c.opt("media_url") {
                if !text::is_url(&u) {
                    return bail(400, "You provided an invalid media url!");
                }
                let t = c
                    .opt("media_type")
                    .ok_or_else(|| fail(400, "Please declare the media type!"))?;
                let t = match t.as_str() {
                    "image" => "image",
                    "audio" => "audio",
                    _ => "video",
                };
                (u, t)
            } else if let Some(f) = c.p.file("media_file").cloned() {
                let ext = ext_of(&f.filename);
                let t = match ext.as_str() {
                    "jpg" | "jpeg" | "png" | "gif" => "image",
                    "mp3" | "ogg" => "audio",
                    "mp4" => "video",
                    _ => return bail(400, "Invalid media file!"),
                };
                if f.size == 0 {
                    return bail(if bulk { 500 } else { 400 }, "Invalid media file!");
                }
                let name = c.st.hex(16);
                (format!("{base}/uploads/whatsapp/{name}.{ext}"), t)
            } else {
                return bail(500, NO_PAYLOAD);
            };
            Ok(if mtype == "audio" {
                json!({ "audio": { "url": url }, "caption": false })
            } else {
                json!({ mtype: { "url": url }, "caption": "" })
            })
        }
        "document" => {
            if let Some(u) = c.opt("document_url") {
                if !text::is_url(&u) {
                    return bail(400, "You provided an invalid document url!");
                }
                let t = c
                    .opt("document_type")
                    .ok_or_else(|| fail(400, "Please declare the document type!"))?;
                let mime = mime_of(&t).ok_or_else(|| fail(400, "Invalid Document Type!"))?;
                let mut v = json!({ "document": { "url": u }, "mimetype": mime, "caption": "" });
                if let Some(n) = c.opt("document_name") {
                    v["fileName"] = json!(n);
                }
                Ok(v)
            } else if let Some(f) = c.p.file("document_file").cloned() {
                let ext = ext_of(&f.filename);
                let mime = mime_of(&ext).ok_or_else(|| fail(400, "Invalid Document File!"))?;
                if f.size == 0 {
                    return bail(400, "Invalid Document File!");
                }
                let name = c.st.hex(16);
                Ok(
                    json!({ "document": { "url": format!("{base}/uploads/whatsapp/{name}.{ext}") },
                           "fileName": f.filename, "mimetype": mime, "caption": "" }),
                )
            } else {
                bail(500, NO_PAYLOAD)
            }
        }
        _ => Ok(json!({ "text": "" })),
    }
}

fn fill_payload(mut v: Value, text: &str) -> Value {
    if v.get("text").is_some() {
        v["text"] = json!(text);
    } else if v.get("caption").is_some_and(|c| c.is_string()) {
        v["caption"] = json!(text);
    }
    v
}

#[allow(clippy::too_many_arguments)]
fn insert_chat(
    st: &mut State,
    user: u64,
    wa: u64,
    cid: u64,
    phone: &str,
    payload: Value,
    status: u8,
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
            fetched_at: if status >= 2 { now } else { 0 },
            deleted: false,
        },
    );
    id
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

fn whatsapp(c: &mut Ctx<'_>) -> Out {
    c.need("wa_send")?;
    let (Some(recipient), Some(account), Some(message)) =
        (c.opt("recipient"), c.opt("account"), c.opt("message"))
    else {
        return bail(400, INVALID);
    };
    let priority = match c.p.get("priority") {
        Some(v) => one_or_two(int_rule(v).ok_or_else(|| fail(400, PRIORITY_INT))?),
        None => 2,
    };
    let pkg =
        c.st.package(c.user)
            .cloned()
            .ok_or_else(|| fail(403, NOT_SUBSCRIBED))?;
    let wa = wa_account(c, &account, "WhatsApp account is disconnected!")?;
    if limit_reached(c.st.quota(c.user).wa_sent, pkg.wa_send_limit) {
        return bail(403, WA_LIMIT);
    }
    let to = wa_recipient(&recipient).ok_or_else(|| fail(400, "Invalid phone number!"))?;
    let kind = c.opt("type");
    if kind.as_deref() == Some("text") {
        check_len(
            c.st,
            &message,
            "Chat message is too short!",
            "Chat message is too long!",
        )?;
    }
    let short = shortener(c)?;
    let template = wa_payload(c, kind.as_deref().unwrap_or("text"), false)?;
    c.db()?;
    let text = pipeline(c.st, c.user, &message, short, true, None);
    let payload = fill_payload(template, &text);
    let server = c.st.world.wa_accounts[&wa].server;
    let srv = c.st.world.wa_servers[&server].clone();
    if priority == 1 {
        let ok_send = srv.send_ok;
        insert_chat(
            c.st,
            c.user,
            wa,
            0,
            &to,
            payload,
            if ok_send { 3 } else { 4 },
            1,
        );
        if !ok_send {
            return bail(500, "Failed sending WhatsApp chat!");
        }
        c.st.quota(c.user).wa_sent += 1;
        ok("WhatsApp chat has been sent!", json!(false))
    } else {
        insert_chat(c.st, c.user, wa, 0, &to, payload, 1, 2);
        if !srv.trigger_ok {
            return bail(500, "Failed adding chat to WhatsApp queue!");
        }
        ok("WhatsApp chat has been queued for sending!", json!(false))
    }
}

fn whatsapp_bulk(c: &mut Ctx<'_>) -> Out {
    c.need("wa_send_bulk")?;
    let (Some(account), Some(name), Some(kind), Some(message)) = (
        c.opt("account"),
        c.opt("campaign"),
        c.opt("type"),
        c.opt("message"),
    ) else {
        return bail(400, INVALID);
    };
    if name.len() < 3 {
        return bail(500, "Campaign name is too short!");
    }
    if !c.p.has("recipients") && !c.p.has("groups") {
        return bail(400, INVALID);
    }
    let kind = match kind.as_str() {
        "media" | "document" => kind,
        _ => "text".to_string(),
    };
    if kind == "text" {
        check_len(
            c.st,
            &message,
            "Message is too short!",
            "Message is too long!",
        )?;
    }
    let pkg =
        c.st.package(c.user)
            .cloned()
            .ok_or_else(|| fail(403, NOT_SUBSCRIBED_YOU))?;
    let wa = wa_account(c, &account, "WhatsApp account is not connected!")?;
    // Recipient book: recipients (JIDs verbatim, numbers variant B + Mexico), then groups.
    let mut book: Vec<(String, String, String)> = Vec::new();
    if let Some(r) = c.p.get("recipients") {
        for e in r.split(',') {
            if let Some(to) = wa_recipient(e.trim()) {
                book.push((to.clone(), to, "Unknown".into()));
            }
        }
    }
    if let Some(groups) = c.p.get("groups") {
        let mut prev = String::new();
        for g in groups.split(',') {
            let Some(gid) = g.trim().parse::<u64>().ok() else {
                continue;
            };
            let Some(group) = c.st.groups.get(&gid).filter(|g| g.user == c.user) else {
                continue;
            };
            let gid_s = gid.to_string();
            for ct in c.st.contacts.values().filter(|ct| ct.user == c.user) {
                if ct.groups.split(',').any(|m| m == gid_s) {
                    // Bug reproduced: on a parse error the previous entry's number is reused.
                    if let Some(p) = phone::variant_c(&ct.phone) {
                        prev = phone::mexico(p).e164;
                    }
                    book.push((prev.clone(), ct.name.clone(), group.name.clone()));
                }
            }
        }
    }
    if book.is_empty() {
        return bail(400, INVALID);
    }
    let short = shortener(c)?;
    let template = wa_payload(c, &kind, true)?;
    let now = c.st.now();
    c.st.ids.wa_campaign += 1;
    let cid = c.st.ids.wa_campaign;
    c.st.wa_campaigns.insert(
        cid,
        WaCampaign {
            id: cid,
            user: c.user,
            wa,
            kind: kind.clone(),
            status: 1,
            name,
            contacts: book.len() as i64,
            processed: 0,
            create_date: now,
        },
    );
    let quota_full = limit_reached(c.st.quota(c.user).wa_sent, pkg.wa_send_limit);
    let (date_now, date_time) = date_vars(c.st);
    let base = c.st.base_url.clone();
    let mut queued = 0;
    for (to, cname, gname) in &book {
        if quota_full {
            break;
        }
        let vars = vec![
            ("contact.name", cname.clone()),
            ("contact.number", to.clone()),
            ("group.name", gname.clone()),
            ("date.now", date_now.clone()),
            ("date.time", date_time.clone()),
            ("unsubscribe.command", "STOP".to_string()),
            (
                "unsubscribe.link",
                format!(
                    "{base}/unsubscribe/{}/{}",
                    c.user,
                    to.trim_start_matches('+')
                ),
            ),
        ];
        let text = pipeline(c.st, c.user, &message, short, true, Some(&vars));
        let mut payload = fill_payload(template.clone(), &text);
        if payload.get("audio").is_some() {
            // Q20: the bulk personaliser still writes the template result into the caption.
            payload["caption"] = json!(text);
        }
        insert_chat(c.st, c.user, wa, cid, to, payload, 1, 2);
        queued += 1;
    }
    if queued == 0 {
        return bail(
            500,
            "No chats were queued. Please check the sending limit of your package!",
        );
    }
    let server = c.st.world.wa_accounts[&wa].server;
    if !c.st.world.wa_servers[&server].trigger_ok {
        return bail(500, "Failed adding chats to WhatsApp queue!");
    }
    ok(
        format!("{queued} chats has been queued for sending!"),
        json!(false),
    )
}

// ---------------------------------------------------------------------------------------------
// send/otp

/// Mints a code in the caller's namespace (purging expired codes first).
fn mint_otp(c: &mut Ctx<'_>, lifetime: i64) -> i64 {
    let now = c.st.now();
    let ns = c.st.otp.entry(c.secret.clone()).or_default();
    ns.retain(|_, (created, life)| now - *created <= *life);
    let taken: Vec<String> = ns.keys().cloned().collect();
    let code = loop {
        let n: i64 = c.st.rng.random_range(100_000..=999_999);
        if !taken.contains(&n.to_string()) {
            break n;
        }
    };
    c.st.otp
        .entry(c.secret.clone())
        .or_default()
        .insert(code.to_string(), (now, lifetime));
    code
}

fn otp(c: &mut Ctx<'_>) -> Out {
    c.need("otp")?;
    let message = c.req("message")?;
    let lifetime = match c.p.get("expire") {
        Some(v) => int_rule(v).ok_or_else(|| fail(400, INVALID))?.max(1),
        None => 300,
    };
    let code = mint_otp(c, lifetime);
    let vars = [("otp", code.to_string())];
    let substituted = text::shortcodes(&message, &vars);
    let country =
        c.st.world
            .accounts
            .get(&c.user)
            .map(|a| a.country.clone())
            .unwrap_or_default();
    match c.opt("type").as_deref() {
        Some("sms") => {
            let (Some(mode), Some(phone)) = (c.opt("mode"), c.opt("phone")) else {
                return bail(400, INVALID);
            };
            if !c.st.world.settings.push_configured {
                return bail(500, "System configuration error!");
            }
            let parsed = phone::variant_a(&phone, &country, false)
                .ok_or_else(|| fail(400, "Invalid phone number!"))?;
            check_len(
                c.st,
                &substituted,
                "OTP message is too short!",
                "OTP message is too long!",
            )?;
            let data = json!({ "phone": parsed.e164, "message": substituted, "otp": code });
            match mode.as_str() {
                "devices" => {
                    let unique = c.req("device")?;
                    let pkg =
                        c.st.package(c.user)
                            .cloned()
                            .ok_or_else(|| fail(403, NOT_SUBSCRIBED))?;
                    if limit_reached(c.st.quota(c.user).sent, pkg.send_limit) {
                        return bail(403, SEND_LIMIT);
                    }
                    let did = own_device(c, &unique)?;
                    let sim = c.p.get("sim").map(php_int).unwrap_or(1);
                    let text = pipeline(c.st, c.user, &substituted, None, true, None);
                    let mut row = sms_row(c, &parsed.e164, text);
                    row.did = did;
                    row.sim = one_or_two(sim);
                    insert_sms(c.st, row);
                    ok("OTP has been sent!", data)
                }
                "credits" => {
                    let gw = c.req("gateway")?;
                    let text = pipeline(c.st, c.user, &substituted, None, false, None);
                    let mut row = sms_row(c, &parsed.e164, text);
                    row.mode = 2;
                    if let Some(id) = int_rule(&gw) {
                        let gid = id as u64;
                        let gw = match c.st.world.gateways.get(&gid) {
                            Some(g) if g.handler != crate::model::Handler::Missing => g.clone(),
                            _ => return bail(404, NO_GATEWAY),
                        };
                        let price = gateway_price(c.st, gid, &parsed.region);
                        if credits(c.st, c.user) < price {
                            return bail(403, NO_CREDITS);
                        }
                        if gw.provider_fails {
                            return bail(500, GATEWAY_FAILED);
                        }
                        // Q17: the OTP gateway path never deducts credits.
                        row.gateway = gid;
                        row.sim = 0;
                        row.priority = 0;
                        row.status = if gw.callback { 2 } else { 3 };
                        row.fetched_at = row.create_date;
                        insert_sms(c.st, row);
                    } else {
                        let Some((did, d)) = c.st.device_by_unique(&gw) else {
                            return bail(404, NO_DEVICE);
                        };
                        if !d.partner {
                            return bail(403, NOT_AVAILABLE);
                        }
                        let price = partner_price(c.st, did);
                        if credits(c.st, c.user) < price {
                            return bail(403, NO_CREDITS);
                        }
                        if !c.st.world.settings.exchange_fail {
                            row.did = did;
                            row.sim = partner_sim(c.st, did);
                            row.priority = partner_priority(c.st, did);
                            row.price = price;
                            insert_sms(c.st, row);
                        }
                    }
                    ok("OTP has been sent!", data)
                }
                _ => bail(400, INVALID),
            }
        }
        Some("whatsapp") => {
            let (Some(phone), Some(account)) = (c.opt("phone"), c.opt("account")) else {
                return bail(400, INVALID);
            };
            let priority = match c.p.get("priority") {
                Some(v) => one_or_two(int_rule(v).ok_or_else(|| fail(400, PRIORITY_INT))?),
                None => 2,
            };
            let pkg =
                c.st.package(c.user)
                    .cloned()
                    .ok_or_else(|| fail(403, NOT_SUBSCRIBED))?;
            let wa = wa_account(c, &account, "WhatsApp account is disconnected!")?;
            if limit_reached(c.st.quota(c.user).wa_sent, pkg.wa_send_limit) {
                return bail(403, WA_LIMIT);
            }
            let parsed = phone::variant_a(&phone, &country, true)
                .map(phone::mexico)
                .ok_or_else(|| fail(400, "Invalid phone number!"))?;
            c.db()?;
            let text = pipeline(c.st, c.user, &substituted, None, true, None);
            let server = c.st.world.wa_accounts[&wa].server;
            let srv = c.st.world.wa_servers[&server].clone();
            let data = json!({ "phone": parsed.e164, "message": substituted, "otp": code });
            if priority == 1 {
                insert_chat(
                    c.st,
                    c.user,
                    wa,
                    0,
                    &parsed.e164,
                    json!({ "text": text }),
                    if srv.send_ok { 3 } else { 4 },
                    1,
                );
                if !srv.send_ok {
                    return bail(500, "Failed sending WhatsApp chat!");
                }
                c.st.quota(c.user).wa_sent += 1;
            } else {
                insert_chat(
                    c.st,
                    c.user,
                    wa,
                    0,
                    &parsed.e164,
                    json!({ "text": text }),
                    1,
                    2,
                );
                if !srv.trigger_ok {
                    return bail(500, "Failed adding chat to WhatsApp queue!");
                }
            }
            ok("OTP has been sent!", data)
        }
        _ => bail(400, INVALID),
    }
}

// ---------------------------------------------------------------------------------------------
// send/ussd

fn ussd(c: &mut Ctx<'_>) -> Out {
    c.need("ussd")?;
    let (Some(code), Some(sim), Some(device)) = (c.opt("code"), c.opt("sim"), c.opt("device"))
    else {
        return bail(400, INVALID);
    };
    let sim = int_rule(&sim).ok_or_else(|| fail(400, INVALID))?;
    let pkg =
        c.st.package(c.user)
            .cloned()
            .ok_or_else(|| fail(403, NOT_SUBSCRIBED_YOU))?;
    if limit_reached(c.st.quota(c.user).ussd, pkg.ussd_limit) {
        return bail(403, "Maximum number of USSD requests has been reached!");
    }
    let did = own_device(c, &device)?;
    if c.st.world.settings.db_fail {
        return bail(500, WENT_WRONG);
    }
    c.st.ids.ussd += 1;
    let id = c.st.ids.ussd;
    let now = c.st.now();
    c.st.ussd.insert(
        id,
        crate::model::Ussd {
            id,
            user: c.user,
            did,
            sim: one_or_two(sim),
            code,
            response: String::new(),
            status: 1,
            create_date: now,
            fetched_at: 0,
        },
    );
    ok("USSD request has been queued!", json!(false))
}
