//! The `/_sim/*` control API (not part of Message Pro): fixture description, ledger, clock,
//! queue, devices, credits, inbound traffic, webhook, faults, keys, quotas, platform patching
//! and reset. Requests take a JSON body (content type not required); answers are JSON with a
//! real HTTP status: 200, or a [`SimError`] as `{"error": "<message>"}` with its
//! [`SimError::http_status`] (400 on bad input, 404 on unknown control path). Faults never apply.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};

use crate::lifecycle::Stage;
use crate::{Shared, SimError};

fn reply(status: StatusCode, v: Value) -> Response {
    let mut r = Response::new(Body::from(serde_json::to_vec(&v).unwrap_or_default()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

fn done(r: Result<Value, SimError>) -> Response {
    match r {
        Ok(v) => reply(StatusCode::OK, v),
        Err(e) => reply(e.http_status(), json!({ "error": e.to_string() })),
    }
}

/// A required string field.
fn s<'a>(b: &'a Value, k: &'static str) -> Result<&'a str, SimError> {
    b.get(k)
        .and_then(Value::as_str)
        .ok_or(SimError::field(k, "string"))
}

pub async fn handle(shared: Arc<Shared>, req: Request) -> Response {
    let path = req
        .uri()
        .path()
        .trim_start_matches("/_sim")
        .trim_matches('/')
        .to_string();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let b: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => return done(Err(SimError::BadJson(e.to_string()))),
        }
    };
    let sh = &shared;
    match path.as_str() {
        "fixture" => reply(
            StatusCode::OK,
            serde_json::to_value(sh.fixture()).unwrap_or_default(),
        ),
        "ledger" => reply(
            StatusCode::OK,
            serde_json::to_value(sh.ledger()).unwrap_or_default(),
        ),
        "platform" if b.as_object().is_some_and(|o| !o.is_empty()) => {
            done(sh.patch_platform(&b).map(|()| sh.platform()))
        }
        "platform" => reply(StatusCode::OK, sh.platform()),
        "quota" => done(sh.patch_quota(b.get("user").and_then(Value::as_u64), &b)),
        "time/advance" => done(
            b.get("seconds")
                .and_then(Value::as_i64)
                .ok_or(SimError::field("seconds", "integer"))
                .map(|n| json!({ "now": sh.advance_time(n) })),
        ),
        "queue/process" => {
            let stage = if b.get("stage").and_then(Value::as_str) == Some("fetch") {
                Stage::Fetch
            } else {
                Stage::All
            };
            sh.process_queue_stage(stage);
            reply(StatusCode::OK, json!({ "ok": true }))
        }
        "device" => done((|| {
            let unique = s(&b, "unique")?;
            let online = b
                .get("online")
                .and_then(Value::as_bool)
                .ok_or(SimError::field("online", "bool"))?;
            sh.set_device_online(unique, online)?;
            Ok(json!({ "ok": true }))
        })()),
        "credits" => done(
            b.get("credits")
                .and_then(Value::as_f64)
                .ok_or(SimError::field("credits", "number"))
                .map(|c| {
                    sh.set_credits(c);
                    json!({ "ok": true })
                }),
        ),
        "inbound/sms" => done((|| {
            let sim = b.get("sim").and_then(Value::as_u64).unwrap_or(1).min(255) as u8;
            let id = sh.inject_sms_on(
                b.get("device").and_then(Value::as_str),
                sim,
                s(&b, "from")?,
                s(&b, "message")?,
            )?;
            Ok(json!({ "id": id }))
        })()),
        "inbound/whatsapp" => done((|| {
            let att = b
                .get("attachment")
                .and_then(Value::as_str)
                .map(str::to_string);
            let id = sh.inject_chat(
                b.get("account").and_then(Value::as_str),
                s(&b, "from")?,
                s(&b, "message")?,
                att,
            )?;
            Ok(json!({ "id": id }))
        })()),
        "inbound/notification" => done((|| {
            let id = sh.inject_notification(
                b.get("device").and_then(Value::as_str),
                s(&b, "package")?,
                s(&b, "title")?,
                s(&b, "content")?,
            )?;
            Ok(json!({ "id": id }))
        })()),
        "webhook" => done({
            let url = b
                .get("url")
                .and_then(Value::as_str)
                .filter(|u| !u.is_empty());
            let secret = sh.set_webhook(
                url.map(str::to_string),
                b.get("secret").and_then(Value::as_str).map(str::to_string),
            );
            Ok(json!({ "secret": secret }))
        }),
        "faults" => done(
            serde_json::from_value(b)
                .map_err(|e| SimError::InvalidFaults(e.to_string()))
                .map(|f| {
                    sh.set_faults(f);
                    json!({ "ok": true })
                }),
        ),
        "key" => done((|| {
            let secret = s(&b, "secret")?;
            let perms = b.get("permissions").and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            });
            sh.set_key(secret, perms, b.get("user").and_then(Value::as_u64));
            Ok(json!({ "ok": true }))
        })()),
        "wa/scan" => done((|| {
            let digits = b
                .get("phone")
                .and_then(Value::as_str)
                .unwrap_or("224628000999")
                .trim_start_matches('+')
                .to_string();
            let id = sh.scan(s(&b, "token")?, &digits)?;
            Ok(json!({ "account": id }))
        })()),
        "reset" => {
            sh.reset();
            reply(StatusCode::OK, json!({ "ok": true }))
        }
        _ => done(Err(SimError::UnknownEndpoint)),
    }
}

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    if let Value::Object(p) = patch {
        if !target.is_object() {
            *target = json!({});
        }
        let t = target.as_object_mut().expect("object");
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    } else {
        *target = patch.clone();
    }
}
