//! `/api/v1/contacts` and `/api/v1/groups` over HTTP: create, read, list with a cursor,
//! change (groups, phone, opt-out — which is the suppression list), delete, and the refusals
//! (scope, duplicates, unknown groups, bad phones). Runs on SQLite, and on PostgreSQL when
//! `MESSAGEPRO_TEST_DATABASE_URL` is set.

mod helpers;

use helpers::messaging::{SimApp, spawn_app_with_sim_settings};
use messagepro_core::Actor;
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

async fn token(app: &SimApp, scopes: &str) -> String {
    let scopes: Vec<String> = scopes.split(' ').map(str::to_owned).collect();
    let t = app
        .state
        .core
        .token_create(&Actor::System { name: "test" }, "crm", &scopes, None)
        .await
        .unwrap();
    t.secret.expose_secret().to_owned()
}

async fn call(app: &SimApp, tok: &str, m: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut r = reqwest::Client::new()
        .request(m, app.at(path))
        .bearer_auth(tok);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_crm_keeps_the_contact_book_and_its_opt_outs_over_the_api() {
    let app = spawn_app_with_sim_settings(None, true, |_, _| {}).await;
    let tok = token(&app, "contacts").await;
    let (st, g) = call(
        &app,
        &tok,
        Method::POST,
        "/api/v1/groups",
        Some(json!({"name": "VIP"})),
    )
    .await;
    assert_eq!(st, 201, "{g}");
    let vip = g["id"].as_i64().unwrap();
    let (st, g2) = call(
        &app,
        &tok,
        Method::POST,
        "/api/v1/groups",
        Some(json!({"name": "Grossistes"})),
    )
    .await;
    assert_eq!(st, 201);
    let gros = g2["id"].as_i64().unwrap();
    let (st, b) = call(
        &app,
        &tok,
        Method::POST,
        "/api/v1/groups",
        Some(json!({"name": "VIP"})),
    )
    .await;
    assert_eq!((st, b["code"].as_str()), (409, Some("already_exists")));

    let (st, c) = call(
        &app,
        &tok,
        Method::POST,
        "/api/v1/contacts",
        Some(json!({"name": "Mariama Barry", "phone": "621 11 22 33", "groups": [vip]})),
    )
    .await;
    assert_eq!(st, 201, "{c}");
    assert_eq!(c["phone"], "+224621112233");
    assert_eq!(c["opted_out"], false);
    assert_eq!(c["groups"][0]["name"], "VIP");
    let id = c["id"].as_i64().unwrap();
    // the same phone written another way is the same contact
    let (st, b) = call(
        &app,
        &tok,
        Method::POST,
        "/api/v1/contacts",
        Some(json!({"name": "Autre", "phone": "+224621112233"})),
    )
    .await;
    assert_eq!((st, b["code"].as_str()), (409, Some("already_exists")));
    for (body, code) in [
        (json!({"name": "X", "phone": "12"}), "invalid_phone"),
        (
            json!({"name": "X", "phone": "622000000", "groups": [9999]}),
            "unknown_group",
        ),
        (
            json!({"name": " ", "phone": "622000000"}),
            "invalid_request",
        ),
    ] {
        let (st, b) = call(
            &app,
            &tok,
            Method::POST,
            "/api/v1/contacts",
            Some(body.clone()),
        )
        .await;
        assert_eq!((st, b["code"].as_str()), (422, Some(code)), "{body} {b}");
    }
    let (st, c2) = call(
        &app,
        &tok,
        Method::POST,
        "/api/v1/contacts",
        Some(json!({"name": "Sékou Condé", "phone": "622334455", "opted_out": true})),
    )
    .await;
    assert_eq!((st, c2["opted_out"].as_bool()), (201, Some(true)), "{c2}");
    assert!(
        app.store
            .suppression("+224622334455")
            .await
            .unwrap()
            .is_some(),
        "opt-out is the suppression list"
    );

    // change: groups, name; opt out; back in
    let (st, u) = call(
        &app,
        &tok,
        Method::PATCH,
        &format!("/api/v1/contacts/{id}"),
        Some(json!({"name": "Mariama B.", "groups": [gros], "opted_out": true})),
    )
    .await;
    assert_eq!(st, 200, "{u}");
    assert_eq!(
        (
            u["name"].as_str(),
            u["groups"][0]["id"].as_i64(),
            u["groups"].as_array().unwrap().len()
        ),
        (Some("Mariama B."), Some(gros), 1)
    );
    assert_eq!(u["opted_out"], true);
    assert!(
        app.store
            .suppression("+224621112233")
            .await
            .unwrap()
            .is_some()
    );
    let (_, u) = call(
        &app,
        &tok,
        Method::PATCH,
        &format!("/api/v1/contacts/{id}"),
        Some(json!({"opted_out": false})),
    )
    .await;
    assert_eq!(u["opted_out"], false);
    assert!(
        app.store
            .suppression("+224621112233")
            .await
            .unwrap()
            .is_none()
    );
    let (st, b) = call(
        &app,
        &tok,
        Method::PATCH,
        &format!("/api/v1/contacts/{id}"),
        Some(json!({"phone": "622 33 44 55"})),
    )
    .await;
    assert_eq!(
        (st, b["code"].as_str()),
        (409, Some("already_exists")),
        "another contact has it"
    );
    let (st, b) = call(
        &app,
        &tok,
        Method::PATCH,
        &format!("/api/v1/contacts/{id}"),
        Some(json!({"colour": "red"})),
    )
    .await;
    assert_eq!((st, b["code"].as_str()), (422, Some("invalid_request")));

    // list: a page of one, then the cursor
    let (st, l) = call(&app, &tok, Method::GET, "/api/v1/contacts?limit=1", None).await;
    assert_eq!(st, 200, "{l}");
    assert_eq!(l["data"].as_array().unwrap().len(), 1);
    let cursor = l["next_cursor"].as_str().unwrap().to_owned();
    let (_, l2) = call(
        &app,
        &tok,
        Method::GET,
        &format!("/api/v1/contacts?limit=1&cursor={cursor}"),
        None,
    )
    .await;
    assert_eq!(l2["data"].as_array().unwrap().len(), 1);
    assert!(l2["next_cursor"].is_null());
    assert_ne!(l["data"][0]["id"], l2["data"][0]["id"]);
    let (_, l3) = call(
        &app,
        &tok,
        Method::GET,
        &format!("/api/v1/contacts?group={gros}"),
        None,
    )
    .await;
    assert_eq!(l3["data"].as_array().unwrap().len(), 1);
    let (_, gl) = call(&app, &tok, Method::GET, "/api/v1/groups", None).await;
    let members: Vec<(String, i64)> = gl["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["name"].as_str().unwrap().to_owned(),
                g["members"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        members,
        [("Grossistes".to_owned(), 1), ("VIP".to_owned(), 0)]
    );

    // delete: the contact goes, its opt-out stays
    let (st, _) = call(
        &app,
        &tok,
        Method::DELETE,
        &format!("/api/v1/contacts/{}", c2["id"]),
        None,
    )
    .await;
    assert_eq!(st, 204);
    assert!(
        app.store
            .suppression("+224622334455")
            .await
            .unwrap()
            .is_some()
    );
    let (st, _) = call(
        &app,
        &tok,
        Method::GET,
        &format!("/api/v1/contacts/{}", c2["id"]),
        None,
    )
    .await;
    assert_eq!(st, 404);
    let (st, _) = call(
        &app,
        &tok,
        Method::DELETE,
        &format!("/api/v1/groups/{gros}"),
        None,
    )
    .await;
    assert_eq!(st, 204);
    let (_, one) = call(
        &app,
        &tok,
        Method::GET,
        &format!("/api/v1/contacts/{id}"),
        None,
    )
    .await;
    assert!(one["groups"].as_array().unwrap().is_empty());

    // another scope: refused, nothing changed
    let other = token(&app, "messages:send").await;
    let (st, b) = call(
        &app,
        &other,
        Method::POST,
        "/api/v1/contacts",
        Some(json!({"name": "Z", "phone": "623000000"})),
    )
    .await;
    assert_eq!((st, b["code"].as_str()), (403, Some("insufficient_scope")));
    let (st, _) = call(&app, &other, Method::GET, "/api/v1/contacts", None).await;
    assert_eq!(st, 403);
    assert!(
        app.store
            .contact_by_phone("+224623000000")
            .await
            .unwrap()
            .is_none()
    );
    let audit = app
        .store
        .list_audit(
            &messagepro_store::AuditFilter::default(),
            messagepro_store::Page::first(50),
        )
        .await
        .unwrap();
    for a in [
        "contact.create",
        "contact.update",
        "contact.delete",
        "group.create",
        "group.delete",
    ] {
        assert!(
            audit
                .iter()
                .any(|e| e.action == a && e.username.as_deref() == Some("token:crm")),
            "{a}"
        );
    }
    app.cleanup().await;
}
