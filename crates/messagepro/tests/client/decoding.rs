//! Realistic answers (spec examples, other builds' variations) decode into the typed responses.

use messagepro::{
    CampaignStatus, ChatStatus, PageRequest, SenderType, SmsMode, SmsStatus, UssdStatus,
    WaAccountStatus,
};
use serde_json::json;
use wiremock::matchers::path;
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

async fn serve(server: &wiremock::MockServer, p: &str, fixture: &str) {
    Mock::given(path(p))
        .respond_with(fixture_response(fixture))
        .mount(server)
        .await;
}

#[tokio::test]
async fn credits_keep_the_decimal_string() {
    let (server, client) = setup().await;
    serve(&server, "/api/get/credits", "credits.json").await;
    let c = client.get_credits().await.unwrap();
    assert_eq!((c.credits.as_str(), c.currency.as_str()), ("1250.5", "GNF"));
}

#[tokio::test]
async fn credits_sent_as_a_number_keep_their_exact_text() {
    let (server, client) = setup().await;
    Mock::given(path("/api/get/credits"))
        .respond_with(envelope(
            200,
            "Remaining Credits",
            json!({"credits": 798.634, "currency": "GNF"}),
        ))
        .mount(&server)
        .await;
    assert_eq!(client.get_credits().await.unwrap().credits, "798.634");
}

#[tokio::test]
async fn subscription_usage_is_keyed_by_quota_name() {
    let (server, client) = setup().await;
    serve(&server, "/api/get/subscription", "subscription.json").await;
    let s = client.get_subscription().await.unwrap();
    assert_eq!(s.name, "Starter");
    assert_eq!(s.usage.len(), 13);
    assert_eq!(s.usage["sms_send"].used, 12);
    assert!(s.usage["devices"].is_exhausted());
    assert!(
        !s.usage["wa_send"].is_exhausted(),
        "limit 0 means unlimited"
    );
}

#[tokio::test]
async fn rates_expose_gateway_pricing_and_partners() {
    let (server, client) = setup().await;
    serve(&server, "/api/get/rates", "rates.json").await;
    let r = client.get_rates().await.unwrap();
    assert_eq!(r.gateways[0].pricing.price_for("GN"), Some("0.03"));
    assert_eq!(r.gateways[0].pricing.price_for("SN"), Some("0.05"));
    assert_eq!(r.partners[0].rate, "150");
    assert_eq!(r.partners[0].sim, vec!["1"]);
}

#[tokio::test]
async fn sent_sms_decode_with_string_ints_int_bools_and_unescaped_text() {
    let (server, client) = setup().await;
    serve(&server, "/api/get/sms.sent", "sms_sent.json").await;
    let rows = client
        .get_sent_messages(PageRequest::default())
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].message, "Tom & Jerry <3 l'été");
    assert_eq!(rows[0].status, SmsStatus::Sent);
    assert_eq!(rows[0].sender_type, SenderType::Device);
    assert_eq!(rows[1].id, 811);
    assert_eq!(rows[1].mode, SmsMode::Credits);
    assert_eq!(rows[1].status, SmsStatus::Failed);
    assert!(rows[1].api);
    assert!(!rows[1].priority);
    assert_eq!(rows[1].created, 1_717_171_000);
}

#[tokio::test]
async fn pending_received_and_campaign_lists_decode() {
    let (server, client) = setup().await;
    serve(&server, "/api/get/sms.pending", "sms_pending.json").await;
    serve(&server, "/api/get/sms.received", "sms_received.json").await;
    serve(&server, "/api/get/sms.campaigns", "sms_campaigns.json").await;
    let p = PageRequest::default();
    assert!(client.get_pending_messages(p).await.unwrap()[0].priority);
    assert_eq!(
        client.get_received_messages(p).await.unwrap()[0].message,
        "Solde: 1000 GNF & bonus"
    );
    let c = client.get_sms_campaigns(p).await.unwrap();
    assert_eq!(
        c[0].sender, "1",
        "gateway campaigns list the gateway id as a number"
    );
    assert_eq!(c[0].status, CampaignStatus::None);
    assert_eq!(c[1].contacts, 35);
    assert_eq!(c[1].status, CampaignStatus::Running);
}

#[tokio::test]
async fn devices_tolerate_object_packages_and_keep_the_rate_as_text() {
    let (server, client) = setup().await;
    serve(&server, "/api/get/devices", "devices.json").await;
    let d = &client.get_devices(PageRequest::default()).await.unwrap()[0];
    assert_eq!(d.id, 3);
    assert_eq!(
        d.notification_packages,
        vec!["com.whatsapp", "com.orange.money"]
    );
    assert_eq!(d.partner_sim, vec!["1", "2"]);
    assert_eq!(d.partner_rate, "150.75");
    assert!(d.limit_status && d.online && d.partner);
}

#[tokio::test]
async fn contacts_drop_the_empty_group_and_unescape_names() {
    let (server, client) = setup().await;
    serve(&server, "/api/get/contacts", "contacts.json").await;
    let c = client.get_contacts(PageRequest::default()).await.unwrap();
    assert_eq!(c[0].name, "Awa & Fils");
    assert_eq!(c[0].groups, vec!["1", "2"]);
    assert!(c[1].groups.is_empty());
}

#[tokio::test]
async fn whatsapp_lists_map_false_attachments_and_unknown_statuses() {
    let (server, client) = setup().await;
    serve(&server, "/api/get/wa.accounts", "wa_accounts.json").await;
    serve(&server, "/api/get/wa.sent", "wa_sent.json").await;
    let p = PageRequest::default();
    let a = client.get_whatsapp_accounts(p).await.unwrap();
    assert_eq!(a[0].status, WaAccountStatus::Connected);
    assert_eq!(a[1].status, WaAccountStatus::Unknown);
    let s = client.get_sent_chats(p).await.unwrap();
    assert_eq!(
        s[0].attachment.as_deref(),
        Some("https://messagepro-gn.com/uploads/whatsapp/invoice.pdf")
    );
    assert_eq!(s[1].attachment, None);
    assert_eq!(s[1].message, None);
    assert_eq!(s[1].status, ChatStatus::Failed);
}

#[tokio::test]
async fn wa_link_gives_the_token() {
    let (server, client) = setup().await;
    serve(&server, "/api/create/wa.link", "wa_link.json").await;
    let l = client.create_wa_link(1).await.unwrap();
    assert_eq!(
        l.token().as_deref(),
        Some("3f2c0000000000000000000000000000000000aa")
    );
    assert!(l.infolink.is_some());
}

#[tokio::test]
async fn ussd_rows_decode() {
    let (server, client) = setup().await;
    serve(&server, "/api/get/ussd", "ussd.json").await;
    let u = &client.get_ussd(PageRequest::default()).await.unwrap()[0];
    assert_eq!(u.status, UssdStatus::Completed);
    assert_eq!(u.response, "Votre solde est 5000 GNF");
}

#[tokio::test]
async fn a_list_answering_data_false_is_empty() {
    let (server, client) = setup().await;
    Mock::given(path("/api/get/groups"))
        .respond_with(envelope(200, "Contact Groups", json!(false)))
        .mount(&server)
        .await;
    assert!(
        client
            .get_groups(PageRequest::default())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_php_warning_printed_before_the_json_is_skipped() {
    let (server, client) = setup().await;
    let body = "<br />\n<b>Warning</b>: Undefined array key \"type\" in ApiController.php<br />\n{\"status\":200,\"message\":\"Remaining Credits\",\"data\":{\"credits\":\"5\",\"currency\":\"GNF\"}}";
    Mock::given(path("/api/get/credits"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "text/html"))
        .mount(&server)
        .await;
    assert_eq!(client.get_credits().await.unwrap().credits, "5");
}

#[tokio::test]
async fn status_as_a_string_is_accepted() {
    let (server, client) = setup().await;
    Mock::given(path("/api/get/earnings"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"status": "200", "message": "Partner Earnings", "data": {"earnings": "12.5", "currency": "GNF"}}),
        ))
        .mount(&server)
        .await;
    assert_eq!(client.get_earnings().await.unwrap().earnings, "12.5");
}
