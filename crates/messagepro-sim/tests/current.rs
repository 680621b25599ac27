//! The newer platform build (spec Q21, `Flavour::Current`, the default): message ids from the
//! sends, `get/sms.message` / `get/wa.message`, per-package service checks, the content filter,
//! the priority WhatsApp failure text and no `clear/ussd` — each next to what the 3.3.8 build
//! answers for the same request, so both flavours keep their behaviour.

mod common;

use common::{expect, sim, sim_current};
use serde_json::{Value, json};

fn sms_to(phone: &str, text: &str) -> Value {
    json!({ "mode": "devices", "phone": phone, "message": text, "device": "{online}" })
}

#[tokio::test]
async fn send_sms_returns_a_message_id_that_get_sms_message_follows_to_its_final_state() {
    let t = sim_current().await;
    let v = t
        .api("/api/send/sms", sms_to("+224621234567", "Bonjour Awa"))
        .await;
    expect(&v, 200, "Message has been queued for sending!");
    let id = v["data"]["messageId"].as_u64().expect("a messageId");
    assert_eq!(t.sim.ledger().last().map(|l| l.id), Some(id));

    let found = t
        .api("/api/get/sms.message", json!({ "id": id, "type": "sent" }))
        .await;
    expect(&found, 200, "Message was found!");
    assert_eq!(found["data"]["id"], id);
    assert_eq!(found["data"]["recipient"], "+224621234567");
    assert_eq!(found["data"]["message"], "Bonjour Awa");
    assert_eq!(found["data"]["status"], "pending");

    t.sim.process_queue();
    let done = t
        .api("/api/get/sms.message", json!({ "id": id, "type": "sent" }))
        .await;
    let status = done["data"]["status"].as_str().unwrap_or("");
    assert!(status == "sent" || status == "failed", "{done}");
    assert_eq!(
        status == "sent",
        t.sim.ledger().last().map(|l| l.status) == Some(3)
    );

    // a gateway send is sent at once and also answers its id
    let v = t
        .api(
            "/api/send/sms",
            json!({ "mode": "credits", "gateway": "2", "phone": "+224621234567", "message": "x" }),
        )
        .await;
    expect(&v, 200, "Message has been sent!");
    let gid = v["data"]["messageId"].as_u64().expect("id");
    let g = t
        .api("/api/get/sms.message", json!({ "id": gid, "type": "sent" }))
        .await;
    assert_eq!(g["data"]["status"], "sent", "{g}");
    assert_eq!(g["data"]["sender_type"], "gateway");
}

#[tokio::test]
async fn get_sms_message_refuses_bad_parameters_unknown_deleted_and_unpermitted_lookups() {
    let t = sim_current().await;
    let v = t
        .api("/api/send/sms", sms_to("+224621234567", "Bonjour"))
        .await;
    let id = v["data"]["messageId"].as_u64().expect("id");
    for bad in [
        json!({ "id": id }),
        json!({ "id": id, "type": "archived" }),
        json!({ "type": "sent" }),
        json!({ "id": "abc", "type": "sent" }),
        json!({ "id": "0", "type": "sent" }),
    ] {
        expect(
            &t.api("/api/get/sms.message", bad.clone()).await,
            400,
            "Invalid Parameters!",
        );
    }
    expect(
        &t.api(
            "/api/get/sms.message",
            json!({ "id": id + 100, "type": "sent" }),
        )
        .await,
        404,
        "Message doesn't exist!",
    );
    // the restricted key lacks `get_message`; the chat lookup checks no permission
    expect(
        &t.api(
            "/api/get/sms.message",
            json!({ "secret": "{restricted}", "id": id, "type": "sent" }),
        )
        .await,
        403,
        "This API key doesn't have permission to use this endpoint!",
    );
    expect(
        &t.api(
            "/api/get/wa.message",
            json!({ "secret": "{restricted}", "id": 1, "type": "sent" }),
        )
        .await,
        404,
        "Message doesn't exist!",
    );
    // a message deleted on the platform is gone for the lookup too
    expect(
        &t.api("/api/delete/sms.sent", json!({ "id": id })).await,
        200,
        "Sent SMS has been deleted!",
    );
    expect(
        &t.api("/api/get/sms.message", json!({ "id": id, "type": "sent" }))
            .await,
        404,
        "Message doesn't exist!",
    );
}

#[tokio::test]
async fn received_messages_are_found_by_id_in_the_received_box() {
    let t = sim_current().await;
    let id = t
        .sim
        .inject_sms(None, "+224622000111", "STOP")
        .expect("inbound");
    let v = t
        .api(
            "/api/get/sms.message",
            json!({ "id": id, "type": "received" }),
        )
        .await;
    expect(&v, 200, "Message was found!");
    assert_eq!(v["data"]["sender"], "+224622000111");
    assert_eq!(v["data"]["message"], "STOP");
    // the same id in the sent box is another row (none here)
    expect(
        &t.api("/api/get/sms.message", json!({ "id": id, "type": "sent" }))
            .await,
        404,
        "Message doesn't exist!",
    );
    let chat = t
        .sim
        .inject_chat(None, "+224622000111", "Bonjour", None)
        .expect("inbound chat");
    let v = t
        .api(
            "/api/get/wa.message",
            json!({ "id": chat, "type": "received" }),
        )
        .await;
    expect(&v, 200, "Message was found!");
    assert_eq!(v["data"]["message"], "Bonjour");
    assert_eq!(v["data"]["attachment"], false);
}

#[tokio::test]
async fn whatsapp_bulk_returns_the_campaign_and_one_id_per_chat_in_recipient_order() {
    let t = sim_current().await;
    let v = t
        .api(
            "/api/send/whatsapp.bulk",
            json!({ "account": "{wa}", "campaign": "Promo", "type": "text",
                    "message": "Bonjour {Awa|Moussa}", "recipients": "+224621000001,+224621000002,+224621000003" }),
        )
        .await;
    expect(&v, 200, "3 chats has been queued for sending!");
    let cid = v["data"]["campaignId"].as_u64().expect("campaignId");
    let ids: Vec<u64> = v["data"]["messageIds"]
        .as_array()
        .expect("messageIds")
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    let ledger: Vec<_> = t
        .sim
        .ledger()
        .into_iter()
        .filter(|l| l.kind == "whatsapp")
        .collect();
    assert_eq!(ids, ledger.iter().map(|l| l.id).collect::<Vec<_>>());
    assert!(ledger.iter().all(|l| l.campaign == cid));
    let campaigns = t.list("/api/get/wa.campaigns").await;
    assert_eq!(campaigns[0]["id"], cid);
    for (id, to) in ids
        .iter()
        .zip(["+224621000001", "+224621000002", "+224621000003"])
    {
        let m = t
            .api("/api/get/wa.message", json!({ "id": id, "type": "sent" }))
            .await;
        expect(&m, 200, "Message was found!");
        assert_eq!(m["data"]["recipient"], to);
        assert_eq!(m["data"]["status"], "pending");
        let text = m["data"]["message"].as_str().unwrap_or("");
        assert!(text == "Bonjour Awa" || text == "Bonjour Moussa", "{m}");
    }
}

#[tokio::test]
async fn the_documented_build_answers_no_ids_and_has_no_lookup_endpoints() {
    let t = sim().await;
    let v = t
        .api("/api/send/sms", sms_to("+224621234567", "Bonjour"))
        .await;
    expect(&v, 200, "Message has been queued for sending!");
    assert_eq!(v["data"], false);
    let v = t
        .api(
            "/api/send/whatsapp.bulk",
            json!({ "account": "{wa}", "campaign": "Promo", "type": "text",
                    "message": "Bonjour", "recipients": "+224621000001" }),
        )
        .await;
    assert_eq!(v["data"], false, "{v}");
    for path in ["/api/get/sms.message", "/api/get/wa.message"] {
        expect(
            &t.api(path, json!({ "id": 1, "type": "sent" })).await,
            400,
            "Invalid API Endpoint!",
        );
    }
    // no service checks and no content filter on 3.3.8
    t.ctl(
        "/_sim/platform",
        json!({ "packages": { "1": { "services": [] } } }),
    )
    .await;
    expect(
        &t.api("/api/send/sms", sms_to("+224621234567", "une arnaque"))
            .await,
        200,
        "Message has been queued for sending!",
    );
}

#[tokio::test]
async fn a_package_without_a_service_refuses_that_service_only() {
    let t = sim_current().await;
    t.ctl(
        "/_sim/platform",
        json!({ "packages": { "1": { "services": ["whatsapp"] } } }),
    )
    .await;
    expect(
        &t.api("/api/send/sms", sms_to("+224621234567", "Bonjour"))
            .await,
        403,
        "Subscription has no permission to use SMS services!",
    );
    expect(
        &t.api(
            "/api/send/sms.bulk",
            json!({ "mode": "devices", "device": "{online}", "campaign": "Promo",
                    "message": "Bonjour", "numbers": "+224621234567" }),
        )
        .await,
        403,
        "Subscription has no permission to use SMS services!",
    );
    expect(
        &t.api(
            "/api/send/ussd",
            json!({ "code": "*123#", "sim": "1", "device": "{online}" }),
        )
        .await,
        403,
        "Subscription has no permission to use Android USSD service!",
    );
    expect(
        &t.api(
            "/api/send/whatsapp",
            json!({ "account": "{wa}", "recipient": "+224621234567", "message": "Bonjour" }),
        )
        .await,
        200,
        "WhatsApp chat has been queued for sending!",
    );
    t.ctl(
        "/_sim/platform",
        json!({ "packages": { "1": { "services": ["sms"] } } }),
    )
    .await;
    expect(
        &t.api(
            "/api/send/whatsapp",
            json!({ "account": "{wa}", "recipient": "+224621234567", "message": "Bonjour" }),
        )
        .await,
        403,
        "Subscription has no permission to use WhatsApp services!",
    );
    expect(
        &t.api(
            "/api/send/otp",
            json!({ "type": "whatsapp", "account": "{wa}", "phone": "+224621234567", "message": "Code {{otp}}" }),
        )
        .await,
        403,
        "Subscription has no permission to use WhatsApp services!",
    );
    // nothing refused was stored
    assert!(t.sim.ledger().iter().all(|l| l.kind == "whatsapp"));
    assert_eq!(t.sim.ledger().len(), 1);
}

#[tokio::test]
async fn the_content_filter_refuses_filtered_words_in_texts_and_in_media() {
    let t = sim_current().await;
    expect(
        &t.api(
            "/api/send/sms",
            sms_to("+224621234567", "Ce n'est pas une ARNAQUE"),
        )
        .await,
        400,
        "We detected inappropriate content in your message!",
    );
    expect(
        &t.api(
            "/api/send/whatsapp",
            json!({ "account": "{wa}", "recipient": "+224621234567", "message": "Voir",
                    "type": "media", "media_url": "https://example.com/escroquerie.jpg", "media_type": "image" }),
        )
        .await,
        400,
        "We detected inappropriate content in your media!",
    );
    t.ctl(
        "/_sim/platform",
        json!({ "settings": { "filtered_words": ["promo"] } }),
    )
    .await;
    expect(
        &t.api("/api/send/sms", sms_to("+224621234567", "Une arnaque ?"))
            .await,
        200,
        "Message has been queued for sending!",
    );
    expect(
        &t.api(
            "/api/send/whatsapp.bulk",
            json!({ "account": "{wa}", "campaign": "Soldes", "type": "text",
                    "message": "Grande Promo", "recipients": "+224621000001" }),
        )
        .await,
        400,
        "We detected inappropriate content in your message!",
    );
    assert_eq!(t.sim.ledger().len(), 1, "only the accepted SMS is stored");
}

#[tokio::test]
async fn a_failed_priority_chat_has_the_newer_wording_and_clear_ussd_is_gone() {
    for (t, failure, clear) in [
        (
            sim_current().await,
            "Failed sending priority WhatsApp chat!",
            (500, "Invalid API Endpoint!"),
        ),
        (
            sim().await,
            "Failed sending WhatsApp chat!",
            (200, "Pending USSD requests has been cleared!"),
        ),
    ] {
        t.ctl(
            "/_sim/platform",
            json!({ "wa_servers": { "1": { "send_ok": false } } }),
        )
        .await;
        expect(
            &t.api(
                "/api/send/whatsapp",
                json!({ "account": "{wa}", "recipient": "+224621234567", "message": "Bonjour", "priority": "1" }),
            )
            .await,
            500,
            failure,
        );
        expect(&t.api("/api/clear/ussd", json!({})).await, clear.0, clear.1);
    }
}

#[tokio::test]
async fn a_key_of_a_user_without_an_account_is_refused_and_does_not_poison_the_simulator() {
    let t = sim_current().await;
    t.ctl(
        "/_sim/key",
        json!({ "secret": "orphan-key", "permissions": ["get_credits", "sms_send"], "user": 999 }),
    )
    .await;
    expect(
        &t.api("/api/get/credits", json!({ "secret": "orphan-key" }))
            .await,
        401,
        "Invalid API secret supplied!",
    );
    // the state lock is not poisoned: the next request is answered normally
    expect(
        &t.api("/api/get/credits", json!({})).await,
        200,
        "Remaining Credits",
    );
}
