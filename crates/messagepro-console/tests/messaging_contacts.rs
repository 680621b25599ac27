//! Contacts and groups pages over HTTP: rendering per role, create with a local number (stored
//! E.164), CSV import reporting every row with its line, groups, and the sync with the simulator.

mod helpers;

use helpers::messaging::spawn_app_with_sim;
use helpers::spawn_app;
use messagepro_store::{AuditFilter, ContactFilter, Page};

async fn body(r: reqwest::Response) -> (u16, String) {
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The text of the report row of `line` (`<tr class="import-row" data-line="N">…</tr>`).
fn report_row(html: &str, line: u64) -> String {
    let start = html
        .find(&format!("data-line=\"{line}\""))
        .unwrap_or_else(|| panic!("no report row for line {line}:\n{html}"));
    let end = html[start..].find("</tr>").unwrap() + start;
    html[start..end].to_owned()
}

#[tokio::test]
async fn contact_and_group_pages_render_for_readers_and_forms_only_for_managers() {
    let app = spawn_app().await;
    app.login_as("lecteur").await;
    for path in ["/messaging/contacts", "/messaging/groups"] {
        let (status, html) = body(app.get(path).await).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            !html.contains("/messaging/contacts/import"),
            "reader sees no import link on {path}"
        );
    }
    assert_eq!(app.get("/messaging/contacts/create").await.status(), 403);
    assert_eq!(app.get("/messaging/contacts/import").await.status(), 403);
    let r = app
        .post(
            "/messaging/contacts/create",
            &[("name", "Awa"), ("phone", "621234567")],
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(
        app.store
            .count_contacts(&ContactFilter::default())
            .await
            .unwrap(),
        0
    );

    let app2 = spawn_app().await;
    app2.login_as("superviseur").await;
    for path in [
        "/messaging/contacts",
        "/messaging/groups",
        "/messaging/contacts/create",
        "/messaging/contacts/import",
    ] {
        let (status, html) = body(app2.get(path).await).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            html.contains("csrf_token") || path == "/messaging/contacts",
            "{path}"
        );
    }
    app.cleanup().await;
    app2.cleanup().await;
}

#[tokio::test]
async fn creating_a_contact_with_a_local_number_stores_e164_and_its_groups() {
    let app = spawn_app().await;
    app.login_as("superviseur").await;
    let r = app
        .post("/messaging/groups", &[("name", "Clients Kaloum")])
        .await;
    assert_eq!(r.status(), 303);
    let group = app.store.list_groups().await.unwrap().remove(0);
    assert_eq!(group.name, "Clients Kaloum");

    let gid = group.id.to_string();
    let r = app
        .post(
            "/messaging/contacts/create",
            &[
                ("name", "Awa Camara"),
                ("phone", "621 23 45 67"),
                ("groups", &gid),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let c = app
        .store
        .contact_by_phone("+224621234567")
        .await
        .unwrap()
        .expect("stored in E.164");
    assert_eq!(c.name, "Awa Camara");
    let in_group = app
        .store
        .list_contacts(
            &ContactFilter {
                group_id: Some(group.id),
                ..Default::default()
            },
            Page::first(10),
        )
        .await
        .unwrap();
    assert_eq!(in_group.len(), 1);

    let (_, html) = body(app.get("/messaging/contacts?q=Awa").await).await;
    assert!(html.contains("+224621234567"), "{html}");
    assert!(
        html.contains("Contact +224621234567 enregistré"),
        "flash shown: {html}"
    );

    // the same number in another format is a duplicate, said clearly, form kept
    let (status, html) = body(
        app.post(
            "/messaging/contacts/create",
            &[("name", "Awa 2"), ("phone", "+224 621 23 45 67")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("déjà dans vos contacts"), "{html}");
    assert!(html.contains("value=\"Awa 2\""), "form keeps the name");
    let audit = app
        .store
        .list_audit(
            &AuditFilter {
                action: Some("contact.create".into()),
                ..Default::default()
            },
            Page::first(10),
        )
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    app.cleanup().await;
}

#[tokio::test]
async fn an_invalid_phone_is_refused_with_a_sentence_and_the_form_keeps_what_was_typed() {
    let app = spawn_app().await;
    app.login_as("superviseur").await;
    let (status, html) = body(
        app.post(
            "/messaging/contacts/create",
            &[("name", "Moussa"), ("phone", "12ab")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        html.contains("« 12ab »") && html.contains("pas un numéro de téléphone valide"),
        "{html}"
    );
    assert!(html.contains("value=\"12ab\"") && html.contains("value=\"Moussa\""));
    assert_eq!(
        app.store
            .count_contacts(&ContactFilter::default())
            .await
            .unwrap(),
        0
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_csv_import_reports_created_duplicate_and_invalid_rows_with_their_line_numbers() {
    let app = spawn_app().await;
    app.login_as("superviseur").await;
    // an existing contact
    app.store
        .insert_contact("Déjà là", "+224622000000", 0)
        .await
        .unwrap();
    let csv = "Nom;Téléphone\n\
               Awa Camara;621 23 45 67\n\
               Binta;+224 628 11 22 33\n\
               Awa encore;00224621234567\n\
               Inconnu;12345\n\
               \n\
               Ancien;622 00 00 00\n\
               Sans numéro;\n";
    let (status, html) = body(
        app.post("/messaging/contacts/import", &[("csv", csv)])
            .await,
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(report_row(&html, 2).contains("Créé"));
    assert!(report_row(&html, 2).contains("+224621234567"));
    assert!(report_row(&html, 3).contains("Créé"));
    assert!(
        report_row(&html, 4).contains("Doublon de la ligne 2"),
        "{}",
        report_row(&html, 4)
    );
    assert!(report_row(&html, 5).contains("Numéro invalide"));
    assert!(report_row(&html, 7).contains("Déjà dans les contacts"));
    assert!(report_row(&html, 8).contains("Numéro manquant"));
    assert!(
        !html.contains("data-line=\"6\""),
        "a blank line is not a row"
    );
    assert!(
        html.contains("6 ligne(s) lue(s) : 2 créée(s), 2 doublon(s), 2 invalide(s)."),
        "{html}"
    );
    assert_eq!(
        app.store
            .count_contacts(&ContactFilter::default())
            .await
            .unwrap(),
        3
    );
    app.cleanup().await;
}

#[tokio::test]
async fn an_uploaded_csv_file_without_header_is_imported_into_the_chosen_group() {
    let app = spawn_app().await;
    app.login_as("superviseur").await;
    let g = app.store.insert_group("Fournisseurs", 0).await.unwrap();
    let token = app.csrf().await;
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", token.clone())
        .text("groups", g.id.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"Alpha,621000001\nBeta,pas un numero\n".to_vec())
                .file_name("contacts.csv"),
        );
    let r = app
        .client
        .post(app.at("/messaging/contacts/import"))
        .header("x-csrf-token", token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (status, html) = body(r).await;
    assert_eq!(status, 200, "{html}");
    assert!(report_row(&html, 1).contains("Créé"));
    assert!(report_row(&html, 2).contains("Numéro invalide"));
    let groups = app.store.list_groups().await.unwrap();
    assert_eq!(groups[0].members, 1);
    app.cleanup().await;
}

#[tokio::test]
async fn groups_are_created_once_and_short_names_are_refused() {
    let app = spawn_app().await;
    app.login_as("superviseur").await;
    assert_eq!(
        app.post("/messaging/groups", &[("name", "VIP Conakry")])
            .await
            .status(),
        303
    );
    let (status, html) = body(
        app.post("/messaging/groups", &[("name", "VIP Conakry")])
            .await,
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("existe déjà"), "{html}");
    let (status, html) = body(app.post("/messaging/groups", &[("name", "ab")]).await).await;
    assert_eq!(status, 422);
    assert!(html.contains("au moins 3 caractères"), "{html}");
    let (_, html) = body(app.get("/messaging/groups").await).await;
    assert!(html.contains("VIP Conakry"));
    assert_eq!(app.store.list_groups().await.unwrap().len(), 1);
    app.cleanup().await;
}

#[tokio::test]
async fn sync_pulls_the_fixture_contacts_and_pushes_local_ones() {
    let app = spawn_app_with_sim().await;
    app.login_as("superviseur").await;
    let fixture = app.fixture();
    assert!(
        !fixture.contacts.is_empty(),
        "the demo fixture has contacts"
    );
    // a local contact in a local group, and one in no group
    let g = app.store.insert_group("Console locale", 0).await.unwrap();
    let c = app
        .store
        .insert_contact("Local Un", "+224625550001", 0)
        .await
        .unwrap();
    app.store.add_to_group(c.id, g.id).await.unwrap();
    app.store
        .insert_contact("Sans groupe", "+224625550002", 0)
        .await
        .unwrap();

    let (status, html) = body(app.post("/messaging/contacts/sync", &[]).await).await;
    assert_eq!(status, 200, "{html}");
    for fc in &fixture.contacts {
        let phone = messagepro::Phone::parse(&fc.phone, "GN").unwrap();
        assert!(
            app.store
                .contact_by_phone(phone.e164())
                .await
                .unwrap()
                .is_some(),
            "fixture contact {} pulled",
            fc.phone
        );
    }
    let names: Vec<String> = app
        .store
        .list_groups()
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.name)
        .collect();
    for fg in &fixture.groups {
        assert!(names.contains(&fg.name), "group {} pulled", fg.name);
    }
    let remote = app.state.platform.all_contacts().await.unwrap();
    assert!(
        remote.iter().any(|r| r.phone == "+224625550001"),
        "local contact pushed"
    );
    assert!(!remote.iter().any(|r| r.phone == "+224625550002"));
    assert!(
        html.contains("1 contact(s) envoyé(s) vers Message Pro"),
        "{html}"
    );
    assert!(
        html.contains("+224625550002"),
        "the skipped contact is listed"
    );
    assert!(!html.contains(helpers::SENTINEL_SECRET));

    // a second sync pulls and pushes nothing new
    let before = app
        .store
        .count_contacts(&ContactFilter::default())
        .await
        .unwrap();
    let (_, html) = body(app.post("/messaging/contacts/sync", &[]).await).await;
    assert!(html.contains("0 contact(s) récupéré(s)"), "{html}");
    assert!(html.contains("0 contact(s) envoyé(s)"), "{html}");
    assert_eq!(
        app.store
            .count_contacts(&ContactFilter::default())
            .await
            .unwrap(),
        before
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_manager_edits_regroups_opts_out_and_deletes_a_contact_and_a_reader_only_sees_it() {
    let app = spawn_app().await;
    app.login_as("superviseur").await;
    let a = app.store.insert_group("Groupe A", 0).await.unwrap();
    let b = app.store.insert_group("Groupe B", 0).await.unwrap();
    let c = app
        .store
        .insert_contact("Awa", "+224621234567", 0)
        .await
        .unwrap();
    app.store.add_to_group(c.id, a.id).await.unwrap();
    let path = format!("/messaging/contacts/{}", c.id);

    let (status, html) = body(
        app.get(&format!("/messaging/contacts?contact={}", c.id))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains("value=\"+224621234567\""), "{html}");
    let bid = b.id.to_string();
    let r = app
        .post(
            &path,
            &[
                ("name", "Awa Camara"),
                ("phone", "628 11 22 33"),
                ("groups", &bid),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let c2 = app.store.contact_by_id(c.id).await.unwrap().unwrap();
    assert_eq!(
        (c2.name.as_str(), c2.phone.as_str()),
        ("Awa Camara", "+224628112233")
    );
    let groups = app.store.list_groups().await.unwrap();
    let members = |name: &str| groups.iter().find(|g| g.name == name).unwrap().members;
    assert_eq!(
        (members("Groupe A"), members("Groupe B")),
        (0, 1),
        "moved from A to B"
    );

    let (status, html) = body(app.post(&path, &[("name", "Awa"), ("phone", "xyz")]).await).await;
    assert_eq!(status, 422);
    assert!(html.contains("value=\"xyz\""), "form keeps the input");

    assert_eq!(app.post(&format!("{path}/optout"), &[]).await.status(), 303);
    let c3 = app.store.contact_by_id(c.id).await.unwrap().unwrap();
    assert!(c3.opted_out_ms.is_some());

    let reader = spawn_app().await;
    reader.login_as("lecteur").await;
    let rc = reader
        .store
        .insert_contact("Binta", "+224622000000", 0)
        .await
        .unwrap();
    let rpath = format!("/messaging/contacts/{}", rc.id);
    let (status, html) = body(
        reader
            .get(&format!("/messaging/contacts?contact={}", rc.id))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("+224622000000") && !html.contains("name=\"phone\""),
        "read-only"
    );
    assert_eq!(
        reader.post(&format!("{rpath}/delete"), &[]).await.status(),
        403
    );
    assert_eq!(
        reader
            .get("/messaging/contacts?contact=999999")
            .await
            .status(),
        404
    );

    assert_eq!(app.post(&format!("{path}/delete"), &[]).await.status(), 303);
    assert!(app.store.contact_by_id(c.id).await.unwrap().is_none());
    app.cleanup().await;
    reader.cleanup().await;
}

#[tokio::test]
async fn sync_with_an_unreachable_platform_says_so_and_changes_nothing() {
    let helpers::messaging::SimApp { app, sim, state } = spawn_app_with_sim().await;
    drop(state);
    sim.shutdown().await;
    app.login_as("superviseur").await;
    app.store
        .insert_contact("Local", "+224625550001", 0)
        .await
        .unwrap();
    let (status, html) = body(app.post("/messaging/contacts/sync", &[]).await).await;
    assert_eq!(status, 200);
    assert!(html.contains("Message Pro est injoignable"), "{html}");
    assert!(!html.contains(helpers::SENTINEL_SECRET));
    assert_eq!(
        app.store
            .count_contacts(&ContactFilter::default())
            .await
            .unwrap(),
        1
    );
    app.cleanup().await;
}

#[tokio::test]
async fn an_empty_import_is_refused_with_a_sentence_that_htmx_can_show() {
    let app = spawn_app().await;
    app.login_as("superviseur").await;
    let (status, html) = body(
        app.post("/messaging/contacts/import", &[("csv", "\n\n")])
            .await,
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("Le fichier est vide"), "{html}");
    let token = app.csrf().await;
    let r = app
        .client
        .post(app.at("/messaging/contacts/import"))
        .header("hx-request", "true")
        .form(&[("csv", ""), ("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    let (status, html) = body(r).await;
    assert_eq!(status, 200, "htmx swaps only 2xx answers");
    assert!(html.contains("Le fichier est vide"));
    app.cleanup().await;
}

#[tokio::test]
async fn the_opted_out_page_lists_adds_and_removes_numbers_with_clear_errors() {
    let app = spawn_app_with_sim().await;
    app.login_as("superviseur").await;
    // a number that is not one
    let (status, html) = body(
        app.post(
            "/messaging/suppressions",
            &[("phone", "abc"), ("reason", "x")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("Numéro invalide"), "{html}");
    assert!(
        app.store
            .list_suppressions(None, 10, 0)
            .await
            .unwrap()
            .is_empty()
    );
    // a local number, with a reason
    let (status, _) = body(
        app.post(
            "/messaging/suppressions",
            &[("phone", "621 00 09 10"), ("reason", "demande client")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 303);
    let (_, html) = body(app.get("/messaging/suppressions").await).await;
    assert!(html.contains("+224621000910 est désinscrit"), "{html}");
    assert!(
        html.contains("+224621000910")
            && html.contains("demande client")
            && html.contains("Console / API"),
        "listed with why and where from: {html}"
    );
    // searched by the digits as typed
    let (_, found) = body(app.get("/messaging/suppressions?q=621+00+09").await).await;
    assert!(found.contains("+224621000910"), "{found}");
    let (_, none) = body(app.get("/messaging/suppressions?q=33").await).await;
    assert!(!none.contains("+224621000910"), "{none}");
    // a single send to it is refused and recorded « Non envoyé »
    let device = app.online_device();
    let (_, sent) = body(
        app.post(
            "/messaging/sms/send",
            &[
                ("phone", "621000910"),
                ("message", "Bonjour"),
                ("mode", "devices"),
                ("device", &device),
                (
                    "nonce",
                    &helpers::nonce_in(&body(app.get("/messaging/sms/send").await).await.1)
                        .unwrap(),
                ),
            ],
        )
        .await,
    )
    .await;
    assert!(
        sent.contains("s&#39;est désinscrit") || sent.contains("s'est désinscrit"),
        "{sent}"
    );
    assert!(app.sim.ledger().is_empty());
    // opted back in
    let (status, _) = body(
        app.post(
            "/messaging/suppressions/remove",
            &[("phone", "+224621000910")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 303);
    let (_, html) = body(app.get("/messaging/suppressions").await).await;
    assert!(html.contains("+224621000910 est réinscrit"), "{html}");
    assert!(
        app.store
            .list_suppressions(None, 10, 0)
            .await
            .unwrap()
            .is_empty()
    );
    let actions: Vec<String> = app
        .store
        .list_audit(&AuditFilter::default(), Page::first(50))
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert!(
        actions.contains(&"contact.opt_out".to_string()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"contact.opt_in".to_string()),
        "{actions:?}"
    );
    // a reader sees the list but may not change it
    app.state
        .core
        .opt_out(
            &messagepro_core::Actor::System { name: "test" },
            &messagepro::Phone::parse_international("+224621000911").unwrap(),
            Some("STOP"),
        )
        .await
        .unwrap();
    let reader = helpers::TestApp::with_client(&app, helpers::new_client());
    reader.login_as("lecteur").await;
    let (status, html) = body(reader.get("/messaging/suppressions").await).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("+224621000911") && !html.contains("name=\"reason\""),
        "{html}"
    );
    let (status, _) = body(
        reader
            .post("/messaging/suppressions", &[("phone", "621000912")])
            .await,
    )
    .await;
    assert_eq!(status, 403);
    app.cleanup().await;
}
