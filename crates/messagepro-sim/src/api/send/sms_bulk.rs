//! `send/sms.bulk` (2.1): a platform campaign over numbers and contact groups, personalised per
//! recipient.

use super::*;

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

pub(super) fn sms_bulk(c: &mut Ctx<'_>) -> Out {
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
    service(c, "sms")?;
    content_filter(c, &message, false)?;
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
        (None, Some(d)) => (d, 0, SmsMode::Devices),
        (Some(Credit::Gateway(g)), _) => (0, *g, SmsMode::Credits),
        (Some(Credit::Partner(d)), _) => (*d, 0, SmsMode::Credits),
        _ => (0, 0, SmsMode::Devices),
    };
    c.st.sms_campaigns.insert(
        cid,
        SmsCampaign {
            id: cid,
            user: c.user,
            did,
            gateway,
            mode: mode_n,
            status: CampaignState::Running,
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
            let gw =
                c.st.world
                    .gateways
                    .get(&gid)
                    .cloned()
                    .ok_or_else(|| fail(404, NO_GATEWAY))?;
            for r in &book {
                let price = gateway_price(c.st, gid, &r.region);
                if credits(c.st, c.user) < price {
                    continue;
                }
                let text = pipeline(c.st, c.user, &message, short, false, None);
                let mut row = sms_row(c, &r.phone, text);
                row.cid = cid;
                row.mode = SmsMode::Credits;
                row.gateway = gid;
                row.sim = 0;
                row.priority = 0;
                row.price = price;
                row.status = if gw.provider_fails {
                    SendState::Failed
                } else if gw.callback {
                    row.fetched_at = now;
                    SendState::Queued
                } else {
                    deduct(c.st, c.user, price);
                    SendState::Sent
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
                    row.mode = SmsMode::Credits;
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
