//! The SMS pages and the dashboard, over HTTP, against the in-process simulator.

mod helpers;

use helpers::SENTINEL_SECRET;
use helpers::messaging::{SimApp, spawn_app_with_sim};

use messagepro_store::{MessageFilter, MessageStatus, Page};

async fn body(r: reqwest::Response) -> String {
    r.text().await.unwrap()
}

async fn history(app: &SimApp) -> String {
    let r = app.get("/messaging/sms/history").await;
    assert_eq!(r.status(), 200);
    body(r).await
}

async fn all_messages(app: &SimApp) -> Vec<messagepro_store::Message> {
    app.store
        .list_messages(&MessageFilter::default(), Page::first(100))
        .await
        .unwrap()
}

#[tokio::test]
async fn every_sms_page_and_the_dashboard_render_for_permitted_users_without_leaking_the_secret() {
    let app = spawn_app_with_sim().await;
    app.login_as("operateur").await;
    for path in [
        "/messaging/",
        "/messaging/sms/send",
        "/messaging/sms/bulk",
        "/messaging/sms/history",
        "/messaging/sms/history.csv",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 200, "{path}");
        let b = body(r).await;
        assert!(!b.contains(SENTINEL_SECRET), "{path} shows the secret");
    }
    // the dashboard shows the platform's numbers: credits, devices, WhatsApp accounts
    let dash = body(app.get("/messaging/").await).await;
    let fx = app.fixture();
    assert!(dash.contains(&fx.currency), "credits currency missing");
    assert!(dash.contains(&app.online_device()), "device list missing");
    assert!(
        dash.contains(&fx.whatsapp.unwrap().connected.phone),
        "WhatsApp accounts missing"
    );
    assert!(dash.contains("<svg"), "14-day chart missing");
    assert!(dash.contains("SMS envoyés"), "subscription usage missing");
    assert!(
        !dash.contains("injoignable"),
        "platform reported unreachable"
    );
    // the send page offers the devices with their state and the gateways with a price for GN
    let send = body(app.get("/messaging/sms/send").await).await;
    assert!(send.contains(&app.offline_device()) && send.contains("hors ligne"));
    assert!(send.contains("250 GNF"), "gateway price for GN missing");
    app.cleanup().await;
}

#[tokio::test]
async fn a_reader_sees_the_dashboard_and_history_but_cannot_send() {
    let app = spawn_app_with_sim().await;
    app.login_as("lecteur").await;
    assert_eq!(app.get("/messaging/").await.status(), 200);
    assert_eq!(app.get("/messaging/sms/history").await.status(), 200);
    assert_eq!(app.get("/messaging/sms/send").await.status(), 403);
    let r = app
        .post(
            "/messaging/sms/send",
            &[
                ("phone", "621234567"),
                ("message", "x"),
                ("mode", "devices"),
                ("device", "d"),
            ],
        )
        .await;
    assert_eq!(r.status(), 403);
    assert!(all_messages(&app).await.is_empty());
    app.cleanup().await;
}

#[tokio::test]
async fn a_local_number_through_the_online_device_is_pending_then_sent_after_the_sync() {
    let app = spawn_app_with_sim().await;
    app.login_as("operateur").await;
    let device = app.online_device();
    let r = app
        .post(
            "/messaging/sms/send",
            &[
                ("phone", "621234567"),
                ("message", "Bonjour de la console"),
                ("mode", "devices"),
                ("device", &device),
                ("sim", "1"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let next = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        next.starts_with("/messaging/sms/send?mode=devices"),
        "{next}"
    );
    let page = body(app.get(&next).await).await;
    assert!(page.contains("+224621234567"), "E.164 not shown back");
    assert!(
        page.contains(&format!(r#"<option value="{device}" selected>"#)),
        "the device of the previous send is not kept"
    );

    let h = history(&app).await;
    assert!(h.contains("+224621234567"));
    assert!(
        h.contains(r#"class="badge badge-pending""#),
        "not pending: {h}"
    );
    assert!(!h.contains(r#"class="badge badge-sent""#));

    app.sim.process_queue();
    let report = app.sync().await;
    assert_eq!(report.updated, 1);
    let h = history(&app).await;
    assert!(
        h.contains(r#"class="badge badge-sent""#),
        "not sent after sync"
    );
    assert!(!h.contains(r#"class="badge badge-pending""#));
    let m = &all_messages(&app).await[0];
    assert!(m.platform_id.is_some(), "platform id not recorded");
    // a second pass changes nothing (the platform row is claimed)
    assert_eq!(app.sync().await.updated, 0);
    app.cleanup().await;
}

#[tokio::test]
async fn an_offline_device_is_explained_in_a_sentence_and_the_attempt_is_recorded_failed() {
    let app = spawn_app_with_sim().await;
    app.login_as("operateur").await;
    let device = app.offline_device();
    let r = app
        .post(
            "/messaging/sms/send",
            &[
                ("phone", "621234567"),
                ("message", "Texte gardé"),
                ("mode", "devices"),
                ("device", &device),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let b = body(r).await;
    assert!(b.contains("Le téléphone choisi est hors ligne"), "{b}");
    assert!(b.contains("Texte gardé"), "the form lost the message");
    let ms = all_messages(&app).await;
    assert_eq!(ms.len(), 1);
    assert_eq!(ms[0].status, MessageStatus::Failed);
    assert!(app.sim.ledger().is_empty(), "sent anyway");
    let h = history(&app).await;
    assert!(h.contains(r#"class="badge badge-failed""#));
    assert!(
        h.contains("Le téléphone choisi est hors ligne"),
        "reason not in history"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn credits_at_zero_give_the_not_enough_credits_sentence_and_a_failed_row() {
    let app = spawn_app_with_sim().await;
    app.login_as("operateur").await;
    app.sim.set_credits(0.0);
    let gateway = app.fixture().gateways[0].id.to_string();
    let r = app
        .post(
            "/messaging/sms/send",
            &[
                ("phone", "621 23 45 67"),
                ("message", "Promo"),
                ("mode", "credits"),
                ("gateway", &gateway),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let b = body(r).await;
    assert!(b.contains("Crédits insuffisants"), "{b}");
    assert!(
        b.contains("+224621234567"),
        "the number is shown back in E.164"
    );
    let ms = all_messages(&app).await;
    assert_eq!(ms.len(), 1);
    assert_eq!(ms[0].status, MessageStatus::Failed);
    assert_eq!(
        ms[0].platform_message.as_deref(),
        Some("Not enough credits to send this message!")
    );
    app.cleanup().await;
}

#[tokio::test]
async fn an_invalid_phone_is_refused_clearly_nothing_is_sent_and_the_form_keeps_the_input() {
    let app = spawn_app_with_sim().await;
    app.login_as("operateur").await;
    let device = app.online_device();
    let r = app
        .post(
            "/messaging/sms/send",
            &[
                ("phone", "12ab"),
                ("message", "Message à garder"),
                ("mode", "devices"),
                ("device", &device),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let b = body(r).await;
    assert!(
        b.contains("n&#39;est pas un numéro de téléphone valide")
            || b.contains("n'est pas un numéro de téléphone valide"),
        "{b}"
    );
    assert!(b.contains(r#"value="12ab""#), "phone not kept");
    assert!(b.contains("Message à garder"), "message not kept");
    assert!(all_messages(&app).await.is_empty());
    assert!(app.sim.ledger().is_empty());
    app.cleanup().await;
}

#[tokio::test]
async fn the_counter_fragment_tells_gsm7_from_unicode() {
    let app = spawn_app_with_sim().await;
    app.login_as("operateur").await;
    let frag = |text: &str| {
        let app = &app;
        let text = text.to_owned();
        async move {
            let r = app
                .post("/messaging/sms/analyze", &[("message", &text)])
                .await;
            assert_eq!(r.status(), 200);
            let b = body(r).await;
            assert!(!b.contains("<html"), "a fragment, not a page");
            b
        }
    };
    let e = frag("é").await;
    assert!(
        e.contains("GSM-7")
            && e.contains("Caractères : 1")
            && e.contains("Restants dans ce SMS : 159"),
        "{e}"
    );
    // € is in the GSM-7 extension table: still GSM-7 but it takes two units
    let euro = frag("€").await;
    assert!(
        euro.contains("GSM-7") && euro.contains("Restants dans ce SMS : 158"),
        "{euro}"
    );
    let ucs = frag("ê").await;
    assert!(
        ucs.contains("Unicode") && ucs.contains("Restants dans ce SMS : 69"),
        "{ucs}"
    );
    let long = frag(&"a".repeat(161)).await;
    assert!(long.contains("SMS : 2"), "{long}");
    app.cleanup().await;
}

#[tokio::test]
async fn the_bulk_preview_lists_invalid_lines_and_the_cost_before_anything_is_sent() {
    let app = spawn_app_with_sim().await;
    app.login_as("operateur").await;
    let gateway = app.fixture().gateways[0].id.to_string();
    let form = [
        ("name", "Promo de juin"),
        ("message", "Bonjour"),
        (
            "recipients",
            "621234567\npas un numéro\n622 11 22 33\n+224621234567\n99",
        ),
        ("mode", "credits"),
        ("gateway", gateway.as_str()),
    ];
    let r = app.post("/messaging/sms/bulk/preview", &form).await;
    assert_eq!(r.status(), 200);
    let b = body(r).await;
    assert!(
        b.contains("pas un numéro")
            && b.contains(r#"<td data-label="Ligne">2</td>"#)
            && b.contains(r#"<td data-label="Ligne">5</td>"#),
        "invalid lines: {b}"
    );
    assert!(b.contains("1 × 2 = 2"), "segments × recipients");
    assert!(b.contains("500 GNF"), "estimated cost (2 × 250 GNF)");
    assert!(app.sim.ledger().is_empty(), "sent before confirmation");
    assert!(
        all_messages(&app).await.is_empty(),
        "recorded before confirmation"
    );

    // confirm: the normalised numbers come back from the preview's form
    let numbers = regex_lite::Regex::new(r#"name="recipients" value="([^"]+)""#)
        .unwrap()
        .captures(&b)
        .expect("confirm form")[1]
        .to_owned();
    assert_eq!(numbers, "+224621234567,+224622112233");
    let r = app
        .post(
            "/messaging/sms/bulk",
            &[
                ("name", "Promo de juin"),
                ("message", "Bonjour"),
                ("recipients", &numbers),
                ("mode", "credits"),
                ("gateway", &gateway),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    app.settle().await;
    let ledger = app.sim.ledger();
    assert_eq!(ledger.len(), 2, "{ledger:?}");
    let ms = all_messages(&app).await;
    assert_eq!(ms.len(), 2);
    assert!(ms.iter().all(|m| m.campaign_id.is_some()));
    let page = body(app.get("/messaging/sms/bulk").await).await;
    assert!(page.contains("Promo de juin"));
    app.cleanup().await;
}

#[tokio::test]
async fn history_filters_by_status_and_phone_and_exports_csv() {
    let app = spawn_app_with_sim().await;
    app.login_as("operateur").await;
    let online = app.online_device();
    let offline = app.offline_device();
    for (phone, device) in [("621234567", &online), ("622112233", &offline)] {
        app.post(
            "/messaging/sms/send",
            &[
                ("phone", phone),
                ("message", "=cmd"),
                ("mode", "devices"),
                ("device", device),
            ],
        )
        .await;
    }
    let failed = body(app.get("/messaging/sms/history?status=failed").await).await;
    assert!(failed.contains("+224622112233") && !failed.contains("+224621234567"));
    let by_phone = body(app.get("/messaging/sms/history?phone=621+23+45+67").await).await;
    assert!(by_phone.contains("+224621234567") && !by_phone.contains("+224622112233"));
    let bad = app.get("/messaging/sms/history?from=yesterday").await;
    assert_eq!(bad.status(), 422);
    let r = app.get("/messaging/sms/history.csv?status=pending").await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = body(r).await;
    assert!(csv.starts_with("\u{feff}id;created_utc;recipient"), "{csv}");
    assert!(csv.contains("+224621234567") && !csv.contains("+224622112233"));
    assert!(csv.contains("'=cmd"), "formula not neutralised: {csv}");
    app.cleanup().await;
}

/// Reads an export as French Excel does: UTF-8 only behind a BOM, `;` between fields.
fn as_french_excel(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .expect("a UTF-8 BOM, or Excel reads the file as Windows-1252");
    let mut r = csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(false)
        .from_reader(text);
    r.records()
        .map(|rec| {
            rec.expect("a CSV record")
                .iter()
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn the_csv_export_opens_in_french_excel_with_accents_and_columns_intact() {
    let app = spawn_app_with_sim().await;
    app.login_as("operateur").await;
    let device = app.online_device();
    let text = "Votre commande n° 12 est prête; à bientôt, « Boutique Élise »";
    app.post(
        "/messaging/sms/send",
        &[
            ("phone", "621234567"),
            ("message", text),
            ("mode", "devices"),
            ("device", &device),
        ],
    )
    .await;
    let r = app.get("/messaging/sms/history.csv").await;
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.expect("body");
    let rows = as_french_excel(&bytes);
    assert_eq!(rows.len(), 2, "header + one row: {rows:?}");
    assert_eq!(rows[0].len(), 10, "{:?}", rows[0]);
    assert_eq!(rows[0][3], "text");
    assert_eq!(
        rows[1].len(),
        10,
        "the `;` and `,` of the text split no column"
    );
    assert_eq!(rows[1][2], "+224621234567");
    assert_eq!(rows[1][3], text, "accents and punctuation intact");
    app.cleanup().await;
}

#[tokio::test]
async fn a_device_campaign_can_be_paused_and_resumed_from_the_list() {
    // no worker in the console: the test decides when the outbox is dispatched
    let app = helpers::messaging::spawn_app_with_sim_no_workers().await;
    app.login_as("operateur").await;
    let device = app.online_device();
    let r = app
        .post(
            "/messaging/sms/bulk",
            &[
                ("name", "Soldes"),
                ("message", "Soldes ce week-end"),
                ("recipients", "+224621234567,+224622112233"),
                ("mode", "devices"),
                ("device", &device),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = body(app.get("/messaging/sms/bulk").await).await;
    assert!(
        page.contains("Soldes") && page.contains("En cours"),
        "{page}"
    );
    let id = app.store.list_campaigns(Page::first(1)).await.unwrap()[0].id;
    let pause = format!("/messaging/sms/bulk/{id}/pause");
    assert!(page.contains(&pause), "no pause button");

    assert_eq!(app.post(&pause, &[]).await.status(), 303);
    let page = body(app.get("/messaging/sms/bulk").await).await;
    assert!(page.contains("Campagne mise en pause."), "{page}");
    assert!(
        page.contains(&format!("/messaging/sms/bulk/{id}/resume")),
        "no resume button"
    );
    // paused: the outbox holds its messages, nothing reaches the platform
    assert_eq!(app.state.core.drain().await.unwrap(), 0);
    assert!(app.sim.ledger().is_empty());
    assert!(
        all_messages(&app)
            .await
            .iter()
            .all(|m| m.status == MessageStatus::Queued)
    );

    let resume = format!("/messaging/sms/bulk/{id}/resume");
    assert_eq!(app.post(&resume, &[]).await.status(), 303);
    assert_eq!(app.state.core.drain().await.unwrap(), 2);
    app.sim.process_queue();
    app.sync().await;
    assert!(
        all_messages(&app)
            .await
            .iter()
            .all(|m| m.status == MessageStatus::Sent)
    );
    let page = body(app.get("/messaging/sms/bulk").await).await;
    assert!(page.contains("100 %"), "progress not complete");
    app.cleanup().await;
}

#[tokio::test]
async fn only_its_creator_or_a_campaign_manager_may_pause_or_resume_a_campaign() {
    let app = helpers::messaging::spawn_app_with_sim_no_workers().await;
    app.login_as("operateur").await;
    let device = app.online_device();
    let r = app
        .post(
            "/messaging/sms/bulk",
            &[
                ("name", "Promo de Fanta"),
                ("message", "Promo"),
                ("recipients", "+224621234567"),
                ("mode", "devices"),
                ("device", &device),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let c = app.store.list_campaigns(Page::first(1)).await.unwrap()[0].clone();
    let pause = format!("/messaging/sms/bulk/{}/pause", c.id);
    let resume = format!("/messaging/sms/bulk/{}/resume", c.id);
    let status = |app: &SimApp, id: i64| {
        let store = app.store.clone();
        async move { store.campaign_by_id(id).await.unwrap().unwrap().status }
    };

    // another sender sees the campaign but no button, and is refused by id
    let other = helpers::TestApp::with_client(&app, helpers::new_client());
    other.login_as("operateur").await;
    let page = body(other.get("/messaging/sms/bulk").await).await;
    assert!(page.contains("Promo de Fanta"), "{page}");
    assert!(
        !page.contains(&pause),
        "a pause button for someone else's campaign"
    );
    assert_eq!(other.post(&pause, &[]).await.status(), 403);
    assert_eq!(status(&app, c.id).await.as_str(), "running");
    let denied = app
        .store
        .list_audit(
            &messagepro_store::AuditFilter {
                action: Some("campaign.pause".into()),
                ..Default::default()
            },
            Page::first(10),
        )
        .await
        .unwrap();
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert_eq!(denied[0].outcome, "denied");

    // a superviseur (messaging.manage_campaigns) may; so may the creator
    let boss = helpers::TestApp::with_client(&app, helpers::new_client());
    boss.login_as("superviseur").await;
    assert!(
        body(boss.get("/messaging/sms/bulk").await)
            .await
            .contains(&pause)
    );
    assert_eq!(boss.post(&pause, &[]).await.status(), 303);
    assert_eq!(status(&app, c.id).await.as_str(), "paused");
    assert_eq!(other.post(&resume, &[]).await.status(), 403);
    assert_eq!(status(&app, c.id).await.as_str(), "paused");
    assert_eq!(app.post(&resume, &[]).await.status(), 303);
    assert_eq!(status(&app, c.id).await.as_str(), "running");
    // an unknown id is 404, not someone else's campaign
    assert_eq!(
        app.post("/messaging/sms/bulk/999999/pause", &[])
            .await
            .status(),
        404
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_csv_file_uploaded_by_htmx_is_read_into_the_preview() {
    let app = spawn_app_with_sim().await;
    app.login_as("operateur").await;
    let token = app.csrf().await;
    let device = app.online_device();
    let form = reqwest::multipart::Form::new()
        .text("name", "Import")
        .text("message", "Bonjour")
        .text("recipients", "")
        .text("mode", "devices")
        .text("device", device)
        .part(
            "file",
            reqwest::multipart::Part::text("nom,telephone\nAwa,621234567\nBah,abc\nCé,622112233\n")
                .file_name("contacts.csv"),
        );
    let r = app
        .client
        .post(app.at("/messaging/sms/bulk/preview"))
        .header("x-csrf-token", token)
        .header("hx-request", "true")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let b = body(r).await;
    assert!(b.contains("+224621234567,+224622112233"), "{b}");
    assert!(
        b.contains(concat!(
            r#"<td data-label="Source">Fichier</td><td data-label="Ligne">3</td>"#,
            r#"<td data-label="Contenu" class="wide">Bah,abc</td>"#
        )),
        "{b}"
    );
    assert!(app.sim.ledger().is_empty());
    app.cleanup().await;
}

#[tokio::test]
async fn pages_still_render_when_the_platform_fails() {
    let app = spawn_app_with_sim().await;
    app.login_as("operateur").await;
    app.sim.set_faults(messagepro_sim::Faults {
        fail_rate: 1.0,
        ..Default::default()
    });
    let dash = app.get("/messaging/").await;
    assert_eq!(dash.status(), 200);
    assert!(body(dash).await.contains("Message Pro est injoignable"));
    let send = app.get("/messaging/sms/send").await;
    assert_eq!(send.status(), 200);
    assert!(body(send).await.contains("Message Pro est injoignable"));
    assert_eq!(app.get("/messaging/sms/bulk").await.status(), 200);
    app.cleanup().await;
}

#[tokio::test]
async fn the_preview_adds_group_members_without_duplicates_and_the_campaign_skips_opted_out_ones() {
    let app = spawn_app_with_sim().await;
    app.login_as("superviseur").await;
    let fx = app.fixture();
    let group = fx.groups[0].id;
    let members: Vec<String> = fx
        .contacts
        .iter()
        .filter(|c| c.groups.contains(&group))
        .map(|c| {
            messagepro::Phone::parse(&c.phone, "GN")
                .unwrap()
                .e164()
                .to_owned()
        })
        .collect();
    assert!(members.len() >= 2, "fixture group has members");
    // a member opted out (the contacts page, the API and STOP replies all come here)
    let opted_out = members[1].clone();
    app.state
        .core
        .opt_out(
            &messagepro_core::Actor::System { name: "test" },
            &messagepro::Phone::parse_international(&opted_out).unwrap(),
            None,
        )
        .await
        .unwrap();
    let device = app.online_device();
    let group = group.to_string();
    let form = [
        ("name", "Groupe"),
        ("message", "Bonjour"),
        ("recipients", members[0].as_str()),
        ("groups", group.as_str()),
        ("mode", "devices"),
        ("device", device.as_str()),
    ];
    let r = app.post("/messaging/sms/bulk/preview", &form).await;
    assert_eq!(r.status(), 200);
    let b = body(r).await;
    assert!(
        b.contains("1 destinataire(s) se sont désinscrits (STOP)"),
        "the preview says who will be skipped: {b}"
    );
    let csv = regex_lite::Regex::new(r#"name="recipients" value="([^"]+)""#)
        .unwrap()
        .captures(&b)
        .expect("confirm form")[1]
        .to_owned();
    let got: Vec<&str> = csv.split(',').collect();
    assert_eq!(got.len(), members.len(), "each member once: {csv}");
    for m in &members {
        assert!(got.contains(&m.as_str()), "{m} missing from {csv}");
    }
    let nonce = regex_lite::Regex::new(r#"name="nonce" value="([^"]+)""#)
        .unwrap()
        .captures(&b)
        .expect("nonce")[1]
        .to_owned();
    let r = app
        .post(
            "/messaging/sms/bulk",
            &[
                ("name", "Groupe"),
                ("message", "Bonjour"),
                ("recipients", csv.as_str()),
                ("mode", "devices"),
                ("device", device.as_str()),
                ("nonce", nonce.as_str()),
            ],
        )
        .await;
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    app.settle().await;
    let sent: Vec<String> = app
        .sim
        .ledger()
        .into_iter()
        .map(|e| e.recipient.chars().filter(char::is_ascii_digit).collect())
        .collect();
    assert_eq!(sent.len(), members.len() - 1, "{sent:?}");
    let digits: String = opted_out.chars().filter(char::is_ascii_digit).collect();
    assert!(!sent.contains(&digits), "{opted_out} opted out: {sent:?}");
    let rows = all_messages(&app).await;
    let skipped = rows
        .iter()
        .find(|m| m.recipient == opted_out)
        .expect("recorded");
    assert_eq!(skipped.status, MessageStatus::Skipped);
    assert_eq!(skipped.platform_message.as_deref(), Some("skip.opted_out"));
    // the history says why, in words
    let h = body(app.get("/messaging/sms/history?status=skipped").await).await;
    assert!(h.contains("Désinscrit (STOP) : jamais envoyé"), "{h}");
    app.cleanup().await;
}

#[tokio::test]
async fn the_history_is_paginated_and_keeps_its_filters() {
    let app = spawn_app_with_sim().await;
    let u = app.login_as("operateur").await;
    let rows: Vec<messagepro_store::NewMessage> = (0..55)
        .map(|i| messagepro_store::NewMessage {
            channel: messagepro_store::Channel::Sms,
            recipient: "+224621234567".into(),
            text: format!("message n°{i}"),
            route: serde_json::json!({"mode": "devices", "device": "d", "sim": 1}),
            status: MessageStatus::Sent,
            segments: 1,
            created_by: Some(u.id),
            campaign_id: None,
        })
        .collect();
    app.store.insert_messages(&rows, 0).await.unwrap();
    let first = body(app.get("/messaging/sms/history?status=sent").await).await;
    assert!(first.contains("message n°54") && !first.contains("message n°4<"));
    let next = regex_lite::Regex::new(r#"href="\?([^"]*before=\d+)""#)
        .unwrap()
        .captures(&first)
        .expect("link to older messages")[1]
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    assert!(next.contains("status=sent"), "filters lost: {next}");
    let second = body(app.get(&format!("/messaging/sms/history?{next}")).await).await;
    assert!(
        second.contains("message n°4<") && !second.contains("message n°54"),
        "{next} {second}"
    );
    assert!(second.contains(&u.username), "sender column");
    app.cleanup().await;
}

#[tokio::test]
async fn submitting_the_same_send_form_twice_sends_once() {
    let app = spawn_app_with_sim().await;
    app.login_as("operateur").await;
    let device = app.online_device();
    let page = body(app.get("/messaging/sms/send").await).await;
    let nonce = regex_lite::Regex::new(r#"name="nonce" value="([0-9a-f]+)""#)
        .unwrap()
        .captures(&page)
        .expect("nonce field")[1]
        .to_owned();
    let form = [
        ("phone", "621234567"),
        ("message", "Une seule fois"),
        ("mode", "devices"),
        ("device", device.as_str()),
        ("nonce", nonce.as_str()),
    ];
    assert_eq!(app.post("/messaging/sms/send", &form).await.status(), 303);
    let again = app.post("/messaging/sms/send", &form).await;
    assert_eq!(again.status(), 303);
    assert_eq!(again.headers()["location"], "/messaging/sms/history");
    let h = body(app.get("/messaging/sms/history").await).await;
    assert!(h.contains("déjà été envoyé"), "{h}");
    assert_eq!(app.sim.ledger().len(), 1);
    assert_eq!(all_messages(&app).await.len(), 1);
    app.cleanup().await;
}

#[tokio::test]
async fn an_empty_a_foreign_or_a_made_up_form_token_is_refused_and_sends_nothing() {
    let app = spawn_app_with_sim().await;
    let device = app.online_device();
    // a token issued to another user
    let other = helpers::TestApp::with_client(&app, helpers::new_client());
    other.login_as("superviseur").await;
    let foreign = other.nonce("/messaging/sms/send").await;
    app.login_as("operateur").await;
    for nonce in ["", foreign.as_str(), "0123456789abcdef0123456789abcdef"] {
        let form = [
            ("phone", "621234567"),
            ("message", "Jamais"),
            ("mode", "devices"),
            ("device", device.as_str()),
            ("nonce", nonce),
        ];
        let r = app.post("/messaging/sms/send", &form).await;
        assert_eq!(r.status(), 303, "nonce {nonce:?}");
        assert_eq!(r.headers()["location"], "/messaging/sms/history");
    }
    assert!(app.sim.ledger().is_empty());
    assert!(all_messages(&app).await.is_empty());
    app.cleanup().await;
}

#[tokio::test]
async fn the_dashboard_chart_counts_sent_and_failed_per_day() {
    use messagepro_console::Clock;
    let app = spawn_app_with_sim().await;
    let u = app.login_as("lecteur").await;
    let day = 86_400_000;
    let two_days_ago = app.clock.now_ms() - 2 * day;
    let row = |status| messagepro_store::NewMessage {
        channel: messagepro_store::Channel::Sms,
        recipient: "+224621234567".into(),
        text: "x".into(),
        route: serde_json::json!({}),
        status,
        segments: 1,
        created_by: Some(u.id),
        campaign_id: None,
    };
    let rows = vec![
        row(MessageStatus::Sent),
        row(MessageStatus::Sent),
        row(MessageStatus::Sent),
        row(MessageStatus::Failed),
        row(MessageStatus::Pending),
    ];
    app.store
        .insert_messages(&rows, two_days_ago)
        .await
        .unwrap();
    let label = chrono::DateTime::from_timestamp_millis(two_days_ago)
        .unwrap()
        .format("%d/%m")
        .to_string();
    let dash = body(app.get("/messaging/").await).await;
    assert!(
        dash.contains(&format!("<title>{label} : 3 Envoyé, 1 Échec</title>")),
        "{dash}"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn the_history_and_its_export_show_the_message_pro_id_when_it_is_known() {
    let app = spawn_app_with_sim().await;
    app.login_as("operateur").await;
    let device = app.online_device();
    app.post(
        "/messaging/sms/send",
        &[
            ("phone", "621234567"),
            ("message", "Votre commande"),
            ("mode", "devices"),
            ("device", &device),
        ],
    )
    .await;
    app.settle().await;
    // the current build returns the id of the SMS it stored
    let ledger = app.sim.ledger();
    assert_eq!(ledger.len(), 1, "{ledger:?}");
    let id = ledger[0].id.to_string();
    let ms = all_messages(&app).await;
    assert_eq!(ms[0].platform_id.as_deref(), Some(id.as_str()));
    let page = history(&app).await;
    assert!(page.contains("Identifiant Message Pro"), "column missing");
    assert!(
        page.contains(&format!(
            "<td class=\"platform-id\" data-label=\"Identifiant Message Pro\">{id}</td>"
        )),
        "id {id} missing:\n{page}"
    );
    let csv = body(app.get("/messaging/sms/history.csv").await).await;
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().ends_with(";route;platform_id"));
    assert!(lines.next().unwrap().ends_with(&format!(";{id}")), "{csv}");
    app.cleanup().await;
}

/// The `recipients` hidden field of the preview's confirm form, if the form is there.
fn confirm_numbers(html: &str) -> Option<String> {
    regex_lite::Regex::new(r#"name="recipients" value="([^"]+)""#)
        .unwrap()
        .captures(html)
        .map(|c| c[1].to_owned())
}

fn nonce_of(html: &str) -> String {
    regex_lite::Regex::new(r#"name="nonce" value="([^"]+)""#)
        .unwrap()
        .captures(html)
        .expect("nonce")[1]
        .to_owned()
}

#[tokio::test]
async fn a_personalised_campaign_previews_each_customer_and_a_missing_name_blocks_the_send() {
    let app = spawn_app_with_sim().await;
    app.login_as("operateur").await;
    app.store
        .insert_contact("Aïssatou", "+224621000951", 0)
        .await
        .unwrap();
    app.store
        .insert_contact("Mamadou", "+224621000952", 0)
        .await
        .unwrap();
    let device = app.online_device();
    let preview = |recipients: &'static str, message: &'static str| {
        let device = device.clone();
        let app = &app;
        async move {
            let r = app
                .post(
                    "/messaging/sms/bulk/preview",
                    &[
                        ("name", "Relance"),
                        ("message", message),
                        ("recipients", recipients),
                        ("mode", "devices"),
                        ("device", &device),
                    ],
                )
                .await;
            assert_eq!(r.status(), 200);
            body(r).await
        }
    };
    // two known customers: each sees their own name
    let b = preview("621000951\n621000952", "Bonjour {{contact.name}}").await;
    assert!(
        b.contains("Bonjour Aïssatou") && b.contains("Bonjour Mamadou"),
        "{b}"
    );
    let numbers = confirm_numbers(&b).expect("the send is offered");
    // a third number nobody named: the preview says who and blocks the send
    let b = preview(
        "621000951\n621000952\n629999901",
        "Bonjour {{contact.name}}",
    )
    .await;
    assert!(
        b.contains("+224629999901 n&#39;a pas de valeur pour {{contact.name}} (1 destinataire(s) concernés)"),
        "{b}"
    );
    assert!(confirm_numbers(&b).is_none(), "no send button: {b}");
    // an unknown variable is named
    let b = preview("621000951", "Bonjour {{contact.prenom}}").await;
    assert!(b.contains("Variable inconnue {{contact.prenom}}"), "{b}");
    assert!(confirm_numbers(&b).is_none());
    assert!(app.sim.ledger().is_empty());
    // the good one is sent: names, never numbers
    let page = body(app.get("/messaging/sms/bulk").await).await;
    let r = app
        .post(
            "/messaging/sms/bulk",
            &[
                ("name", "Relance"),
                ("message", "Bonjour {{contact.name}}"),
                ("recipients", &numbers),
                ("mode", "devices"),
                ("device", &device),
                ("nonce", &nonce_of(&page)),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    app.settle().await;
    let mut texts: Vec<String> = app.sim.ledger().into_iter().map(|e| e.text).collect();
    texts.sort();
    assert_eq!(texts, ["Bonjour Aïssatou", "Bonjour Mamadou"]);
    app.cleanup().await;
}

#[tokio::test]
async fn a_campaign_scheduled_for_later_waits_and_can_be_cancelled() {
    let app = spawn_app_with_sim().await;
    app.login_as("operateur").await;
    let device = app.online_device();
    // the console's time zone is Africa/Conakry (UTC+0)
    let at = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap()
            .format("%Y-%m-%dT%H:%M")
            .to_string()
    };
    let now = messagepro_core::Clock::now_ms(&app.clock);
    let later = at(now + 3 * 3_600_000);
    let form = |start: &str, nonce: &str| {
        vec![
            ("name".to_string(), "Soldes du soir".to_string()),
            ("message".into(), "Soldes ce soir".into()),
            ("recipients".into(), "+224621000961".into()),
            ("mode".into(), "devices".into()),
            ("device".into(), device.clone()),
            ("start_at".into(), start.to_owned()),
            ("nonce".into(), nonce.to_owned()),
        ]
    };
    let post = |f: Vec<(String, String)>, path: String| {
        let app = &app;
        async move {
            let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let r = app.post(&path, &f).await;
            (r.status(), body(r).await)
        }
    };
    // a time already past is refused, in words
    let (_, b) = post(
        form(&at(now - 3_600_000), ""),
        "/messaging/sms/bulk/preview".into(),
    )
    .await;
    assert!(b.contains("La date de départ est déjà passée"), "{b}");
    assert!(confirm_numbers(&b).is_none(), "nothing to confirm");
    let (_, b) = post(form(&later, ""), "/messaging/sms/bulk/preview".into()).await;
    assert!(b.contains("Départ programmé le"), "{b}");
    assert!(
        b.contains("Programmer l&#39;envoi") || b.contains("Programmer l'envoi"),
        "{b}"
    );
    let nonce = nonce_of(&body(app.get("/messaging/sms/bulk").await).await);
    let (status, _) = post(form(&later, &nonce), "/messaging/sms/bulk".into()).await;
    assert_eq!(status, 303);
    let b = body(app.get("/messaging/sms/bulk").await).await;
    assert!(b.contains("programmée pour 1 destinataires"), "{b}");
    assert!(b.contains("Programmée :"), "listed as scheduled: {b}");
    // nothing leaves before its time
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(app.sim.ledger().is_empty());
    let c = app
        .store
        .list_campaigns(Page::first(5))
        .await
        .unwrap()
        .remove(0);
    let (status, _) = post(vec![], format!("/messaging/sms/bulk/{}/cancel", c.id)).await;
    assert_eq!(status, 303);
    let b = body(app.get("/messaging/sms/bulk").await).await;
    assert!(
        b.contains("Campagne annulée : 1 message(s) ne seront pas envoyés."),
        "{b}"
    );
    assert!(
        !b.contains("Programmée :"),
        "no longer shown as scheduled: {b}"
    );
    assert!(b.contains("Annulée"), "{b}");
    let m = all_messages(&app).await.remove(0);
    assert_eq!(
        (m.status, m.platform_message.as_deref()),
        (MessageStatus::Skipped, Some("skip.cancelled"))
    );
    app.clock.advance(std::time::Duration::from_secs(4 * 3600));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        app.sim.ledger().is_empty(),
        "a cancelled campaign never starts"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn the_campaign_list_refreshes_alone_and_links_to_each_recipients_status() {
    let app = spawn_app_with_sim().await;
    app.login_as("operateur").await;
    let device = app.online_device();
    let page = body(app.get("/messaging/sms/bulk").await).await;
    assert!(
        page.contains(r#"hx-get="/messaging/sms/bulk/campaigns" hx-trigger="every 5s""#),
        "the list polls: {page}"
    );
    let r = app
        .post(
            "/messaging/sms/bulk",
            &[
                ("name", "Arrivage"),
                ("message", "Nouvel arrivage"),
                ("recipients", "+224621000971,+224621000972"),
                ("mode", "devices"),
                ("device", &device),
                ("nonce", &nonce_of(&page)),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    app.settle().await;
    // another SMS, not of the campaign
    app.store
        .insert_message(
            &messagepro_store::NewMessage {
                channel: messagepro_store::Channel::Sms,
                recipient: "+224621000979".into(),
                text: "Hors campagne".into(),
                route: serde_json::json!({"mode": "devices", "device": "d", "sim": 1}),
                status: MessageStatus::Sent,
                segments: 1,
                created_by: None,
                campaign_id: None,
            },
            0,
        )
        .await
        .unwrap();
    let r = app.get("/messaging/sms/bulk/campaigns").await;
    assert_eq!(r.status(), 200);
    let frag = body(r).await;
    assert!(
        frag.starts_with("<section class=\"card\" id=\"campaigns\""),
        "a fragment: {frag}"
    );
    assert!(!frag.contains("<html"), "no layout: {frag}");
    assert!(frag.contains("Arrivage"), "{frag}");
    let c = app
        .store
        .list_campaigns(Page::first(1))
        .await
        .unwrap()
        .remove(0);
    let link = format!("/messaging/sms/history?campaign={}", c.id);
    assert!(frag.contains(&link), "{frag}");
    let h = body(app.get(&link).await).await;
    assert!(
        h.contains("+224621000971") && h.contains("+224621000972"),
        "{h}"
    );
    assert!(
        !h.contains("+224621000979"),
        "only the campaign's rows: {h}"
    );
    let csv = body(
        app.get(&format!("/messaging/sms/history.csv?campaign={}", c.id))
            .await,
    )
    .await;
    assert_eq!(csv.lines().count(), 3, "header + two recipients: {csv}");
    // a reader may not poll a sender's page
    let reader = helpers::TestApp::with_client(&app, helpers::new_client());
    reader.login_as("lecteur").await;
    assert_eq!(
        reader.get("/messaging/sms/bulk/campaigns").await.status(),
        403
    );
    app.cleanup().await;
}

#[tokio::test]
async fn amounts_are_grouped_the_way_each_language_writes_them() {
    let app = spawn_app_with_sim().await;
    app.sim.set_credits(1_234_567.5);
    app.login_as("superviseur").await;
    let fr = app.get("/messaging/").await.text().await.unwrap();
    assert!(fr.contains("1\u{202f}234\u{202f}567,5"), "French grouping");
    app.post("/language", &[("lang", "en"), ("next", "/messaging/")])
        .await;
    let en = app.get("/messaging/").await.text().await.unwrap();
    assert!(en.contains("1,234,567.5"), "English grouping");
    app.cleanup().await;
}
