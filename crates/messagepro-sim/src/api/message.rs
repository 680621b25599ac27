//! `get/sms.message` and `get/wa.message` (spec Q21, the newer build only): one message by `id`
//! and `type` (`sent` or `received`). The sent row has the list's shape plus a status that can
//! also be `pending` or `queued`, so a sender can follow a message by the id `send/sms` returned.
//! The SMS lookup needs the key's `get_message` permission; the chat lookup checks none (like
//! `delete/wa.account`, 2.4). A deleted row, another account's row or an unknown id answers
//! `404 Message doesn't exist!`.

use serde_json::{Value, json};

use super::get::{attachment, sms_item, unique_of, wa_phone};
use super::{Ctx, INVALID, Out, bail, fail, ok};
use crate::params::int_rule;

const FOUND: &str = "Message was found!";
const MISSING: &str = "Message doesn't exist!";

/// Which box: `true` for sent, `false` for received.
fn params(c: &Ctx<'_>) -> Result<(u64, bool), super::Reply> {
    let id =
        c.p.get("id")
            .and_then(int_rule)
            .filter(|n| *n > 0)
            .ok_or_else(|| fail(400, INVALID))?;
    let sent = match c.p.get("type") {
        Some("sent") => true,
        Some("received") => false,
        _ => return bail(400, INVALID),
    };
    Ok((id as u64, sent))
}

pub fn sms(c: &mut Ctx<'_>) -> Out {
    c.need("get_message")?;
    let (id, sent) = params(c)?;
    let st = &*c.st;
    if sent {
        let Some(s) = st.sms.get(&id).filter(|s| !s.deleted && s.user == c.user) else {
            return bail(404, MISSING);
        };
        let mut v = sms_item(st, s, true);
        v["status"] = json!(s.status.word());
        ok(FOUND, v)
    } else {
        let Some(r) = st.received.get(&id).filter(|r| r.user == c.user) else {
            return bail(404, MISSING);
        };
        ok(
            FOUND,
            json!({ "id": r.id, "device": unique_of(st, r.did), "sender": r.phone,
                    "message": r.message, "created": r.receive_date }),
        )
    }
}

pub fn chat(c: &mut Ctx<'_>) -> Out {
    let (id, sent) = params(c)?;
    let st = &*c.st;
    if sent {
        let Some(s) = st.chats.get(&id).filter(|s| !s.deleted && s.user == c.user) else {
            return bail(404, MISSING);
        };
        let message = s
            .payload
            .get("text")
            .or_else(|| s.payload.get("caption"))
            .filter(|m| m.is_string())
            .cloned()
            .unwrap_or(Value::Null);
        ok(
            FOUND,
            json!({ "id": s.id, "account": wa_phone(st, s.wa), "api": s.api, "recipient": s.phone,
                    "message": message, "attachment": attachment(&s.payload),
                    "status": s.status.word(), "created": s.create_date }),
        )
    } else {
        let Some(r) = st.wa_received.get(&id).filter(|r| r.user == c.user) else {
            return bail(404, MISSING);
        };
        ok(
            FOUND,
            json!({ "id": r.id, "account": wa_phone(st, r.wa), "recipient": r.phone,
                    "message": r.message,
                    "attachment": r.attachment.clone().map_or(json!(false), Value::from),
                    "created": r.receive_date }),
        )
    }
}
