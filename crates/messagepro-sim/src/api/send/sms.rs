//! `send/sms` (2.1): one SMS through an own device, a gateway or a partner device.

use super::*;

pub(super) fn sms(c: &mut Ctx<'_>) -> Out {
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
    service(c, "sms")?;
    content_filter(c, &message, false)?;
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
            let id = insert_sms(c.st, row);
            ok("Message has been queued for sending!", message_id(c.st, id))
        }
        Some(Credit::Gateway(gid)) => {
            let price = gateway_price(c.st, gid, &parsed.region);
            if credits(c.st, c.user) < price {
                return bail(403, NO_CREDITS);
            }
            let gw =
                c.st.world
                    .gateways
                    .get(&gid)
                    .cloned()
                    .ok_or_else(|| fail(404, NO_GATEWAY))?;
            row.mode = SmsMode::Credits;
            row.gateway = gid;
            row.sim = 0;
            row.priority = 0;
            row.price = price;
            if gw.provider_fails {
                row.status = SendState::Failed;
                insert_sms(c.st, row);
                return bail(500, GATEWAY_FAILED);
            }
            if gw.callback {
                row.status = SendState::Queued;
                row.fetched_at = c.st.now();
                let id = insert_sms(c.st, row);
                ok("Message has been queued for sending!", message_id(c.st, id))
            } else {
                row.status = SendState::Sent;
                deduct(c.st, c.user, price);
                let id = insert_sms(c.st, row);
                ok("Message has been sent!", message_id(c.st, id))
            }
        }
        Some(Credit::Partner(did)) => {
            let price = partner_price(c.st, did);
            if credits(c.st, c.user) < price {
                return bail(403, NO_CREDITS);
            }
            if c.st.world.settings.exchange_fail {
                // nothing stored, success answered (3.5): no id to give
                return ok("Message has been queued for sending!", json!(false));
            }
            row.mode = SmsMode::Credits;
            row.did = did;
            row.sim = partner_sim(c.st, did);
            row.priority = partner_priority(c.st, did);
            row.price = price;
            let id = insert_sms(c.st, row);
            ok("Message has been queued for sending!", message_id(c.st, id))
        }
    }
}
