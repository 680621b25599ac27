//! Group `get` (2.2): OTP verification, account data and every paginated list, plus the
//! token-authenticated `wa.qr` / `wa.info`. Listing quirks reproduced: status filters (3.11 #9),
//! priority as `stored >= 2`, USSD SIM always 2, `notification_packages` blank lines removed.

use serde_json::{Value, json};

use super::{Ctx, INVALID, NO_PERMISSION, Out, Reply, WA_UNREACHABLE, bail, fail, ok, paginate};
use crate::model::{CampaignState, SendState, Sms, SmsMode, State};
use crate::params::Params;

pub fn dispatch(c: &mut Ctx<'_>, action: &str) -> Out {
    match action {
        "otp" => otp(c),
        "credits" => {
            c.need("get_credits")?;
            let acc = c.account()?;
            ok(
                "Remaining Credits",
                json!({ "credits": money(acc.credits), "currency": c.st.world.settings.currency }),
            )
        }
        "earnings" => {
            c.need("get_earnings")?;
            let acc = c.account()?;
            ok(
                "Partner Earnings",
                json!({ "earnings": money(acc.earnings), "currency": c.st.world.settings.currency }),
            )
        }
        "subscription" => subscription(c),
        "sms.message" if c.st.flavour.is_current() => super::message::sms(c),
        "wa.message" if c.st.flavour.is_current() => super::message::chat(c),
        "sms.sent" => sms_list(
            c,
            "get_sms_sent",
            "Sent SMS Messages",
            |s| s.status.is_final(),
            true,
        ),
        "sms.pending" => sms_list(
            c,
            "get_sms_pending",
            "Pending SMS Messages",
            |s| s.status == SendState::Pending,
            false,
        ),
        "sms.campaigns" => sms_campaigns(c),
        "sms.received" => {
            c.need("get_sms_received")?;
            let pg = c.page()?;
            let st = &*c.st;
            let mut rows: Vec<_> = st.received.values().filter(|r| r.user == c.user).collect();
            rows.sort_by_key(|r| std::cmp::Reverse((r.receive_date, r.id)));
            let items = rows.into_iter().map(|r| {
                json!({ "id": r.id, "device": unique_of(st, r.did), "sender": r.phone, "message": r.message, "created": r.receive_date })
            });
            ok("Received SMS Messages", paginate(items, pg))
        }
        "wa.servers" => wa_servers(c),
        "wa.sent" => chat_list(
            c,
            "get_wa_sent",
            "Sent WhatsApp Chats",
            SendState::is_final,
            true,
        ),
        "wa.pending" => chat_list(
            c,
            "get_wa_pending",
            "Pending WhatsApp Chats",
            |s| !s.is_final(),
            false,
        ),
        "wa.campaigns" => wa_campaigns(c),
        "wa.received" => {
            c.need("get_wa_received")?;
            let pg = c.page()?;
            let st = &*c.st;
            let mut rows: Vec<_> = st
                .wa_received
                .values()
                .filter(|r| r.user == c.user)
                .collect();
            rows.sort_by_key(|r| std::cmp::Reverse((r.receive_date, r.id)));
            let items = rows.into_iter().map(|r| {
                json!({ "id": r.id, "account": wa_phone(st, r.wa), "recipient": r.phone, "message": r.message,
                        "attachment": r.attachment.clone().map_or(json!(false), Value::from), "created": r.receive_date })
            });
            ok("Received WhatsApp Chats", paginate(items, pg))
        }
        "wa.groups" => wa_groups(c, false),
        "wa.group.contacts" => wa_groups(c, true),
        "contacts" => {
            c.need("get_contacts")?;
            let pg = c.page()?;
            let items = c.st.contacts.values().rev().filter(|x| x.user == c.user).map(|x| {
                json!({ "id": x.id, "groups": x.groups.split(',').collect::<Vec<_>>(), "phone": x.phone, "name": x.name })
            });
            ok("Saved Contacts", paginate(items, pg))
        }
        "groups" => {
            c.need("get_groups")?;
            let pg = c.page()?;
            let items =
                c.st.groups
                    .values()
                    .rev()
                    .filter(|x| x.user == c.user)
                    .map(|x| json!({ "id": x.id, "name": x.name }));
            ok("Contact Groups", paginate(items, pg))
        }
        "unsubscribed" => {
            c.need("get_unsubscribed")?;
            let pg = c.page()?;
            let mut rows: Vec<_> =
                c.st.unsubscribed
                    .values()
                    .filter(|x| x.user == c.user)
                    .collect();
            rows.sort_by_key(|r| std::cmp::Reverse((r.create_date, r.id)));
            let items = rows
                .into_iter()
                .map(|x| json!({ "id": x.id, "phone": x.phone, "created": x.create_date }));
            ok("Unsubscribed Contacts", paginate(items, pg))
        }
        "ussd" => {
            c.need("get_ussd")?;
            let pg = c.page()?;
            let st = &*c.st;
            let mut rows: Vec<_> = st.ussd.values().filter(|x| x.user == c.user).collect();
            rows.sort_by_key(|r| std::cmp::Reverse((r.create_date, r.id)));
            let items = rows.into_iter().map(|x| {
                let status = x.status.word();
                // Bug reproduced: the mapping tests `< 1`, so every stored slot >= 1 lists as 2.
                let sim = if x.sim < 1 { 1 } else { 2 };
                json!({ "id": x.id, "device": unique_of(st, x.did), "sim": sim, "code": x.code, "response": x.response, "status": status, "created": x.create_date })
            });
            ok("USSD Requests", paginate(items, pg))
        }
        "notifications" => {
            c.need("get_notifications")?;
            let pg = c.page()?;
            let st = &*c.st;
            let mut rows: Vec<_> = st
                .notifications
                .values()
                .filter(|x| x.user == c.user)
                .collect();
            rows.sort_by_key(|r| std::cmp::Reverse((r.create_date, r.id)));
            let items = rows.into_iter().map(|x| {
                json!({ "id": x.id, "device": unique_of(st, x.did), "package_name": x.package, "title": x.title, "content": x.text, "timestamp": x.create_date })
            });
            ok("Received Notifications", paginate(items, pg))
        }
        "wa.accounts" => {
            c.need("get_wa_accounts")?;
            let pg = c.page()?;
            let st = &*c.st;
            let mut rows: Vec<_> = st
                .world
                .wa_accounts
                .iter()
                .filter(|(_, a)| a.user == c.user)
                .collect();
            rows.sort_by(|(ia, a), (ib, b)| (b.created, *ib).cmp(&(a.created, *ia)));
            let items = rows.into_iter().map(|(id, a)| {
                let status = match st.world.wa_servers.get(&a.server) {
                    Some(s) if s.reachable => match a.status.as_str() {
                        "connected" | "connecting" | "disconnecting" => a.status.clone(),
                        _ => "disconnected".into(),
                    },
                    _ => "unknown".into(),
                };
                json!({ "id": id, "phone": a.phone(), "unique": a.unique, "status": status, "created": a.created })
            });
            ok("WhatsApp Accounts", paginate(items, pg))
        }
        "devices" => {
            c.need("get_devices")?;
            let pg = c.page()?;
            let mut rows: Vec<_> =
                c.st.world
                    .devices
                    .iter()
                    .filter(|(_, d)| d.user == c.user)
                    .collect();
            rows.sort_by(|(ia, a), (ib, b)| (b.created, *ib).cmp(&(a.created, *ia)));
            let items = rows.into_iter().map(|(id, d)| {
                json!({ "id": id, "unique": d.unique, "online": d.online, "name": d.name, "manufacturer": d.manufacturer,
                        "version": android_name(d.version), "random_send": d.random_send, "random_min": d.random_min,
                        "random_max": d.random_max, "limit_status": d.limit_status, "limit_interval": d.limit_interval,
                        "limit_number": d.limit_number,
                        "notification_packages": packages_json(&d.packages),
                        "partner": d.partner, "partner_sim": d.partner_sim, "partner_priority": d.partner_priority,
                        "partner_country": d.partner_country.to_ascii_uppercase(), "partner_rate": d.partner_rate,
                        "partner_currency": d.partner_currency, "created": d.created })
            });
            ok("Android Devices", paginate(items, pg))
        }
        "rates" => {
            c.need("get_rates")?;
            let st = &*c.st;
            let gateways: Vec<Value> = st.world.gateways.iter().map(|(id, g)| {
                json!({ "id": id, "name": g.name, "currency": st.world.settings.currency.to_ascii_uppercase(), "pricing": g.pricing })
            }).collect();
            let partners: Vec<Value> = st.world.devices.values().filter(|d| d.partner && d.user != c.user).map(|d| {
                json!({ "unique": d.unique, "name": d.name, "version": android_name(d.version), "priority": d.partner_priority,
                        "sim": d.partner_sim, "country": d.partner_country.to_ascii_uppercase(), "currency": d.partner_currency,
                        "rate": d.partner_rate as i64, "owner": st.world.accounts.get(&d.user).map(|a| a.email.clone()).unwrap_or_default(),
                        "status": if d.online { "online" } else { "offline" } })
            }).collect();
            ok(
                "Gateway Rates",
                json!({ "gateways": gateways, "partners": partners }),
            )
        }
        "shorteners" => {
            c.need("get_shorteners")?;
            let items: Vec<Value> =
                c.st.world
                    .shorteners
                    .iter()
                    .map(|(id, s)| json!({ "id": id, "name": s.name }))
                    .collect();
            ok("Available Shorteners", Value::Array(items))
        }
        _ => bail(400, "Invalid API Endpoint!"),
    }
}

/// Decimal string as stored (trailing zeros trimmed).
pub fn money(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// Blank lines removed with their indexes kept (PHP `array_filter`): a JSON array when the kept
/// indexes are still 0..n, otherwise an object with numeric keys.
fn packages_json(lines: &[String]) -> Value {
    let kept: Vec<(usize, &String)> = lines
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.trim().is_empty())
        .collect();
    if kept.iter().enumerate().all(|(i, (k, _))| i == *k) {
        Value::Array(kept.into_iter().map(|(_, p)| json!(p)).collect())
    } else {
        Value::Object(
            kept.into_iter()
                .map(|(k, p)| (k.to_string(), json!(p)))
                .collect(),
        )
    }
}

fn android_name(v: f64) -> String {
    match v.round() as i64 {
        4 => "Android KitKat".into(),
        5 => "Android Lollipop".into(),
        6 => "Android Marshmallow".into(),
        7 => "Android Nougat".into(),
        8 => "Android Oreo".into(),
        9 => "Android Pie".into(),
        n @ 10..=13 => format!("Android {n}"),
        _ => "Unknown".into(),
    }
}

pub(super) fn unique_of(st: &State, did: u64) -> String {
    st.world
        .devices
        .get(&did)
        .map(|d| d.unique.clone())
        .unwrap_or_default()
}

pub(super) fn wa_phone(st: &State, wa: u64) -> String {
    st.world
        .wa_accounts
        .get(&wa)
        .map(|a| a.phone())
        .unwrap_or_default()
}

fn otp(c: &mut Ctx<'_>) -> Out {
    c.need("otp")?;
    let code = c.req("otp")?;
    let now = c.st.now();
    let ns = c.st.otp.entry(c.secret.clone()).or_default();
    ns.retain(|_, (created, life)| now - *created <= *life);
    if ns.remove(&code).is_some() {
        ok("OTP has been verified!", json!(false))
    } else {
        bail(403, "OTP is invalid or expired!")
    }
}

fn subscription(c: &mut Ctx<'_>) -> Out {
    c.need("get_subscription")?;
    let pkg =
        c.st.package(c.user)
            .cloned()
            .ok_or_else(|| fail(403, "Account is not subscribed to any premium package!"))?;
    let q = c.st.quota(c.user).clone();
    let st = &*c.st;
    let u = |used: i64, limit: i64| json!({ "used": used, "limit": limit });
    let contacts = st.contacts.values().filter(|x| x.user == c.user).count() as i64;
    let devices = st
        .world
        .devices
        .values()
        .filter(|x| x.user == c.user)
        .count() as i64;
    let keys = st.keys.values().filter(|k| k.user == c.user).count() as i64;
    let was = st
        .world
        .wa_accounts
        .values()
        .filter(|x| x.user == c.user)
        .count() as i64;
    let hooks = i64::from(st.webhook.is_some());
    ok(
        "Subscription Package",
        json!({ "name": pkg.name, "usage": {
        "sms_send": u(q.sent, pkg.send_limit), "sms_receive": u(q.received, pkg.receive_limit),
        "ussd": u(q.ussd, pkg.ussd_limit), "notifications": u(q.notifications, pkg.notification_limit),
        "contacts": u(contacts, pkg.contact_limit), "devices": u(devices, pkg.device_limit),
        "apikeys": u(keys, pkg.key_limit), "webhooks": u(hooks, pkg.webhook_limit),
        "actions": u(0, pkg.action_limit), "scheduled": u(0, pkg.scheduled_limit),
        "wa_send": u(q.wa_sent, pkg.wa_send_limit), "wa_receive": u(q.wa_received, pkg.wa_receive_limit),
        "wa_accounts": u(was, pkg.wa_account_limit) } }),
    )
}

pub(super) fn sms_item(st: &State, s: &Sms, with_status: bool) -> Value {
    let (sender, sender_type) = if s.mode == SmsMode::Devices {
        (unique_of(st, s.did), "device")
    } else if s.gateway > 0 {
        (
            st.world
                .gateways
                .get(&s.gateway)
                .map(|g| g.name.clone())
                .unwrap_or_default(),
            "gateway",
        )
    } else {
        (unique_of(st, s.did), "partner_device")
    };
    let mut v = json!({ "id": s.id, "mode": s.mode.word(), "sender": sender,
        "sender_type": sender_type, "sim": s.sim, "priority": s.priority >= 2 && s.gateway == 0, "api": s.api,
        "recipient": s.phone, "message": s.message, "created": s.create_date });
    if with_status {
        v["status"] = json!(if s.status == SendState::Sent {
            "sent"
        } else {
            "failed"
        });
        v["status_code"] = json!(s.status_code);
    }
    v
}

fn sms_list(
    c: &mut Ctx<'_>,
    perm: &str,
    title: &str,
    filter: fn(&Sms) -> bool,
    with_status: bool,
) -> Out {
    c.need(perm)?;
    let pg = c.page()?;
    let st = &*c.st;
    let mut rows: Vec<&Sms> = st
        .sms
        .values()
        .filter(|s| !s.deleted && s.user == c.user && filter(s))
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse((r.create_date, r.id)));
    ok(
        title,
        paginate(rows.into_iter().map(|s| sms_item(st, s, with_status)), pg),
    )
}

fn sms_campaigns(c: &mut Ctx<'_>) -> Out {
    c.need("get_sms_campaigns")?;
    let pg = c.page()?;
    let st = &*c.st;
    let mut rows: Vec<_> = st
        .sms_campaigns
        .values()
        .filter(|x| x.user == c.user)
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse((r.create_date, r.id)));
    let items = rows.into_iter().map(|x| {
        let (sender, stype) = if x.gateway > 0 {
            (json!(x.gateway), "gateway")
        } else {
            (json!(unique_of(st, x.did)), if x.mode == SmsMode::Devices { "device" } else { "partner_device" })
        };
        let status = if x.gateway > 0 {
            "none"
        } else if !st.sms.values().any(|s| !s.deleted && s.cid == x.id && !s.status.is_final()) {
            "completed"
        } else if x.status == CampaignState::Running {
            "running"
        } else {
            "paused"
        };
        json!({ "id": x.id, "sender": sender, "sender_type": stype, "status": status, "name": x.name, "contacts": x.contacts, "created": x.create_date })
    });
    ok("SMS Campaigns", paginate(items, pg))
}

pub(super) fn attachment(p: &Value) -> Value {
    for k in ["image", "video", "document"] {
        if let Some(u) = p.get(k).and_then(|m| m.get("url")) {
            return u.clone();
        }
    }
    json!(false)
}

fn chat_list(
    c: &mut Ctx<'_>,
    perm: &str,
    title: &str,
    filter: fn(SendState) -> bool,
    with_status: bool,
) -> Out {
    c.need(perm)?;
    let pg = c.page()?;
    let st = &*c.st;
    let mut rows: Vec<_> = st
        .chats
        .values()
        .filter(|s| !s.deleted && s.user == c.user && filter(s.status))
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse((r.create_date, r.id)));
    let items = rows.into_iter().map(|s| {
        let message = s.payload.get("text").or_else(|| s.payload.get("caption")).cloned().unwrap_or(Value::Null);
        let message = if message.is_boolean() { Value::Null } else { message };
        let mut v = json!({ "id": s.id, "account": wa_phone(st, s.wa), "api": s.api, "recipient": s.phone,
            "message": message, "attachment": attachment(&s.payload), "created": s.create_date });
        if with_status {
            v["status"] = json!(if s.status == SendState::Sent { "sent" } else { "failed" });
        }
        v
    });
    ok(title, paginate(items, pg))
}

fn wa_campaigns(c: &mut Ctx<'_>) -> Out {
    c.need("get_wa_campaigns")?;
    let pg = c.page()?;
    let st = &*c.st;
    let mut rows: Vec<_> = st
        .wa_campaigns
        .values()
        .filter(|x| x.user == c.user)
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse((r.create_date, r.id)));
    let items = rows.into_iter().map(|x| {
        let status = if !st.chats.values().any(|s| !s.deleted && s.cid == x.id && !s.status.is_final()) {
            "completed"
        } else if x.status == CampaignState::Running {
            "running"
        } else {
            "paused"
        };
        json!({ "id": x.id, "account": wa_phone(st, x.wa), "type": x.kind, "status": status, "name": x.name, "contacts": x.contacts, "created": x.create_date })
    });
    ok("WhatsApp Campaigns", paginate(items, pg))
}

fn wa_servers(c: &mut Ctx<'_>) -> Out {
    c.need("create_whatsapp")?;
    let pkg =
        c.st.package(c.user)
            .cloned()
            .ok_or_else(|| fail(400, "Account is not subscribed to any premium package!"))?;
    let st = &*c.st;
    let items: Vec<Value> = pkg.wa_servers.iter().filter_map(|id| st.world.wa_servers.get(id).map(|s| (id, s))).map(|(id, s)| {
        let total = st.world.wa_accounts.values().filter(|a| a.server == *id && a.status == "connected").count() as i64;
        json!({ "id": id, "name": s.name, "status": if s.reachable && total > 0 { "online" } else { "offline" }, "available": total < s.capacity })
    }).collect();
    if items.is_empty() {
        return bail(404, "No WhatsApp servers available for your subscription!");
    }
    ok("WhatsApp Servers", Value::Array(items))
}

/// One simulated WhatsApp group: JID, name, members as (phone, is_admin).
pub type FakeGroup = (String, String, Vec<(String, bool)>);

/// Deterministic WhatsApp groups of an account: two groups, three members each (one admin).
pub fn fake_groups(unique: &str) -> Vec<FakeGroup> {
    let n: u64 = unique.bytes().map(u64::from).sum::<u64>() % 1000;
    vec![
        (
            format!("1203630{n:03}0001@g.us"),
            "Famille".into(),
            vec![
                ("+224621000001".into(), true),
                ("+224621000002".into(), false),
                ("+224621000003".into(), false),
            ],
        ),
        (
            format!("1203630{n:03}0002@g.us"),
            "Boutique Kaloum".into(),
            vec![
                ("+224655000001".into(), true),
                ("+224655000002".into(), false),
                ("+224655000003".into(), false),
            ],
        ),
    ]
}

fn wa_groups(c: &mut Ctx<'_>, contacts: bool) -> Out {
    c.need("get_wa_groups")?;
    let unique = c.req("unique")?;
    let gid = if contacts { Some(c.req("gid")?) } else { None };
    // No ownership check (Appendix A).
    let Some((_, acc)) = c.st.wa_by_unique(&unique) else {
        return bail(
            500,
            if contacts {
                "Unable to fetch group contacts!"
            } else {
                super::WENT_WRONG
            },
        );
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
    let groups = fake_groups(&unique);
    match gid {
        None => ok(
            "WhatsApp Groups",
            Value::Array(
                groups
                    .iter()
                    .map(|(g, n, _)| json!({ "gid": g, "name": n }))
                    .collect(),
            ),
        ),
        Some(gid) => {
            let members: Vec<Value> = groups
                .iter()
                .filter(|(g, _, _)| *g == gid)
                .flat_map(|(_, _, m)| {
                    m.iter()
                        .filter(|(_, admin)| !admin)
                        .map(|(p, _)| json!({ "phone": p }))
                })
                .collect();
            ok("WhatsApp Group Contacts", Value::Array(members))
        }
    }
}

/// `get/wa.qr` and `get/wa.info`: token instead of secret (2.2.10, 2.2.11).
pub fn qr_token(st: &mut State, action: &str, p: &Params) -> Out {
    let token = p.get("token").ok_or_else(|| fail(400, INVALID))?;
    let now = st.now();
    let Some(t) = st
        .tokens
        .get(token)
        .filter(|t| now - t.created <= 600)
        .cloned()
    else {
        return bail(401, "Invalid token supplied!");
    };
    let Some(key) = st.keys.get(&t.secret) else {
        return bail(401, "Invalid API secret supplied!");
    };
    if !key.has("create_whatsapp") {
        return bail(403, NO_PERMISSION);
    }
    if action == "wa.qr" {
        if t.qr.len() < 200 {
            return bail(400, "QR string is too short to be valid!");
        }
        if st.world.settings.qr_image_fail {
            return bail(500, "Something went wrong while generating the image!");
        }
        return match crate::qr::png(&t.qr) {
            Some(png) => Ok(Reply::Png(png)),
            None => bail(500, "Something went wrong while generating the image!"),
        };
    }
    match t
        .linked
        .filter(|_| t.relink.is_none())
        .and_then(|id| st.world.wa_accounts.get(&id))
    {
        Some(acc) => ok(
            "WhatsApp Information",
            json!({ "wid": acc.wid, "unique": acc.unique }),
        ),
        None => Err(fail(301, "Waiting for WhatsApp information!")),
    }
}
