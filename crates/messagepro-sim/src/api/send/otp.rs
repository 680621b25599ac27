//! `send/otp` (2.1): mints a code in the caller's namespace and sends it by SMS or WhatsApp.

use super::*;

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

pub(super) fn otp(c: &mut Ctx<'_>) -> Out {
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
            service(c, "sms")?;
            content_filter(c, &message, false)?;
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
                    row.mode = SmsMode::Credits;
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
                        row.status = if gw.callback {
                            SendState::Queued
                        } else {
                            SendState::Sent
                        };
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
            service(c, "whatsapp")?;
            content_filter(c, &message, false)?;
            let wa = wa_account(c, &account, "WhatsApp account is disconnected!")?;
            if limit_reached(c.st.quota(c.user).wa_sent, pkg.wa_send_limit) {
                return bail(403, WA_LIMIT);
            }
            let parsed = phone::variant_a(&phone, &country, true)
                .map(phone::mexico)
                .ok_or_else(|| fail(400, "Invalid phone number!"))?;
            c.db()?;
            let text = pipeline(c.st, c.user, &substituted, None, true, None);
            let srv = wa_server(c.st, wa)?;
            let data = json!({ "phone": parsed.e164, "message": substituted, "otp": code });
            if priority == 1 {
                insert_chat(
                    c.st,
                    c.user,
                    wa,
                    0,
                    &parsed.e164,
                    json!({ "text": text }),
                    if srv.send_ok {
                        SendState::Sent
                    } else {
                        SendState::Failed
                    },
                    1,
                );
                if !srv.send_ok {
                    return bail(500, priority_failed(c.st));
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
                    SendState::Pending,
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
