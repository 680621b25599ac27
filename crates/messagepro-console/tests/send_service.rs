//! The console's use of the delivery engine (`messagepro-core`): sends, campaigns, OTP and
//! reconciliation through `AppState::core`, against the in-process simulator.

mod helpers;

use std::collections::BTreeSet;
use std::sync::Arc;

use helpers::messaging::{
    SimApp, spawn_app_with_sim, spawn_app_with_sim_and_sync, spawn_app_with_sim_no_workers,
};
use messagepro::{OtpChannel, Phone, SmsRoute};
use messagepro_console::guard::CurrentUser;
use messagepro_console::send::user_message;
use messagepro_console::send::{CampaignRequest, FailCause, SendChannel, SendError, SendRequest};
use messagepro_console::{I18n, Lang, Permission};
use messagepro_core::Actor;
use messagepro_core::otp::OtpRequest;
use messagepro_sim::Faults;
use messagepro_store::{AuditFilter, CampaignStatus, Message, MessageFilter, MessageStatus, Page};

async fn user(app: &SimApp, permissions: &[Permission]) -> Actor {
    let u = app.create_user("operateur").await;
    CurrentUser {
        id: u.id,
        username: u.username,
        role: "operateur".into(),
        permissions: permissions.iter().copied().collect::<BTreeSet<_>>(),
        language: None,
    }
    .actor(None)
}

fn uid(a: &Actor) -> i64 {
    a.user_id().unwrap()
}

fn phone(s: &str) -> Phone {
    Phone::parse(s, "GN").unwrap()
}

async fn messages(app: &SimApp) -> Vec<Message> {
    let mut m = app
        .store
        .list_messages(&MessageFilter::default(), Page::first(100))
        .await
        .unwrap();
    m.reverse();
    m
}

#[tokio::test]
async fn a_send_is_recorded_with_its_audit_entry_even_when_the_platform_cannot_be_reached() {
    let app = spawn_app_with_sim_no_workers().await;
    let u = user(&app, &[Permission::SendSms]).await;
    let unreachable = messagepro::Client::builder()
        .base_url("http://127.0.0.1:1")
        .secret("whatever-secret")
        .read_retries(0)
        .build()
        .unwrap();
    let settings = messagepro_core::CoreSettings {
        max_attempts: 2,
        reconcile_every: None,
        policy: messagepro_core::policy::PolicySettings::unrestricted(),
        ..Default::default()
    };
    let core = messagepro_core::Core::new(
        app.store.clone(),
        unreachable,
        settings,
        Arc::new(app.clock.clone()),
    );
    let req = SendRequest::sms(phone("621234567"), "Bonjour", SmsRoute::device("dev"));
    // connection refused: certainly not sent, so it waits for a retry instead of failing
    let out = core.submit(&u, req).await.unwrap();
    assert_eq!(out.status, MessageStatus::Queued);
    app.clock.advance(std::time::Duration::from_secs(10));
    core.drain().await.unwrap();
    let ms = messages(&app).await;
    assert_eq!(ms.len(), 1, "the attempt is not lost");
    assert_eq!(
        ms[0].status,
        MessageStatus::Failed,
        "after the last attempt"
    );
    assert_eq!(
        ms[0].platform_message.as_deref(),
        Some("send.error.unreachable")
    );
    assert_eq!(ms[0].recipient, "+224621234567");
    assert_eq!(ms[0].created_by, Some(uid(&u)));
    let job = app.store.job_of_message(ms[0].id).await.unwrap().unwrap();
    assert_eq!(job.attempt, 2);
    let audit = app
        .store
        .list_audit(
            &AuditFilter {
                action: Some("sms.send".into()),
                ..Default::default()
            },
            Page::first(10),
        )
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].target.as_deref(), Some("+224621234567"));
    assert_eq!(audit[0].detail, Some(format!("message {}", ms[0].id)));
    app.cleanup().await;
}

#[tokio::test]
async fn a_channel_the_role_does_not_grant_is_refused_and_nothing_is_recorded() {
    let app = spawn_app_with_sim().await;
    let u = user(&app, &[Permission::SendSms, Permission::MessagingRead]).await;
    let req = OtpRequest {
        phone: phone("621234567"),
        purpose: "test".into(),
        template: "Code {{otp}}".into(),
        channel: OtpChannel::Sms {
            route: SmsRoute::device(app.online_device()),
        },
        lifetime_s: 300,
    };
    let err = app.state.core.otp_send(&u, req).await.unwrap_err();
    assert!(matches!(err, SendError::Forbidden));
    assert!(messages(&app).await.is_empty());
    assert!(app.sim.ledger().is_empty());
    app.cleanup().await;
}

#[tokio::test]
async fn an_answer_lost_after_the_platform_accepted_is_unknown_then_reconciled_without_resending() {
    let app = spawn_app_with_sim().await;
    let u = user(&app, &[Permission::SendSms]).await;
    app.sim.set_faults(Faults {
        drop_after_accept_rate: 1.0,
        ..Default::default()
    });
    let req = SendRequest::sms(
        phone("621234567"),
        "Commande prête",
        SmsRoute::device(app.online_device()),
    );
    let out = app.state.core.submit(&u, req).await.unwrap();
    assert_eq!(out.status, MessageStatus::Unknown);
    assert_eq!(app.sim.ledger().len(), 1, "the platform did accept it");
    app.sim.set_faults(Faults::default());

    let r = app.sync().await;
    assert_eq!((r.checked, r.updated), (1, 1));
    assert_eq!(messages(&app).await[0].status, MessageStatus::Pending);
    app.sim.process_queue();
    app.sync().await;
    let m = &messages(&app).await[0];
    assert_eq!(m.status, MessageStatus::Sent);
    assert_eq!(app.sim.ledger().len(), 1, "never sent twice");
    app.cleanup().await;
}

#[tokio::test]
async fn identical_messages_are_matched_one_to_one() {
    let app = spawn_app_with_sim().await;
    let u = user(&app, &[Permission::SendSms]).await;
    for _ in 0..2 {
        let req = SendRequest::sms(
            phone("621234567"),
            "Même texte",
            SmsRoute::device(app.online_device()),
        );
        app.state.core.submit(&u, req).await.unwrap();
    }
    app.sim.process_queue();
    assert_eq!(app.sync().await.updated, 2);
    let ms = messages(&app).await;
    assert!(ms.iter().all(|m| m.status == MessageStatus::Sent));
    assert_ne!(ms[0].platform_id, ms[1].platform_id);
    app.cleanup().await;
}

#[tokio::test]
async fn an_otp_is_recorded_as_its_template_never_with_its_code_and_is_reconciled() {
    let app = spawn_app_with_sim().await;
    let u = user(&app, &[Permission::SendOtp]).await;
    let req = OtpRequest {
        phone: phone("621234567"),
        purpose: "test".into(),
        template: "Votre code : {{otp}}".into(),
        channel: OtpChannel::Sms {
            route: SmsRoute::device(app.online_device()),
        },
        lifetime_s: 300,
    };
    let out = app.state.core.otp_send(&u, req).await.unwrap();
    assert_eq!(out.status, MessageStatus::Pending);
    let ledger = app.sim.ledger();
    let code: String = ledger[0]
        .text
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    assert_eq!(code.len(), 6, "{:?}", ledger[0].text);
    let ms = messages(&app).await;
    assert_eq!(ms[0].text, "Votre code : {{otp}}");
    assert!(!format!("{ms:?}").contains(&code), "code stored");
    let audit = app
        .store
        .list_audit(&AuditFilter::default(), Page::first(100))
        .await
        .unwrap();
    assert!(!format!("{audit:?}").contains(&code), "code audited");

    app.sim.process_queue();
    assert_eq!(app.sync().await.updated, 1);
    assert_eq!(messages(&app).await[0].status, MessageStatus::Sent);
    app.state
        .core
        .otp_verify(&u, &phone("621234567"), "test", &code)
        .await
        .expect("the code sent verifies");
    app.cleanup().await;
}

#[tokio::test]
async fn a_campaign_records_every_row_first_and_the_sync_finishes_it() {
    let app = spawn_app_with_sim().await;
    let u = user(&app, &[Permission::SendSms]).await;
    let req = CampaignRequest {
        name: "Rentrée".into(),
        text: "Bonne rentrée".into(),
        numbers: vec![phone("621234567"), phone("622112233")],
        groups: vec![],
        columns: Default::default(),
        start_ms: None,
        channel: SendChannel::Sms {
            route: SmsRoute::device(app.online_device()),
        },
    };
    let out = app.state.core.submit_campaign(&u, req).await.unwrap();
    assert_eq!(out.campaign.total, 2);
    // recorded in one transaction, then sent by the worker of the running console
    app.settle().await;
    let ms = messages(&app).await;
    assert_eq!(ms.len(), 2);
    assert!(
        ms.iter()
            .all(|m| m.status == MessageStatus::Pending && m.campaign_id == Some(out.campaign.id))
    );
    app.sim.process_queue();
    assert_eq!(app.sync().await.updated, 2);
    let c = app
        .store
        .campaign_by_id(out.campaign.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.status, CampaignStatus::Done);
    app.cleanup().await;
}

#[test]
fn platform_errors_become_sentences_in_both_languages() {
    let i18n = I18n::new();
    let e = SendError::Failed {
        message_id: 1,
        cause: FailCause::Platform(messagepro::Error::from_platform(
            403,
            "Not enough credits to send this message!",
        )),
    };
    assert!(user_message(&e, &i18n, Lang::Fr).starts_with("Crédits insuffisants"));
    assert!(user_message(&e, &i18n, Lang::En).starts_with("Not enough credits"));
    let other = SendError::Failed {
        message_id: 1,
        cause: FailCause::Platform(messagepro::Error::from_platform(400, "Something odd!")),
    };
    let fr = user_message(&other, &i18n, Lang::Fr);
    assert!(
        fr.contains("Something odd!") && !fr.contains("{detail}"),
        "{fr}"
    );
}

#[tokio::test]
async fn a_whatsapp_chat_is_reconciled_from_the_chat_lists() {
    let app = spawn_app_with_sim().await;
    let u = user(&app, &[Permission::SendWhatsapp]).await;
    let account = app.fixture().whatsapp.unwrap().connected.unique;
    let req = SendRequest {
        channel: SendChannel::WhatsApp {
            account,
            content: messagepro::WaContent::Text("Salut".into()),
            priority: false,
        },
        recipient: phone("621234567"),
        text: "Salut".into(),
    };
    let out = app.state.core.submit(&u, req).await.unwrap();
    assert_eq!(out.status, MessageStatus::Pending);
    assert_eq!(app.sync().await.updated, 0, "still pending on the platform");
    assert!(
        messages(&app).await[0].platform_id.is_some(),
        "matched in the pending list"
    );
    app.sim.process_queue();
    assert_eq!(app.sync().await.updated, 1);
    assert_eq!(messages(&app).await[0].status, MessageStatus::Sent);
    app.cleanup().await;
}

#[tokio::test]
async fn the_background_worker_moves_pending_messages_to_sent() {
    let app = spawn_app_with_sim_and_sync(Some(std::time::Duration::from_millis(50))).await;
    let u = user(&app, &[Permission::SendSms]).await;
    let req = SendRequest::sms(
        phone("621234567"),
        "Par le worker",
        SmsRoute::device(app.online_device()),
    );
    app.state.core.submit(&u, req).await.unwrap();
    app.sim.process_queue();
    let mut status = MessageStatus::Pending;
    for _ in 0..100 {
        status = messages(&app).await[0].status;
        if status == MessageStatus::Sent {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(status, MessageStatus::Sent);
    app.cleanup().await;
}

#[tokio::test]
async fn the_sync_reads_past_the_first_page_of_a_long_sent_list() {
    let app = spawn_app_with_sim().await;
    let u = user(&app, &[Permission::SendSms]).await;
    let numbers: Vec<Phone> = (0..250)
        .map(|i| phone(&format!("62{}", 1_000_000 + i)))
        .collect();
    let req = CampaignRequest {
        name: "Longue liste".into(),
        text: "Bonjour à tous".into(),
        numbers,
        groups: vec![],
        columns: Default::default(),
        start_ms: None,
        channel: SendChannel::Sms {
            route: SmsRoute::device(app.online_device()),
        },
    };
    app.state.core.submit_campaign(&u, req).await.unwrap();
    app.settle().await;
    app.sim.process_queue();
    let r = app.sync().await;
    assert_eq!((r.checked, r.updated), (250, 250));
    let sent = app
        .store
        .count_messages(&MessageFilter {
            status: Some(MessageStatus::Sent),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(sent, 250);
    app.cleanup().await;
}
