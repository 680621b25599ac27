//! The admin pages: users (create with a generated password, change role, disable, reset
//! password), roles (create with any permission set) and the audit log with filters.

mod helpers;

use helpers::{TestApp, csrf_in, new_client, spawn_app};
use messagepro_store::{AuditFilter, Page};

fn password_on(page: &str) -> String {
    let re = regex_lite::Regex::new(r#"<code class="secret">([^<]+)</code>"#).unwrap();
    re.captures(page).expect("password shown")[1].to_owned()
}

#[tokio::test]
async fn an_admin_creates_a_user_who_can_then_log_in() {
    let app = spawn_app().await;
    app.login_as("admin").await;
    let role = app.store.role_by_name("operateur").await.unwrap().unwrap();
    let r = app
        .post(
            "/admin/users/new",
            &[
                ("username", "Mariama.Bah"),
                ("role", &role.id.to_string()),
                ("password", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let pw = password_on(&r.text().await.unwrap());
    assert_eq!(pw.len(), 16);
    let u = app
        .store
        .user_by_username("mariama.bah")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u.role_name, "operateur");

    let mariama = TestApp::with_client(&app, new_client());
    assert_eq!(mariama.login("mariama.bah", &pw).await.status(), 303);
    assert_eq!(mariama.get("/messaging/sms/send").await.status(), 200);

    // duplicates and bad names are refused with a message
    let dup = app
        .post(
            "/admin/users/new",
            &[
                ("username", "mariama.bah"),
                ("role", &role.id.to_string()),
                ("password", ""),
            ],
        )
        .await;
    assert_eq!(dup.status(), 422);
    assert!(dup.text().await.unwrap().contains("existe déjà"));
    let bad = app
        .post(
            "/admin/users/new",
            &[
                ("username", "x"),
                ("role", &role.id.to_string()),
                ("password", ""),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let short = app
        .post(
            "/admin/users/new",
            &[
                ("username", "short.pw"),
                ("role", &role.id.to_string()),
                ("password", "abc"),
            ],
        )
        .await;
    assert_eq!(short.status(), 422);
    app.cleanup().await;
}

#[tokio::test]
async fn role_changes_disabling_and_password_resets_take_effect_and_are_audited() {
    let app = spawn_app().await;
    let admin = app.login_as("admin").await;
    let target = app.create_user("lecteur").await;
    let other = TestApp::with_client(&app, new_client());
    assert_eq!(
        other
            .login(&target.username, &target.password)
            .await
            .status(),
        303
    );
    assert_eq!(other.get("/messaging/sms/send").await.status(), 403);

    let sup = app
        .store
        .role_by_name("superviseur")
        .await
        .unwrap()
        .unwrap();
    let r = app
        .post(
            &format!("/admin/users/{}/role", target.id),
            &[("role", &sup.id.to_string())],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        other.get("/messaging/sms/send").await.status(),
        200,
        "new role applies at once"
    );

    let r = app
        .post(&format!("/admin/users/{}/disable", target.id), &[])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        other.get("/messaging/").await.status(),
        303,
        "disabled: session over"
    );
    assert_eq!(
        other
            .login(&target.username, &target.password)
            .await
            .status(),
        401
    );
    app.post(&format!("/admin/users/{}/enable", target.id), &[])
        .await;

    let r = app
        .post(&format!("/admin/users/{}/password", target.id), &[])
        .await;
    let new_pw = password_on(&r.text().await.unwrap());
    assert_eq!(
        other
            .login(&target.username, &target.password)
            .await
            .status(),
        401
    );
    assert_eq!(other.login(&target.username, &new_pw).await.status(), 303);

    // an admin cannot lock themselves out
    let me = app
        .post(&format!("/admin/users/{}/disable", admin.id), &[])
        .await;
    assert_eq!(me.status(), 400);

    let entries = app
        .store
        .list_audit(&AuditFilter::default(), Page::first(100))
        .await
        .unwrap();
    for action in [
        "user.set_role",
        "user.disable",
        "user.enable",
        "user.reset_password",
        "auth.login",
    ] {
        assert!(
            entries.iter().any(|e| e.action == action),
            "{action} audited"
        );
    }
    let set_role = entries
        .iter()
        .find(|e| e.action == "user.set_role")
        .unwrap();
    assert_eq!(set_role.username.as_deref(), Some(admin.username.as_str()));
    assert_eq!(set_role.target.as_deref(), Some(target.username.as_str()));
    assert_eq!(set_role.detail.as_deref(), Some("lecteur -> superviseur"));
    assert_eq!(set_role.ip.as_deref(), Some("127.0.0.1"));
    app.cleanup().await;
}

#[tokio::test]
async fn an_admin_creates_a_custom_role_with_any_permissions() {
    let app = spawn_app().await;
    app.login_as("admin").await;
    let r = app
        .post(
            "/admin/roles/new",
            &[
                ("name", "standard-otp"),
                ("description", "Accueil"),
                ("permission", "messaging.send_otp"),
                ("permission", "messaging.read"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let role = app
        .store
        .role_by_name("standard-otp")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(role.permissions, ["messaging.read", "messaging.send_otp"]);
    let page = app.get("/admin/roles").await.text().await.unwrap();
    assert!(page.contains("standard-otp"));
    let bad = app
        .post(
            "/admin/roles/new",
            &[("name", "x2"), ("permission", "messaging.read")],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let unknown = app
        .post(
            "/admin/roles/new",
            &[("name", "weird"), ("permission", "root.everything")],
        )
        .await;
    assert_eq!(unknown.status(), 400);
    assert!(app.store.role_by_name("weird").await.unwrap().is_none());
    app.cleanup().await;
}

#[tokio::test]
async fn the_audit_page_filters_and_paginates() {
    let app = spawn_app().await;
    app.login_as("admin").await;
    for _ in 0..3 {
        let probe = TestApp::with_client(&app, new_client());
        let _ = probe.login("ghost-user", "wrong-password").await;
    }
    let page = app.get("/admin/audit?action=auth.login_failed").await;
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap();
    assert_eq!(body.matches("<code>auth.login_failed</code>").count(), 3);
    assert!(!body.contains("<code>auth.login</code>"));
    assert!(body.contains("3 entrées"));
    let none = app
        .get("/admin/audit?outcome=success&from=2000-01-01&to=2000-01-02")
        .await;
    assert!(none.text().await.unwrap().contains("0 entrées"));
    assert!(
        csrf_in(&body).is_some(),
        "the page carries the CSRF token for its forms"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn the_language_switch_is_remembered_for_the_user() {
    let app = spawn_app().await;
    let u = app.login_as("lecteur").await;
    let fr = app.get("/messaging/").await.text().await.unwrap();
    assert!(fr.contains("Tableau de bord"));
    let r = app
        .post("/language", &[("lang", "en"), ("next", "/messaging/")])
        .await;
    assert_eq!(r.status(), 303);
    let en = app.get("/messaging/").await.text().await.unwrap();
    assert!(en.contains("Dashboard") && en.contains("lang=\"en\""));
    let stored = app.store.user_by_id(u.id).await.unwrap().unwrap();
    assert_eq!(stored.language.as_deref(), Some("en"));
    app.cleanup().await;
}

#[tokio::test]
async fn an_admin_edits_the_permissions_of_a_custom_role_but_not_of_a_builtin_one() {
    let app = spawn_app().await;
    app.login_as("admin").await;
    let role = app
        .store
        .create_role("guichet", "", &["messaging.read"], 0)
        .await
        .unwrap();
    let form = app.get(&format!("/admin/roles/{}", role.id)).await;
    assert_eq!(form.status(), 200);
    assert!(
        form.text()
            .await
            .unwrap()
            .contains(r#"value="messaging.read" checked"#)
    );
    let r = app
        .post(
            &format!("/admin/roles/{}", role.id),
            &[("permission", "messaging.send_otp")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        app.store.role_permissions(role.id).await.unwrap(),
        ["messaging.send_otp"]
    );
    let builtin = app.store.role_by_name("lecteur").await.unwrap().unwrap();
    let r = app
        .post(
            &format!("/admin/roles/{}", builtin.id),
            &[("permission", "admin.users")],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        app.store.role_permissions(builtin.id).await.unwrap(),
        ["messaging.read"]
    );
    let audited = app
        .store
        .count_audit(&AuditFilter {
            action: Some("role.set_permissions".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(audited, 1);
    app.cleanup().await;
}

#[tokio::test]
async fn the_new_user_form_preselects_the_least_privileged_role() {
    let app = spawn_app().await;
    app.login_as("admin").await;
    let page = app.get("/admin/users/new").await.text().await.unwrap();
    let re =
        regex_lite::Regex::new(r#"<option value="(\d+)"( selected)?>([a-z]+)</option>"#).unwrap();
    let selected: Vec<String> = re
        .captures_iter(&page)
        .filter(|c| c.get(2).is_some())
        .map(|c| c[3].to_owned())
        .collect();
    assert_eq!(selected, ["lecteur"], "{page}");
    assert!(
        re.captures_iter(&page).any(|c| &c[3] == "admin"),
        "admin is still offered: {page}"
    );
    // a refused form keeps the role the admin picked
    let op = app.store.role_by_name("operateur").await.unwrap().unwrap();
    let r = app
        .post(
            "/admin/users/new",
            &[("username", "!bad"), ("role", &op.id.to_string())],
        )
        .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    let selected: Vec<String> = re
        .captures_iter(&page)
        .filter(|c| c.get(2).is_some())
        .map(|c| c[3].to_owned())
        .collect();
    assert_eq!(selected, ["operateur"], "{page}");
    app.cleanup().await;
}

#[tokio::test]
async fn an_admin_creates_a_token_shown_once_that_the_api_accepts_until_revoked() {
    let app = spawn_app().await;
    app.login_as("admin").await;
    // refused without a scope, with the reason in the page and nothing created
    let r = app
        .post("/admin/tokens", &[("name", "erp"), ("rate", "60")])
        .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("Cochez au moins un droit"), "{page}");
    assert!(app.store.tokens().await.unwrap().is_empty());
    let r = app
        .post(
            "/admin/tokens",
            &[
                ("name", "erp"),
                ("scope", "messages:read"),
                ("scope", "otp"),
                ("rate", "60"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    let secret = password_on(&page);
    assert!(secret.starts_with("mp_"), "{secret}");
    assert!(
        page.contains(r#"name="rate" value="600""#),
        "the form is ready for another token, with the default rate"
    );
    // the browser posting the same form again (a reload of the answer) creates nothing
    let nonce = app.nonce("/admin/tokens").await;
    let form = [
        ("name", "erp-2"),
        ("scope", "otp"),
        ("rate", "60"),
        ("nonce", nonce.as_str()),
    ];
    assert_eq!(app.post("/admin/tokens", &form).await.status(), 200);
    let again = app.post("/admin/tokens", &form).await;
    assert_eq!(again.status(), 303);
    let list = app.get("/admin/tokens").await.text().await.unwrap();
    assert!(list.contains("aucun nouveau jeton"), "{list}");
    let erp2 = app.store.tokens().await.unwrap();
    assert_eq!(erp2.iter().filter(|t| t.name == "erp-2").count(), 1);
    let tokens: Vec<_> = app
        .store
        .tokens()
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.name == "erp")
        .collect();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].scopes, "messages:read otp");
    assert_eq!(tokens[0].rate_per_minute, 60);
    // the list never shows it again
    let list = app.get("/admin/tokens").await.text().await.unwrap();
    assert!(!list.contains(&secret));
    assert!(list.contains(&tokens[0].prefix));
    // the API accepts it
    let api = |secret: String| {
        let url = app.at("/api/v1/messages");
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(secret)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(api(secret.clone()).await, 200);
    // revoked: refused at once, and both steps are audited
    let r = app
        .post(&format!("/admin/tokens/{}/revoke", tokens[0].id), &[])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(api(secret.clone()).await, 401);
    let audit = app
        .store
        .list_audit(&AuditFilter::default(), Page::first(50))
        .await
        .unwrap();
    for action in ["token.create", "token.revoke"] {
        let e = audit.iter().find(|a| a.action == action).expect(action);
        assert!(!e.detail.clone().unwrap_or_default().contains(&secret));
    }
    app.cleanup().await;
}

#[tokio::test]
async fn an_admin_edits_the_event_rules_and_a_wrong_template_is_refused_in_the_page() {
    let app = spawn_app().await;
    app.login_as("admin").await;
    let page = app.get("/admin/events").await.text().await.unwrap();
    assert!(
        page.contains("order.validated") && page.contains("stock.low"),
        "the two shipped rules"
    );
    let form = |template: &'static str, path: &'static str, group: &'static str| {
        vec![
            ("kind", "invoice.paid"),
            ("channel", "sms"),
            ("template", template),
            ("recipient_path", path),
            ("recipient_group", group),
            ("route", ""),
            ("fallback_channel", ""),
            ("fallback_route", ""),
            ("enabled", "on"),
        ]
    };
    let r = app
        .post(
            "/admin/events",
            &form(
                "Merci {{client.name}, reçu {{invoice.number}}",
                "client.phone",
                "",
            ),
        )
        .await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("Le modèle contient une variable illisible")
            || body.contains("Une variable du modèle n&#39;est pas fermée"),
        "a French reason: {}",
        body.split("flash-error")
            .nth(1)
            .unwrap_or(&body)
            .chars()
            .take(300)
            .collect::<String>()
    );
    assert!(!body.contains("unknown variable") && !body.contains("unclosed"));
    let r = app
        .post(
            "/admin/events",
            &form(
                "Facture {{invoice.number}} payée",
                "client.phone",
                "commerciaux",
            ),
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("un seul des deux"));
    assert!(
        app.store
            .event_rule("invoice.paid")
            .await
            .unwrap()
            .is_none()
    );
    let r = app
        .post(
            "/admin/events",
            &form(
                "Facture {{invoice.number}} payée, merci !",
                "client.phone",
                "",
            ),
        )
        .await;
    assert_eq!(r.status(), 303);
    let rule = app.store.event_rule("invoice.paid").await.unwrap().unwrap();
    assert_eq!(rule.recipient_path.as_deref(), Some("client.phone"));
    assert!(rule.enabled);
    let edit = app
        .get("/admin/events?edit=invoice.paid")
        .await
        .text()
        .await
        .unwrap();
    assert!(edit.contains("Facture {{invoice.number}} payée, merci !"));
    // a fallback: the same channel and route as the first send is refused, in French…
    let mut with_fallback = form("Facture {{invoice.number}} payée", "client.phone", "");
    with_fallback.retain(|(k, _)| !k.starts_with("fallback"));
    with_fallback.push(("fallback_channel", "sms"));
    with_fallback.push(("fallback_route", ""));
    let r = app.post("/admin/events", &with_fallback).await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("La solution de repli doit différer du premier envoi")
    );
    // …another route is saved, and shown in the list and the form
    with_fallback.pop();
    with_fallback.push(("fallback_route", "{\"gateway\": \"1\"}"));
    let r = app.post("/admin/events", &with_fallback).await;
    assert_eq!(r.status(), 303);
    let rule = app.store.event_rule("invoice.paid").await.unwrap().unwrap();
    assert_eq!(rule.fallback_channel.as_deref(), Some("sms"));
    let list = app.get("/admin/events").await.text().await.unwrap();
    assert!(
        list.contains("sms <span class=\"muted\">puis sms</span>"),
        "{list}"
    );
    let edit = app
        .get("/admin/events?edit=invoice.paid")
        .await
        .text()
        .await
        .unwrap();
    let fallback = edit
        .split("<legend>Solution de repli</legend>")
        .nth(1)
        .unwrap();
    assert!(fallback.contains("<option value=\"sms\" selected>SMS</option>"));
    assert!(
        fallback.contains("&#34;gateway&#34;: &#34;1&#34;"),
        "{fallback}"
    );
    let r = app
        .post("/admin/events/delete", &[("kind", "invoice.paid")])
        .await;
    assert_eq!(r.status(), 303);
    assert!(
        app.store
            .event_rule("invoice.paid")
            .await
            .unwrap()
            .is_none()
    );
    let audit = app
        .store
        .list_audit(&AuditFilter::default(), Page::first(50))
        .await
        .unwrap();
    assert!(audit.iter().any(|a| a.action == "event_rule.save"));
    assert!(audit.iter().any(|a| a.action == "event_rule.delete"));
    app.cleanup().await;
}

#[tokio::test]
async fn an_id_that_is_not_a_number_is_the_translated_not_found_page() {
    let app = spawn_app().await;
    app.login_as("admin").await;
    for path in ["/admin/users/abc", "/admin/roles/x1", "/admin/webhooks/new"] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 404, "{path}");
        let page = r.text().await.unwrap();
        assert!(
            page.contains("<html"),
            "{path}: a page, not axum's plain text"
        );
        assert!(!page.contains("Invalid URL"), "{path}");
    }
    app.cleanup().await;
}
