//! Groups `remote` (2.5, campaign pause/resume), `clear` (2.6, pending USSD) and `validate`
//! (2.7, WhatsApp number check). All three answer `500 Invalid API Endpoint!` for unknown actions.

use serde_json::json;

use super::{Ctx, INVALID, Out, WA_UNREACHABLE, bail, fail, ok};
use crate::model::{CampaignState, SmsMode, UssdState};
use crate::params::int_rule;

pub fn dispatch(c: &mut Ctx<'_>, group: &str, action: &str) -> Out {
    match (group, action) {
        ("remote", "start.sms") => sms(
            c,
            "start_sms_campaign",
            CampaignState::Running,
            "SMS campaign has been resumed!",
        ),
        ("remote", "stop.sms") => sms(
            c,
            "stop_sms_campaign",
            CampaignState::Paused,
            "SMS campaign has been paused!",
        ),
        ("remote", "start.chats") => chats(
            c,
            "start_wa_campaign",
            CampaignState::Running,
            "WhatsApp campaign has been resumed!",
        ),
        ("remote", "stop.chats") => chats(
            c,
            "stop_wa_campaign",
            CampaignState::Paused,
            "WhatsApp campaign has been paused!",
        ),
        // Q21: the newer build dropped `clear/ussd` (the group's unknown-action answer)
        ("clear", "ussd") if c.st.flavour.is_current() => bail(500, "Invalid API Endpoint!"),
        ("clear", "ussd") => {
            c.need("clear_ussd_pending")?;
            let user = c.user;
            c.st.ussd
                .retain(|_, u| !(u.user == user && u.status != UssdState::Completed));
            ok("Pending USSD requests has been cleared!", json!(false))
        }
        ("validate", "whatsapp") => validate(c),
        _ => bail(500, "Invalid API Endpoint!"),
    }
}

fn campaign_id(c: &Ctx<'_>) -> Result<u64, super::Reply> {
    let v =
        c.p.get("campaign")
            .and_then(int_rule)
            .ok_or_else(|| fail(400, INVALID))?;
    Ok(v.max(0) as u64)
}

fn sms(c: &mut Ctx<'_>, perm: &str, status: CampaignState, msg: &str) -> Out {
    c.need(perm)?;
    let id = campaign_id(c)?;
    let user = c.user;
    let Some(camp) = c.st.sms_campaigns.get_mut(&id).filter(|x| x.user == user) else {
        return bail(400, INVALID);
    };
    if camp.mode == SmsMode::Credits {
        return ok("Action is not supported in this campaign!", json!(false));
    }
    camp.status = status;
    ok(msg, json!(false))
}

fn chats(c: &mut Ctx<'_>, perm: &str, status: CampaignState, msg: &str) -> Out {
    c.need(perm)?;
    let id = campaign_id(c)?;
    let user = c.user;
    let Some(camp) = c.st.wa_campaigns.get_mut(&id).filter(|x| x.user == user) else {
        return bail(400, INVALID);
    };
    camp.status = status;
    ok(msg, json!(false))
}

fn validate(c: &mut Ctx<'_>) -> Out {
    c.need("validate_wa_phone")?;
    let (Some(unique), Some(phone)) = (c.opt("unique"), c.opt("phone")) else {
        return bail(400, INVALID);
    };
    let Some((_, acc)) = c.st.wa_by_unique(&unique).filter(|(_, a)| a.user == c.user) else {
        return bail(404, "WhatsApp account doesn't exist!");
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
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let e164 = format!("+{digits}");
    let exists = digits.len() >= 8
        && crate::phone::variant_b(&digits).is_some()
        && !c.st.world.settings.wa_unknown_numbers.contains(&e164);
    if !exists {
        return bail(404, "WhatsApp phone number does not exist!");
    }
    ok(
        "WhatsApp phone number is valid!",
        json!({ "jid": format!("{digits}@s.whatsapp.net"), "phone": e164 }),
    )
}
