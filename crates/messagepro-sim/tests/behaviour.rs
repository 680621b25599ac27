//! Behaviour beyond the failure rows: success answers, transport rules (query/form/multipart/
//! JSON, form beats query, `+` handling, any method), escaping, the pagination gap, priority and
//! SIM listing quirks, OTP semantics, the life cycle, campaigns and the ledger.

mod common;

use common::{expect, sim};
use serde_json::{Value, json};

#[tokio::test]
async fn success_answers_and_side_effects() {
    let t = sim().await;
    let base = json!({ "mode": "devices", "phone": "+224621234567", "message": "Bonjour", "device": "{online}" });
    expect(
        &t.api("/api/send/sms", base.clone()).await,
        200,
        "Message has been queued for sending!",
    );
    // Gateway without callback: sent now, credits deducted (GN price 450 on gateway 2).
    let v = t
        .api(
            "/api/send/sms",
            json!({ "mode": "credits", "gateway": "2", "phone": "+224621234567", "message": "x" }),
        )
        .await;
    expect(&v, 200, "Message has been sent!");
    assert_eq!(v["data"], json!(false));
    let credits = t.api("/api/get/credits", json!({})).await;
    expect(&credits, 200, "Remaining Credits");
    assert_eq!(
        credits["data"],
        json!({ "credits": "49550", "currency": "GNF" })
    );
    // Gateway with callback: stored 2 → in neither list; partner: pending.
    expect(
        &t.api(
            "/api/send/sms",
            json!({ "mode": "credits", "gateway": "1", "phone": "+33612345678", "message": "y" }),
        )
        .await,
        200,
        "Message has been queued for sending!",
    );
    expect(&t.api("/api/send/sms", json!({ "mode": "credits", "gateway": "{partner}", "phone": "+224621234567", "message": "z" })).await, 200, "Message has been queued for sending!");
    let pending = t.list("/api/get/sms.pending").await;
    assert_eq!(pending.len(), 2, "{pending:?}");
    assert!(
        pending
            .iter()
            .any(|p| p["sender_type"] == "partner_device" && p["mode"] == "credits")
    );
    assert!(
        pending
            .iter()
            .all(|p| p.get("status").is_none() && p.get("status_code").is_none())
    );
    let sent = t.list("/api/get/sms.sent").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["sender"], "Twilio");
    assert_eq!(sent[0]["sender_type"], "gateway");
    assert_eq!(sent[0]["sim"], 0);
    assert_eq!(sent[0]["status"], "sent");

    expect(
        &t.api("/api/get/earnings", json!({})).await,
        200,
        "Partner Earnings",
    );
    let sub = t.api("/api/get/subscription", json!({})).await;
    expect(&sub, 200, "Subscription Package");
    assert_eq!(sub["data"]["usage"]["contacts"]["used"], 4);
    assert_eq!(sub["data"]["usage"]["apikeys"]["used"], 2);
    let rates = t.api("/api/get/rates", json!({})).await;
    expect(&rates, 200, "Gateway Rates");
    assert_eq!(
        rates["data"]["gateways"][0]["pricing"]["countries"]["gn"],
        "250"
    );
    assert_eq!(
        rates["data"]["partners"].as_array().map(Vec::len),
        Some(1),
        "only shared devices of other users"
    );
    assert_eq!(rates["data"]["partners"][0]["rate"], 150);
    assert_eq!(rates["data"]["partners"][0]["owner"], "partner@example.com");
    let devices = t.list("/api/get/devices").await;
    assert_eq!(devices.len(), 2);
    assert_eq!(devices[0]["version"], "Android 12");
    assert_eq!(devices[1]["online"], true);
    let servers = t.api("/api/get/wa.servers", json!({})).await;
    expect(&servers, 200, "WhatsApp Servers");
    assert_eq!(servers["data"][0]["status"], "online");
    let accounts = t.list("/api/get/wa.accounts").await;
    assert_eq!(
        accounts
            .iter()
            .map(|a| a["status"].as_str().unwrap_or(""))
            .collect::<Vec<_>>(),
        ["disconnected", "connected"]
    );
    expect(
        &t.api("/api/get/shorteners", json!({})).await,
        200,
        "Available Shorteners",
    );
    let groups = t
        .api("/api/get/wa.groups", json!({ "unique": "{wa}" }))
        .await;
    expect(&groups, 200, "WhatsApp Groups");
    let gid = groups["data"][0]["gid"].as_str().expect("gid").to_string();
    let members = t
        .api(
            "/api/get/wa.group.contacts",
            json!({ "unique": "{wa}", "gid": gid }),
        )
        .await;
    expect(&members, 200, "WhatsApp Group Contacts");
    assert_eq!(
        members["data"].as_array().map(Vec::len),
        Some(2),
        "admins excluded"
    );

    // WhatsApp: queued (default), sent (priority 1), bulk count; payload shapes.
    expect(
        &t.api(
            "/api/send/whatsapp",
            json!({ "account": "{wa}", "recipient": "+224621234567", "message": "Salut" }),
        )
        .await,
        200,
        "WhatsApp chat has been queued for sending!",
    );
    expect(&t.api("/api/send/whatsapp", json!({ "account": "{wa}", "recipient": "+525512345678", "message": "Hola", "priority": "1" })).await, 200, "WhatsApp chat has been sent!");
    expect(&t.api("/api/send/whatsapp", json!({ "account": "{wa}", "recipient": "120363000@g.us", "message": "Doc", "type": "document", "document_url": "https://x.example/f.pdf", "document_type": "pdf" })).await, 200, "WhatsApp chat has been queued for sending!");
    let wa_sent = t.list("/api/get/wa.sent").await;
    assert_eq!(wa_sent[0]["recipient"], "+5215512345678", "Mexico rule");
    assert_eq!(wa_sent[0]["account"], "+224621000111");
    let wa_pending = t.list("/api/get/wa.pending").await;
    assert_eq!(wa_pending[0]["attachment"], "https://x.example/f.pdf");
    assert_eq!(wa_pending[0]["recipient"], "120363000@g.us");
    expect(&t.api("/api/send/whatsapp.bulk", json!({ "account": "{wa}", "campaign": "Fete", "type": "text", "message": "Bonne fete {{contact.name}} {{unsubscribe.command}}", "recipients": "+224621234567,bad", "groups": "1" })).await, 200, "3 chats has been queued for sending!");
    let camp = t.list("/api/get/wa.campaigns").await;
    assert_eq!(camp[0]["contacts"], 3);
    assert_eq!(camp[0]["status"], "running");
    let texts: Vec<String> = t
        .sim
        .ledger()
        .iter()
        .filter(|l| l.campaign == 1 && l.kind == "whatsapp")
        .map(|l| l.text.clone())
        .collect();
    assert!(
        texts.contains(&"Bonne fete Mamadou Diallo STOP".to_string()),
        "{texts:?}"
    );

    // USSD, contacts, groups, deletes (unknown ids succeed), clear, validate.
    expect(
        &t.api(
            "/api/send/ussd",
            json!({ "code": "*123#", "sim": "1", "device": "{online}" }),
        )
        .await,
        200,
        "USSD request has been queued!",
    );
    let ussd = t.list("/api/get/ussd").await;
    assert_eq!(ussd[0]["sim"], 2, "bug reproduced: sim always 2");
    assert_eq!(ussd[0]["status"], "pending");
    expect(
        &t.api("/api/clear/ussd", json!({})).await,
        200,
        "Pending USSD requests has been cleared!",
    );
    assert!(t.list("/api/get/ussd").await.is_empty());
    expect(
        &t.api("/api/create/group", json!({ "name": "VIP" })).await,
        200,
        "Contact group has been created!",
    );
    expect(
        &t.api(
            "/api/create/contact",
            json!({ "name": "Alpha", "phone": "620112233", "groups": "4" }),
        )
        .await,
        200,
        "Contact has been created!",
    );
    let contacts = t.list("/api/get/contacts").await;
    assert_eq!(
        contacts[0],
        json!({ "id": 5, "groups": ["4"], "phone": "+224620112233", "name": "Alpha" })
    );
    expect(
        &t.api("/api/delete/contact", json!({ "id": "999" })).await,
        200,
        "Contact has been deleted!",
    );
    expect(
        &t.api("/api/delete/contact", json!({ "id": "5" })).await,
        200,
        "Contact has been deleted!",
    );
    assert_eq!(t.list("/api/get/contacts").await.len(), 4);
    expect(
        &t.api("/api/delete/group", json!({ "id": "4" })).await,
        200,
        "Contact group has been deleted!",
    );
    expect(
        &t.api("/api/delete/sms.sent", json!({ "id": "1" })).await,
        200,
        "Sent SMS has been deleted!",
    );
    expect(
        &t.api("/api/delete/wa.received", json!({ "id": "12" }))
            .await,
        200,
        "Received WhatsApp chat has been deleted!",
    );
    let v = t
        .api(
            "/api/validate/whatsapp",
            json!({ "unique": "{wa}", "phone": "+224621234567" }),
        )
        .await;
    expect(&v, 200, "WhatsApp phone number is valid!");
    assert_eq!(
        v["data"],
        json!({ "jid": "224621234567@s.whatsapp.net", "phone": "+224621234567" })
    );
    // delete/wa.account needs no permission: the restricted key can do it.
    let v = t
        .api(
            "/api/delete/wa.account",
            json!({ "secret": "{restricted}", "unique": "{wa_off}" }),
        )
        .await;
    expect(&v, 200, "WhatsApp account has been deleted!");
    assert_eq!(t.list("/api/get/wa.accounts").await.len(), 1);
    // /api without group: bare 401 envelope.
    let v = t.form("/api", json!({})).await;
    assert_eq!(v, json!({ "status": 401, "message": false, "data": false }));
}

#[tokio::test]
async fn transport_rules() {
    let t = sim().await;
    let p = json!({ "secret": "{full}", "mode": "devices", "phone": "+224621234567", "message": "q", "device": "{online}" });
    // Query string, form, multipart.
    expect(
        &t.query("/api/send/sms", p.clone()).await,
        200,
        "Message has been queued for sending!",
    );
    expect(
        &t.form("/api/send/sms", p.clone()).await,
        200,
        "Message has been queued for sending!",
    );
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in t.pairs(&p) {
        form = form.text(k, v);
    }
    let r = t
        .http
        .post(t.url("/api/send/sms"))
        .multipart(form)
        .send()
        .await
        .expect("multipart");
    expect(
        &common::envelope(r).await,
        200,
        "Message has been queued for sending!",
    );
    // JSON body ignored → 400 Invalid Parameters! (HTTP 200).
    let body: serde_json::Map<String, Value> = t
        .pairs(&p)
        .into_iter()
        .map(|(k, v)| (k, json!(v)))
        .collect();
    let r = t
        .http
        .post(t.url("/api/send/sms"))
        .json(&body)
        .send()
        .await
        .expect("json");
    expect(&common::envelope(r).await, 400, "Invalid Parameters!");
    // Form wins over query: query has a bad secret, form the good one.
    let r = t
        .http
        .post(t.url("/api/get/credits"))
        .query(&[("secret", "wrong")])
        .form(&[("secret", t.fx.secrets.full.as_str())])
        .send()
        .await
        .expect("req");
    expect(&common::envelope(r).await, 200, "Remaining Credits");
    let r = t
        .http
        .post(t.url("/api/get/credits"))
        .query(&[("secret", t.fx.secrets.full.as_str())])
        .form(&[("secret", "wrong")])
        .send()
        .await
        .expect("req");
    expect(
        &common::envelope(r).await,
        401,
        "Invalid API secret supplied!",
    );
    // Any method; OPTIONS pre-flight answers 400 with CORS.
    for m in [
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
    ] {
        let r = t
            .http
            .request(m, t.url("/api/get/credits"))
            .query(&[("secret", t.fx.secrets.full.as_str())])
            .send()
            .await
            .expect("req");
        expect(&common::envelope(r).await, 200, "Remaining Credits");
    }
    let r = t
        .http
        .request(reqwest::Method::OPTIONS, t.url("/api/send/sms"))
        .send()
        .await
        .expect("options");
    expect(&common::envelope(r).await, 400, "Invalid Parameters!");
    // Values are trimmed; `+` raw in a query string decodes to a space (then trimmed away):
    // send/sms forces `+` back (variant B), create/contact reads the digits in the GN plan.
    let url = format!(
        "{}/api/send/sms?secret={}&mode=devices&phone=+224621234567&message=%20plus%20&device={}",
        t.sim.url(),
        t.fx.secrets.full,
        t.fx.devices.as_ref().expect("d").online.unique
    );
    expect(
        &common::envelope(t.http.get(url).send().await.expect("req")).await,
        200,
        "Message has been queued for sending!",
    );
    let pending = t.list("/api/get/sms.pending").await;
    assert_eq!(pending[0]["message"], "plus");
    assert_eq!(pending[0]["recipient"], "+224621234567");
    let url = format!(
        "{}/api/create/contact?secret={}&name=Raw%20Plus&phone=+33612345678&groups=1",
        t.sim.url(),
        t.fx.secrets.full
    );
    expect(
        &common::envelope(t.http.get(url).send().await.expect("req")).await,
        400,
        "Invalid phone number!",
    );
    let url = format!(
        "{}/api/create/contact?secret={}&name=Encoded%20Plus&phone=%2B33612345678&groups=1",
        t.sim.url(),
        t.fx.secrets.full
    );
    expect(
        &common::envelope(t.http.get(url).send().await.expect("req")).await,
        200,
        "Contact has been created!",
    );
    // Unknown group: framework page, not the envelope.
    let r = t.http.get(t.url("/api/nope/x")).send().await.expect("req");
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn escaping_and_lengths() {
    let t = sim().await;
    let send = |m: &str| json!({ "mode": "devices", "phone": "+224621234567", "message": m, "device": "{online}" });
    expect(
        &t.api("/api/send/sms", send(r#"<b>"A&B'</b>"#)).await,
        200,
        "Message has been queued for sending!",
    );
    let p = t.list("/api/get/sms.pending").await;
    assert_eq!(p[0]["message"], "&lt;b&gt;&quot;A&amp;B&#039;&lt;/b&gt;");
    // A whole-value URL is not escaped.
    expect(
        &t.api("/api/send/sms", send("https://x.example/?a=1&b=2"))
            .await,
        200,
        "Message has been queued for sending!",
    );
    assert_eq!(
        t.list("/api/get/sms.pending").await[0]["message"],
        "https://x.example/?a=1&b=2"
    );
    // Limits count escaped bytes: "a&b" is 7 bytes.
    t.ctl(
        "/_sim/platform",
        json!({ "settings": { "message_max": 7 } }),
    )
    .await;
    expect(
        &t.api("/api/send/sms", send("a&b")).await,
        200,
        "Message has been queued for sending!",
    );
    expect(
        &t.api("/api/send/sms", send("a&bc")).await,
        400,
        "Message is too long!",
    );
    // Multi-byte text counts bytes, not characters: "éé" = 4 bytes.
    t.ctl(
        "/_sim/platform",
        json!({ "settings": { "message_max": 3 } }),
    )
    .await;
    expect(
        &t.api("/api/send/sms", send("éé")).await,
        400,
        "Message is too long!",
    );
    // Footer (package footermark 1) and spintax on devices sends; shortener replaces URLs.
    t.ctl("/_sim/platform", json!({ "settings": { "message_max": 0, "footer": "Envoye par Message Pro" }, "packages": { "1": { "footermark": 1 } } })).await;
    expect(
        &t.api(
            "/api/send/sms",
            send("{Salut|Salut} voir http://long.example/page"),
        )
        .await,
        200,
        "Message has been queued for sending!",
    );
    let m = t.list("/api/get/sms.pending").await[0]["message"]
        .as_str()
        .expect("msg")
        .to_string();
    assert_eq!(
        m,
        "Salut voir http://long.example/page\n\nEnvoye par Message Pro"
    );
    let mut p = send("go http://long.example/page");
    p["shortener"] = json!("1");
    expect(
        &t.api("/api/send/sms", p).await,
        200,
        "Message has been queued for sending!",
    );
    let m = t.list("/api/get/sms.pending").await[0]["message"]
        .as_str()
        .expect("msg")
        .to_string();
    assert!(
        m.starts_with("go https://sho.rt/1") && !m.contains("long.example"),
        "{m}"
    );
}

#[tokio::test]
async fn pagination_gap() {
    let t = sim().await;
    for i in 0..32 {
        expect(
            &t.api(
                "/api/create/group",
                json!({ "name": format!("Group {i:02}") }),
            )
            .await,
            200,
            "Contact group has been created!",
        );
    }
    let ids = |v: &Value| {
        v["data"]
            .as_array()
            .expect("array")
            .iter()
            .map(|g| g["id"].as_u64().expect("id"))
            .collect::<Vec<_>>()
    };
    let page = |p: &str, l: &str| t.api("/api/get/groups", json!({ "page": p, "limit": l }));
    assert_eq!(
        ids(&page("1", "10").await),
        (26..=35).rev().collect::<Vec<_>>()
    );
    assert_eq!(
        ids(&page("2", "10").await),
        (6..=15).rev().collect::<Vec<_>>(),
        "page 2 starts at row 20"
    );
    assert_eq!(
        ids(&page("3", "10").await),
        (1..=5).rev().collect::<Vec<_>>()
    );
    assert_eq!(
        ids(&page("0", "10").await),
        (26..=35).rev().collect::<Vec<_>>()
    );
    assert!(ids(&page("1", "0").await).is_empty());
    assert_eq!(
        ids(&page("-1", "-3").await),
        vec![35, 34, 33],
        "absolute values"
    );
    assert_eq!(
        ids(&t.api("/api/get/groups", json!({})).await).len(),
        10,
        "default limit 10"
    );
}

#[tokio::test]
async fn priority_and_sim_quirks() {
    let t = sim().await;
    let send = |extra: Value| {
        let mut p = json!({ "mode": "devices", "phone": "+224621234567", "message": "p", "device": "{online}" });
        for (k, v) in extra.as_object().expect("obj") {
            p[k] = v.clone();
        }
        p
    };
    for (prio, sim) in [
        (None, None),
        (Some("1"), Some("2")),
        (Some("2"), Some("0")),
        (Some("-4"), Some("7")),
    ] {
        let mut extra = json!({});
        if let Some(p) = prio {
            extra["priority"] = json!(p);
        }
        if let Some(s) = sim {
            extra["sim"] = json!(s);
        }
        expect(
            &t.api("/api/send/sms", send(extra)).await,
            200,
            "Message has been queued for sending!",
        );
    }
    let listed: Vec<(bool, u64)> = t
        .list("/api/get/sms.pending")
        .await
        .iter()
        .rev()
        .map(|m| {
            (
                m["priority"].as_bool().expect("b"),
                m["sim"].as_u64().expect("s"),
            )
        })
        .collect();
    assert_eq!(listed, vec![(false, 1), (false, 2), (true, 1), (false, 2)]);
    // Bulk: priority=1 → stored 2 → listed true.
    expect(&t.api("/api/send/sms.bulk", json!({ "mode": "devices", "campaign": "B", "numbers": "224621234567", "message": "b", "device": "{online}", "priority": "1" })).await, 200, "Bulk messages has been queued for sending!");
    assert_eq!(t.list("/api/get/sms.pending").await[0]["priority"], true);
    // Partner devices store their own partner priority (flag "no" → stored 2 → listed true).
    expect(&t.api("/api/send/sms", json!({ "mode": "credits", "gateway": "{partner}", "phone": "+224621234567", "message": "pp", "priority": "1" })).await, 200, "Message has been queued for sending!");
    assert_eq!(t.list("/api/get/sms.pending").await[0]["priority"], true);
}

#[tokio::test]
async fn otp_semantics() {
    let t = sim().await;
    let send = json!({ "type": "sms", "mode": "devices", "device": "{online}", "phone": "621234567", "message": "Votre code: {{ otp }}" });
    let v = t.api("/api/send/otp", send.clone()).await;
    expect(&v, 200, "OTP has been sent!");
    let code = v["data"]["otp"].as_i64().expect("otp int");
    assert!((100_000..=999_999).contains(&code));
    assert_eq!(
        v["data"]["phone"], "+224621234567",
        "variant A: local GN number accepted"
    );
    assert_eq!(v["data"]["message"], format!("Votre code: {code}"));
    // Another key of the same user cannot verify (per-secret namespace).
    t.ctl(
        "/_sim/key",
        json!({ "secret": "second-key", "permissions": ["otp"] }),
    )
    .await;
    expect(
        &t.api(
            "/api/get/otp",
            json!({ "secret": "second-key", "otp": code.to_string() }),
        )
        .await,
        403,
        "OTP is invalid or expired!",
    );
    // A leading zero does not match; the right code verifies once.
    expect(
        &t.api("/api/get/otp", json!({ "otp": format!("0{code}") }))
            .await,
        403,
        "OTP is invalid or expired!",
    );
    expect(
        &t.api("/api/get/otp", json!({ "otp": code.to_string() }))
            .await,
        200,
        "OTP has been verified!",
    );
    expect(
        &t.api("/api/get/otp", json!({ "otp": code.to_string() }))
            .await,
        403,
        "OTP is invalid or expired!",
    );
    // Restricted key: exact permission message.
    expect(
        &t.api(
            "/api/get/otp",
            json!({ "secret": "{restricted}", "otp": "123456" }),
        )
        .await,
        403,
        "This API key doesn't have permission to use this endpoint!",
    );
    // Expiry on the simulated clock: valid while now - created <= lifetime.
    let mut short = send.clone();
    short["expire"] = json!("10");
    let code = t.api("/api/send/otp", short).await["data"]["otp"]
        .as_i64()
        .expect("otp");
    t.ctl("/_sim/time/advance", json!({ "seconds": 10 })).await;
    let mut again = send.clone();
    again["expire"] = json!("10");
    let code2 = t.api("/api/send/otp", again).await["data"]["otp"]
        .as_i64()
        .expect("otp");
    expect(
        &t.api("/api/get/otp", json!({ "otp": code.to_string() }))
            .await,
        200,
        "OTP has been verified!",
    );
    t.ctl("/_sim/time/advance", json!({ "seconds": 11 })).await;
    expect(
        &t.api("/api/get/otp", json!({ "otp": code2.to_string() }))
            .await,
        403,
        "OTP is invalid or expired!",
    );
    // expire < 1 becomes 1 s; default is 300 s.
    let mut zero = send.clone();
    zero["expire"] = json!("0");
    let c0 = t.api("/api/send/otp", zero).await["data"]["otp"]
        .as_i64()
        .expect("otp");
    let c300 = t.api("/api/send/otp", send.clone()).await["data"]["otp"]
        .as_i64()
        .expect("otp");
    t.ctl("/_sim/time/advance", json!({ "seconds": 2 })).await;
    expect(
        &t.api("/api/get/otp", json!({ "otp": c0.to_string() }))
            .await,
        403,
        "OTP is invalid or expired!",
    );
    t.ctl("/_sim/time/advance", json!({ "seconds": 298 })).await;
    expect(
        &t.api("/api/get/otp", json!({ "otp": c300.to_string() }))
            .await,
        200,
        "OTP has been verified!",
    );
    // A code is minted even when the send then fails (here: invalid phone) — it leaves a live
    // code behind: with a deterministic seed the next code differs from the unseen one.
    let mut bad = send.clone();
    bad["phone"] = json!("1");
    expect(
        &t.api("/api/send/otp", bad).await,
        400,
        "Invalid phone number!",
    );
    // WhatsApp OTP queues a chat with the code.
    let v = t.api("/api/send/otp", json!({ "type": "whatsapp", "account": "{wa}", "phone": "+224621234567", "message": "WA {{otp}}" })).await;
    expect(&v, 200, "OTP has been sent!");
    let code = v["data"]["otp"].as_i64().expect("otp");
    assert_eq!(
        t.list("/api/get/wa.pending").await[0]["message"],
        format!("WA {code}")
    );
}

#[tokio::test]
async fn life_cycle_and_ledger() {
    let t = sim().await;
    let d = t.fx.devices.clone().expect("devices");
    let send = |dev: &str, m: &str| json!({ "mode": "devices", "phone": "+224621234567", "message": m, "device": dev });
    expect(
        &t.api("/api/send/sms", send("{online}", "one")).await,
        200,
        "Message has been queued for sending!",
    );
    expect(
        &t.api("/api/send/sms", send("{offline}", "two")).await,
        200,
        "Message has been queued for sending!",
    );
    expect(
        &t.api("/api/send/sms", send("{online}", "one")).await,
        200,
        "Message has been queued for sending!",
    );
    assert_eq!(t.list("/api/get/sms.pending").await.len(), 3);
    // Fetch only: picked-up rows are in neither list; the quota counter moves on fetch.
    t.ctl("/_sim/queue/process", json!({ "stage": "fetch" }))
        .await;
    assert_eq!(
        t.list("/api/get/sms.pending").await.len(),
        1,
        "offline device keeps its message"
    );
    assert!(t.list("/api/get/sms.sent").await.is_empty());
    let sub = t.api("/api/get/subscription", json!({})).await;
    assert_eq!(sub["data"]["usage"]["sms_send"]["used"], 2);
    t.ctl("/_sim/queue/process", json!({})).await;
    let sent = t.list("/api/get/sms.sent").await;
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|s| s["status"] == "sent"
        && ["SMS_SENT", "SMS_DELIVERED"].contains(&s["status_code"].as_str().unwrap_or(""))));
    // Offline device: pending until set online.
    t.ctl(
        "/_sim/device",
        json!({ "unique": d.offline.unique, "online": true }),
    )
    .await;
    t.ctl("/_sim/queue/process", json!({})).await;
    assert!(t.list("/api/get/sms.pending").await.is_empty());
    assert_eq!(t.list("/api/get/sms.sent").await.len(), 3);
    // Ledger: every accepted message, submissions per (recipient, text, route).
    let ledger: Vec<Value> =
        serde_json::from_value(t.ctl_get("/_sim/ledger").await).expect("ledger");
    assert_eq!(ledger.len(), 3);
    assert!(
        ledger
            .iter()
            .all(|l| l["kind"] == "sms" && l["route"] == "device" && l["status"] == 3)
    );
    assert_eq!(
        ledger.iter().find(|l| l["text"] == "one").expect("one")["submissions"],
        2
    );
    // Pace on the simulated clock: pick-up after 1 s, report 2 s later.
    expect(
        &t.api("/api/send/sms", send("{online}", "paced")).await,
        200,
        "Message has been queued for sending!",
    );
    t.ctl("/_sim/time/advance", json!({ "seconds": 1 })).await;
    assert!(t.list("/api/get/sms.pending").await.is_empty());
    assert_eq!(t.list("/api/get/sms.sent").await.len(), 3);
    t.ctl("/_sim/time/advance", json!({ "seconds": 2 })).await;
    assert_eq!(t.list("/api/get/sms.sent").await.len(), 4);
    // Package quota full at fetch time → failed.
    t.ctl(
        "/_sim/platform",
        json!({ "packages": { "1": { "send_limit": 4 } } }),
    )
    .await;
    expect(
        &t.api("/api/send/sms", send("{online}", "over")).await,
        403,
        "Maximum allowed number of sent messages has been reached!",
    );
    t.ctl("/_sim/quota", json!({ "sent": 3 })).await;
    expect(
        &t.api("/api/send/sms", send("{online}", "last")).await,
        200,
        "Message has been queued for sending!",
    );
    expect(
        &t.api("/api/send/sms", send("{online}", "too many")).await,
        200,
        "Message has been queued for sending!",
    );
    t.sim.process_queue();
    let sent = t.list("/api/get/sms.sent").await;
    assert_eq!(sent.iter().filter(|s| s["status"] == "failed").count(), 1);
    // Chats: 1 → 2 (still in wa.pending) → 3.
    expect(
        &t.api(
            "/api/send/whatsapp",
            json!({ "account": "{wa}", "recipient": "+224621234567", "message": "c" }),
        )
        .await,
        200,
        "WhatsApp chat has been queued for sending!",
    );
    t.sim.process_queue_stage(messagepro_sim::Stage::Fetch);
    assert_eq!(
        t.list("/api/get/wa.pending").await.len(),
        1,
        "status 2 still pending"
    );
    t.sim.process_queue();
    assert_eq!(t.list("/api/get/wa.sent").await[0]["status"], "sent");
    // Credits of a callback gateway are deducted when the callback reports success.
    expect(
        &t.api(
            "/api/send/sms",
            json!({ "mode": "credits", "gateway": "1", "phone": "+224621234567", "message": "cb" }),
        )
        .await,
        200,
        "Message has been queued for sending!",
    );
    assert_eq!(
        t.api("/api/get/credits", json!({})).await["data"]["credits"],
        "50000"
    );
    t.sim.process_queue();
    assert_eq!(
        t.api("/api/get/credits", json!({})).await["data"]["credits"],
        "49750"
    );
}

#[tokio::test]
async fn campaigns_pause_resume_complete() {
    let t = sim().await;
    expect(&t.api("/api/send/sms.bulk", json!({ "mode": "devices", "campaign": "Promo", "numbers": "+224621234567", "groups": "1", "message": "Salut {{contact.name}} ({{group.name}})", "device": "{online}" })).await, 200, "Bulk messages has been queued for sending!");
    let camp = t.list("/api/get/sms.campaigns").await;
    assert_eq!(camp[0]["status"], "running");
    assert_eq!(camp[0]["contacts"], 3);
    assert_eq!(camp[0]["sender_type"], "device");
    let msgs: Vec<String> = t
        .list("/api/get/sms.pending")
        .await
        .iter()
        .map(|m| m["message"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        msgs.contains(&"Salut +224621234567 (Unknown)".to_string())
            && msgs.contains(&"Salut Mamadou Diallo (Clients Conakry)".to_string()),
        "{msgs:?}"
    );
    expect(
        &t.api("/api/remote/stop.sms", json!({ "campaign": "1" }))
            .await,
        200,
        "SMS campaign has been paused!",
    );
    assert_eq!(
        t.list("/api/get/sms.campaigns").await[0]["status"],
        "paused"
    );
    t.sim.process_queue();
    assert_eq!(
        t.list("/api/get/sms.pending").await.len(),
        3,
        "paused campaign is not fetched"
    );
    expect(
        &t.api("/api/remote/start.sms", json!({ "campaign": "1" }))
            .await,
        200,
        "SMS campaign has been resumed!",
    );
    t.sim.process_queue();
    assert_eq!(
        t.list("/api/get/sms.campaigns").await[0]["status"],
        "completed"
    );
    // Gateway campaign: status "none", sender = gateway id; remote answers "not supported".
    expect(&t.api("/api/send/sms.bulk", json!({ "mode": "credits", "gateway": "2", "campaign": "Paid", "numbers": "+224621234567,+221771234567", "message": "x" })).await, 200, "Bulk messages has been queued for sending!");
    let camp = t.list("/api/get/sms.campaigns").await;
    assert_eq!(
        (camp[0]["status"].clone(), camp[0]["sender"].clone()),
        (json!("none"), json!(2))
    );
    assert_eq!(
        t.api("/api/get/credits", json!({})).await["data"]["credits"],
        "49050",
        "450 (gn) + 500 (sn)"
    );
    expect(
        &t.api("/api/remote/stop.sms", json!({ "campaign": "2" }))
            .await,
        200,
        "Action is not supported in this campaign!",
    );
    // WhatsApp campaign.
    expect(&t.api("/api/send/whatsapp.bulk", json!({ "account": "{wa}", "campaign": "Chats", "type": "text", "message": "hi", "recipients": "+224621234567,+224655123456" })).await, 200, "2 chats has been queued for sending!");
    expect(
        &t.api("/api/remote/stop.chats", json!({ "campaign": "1" }))
            .await,
        200,
        "WhatsApp campaign has been paused!",
    );
    t.sim.process_queue();
    assert_eq!(t.list("/api/get/wa.campaigns").await[0]["status"], "paused");
    expect(
        &t.api("/api/remote/start.chats", json!({ "campaign": "1" }))
            .await,
        200,
        "WhatsApp campaign has been resumed!",
    );
    t.sim.process_queue();
    assert_eq!(
        t.list("/api/get/wa.campaigns").await[0]["status"],
        "completed"
    );
    // delete/sms.campaign needs campaign + id and removes its messages.
    expect(
        &t.api(
            "/api/delete/sms.campaign",
            json!({ "id": "1", "campaign": "1" }),
        )
        .await,
        200,
        "SMS campaign has been deleted!",
    );
    assert_eq!(t.list("/api/get/sms.campaigns").await.len(), 1);
    expect(
        &t.api("/api/delete/wa.campaign", json!({ "id": "1" })).await,
        200,
        "WhatsApp campaign has been deleted!",
    );
    assert!(t.list("/api/get/wa.sent").await.is_empty());
}

#[tokio::test]
async fn control_api_fixture_and_reset() {
    let t = sim().await;
    let fx = t.ctl_get("/_sim/fixture").await;
    assert_eq!(fx["base_url"], t.sim.url());
    assert_eq!(fx["secrets"]["full"].as_str().map(str::len), Some(40));
    assert_eq!(
        fx["restricted_permissions"].as_array().map(Vec::len),
        Some(5)
    );
    assert_eq!(
        (fx["country"].clone(), fx["currency"].clone()),
        (json!("GN"), json!("GNF"))
    );
    assert_eq!(fx["devices"]["online"]["sims"], 2);
    assert_eq!(
        fx["gateways"]
            .as_array()
            .map(|g| g.iter().filter(|g| g["callback"] == true).count()),
        Some(1)
    );
    assert!(fx["whatsapp"]["connected"]["unique"].is_string());
    assert_eq!(fx["contacts"][1]["groups"], json!([1, 2]));
    assert_eq!(messagepro_sim::ALL_PERMISSIONS.len(), 47);
    assert!(messagepro_sim::ALL_PERMISSIONS.contains(&"get_message"));
    // Same seed → same secrets; reset restores the fixture.
    let again = messagepro_sim::Simulator::builder()
        .seed(7)
        .auto_progress(false)
        .start("127.0.0.1:0")
        .await
        .expect("start");
    assert_eq!(again.fixture().secrets.full, t.fx.secrets.full);
    let fixed = messagepro_sim::Simulator::builder()
        .secret("my-secret".into())
        .start("127.0.0.1:0")
        .await
        .expect("start");
    assert_eq!(fixed.fixture().secrets.full, "my-secret");
    expect(
        &t.api("/api/create/group", json!({ "name": "Temp" })).await,
        200,
        "Contact group has been created!",
    );
    t.ctl("/_sim/credits", json!({ "credits": 5 })).await;
    t.ctl("/_sim/reset", json!({})).await;
    assert_eq!(t.list("/api/get/groups").await.len(), 3);
    assert_eq!(
        t.api("/api/get/credits", json!({})).await["data"]["credits"],
        "50000"
    );
    // Bad control input is a real HTTP 400.
    let r = t
        .http
        .post(t.url("/_sim/credits"))
        .json(&json!({}))
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), 400);
}

impl common::T {
    async fn ctl_get(&self, path: &str) -> Value {
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json")
    }
}

#[tokio::test]
async fn phone_variants_brazil_and_empty_fixture() {
    let t = sim().await;
    // Variant B tolerates invalid Brazilian numbers (send/sms, send/whatsapp) but not others.
    let sms = |phone: &str| json!({ "mode": "devices", "phone": phone, "message": "br", "device": "{online}" });
    expect(
        &t.api("/api/send/sms", sms("+5511123")).await,
        200,
        "Message has been queued for sending!",
    );
    expect(
        &t.api("/api/send/sms", sms("+22412")).await,
        400,
        "Invalid phone number!",
    );
    // `+` optional, several leading `+` stripped.
    expect(
        &t.api("/api/send/sms", sms("++224621234567")).await,
        200,
        "Message has been queued for sending!",
    );
    expect(
        &t.api(
            "/api/send/whatsapp",
            json!({ "account": "{wa}", "recipient": "5511123", "message": "x" }),
        )
        .await,
        200,
        "WhatsApp chat has been queued for sending!",
    );
    // Variant A (OTP SMS) rejects the same invalid Brazilian number; OTP WhatsApp tolerates it.
    let otp = json!({ "type": "sms", "mode": "devices", "device": "{online}", "phone": "+5511123", "message": "{{otp}}" });
    expect(
        &t.api("/api/send/otp", otp).await,
        400,
        "Invalid phone number!",
    );
    let otp =
        json!({ "type": "whatsapp", "account": "{wa}", "phone": "+5511123", "message": "{{otp}}" });
    expect(
        &t.api("/api/send/otp", otp).await,
        200,
        "OTP has been sent!",
    );

    let empty = messagepro_sim::Simulator::builder()
        .fixture(messagepro_sim::Fixture::Empty)
        .auto_progress(false)
        .start("127.0.0.1:0")
        .await
        .expect("start");
    let fx = empty.fixture();
    assert!(fx.devices.is_none() && fx.contacts.is_empty() && fx.whatsapp.is_none());
    let r = t
        .http
        .get(format!("{}/api/get/devices", empty.url()))
        .query(&[("secret", fx.secrets.full.as_str())])
        .send()
        .await
        .expect("req");
    let v = common::envelope(r).await;
    expect(&v, 200, "Android Devices");
    assert_eq!(v["data"], json!([]));
}

#[tokio::test]
async fn auto_progress_moves_messages_and_links_in_real_time() {
    let sim = messagepro_sim::Simulator::builder()
        .seed(3)
        .pace(messagepro_sim::Pace {
            pickup_secs: 0,
            report_secs: 0,
            fail_rate: 0.0,
        })
        .start("127.0.0.1:0")
        .await
        .expect("start");
    let fx = sim.fixture();
    let http = reqwest::Client::new();
    let d = fx.devices.clone().expect("devices");
    let p = [
        ("secret", fx.secrets.full.as_str()),
        ("mode", "devices"),
        ("phone", "+224621234567"),
        ("message", "auto"),
        ("device", d.online.unique.as_str()),
    ];
    let v = common::envelope(
        http.post(format!("{}/api/send/sms", sim.url()))
            .form(&p)
            .send()
            .await
            .expect("send"),
    )
    .await;
    expect(&v, 200, "Message has been queued for sending!");
    let link = common::envelope(
        http.post(format!("{}/api/create/wa.link", sim.url()))
            .form(&[("secret", fx.secrets.full.as_str()), ("sid", "1")])
            .send()
            .await
            .expect("link"),
    )
    .await;
    let info = link["data"]["infolink"]
        .as_str()
        .expect("infolink")
        .to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let (mut sent, mut linked) = (false, false);
    while std::time::Instant::now() < deadline && !(sent && linked) {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        sent = sim
            .ledger()
            .iter()
            .any(|l| l.text == "auto" && l.status == 3);
        linked =
            common::envelope(http.get(&info).send().await.expect("info")).await["status"] == 200;
    }
    assert!(sent, "auto progress must report the SMS sent");
    assert!(linked, "auto progress must scan the QR token");
}

#[tokio::test]
async fn uploads_payloads_and_listing_quirks() {
    let t = sim().await;
    // Multipart media upload: served from the site, kind from the extension.
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in t.pairs(&json!({ "secret": "{full}", "account": "{wa}", "recipient": "+224621234567", "message": "Photo", "type": "media" })) {
        form = form.text(k, v);
    }
    form = form.part(
        "media_file",
        reqwest::multipart::Part::bytes(vec![0xff; 64]).file_name("promo.JPG"),
    );
    let r = t
        .http
        .post(t.url("/api/send/whatsapp"))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    expect(
        &common::envelope(r).await,
        200,
        "WhatsApp chat has been queued for sending!",
    );
    let p = t.list("/api/get/wa.pending").await;
    let att = p[0]["attachment"].as_str().expect("attachment");
    assert!(
        att.starts_with(&format!("{}/uploads/whatsapp/", t.sim.url())) && att.ends_with(".jpg"),
        "{att}"
    );
    assert_eq!(p[0]["message"], "Photo");
    // Audio drops the text (caption false → message null, no attachment).
    expect(&t.api("/api/send/whatsapp", json!({ "account": "{wa}", "recipient": "+224621234567", "message": "son", "type": "media", "media_url": "https://cdn.example/a.mp3", "media_type": "audio" })).await, 200, "WhatsApp chat has been queued for sending!");
    let p = t.list("/api/get/wa.pending").await;
    assert_eq!(
        (p[0]["message"].clone(), p[0]["attachment"].clone()),
        (Value::Null, json!(false))
    );
    // notification_packages: blank lines removed; a leading blank line turns it into an object.
    t.ctl("/_sim/platform", json!({ "devices": { "1": { "packages": ["", "com.whatsapp", " "] }, "2": { "packages": ["com.a", "", "com.b"] } } })).await;
    let d = t.list("/api/get/devices").await;
    let online = d.iter().find(|x| x["id"] == 1).expect("online");
    assert_eq!(
        online["notification_packages"],
        json!({ "1": "com.whatsapp" })
    );
    let offline = d.iter().find(|x| x["id"] == 2).expect("offline");
    assert_eq!(
        offline["notification_packages"],
        json!({ "0": "com.a", "2": "com.b" })
    );
    // OTP coerces a non-numeric SIM silently (PHP int cast): "2nd" → 2.
    let v = t.api("/api/send/otp", json!({ "type": "sms", "mode": "devices", "device": "{online}", "phone": "+224621234567", "message": "{{otp}}", "sim": "2nd" })).await;
    expect(&v, 200, "OTP has been sent!");
    assert_eq!(t.list("/api/get/sms.pending").await[0]["sim"], 2);
}

/// Regression (`tests/property.rs` catches it too): moving the clock by `i64::MAX` overflowed the
/// offset while holding the state lock, which poisoned it and failed every later request. The
/// simulated time is now clamped to 1970..=9999 and everything keeps working.
#[tokio::test]
async fn extreme_clock_moves_are_clamped_and_the_simulator_keeps_answering() {
    let t = sim().await;
    let sms = json!({ "mode": "devices", "phone": "+224621234567", "message": "Bonjour", "device": "{online}" });
    expect(
        &t.api("/api/send/sms", sms).await,
        200,
        "Message has been queued for sending!",
    );
    let end_of_9999 = 253_402_300_799;
    assert_eq!(t.sim.advance_time(i64::MAX), end_of_9999);
    assert_eq!(t.sim.advance_time(i64::MAX), end_of_9999);
    let v = t
        .ctl("/_sim/time/advance", json!({ "seconds": i64::MIN }))
        .await;
    assert_eq!(v["now"], 0);
    t.sim.process_queue();
    assert_eq!(t.sim.ledger().last().map(|l| l.status), Some(3));
    assert_eq!(t.sim.advance_time(-1), 0);
    assert_eq!(t.sim.advance_time(60), 60);
    expect(
        &t.api("/api/get/credits", json!({})).await,
        200,
        "Remaining Credits",
    );
}

/// Regression: a WhatsApp server patched with an absurd `qr_len` made `create/wa.link` build
/// its QR string for ever under the state lock; the length is now capped.
#[tokio::test]
async fn an_absurd_qr_length_is_capped_instead_of_looping_under_the_lock() {
    let t = sim().await;
    let server = t.fx.wa_server.to_string();
    t.ctl(
        "/_sim/platform",
        json!({ "wa_servers": { server.clone(): { "qr_len": u64::MAX } } }),
    )
    .await;
    let v = t.api("/api/create/wa.link", json!({ "sid": server })).await;
    expect(&v, 200, "WhatsApp QRCode has been created!");
    assert_eq!(v["data"]["qrstring"].as_str().map(str::len), Some(8192));
}

/// `/_sim/*` refusals are `SimError`s: HTTP 400 with the error's message, 404 for an unknown
/// path; the `Shared` methods return the same typed errors.
#[tokio::test]
async fn control_refusals_are_typed_errors_with_their_messages() {
    use messagepro_sim::SimError;
    let t = sim().await;
    let post = |path: &'static str, body: &'static str| {
        let req = t.http.post(t.url(path)).body(body);
        async move {
            let r = req.send().await.expect("control request");
            let status = r.status().as_u16();
            let v: Value = r.json().await.expect("JSON");
            (status, v["error"].as_str().unwrap_or("").to_string())
        }
    };
    assert_eq!(
        post("/_sim/device", r#"{"unique":"nope","online":true}"#).await,
        (400, "unknown device".into())
    );
    assert_eq!(
        post("/_sim/device", r#"{"unique":"nope"}"#).await,
        (400, "`online` (bool) is required".into())
    );
    assert_eq!(
        post("/_sim/time/advance", r#"{"seconds":"10"}"#).await,
        (400, "`seconds` (integer) is required".into())
    );
    assert_eq!(
        post(
            "/_sim/inbound/whatsapp",
            r#"{"from":"+224","message":"x","account":"nope"}"#
        )
        .await,
        (400, "unknown WhatsApp account".into())
    );
    assert_eq!(
        post("/_sim/wa/scan", r#"{"token":"nope"}"#).await,
        (400, "unknown token".into())
    );
    let (status, error) = post("/_sim/platform", r#"{"devices":{"1":{"sims":"two"}}}"#).await;
    assert_eq!(status, 400);
    assert!(error.starts_with("invalid platform patch: "), "{error}");
    let (status, error) = post("/_sim/quota", "{not json").await;
    assert_eq!(status, 400);
    assert!(error.starts_with("JSON body expected: "), "{error}");
    assert_eq!(
        post("/_sim/nope", "{}").await,
        (404, "unknown control endpoint".into())
    );

    assert_eq!(
        t.sim.set_device_online("nope", true),
        Err(SimError::UnknownDevice)
    );
    assert_eq!(
        t.sim.inject_chat(Some("nope"), "+224621234567", "x", None),
        Err(SimError::UnknownWaAccount)
    );
    assert_eq!(t.sim.scan("nope", "224"), Err(SimError::UnknownToken));
    assert!(matches!(
        t.sim.patch_quota(None, &json!({ "sent": "many" })),
        Err(SimError::InvalidQuotaPatch(_))
    ));
    // removing every device of the demo user: the default inbound device is gone
    let world = t.sim.platform();
    let demo_devices: serde_json::Map<String, Value> = world["devices"]
        .as_object()
        .expect("devices")
        .iter()
        .filter(|(_, d)| d["user"] == t.fx.user_id)
        .map(|(id, _)| (id.clone(), Value::Null))
        .collect();
    assert!(!demo_devices.is_empty());
    t.sim
        .patch_platform(&json!({ "devices": demo_devices }))
        .expect("removal patch");
    assert_eq!(
        t.sim.inject_sms(None, "+224621234567", "x"),
        Err(SimError::NoDevice)
    );
    assert_eq!(SimError::NoDevice.to_string(), "no device");
}
