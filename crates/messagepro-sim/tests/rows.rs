//! Every failure row of every table of spec §2, exercised over raw HTTP against a fresh
//! simulator per row, with the state each row needs (set through the `/_sim` control API).
//! Each case asserts HTTP 200, CORS `*`, the JSON `status`, the exact `message` and `data:false`.

mod common;

use common::{T, sim};
use serde_json::{Value, json};

enum Step {
    Api(&'static str, Value),
    Ctl(&'static str, Value),
}

struct Case {
    name: &'static str,
    path: &'static str,
    params: Value,
    secret: Option<&'static str>,
    patch: Option<Value>,
    quota: Option<Value>,
    pre: Vec<Step>,
    files: Vec<(&'static str, &'static str, usize)>,
    status: u16,
    message: String,
}

fn c(name: &'static str, path: &'static str, params: Value, status: u16, message: &str) -> Case {
    Case {
        name,
        path,
        params,
        secret: Some("{full}"),
        patch: None,
        quota: None,
        pre: vec![],
        files: vec![],
        status,
        message: message.into(),
    }
}

impl Case {
    fn patch(mut self, p: Value) -> Self {
        self.patch = Some(p);
        self
    }
    fn quota(mut self, q: Value) -> Self {
        self.quota = Some(q);
        self
    }
    fn secret(mut self, s: Option<&'static str>) -> Self {
        self.secret = s;
        self
    }
    fn pre_api(mut self, path: &'static str, p: Value) -> Self {
        self.pre.push(Step::Api(path, p));
        self
    }
    fn pre_ctl(mut self, path: &'static str, p: Value) -> Self {
        self.pre.push(Step::Ctl(path, p));
        self
    }
    fn file(mut self, field: &'static str, name: &'static str, size: usize) -> Self {
        self.files.push((field, name, size));
        self
    }
}

async fn run_case(t: &T, case: &Case) -> Result<(), String> {
    if let Some(p) = &case.patch {
        t.ctl("/_sim/platform", p.clone()).await;
    }
    if let Some(q) = &case.quota {
        t.ctl("/_sim/quota", q.clone()).await;
    }
    for s in &case.pre {
        match s {
            Step::Api(path, p) => {
                let v = t.api(path, p.clone()).await;
                if v["status"] != 200 {
                    return Err(format!("pre-step {path} failed: {v}"));
                }
            }
            Step::Ctl(path, p) => {
                t.ctl(path, p.clone()).await;
            }
        }
    }
    let mut pairs = t.pairs(&case.params);
    if let Some(s) = case.secret {
        pairs.push(("secret".into(), t.sub(s)));
    }
    let req = if case.files.is_empty() {
        t.http.post(t.url(case.path)).form(&pairs)
    } else {
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in pairs {
            form = form.text(k, v);
        }
        for (field, name, size) in &case.files {
            form = form.part(
                *field,
                reqwest::multipart::Part::bytes(vec![1u8; *size]).file_name(*name),
            );
        }
        t.http.post(t.url(case.path)).multipart(form)
    };
    let r = req.send().await.map_err(|e| e.to_string())?;
    let v = common::envelope(r).await;
    if v["status"] != case.status
        || v["message"] != case.message.as_str()
        || v["data"] != json!(false)
    {
        return Err(format!(
            "expected {} {:?}, got {v}",
            case.status, case.message
        ));
    }
    Ok(())
}

async fn run(cases: Vec<Case>) {
    let mut failures = Vec::new();
    let n = cases.len();
    for case in &cases {
        let t = sim().await;
        if let Err(e) = run_case(&t, case).await {
            failures.push(format!("{} [{}]: {e}", case.name, case.path));
        }
        t.sim.shutdown().await;
    }
    assert!(
        failures.is_empty(),
        "{} of {n} rows failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

const INV: &str = "Invalid Parameters!";
const PERM: &str = "This API key doesn't have permission to use this endpoint!";
const NOSUB: &str = "Account is not subscribed to any premium package!";
const NOSUB_YOU: &str = "You are not subscribed to any premium package!";
const UNREACH: &str = "Unable to connect to WhatsApp servers!";

fn no_sub() -> Value {
    json!({ "accounts": { "1": { "package": null } } })
}
fn settings(s: Value) -> Value {
    json!({ "settings": s })
}
fn package(p: Value) -> Value {
    json!({ "packages": { "1": p } })
}
fn gateway(id: &str, g: Value) -> Value {
    json!({ "gateways": { id: g } })
}
fn server(s: Value) -> Value {
    json!({ "wa_servers": { "1": s } })
}
fn device(id: &str, d: Value) -> Value {
    json!({ "devices": { id: d } })
}

#[tokio::test]
async fn preamble_and_unknown_actions() {
    let mut cases = vec![
        c("P1 secret absent", "/api/get/credits", json!({}), 400, INV).secret(None),
        c(
            "P2 secret unknown",
            "/api/get/credits",
            json!({}),
            401,
            "Invalid API secret supplied!",
        )
        .secret(Some("0000")),
        c("P3 permission", "/api/get/contacts", json!({}), 403, PERM).secret(Some("{restricted}")),
        c(
            "P1 before unknown action",
            "/api/send/nope",
            json!({}),
            400,
            INV,
        )
        .secret(None),
        c(
            "P2 before unknown action",
            "/api/get/nope",
            json!({}),
            401,
            "Invalid API secret supplied!",
        )
        .secret(Some("x")),
    ];
    for (g, status) in [
        ("send", 500),
        ("remote", 500),
        ("clear", 500),
        ("validate", 500),
        ("get", 400),
        ("create", 400),
        ("delete", 400),
    ] {
        let path: &'static str = Box::leak(format!("/api/{g}/NoSuchAction").into_boxed_str());
        cases.push(c(
            "unknown action",
            path,
            json!({}),
            status,
            "Invalid API Endpoint!",
        ));
    }
    cases.push(c(
        "case-sensitive action",
        "/api/send/SMS",
        json!({}),
        500,
        "Invalid API Endpoint!",
    ));
    run(cases).await;
}

#[tokio::test]
async fn send_otp_rows() {
    let sms = |extra: Value| {
        let mut p = json!({ "type": "sms", "message": "Code {{otp}}", "phone": "+224621234567", "mode": "devices", "device": "{online}" });
        for (k, v) in extra.as_object().expect("object") {
            if v.is_null() {
                p.as_object_mut().expect("obj").remove(k);
            } else {
                p[k] = v.clone();
            }
        }
        p
    };
    let wa = |extra: Value| {
        let mut p = json!({ "type": "whatsapp", "message": "Code {{otp}}", "phone": "+224621234567", "account": "{wa}" });
        for (k, v) in extra.as_object().expect("object") {
            if v.is_null() {
                p.as_object_mut().expect("obj").remove(k);
            } else {
                p[k] = v.clone();
            }
        }
        p
    };
    let o = "/api/send/otp";
    run(vec![
        c("P3", o, sms(json!({})), 403, PERM).secret(Some("{restricted}")),
        c(
            "1 message absent",
            o,
            sms(json!({ "message": null })),
            400,
            INV,
        ),
        c(
            "2 expire not int",
            o,
            sms(json!({ "expire": "1.5" })),
            400,
            INV,
        ),
        c("3 mode absent", o, sms(json!({ "mode": null })), 400, INV),
        c("3 phone absent", o, sms(json!({ "phone": null })), 400, INV),
        c(
            "4 push config",
            o,
            sms(json!({})),
            500,
            "System configuration error!",
        )
        .patch(settings(json!({ "push_configured": false }))),
        c(
            "5 invalid phone",
            o,
            sms(json!({ "phone": "12" })),
            400,
            "Invalid phone number!",
        ),
        c(
            "6 too short",
            o,
            sms(json!({})),
            400,
            "OTP message is too short!",
        )
        .patch(settings(json!({ "message_min": 100 }))),
        c(
            "7 too long",
            o,
            sms(json!({})),
            400,
            "OTP message is too long!",
        )
        .patch(settings(json!({ "message_max": 8 }))),
        c(
            "8 device absent",
            o,
            sms(json!({ "device": null })),
            400,
            INV,
        ),
        c("9 no subscription", o, sms(json!({})), 403, NOSUB).patch(no_sub()),
        c(
            "10 send limit",
            o,
            sms(json!({})),
            403,
            "Maximum allowed number of sent messages has been reached!",
        )
        .patch(package(json!({ "send_limit": 5 })))
        .quota(json!({ "sent": 5 })),
        c(
            "11 device not owned",
            o,
            sms(json!({ "device": "{partner}" })),
            404,
            "Device doesn't exist!",
        ),
        c(
            "12 bad mode",
            o,
            sms(json!({ "mode": "Devices" })),
            400,
            INV,
        ),
        c(
            "13 gateway absent",
            o,
            sms(json!({ "mode": "credits" })),
            400,
            INV,
        ),
        c(
            "14 gateway unknown",
            o,
            sms(json!({ "mode": "credits", "gateway": "99" })),
            404,
            "Specified gateway doesn't exist!",
        ),
        c(
            "14 handler missing",
            o,
            sms(json!({ "mode": "credits", "gateway": "1" })),
            404,
            "Specified gateway doesn't exist!",
        )
        .patch(gateway("1", json!({ "handler": "missing" }))),
        c(
            "15 partner not found",
            o,
            sms(json!({ "mode": "credits", "gateway": "nope" })),
            404,
            "Device doesn't exist!",
        ),
        c(
            "16 partner not shared",
            o,
            sms(json!({ "mode": "credits", "gateway": "{private}" })),
            403,
            "Device is not available!",
        ),
        c(
            "17 gateway credits",
            o,
            sms(json!({ "mode": "credits", "gateway": "1" })),
            403,
            "Not enough credits to send this message!",
        )
        .pre_ctl("/_sim/credits", json!({ "credits": 10 })),
        c(
            "18 provider failed",
            o,
            sms(json!({ "mode": "credits", "gateway": "2" })),
            500,
            "Gateway was unable to send your message!",
        )
        .patch(gateway("2", json!({ "provider_fails": true }))),
        c(
            "19 partner credits",
            o,
            sms(json!({ "mode": "credits", "gateway": "{partner}" })),
            403,
            "Not enough credits to send this message!",
        )
        .pre_ctl("/_sim/credits", json!({ "credits": 1 })),
        c(
            "20 account absent",
            o,
            wa(json!({ "account": null })),
            400,
            INV,
        ),
        c("20 phone absent", o, wa(json!({ "phone": null })), 400, INV),
        c(
            "21 priority not int",
            o,
            wa(json!({ "priority": "high" })),
            400,
            "Priority parameter must be an integer value!",
        ),
        c("22 no subscription", o, wa(json!({})), 403, NOSUB).patch(no_sub()),
        c(
            "23 account not owned",
            o,
            wa(json!({ "account": "nope" })),
            404,
            "WhatsApp account doesn't exist!",
        ),
        c("24 server unreachable", o, wa(json!({})), 500, UNREACH)
            .patch(server(json!({ "reachable": false }))),
        c(
            "25 disconnected",
            o,
            wa(json!({ "account": "{wa_off}" })),
            500,
            "WhatsApp account is disconnected!",
        ),
        c(
            "26 wa limit",
            o,
            wa(json!({})),
            403,
            "You have reached the maximum number of allowed chats!",
        )
        .patch(package(json!({ "wa_send_limit": 2 })))
        .quota(json!({ "wa_sent": 2 })),
        c(
            "27 invalid phone",
            o,
            wa(json!({ "phone": "999" })),
            400,
            "Invalid phone number!",
        ),
        c(
            "28 insert failed",
            o,
            wa(json!({})),
            500,
            "Something went wrong!",
        )
        .patch(settings(json!({ "db_fail": true }))),
        c(
            "29 priority send failed",
            o,
            wa(json!({ "priority": "1" })),
            500,
            "Failed sending WhatsApp chat!",
        )
        .patch(server(json!({ "send_ok": false }))),
        c(
            "30 queue trigger failed",
            o,
            wa(json!({})),
            500,
            "Failed adding chat to WhatsApp queue!",
        )
        .patch(server(json!({ "trigger_ok": false }))),
        c("31 type missing", o, sms(json!({ "type": null })), 400, INV),
        c(
            "31 type other",
            o,
            sms(json!({ "type": "voice" })),
            400,
            INV,
        ),
    ])
    .await;
}

#[tokio::test]
async fn send_sms_rows() {
    let base = |extra: Value| {
        let mut p = json!({ "mode": "devices", "phone": "+224621234567", "message": "Bonjour", "device": "{online}" });
        for (k, v) in extra.as_object().expect("object") {
            if v.is_null() {
                p.as_object_mut().expect("obj").remove(k);
            } else {
                p[k] = v.clone();
            }
        }
        p
    };
    let cr = |gw: &str| json!({ "mode": "credits", "gateway": gw, "device": null });
    let s = "/api/send/sms";
    run(vec![
        c("P3", s, base(json!({})), 403, PERM).secret(Some("{full}")).patch(json!({})).pre_ctl("/_sim/key", json!({ "secret": "k-no-sms", "permissions": ["get_credits"] })).secret(Some("k-no-sms")),
        c("1 mode absent", s, base(json!({ "mode": null })), 400, INV),
        c("1 phone absent", s, base(json!({ "phone": null })), 400, INV),
        c("1 message absent", s, base(json!({ "message": null })), 400, INV),
        c("2 push config", s, base(json!({})), 500, "System configuration error!").patch(settings(json!({ "push_configured": false }))),
        c("3 invalid phone", s, base(json!({ "phone": "0621234567" })), 400, "Invalid phone number!"),
        c("4 too short", s, base(json!({})), 400, "Message is too short!").patch(settings(json!({ "message_min": 10 }))),
        c("5 too long", s, base(json!({ "message": "a&b" })), 400, "Message is too long!").patch(settings(json!({ "message_max": 6 }))),
        c("6 device absent", s, base(json!({ "device": null })), 400, INV),
        c("7 sim not int", s, base(json!({ "sim": "one" })), 400, "Sim parameter must be an integer value!"),
        c("8 priority not int", s, base(json!({ "priority": "01" })), 400, "Priority parameter must be an integer value!"),
        c("9 no subscription", s, base(json!({})), 403, NOSUB).patch(no_sub()),
        c("10 send limit", s, base(json!({})), 403, "Maximum allowed number of sent messages has been reached!").patch(package(json!({ "send_limit": 3 }))).quota(json!({ "sent": 3 })),
        c("11 device not owned", s, base(json!({ "device": "{partner}" })), 404, "Device doesn't exist!"),
        c("12 device daily limit", s, base(json!({})), 403, "The daily allowed messages has been reached for this device, please try again later!")
            .patch(device("1", json!({ "limit_status": true, "limit_number": 1 }))).pre_api(s, base(json!({}))),
        c("12 device monthly limit", s, base(json!({})), 403, "The monthly allowed messages has been reached for this device, please try again later!")
            .patch(device("1", json!({ "limit_status": true, "limit_interval": "monthly", "limit_number": 0 }))),
        c("13 bad mode", s, base(json!({ "mode": "sms" })), 400, INV),
        c("14 gateway absent", s, base(json!({ "mode": "credits" })), 400, INV),
        c("15 gateway unknown", s, base(cr("42")), 404, "Specified gateway doesn't exist!"),
        c("15 handler missing", s, base(cr("2")), 404, "Specified gateway doesn't exist!").patch(gateway("2", json!({ "handler": "missing" }))),
        c("16 handler broken", s, base(cr("2")), 500, "We encountered a gateway error!").patch(gateway("2", json!({ "handler": "broken" }))),
        c("17 own device", s, base(cr("{online}")), 403, "You cannot send messages with credits using your own devices!"),
        c("18 partner limit", s, base(cr("{partner}")), 403, "The daily allowed messages has been reached for this device, please try again later!")
            .patch(device("3", json!({ "limit_status": true, "limit_number": 0 }))),
        c("19 partner not shared", s, base(cr("{private}")), 403, "Device is not available!"),
        c("20 partner not found", s, base(cr("no-such-device")), 404, "Device doesn't exist!"),
        c("21 shortener not int", s, base(json!({ "shortener": "x" })), 400, INV),
        c("22 shortener unknown", s, base(json!({ "shortener": "9" })), 404, "Specified shortener doesn't exist!"),
        c("23 shortener broken", s, base(json!({ "shortener": "1" })), 500, "We encountered a shortener error!").patch(json!({ "shorteners": { "1": { "broken": true } } })),
        c("24 gateway credits", s, base(cr("2")), 403, "Not enough credits to send this message!").pre_ctl("/_sim/credits", json!({ "credits": 449 })),
        c("25 provider failed", s, base(cr("2")), 500, "Gateway was unable to send your message!").patch(gateway("2", json!({ "provider_fails": true }))),
        c("26 partner credits", s, base(cr("{partner}")), 403, "Not enough credits to send this message!").pre_ctl("/_sim/credits", json!({ "credits": 149 })),
    ])
    .await;
}

#[tokio::test]
async fn send_sms_bulk_rows() {
    let base = |extra: Value| {
        let mut p = json!({ "mode": "devices", "campaign": "Promo", "numbers": "+224621234567,+224655123456", "message": "Salut {{contact.name}}", "device": "{online}" });
        for (k, v) in extra.as_object().expect("object") {
            if v.is_null() {
                p.as_object_mut().expect("obj").remove(k);
            } else {
                p[k] = v.clone();
            }
        }
        p
    };
    let cr = |gw: &str| json!({ "mode": "credits", "gateway": gw, "device": null });
    let b = "/api/send/sms.bulk";
    let max = "You have reached the maximum sent messages for your current package!";
    run(vec![
        c("P3", b, base(json!({})), 403, PERM).secret(Some("{restricted}")),
        c("1 mode absent", b, base(json!({ "mode": null })), 400, INV),
        c(
            "1 campaign absent",
            b,
            base(json!({ "campaign": null })),
            400,
            INV,
        ),
        c(
            "1 message absent",
            b,
            base(json!({ "message": null })),
            400,
            INV,
        ),
        c(
            "2 no numbers nor groups",
            b,
            base(json!({ "numbers": null })),
            400,
            INV,
        ),
        c(
            "3 push config",
            b,
            base(json!({})),
            500,
            "System configuration error!",
        )
        .patch(settings(json!({ "push_configured": false }))),
        c(
            "4 too short",
            b,
            base(json!({})),
            400,
            "Message is too short!",
        )
        .patch(settings(json!({ "message_min": 200 }))),
        c(
            "4 too long",
            b,
            base(json!({})),
            400,
            "Message is too long!",
        )
        .patch(settings(json!({ "message_max": 5 }))),
        c(
            "5 device absent",
            b,
            base(json!({ "device": null })),
            400,
            INV,
        ),
        c(
            "6 sim not int",
            b,
            base(json!({ "sim": "x" })),
            400,
            "Sim parameter must be an integer value!",
        ),
        c(
            "7 priority not int",
            b,
            base(json!({ "priority": "1.0" })),
            400,
            "Priority parameter must be an integer value!",
        ),
        c("8 no subscription", b, base(json!({})), 403, NOSUB_YOU).patch(no_sub()),
        c(
            "9 device not owned",
            b,
            base(json!({ "device": "{private}" })),
            404,
            "Device doesn't exist!",
        ),
        c("10 bad mode", b, base(json!({ "mode": "both" })), 400, INV),
        c(
            "10 gateway absent",
            b,
            base(json!({ "mode": "credits" })),
            400,
            INV,
        ),
        c(
            "11 gateway unknown",
            b,
            base(cr("7")),
            404,
            "Specified gateway doesn't exist!",
        ),
        c(
            "11 handler missing",
            b,
            base(cr("1")),
            404,
            "Specified gateway doesn't exist!",
        )
        .patch(gateway("1", json!({ "handler": "missing" }))),
        c(
            "11 handler broken",
            b,
            base(cr("1")),
            500,
            "We encountered a gateway error!",
        )
        .patch(gateway("1", json!({ "handler": "broken" }))),
        c(
            "12 own device (500)",
            b,
            base(cr("{offline}")),
            500,
            "You cannot send messages with credits using your own devices!",
        ),
        c(
            "13 not shared",
            b,
            base(cr("{private}")),
            403,
            "Device is not available!",
        ),
        c(
            "13 not found",
            b,
            base(cr("ghost")),
            404,
            "Device doesn't exist!",
        ),
        c(
            "14 no usable recipient",
            b,
            base(json!({ "numbers": "12,abc" })),
            400,
            INV,
        ),
        c(
            "14 unknown group only",
            b,
            base(json!({ "numbers": null, "groups": "99" })),
            400,
            INV,
        ),
        c(
            "15 shortener not int",
            b,
            base(json!({ "shortener": "x" })),
            400,
            INV,
        ),
        c(
            "15 shortener unknown",
            b,
            base(json!({ "shortener": "5" })),
            404,
            "Specified shortener doesn't exist!",
        ),
        c(
            "15 shortener broken",
            b,
            base(json!({ "shortener": "1" })),
            500,
            "We encountered a shortener error!",
        )
        .patch(json!({ "shorteners": { "1": { "broken": true } } })),
        c(
            "16 device limit",
            b,
            base(json!({})),
            403,
            "The daily allowed messages has been reached for this device, please try again later!",
        )
        .patch(device(
            "1",
            json!({ "limit_status": true, "limit_number": 0 }),
        )),
        c("17 package quota", b, base(json!({})), 403, max)
            .patch(package(json!({ "send_limit": 10 })))
            .quota(json!({ "sent": 10 })),
        c("17 partner credits", b, base(cr("{partner}")), 403, max)
            .pre_ctl("/_sim/credits", json!({ "credits": 299 })),
        c(
            "17 partner without limit (quirk)",
            b,
            base(cr("{partner}")),
            403,
            max,
        ),
        c(
            "16 partner limit",
            b,
            base(cr("{partner}")),
            403,
            "The daily allowed messages has been reached for this device, please try again later!",
        )
        .patch(device(
            "3",
            json!({ "limit_status": true, "limit_number": 0 }),
        )),
    ])
    .await;
}

#[tokio::test]
async fn send_whatsapp_rows() {
    let base = |extra: Value| {
        let mut p =
            json!({ "recipient": "+224621234567", "account": "{wa}", "message": "Bonjour" });
        for (k, v) in extra.as_object().expect("object") {
            if v.is_null() {
                p.as_object_mut().expect("obj").remove(k);
            } else {
                p[k] = v.clone();
            }
        }
        p
    };
    let w = "/api/send/whatsapp";
    run(vec![
        c("P3", w, base(json!({})), 403, PERM).secret(Some("{restricted}")),
        c("1 recipient absent", w, base(json!({ "recipient": null })), 400, INV),
        c("1 account absent", w, base(json!({ "account": null })), 400, INV),
        c("1 message absent", w, base(json!({ "message": null })), 400, INV),
        c("2 priority not int", w, base(json!({ "priority": "x" })), 400, "Priority parameter must be an integer value!"),
        c("3 no subscription", w, base(json!({})), 403, NOSUB).patch(no_sub()),
        c("4 account not owned", w, base(json!({ "account": "zzz" })), 404, "WhatsApp account doesn't exist!"),
        c("5 unreachable", w, base(json!({})), 500, UNREACH).patch(server(json!({ "reachable": false }))),
        c("6 disconnected", w, base(json!({ "account": "{wa_off}" })), 500, "WhatsApp account is disconnected!"),
        c("7 wa limit", w, base(json!({})), 403, "You have reached the maximum number of allowed chats!").patch(package(json!({ "wa_send_limit": 1 }))).quota(json!({ "wa_sent": 1 })),
        c("8 invalid phone", w, base(json!({ "recipient": "621234567" })), 400, "Invalid phone number!"),
        c("9 text too short", w, base(json!({ "type": "text" })), 400, "Chat message is too short!").patch(settings(json!({ "message_min": 50 }))),
        c("9 text too long", w, base(json!({ "type": "text" })), 400, "Chat message is too long!").patch(settings(json!({ "message_max": 3 }))),
        c("10 shortener unknown", w, base(json!({ "shortener": "3" })), 404, "Specified shortener doesn't exist!"),
        c("10 shortener not int", w, base(json!({ "shortener": "a" })), 400, INV),
        c("10 shortener broken", w, base(json!({ "shortener": "1" })), 500, "We encountered a shortener error!").patch(json!({ "shorteners": { "1": { "broken": true } } })),
        c("11 media url invalid", w, base(json!({ "type": "media", "media_url": "not a url", "media_type": "image" })), 400, "You provided an invalid media url!"),
        c("12 media type absent", w, base(json!({ "type": "media", "media_url": "https://cdn.example.com/a.jpg" })), 400, "Please declare the media type!"),
        c("13 media file bad ext", w, base(json!({ "type": "media" })), 400, "Invalid media file!").file("media_file", "virus.exe", 10),
        c("13 media upload failed", w, base(json!({ "type": "media" })), 400, "Invalid media file!").file("media_file", "empty.jpg", 0),
        c("14 document url invalid", w, base(json!({ "type": "document", "document_url": "ftp//x", "document_type": "pdf" })), 400, "You provided an invalid document url!"),
        c("15 document type absent", w, base(json!({ "type": "document", "document_url": "https://x.example/a.pdf" })), 400, "Please declare the document type!"),
        c("16 document type invalid", w, base(json!({ "type": "document", "document_url": "https://x.example/a.pdf", "document_type": "exe" })), 400, "Invalid Document Type!"),
        c("17 document file bad ext", w, base(json!({ "type": "document" })), 400, "Invalid Document File!").file("document_file", "a.zip", 10),
        c("18 no payload", w, base(json!({ "type": "media" })), 500, "Sorry, we are unable to process your message."),
        c("19 insert failed", w, base(json!({})), 500, "Something went wrong!").patch(settings(json!({ "db_fail": true }))),
        c("20 priority send failed", w, base(json!({ "priority": "1" })), 500, "Failed sending WhatsApp chat!").patch(server(json!({ "send_ok": false }))),
        c("21 queue trigger failed", w, base(json!({})), 500, "Failed adding chat to WhatsApp queue!").patch(server(json!({ "trigger_ok": false }))),
    ])
    .await;
}

#[tokio::test]
async fn send_whatsapp_bulk_rows() {
    let base = |extra: Value| {
        let mut p = json!({ "account": "{wa}", "campaign": "Promo", "type": "text", "message": "Hi {{contact.name}}", "recipients": "+224621234567,+224655123456" });
        for (k, v) in extra.as_object().expect("object") {
            if v.is_null() {
                p.as_object_mut().expect("obj").remove(k);
            } else {
                p[k] = v.clone();
            }
        }
        p
    };
    let w = "/api/send/whatsapp.bulk";
    run(vec![
        c("P3", w, base(json!({})), 403, PERM).secret(Some("{restricted}")),
        c("1 account absent", w, base(json!({ "account": null })), 400, INV),
        c("1 campaign absent", w, base(json!({ "campaign": null })), 400, INV),
        c("1 type absent", w, base(json!({ "type": null })), 400, INV),
        c("1 message absent", w, base(json!({ "message": null })), 400, INV),
        c("2 campaign name short", w, base(json!({ "campaign": "ab" })), 500, "Campaign name is too short!"),
        c("3 no recipients nor groups", w, base(json!({ "recipients": null })), 400, INV),
        c("3 vendor `numbers` ignored", w, base(json!({ "recipients": null, "numbers": "+224621234567" })), 400, INV),
        c("4 too short", w, base(json!({})), 400, "Message is too short!").patch(settings(json!({ "message_min": 100 }))),
        c("4 too long", w, base(json!({})), 400, "Message is too long!").patch(settings(json!({ "message_max": 4 }))),
        c("5 no subscription", w, base(json!({})), 403, NOSUB_YOU).patch(no_sub()),
        c("6 account not owned", w, base(json!({ "account": "x" })), 404, "WhatsApp account doesn't exist!"),
        c("7 unreachable", w, base(json!({})), 500, UNREACH).patch(server(json!({ "reachable": false }))),
        c("8 not connected", w, base(json!({ "account": "{wa_off}" })), 500, "WhatsApp account is not connected!"),
        c("9 no usable recipient", w, base(json!({ "recipients": "123" })), 400, INV),
        c("10 shortener unknown", w, base(json!({ "shortener": "8" })), 404, "Specified shortener doesn't exist!"),
        c("11 media url invalid", w, base(json!({ "type": "media", "media_url": "nope", "media_type": "image" })), 400, "You provided an invalid media url!"),
        c("11 media upload failed (500)", w, base(json!({ "type": "media" })), 500, "Invalid media file!").file("media_file", "x.png", 0),
        c("11 media bad ext (400)", w, base(json!({ "type": "media" })), 400, "Invalid media file!").file("media_file", "x.bmp", 3),
        c("11 document type invalid", w, base(json!({ "type": "document", "document_url": "https://x.example/a", "document_type": "txt" })), 400, "Invalid Document Type!"),
        c("12 no payload", w, base(json!({ "type": "document" })), 500, "Sorry, we are unable to process your message."),
        c("13 nothing queued", w, base(json!({})), 500, "No chats were queued. Please check the sending limit of your package!").patch(package(json!({ "wa_send_limit": 4 }))).quota(json!({ "wa_sent": 4 })),
        c("14 trigger failed", w, base(json!({})), 500, "Failed adding chats to WhatsApp queue!").patch(server(json!({ "trigger_ok": false }))),
    ])
    .await;
}

#[tokio::test]
async fn send_ussd_rows() {
    let u = "/api/send/ussd";
    let p = || json!({ "code": "*123#", "sim": "1", "device": "{online}" });
    run(vec![
        c("P3", u, p(), 403, PERM).secret(Some("{restricted}")),
        c(
            "1 code absent",
            u,
            json!({ "sim": "1", "device": "{online}" }),
            400,
            INV,
        ),
        c(
            "1 sim absent",
            u,
            json!({ "code": "*1#", "device": "{online}" }),
            400,
            INV,
        ),
        c(
            "1 device absent",
            u,
            json!({ "code": "*1#", "sim": "1" }),
            400,
            INV,
        ),
        c(
            "2 sim not int",
            u,
            json!({ "code": "*1#", "sim": "a", "device": "{online}" }),
            400,
            INV,
        ),
        c("3 no subscription", u, p(), 403, NOSUB_YOU).patch(no_sub()),
        c(
            "4 ussd limit",
            u,
            p(),
            403,
            "Maximum number of USSD requests has been reached!",
        )
        .quota(json!({ "ussd": 100 })),
        c(
            "5 device not owned",
            u,
            json!({ "code": "*1#", "sim": "1", "device": "{partner}" }),
            404,
            "Device doesn't exist!",
        ),
        c("6 insert failed", u, p(), 500, "Something went wrong!")
            .patch(settings(json!({ "db_fail": true }))),
    ])
    .await;
}

#[tokio::test]
async fn get_rows() {
    run(vec![
        c(
            "otp P3",
            "/api/get/otp",
            json!({ "otp": "123456" }),
            403,
            PERM,
        )
        .secret(Some("{restricted}")),
        c("otp 1 absent", "/api/get/otp", json!({}), 400, INV),
        c(
            "otp 2 unknown",
            "/api/get/otp",
            json!({ "otp": "123456" }),
            403,
            "OTP is invalid or expired!",
        ),
        c(
            "subscription none",
            "/api/get/subscription",
            json!({}),
            403,
            NOSUB,
        )
        .patch(no_sub()),
        c(
            "wa.servers 1 no subscription (400)",
            "/api/get/wa.servers",
            json!({}),
            400,
            NOSUB,
        )
        .patch(no_sub()),
        c(
            "wa.servers 2 none for package",
            "/api/get/wa.servers",
            json!({}),
            404,
            "No WhatsApp servers available for your subscription!",
        )
        .patch(package(json!({ "wa_servers": [] }))),
        c(
            "wa.groups 1 unique absent",
            "/api/get/wa.groups",
            json!({}),
            400,
            INV,
        ),
        c(
            "wa.groups 2 unknown account",
            "/api/get/wa.groups",
            json!({ "unique": "nobody" }),
            500,
            "Something went wrong!",
        ),
        c(
            "wa.groups 3 unreachable",
            "/api/get/wa.groups",
            json!({ "unique": "{wa}" }),
            500,
            UNREACH,
        )
        .patch(server(json!({ "reachable": false }))),
        c(
            "wa.group.contacts gid absent",
            "/api/get/wa.group.contacts",
            json!({ "unique": "{wa}" }),
            400,
            INV,
        ),
        c(
            "wa.group.contacts no server",
            "/api/get/wa.group.contacts",
            json!({ "unique": "nobody", "gid": "1@g.us" }),
            500,
            "Unable to fetch group contacts!",
        ),
        c(
            "wa.group.contacts unreachable",
            "/api/get/wa.group.contacts",
            json!({ "unique": "{wa}", "gid": "1@g.us" }),
            500,
            UNREACH,
        )
        .patch(server(json!({ "reachable": false }))),
        c(
            "pagination limit not int",
            "/api/get/sms.sent",
            json!({ "limit": "ten" }),
            400,
            INV,
        ),
        c(
            "pagination page not int",
            "/api/get/contacts",
            json!({ "page": "1.5" }),
            400,
            INV,
        ),
        c(
            "pagination leading zero",
            "/api/get/groups",
            json!({ "limit": "05" }),
            400,
            INV,
        ),
    ])
    .await;
}

/// `get/wa.qr` and `get/wa.info` token rows need a real token first.
#[tokio::test]
async fn qr_token_rows() {
    let t = sim().await;
    let v = t.api("/api/create/wa.link", json!({ "sid": "1" })).await;
    common::expect(&v, 200, "WhatsApp QRCode has been created!");
    let link = v["data"]["qrimagelink"].as_str().expect("link").to_string();
    let token = link.rsplit('=').next().expect("token").to_string();
    assert_eq!(token.len(), 40);
    for action in ["wa.qr", "wa.info"] {
        let path = format!("/api/get/{action}");
        common::expect(&t.query(&path, json!({})).await, 400, INV);
        common::expect(
            &t.query(&path, json!({ "token": "0".repeat(40) })).await,
            401,
            "Invalid token supplied!",
        );
    }
    // Not linked yet → 301; PNG for the QR.
    common::expect(
        &t.query("/api/get/wa.info", json!({ "token": token })).await,
        301,
        "Waiting for WhatsApp information!",
    );
    let png = t.http.get(&link).send().await.expect("qr");
    assert_eq!(png.status(), 200);
    assert_eq!(png.headers()["content-type"], "image/png");
    let bytes = png.bytes().await.expect("bytes");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(
        u32::from_be_bytes(bytes[16..20].try_into().expect("w")),
        500
    );
    // Image generation failure.
    t.ctl(
        "/_sim/platform",
        json!({ "settings": { "qr_image_fail": true } }),
    )
    .await;
    common::expect(
        &t.query("/api/get/wa.qr", json!({ "token": token })).await,
        500,
        "Something went wrong while generating the image!",
    );
    // Key lacks create_whatsapp → 403; key deleted → 401.
    let full = t.fx.secrets.full.clone();
    t.ctl(
        "/_sim/key",
        json!({ "secret": full, "permissions": ["otp"] }),
    )
    .await;
    common::expect(
        &t.query("/api/get/wa.info", json!({ "token": token })).await,
        403,
        PERM,
    );
    t.ctl("/_sim/key", json!({ "secret": full })).await;
    common::expect(
        &t.query("/api/get/wa.qr", json!({ "token": token })).await,
        401,
        "Invalid API secret supplied!",
    );
    t.ctl("/_sim/reset", json!({})).await;

    // Short QR string → 400; expiry after 600 s → 401; scan → 200 with wid/unique.
    t.ctl(
        "/_sim/platform",
        json!({ "wa_servers": { "1": { "qr_len": 150 } } }),
    )
    .await;
    let v = t.api("/api/create/wa.link", json!({ "sid": "1" })).await;
    let token = v["data"]["infolink"]
        .as_str()
        .expect("infolink")
        .rsplit('=')
        .next()
        .expect("t")
        .to_string();
    common::expect(
        &t.query("/api/get/wa.qr", json!({ "token": token })).await,
        400,
        "QR string is too short to be valid!",
    );
    t.ctl(
        "/_sim/wa/scan",
        json!({ "token": token, "phone": "224628111222" }),
    )
    .await;
    let v = t.query("/api/get/wa.info", json!({ "token": token })).await;
    common::expect(&v, 200, "WhatsApp Information");
    assert_eq!(v["data"]["wid"], "224628111222:1@s.whatsapp.net");
    let unique = v["data"]["unique"].as_str().expect("unique").to_string();
    assert!(
        t.list("/api/get/wa.accounts")
            .await
            .iter()
            .any(|a| a["unique"] == unique.as_str() && a["phone"] == "+224628111222")
    );
    t.ctl("/_sim/time/advance", json!({ "seconds": 601 })).await;
    common::expect(
        &t.query("/api/get/wa.info", json!({ "token": token })).await,
        401,
        "Invalid token supplied!",
    );
}

#[tokio::test]
async fn create_rows() {
    let contact = |extra: Value| {
        let mut p = json!({ "name": "Alpha Conde", "phone": "+224620112233", "groups": "1" });
        for (k, v) in extra.as_object().expect("object") {
            if v.is_null() {
                p.as_object_mut().expect("obj").remove(k);
            } else {
                p[k] = v.clone();
            }
        }
        p
    };
    let l = "/api/create/wa.link";
    let r = "/api/create/wa.relink";
    let limit_msg = "You have reached the maximum allowed WhatsApp accounts for your package!";
    run(vec![
        c("link P3", l, json!({ "sid": "1" }), 403, PERM).secret(Some("{restricted}")),
        c("link 1 sid absent", l, json!({}), 400, INV),
        c(
            "link 2 no subscription",
            l,
            json!({ "sid": "1" }),
            400,
            NOSUB,
        )
        .patch(no_sub()),
        c(
            "link 3 account limit",
            l,
            json!({ "sid": "1" }),
            400,
            limit_msg,
        )
        .patch(package(json!({ "wa_account_limit": 2 }))),
        c(
            "link 4 server unknown",
            l,
            json!({ "sid": "9" }),
            400,
            "WhatsApp server is not available!",
        ),
        c("link 5 unreachable", l, json!({ "sid": "1" }), 500, UNREACH)
            .patch(server(json!({ "reachable": false }))),
        c(
            "link 6 no QR",
            l,
            json!({ "sid": "1" }),
            500,
            "Unable to generate WhatsApp QRCode!",
        )
        .patch(server(json!({ "qr_ok": false }))),
        c("relink 1 unique absent", r, json!({ "sid": "1" }), 400, INV),
        c(
            "relink 2 no subscription",
            r,
            json!({ "sid": "1", "unique": "{wa}" }),
            400,
            NOSUB,
        )
        .patch(no_sub()),
        c(
            "relink 3 at limit",
            r,
            json!({ "sid": "1", "unique": "{wa}" }),
            400,
            limit_msg,
        )
        .patch(package(json!({ "wa_account_limit": 2 }))),
        c(
            "relink 404",
            r,
            json!({ "sid": "1", "unique": "nope" }),
            404,
            "WhatsApp account doesn't exist!",
        ),
        c(
            "relink 4 server unknown",
            r,
            json!({ "sid": "5", "unique": "{wa}" }),
            400,
            "WhatsApp server is not available!",
        ),
        c(
            "relink 5 unreachable",
            r,
            json!({ "sid": "1", "unique": "{wa}" }),
            500,
            UNREACH,
        )
        .patch(server(json!({ "reachable": false }))),
        c(
            "relink 6 no QR",
            r,
            json!({ "sid": "1", "unique": "{wa_off}" }),
            500,
            "Unable to generate WhatsApp QRCode!",
        )
        .patch(server(json!({ "qr_ok": false }))),
        c(
            "contact P3",
            "/api/create/contact",
            contact(json!({})),
            403,
            PERM,
        )
        .secret(Some("{restricted}")),
        c(
            "contact 1 name absent",
            "/api/create/contact",
            contact(json!({ "name": null })),
            400,
            INV,
        ),
        c(
            "contact 1 phone absent",
            "/api/create/contact",
            contact(json!({ "phone": null })),
            400,
            INV,
        ),
        c(
            "contact 1 groups absent",
            "/api/create/contact",
            contact(json!({ "groups": null })),
            400,
            INV,
        ),
        c(
            "contact 2 no subscription",
            "/api/create/contact",
            contact(json!({})),
            400,
            NOSUB,
        )
        .patch(no_sub()),
        c(
            "contact 3 limit",
            "/api/create/contact",
            contact(json!({})),
            400,
            "You have reached the maximum allowed contacts!",
        )
        .patch(package(json!({ "contact_limit": 4 }))),
        c(
            "contact 4 name short",
            "/api/create/contact",
            contact(json!({ "name": "Al" })),
            400,
            "Contact name is too short!",
        ),
        c(
            "contact 5 phone invalid",
            "/api/create/contact",
            contact(json!({ "phone": "12345" })),
            400,
            "Invalid phone number!",
        ),
        c(
            "contact 6 group invalid",
            "/api/create/contact",
            contact(json!({ "groups": "1,7" })),
            400,
            "Group #7 is invalid!",
        ),
        c(
            "contact 6 empty groups",
            "/api/create/contact",
            contact(json!({ "groups": "" })),
            400,
            "Group # is invalid!",
        ),
        c(
            "contact 7 duplicate",
            "/api/create/contact",
            contact(json!({ "phone": "621234567" })),
            400,
            "Phone number already exist in your contact book!",
        ),
        c(
            "contact 8 insert failed",
            "/api/create/contact",
            contact(json!({})),
            500,
            "Something went wrong!",
        )
        .patch(settings(json!({ "db_fail": true }))),
        c(
            "group P3",
            "/api/create/group",
            json!({ "name": "VIP" }),
            403,
            PERM,
        )
        .secret(Some("{restricted}")),
        c(
            "group name absent",
            "/api/create/group",
            json!({}),
            400,
            INV,
        ),
        c(
            "group name short",
            "/api/create/group",
            json!({ "name": "AB" }),
            400,
            "Group name is too short!",
        ),
        c(
            "group insert failed",
            "/api/create/group",
            json!({ "name": "VIP clients" }),
            500,
            "Something went wrong!",
        )
        .patch(settings(json!({ "db_fail": true }))),
    ])
    .await;
}

#[tokio::test]
async fn delete_remote_clear_validate_rows() {
    let mut cases = Vec::new();
    for a in [
        "contact",
        "group",
        "unsubscribed",
        "sms.sent",
        "sms.campaign",
        "sms.received",
        "wa.sent",
        "wa.campaign",
        "wa.received",
        "ussd",
        "notification",
    ] {
        let path: &'static str = Box::leak(format!("/api/delete/{a}").into_boxed_str());
        cases.push(c("id absent", path, json!({ "campaign": "1" }), 400, INV));
        cases.push(c(
            "id not int",
            path,
            json!({ "id": "x1", "campaign": "1" }),
            400,
            INV,
        ));
        cases.push(c("P3", path, json!({ "id": "1" }), 403, PERM).secret(Some("{restricted}")));
    }
    let bulk = json!({ "mode": "devices", "campaign": "Camp1", "numbers": "+224621234567", "message": "hi", "device": "{online}" });
    let wa_bulk = json!({ "account": "{wa}", "campaign": "Camp1", "type": "text", "message": "hi", "recipients": "+224621234567" });
    cases.extend([
        c(
            "sms.campaign without campaign",
            "/api/delete/sms.campaign",
            json!({ "id": "1" }),
            400,
            INV,
        )
        .pre_api("/api/send/sms.bulk", bulk.clone()),
        c(
            "sms.campaign not the caller's",
            "/api/delete/sms.campaign",
            json!({ "id": "1", "campaign": "2" }),
            400,
            INV,
        )
        .pre_api("/api/send/sms.bulk", bulk.clone()),
        c(
            "sms.campaign db failure",
            "/api/delete/sms.campaign",
            json!({ "id": "1", "campaign": "1" }),
            500,
            "Something went wrong!",
        )
        .pre_api("/api/send/sms.bulk", bulk.clone())
        .pre_ctl("/_sim/platform", settings(json!({ "db_fail": true }))),
        c(
            "wa.campaign not the caller's",
            "/api/delete/wa.campaign",
            json!({ "id": "3" }),
            400,
            INV,
        ),
        c(
            "wa.campaign checks delete_wa_sent",
            "/api/delete/wa.campaign",
            json!({ "id": "1" }),
            403,
            PERM,
        )
        .pre_ctl(
            "/_sim/key",
            json!({ "secret": "k2", "permissions": ["delete_wa_campaign"] }),
        )
        .secret(Some("k2")),
        c(
            "wa.account unique absent",
            "/api/delete/wa.account",
            json!({}),
            404,
            "WhatsApp account doesn't exist!",
        ),
        c(
            "wa.account not owned",
            "/api/delete/wa.account",
            json!({ "unique": "nope" }),
            404,
            "WhatsApp account doesn't exist!",
        ),
        c(
            "wa.sent unreachable after delete",
            "/api/delete/wa.sent",
            json!({ "id": "1" }),
            500,
            UNREACH,
        )
        .pre_api(
            "/api/send/whatsapp",
            json!({ "account": "{wa}", "recipient": "+224621234567", "message": "x" }),
        )
        .pre_ctl("/_sim/platform", server(json!({ "reachable": false }))),
        c(
            "contact db failure",
            "/api/delete/contact",
            json!({ "id": "1" }),
            500,
            "Something went wrong!",
        )
        .patch(settings(json!({ "db_fail": true }))),
        c(
            "remote P3",
            "/api/remote/start.sms",
            json!({ "campaign": "1" }),
            403,
            PERM,
        )
        .secret(Some("{restricted}")),
    ]);
    for a in ["start.sms", "stop.sms", "start.chats", "stop.chats"] {
        let path: &'static str = Box::leak(format!("/api/remote/{a}").into_boxed_str());
        cases.push(c("campaign absent", path, json!({}), 400, INV));
        cases.push(c(
            "campaign not int",
            path,
            json!({ "campaign": "one" }),
            400,
            INV,
        ));
        cases.push(
            c(
                "campaign not the caller's",
                path,
                json!({ "campaign": "77" }),
                400,
                INV,
            )
            .pre_api("/api/send/sms.bulk", bulk.clone())
            .pre_api("/api/send/whatsapp.bulk", wa_bulk.clone()),
        );
    }
    cases.extend([
        c("clear P3", "/api/clear/ussd", json!({}), 403, PERM).secret(Some("{restricted}")),
        c(
            "validate P3",
            "/api/validate/whatsapp",
            json!({ "unique": "{wa}", "phone": "+224621234567" }),
            403,
            PERM,
        )
        .secret(Some("{restricted}")),
        c(
            "validate 1 unique absent",
            "/api/validate/whatsapp",
            json!({ "phone": "+224621234567" }),
            400,
            INV,
        ),
        c(
            "validate 1 phone absent",
            "/api/validate/whatsapp",
            json!({ "unique": "{wa}" }),
            400,
            INV,
        ),
        c(
            "validate 2 not owned",
            "/api/validate/whatsapp",
            json!({ "unique": "x", "phone": "+224621234567" }),
            404,
            "WhatsApp account doesn't exist!",
        ),
        c(
            "validate 3 unreachable",
            "/api/validate/whatsapp",
            json!({ "unique": "{wa}", "phone": "+224621234567" }),
            500,
            UNREACH,
        )
        .patch(server(json!({ "reachable": false }))),
        c(
            "validate 4 not on WhatsApp",
            "/api/validate/whatsapp",
            json!({ "unique": "{wa}", "phone": "+224620000000" }),
            404,
            "WhatsApp phone number does not exist!",
        ),
    ]);
    run(cases).await;
}
