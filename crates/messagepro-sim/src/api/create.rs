//! Group `create` (2.3): WhatsApp linking tokens (`wa.link`, `wa.relink`), contacts and groups.

use serde_json::json;

use super::{Ctx, INVALID, Out, WA_UNREACHABLE, bail, fail, ok};
use crate::model::{Contact, Group, QrToken, limit_reached};
use crate::phone;

const NOT_SUBSCRIBED: &str = "Account is not subscribed to any premium package!";

/// Longest QR string a WhatsApp server hands out, whatever `qr_len` says (longer than any QR
/// code can hold, so `get/wa.qr` then fails to render like a real oversized string).
const MAX_QR_LEN: usize = 8192;

pub fn dispatch(c: &mut Ctx<'_>, action: &str) -> Out {
    match action {
        "wa.link" => link(c, false),
        "wa.relink" => link(c, true),
        "contact" => contact(c),
        "group" => group(c),
        _ => bail(400, "Invalid API Endpoint!"),
    }
}

fn link(c: &mut Ctx<'_>, relink: bool) -> Out {
    c.need("create_whatsapp")?;
    let sid = c.req("sid")?;
    let unique = if relink { Some(c.req("unique")?) } else { None };
    let pkg =
        c.st.package(c.user)
            .cloned()
            .ok_or_else(|| fail(400, NOT_SUBSCRIBED))?;
    let count =
        c.st.world
            .wa_accounts
            .values()
            .filter(|a| a.user == c.user)
            .count() as i64;
    if limit_reached(count, pkg.wa_account_limit) {
        return bail(
            400,
            "You have reached the maximum allowed WhatsApp accounts for your package!",
        );
    }
    let relink_id = match &unique {
        Some(u) => match c.st.wa_by_unique(u) {
            Some((id, a)) if a.user == c.user => Some(id),
            _ => return bail(404, "WhatsApp account doesn't exist!"),
        },
        None => None,
    };
    let Some(server) = sid
        .parse::<u64>()
        .ok()
        .and_then(|id| c.st.world.wa_servers.get(&id).map(|s| (id, s.clone())))
    else {
        return bail(400, "WhatsApp server is not available!");
    };
    if !server.1.reachable {
        return bail(500, WA_UNREACHABLE);
    }
    if let Some(id) = relink_id
        && let Some(a) = c.st.world.wa_accounts.get_mut(&id)
    {
        // The old session is deleted on the server before a new QR is requested.
        a.status = "disconnected".into();
    }
    if !server.1.qr_ok {
        return bail(500, "Unable to generate WhatsApp QRCode!");
    }
    // capped: a server patched with an absurd length must not loop for ever under the lock
    let qr_len = server.1.qr_len.min(MAX_QR_LEN);
    let mut qr = format!("2@{}", c.st.hex(64));
    while qr.len() < qr_len {
        let more = c.st.hex(32);
        qr.push(',');
        qr.push_str(&more);
    }
    qr.truncate(qr_len.max(3));
    let token = c.st.hex(40);
    let now = c.st.now();
    c.st.tokens.insert(
        token.clone(),
        QrToken {
            secret: c.secret.clone(),
            server: server.0,
            qr: qr.clone(),
            created: now,
            relink: relink_id,
            linked: None,
        },
    );
    let base = &c.st.base_url;
    let mut data =
        json!({ "qrstring": qr, "qrimagelink": format!("{base}/api/get/wa.qr?token={token}") });
    if !relink {
        data["infolink"] = json!(format!("{base}/api/get/wa.info?token={token}"));
    }
    ok("WhatsApp QRCode has been created!", data)
}

fn contact(c: &mut Ctx<'_>) -> Out {
    c.need("create_contact")?;
    let (Some(name), Some(phone), Some(groups)) = (c.opt("name"), c.opt("phone"), c.opt("groups"))
    else {
        return bail(400, INVALID);
    };
    let pkg =
        c.st.package(c.user)
            .cloned()
            .ok_or_else(|| fail(400, NOT_SUBSCRIBED))?;
    let count = c.st.contacts.values().filter(|x| x.user == c.user).count() as i64;
    if limit_reached(count, pkg.contact_limit) {
        return bail(400, "You have reached the maximum allowed contacts!");
    }
    if name.len() < 3 {
        return bail(400, "Contact name is too short!");
    }
    let country = c.account()?.country.clone();
    let parsed = phone::variant_a(&phone, &country, false)
        .ok_or_else(|| fail(400, "Invalid phone number!"))?;
    for g in groups.split(',') {
        let owned = g
            .trim()
            .parse::<u64>()
            .ok()
            .and_then(|id| c.st.groups.get(&id))
            .is_some_and(|x| x.user == c.user);
        if !owned {
            return bail(400, format!("Group #{g} is invalid!"));
        }
    }
    if c.st
        .contacts
        .values()
        .any(|x| x.user == c.user && x.phone == parsed.e164)
    {
        return bail(400, "Phone number already exist in your contact book!");
    }
    c.db()?;
    c.st.ids.contact += 1;
    let id = c.st.ids.contact;
    c.st.contacts.insert(
        id,
        Contact {
            id,
            user: c.user,
            groups,
            phone: parsed.e164,
            name,
        },
    );
    ok("Contact has been created!", json!(false))
}

fn group(c: &mut Ctx<'_>) -> Out {
    c.need("create_group")?;
    let name = c.req("name")?;
    if name.len() < 3 {
        return bail(400, "Group name is too short!");
    }
    c.db()?;
    c.st.ids.group += 1;
    let id = c.st.ids.group;
    c.st.groups.insert(
        id,
        Group {
            id,
            user: c.user,
            name,
        },
    );
    ok("Contact group has been created!", json!(false))
}
