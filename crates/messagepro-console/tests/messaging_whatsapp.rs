//! WhatsApp pages over HTTP against the in-process simulator: rendering per role, a send through
//! the connected account lands in the history and the simulator's ledger, the disconnected account
//! gives the platform's reason as a sentence and a failed record, documents and bulk sends.

mod helpers;

use helpers::SENTINEL_SECRET;
use helpers::messaging::spawn_app_with_sim;
use messagepro_store::{Channel, MessageFilter, MessageStatus, Page};

async fn body(r: reqwest::Response) -> (u16, String) {
    (r.status().as_u16(), r.text().await.unwrap())
}

fn whatsapp_ledger(app: &helpers::messaging::SimApp) -> Vec<messagepro_sim::LedgerEntry> {
    app.sim
        .shared()
        .ledger()
        .into_iter()
        .filter(|e| e.kind == "whatsapp")
        .collect()
}

#[tokio::test]
async fn whatsapp_pages_render_for_permitted_roles_with_the_account_picker() {
    let app = spawn_app_with_sim().await;
    let wa = app.fixture().whatsapp.expect("demo WhatsApp accounts");
    app.login_as("operateur").await;
    let (status, html) = body(app.get("/messaging/whatsapp/send").await).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&wa.connected.unique),
        "connected account offered"
    );
    assert!(
        html.contains(&wa.disconnected.unique),
        "disconnected account listed too"
    );
    assert!(
        html.contains("connecté") && html.contains("déconnecté"),
        "status shown"
    );
    assert!(!html.contains(SENTINEL_SECRET));
    assert_eq!(app.get("/messaging/whatsapp/history").await.status(), 200);

    let reader = spawn_app_with_sim().await;
    reader.login_as("lecteur").await;
    assert_eq!(reader.get("/messaging/whatsapp/send").await.status(), 403);
    assert_eq!(
        reader.get("/messaging/whatsapp/history").await.status(),
        200
    );
    let r = reader
        .post(
            "/messaging/whatsapp/send",
            &[
                ("account", &wa.connected.unique),
                ("phone", "621234567"),
                ("message", "Bonjour"),
            ],
        )
        .await;
    assert_eq!(r.status(), 403);
    assert!(whatsapp_ledger(&reader).is_empty());
    app.cleanup().await;
    reader.cleanup().await;
}

#[tokio::test]
async fn a_text_sent_through_the_connected_account_appears_in_the_history() {
    let app = spawn_app_with_sim().await;
    let wa = app.fixture().whatsapp.unwrap();
    app.login_as("operateur").await;
    let r = app
        .post(
            "/messaging/whatsapp/send",
            &[
                ("account", wa.connected.unique.as_str()),
                ("mode", "single"),
                ("phone", "621 23 45 67"),
                ("kind", "text"),
                ("message", "Votre commande est prête"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    assert_eq!(r.headers()["location"], "/messaging/whatsapp/history");

    let ledger = whatsapp_ledger(&app);
    assert_eq!(ledger.len(), 1);
    assert!(
        ledger[0].recipient.contains("224621234567"),
        "{:?}",
        ledger[0].recipient
    );

    let (status, html) = body(app.get("/messaging/whatsapp/history").await).await;
    assert_eq!(status, 200);
    assert!(html.contains("+224621234567"), "{html}");
    assert!(html.contains("Votre commande est prête"));
    assert!(
        html.contains("mis en file d&#39;attente") || html.contains("mis en file"),
        "flash"
    );
    let rows = app
        .store
        .list_messages(
            &MessageFilter {
                channel: Some(Channel::Whatsapp),
                ..Default::default()
            },
            Page::first(10),
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(
        matches!(rows[0].status, MessageStatus::Pending | MessageStatus::Sent),
        "{:?}",
        rows[0].status
    );
    // the status filter finds it, a wrong phone filter does not
    let (_, html) = body(app.get("/messaging/whatsapp/history?phone=622000000").await).await;
    assert!(!html.contains("+224621234567"));
    let (status, _) = body(app.get("/messaging/whatsapp/history?from=yesterday").await).await;
    assert_eq!(status, 422);
    app.cleanup().await;
}

#[tokio::test]
async fn the_disconnected_account_gives_the_reason_as_a_sentence_and_records_a_failure() {
    let app = spawn_app_with_sim().await;
    let wa = app.fixture().whatsapp.unwrap();
    app.login_as("operateur").await;
    let (status, html) = body(
        app.post(
            "/messaging/whatsapp/send",
            &[
                ("account", wa.disconnected.unique.as_str()),
                ("mode", "single"),
                ("phone", "621234567"),
                ("kind", "text"),
                ("message", "Message qui ne partira pas"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("Ce compte WhatsApp est déconnecté"), "{html}");
    assert!(
        html.contains("Message qui ne partira pas"),
        "the form keeps the text"
    );
    assert!(!html.contains(SENTINEL_SECRET));
    let rows = app
        .store
        .list_messages(
            &MessageFilter {
                channel: Some(Channel::Whatsapp),
                ..Default::default()
            },
            Page::first(10),
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "the attempt is recorded");
    assert_eq!(rows[0].status, MessageStatus::Failed);
    let (_, html) = body(app.get("/messaging/whatsapp/history?status=failed").await).await;
    assert!(html.contains("+224621234567"));
    app.cleanup().await;
}

#[tokio::test]
async fn a_document_needs_a_valid_link_and_type_then_is_sent() {
    let app = spawn_app_with_sim().await;
    let wa = app.fixture().whatsapp.unwrap();
    app.login_as("superviseur").await;
    let base = [
        ("account", wa.connected.unique.as_str()),
        ("mode", "single"),
        ("phone", "621234567"),
        ("kind", "document"),
        ("message", "Votre facture"),
        ("document_type", "pdf"),
        ("document_name", "facture.pdf"),
    ];
    let mut bad = base.to_vec();
    bad.push(("document_url", "facture.pdf"));
    let (status, html) = body(app.post("/messaging/whatsapp/send", &bad).await).await;
    assert_eq!(status, 422);
    assert!(html.contains("adresse web complète"), "{html}");
    assert!(whatsapp_ledger(&app).is_empty(), "nothing sent");

    let mut good = base.to_vec();
    good.push(("document_url", "https://example.com/facture.pdf"));
    let r = app.post("/messaging/whatsapp/send", &good).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    assert_eq!(whatsapp_ledger(&app).len(), 1);
    app.cleanup().await;
}

#[tokio::test]
async fn a_bulk_send_lists_invalid_numbers_first_then_reports_every_recipient() {
    let app = spawn_app_with_sim().await;
    let wa = app.fixture().whatsapp.unwrap();
    app.login_as("operateur").await;
    let g = app.store.insert_group("Livreurs", 0).await.unwrap();
    let c = app
        .store
        .insert_contact("Sékou", "+224628112233", 0)
        .await
        .unwrap();
    app.store.add_to_group(c.id, g.id).await.unwrap();
    // an opted-out member is left out
    let out = app
        .store
        .insert_contact("Parti", "+224628999999", 0)
        .await
        .unwrap();
    app.store.add_to_group(out.id, g.id).await.unwrap();
    app.store
        .set_contact_opt_out(out.id, Some(1), 1)
        .await
        .unwrap();
    let gid = g.id.to_string();

    let (status, html) = body(
        app.post(
            "/messaging/whatsapp/send",
            &[
                ("account", wa.connected.unique.as_str()),
                ("mode", "bulk"),
                ("numbers", "621234567\npas-un-numero\n622000000"),
                ("kind", "text"),
                ("message", "Promo du jour"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("Ligne 2"), "{html}");
    assert!(
        whatsapp_ledger(&app).is_empty(),
        "nothing sent while a number is invalid"
    );

    let (status, html) = body(
        app.post(
            "/messaging/whatsapp/send",
            &[
                ("account", wa.connected.unique.as_str()),
                ("mode", "bulk"),
                ("numbers", "621234567, 622000000\n+224 621 23 45 67"),
                ("groups", gid.as_str()),
                ("campaign", "Promo"),
                ("kind", "text"),
                ("message", "Promo du jour"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("3 destinataire(s) : 3 accepté(s), 0 en échec, 0 non tenté(s)."),
        "duplicates merged, group member added: {html}"
    );
    app.settle().await;
    assert_eq!(whatsapp_ledger(&app).len(), 3);
    assert!(
        !whatsapp_ledger(&app)
            .iter()
            .any(|e| e.recipient.contains("628999999"))
    );
    let campaigns = app.store.list_campaigns(Page::first(5)).await.unwrap();
    assert_eq!(campaigns.len(), 1);
    assert_eq!(campaigns[0].total, 3);

    // through the disconnected account: every recipient is accounted for
    let (status, html) = body(
        app.post(
            "/messaging/whatsapp/send",
            &[
                ("account", wa.disconnected.unique.as_str()),
                ("mode", "bulk"),
                ("numbers", "621234567\n622000000"),
                ("kind", "text"),
                ("message", "Promo du jour"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    // accepted into the outbox; each recipient then fails with the platform's reason
    assert!(
        html.contains("2 destinataire(s) : 2 accepté(s), 0 en échec, 0 non tenté(s)."),
        "{html}"
    );
    app.settle().await;
    let rows = app
        .store
        .list_messages(&Default::default(), messagepro_store::Page::first(10))
        .await
        .unwrap();
    let failed: Vec<_> = rows
        .iter()
        .filter(|m| m.status == messagepro_store::MessageStatus::Failed)
        .collect();
    assert_eq!(failed.len(), 2, "{rows:?}");
    assert!(failed.iter().all(|m| m.platform_message.is_some()));
    app.cleanup().await;
}

#[tokio::test]
async fn submitting_the_same_whatsapp_form_three_times_sends_one_chat() {
    let app = spawn_app_with_sim().await;
    app.login_as("operateur").await;
    let account = app.fixture().whatsapp.unwrap().connected.unique;
    let nonce = app.nonce("/messaging/whatsapp/send").await;
    assert!(!nonce.is_empty());
    let form = [
        ("account", account.as_str()),
        ("mode", "single"),
        ("phone", "621234567"),
        ("kind", "text"),
        ("message", "Une fois"),
        ("nonce", nonce.as_str()),
    ];
    for _ in 0..3 {
        assert_eq!(
            app.post("/messaging/whatsapp/send", &form).await.status(),
            303
        );
    }
    let chats = app
        .sim
        .ledger()
        .into_iter()
        .filter(|e| e.kind == "whatsapp")
        .count();
    assert_eq!(chats, 1);
    app.cleanup().await;
}
