//! Group `delete` (2.4): owner-scoped deletions that succeed for unknown ids, with the
//! `sms.campaign` (`campaign` + `id`), `wa.account` (no permission) and `wa.campaign`
//! (`delete_wa_sent`) quirks.

use serde_json::json;

use super::{Ctx, INVALID, Out, WA_UNREACHABLE, bail, fail, ok};
use crate::params::int_rule;

pub fn dispatch(c: &mut Ctx<'_>, action: &str) -> Out {
    let (perm, msg) = match action {
        "contact" => ("delete_contact", "Contact has been deleted!"),
        "group" => ("delete_group", "Contact group has been deleted!"),
        "unsubscribed" => (
            "delete_unsubscribed",
            "Unsubscribed contact has been deleted!",
        ),
        "sms.sent" => ("delete_sms_sent", "Sent SMS has been deleted!"),
        "sms.campaign" => ("delete_sms_campaign", "SMS campaign has been deleted!"),
        "sms.received" => ("delete_sms_received", "Received SMS has been deleted!"),
        "wa.account" => ("", "WhatsApp account has been deleted!"),
        "wa.sent" => ("delete_wa_sent", "Sent WhatsApp chat has been deleted!"),
        "wa.campaign" => ("delete_wa_sent", "WhatsApp campaign has been deleted!"),
        "wa.received" => (
            "delete_wa_received",
            "Received WhatsApp chat has been deleted!",
        ),
        "ussd" => ("delete_ussd", "USSD request has been deleted!"),
        "notification" => ("delete_notification", "Notification has been deleted!"),
        _ => return bail(400, "Invalid API Endpoint!"),
    };
    if action == "wa.account" {
        let unique = c.opt("unique").unwrap_or_default();
        let Some((id, _)) = c.st.wa_by_unique(&unique).filter(|(_, a)| a.user == c.user) else {
            return bail(404, "WhatsApp account doesn't exist!");
        };
        c.db()?;
        c.st.world.wa_accounts.remove(&id);
        return ok(msg, json!(false));
    }
    c.need(perm)?;
    let id =
        c.p.get("id")
            .and_then(int_rule)
            .ok_or_else(|| fail(400, INVALID))?;
    let id = id.max(0) as u64;
    let user = c.user;
    let st = &mut *c.st;
    match action {
        "sms.campaign" => {
            let camp =
                c.p.get("campaign")
                    .and_then(int_rule)
                    .ok_or_else(|| fail(400, INVALID))?;
            if st
                .sms_campaigns
                .get(&(camp.max(0) as u64))
                .is_none_or(|x| x.user != user)
            {
                return bail(400, INVALID);
            }
            if st.world.settings.db_fail {
                return bail(500, super::WENT_WRONG);
            }
            // Bug reproduced: existence checked with `campaign`, deletion uses `id`.
            if st.sms_campaigns.get(&id).is_some_and(|x| x.user == user) {
                st.sms_campaigns.remove(&id);
                st.sms
                    .values_mut()
                    .filter(|s| s.cid == id && s.user == user)
                    .for_each(|s| s.deleted = true);
            }
        }
        "wa.campaign" => {
            if st.wa_campaigns.get(&id).is_none_or(|x| x.user != user) {
                return bail(400, INVALID);
            }
            if st.world.settings.db_fail {
                return bail(500, super::WENT_WRONG);
            }
            st.wa_campaigns.remove(&id);
            st.chats
                .values_mut()
                .filter(|s| s.cid == id && s.user == user)
                .for_each(|s| s.deleted = true);
        }
        _ => {
            if st.world.settings.db_fail {
                return bail(500, super::WENT_WRONG);
            }
            match action {
                "contact" => remove_if(&mut st.contacts, id, |x| x.user == user),
                "group" => remove_if(&mut st.groups, id, |x| x.user == user),
                "unsubscribed" => remove_if(&mut st.unsubscribed, id, |x| x.user == user),
                "sms.sent" => {
                    if let Some(s) = st.sms.get_mut(&id).filter(|s| s.user == user) {
                        s.deleted = true;
                    }
                }
                "sms.received" => remove_if(&mut st.received, id, |x| x.user == user),
                "wa.sent" => {
                    if let Some(s) = st
                        .chats
                        .get_mut(&id)
                        .filter(|s| s.user == user && !s.deleted)
                    {
                        s.deleted = true;
                        let queued = !s.status.is_final();
                        let server = st.world.wa_accounts.get(&s.wa).map(|a| a.server);
                        let reachable = server
                            .and_then(|sv| st.world.wa_servers.get(&sv))
                            .is_some_and(|sv| sv.reachable);
                        if queued && !reachable {
                            return bail(500, WA_UNREACHABLE);
                        }
                    }
                }
                "wa.received" => remove_if(&mut st.wa_received, id, |x| x.user == user),
                "ussd" => remove_if(&mut st.ussd, id, |x| x.user == user),
                _ => remove_if(&mut st.notifications, id, |x| x.user == user),
            }
        }
    }
    ok(msg, json!(false))
}

/// Removes row `id` only when it belongs to the caller (deleting someone else's id is a no-op).
fn remove_if<T>(m: &mut std::collections::BTreeMap<u64, T>, id: u64, owned: impl Fn(&T) -> bool) {
    if m.get(&id).is_some_and(owned) {
        m.remove(&id);
    }
}
