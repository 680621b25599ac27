//! The exact HTTP requests the client sends: method, path, where parameters go, encoding.

use messagepro::{
    CreateContact, DocumentSource, DocumentType, Gateway, MediaKind, MediaSource, OtpChannel,
    PageRequest, Phone, Recipients, SendBulkSms, SendBulkWhatsApp, SendOtp, SendSms, SendWhatsApp,
    Sim, SmsRoute, WaContent, WaLinkStatus, WaRecipient,
};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

fn gn(n: &str) -> Phone {
    Phone::parse(n, "GN").unwrap()
}

#[tokio::test]
async fn send_sms_posts_a_form_with_the_e164_phone_percent_encoded() {
    // Arrange
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/api/send/sms"))
        .respond_with(ok("Message has been queued for sending!"))
        .expect(1)
        .mount(&server)
        .await;
    let route = SmsRoute::Devices {
        device: "dev-1".into(),
        sim: Sim::Two,
        priority: false,
    };

    // Act
    let receipt = client
        .send_sms(&SendSms::new(gn("621 23 45 67"), "Bonjour", route))
        .await
        .unwrap();

    // Assert
    assert_eq!(receipt.message, "Message has been queued for sending!");
    assert_eq!(receipt.message_id, None);
    let req = only_request(&server).await;
    assert_eq!(content_type(&req), "application/x-www-form-urlencoded");
    let body = String::from_utf8(req.body.clone()).unwrap();
    assert!(body.contains("phone=%2B224621234567"), "{body}");
    assert_eq!(
        req.url.query(),
        None,
        "nothing (and no secret) in the URL of a POST"
    );
    let f = form(&req);
    assert_eq!(get(&f, "secret"), Some(SECRET));
    assert_eq!(get(&f, "mode"), Some("devices"));
    assert_eq!(get(&f, "device"), Some("dev-1"));
    assert_eq!(get(&f, "sim"), Some("2"));
    assert_eq!(get(&f, "message"), Some("Bonjour"));
    assert_eq!(get(&f, "priority"), None, "unset priority is not sent");
    assert_eq!(get(&f, "shortener"), None);
    assert_eq!(get(&f, "gateway"), None);
}

#[tokio::test]
async fn send_sms_credits_routes_send_gateway_and_no_device_fields() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/api/send/sms"))
        .respond_with(envelope(
            200,
            "Message has been sent!",
            json!({"messageId": 4711}),
        ))
        .mount(&server)
        .await;

    let r = client
        .send_sms(
            &SendSms::new(gn("+224621234567"), "Hi", SmsRoute::credits(Gateway::Id(3)))
                .shortener(2),
        )
        .await
        .unwrap();
    let _ = client
        .send_sms(&SendSms::new(
            gn("+224621234567"),
            "Hi",
            SmsRoute::credits(Gateway::Partner("abc-unique".into())),
        ))
        .await
        .unwrap();

    assert_eq!(r.message_id, Some(4711), "newer builds return the id (Q21)");
    assert!(r.is_sent_immediately());
    let reqs = server.received_requests().await.unwrap();
    let f1 = form(&reqs[0]);
    assert_eq!(get(&f1, "mode"), Some("credits"));
    assert_eq!(get(&f1, "gateway"), Some("3"));
    assert_eq!(get(&f1, "shortener"), Some("2"));
    for k in ["device", "sim", "priority"] {
        assert_eq!(get(&f1, k), None, "{k} must not be sent in credits mode");
    }
    assert_eq!(get(&form(&reqs[1]), "gateway"), Some("abc-unique"));
}

#[tokio::test]
async fn device_priority_is_sent_as_1() {
    let (server, client) = setup().await;
    Mock::given(path("/api/send/sms"))
        .respond_with(ok("Message has been queued for sending!"))
        .mount(&server)
        .await;
    let route = SmsRoute::Devices {
        device: "d".into(),
        sim: Sim::One,
        priority: true,
    };
    client
        .send_sms(&SendSms::new(gn("621234567"), "x", route))
        .await
        .unwrap();
    let f = form(&only_request(&server).await);
    assert_eq!(get(&f, "priority"), Some("1"));
    assert_eq!(get(&f, "sim"), Some("1"));
}

#[tokio::test]
async fn bulk_sms_sends_comma_separated_e164_numbers_and_groups() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/api/send/sms.bulk"))
        .respond_with(ok("Bulk messages has been queued for sending!"))
        .mount(&server)
        .await;
    let to = Recipients::new(
        vec![gn("621234567"), Phone::parse("77 123 45 67", "SN").unwrap()],
        vec![1, 2],
    )
    .unwrap();
    let ack = client
        .send_bulk_sms(&SendBulkSms::new(
            "Promo",
            "Bonjour {{contact.name}}",
            to,
            SmsRoute::device("dev-1"),
        ))
        .await
        .unwrap();
    assert_eq!(ack.message, "Bulk messages has been queued for sending!");
    let req = only_request(&server).await;
    let body = String::from_utf8(req.body.clone()).unwrap();
    assert!(
        body.contains("numbers=%2B224621234567%2C%2B221771234567"),
        "{body}"
    );
    let f = form(&req);
    assert_eq!(get(&f, "groups"), Some("1,2"));
    assert_eq!(get(&f, "campaign"), Some("Promo"));
    assert_eq!(get(&f, "mode"), Some("devices"));
}

#[tokio::test]
async fn bulk_sms_with_groups_only_omits_numbers() {
    let (server, client) = setup().await;
    Mock::given(path("/api/send/sms.bulk"))
        .respond_with(ok("Bulk messages has been queued for sending!"))
        .mount(&server)
        .await;
    client
        .send_bulk_sms(&SendBulkSms::new(
            "G",
            "x",
            Recipients::groups(vec![9]).unwrap(),
            SmsRoute::credits(Gateway::Id(1)),
        ))
        .await
        .unwrap();
    let f = form(&only_request(&server).await);
    assert!(!keys(&f).contains(&"numbers"));
    assert_eq!(get(&f, "groups"), Some("9"));
}

#[tokio::test]
async fn reads_are_gets_with_the_secret_and_paging_in_the_query() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/api/get/contacts"))
        .respond_with(fixture_response("contacts.json"))
        .mount(&server)
        .await;
    client.get_contacts(PageRequest::new(3, 25)).await.unwrap();
    let req = only_request(&server).await;
    assert!(req.body.is_empty());
    let q = query(&req);
    assert_eq!(get(&q, "secret"), Some(SECRET));
    assert_eq!(get(&q, "limit"), Some("25"));
    assert_eq!(get(&q, "page"), Some("3"));
}

#[tokio::test]
async fn whatsapp_media_file_goes_multipart_with_its_file_name() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/api/send/whatsapp"))
        .respond_with(ok("WhatsApp chat has been queued for sending!"))
        .mount(&server)
        .await;
    let content = WaContent::Media {
        caption: "Voici la photo".into(),
        source: MediaSource::File {
            name: "photo.jpg".into(),
            bytes: b"\xFF\xD8\xFFfakejpeg".to_vec(),
        },
    };
    let req = SendWhatsApp::new("acc-1", WaRecipient::Phone(gn("621234567")), content);
    client.send_whatsapp(&req).await.unwrap();

    let r = only_request(&server).await;
    assert!(content_type(&r).starts_with("multipart/form-data; boundary="));
    let body = String::from_utf8_lossy(&r.body);
    assert!(
        body.contains("name=\"media_file\"; filename=\"photo.jpg\""),
        "{body}"
    );
    assert!(body.contains("fakejpeg"));
    assert!(body.contains("name=\"type\"\r\n\r\nmedia"));
    assert!(body.contains("name=\"recipient\"\r\n\r\n+224621234567"));
    assert!(body.contains(&format!("name=\"secret\"\r\n\r\n{SECRET}")));
    assert!(!body.contains("name=\"priority\""));
}

#[tokio::test]
async fn whatsapp_document_url_sends_type_name_and_priority() {
    let (server, client) = setup().await;
    Mock::given(path("/api/send/whatsapp"))
        .respond_with(ok("WhatsApp chat has been sent!"))
        .mount(&server)
        .await;
    let mut req = SendWhatsApp::new(
        "acc-1",
        WaRecipient::Group("1203630@g.us".into()),
        WaContent::Document {
            caption: "Facture".into(),
            source: DocumentSource::Url {
                url: "https://example.com/f.pdf".into(),
                kind: DocumentType::Pdf,
                name: Some("facture.pdf".into()),
            },
        },
    );
    req.priority = true;
    client.send_whatsapp(&req).await.unwrap();
    let r = only_request(&server).await;
    assert_eq!(content_type(&r), "application/x-www-form-urlencoded");
    let f = form(&r);
    assert_eq!(get(&f, "type"), Some("document"));
    assert_eq!(get(&f, "document_url"), Some("https://example.com/f.pdf"));
    assert_eq!(get(&f, "document_type"), Some("pdf"));
    assert_eq!(get(&f, "document_name"), Some("facture.pdf"));
    assert_eq!(get(&f, "recipient"), Some("1203630@g.us"));
    assert_eq!(get(&f, "priority"), Some("1"));
}

#[tokio::test]
async fn whatsapp_media_url_declares_its_kind() {
    let (server, client) = setup().await;
    Mock::given(path("/api/send/whatsapp"))
        .respond_with(ok("WhatsApp chat has been queued for sending!"))
        .mount(&server)
        .await;
    let content = WaContent::Media {
        caption: "x".into(),
        source: MediaSource::Url {
            url: "https://example.com/a.mp3".into(),
            kind: MediaKind::Audio,
        },
    };
    client
        .send_whatsapp(&SendWhatsApp::new(
            "a",
            WaRecipient::Phone(gn("621234567")),
            content,
        ))
        .await
        .unwrap();
    let f = form(&only_request(&server).await);
    assert_eq!(get(&f, "media_url"), Some("https://example.com/a.mp3"));
    assert_eq!(get(&f, "media_type"), Some("audio"));
}

#[tokio::test]
async fn bulk_whatsapp_uses_recipients_not_numbers_and_reads_the_count() {
    let (server, client) = setup().await;
    Mock::given(path("/api/send/whatsapp.bulk"))
        .respond_with(ok("3 chats has been queued for sending!"))
        .mount(&server)
        .await;
    let mut req = SendBulkWhatsApp::new(
        "acc",
        "Promo",
        WaContent::Text("Salut".into()),
        Recipients::numbers(vec![gn("621234567"), gn("622000000")]).unwrap(),
    );
    req.group_jids.push("1203630@g.us".into());
    let r = client.send_bulk_whatsapp(&req).await.unwrap();
    assert_eq!(r.queued, Some(3));
    let f = form(&only_request(&server).await);
    assert_eq!(
        get(&f, "recipients"),
        Some("+224621234567,+224622000000,1203630@g.us")
    );
    assert!(!keys(&f).contains(&"numbers"));
    assert!(!keys(&f).contains(&"groups"));
    assert_eq!(get(&f, "type"), Some("text"));
}

#[tokio::test]
async fn sms_otp_sends_type_mode_and_route_but_never_priority() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/api/send/otp"))
        .respond_with(fixture_response("otp_sent.json"))
        .mount(&server)
        .await;
    let route = SmsRoute::Devices {
        device: "dev".into(),
        sim: Sim::One,
        priority: true,
    };
    let sent = client
        .send_otp(
            &SendOtp::new(gn("621234567"), "Code: {{otp}}", OtpChannel::Sms { route }).expire(120),
        )
        .await
        .unwrap();
    assert_eq!(sent.otp.expose(), "483920");
    let f = form(&only_request(&server).await);
    assert_eq!(get(&f, "type"), Some("sms"));
    assert_eq!(get(&f, "mode"), Some("devices"));
    assert_eq!(get(&f, "expire"), Some("120"));
    assert_eq!(get(&f, "phone"), Some("+224621234567"));
    assert_eq!(get(&f, "priority"), None);
}

#[tokio::test]
async fn whatsapp_otp_sends_account_and_no_mode() {
    let (server, client) = setup().await;
    Mock::given(path("/api/send/otp"))
        .respond_with(fixture_response("otp_sent.json"))
        .mount(&server)
        .await;
    client
        .send_otp(&SendOtp::new(
            gn("621234567"),
            "{{ otp }} est votre code",
            OtpChannel::WhatsApp {
                account: "acc".into(),
                priority: false,
            },
        ))
        .await
        .unwrap();
    let f = form(&only_request(&server).await);
    assert_eq!(get(&f, "type"), Some("whatsapp"));
    assert_eq!(get(&f, "account"), Some("acc"));
    assert_eq!(get(&f, "mode"), None);
    assert_eq!(get(&f, "expire"), None);
}

#[tokio::test]
async fn an_otp_message_without_placeholder_is_refused_before_sending() {
    let (server, client) = setup().await;
    let err = client
        .send_otp(&SendOtp::new(
            gn("621234567"),
            "no code here",
            OtpChannel::WhatsApp {
                account: "a".into(),
                priority: false,
            },
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, messagepro::Error::InvalidInput(_)));
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn verify_otp_is_a_get_with_the_code() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/api/get/otp"))
        .respond_with(ok("OTP has been verified!"))
        .mount(&server)
        .await;
    client.verify_otp(" 483920 ").await.unwrap();
    let q = query(&only_request(&server).await);
    assert_eq!(get(&q, "otp"), Some("483920"));
}

#[tokio::test]
async fn create_contact_joins_groups_without_spaces() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/api/create/contact"))
        .respond_with(ok("Contact has been created!"))
        .mount(&server)
        .await;
    let c = CreateContact::new("Awa", gn("621234567"), vec![1, 2]).unwrap();
    client.create_contact(&c).await.unwrap();
    let f = form(&only_request(&server).await);
    assert_eq!(get(&f, "groups"), Some("1,2"));
    assert_eq!(get(&f, "phone"), Some("+224621234567"));
    assert_eq!(get(&f, "name"), Some("Awa"));
}

#[tokio::test]
async fn delete_sms_campaign_sends_id_and_campaign_with_the_same_value() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/api/delete/sms.campaign"))
        .respond_with(ok("SMS campaign has been deleted!"))
        .mount(&server)
        .await;
    client.delete_sms_campaign(42).await.unwrap();
    let q = query(&only_request(&server).await);
    assert_eq!(get(&q, "id"), Some("42"));
    assert_eq!(get(&q, "campaign"), Some("42"));
}

#[tokio::test]
async fn remote_sms_on_a_credits_campaign_reports_unsupported() {
    let (server, client) = setup().await;
    Mock::given(path("/api/remote/stop.sms"))
        .respond_with(ok("Action is not supported in this campaign!"))
        .mount(&server)
        .await;
    let r = client.stop_sms_campaign(5).await.unwrap();
    assert!(!r.supported);
    assert_eq!(
        get(&query(&only_request(&server).await), "campaign"),
        Some("5")
    );
}

#[tokio::test]
async fn wa_qr_returns_png_bytes_and_sends_the_token_not_the_secret() {
    let (server, client) = setup().await;
    let png = b"\x89PNG\r\n\x1a\nfake".to_vec();
    Mock::given(path("/api/get/wa.qr"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(png.clone(), "image/png"))
        .mount(&server)
        .await;
    let bytes = client.get_wa_qr("tok123").await.unwrap();
    assert_eq!(bytes, png);
    let q = query(&only_request(&server).await);
    assert_eq!(get(&q, "token"), Some("tok123"));
    assert_eq!(get(&q, "secret"), None);
}

#[tokio::test]
async fn wa_qr_error_answers_are_mapped() {
    let (server, client) = setup().await;
    Mock::given(path("/api/get/wa.qr"))
        .respond_with(envelope(401, "Invalid token supplied!", json!(false)))
        .mount(&server)
        .await;
    let e = client.get_wa_qr("old").await.unwrap_err();
    assert!(matches!(e, messagepro::Error::InvalidSecret(_)));
}

#[tokio::test]
async fn wa_info_301_means_waiting_and_200_gives_the_account() {
    let (server, client) = setup().await;
    Mock::given(path("/api/get/wa.info"))
        .respond_with(envelope(
            301,
            "Waiting for WhatsApp information!",
            json!(false),
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/get/wa.info"))
        .respond_with(envelope(
            200,
            "WhatsApp Information",
            json!({"wid": "224621234567:12@s.whatsapp.net", "unique": "u-1"}),
        ))
        .mount(&server)
        .await;
    assert_eq!(
        client.get_wa_info("t").await.unwrap(),
        WaLinkStatus::Waiting
    );
    assert_eq!(
        client.get_wa_info("t").await.unwrap(),
        WaLinkStatus::Linked {
            wid: "224621234567:12@s.whatsapp.net".into(),
            unique: "u-1".into()
        }
    );
}

#[tokio::test]
async fn a_base_url_with_a_path_prefix_is_kept() {
    let server = wiremock::MockServer::start().await;
    Mock::given(path("/zender/api/get/credits"))
        .respond_with(fixture_response("credits.json"))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&format!("{}/zender", server.uri()));
    assert_eq!(client.get_credits().await.unwrap().credits, "1250.5");
}

#[tokio::test]
async fn ussd_send_sends_code_sim_and_device() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/api/send/ussd"))
        .respond_with(ok("USSD request has been queued!"))
        .mount(&server)
        .await;
    client.send_ussd("*123#", "dev", Sim::Two).await.unwrap();
    let f = form(&only_request(&server).await);
    assert_eq!(get(&f, "code"), Some("*123#"));
    assert_eq!(get(&f, "sim"), Some("2"));
    assert_eq!(get(&f, "device"), Some("dev"));
}

#[tokio::test]
async fn validate_whatsapp_sends_the_e164_phone() {
    let (server, client) = setup().await;
    Mock::given(path("/api/validate/whatsapp"))
        .respond_with(envelope(
            200,
            "WhatsApp phone number is valid!",
            json!({"jid": "224621234567@s.whatsapp.net", "phone": "+224621234567"}),
        ))
        .mount(&server)
        .await;
    let v = client
        .validate_whatsapp("acc", &gn("621234567"))
        .await
        .unwrap();
    assert_eq!(v.jid, "224621234567@s.whatsapp.net");
    let r = only_request(&server).await;
    assert!(r.url.query().unwrap().contains("phone=%2B224621234567"));
}

#[tokio::test]
async fn every_endpoint_hits_its_documented_path() {
    // One call per endpoint not covered above; each must reach /api/<group>/<action>.
    let (server, client) = setup().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(envelope(200, "ok", json!([])))
        .mount(&server)
        .await;
    let p = PageRequest::default();
    client.get_sent_messages(p).await.unwrap();
    client.get_pending_messages(p).await.unwrap();
    client.get_received_messages(p).await.unwrap();
    client.delete_sent_message(1).await.unwrap();
    client.delete_received_message(1).await.unwrap();
    client.get_sms_campaigns(p).await.unwrap();
    client.get_wa_campaigns(p).await.unwrap();
    client.start_sms_campaign(1).await.unwrap();
    client.start_wa_campaign(1).await.unwrap();
    client.stop_wa_campaign(1).await.unwrap();
    client.delete_wa_campaign(1).await.unwrap();
    client.get_whatsapp_accounts(p).await.unwrap();
    client.get_sent_chats(p).await.unwrap();
    client.get_pending_chats(p).await.unwrap();
    client.get_received_chats(p).await.unwrap();
    client.get_wa_servers().await.unwrap();
    client.get_wa_groups("u").await.unwrap();
    client.get_wa_group_contacts("u", "g@g.us").await.unwrap();
    client.delete_wa_account("u").await.unwrap();
    client.delete_sent_chat(1).await.unwrap();
    client.delete_received_chat(1).await.unwrap();
    client.get_groups(p).await.unwrap();
    client.get_unsubscribed(p).await.unwrap();
    client.delete_contact(1).await.unwrap();
    client.delete_group(1).await.unwrap();
    client.delete_unsubscribed(1).await.unwrap();
    client.get_devices(p).await.unwrap();
    client.get_shorteners().await.unwrap();
    client.get_notifications(p).await.unwrap();
    client.delete_notification(1).await.unwrap();
    client.get_ussd(p).await.unwrap();
    client.delete_ussd(1).await.unwrap();
    client.clear_ussd().await.unwrap();
    client.create_group("Clients").await.unwrap();
    let paths: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    let expected = [
        "GET /api/get/sms.sent",
        "GET /api/get/sms.pending",
        "GET /api/get/sms.received",
        "GET /api/delete/sms.sent",
        "GET /api/delete/sms.received",
        "GET /api/get/sms.campaigns",
        "GET /api/get/wa.campaigns",
        "GET /api/remote/start.sms",
        "GET /api/remote/start.chats",
        "GET /api/remote/stop.chats",
        "GET /api/delete/wa.campaign",
        "GET /api/get/wa.accounts",
        "GET /api/get/wa.sent",
        "GET /api/get/wa.pending",
        "GET /api/get/wa.received",
        "GET /api/get/wa.servers",
        "GET /api/get/wa.groups",
        "GET /api/get/wa.group.contacts",
        "GET /api/delete/wa.account",
        "GET /api/delete/wa.sent",
        "GET /api/delete/wa.received",
        "GET /api/get/groups",
        "GET /api/get/unsubscribed",
        "GET /api/delete/contact",
        "GET /api/delete/group",
        "GET /api/delete/unsubscribed",
        "GET /api/get/devices",
        "GET /api/get/shorteners",
        "GET /api/get/notifications",
        "GET /api/delete/notification",
        "GET /api/get/ussd",
        "GET /api/delete/ussd",
        "GET /api/clear/ussd",
        "POST /api/create/group",
    ];
    assert_eq!(paths, expected);
}

#[tokio::test]
async fn a_whatsapp_campaign_to_group_jids_only_sends_them_as_recipients() {
    let (server, client) = setup().await;
    Mock::given(path("/api/send/whatsapp.bulk"))
        .respond_with(ok("2 chats has been queued for sending!"))
        .mount(&server)
        .await;
    let req = SendBulkWhatsApp::to_group_jids(
        "acc",
        "Groupes",
        WaContent::Text("Salut".into()),
        vec!["1@g.us".into(), "2@g.us".into()],
    )
    .unwrap();
    assert_eq!(
        client.send_bulk_whatsapp(&req).await.unwrap().queued,
        Some(2)
    );
    let f = form(&only_request(&server).await);
    assert_eq!(get(&f, "recipients"), Some("1@g.us,2@g.us"));
    assert!(!keys(&f).contains(&"groups"));
    assert!(
        SendBulkWhatsApp::to_group_jids("a", "c", WaContent::Text("x".into()), vec![]).is_err()
    );
    assert!(
        SendBulkWhatsApp::to_group_jids(
            "a",
            "c",
            WaContent::Text("x".into()),
            vec!["+224621234567".into()]
        )
        .is_err()
    );
}
