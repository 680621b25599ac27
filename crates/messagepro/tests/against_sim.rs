//! The client against the simulator, in process: two independent implementations of
//! `docs/wire-protocol.md` (no shared wire types), so every agreement here is evidence that both
//! read the spec the same way.
//!
//! Each test starts its own simulator (seeded, clock frozen: only `process_queue` /
//! `advance_time` move messages along) and takes every id and secret from its fixture.

use std::collections::HashSet;
use std::time::Duration;

use messagepro::api::probe::PROBES;
use messagepro::{
    ChatStatus, Client, CreateContact, DocumentSource, DocumentType, Error, Gateway, MediaKind,
    MediaSource, OtpChannel, PageRequest, Recipients, SendBulkSms, SendBulkWhatsApp, SendOtp,
    SendSms, SendWhatsApp, SenderType, SmsMode, SmsRoute, SmsStatus, UssdStatus, WaAccountStatus,
    WaContent, WaLinkStatus, WaRecipient, fetch_all,
};
use messagepro_sim::{Faults, FixtureInfo, Flavour, SimHandle, Simulator};
use serde_json::json;

struct Env {
    sim: SimHandle,
    fx: FixtureInfo,
    client: Client,
}

async fn env() -> Env {
    env_of(Flavour::Current).await
}

async fn env_of(flavour: Flavour) -> Env {
    let sim = Simulator::builder()
        .flavour(flavour)
        .seed(11)
        .auto_progress(false)
        .start("127.0.0.1:0")
        .await
        .expect("start simulator");
    let fx = sim.fixture();
    let client = client_for(&sim, &fx.secrets.full);
    Env { sim, fx, client }
}

fn builder_for(sim: &SimHandle, secret: &str) -> messagepro::ClientBuilder {
    Client::builder()
        .base_url(sim.url())
        .secret(secret.to_owned())
        .timeout(Duration::from_secs(10))
        .retry_backoff(Duration::from_millis(20))
}

fn client_for(sim: &SimHandle, secret: &str) -> Client {
    builder_for(sim, secret).build().expect("client")
}

impl Env {
    fn online(&self) -> String {
        self.fx
            .devices
            .as_ref()
            .expect("demo devices")
            .online
            .unique
            .clone()
    }
    fn offline(&self) -> String {
        self.fx
            .devices
            .as_ref()
            .expect("demo devices")
            .offline
            .unique
            .clone()
    }
    fn wa(&self) -> String {
        self.fx
            .whatsapp
            .as_ref()
            .expect("demo wa")
            .connected
            .unique
            .clone()
    }
    fn wa_off(&self) -> String {
        self.fx
            .whatsapp
            .as_ref()
            .expect("demo wa")
            .disconnected
            .unique
            .clone()
    }
    fn partner(&self) -> String {
        self.fx
            .partner_device
            .as_ref()
            .expect("partner")
            .unique
            .clone()
    }
    fn gateway(&self, callback: bool) -> u64 {
        self.fx
            .gateways
            .iter()
            .find(|g| g.callback == callback)
            .expect("gateway")
            .id
    }
    fn phone(&self, local: &str) -> messagepro::Phone {
        self.client.parse_phone(local).expect("valid phone")
    }
    fn sms(&self, local: &str, text: &str) -> SendSms {
        SendSms::new(self.phone(local), text, SmsRoute::device(self.online()))
    }
    fn group_members(&self, group: u64) -> usize {
        self.fx
            .contacts
            .iter()
            .filter(|c| c.groups.contains(&group))
            .count()
    }
    async fn credits(&self) -> f64 {
        let c = self.client.get_credits().await.expect("credits");
        c.credits.parse().expect("decimal credits")
    }
}

fn text(t: &str) -> WaContent {
    WaContent::Text(t.into())
}

// ---------------------------------------------------------------- account, devices, rates

#[tokio::test]
async fn account_reads_report_the_seeded_balance_earnings_and_package() {
    let e = env().await;
    let c = e.client.get_credits().await.unwrap();
    assert_eq!(c.credits.parse::<f64>().unwrap(), 50_000.0);
    assert_eq!(c.currency, e.fx.currency);
    e.sim.set_credits(1234.5);
    assert_eq!(e.credits().await, 1234.5);

    let earn = e.client.get_earnings().await.unwrap();
    assert_eq!(earn.earnings.parse::<f64>().unwrap(), 1250.5);
    assert_eq!(earn.currency, e.fx.currency);

    let s = e.client.get_subscription().await.unwrap();
    assert_eq!(s.name, "Starter");
    assert_eq!(s.usage["sms_send"].limit, 1_000_000);
    assert_eq!(s.usage["contacts"].limit, 100);
    assert_eq!(s.usage["contacts"].used, e.fx.contacts.len() as u64);
    assert!(!s.usage["sms_send"].is_exhausted());
}

#[tokio::test]
async fn devices_are_listed_with_their_live_presence() {
    let e = env().await;
    let all = e.client.all_devices().await.unwrap();
    let online = all.iter().find(|d| d.unique == e.online()).expect("online");
    let offline = all
        .iter()
        .find(|d| d.unique == e.offline())
        .expect("offline");
    assert!(online.online);
    assert!(!offline.online);
    assert_eq!(online.name, "Galaxy A14");
    assert!(
        !all.iter().any(|d| d.unique == e.partner()),
        "partner device is not ours"
    );
    let one = e.client.get_devices(PageRequest::first(1)).await.unwrap();
    assert_eq!(one.len(), 1);
}

#[tokio::test]
async fn rates_give_per_country_gateway_prices_and_only_other_users_shared_devices() {
    let e = env().await;
    let rates = e.client.get_rates().await.unwrap();
    let ids: HashSet<u64> = rates.gateways.iter().map(|g| g.id).collect();
    let want: HashSet<u64> = e.fx.gateways.iter().map(|g| g.id).collect();
    assert_eq!(ids, want);
    let price = |id: u64, c: &str| -> f64 {
        let g = rates.gateways.iter().find(|g| g.id == id).unwrap();
        g.pricing.price_for(c).expect("price").parse().unwrap()
    };
    let orange = e.gateway(true);
    let twilio = e.gateway(false);
    assert_eq!(price(orange, "GN"), 250.0);
    assert_eq!(price(orange, "sn"), 350.0);
    assert_eq!(price(orange, "US"), 300.0, "default price");
    assert_eq!(price(twilio, "GN"), 450.0);
    assert_eq!(price(twilio, "FR"), 700.0);
    for g in &rates.gateways {
        assert_eq!(g.currency, e.fx.currency);
    }
    let p = rates
        .partners
        .iter()
        .find(|p| p.unique == e.partner())
        .expect("shared partner listed");
    assert_eq!(p.rate.parse::<f64>().unwrap(), 150.0);
    let private = e.fx.private_partner_device.as_ref().unwrap().unique.clone();
    assert!(!rates.partners.iter().any(|p| p.unique == private));
}

#[tokio::test]
async fn shorteners_list_the_fixture_shortener_and_a_send_may_use_it() {
    let e = env().await;
    let s = e.client.get_shorteners().await.unwrap();
    assert!(s.iter().any(|s| s.id == e.fx.shortener));
    let req = e
        .sms("621234567", "Voir https://example.com/promo/2026")
        .shortener(e.fx.shortener);
    let r = e.client.send_sms(&req).await.unwrap();
    assert_eq!(r.message, "Message has been queued for sending!");
    assert_eq!(e.sim.ledger().len(), 1);
}

// ---------------------------------------------------------------- SMS

#[tokio::test]
async fn a_local_number_sent_through_a_device_is_stored_and_listed_as_e164() {
    let e = env().await;
    let r = e
        .client
        .send_sms(&e.sms("621234567", "Bonjour"))
        .await
        .unwrap();
    assert_eq!(r.message, "Message has been queued for sending!");
    assert!(!r.is_sent_immediately());

    let ledger = e.sim.ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].recipient, "+224621234567");
    assert_eq!(ledger[0].route, "device");
    assert_eq!(ledger[0].status, 1);

    let pending = e
        .client
        .get_pending_messages(PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    let p = &pending[0];
    assert_eq!(p.id, ledger[0].id);
    assert_eq!(p.recipient, "+224621234567");
    assert_eq!(p.sender, e.online());
    assert_eq!(p.sender_type, SenderType::Device);
    assert_eq!(p.mode, SmsMode::Devices);
    assert_eq!(p.message, "Bonjour");
    assert!(p.api);
}

#[tokio::test]
async fn a_queued_sms_leaves_pending_for_sent_once_the_queue_is_processed() {
    let e = env().await;
    e.client
        .send_sms(&e.sms("621234567", "Tom & Jerry"))
        .await
        .unwrap();
    let id = e.sim.ledger()[0].id;

    let pending = e.client.all_pending_messages().await.unwrap();
    assert!(pending.iter().any(|m| m.id == id));
    assert!(e.client.all_sent_messages().await.unwrap().is_empty());

    e.sim.process_queue();

    assert!(e.client.all_pending_messages().await.unwrap().is_empty());
    let sent = e.client.all_sent_messages().await.unwrap();
    let m = sent.iter().find(|m| m.id == id).expect("listed as sent");
    assert_eq!(m.status, SmsStatus::Sent);
    assert_eq!(m.message, "Tom & Jerry", "HTML escaping undone");
    assert!(m.status_code.starts_with("SMS_"), "{}", m.status_code);
    assert_eq!(e.sim.ledger()[0].status, 3);
    let page = e
        .client
        .get_sent_messages(PageRequest::first(1))
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].id, id);

    let ack = e.client.delete_sent_message(id).await.unwrap();
    assert_eq!(ack.message, "Sent SMS has been deleted!");
    assert!(e.sim.ledger()[0].deleted);
    assert!(e.client.all_sent_messages().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_offline_own_device_still_queues_because_the_platform_only_checks_ownership() {
    let e = env().await;
    let req = SendSms::new(
        e.phone("621234567"),
        "Bonjour",
        SmsRoute::device(e.offline()),
    );
    let r = e.client.send_sms(&req).await.unwrap();
    assert_eq!(r.message, "Message has been queued for sending!");
    assert_eq!(e.sim.ledger().len(), 1);
}

#[tokio::test]
async fn a_gateway_with_callback_queues_and_charges_on_delivery() {
    let e = env().await;
    let before = e.credits().await;
    let req = SendSms::new(
        e.phone("621234567"),
        "Bonjour",
        SmsRoute::credits(Gateway::Id(e.gateway(true))),
    );
    let r = e.client.send_sms(&req).await.unwrap();
    assert_eq!(r.message, "Message has been queued for sending!");
    assert_eq!(e.sim.ledger()[0].route, "gateway");
    assert_eq!(e.sim.ledger()[0].status, 2);
    assert_eq!(e.credits().await, before, "charged only on the callback");
    e.sim.process_queue();
    assert_eq!(e.credits().await, before - 250.0);
    let sent = e.client.all_sent_messages().await.unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].sender_type, SenderType::Gateway);
    assert_eq!(sent[0].mode, SmsMode::Credits);
    assert_eq!(sent[0].status, SmsStatus::Sent);
}

#[tokio::test]
async fn a_gateway_without_callback_sends_at_once_and_charges_the_country_price() {
    let e = env().await;
    let before = e.credits().await;
    let gw = e.gateway(false);
    let req = SendSms::new(
        e.phone("621234567"),
        "Bonjour",
        SmsRoute::credits(Gateway::Id(gw)),
    );
    let r = e.client.send_sms(&req).await.unwrap();
    assert!(r.is_sent_immediately(), "{}", r.message);
    assert_eq!(e.credits().await, before - 450.0);
    let sent = e.client.all_sent_messages().await.unwrap();
    let name = &e.fx.gateways.iter().find(|g| g.id == gw).unwrap().name;
    assert_eq!(&sent[0].sender, name);
    assert_eq!(sent[0].sim, 0);
}

#[tokio::test]
async fn a_partner_device_send_is_queued_and_charged_its_rate() {
    let e = env().await;
    let before = e.credits().await;
    let req = SendSms::new(
        e.phone("621234567"),
        "Bonjour",
        SmsRoute::credits(Gateway::Partner(e.partner())),
    );
    let r = e.client.send_sms(&req).await.unwrap();
    assert_eq!(r.message, "Message has been queued for sending!");
    assert_eq!(e.sim.ledger()[0].route, "partner");
    let pending = e.client.all_pending_messages().await.unwrap();
    assert_eq!(pending[0].sender_type, SenderType::PartnerDevice);
    assert_eq!(pending[0].sender, e.partner());
    e.sim.process_queue();
    assert_eq!(e.credits().await, before - 150.0);
}

#[tokio::test]
async fn bulk_sms_to_numbers_and_a_group_builds_a_campaign_that_can_be_paused_resumed_and_deleted()
{
    let e = env().await;
    let group = e.fx.groups[0].id;
    let members = e.group_members(group);
    assert!(members > 0, "fixture group has members");
    let to = Recipients::new(
        vec![e.phone("621000001"), e.phone("621000002")],
        vec![group],
    )
    .unwrap();
    let req = SendBulkSms::new(
        "Promo Kaloum",
        "Bonjour !",
        to,
        SmsRoute::device(e.online()),
    );
    let ack = e.client.send_bulk_sms(&req).await.unwrap();
    assert_eq!(ack.message, "Bulk messages has been queued for sending!");

    let campaigns = e.client.all_sms_campaigns().await.unwrap();
    assert_eq!(campaigns.len(), 1);
    let c = &campaigns[0];
    assert_eq!(c.name, "Promo Kaloum");
    assert_eq!(c.sender_type, SenderType::Device);
    assert_eq!(c.sender, e.online());
    assert_eq!(c.contacts as usize, 2 + members);
    let rows = e.sim.ledger();
    assert_eq!(
        rows.iter().filter(|r| r.campaign == c.id).count(),
        2 + members
    );
    assert!(rows.iter().any(|r| r.recipient == "+224621000001"));

    let stop = e.client.stop_sms_campaign(c.id).await.unwrap();
    assert!(stop.supported);
    assert_eq!(stop.message, "SMS campaign has been paused!");
    let listed = e
        .client
        .get_sms_campaigns(PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(listed[0].status, messagepro::CampaignStatus::Paused);
    let start = e.client.start_sms_campaign(c.id).await.unwrap();
    assert_eq!(start.message, "SMS campaign has been resumed!");
    let listed = e
        .client
        .get_sms_campaigns(PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(listed[0].status, messagepro::CampaignStatus::Running);

    let del = e.client.delete_sms_campaign(c.id).await.unwrap();
    assert_eq!(del.message, "SMS campaign has been deleted!");
    assert!(e.client.all_sms_campaigns().await.unwrap().is_empty());
    assert!(
        e.sim
            .ledger()
            .iter()
            .filter(|r| r.campaign == c.id)
            .all(|r| r.deleted)
    );
}

#[tokio::test]
async fn a_credits_campaign_cannot_be_paused() {
    let e = env().await;
    let to = Recipients::numbers(vec![e.phone("621000001")]).unwrap();
    let route = SmsRoute::credits(Gateway::Id(e.gateway(true)));
    e.client
        .send_bulk_sms(&SendBulkSms::new("Gateway promo", "Bonjour", to, route))
        .await
        .unwrap();
    let c = e.client.all_sms_campaigns().await.unwrap();
    assert_eq!(c[0].sender_type, SenderType::Gateway);
    let r = e.client.stop_sms_campaign(c[0].id).await.unwrap();
    assert!(!r.supported, "{}", r.message);
}

#[tokio::test]
async fn received_sms_are_listed_and_deleted() {
    let e = env().await;
    let id = e
        .sim
        .inject_sms(None, "+224655001122", "Salut <b>")
        .unwrap();
    let rx = e.client.all_received_messages().await.unwrap();
    let m = rx.iter().find(|m| m.id == id).expect("received");
    assert_eq!(m.sender, "+224655001122");
    assert_eq!(m.message, "Salut <b>");
    assert_eq!(m.device, e.online());
    let page = e
        .client
        .get_received_messages(PageRequest::first(5))
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    let ack = e.client.delete_received_message(id).await.unwrap();
    assert_eq!(ack.message, "Received SMS has been deleted!");
    assert!(e.client.all_received_messages().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_stop_reply_lands_in_the_unsubscribed_list_which_can_be_cleaned() {
    let e = env().await;
    e.sim
        .inject_sms(None, "+224655009988", "STOP merci")
        .unwrap();
    let un = e.client.all_unsubscribed().await.unwrap();
    let row = un
        .iter()
        .find(|u| u.phone == "+224655009988")
        .expect("unsubscribed");
    let page = e
        .client
        .get_unsubscribed(PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(page.len(), un.len());
    let ack = e.client.delete_unsubscribed(row.id).await.unwrap();
    assert_eq!(ack.message, "Unsubscribed contact has been deleted!");
    assert!(e.client.all_unsubscribed().await.unwrap().is_empty());
}

// ---------------------------------------------------------------- WhatsApp

#[tokio::test]
async fn whatsapp_text_media_and_document_chats_are_queued_then_sent() {
    let e = env().await;
    let to = || WaRecipient::Phone(e.phone("621234567"));
    let contents = vec![
        text("Bonjour"),
        WaContent::Media {
            caption: "Photo".into(),
            source: MediaSource::Url {
                url: "https://example.com/a.jpg".into(),
                kind: MediaKind::Image,
            },
        },
        WaContent::Document {
            caption: "Facture".into(),
            source: DocumentSource::Url {
                url: "https://example.com/f.pdf".into(),
                kind: DocumentType::Pdf,
                name: Some("facture.pdf".into()),
            },
        },
        WaContent::Media {
            caption: "Upload".into(),
            source: MediaSource::File {
                name: "logo.png".into(),
                bytes: b"\x89PNG\r\n\x1a\nfake".to_vec(),
            },
        },
        WaContent::Document {
            caption: "Contrat".into(),
            source: DocumentSource::File {
                name: "contrat.pdf".into(),
                bytes: b"%PDF-1.4 fake".to_vec(),
            },
        },
    ];
    for c in contents {
        let r = e
            .client
            .send_whatsapp(&SendWhatsApp::new(e.wa(), to(), c))
            .await
            .unwrap();
        assert_eq!(r.message, "WhatsApp chat has been queued for sending!");
    }
    let chats: Vec<_> = e
        .sim
        .ledger()
        .into_iter()
        .filter(|l| l.kind == "whatsapp")
        .collect();
    assert_eq!(chats.len(), 5);
    assert!(chats.iter().all(|c| c.recipient == "+224621234567"));

    let pending = e
        .client
        .get_pending_chats(PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(pending.len(), 5);
    let photo = pending
        .iter()
        .find(|p| p.message.as_deref() == Some("Photo"))
        .expect("media chat");
    assert_eq!(
        photo.attachment.as_deref(),
        Some("https://example.com/a.jpg")
    );
    let upload = pending
        .iter()
        .find(|p| p.message.as_deref() == Some("Upload"))
        .expect("uploaded media chat");
    let served = upload
        .attachment
        .as_deref()
        .expect("uploaded file has a URL");
    assert!(
        served.starts_with(e.sim.url()),
        "served from the site: {served}"
    );

    e.sim.process_queue();
    assert!(
        e.client
            .get_pending_chats(PageRequest::first(10))
            .await
            .unwrap()
            .is_empty()
    );
    let sent = e.client.all_sent_chats().await.unwrap();
    assert_eq!(sent.len(), 5);
    assert!(sent.iter().all(|s| s.status == ChatStatus::Sent));
    let page = e
        .client
        .get_sent_chats(PageRequest::first(2))
        .await
        .unwrap();
    assert_eq!(page.len(), 2);

    let ack = e.client.delete_sent_chat(sent[0].id).await.unwrap();
    assert_eq!(ack.message, "Sent WhatsApp chat has been deleted!");
    assert_eq!(e.client.all_sent_chats().await.unwrap().len(), 4);
}

#[tokio::test]
async fn a_priority_whatsapp_chat_is_sent_at_once() {
    let e = env().await;
    let mut req = SendWhatsApp::new(
        e.wa(),
        WaRecipient::Phone(e.phone("621234567")),
        text("Urgent"),
    );
    req.priority = true;
    let r = e.client.send_whatsapp(&req).await.unwrap();
    assert_eq!(r.message, "WhatsApp chat has been sent!");
    let sent = e.client.all_sent_chats().await.unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].message.as_deref(), Some("Urgent"));
}

#[tokio::test]
async fn bulk_whatsapp_builds_a_campaign_that_can_be_paused_resumed_and_deleted() {
    let e = env().await;
    let group = e.fx.groups[0].id;
    let members = e.group_members(group);
    let to = Recipients::new(vec![e.phone("621000001")], vec![group]).unwrap();
    let req = SendBulkWhatsApp::new(e.wa(), "Promo WA", text("Bonjour"), to);
    let r = e.client.send_bulk_whatsapp(&req).await.unwrap();
    assert_eq!(r.queued, Some(1 + members as u64), "{}", r.message);

    let camps = e
        .client
        .get_wa_campaigns(PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(camps.len(), 1);
    let c = &camps[0];
    assert_eq!(c.name, "Promo WA");
    assert_eq!(c.kind, "text");
    assert_eq!(c.contacts as usize, 1 + members);
    let stop = e.client.stop_wa_campaign(c.id).await.unwrap();
    assert_eq!(stop.message, "WhatsApp campaign has been paused!");
    let listed = e
        .client
        .get_wa_campaigns(PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(listed[0].status, messagepro::CampaignStatus::Paused);
    let start = e.client.start_wa_campaign(c.id).await.unwrap();
    assert_eq!(start.message, "WhatsApp campaign has been resumed!");
    let del = e.client.delete_wa_campaign(c.id).await.unwrap();
    assert_eq!(del.message, "WhatsApp campaign has been deleted!");
    assert!(
        e.client
            .get_wa_campaigns(PageRequest::first(10))
            .await
            .unwrap()
            .is_empty()
    );
    let rows: Vec<_> = e
        .sim
        .ledger()
        .into_iter()
        .filter(|l| l.kind == "whatsapp" && l.campaign == c.id)
        .collect();
    assert_eq!(rows.len(), 1 + members);
    assert!(rows.iter().all(|l| l.deleted));
}

#[tokio::test]
async fn whatsapp_accounts_report_their_live_status() {
    let e = env().await;
    let acc = e.client.all_whatsapp_accounts().await.unwrap();
    let on = acc.iter().find(|a| a.unique == e.wa()).expect("connected");
    let off = acc
        .iter()
        .find(|a| a.unique == e.wa_off())
        .expect("disconnected");
    assert_eq!(on.status, WaAccountStatus::Connected);
    assert_eq!(off.status, WaAccountStatus::Disconnected);
    assert_eq!(on.phone, e.fx.whatsapp.as_ref().unwrap().connected.phone);
    let page = e
        .client
        .get_whatsapp_accounts(PageRequest::first(1))
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
}

#[tokio::test]
async fn received_chats_are_listed_and_deleted() {
    let e = env().await;
    let id = e
        .sim
        .inject_chat(None, "+224655001122", "Bonsoir", None)
        .unwrap();
    let rx = e.client.all_received_chats().await.unwrap();
    let c = rx.iter().find(|c| c.id == id).expect("received chat");
    assert_eq!(c.recipient, "+224655001122", "the sender, named recipient");
    assert_eq!(c.message.as_deref(), Some("Bonsoir"));
    let page = e
        .client
        .get_received_chats(PageRequest::first(5))
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    let ack = e.client.delete_received_chat(id).await.unwrap();
    assert_eq!(ack.message, "Received WhatsApp chat has been deleted!");
    assert!(e.client.all_received_chats().await.unwrap().is_empty());
}

#[tokio::test]
async fn linking_a_whatsapp_account_waits_for_the_scan_then_yields_a_usable_unique() {
    let e = env().await;
    let servers = e.client.get_wa_servers().await.unwrap();
    assert!(servers.iter().any(|s| s.id == e.fx.wa_server));

    // Relinking the disconnected fixture account: a QR, but no info link to poll.
    let relink = e
        .client
        .create_wa_relink(e.fx.wa_server, &e.wa_off())
        .await
        .unwrap();
    assert!(relink.infolink.is_none());
    let relink_token = relink.token().expect("token in the image link");
    let png = e.client.get_wa_qr(&relink_token).await.unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "PNG magic bytes");
    e.sim.scan(&relink_token, "224655000222").unwrap();
    let acc = e.client.all_whatsapp_accounts().await.unwrap();
    let off = acc
        .iter()
        .find(|a| a.unique == e.wa_off())
        .expect("relinked");
    assert_eq!(off.status, WaAccountStatus::Connected);
    assert_eq!(
        e.client.get_wa_info(&relink_token).await.unwrap(),
        WaLinkStatus::Waiting,
        "relink tokens never receive the information"
    );

    let link = e.client.create_wa_link(e.fx.wa_server).await.unwrap();
    assert!(!link.qrstring.is_empty());
    let token = link.token().expect("token in the links");
    let qr_prefix = format!("{}/api/get/wa.qr?token=", e.sim.url());
    assert!(
        link.qrimagelink.starts_with(&qr_prefix),
        "{}",
        link.qrimagelink
    );
    assert_eq!(token.len(), 40);
    let png = e.client.get_wa_qr(&token).await.unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "PNG magic bytes");
    assert_eq!(
        e.client.get_wa_info(&token).await.unwrap(),
        WaLinkStatus::Waiting
    );

    e.sim.scan(&token, "224621999888").unwrap();
    let WaLinkStatus::Linked { unique, wid } = e.client.get_wa_info(&token).await.unwrap() else {
        panic!("still waiting after the scan");
    };
    assert!(wid.starts_with("224621999888"), "{wid}");
    let acc = e.client.all_whatsapp_accounts().await.unwrap();
    assert!(acc.iter().any(|a| a.unique == unique));
    let r = e
        .client
        .send_whatsapp(&SendWhatsApp::new(
            unique.clone(),
            WaRecipient::Phone(e.phone("621234567")),
            text("Premier message"),
        ))
        .await
        .unwrap();
    assert_eq!(r.message, "WhatsApp chat has been queued for sending!");

    // At the package limit (3 accounts) even a relink is refused: the check counts the account
    // being relinked (spec 2.3.2).
    let err = e
        .client
        .create_wa_relink(e.fx.wa_server, &unique)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::QuotaReached(_)), "{err}");

    let del = e.client.delete_wa_account(&unique).await.unwrap();
    assert_eq!(del.message, "WhatsApp account has been deleted!");
    let acc = e.client.all_whatsapp_accounts().await.unwrap();
    assert!(!acc.iter().any(|a| a.unique == unique));
}

#[tokio::test]
async fn whatsapp_groups_and_their_members_are_listed() {
    let e = env().await;
    let groups = e.client.get_wa_groups(&e.wa()).await.unwrap();
    assert_eq!(groups.len(), 2);
    assert!(groups.iter().all(|g| g.gid.ends_with("@g.us")));
    let members = e
        .client
        .get_wa_group_contacts(&e.wa(), &groups[0].gid)
        .await
        .unwrap();
    assert!(!members.is_empty());
    assert!(members.iter().all(|m| m.phone.starts_with('+')));
    // A chat to a group JID is accepted as is.
    let r = e
        .client
        .send_whatsapp(&SendWhatsApp::new(
            e.wa(),
            WaRecipient::Group(groups[0].gid.clone()),
            text("Bonjour le groupe"),
        ))
        .await
        .unwrap();
    assert_eq!(r.message, "WhatsApp chat has been queued for sending!");
    assert_eq!(e.sim.ledger()[0].recipient, groups[0].gid);
}

#[tokio::test]
async fn validate_whatsapp_returns_the_jid_or_a_404() {
    let e = env().await;
    let v = e
        .client
        .validate_whatsapp(&e.wa(), &e.phone("621234567"))
        .await
        .unwrap();
    assert_eq!(v.jid, "224621234567@s.whatsapp.net");
    assert_eq!(v.phone, "+224621234567");
    let err = e
        .client
        .validate_whatsapp(&e.wa(), &e.phone("620000000"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
}

// ---------------------------------------------------------------- contacts, USSD, notifications

#[tokio::test]
async fn groups_and_contacts_are_created_listed_and_deleted() {
    let e = env().await;
    let ack = e.client.create_group("Clients Kaloum & Co").await.unwrap();
    assert_eq!(ack.message, "Contact group has been created!");
    let groups = e.client.all_groups().await.unwrap();
    assert_eq!(groups.len(), e.fx.groups.len() + 1);
    let g = groups
        .iter()
        .find(|g| g.name == "Clients Kaloum & Co")
        .expect("new group, unescaped");
    let page = e.client.get_groups(PageRequest::first(1)).await.unwrap();
    assert_eq!(page[0].id, g.id, "id descending");

    let req = CreateContact::new("Awa Camara", e.phone("621 55 44 33"), vec![g.id]).unwrap();
    let ack = e.client.create_contact(&req).await.unwrap();
    assert_eq!(ack.message, "Contact has been created!");
    let contacts = e.client.all_contacts().await.unwrap();
    let c = contacts
        .iter()
        .find(|c| c.phone == "+224621554433")
        .expect("contact listed");
    assert_eq!(c.name, "Awa Camara");
    assert_eq!(c.groups, vec![g.id.to_string()]);

    let ack = e.client.delete_contact(c.id).await.unwrap();
    assert_eq!(ack.message, "Contact has been deleted!");
    let ack = e.client.delete_group(g.id).await.unwrap();
    assert_eq!(ack.message, "Contact group has been deleted!");
    assert_eq!(
        e.client.all_contacts().await.unwrap().len(),
        e.fx.contacts.len()
    );
    assert_eq!(
        e.client.all_groups().await.unwrap().len(),
        e.fx.groups.len()
    );
}

#[tokio::test]
async fn the_paging_helper_returns_every_contact_exactly_once_despite_the_page_gap() {
    let e = env().await;
    let group = e.fx.groups[1].id;
    for i in 0..25 {
        let phone = e.phone(&format!("6210100{i:02}"));
        let req = CreateContact::new(format!("Contact {i:02}"), phone, vec![group]).unwrap();
        e.client.create_contact(&req).await.unwrap();
    }
    let total = e.fx.contacts.len() + 25;

    // Walking pages the naive way loses rows: page 2 starts at 2 × limit.
    let p1 = e
        .client
        .get_contacts(PageRequest::new(1, 10))
        .await
        .unwrap();
    let p2 = e
        .client
        .get_contacts(PageRequest::new(2, 10))
        .await
        .unwrap();
    let p3 = e
        .client
        .get_contacts(PageRequest::new(3, 10))
        .await
        .unwrap();
    let naive: HashSet<u64> = p1.iter().chain(&p2).chain(&p3).map(|c| c.id).collect();
    assert!(naive.len() < total, "the simulator reproduces the gap");

    for initial in [1, 4, 10, 500] {
        let all = fetch_all(initial, |p| e.client.get_contacts(p))
            .await
            .unwrap();
        let ids: HashSet<u64> = all.iter().map(|c| c.id).collect();
        assert_eq!(all.len(), total, "initial limit {initial}");
        assert_eq!(ids.len(), total, "no duplicates, initial limit {initial}");
    }
    let all = e.client.all_contacts().await.unwrap();
    assert_eq!(all.len(), total);
    for c in &e.fx.contacts {
        assert!(all.iter().any(|a| a.id == c.id && a.phone == c.phone));
    }
}

#[tokio::test]
async fn ussd_requests_are_queued_answered_deleted_and_cleared() {
    // `clear/ussd` exists on the documented build only (the newer one dropped it, Q21)
    let e = env_of(Flavour::V3_3_8).await;
    let ack = e
        .client
        .send_ussd("*123#", &e.online(), messagepro::Sim::One)
        .await
        .unwrap();
    assert_eq!(ack.message, "USSD request has been queued!");
    let list = e.client.get_ussd(PageRequest::first(10)).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].code, "*123#");
    assert_eq!(list[0].device, e.online());
    assert_eq!(list[0].status, UssdStatus::Pending);

    e.sim.process_queue();
    let done = e.client.get_ussd(PageRequest::first(10)).await.unwrap();
    assert_eq!(done[0].status, UssdStatus::Completed);
    assert!(!done[0].response.is_empty());
    let ack = e.client.delete_ussd(done[0].id).await.unwrap();
    assert_eq!(ack.message, "USSD request has been deleted!");
    assert!(
        e.client
            .get_ussd(PageRequest::first(10))
            .await
            .unwrap()
            .is_empty()
    );

    e.client
        .send_ussd("*144#", &e.online(), messagepro::Sim::Two)
        .await
        .unwrap();
    let ack = e.client.clear_ussd().await.unwrap();
    assert_eq!(ack.message, "Pending USSD requests has been cleared!");
    assert!(
        e.client
            .get_ussd(PageRequest::first(10))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn captured_notifications_are_listed_and_deleted() {
    let e = env().await;
    let id = e
        .sim
        .inject_notification(
            None,
            "com.orange.myorange",
            "Solde",
            "Votre solde est 5000 GNF",
        )
        .unwrap();
    let list = e
        .client
        .get_notifications(PageRequest::first(10))
        .await
        .unwrap();
    let n = list.iter().find(|n| n.id == id).expect("notification");
    assert_eq!(n.package_name, "com.orange.myorange");
    assert_eq!(n.title, "Solde");
    assert_eq!(n.device, e.online());
    let ack = e.client.delete_notification(id).await.unwrap();
    assert_eq!(ack.message, "Notification has been deleted!");
    assert!(
        e.client
            .get_notifications(PageRequest::first(10))
            .await
            .unwrap()
            .is_empty()
    );
}

// ---------------------------------------------------------------- OTP

#[tokio::test]
async fn an_otp_verifies_once_and_is_then_invalid() {
    let e = env().await;
    let req = SendOtp::new(
        e.phone("621234567"),
        "Votre code : {{otp}}",
        OtpChannel::Sms {
            route: SmsRoute::device(e.online()),
        },
    );
    let sent = e.client.send_otp(&req).await.unwrap();
    assert_eq!(sent.phone, "+224621234567");
    let code = sent.otp.expose();
    assert!((100_000..=999_999).contains(&code.parse::<u32>().unwrap()));
    assert_eq!(sent.message, format!("Votre code : {code}"));
    assert_eq!(e.sim.ledger().len(), 1, "the OTP SMS is queued");

    e.client.verify_otp(&code).await.unwrap();
    let again = e.client.verify_otp(&code).await.unwrap_err();
    assert!(matches!(again, Error::OtpInvalidOrExpired(_)), "{again}");
}

#[tokio::test]
async fn a_whatsapp_otp_is_queued_on_the_account_and_expires_on_the_simulated_clock() {
    let e = env().await;
    let req = SendOtp::new(
        e.phone("621234567"),
        "Code {{ otp }}",
        OtpChannel::WhatsApp {
            account: e.wa(),
            priority: false,
        },
    )
    .expire(60);
    let sent = e.client.send_otp(&req).await.unwrap();
    let ledger = e.sim.ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].kind, "whatsapp");
    e.sim.advance_time(61);
    let err = e.client.verify_otp(&sent.otp.expose()).await.unwrap_err();
    assert!(matches!(err, Error::OtpInvalidOrExpired(_)), "{err}");
}

// ---------------------------------------------------------------- error mapping

#[tokio::test]
async fn the_restricted_key_gets_permission_denied_outside_its_list() {
    let e = env().await;
    let restricted = client_for(&e.sim, &e.fx.secrets.restricted);
    restricted.get_credits().await.unwrap();
    let err = restricted.get_earnings().await.unwrap_err();
    assert!(matches!(err, Error::PermissionDenied(_)), "{err}");
    assert_eq!(err.status(), Some(403));
    let err = restricted.create_group("Interdit").await.unwrap_err();
    assert!(matches!(err, Error::PermissionDenied(_)), "{err}");
}

#[tokio::test]
async fn an_unknown_secret_is_invalid_secret() {
    let e = env().await;
    let c = client_for(&e.sim, "0000000000000000000000000000000000000000");
    let err = c.get_credits().await.unwrap_err();
    assert!(matches!(err, Error::InvalidSecret(_)), "{err}");
    assert_eq!(err.status(), Some(401));
}

#[tokio::test]
async fn unknown_devices_and_gateways_are_not_found_and_private_partners_unavailable() {
    let e = env().await;
    let phone = e.phone("621234567");
    let unknown = SendSms::new(
        phone.clone(),
        "Bonjour",
        SmsRoute::device("00000000-0000-0000-0000-000000000000"),
    );
    let err = e.client.send_sms(&unknown).await.unwrap_err();
    assert!(matches!(err, Error::DeviceNotFound(_)), "{err}");

    let partner_of_nobody = SendSms::new(
        phone.clone(),
        "Bonjour",
        SmsRoute::credits(Gateway::Partner("no-such-device".into())),
    );
    let err = e.client.send_sms(&partner_of_nobody).await.unwrap_err();
    assert!(matches!(err, Error::DeviceNotFound(_)), "{err}");

    let private = e.fx.private_partner_device.as_ref().unwrap().unique.clone();
    let req = SendSms::new(
        phone.clone(),
        "Bonjour",
        SmsRoute::credits(Gateway::Partner(private)),
    );
    let err = e.client.send_sms(&req).await.unwrap_err();
    assert!(matches!(err, Error::DeviceUnavailable(_)), "{err}");

    let own = SendSms::new(
        phone.clone(),
        "Bonjour",
        SmsRoute::credits(Gateway::Partner(e.online())),
    );
    let err = e.client.send_sms(&own).await.unwrap_err();
    assert!(matches!(err, Error::DeviceUnavailable(_)), "{err}");

    let max_gw = e.fx.gateways.iter().map(|g| g.id).max().unwrap();
    let gw = SendSms::new(phone, "Bonjour", SmsRoute::credits(Gateway::Id(max_gw + 1)));
    let err = e.client.send_sms(&gw).await.unwrap_err();
    assert!(matches!(err, Error::GatewayNotFound(_)), "{err}");
    assert!(e.sim.ledger().is_empty());
}

#[tokio::test]
async fn an_empty_balance_is_not_enough_credits_on_a_gateway() {
    let e = env().await;
    e.sim.set_credits(0.0);
    assert!(e.client.get_credits().await.unwrap().is_exhausted());
    for callback in [true, false] {
        let req = SendSms::new(
            e.phone("621234567"),
            "Bonjour",
            SmsRoute::credits(Gateway::Id(e.gateway(callback))),
        );
        let err = e.client.send_sms(&req).await.unwrap_err();
        assert!(matches!(err, Error::NotEnoughCredits(_)), "{err}");
    }
    assert!(e.sim.ledger().is_empty());
}

#[tokio::test]
async fn a_disconnected_whatsapp_account_is_reported_for_single_and_bulk_sends() {
    let e = env().await;
    let req = SendWhatsApp::new(
        e.wa_off(),
        WaRecipient::Phone(e.phone("621234567")),
        text("Bonjour"),
    );
    let err = e.client.send_whatsapp(&req).await.unwrap_err();
    assert!(matches!(err, Error::WhatsAppDisconnected(_)), "{err}");
    let to = Recipients::numbers(vec![e.phone("621234567")]).unwrap();
    let bulk = SendBulkWhatsApp::new(e.wa_off(), "Promo", text("Bonjour"), to);
    let err = e.client.send_bulk_whatsapp(&bulk).await.unwrap_err();
    assert!(matches!(err, Error::WhatsAppDisconnected(_)), "{err}");
    let unknown = SendWhatsApp::new(
        "no-such-account",
        WaRecipient::Phone(e.phone("621234567")),
        text("Bonjour"),
    );
    let err = e.client.send_whatsapp(&unknown).await.unwrap_err();
    assert!(matches!(err, Error::WhatsAppAccountNotFound(_)), "{err}");
}

#[tokio::test]
async fn invalid_phone_numbers_are_refused_by_the_client_or_by_the_platform() {
    let e = env().await;
    let err = e.client.parse_phone("12").unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    // A "group" that is no JID is read by the platform as a phone number.
    let req = SendWhatsApp::new(e.wa(), WaRecipient::Group("12345".into()), text("Bonjour"));
    let err = e.client.send_whatsapp(&req).await.unwrap_err();
    assert!(matches!(err, Error::InvalidPhone(_)), "{err}");
    assert!(e.sim.ledger().is_empty());
}

#[tokio::test]
async fn a_message_over_the_configured_maximum_is_too_long() {
    let e = env().await;
    e.sim
        .patch_platform(&json!({"settings": {"message_max": 10}}))
        .unwrap();
    let err = e
        .client
        .send_sms(&e.sms("621234567", "Bien plus de dix octets"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MessageTooLong(_)), "{err}");
    assert_eq!(err.status(), Some(400));
    // The limit is measured on the escaped text: "a&b" is 7 bytes, "a&b&c" is 11.
    e.client.send_sms(&e.sms("621234567", "a&b")).await.unwrap();
    let err = e
        .client
        .send_sms(&e.sms("621234567", "a&b&c"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MessageTooLong(_)), "{err}");
    assert_eq!(e.sim.ledger().len(), 1);
}

// ---------------------------------------------------------------- faults

#[tokio::test]
async fn a_send_whose_answer_is_dropped_is_ambiguous_although_the_message_was_stored() {
    let e = env().await;
    e.sim.set_faults(Faults {
        drop_after_accept_rate: 1.0,
        ..Faults::default()
    });
    let err = e
        .client
        .send_sms(&e.sms("621234567", "Bonjour"))
        .await
        .unwrap_err();
    assert!(err.is_ambiguous(), "{err}");
    let ledger = e.sim.ledger();
    assert_eq!(ledger.len(), 1, "stored despite the lost answer");
    assert_eq!(ledger[0].submissions, 1, "a write is never retried");
    e.sim.set_faults(Faults::default());
    assert_eq!(e.client.all_pending_messages().await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_html_500_is_an_ambiguous_decode_error() {
    let e = env().await;
    e.sim.set_faults(Faults {
        fail_rate: 1.0,
        ..Faults::default()
    });
    let err = e
        .client
        .send_sms(&e.sms("621234567", "Bonjour"))
        .await
        .unwrap_err();
    assert!(err.is_ambiguous(), "{err}");
    match &err {
        Error::Decode { http_status, .. } => assert_eq!(*http_status, 500),
        other => panic!("expected a decode error, got {other}"),
    }
    let secret = &e.fx.secrets.full;
    let shown = err.to_string();
    assert!(!shown.contains(secret.as_str()), "the secret is not echoed");
    assert!(e.sim.ledger().is_empty(), "nothing processed");
}

#[tokio::test]
async fn a_hanging_platform_times_out_with_a_short_client_timeout() {
    let e = env().await;
    e.sim.set_faults(Faults {
        hang_rate: 1.0,
        hang_ms: 5_000,
        ..Faults::default()
    });
    let client = builder_for(&e.sim, &e.fx.secrets.full)
        .timeout(Duration::from_millis(300))
        .read_retries(0)
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = client
        .send_sms(&e.sms("621234567", "Bonjour"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(err.is_ambiguous());
    let err = client.get_credits().await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn a_read_is_retried_and_succeeds_once_the_fault_clears() {
    // The simulator has no bounded fault count, so the fault is cleared from another task
    // while the client waits out its first backoff.
    let e = env().await;
    e.sim.set_faults(Faults {
        reset_rate: 1.0,
        ..Faults::default()
    });
    let client = builder_for(&e.sim, &e.fx.secrets.full)
        .read_retries(3)
        .retry_backoff(Duration::from_millis(600))
        .build()
        .unwrap();
    let shared = e.sim.shared().clone();
    let clear = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        shared.set_faults(Faults::default());
    });
    let c = client.get_credits().await.unwrap();
    assert_eq!(c.currency, e.fx.currency);
    clear.await.unwrap();

    // Without retries the same fault is an error.
    e.sim.set_faults(Faults {
        reset_rate: 1.0,
        ..Faults::default()
    });
    let once = builder_for(&e.sim, &e.fx.secrets.full)
        .read_retries(0)
        .build()
        .unwrap();
    let err = once.get_credits().await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err}");
}

// ---------------------------------------------------------------- permission probes

async fn probe_all(client: &Client) -> Vec<&'static str> {
    let mut granted = Vec::new();
    for p in PROBES {
        if client.probe_permission(p.permission).await.unwrap() {
            granted.push(p.permission);
        }
    }
    granted
}

#[tokio::test]
async fn probes_grant_everything_to_the_full_key_without_side_effects() {
    let e = env().await;
    let granted = probe_all(&e.client).await;
    assert_eq!(granted.len(), PROBES.len());

    assert!(e.sim.ledger().is_empty(), "no message or chat stored");
    assert_eq!(
        e.client.all_contacts().await.unwrap().len(),
        e.fx.contacts.len()
    );
    assert_eq!(
        e.client.all_groups().await.unwrap().len(),
        e.fx.groups.len()
    );
    assert!(
        e.client
            .get_ussd(PageRequest::first(10))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        e.client
            .get_sms_campaigns(PageRequest::first(10))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(e.client.all_whatsapp_accounts().await.unwrap().len(), 2);
    // No OTP was minted: no code of any value verifies.
    for code in ["000000", "123456", "999999"] {
        let err = e.client.verify_otp(code).await.unwrap_err();
        assert!(matches!(err, Error::OtpInvalidOrExpired(_)), "{err}");
    }
}

#[tokio::test]
async fn probes_grant_the_restricted_key_exactly_its_permissions() {
    let e = env().await;
    let restricted = client_for(&e.sim, &e.fx.secrets.restricted);
    let mut granted = probe_all(&restricted).await;
    granted.sort_unstable();
    let mut want: Vec<&str> =
        e.fx.restricted_permissions
            .iter()
            .map(String::as_str)
            .collect();
    want.sort_unstable();
    assert_eq!(granted, want);
    assert!(e.sim.ledger().is_empty());
}

// ---------------------------------------------------------------- quirks both sides must share

#[tokio::test]
async fn sms_priority_and_sim_are_listed_as_the_platform_stores_them() {
    let e = env().await;
    let phone = e.phone("621234567");
    let flagged = SmsRoute::Devices {
        device: e.online(),
        sim: messagepro::Sim::Two,
        priority: true,
    };
    e.client
        .send_sms(&SendSms::new(phone.clone(), "Prioritaire", flagged.clone()))
        .await
        .unwrap();
    e.client
        .send_sms(&SendSms::new(
            phone.clone(),
            "Normal",
            SmsRoute::device(e.online()),
        ))
        .await
        .unwrap();
    let to = Recipients::numbers(vec![phone]).unwrap();
    e.client
        .send_bulk_sms(&SendBulkSms::new("Prio bulk", "En masse", to, flagged))
        .await
        .unwrap();
    let pending = e.client.all_pending_messages().await.unwrap();
    let by_text = |t: &str| pending.iter().find(|m| m.message == t).expect(t);
    // send/sms: priority=1 is stored 1 and listed false; send/sms.bulk: stored 2, listed true.
    assert!(!by_text("Prioritaire").priority);
    assert_eq!(by_text("Prioritaire").sim, 2);
    assert!(!by_text("Normal").priority);
    assert_eq!(by_text("Normal").sim, 1);
    assert!(by_text("En masse").priority);
    assert_eq!(by_text("En masse").sim, 2);
}

#[tokio::test]
async fn ussd_slots_are_listed_with_the_platform_bug_that_reports_two() {
    let e = env().await;
    e.client
        .send_ussd("*100#", &e.online(), messagepro::Sim::One)
        .await
        .unwrap();
    let list = e.client.get_ussd(PageRequest::first(10)).await.unwrap();
    assert_eq!(list[0].sim, 2, "§2.2.21: every slot >= 1 is listed as 2");
}

#[tokio::test]
async fn bulk_sms_personalises_each_message_with_contact_shortcodes() {
    let e = env().await;
    let group = &e.fx.groups[0];
    let to = Recipients::new(vec![e.phone("621000001")], vec![group.id]).unwrap();
    let req = SendBulkSms::new(
        "Perso",
        "Bonjour {{contact.name}} ({{group.name}})",
        to,
        SmsRoute::device(e.online()),
    );
    e.client.send_bulk_sms(&req).await.unwrap();
    let ledger = e.sim.ledger();
    let adhoc = ledger
        .iter()
        .find(|l| l.recipient == "+224621000001")
        .unwrap();
    assert_eq!(adhoc.text, "Bonjour +224621000001 (Unknown)");
    let pending = e.client.all_pending_messages().await.unwrap();
    for c in
        e.fx.contacts
            .iter()
            .filter(|c| c.groups.contains(&group.id))
    {
        let m = pending
            .iter()
            .find(|m| m.recipient == c.phone)
            .expect("group member");
        assert_eq!(m.message, format!("Bonjour {} ({})", c.name, group.name));
    }
}

#[tokio::test]
async fn a_partner_bulk_without_device_limit_is_refused_though_its_rows_were_stored() {
    // §3.8 step 4: the counter only moves when the partner device has a limit, so the call
    // answers 403 and the inserted rows stay orphaned.
    let e = env().await;
    let to = Recipients::numbers(vec![e.phone("621000001"), e.phone("621000002")]).unwrap();
    let route = SmsRoute::credits(Gateway::Partner(e.partner()));
    let err = e
        .client
        .send_bulk_sms(&SendBulkSms::new("Partner", "Bonjour", to, route))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::QuotaReached(_)), "{err}");
    assert!(e.client.all_sms_campaigns().await.unwrap().is_empty());
    let rows: Vec<_> = e
        .sim
        .ledger()
        .into_iter()
        .filter(|l| l.route == "partner")
        .collect();
    assert_eq!(rows.len(), 2);
}

#[tokio::test]
async fn the_sms_quota_counts_at_fetch_time_and_messages_fetched_over_it_fail() {
    let e = env().await;
    let limit = e.client.get_subscription().await.unwrap().usage["sms_send"].limit;
    e.sim
        .patch_quota(None, &json!({"sent": limit - 1}))
        .unwrap();
    // Both are accepted: the counter only moves when the handset fetches.
    e.client.send_sms(&e.sms("621000001", "Un")).await.unwrap();
    e.client
        .send_sms(&e.sms("621000002", "Deux"))
        .await
        .unwrap();
    e.sim.process_queue();
    let usage = e.client.get_subscription().await.unwrap().usage["sms_send"];
    assert!(usage.is_exhausted(), "{usage:?}");
    let sent = e.client.all_sent_messages().await.unwrap();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent.iter()
            .filter(|m| m.status == SmsStatus::Failed)
            .count(),
        1
    );
    assert_eq!(
        sent.iter().filter(|m| m.status == SmsStatus::Sent).count(),
        1
    );
    let err = e
        .client
        .send_sms(&e.sms("621000003", "Trois"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::QuotaReached(_)), "{err}");
}

#[tokio::test]
async fn a_device_daily_limit_is_quota_reached() {
    let e = env().await;
    let id = e.fx.devices.as_ref().unwrap().online.id;
    e.sim
        .patch_platform(
            &json!({"devices": {id.to_string(): {"limit_status": true, "limit_number": 1}}}),
        )
        .unwrap();
    let d = e.client.all_devices().await.unwrap();
    let dev = d.iter().find(|d| d.id == id).unwrap();
    assert!(dev.limit_status);
    assert_eq!(dev.limit_number, 1);
    e.client.send_sms(&e.sms("621000001", "Un")).await.unwrap();
    let err = e
        .client
        .send_sms(&e.sms("621000002", "Deux"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::QuotaReached(_)), "{err}");
    assert!(err.platform_message().unwrap().contains("daily"));
}

#[tokio::test]
async fn an_account_without_package_is_not_subscribed_but_may_still_pay_with_credits() {
    let e = env().await;
    e.sim
        .patch_platform(&json!({"accounts": {e.fx.user_id.to_string(): {"package": null}}}))
        .unwrap();
    let err = e.client.get_subscription().await.unwrap_err();
    assert!(matches!(err, Error::NotSubscribed(_)), "{err}");
    let err = e
        .client
        .send_sms(&e.sms("621234567", "Bonjour"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotSubscribed(_)), "{err}");
    let err = e
        .client
        .send_ussd("*123#", &e.online(), messagepro::Sim::One)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotSubscribed(_)), "{err}");
    let paid = SendSms::new(
        e.phone("621234567"),
        "Bonjour",
        SmsRoute::credits(Gateway::Id(e.gateway(false))),
    );
    assert!(
        e.client
            .send_sms(&paid)
            .await
            .unwrap()
            .is_sent_immediately()
    );
}

#[tokio::test]
async fn qr_and_info_refuse_unknown_tokens_and_tokens_of_deleted_keys() {
    let e = env().await;
    let err = e.client.get_wa_qr("deadbeef").await.unwrap_err();
    assert!(matches!(err, Error::InvalidSecret(_)), "{err}");
    let err = e.client.get_wa_info("deadbeef").await.unwrap_err();
    assert!(matches!(err, Error::InvalidSecret(_)), "{err}");

    let other = "1111111111111111111111111111111111111111";
    e.sim
        .set_key(other, Some(vec!["create_whatsapp".into()]), None);
    let c = client_for(&e.sim, other);
    let token = c
        .create_wa_link(e.fx.wa_server)
        .await
        .unwrap()
        .token()
        .unwrap();
    assert!(c.get_wa_qr(&token).await.is_ok());
    e.sim.set_key(other, None, None);
    let err = c.get_wa_qr(&token).await.unwrap_err();
    assert!(matches!(err, Error::InvalidSecret(_)), "{err}");
    // Tokens expire after 600 s.
    let token = e
        .client
        .create_wa_link(e.fx.wa_server)
        .await
        .unwrap()
        .token()
        .unwrap();
    e.sim.advance_time(601);
    let err = e.client.get_wa_info(&token).await.unwrap_err();
    assert!(matches!(err, Error::InvalidSecret(_)), "{err}");
}

#[tokio::test]
async fn otp_codes_live_in_the_namespace_of_their_secret_for_300_seconds_by_default() {
    let e = env().await;
    let other = "2222222222222222222222222222222222222222";
    e.sim.set_key(other, Some(vec!["otp".into()]), None);
    let second_key = client_for(&e.sim, other);
    let req = SendOtp::new(
        e.phone("621234567"),
        "Code {{otp}}",
        OtpChannel::Sms {
            route: SmsRoute::device(e.online()),
        },
    );
    let a = e.client.send_otp(&req).await.unwrap().otp.expose();
    let err = second_key.verify_otp(&a).await.unwrap_err();
    assert!(matches!(err, Error::OtpInvalidOrExpired(_)), "{err}");
    e.sim.advance_time(300);
    e.client.verify_otp(&a).await.unwrap();

    let b = e.client.send_otp(&req).await.unwrap().otp.expose();
    e.sim.advance_time(301);
    let err = e.client.verify_otp(&b).await.unwrap_err();
    assert!(matches!(err, Error::OtpInvalidOrExpired(_)), "{err}");
}

#[tokio::test]
async fn page_two_starts_at_twice_the_limit_and_a_zero_limit_is_empty() {
    let e = env().await;
    for i in 0..25 {
        e.client
            .send_sms(&e.sms(&format!("6210200{i:02}"), &format!("Message {i}")))
            .await
            .unwrap();
    }
    let all = e.client.all_pending_messages().await.unwrap();
    assert_eq!(all.len(), 25);
    let p2 = e
        .client
        .get_pending_messages(PageRequest::new(2, 10))
        .await
        .unwrap();
    let want: Vec<u64> = all[20..25].iter().map(|m| m.id).collect();
    assert_eq!(p2.iter().map(|m| m.id).collect::<Vec<_>>(), want);
    let none = e
        .client
        .get_pending_messages(PageRequest::first(0))
        .await
        .unwrap();
    assert!(none.is_empty());
}

#[tokio::test]
async fn unicode_and_markup_survive_the_round_trip_through_escaping() {
    let e = env().await;
    let text_in = "Café ☕ <b>\"ok\"</b> l'été";
    e.client
        .send_sms(&e.sms("621234567", text_in))
        .await
        .unwrap();
    let pending = e.client.all_pending_messages().await.unwrap();
    assert_eq!(pending[0].message, text_in);
    assert_ne!(e.sim.ledger()[0].text, text_in, "stored escaped");
    e.client
        .send_whatsapp(&SendWhatsApp::new(
            e.wa(),
            WaRecipient::Phone(e.phone("621234567")),
            text(text_in),
        ))
        .await
        .unwrap();
    let chats = e
        .client
        .get_pending_chats(PageRequest::first(5))
        .await
        .unwrap();
    assert_eq!(chats[0].message.as_deref(), Some(text_in));
}

#[tokio::test]
async fn audio_chats_list_no_attachment_and_documents_list_their_url() {
    let e = env().await;
    let to = || WaRecipient::Phone(e.phone("621234567"));
    let audio = WaContent::Media {
        caption: "Ecoute".into(),
        source: MediaSource::Url {
            url: "https://example.com/a.mp3".into(),
            kind: MediaKind::Audio,
        },
    };
    let doc = WaContent::Document {
        caption: "Doc".into(),
        source: DocumentSource::Url {
            url: "https://example.com/d.docx".into(),
            kind: DocumentType::Docx,
            name: None,
        },
    };
    for c in [audio, doc] {
        e.client
            .send_whatsapp(&SendWhatsApp::new(e.wa(), to(), c))
            .await
            .unwrap();
    }
    let chats = e
        .client
        .get_pending_chats(PageRequest::first(5))
        .await
        .unwrap();
    let a = chats.iter().find(|c| c.id == e.sim.ledger()[0].id).unwrap();
    assert_eq!(a.attachment, None, "audio has no attachment in lists");
    assert_eq!(a.message, None, "the caption of audio is dropped");
    let d = chats.iter().find(|c| c.id == e.sim.ledger()[1].id).unwrap();
    assert_eq!(d.attachment.as_deref(), Some("https://example.com/d.docx"));
    assert_eq!(d.message.as_deref(), Some("Doc"));
}

// ---------------------------------------------------------------- more platform answers

#[tokio::test]
async fn the_newer_build_gives_ids_that_the_lookups_follow_with_typed_errors() {
    let e = env().await;
    let r = e
        .client
        .send_sms(&e.sms("621234567", "Bonjour {Awa|Fanta}"))
        .await
        .unwrap();
    let id = r
        .message_id
        .expect("send/sms returns an id on the newer build");
    let m = e.client.get_sms_message(id).await.unwrap();
    assert_eq!(
        (m.id, m.status.clone()),
        (id, messagepro::SmsStatus::Pending)
    );
    assert_eq!(m.recipient, "+224621234567");
    e.sim.process_queue();
    let m = e.client.get_sms_message(id).await.unwrap();
    assert!(
        matches!(
            m.status,
            messagepro::SmsStatus::Sent | messagepro::SmsStatus::Failed
        ),
        "{m:?}"
    );
    let err = e.client.get_sms_message(id + 1000).await.unwrap_err();
    assert!(matches!(err, Error::MessageNotFound(_)), "{err}");
    let restricted = client_for(&e.sim, &e.fx.secrets.restricted);
    let err = restricted.get_sms_message(id).await.unwrap_err();
    assert!(matches!(err, Error::PermissionDenied(_)), "{err}");

    let to = Recipients::numbers(vec![e.phone("621000001"), e.phone("621000002")]).unwrap();
    let bulk = SendBulkWhatsApp::new(e.wa(), "Avec ids", text("Bonjour"), to);
    let r = e.client.send_bulk_whatsapp(&bulk).await.unwrap();
    assert!(r.campaign_id.is_some());
    assert_eq!(r.message_ids.len(), 2, "{r:?}");
    for (id, to) in r.message_ids.iter().zip(["+224621000001", "+224621000002"]) {
        let c = e.client.get_wa_message(*id).await.unwrap();
        assert_eq!(c.recipient, to);
        assert_eq!(c.status, messagepro::ChatStatus::Pending);
    }
    let inbound = e.sim.inject_sms(None, "+224622000111", "STOP").unwrap();
    let got = e.client.get_received_sms_message(inbound).await.unwrap();
    assert_eq!(
        (got.sender.as_str(), got.message.as_str()),
        ("+224622000111", "STOP")
    );

    let err = e
        .client
        .send_sms(&e.sms("621234567", "pas une arnaque"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ContentRejected(_)), "{err}");
    e.sim
        .patch_platform(&json!({"packages": {"1": {"services": ["sms"]}}}))
        .unwrap();
    let one = SendWhatsApp::new(
        e.wa(),
        WaRecipient::Phone(e.phone("621234567")),
        text("Bonjour"),
    );
    let err = e.client.send_whatsapp(&one).await.unwrap_err();
    assert!(matches!(err, Error::ServiceNotInPackage(_)), "{err}");
    let err = e.client.clear_ussd().await.unwrap_err();
    assert!(matches!(err, Error::UnknownEndpoint(_)), "{err}");
}

#[tokio::test]
async fn sends_answer_without_ids_as_the_documented_build_does() {
    let e = env_of(Flavour::V3_3_8).await;
    let r = e
        .client
        .send_sms(&e.sms("621234567", "Bonjour"))
        .await
        .unwrap();
    assert_eq!(r.message_id, None, "data is false on send/sms");
    let to = Recipients::numbers(vec![e.phone("621234567")]).unwrap();
    let bulk = SendBulkWhatsApp::new(e.wa(), "Sans id", text("Bonjour"), to);
    let r = e.client.send_bulk_whatsapp(&bulk).await.unwrap();
    assert_eq!(r.campaign_id, None);
    assert!(r.message_ids.is_empty());
    assert_eq!(r.message, "1 chats has been queued for sending!");
    let err = e.client.get_sms_message(1).await.unwrap_err();
    assert!(matches!(err, Error::UnknownEndpoint(_)), "{err}");
    let err = e.client.get_wa_message(1).await.unwrap_err();
    assert!(matches!(err, Error::UnknownEndpoint(_)), "{err}");
}

#[tokio::test]
async fn length_rules_map_to_too_short_and_too_long_for_every_send() {
    let e = env().await;
    let err = e
        .client
        .send_sms(&e.sms("621234567", ""))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MessageTooShort(_)), "{err}");
    let wa = |t: &str| SendWhatsApp::new(e.wa(), WaRecipient::Phone(e.phone("621234567")), text(t));
    let err = e.client.send_whatsapp(&wa("")).await.unwrap_err();
    assert!(matches!(err, Error::MessageTooShort(_)), "{err}");

    e.sim
        .patch_platform(&json!({"settings": {"message_max": 12}}))
        .unwrap();
    let long = "Un message bien trop long";
    let err = e.client.send_whatsapp(&wa(long)).await.unwrap_err();
    assert!(matches!(err, Error::MessageTooLong(_)), "{err}");
    let to = Recipients::numbers(vec![e.phone("621234567")]).unwrap();
    let err = e
        .client
        .send_bulk_whatsapp(&SendBulkWhatsApp::new(
            e.wa(),
            "Long",
            text(long),
            to.clone(),
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MessageTooLong(_)), "{err}");
    let err = e
        .client
        .send_bulk_sms(&SendBulkSms::new(
            "Long",
            long,
            to,
            SmsRoute::device(e.online()),
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MessageTooLong(_)), "{err}");
    let otp = SendOtp::new(
        e.phone("621234567"),
        "Votre code de connexion est {{otp}}",
        OtpChannel::Sms {
            route: SmsRoute::device(e.online()),
        },
    );
    let err = e.client.send_otp(&otp).await.unwrap_err();
    assert!(matches!(err, Error::MessageTooLong(_)), "{err}");
    assert!(e.sim.ledger().is_empty());
}

#[tokio::test]
async fn infrastructure_failures_are_platform_errors_and_a_failed_gateway_row_is_listed() {
    let e = env().await;
    let twilio = e.gateway(false);
    e.sim
        .patch_platform(&json!({"gateways": {twilio.to_string(): {"provider_fails": true}}}))
        .unwrap();
    let req = SendSms::new(
        e.phone("621234567"),
        "Bonjour",
        SmsRoute::credits(Gateway::Id(twilio)),
    );
    let err = e.client.send_sms(&req).await.unwrap_err();
    assert!(matches!(err, Error::Platform(_)), "{err}");
    assert!(!err.is_ambiguous(), "a platform answer is not ambiguous");
    let sent = e.client.all_sent_messages().await.unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].status, SmsStatus::Failed);

    e.sim
        .patch_platform(&json!({"settings": {"push_configured": false}}))
        .unwrap();
    let err = e
        .client
        .send_sms(&e.sms("621234567", "Bonjour"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Platform(_)), "{err}");
    assert_eq!(err.platform_message(), Some("System configuration error!"));

    e.sim
        .patch_platform(&json!({"wa_servers": {e.fx.wa_server.to_string(): {"reachable": false}}}))
        .unwrap();
    let acc = e.client.all_whatsapp_accounts().await.unwrap();
    assert!(!acc.is_empty());
    assert!(acc.iter().all(|a| a.status == WaAccountStatus::Unknown));
    let err = e
        .client
        .send_whatsapp(&SendWhatsApp::new(
            e.wa(),
            WaRecipient::Phone(e.phone("621234567")),
            text("Bonjour"),
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Platform(_)), "{err}");
}

#[tokio::test]
async fn an_unknown_shortener_and_a_duplicate_contact_are_refused_with_their_exact_words() {
    let e = env().await;
    let req = e
        .sms("621234567", "https://example.com")
        .shortener(e.fx.shortener + 100);
    let err = e.client.send_sms(&req).await.unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
    assert_eq!(
        err.platform_message(),
        Some("Specified shortener doesn't exist!")
    );
    let existing = &e.fx.contacts[0];
    let phone = messagepro::Phone::parse_international(&existing.phone).unwrap();
    let dup = CreateContact::new("Doublon", phone, vec![e.fx.groups[0].id]).unwrap();
    let err = e.client.create_contact(&dup).await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    let missing_group = e.fx.groups.iter().map(|g| g.id).max().unwrap() + 1;
    let bad = CreateContact::new("Sans groupe", e.phone("621998877"), vec![missing_group]).unwrap();
    let err = e.client.create_contact(&bad).await.unwrap_err();
    assert_eq!(
        err.platform_message(),
        Some(format!("Group #{missing_group} is invalid!").as_str())
    );
    let err = e.client.create_group("ab").await.unwrap_err();
    assert!(matches!(err, Error::InvalidParameters(_)), "{err}");
}

#[tokio::test]
async fn a_short_qr_string_is_refused_when_the_image_is_asked() {
    let e = env().await;
    e.sim
        .patch_platform(&json!({"wa_servers": {e.fx.wa_server.to_string(): {"qr_len": 150}}}))
        .unwrap();
    let link = e.client.create_wa_link(e.fx.wa_server).await.unwrap();
    let err = e
        .client
        .get_wa_qr(&link.token().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidParameters(_)), "{err}");
}

#[tokio::test]
async fn bulk_whatsapp_accepts_group_jids_next_to_numbers() {
    let e = env().await;
    let gid = e.client.get_wa_groups(&e.wa()).await.unwrap()[0]
        .gid
        .clone();
    let to = Recipients::numbers(vec![e.phone("621234567")]).unwrap();
    let mut req = SendBulkWhatsApp::new(e.wa(), "Groupes", text("Bonjour"), to);
    req.group_jids = vec![gid.clone()];
    let r = e.client.send_bulk_whatsapp(&req).await.unwrap();
    assert_eq!(r.queued, Some(2));
    let recipients: HashSet<String> = e.sim.ledger().into_iter().map(|l| l.recipient).collect();
    assert!(recipients.contains(&gid));
    assert!(recipients.contains("+224621234567"));
}

#[tokio::test]
async fn a_campaign_is_completed_once_every_message_is_sent() {
    let e = env().await;
    let to = Recipients::numbers(vec![e.phone("621000001"), e.phone("621000002")]).unwrap();
    e.client
        .send_bulk_sms(&SendBulkSms::new(
            "Fini",
            "Bonjour",
            to.clone(),
            SmsRoute::device(e.online()),
        ))
        .await
        .unwrap();
    e.client
        .send_bulk_whatsapp(&SendBulkWhatsApp::new(
            e.wa(),
            "Fini WA",
            text("Bonjour"),
            to,
        ))
        .await
        .unwrap();
    assert_eq!(
        e.client.all_sms_campaigns().await.unwrap()[0].status,
        messagepro::CampaignStatus::Running
    );
    e.sim.process_queue();
    assert_eq!(
        e.client.all_sms_campaigns().await.unwrap()[0].status,
        messagepro::CampaignStatus::Completed
    );
    assert_eq!(
        e.client
            .get_wa_campaigns(PageRequest::first(5))
            .await
            .unwrap()[0]
            .status,
        messagepro::CampaignStatus::Completed
    );
}

#[tokio::test]
async fn an_otp_through_a_gateway_is_never_charged() {
    let e = env().await;
    let before = e.credits().await;
    let req = SendOtp::new(
        e.phone("621234567"),
        "Code {{otp}}",
        OtpChannel::Sms {
            route: SmsRoute::credits(Gateway::Id(e.gateway(false))),
        },
    );
    let sent = e.client.send_otp(&req).await.unwrap();
    e.sim.process_queue();
    assert_eq!(
        e.credits().await,
        before,
        "Q17: OTP gateway sends never deduct"
    );
    e.client.verify_otp(&sent.otp.expose()).await.unwrap();
}

#[tokio::test]
async fn probes_survive_an_account_without_package_and_refuse_unprobeable_names() {
    let e = env().await;
    e.sim
        .patch_platform(&json!({"accounts": {e.fx.user_id.to_string(): {"package": null}}}))
        .unwrap();
    assert!(e.client.probe_permission("get_subscription").await.unwrap());
    assert!(e.client.probe_permission("sms_send").await.unwrap());
    let err = e
        .client
        .probe_permission("clear_ussd_pending")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    let nothing = "3333333333333333333333333333333333333333";
    e.sim.set_key(nothing, Some(vec![]), None);
    let granted = probe_all(&client_for(&e.sim, nothing)).await;
    assert!(granted.is_empty(), "{granted:?}");
    let unknown = client_for(&e.sim, "4444444444444444444444444444444444444444");
    let err = unknown.probe_permission("sms_send").await.unwrap_err();
    assert!(matches!(err, Error::InvalidSecret(_)), "{err}");
}

#[tokio::test]
async fn listed_objects_carry_every_documented_field_in_the_documented_shape() {
    let e = env().await;
    let usage: HashSet<String> = e
        .client
        .get_subscription()
        .await
        .unwrap()
        .usage
        .into_keys()
        .collect();
    let documented: HashSet<String> = [
        "sms_send",
        "sms_receive",
        "ussd",
        "notifications",
        "contacts",
        "devices",
        "apikeys",
        "webhooks",
        "actions",
        "scheduled",
        "wa_send",
        "wa_receive",
        "wa_accounts",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(usage, documented);

    let devices = e.client.all_devices().await.unwrap();
    for d in &devices {
        assert!(
            d.version.starts_with("Android ") || d.version == "Unknown",
            "{}",
            d.version
        );
        assert!(!d.manufacturer.is_empty());
        assert!(d.created > 1_600_000_000);
        assert_eq!(d.partner_country.len(), 2);
        assert!(!d.notification_packages.is_empty());
    }

    let rates = e.client.get_rates().await.unwrap();
    let p = rates
        .partners
        .iter()
        .find(|p| p.unique == e.partner())
        .unwrap();
    assert_eq!(p.owner, "partner@example.com");
    assert!(
        matches!(p.status.as_str(), "online" | "offline"),
        "{}",
        p.status
    );
    assert!(!p.sim.is_empty());
    assert_eq!(p.currency, "GNF");

    let servers = e.client.get_wa_servers().await.unwrap();
    let s = servers.iter().find(|s| s.id == e.fx.wa_server).unwrap();
    assert_eq!(s.status, "online", "the server has connected accounts");
    assert!(s.available);

    e.client
        .send_sms(&e.sms("621234567", "Bonjour"))
        .await
        .unwrap();
    e.sim.process_queue();
    let sent = e.client.all_sent_messages().await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((sent[0].created - now).abs() < 3600, "Unix seconds");
    assert_eq!(sent[0].status_code, "SMS_DELIVERED");
}

#[tokio::test]
async fn received_items_keep_alphanumeric_senders_and_chat_attachments() {
    let e = env().await;
    let id = e
        .sim
        .inject_sms(None, "OrangeMoney", "Vous avez recu 5000 GNF")
        .unwrap();
    let rx = e.client.all_received_messages().await.unwrap();
    assert_eq!(
        rx.iter().find(|m| m.id == id).unwrap().sender,
        "OrangeMoney"
    );
    let url = "https://example.com/recu.jpg".to_string();
    let id = e
        .sim
        .inject_chat(None, "+224655001122", "Photo", Some(url.clone()))
        .unwrap();
    let chats = e.client.all_received_chats().await.unwrap();
    let c = chats.iter().find(|c| c.id == id).unwrap();
    assert!(c.attachment.is_some(), "attachment kept");
    assert_eq!(c.account, e.fx.whatsapp.as_ref().unwrap().connected.phone);
}

#[tokio::test]
async fn a_reset_connection_fails_the_send_without_storing_it() {
    let e = env().await;
    e.sim.set_faults(Faults {
        reset_rate: 1.0,
        ..Faults::default()
    });
    let err = e
        .client
        .send_sms(&e.sms("621234567", "Bonjour"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err}");
    // The client cannot tell a reset before processing from one after: it must reconcile.
    assert!(err.is_ambiguous());
    assert!(e.sim.ledger().is_empty());
}

#[tokio::test]
async fn escaping_is_undone_exactly_once_and_urls_are_kept_verbatim() {
    let e = env().await;
    for t in [
        "a &amp; b",
        "https://example.com/?a=1&b=2",
        "awa@example.com",
        "5 < 6 > 4",
    ] {
        e.client.send_sms(&e.sms("621234567", t)).await.unwrap();
    }
    let pending = e.client.all_pending_messages().await.unwrap();
    let texts: HashSet<&str> = pending.iter().map(|m| m.message.as_str()).collect();
    for t in [
        "a &amp; b",
        "https://example.com/?a=1&b=2",
        "awa@example.com",
        "5 < 6 > 4",
    ] {
        assert!(texts.contains(t), "{t} round-trips");
    }
    let stored: HashSet<String> = e.sim.ledger().into_iter().map(|l| l.text).collect();
    assert!(
        stored.contains("https://example.com/?a=1&b=2"),
        "URL not escaped"
    );
    assert!(stored.contains("a &amp;amp; b"));

    e.client.create_group("L'équipe \"A\"").await.unwrap();
    let groups = e.client.all_groups().await.unwrap();
    assert!(groups.iter().any(|g| g.name == "L'équipe \"A\""));
}

#[tokio::test]
async fn uploads_with_a_bad_extension_are_refused_for_single_and_bulk_chats() {
    let e = env().await;
    let bad = WaContent::Media {
        caption: "Virus".into(),
        source: MediaSource::File {
            name: "setup.exe".into(),
            bytes: b"MZ".to_vec(),
        },
    };
    let err = e
        .client
        .send_whatsapp(&SendWhatsApp::new(
            e.wa(),
            WaRecipient::Phone(e.phone("621234567")),
            bad.clone(),
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidParameters(_)), "{err}");
    assert_eq!(err.status(), Some(400));
    let to = Recipients::numbers(vec![e.phone("621234567")]).unwrap();
    let err = e
        .client
        .send_bulk_whatsapp(&SendBulkWhatsApp::new(e.wa(), "Fichier", bad, to.clone()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidParameters(_)), "{err}");
    assert_eq!(err.status(), Some(400), "a bad extension stays 400 in bulk");

    let good = WaContent::Document {
        caption: "Tarifs".into(),
        source: DocumentSource::File {
            name: "tarifs.xlsx".into(),
            bytes: b"PK\x03\x04".to_vec(),
        },
    };
    let r = e
        .client
        .send_bulk_whatsapp(&SendBulkWhatsApp::new(e.wa(), "Fichier", good, to))
        .await
        .unwrap();
    assert_eq!(r.queued, Some(1));
    let camp = e
        .client
        .get_wa_campaigns(PageRequest::first(5))
        .await
        .unwrap();
    assert_eq!(camp[0].kind, "document");
}

#[tokio::test]
async fn campaign_controls_refuse_campaigns_that_are_not_the_callers() {
    let e = env().await;
    // An id no fixture object has (the fixture has no campaign at all).
    let unknown = u64::from(u32::MAX);
    let err = e.client.stop_sms_campaign(unknown).await.unwrap_err();
    assert!(matches!(err, Error::InvalidParameters(_)), "{err}");
    let err = e.client.start_wa_campaign(unknown).await.unwrap_err();
    assert!(matches!(err, Error::InvalidParameters(_)), "{err}");
    let err = e.client.delete_wa_campaign(unknown).await.unwrap_err();
    assert!(matches!(err, Error::InvalidParameters(_)), "{err}");
    // Deletes of unknown ids still answer success (§2.4).
    e.client.delete_contact(unknown).await.unwrap();
    e.client.delete_sent_message(unknown).await.unwrap();
}

#[tokio::test]
async fn deleting_a_whatsapp_account_checks_no_permission_but_does_check_ownership() {
    let e = env().await;
    let restricted = client_for(&e.sim, &e.fx.secrets.restricted);
    let err = restricted
        .delete_wa_account("no-such-account")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::WhatsAppAccountNotFound(_)), "{err}");
    // §1.3: delete/wa.account is the one endpoint without a permission check.
    let ack = restricted.delete_wa_account(&e.wa_off()).await.unwrap();
    assert_eq!(ack.message, "WhatsApp account has been deleted!");
    let left = e.client.all_whatsapp_accounts().await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].unique, e.wa());
}

#[tokio::test]
async fn concurrent_sends_through_one_client_are_each_stored_once() {
    let e = env().await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let client = e.client.clone();
        let req = e.sms(&format!("6210300{i:02}"), &format!("Message {i}"));
        tasks.spawn(async move { client.send_sms(&req).await });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap().unwrap();
    }
    let ledger = e.sim.ledger();
    assert_eq!(ledger.len(), 20);
    assert!(ledger.iter().all(|l| l.submissions == 1));
    let pending = e.client.all_pending_messages().await.unwrap();
    let ids: HashSet<u64> = pending.iter().map(|m| m.id).collect();
    assert_eq!(ids.len(), 20);
}

#[tokio::test]
async fn a_mexican_whatsapp_recipient_gets_the_extra_one() {
    let e = env().await;
    let mx = messagepro::Phone::parse_international("+52 55 1234 5678").unwrap();
    e.client
        .send_whatsapp(&SendWhatsApp::new(
            e.wa(),
            WaRecipient::Phone(mx.clone()),
            text("Hola"),
        ))
        .await
        .unwrap();
    let chats = e
        .client
        .get_pending_chats(PageRequest::first(5))
        .await
        .unwrap();
    assert_eq!(chats[0].recipient, "+5215512345678");
    // SMS keep the number as parsed.
    e.client
        .send_sms(&SendSms::new(mx, "Hola", SmsRoute::device(e.online())))
        .await
        .unwrap();
    let sms = e.client.all_pending_messages().await.unwrap();
    assert_eq!(sms[0].recipient, "+525512345678");
}
