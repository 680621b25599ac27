//! `send/whatsapp` and `send/whatsapp.bulk` (2.1): the stored payload shapes (3.9), priority
//! pushes and queued chats, and the bulk campaign.

use super::*;

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

pub(super) fn whatsapp(c: &mut Ctx<'_>) -> Out {
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
    service(c, "whatsapp")?;
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
    content_filter(c, &message, kind.as_deref().is_some_and(|k| k != "text"))?;
    let short = shortener(c)?;
    let template = wa_payload(c, kind.as_deref().unwrap_or("text"), false)?;
    c.db()?;
    let text = pipeline(c.st, c.user, &message, short, true, None);
    let payload = fill_payload(template, &text);
    let srv = wa_server(c.st, wa)?;
    if priority == 1 {
        let ok_send = srv.send_ok;
        insert_chat(
            c.st,
            c.user,
            wa,
            0,
            &to,
            payload,
            if ok_send {
                SendState::Sent
            } else {
                SendState::Failed
            },
            1,
        );
        if !ok_send {
            return bail(500, priority_failed(c.st));
        }
        c.st.quota(c.user).wa_sent += 1;
        ok("WhatsApp chat has been sent!", json!(false))
    } else {
        insert_chat(c.st, c.user, wa, 0, &to, payload, SendState::Pending, 2);
        if !srv.trigger_ok {
            return bail(500, "Failed adding chat to WhatsApp queue!");
        }
        ok("WhatsApp chat has been queued for sending!", json!(false))
    }
}

pub(super) fn whatsapp_bulk(c: &mut Ctx<'_>) -> Out {
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
    service(c, "whatsapp")?;
    content_filter(c, &message, kind != "text")?;
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
            status: CampaignState::Running,
            name,
            contacts: book.len() as i64,
            processed: 0,
            create_date: now,
        },
    );
    let quota_full = limit_reached(c.st.quota(c.user).wa_sent, pkg.wa_send_limit);
    let (date_now, date_time) = date_vars(c.st);
    let base = c.st.base_url.clone();
    let mut ids = Vec::new();
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
        ids.push(insert_chat(
            c.st,
            c.user,
            wa,
            cid,
            to,
            payload,
            SendState::Pending,
            2,
        ));
    }
    let queued = ids.len();
    if queued == 0 {
        return bail(
            500,
            "No chats were queued. Please check the sending limit of your package!",
        );
    }
    if !wa_server(c.st, wa)?.trigger_ok {
        return bail(500, "Failed adding chats to WhatsApp queue!");
    }
    let data = if c.st.flavour.is_current() {
        json!({ "campaignId": cid, "messageIds": ids })
    } else {
        json!(false)
    };
    ok(format!("{queued} chats has been queued for sending!"), data)
}
