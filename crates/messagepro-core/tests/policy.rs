//! The send policy against the in-process simulator, with an injected clock: quiet hours in the
//! recipient's time zone (a Conakry and a Paris number each on their own clock; OTP and single
//! sends not delayed), opt-out on every path (a campaign to a group, a single send, a keyword
//! texted back through the simulator's inbound SMS, START restoring), per-recipient templates
//! (`{{contact.name}}`, a missing value blocking at preview and at submit), scheduled
//! campaigns that start on time after a restart, and a device rate never exceeded with two
//! workers on one database. SQLite, and PostgreSQL when `MESSAGEPRO_TEST_DATABASE_URL` is set.

use std::sync::Arc;
use std::time::Duration;

use messagepro::{OtpChannel, Phone, SmsRoute};
use messagepro_core::otp::OtpRequest;
use messagepro_core::policy::{PolicySettings, Rate};
use messagepro_core::{
    Actor, CampaignRequest, Core, CoreSettings, ManualClock, SendChannel, SendError, SendRequest,
    SystemClock, Worker,
};
use messagepro_sim::{SimHandle, Simulator};
use messagepro_store::{MessageFilter, MessageStatus, Page, Store};

const SECRET: &str = "policy-test-secret-0123456789";

/// 2026-07-01 00:00 UTC.
const JULY_1: i64 = 1_782_864_000_000;
const HOUR: i64 = 3_600_000;

struct Env {
    sim: SimHandle,
    store: Store,
    clock: ManualClock,
    core: Core,
    schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

mod common;

async fn store() -> (Store, Option<String>, Option<tempfile::TempDir>) {
    common::store("p").await
}

fn client(sim: &SimHandle) -> messagepro::Client {
    common::client(sim, SECRET, Duration::from_secs(5))
}

fn settings(policy: PolicySettings) -> CoreSettings {
    CoreSettings {
        lease: Duration::from_secs(30),
        reconcile_every: None,
        inline_wait: Duration::from_secs(5),
        otp_key: CoreSettings::otp_key_from_secret(SECRET),
        policy,
        ..Default::default()
    }
}

async fn env_at(now_ms: i64, policy: PolicySettings) -> Env {
    let sim = Simulator::builder()
        .auto_progress(false)
        .secret(SECRET.to_owned())
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let (store, schema, dir) = store().await;
    let clock = ManualClock::at(now_ms);
    let core = Core::new(
        store.clone(),
        client(&sim),
        settings(policy),
        Arc::new(clock.clone()),
    );
    Env {
        sim,
        store,
        clock,
        core,
        schema,
        _dir: dir,
    }
}

impl Env {
    fn device(&self) -> String {
        self.sim.fixture().devices.unwrap().online.unique
    }
    fn sms(&self) -> SendChannel {
        SendChannel::Sms {
            route: SmsRoute::device(self.device()),
        }
    }
    /// Local rows by recipient: (status, reason).
    async fn rows(&self) -> Vec<(String, MessageStatus, Option<String>, String)> {
        let mut v: Vec<_> = self
            .store
            .list_messages(&MessageFilter::default(), Page::first(1_000))
            .await
            .unwrap()
            .into_iter()
            .map(|m| (m.recipient, m.status, m.platform_message, m.text))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }
    fn sent_to(&self) -> Vec<String> {
        let mut v: Vec<_> = self.sim.ledger().into_iter().map(|e| e.recipient).collect();
        v.sort();
        v
    }
    async fn cleanup(self) {
        if let Some(s) = &self.schema {
            self.store.drop_schema(s).await.unwrap();
        }
        self.sim.shutdown().await;
    }
}

fn system() -> Actor {
    Actor::System { name: "test" }
}

fn phone(s: &str) -> Phone {
    Phone::parse(s, "GN").unwrap()
}

fn campaign(env: &Env, text: &str, numbers: Vec<Phone>) -> CampaignRequest {
    CampaignRequest::new("Soldes", text, numbers, env.sms())
}

/// Digits of a ledger recipient (the simulator stores what it was given).
fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

#[tokio::test]
async fn a_promotional_sms_at_23h_waits_until_8h_local_and_an_otp_does_not() {
    let env = env_at(JULY_1 + 23 * HOUR, PolicySettings::default()).await;
    let conakry = phone("+224621000101");
    env.core
        .submit_campaign(&system(), campaign(&env, "Promo", vec![conakry.clone()]))
        .await
        .unwrap();
    // a single SMS and an OTP at the same minute are transactional: sent now
    env.core
        .accept(
            &system(),
            &SendRequest::sms(
                phone("+224621000102"),
                "Votre commande",
                SmsRoute::device(env.device()),
            ),
        )
        .await
        .unwrap();
    let token = Actor::Token {
        id: 1,
        name: "app".into(),
        scopes: ["otp".to_owned()].into(),
        ip: None,
    };
    env.core
        .otp_send(
            &token,
            OtpRequest {
                phone: phone("+224621000103"),
                purpose: "login".into(),
                template: "Code : {{otp}}".into(),
                channel: OtpChannel::Sms {
                    route: SmsRoute::device(env.device()),
                },
                lifetime_s: 300,
            },
        )
        .await
        .unwrap();
    env.core.drain().await.unwrap();
    let sent: Vec<String> = env.sent_to().iter().map(|r| digits(r)).collect();
    assert_eq!(
        sent,
        ["224621000102", "224621000103"],
        "OTP and single SMS not delayed"
    );
    let job = |e164: &'static str| {
        let store = env.store.clone();
        async move {
            let m = store
                .list_messages(&MessageFilter::default(), Page::first(10))
                .await
                .unwrap()
                .into_iter()
                .find(|m| m.recipient == e164)
                .unwrap();
            (m.status, store.job_of_message(m.id).await.unwrap().unwrap())
        }
    };
    let (status, j) = job("+224621000101").await;
    assert_eq!(status, MessageStatus::Queued);
    assert_eq!(
        j.run_at_ms,
        JULY_1 + 32 * HOUR,
        "08:00 next morning, Conakry"
    );
    assert_eq!(j.attempt, 0, "waiting is not an attempt");
    assert_eq!(j.last_error.as_deref(), Some("quiet hours"));
    // 07:59: still waiting; 08:00: sent
    env.clock.set(JULY_1 + 32 * HOUR - 60_000);
    env.core.drain().await.unwrap();
    assert_eq!(env.sim.ledger().len(), 2);
    env.clock.set(JULY_1 + 32 * HOUR);
    env.core.drain().await.unwrap();
    assert_eq!(env.sim.ledger().len(), 3);
    assert_eq!(job("+224621000101").await.0, MessageStatus::Pending);
    env.cleanup().await;
}

#[tokio::test]
async fn a_paris_number_and_a_conakry_number_in_one_campaign_follow_their_own_clocks() {
    // 19:30 UTC in July: 19:30 in Conakry (allowed), 21:30 in Paris (quiet until 08:00 CEST)
    let env = env_at(JULY_1 + 19 * HOUR + HOUR / 2, PolicySettings::default()).await;
    let paris = Phone::parse("+33612345678", "GN").unwrap();
    let conakry = phone("+224621000201");
    env.core
        .submit_campaign(
            &system(),
            campaign(&env, "Promo", vec![paris.clone(), conakry]),
        )
        .await
        .unwrap();
    env.core.drain().await.unwrap();
    let sent: Vec<String> = env.sent_to().iter().map(|r| digits(r)).collect();
    assert_eq!(sent, ["224621000201"]);
    // 06:00 UTC = 08:00 in Paris
    env.clock.set(JULY_1 + 30 * HOUR - 1);
    env.core.drain().await.unwrap();
    assert_eq!(env.sim.ledger().len(), 1, "07:59:59.999 in Paris");
    env.clock.set(JULY_1 + 30 * HOUR);
    env.core.drain().await.unwrap();
    assert_eq!(env.sim.ledger().len(), 2);
    env.cleanup().await;
}

#[tokio::test]
async fn an_opted_out_contact_in_a_group_receives_nothing_and_is_recorded_skipped() {
    let env = env_at(JULY_1 + 12 * HOUR, PolicySettings::default()).await;
    let fx = env.sim.fixture();
    let group = fx.groups[0].id;
    let members: Vec<Phone> = fx
        .contacts
        .iter()
        .filter(|c| c.groups.contains(&group))
        .map(|c| Phone::parse(&c.phone, "GN").unwrap())
        .collect();
    assert!(members.len() >= 2, "the fixture's group has members");
    let out_of = members[0].clone();
    assert!(
        env.core
            .opt_out(&system(), &out_of, Some("asked by phone"))
            .await
            .unwrap()
    );
    // a campaign to the group
    let mut req = campaign(&env, "Promo VIP", vec![]);
    req.groups = vec![group];
    let preview = env.core.preview_campaign(&req).await.unwrap();
    assert_eq!((preview.recipients, preview.opted_out), (members.len(), 1));
    let out = env.core.submit_campaign(&system(), req).await.unwrap();
    assert_eq!(
        (out.recipients, out.queued, out.opted_out),
        (members.len(), members.len() - 1, 1)
    );
    env.core.drain().await.unwrap();
    let sent = env.sent_to();
    assert_eq!(sent.len(), members.len() - 1);
    assert!(
        !sent.iter().any(|r| digits(r) == digits(out_of.e164())),
        "{sent:?}"
    );
    let rows = env.rows().await;
    let skipped: Vec<_> = rows
        .iter()
        .filter(|r| r.1 == MessageStatus::Skipped)
        .collect();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].0, out_of.e164());
    assert_eq!(skipped[0].2.as_deref(), Some("skip.opted_out"));
    // a single send (what the console, the CLI and the API all call)
    let single = env
        .core
        .submit(
            &system(),
            SendRequest::sms(out_of.clone(), "Bonjour", SmsRoute::device(env.device())),
        )
        .await;
    let Err(SendError::OptedOut { message_id }) = single else {
        panic!("refused: {single:?}")
    };
    let m = env.store.message_by_id(message_id).await.unwrap().unwrap();
    assert_eq!(m.status, MessageStatus::Skipped);
    assert_eq!(
        env.sim.ledger().len(),
        members.len() - 1,
        "nothing more left"
    );
    // opted out after a send was queued: skipped at dispatch
    let later = phone("+224621000301");
    env.core
        .accept(
            &system(),
            &SendRequest::sms(later.clone(), "Plus tard", SmsRoute::device(env.device())),
        )
        .await
        .unwrap();
    env.core.opt_out(&system(), &later, None).await.unwrap();
    env.core.drain().await.unwrap();
    assert_eq!(env.sim.ledger().len(), members.len() - 1);
    let rows = env.rows().await;
    let r = rows.iter().find(|r| r.0 == later.e164()).unwrap();
    assert_eq!(
        (r.1, r.2.as_deref()),
        (MessageStatus::Skipped, Some("skip.opted_out"))
    );
    // an actor without manage_contacts cannot opt anyone in or out
    let token = Actor::Token {
        id: 1,
        name: "app".into(),
        scopes: ["messages:send".to_owned()].into(),
        ip: None,
    };
    assert!(matches!(
        env.core.opt_in(&token, &later).await,
        Err(SendError::Forbidden)
    ));
    env.cleanup().await;
}

#[tokio::test]
async fn stop_texted_back_suppresses_within_one_sync_period_and_start_restores() {
    let policy = PolicySettings {
        suppression_sync_every: Some(Duration::from_millis(100)),
        ..Default::default()
    };
    let env = env_at(JULY_1 + 12 * HOUR, policy).await;
    let worker = Worker::new(env.core.clone()).spawn();
    let who = phone("+224621000401");
    let other = phone("+224621000402");
    env.sim
        .inject_sms(None, who.e164(), "Bonjour, merci")
        .unwrap();
    env.sim.inject_sms(None, other.e164(), "Arrêt !").unwrap();
    let wait = |p: Phone, want: bool| {
        let core = env.core.clone();
        async move {
            for _ in 0..100 {
                if core.is_suppressed(p.e164()).await.unwrap() == want {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("{p} suppressed != {want} after 5 s");
        }
    };
    wait(other.clone(), true).await;
    assert!(
        !env.core.is_suppressed(who.e164()).await.unwrap(),
        "not a keyword"
    );
    env.sim.inject_sms(None, who.e164(), "stop").unwrap();
    wait(who.clone(), true).await;
    // "stop" is on the platform's own list too; "Arrêt" only we understand
    let e = env.store.suppression(other.e164()).await.unwrap().unwrap();
    assert_eq!(
        (e.source.as_str(), e.reason.as_deref()),
        ("inbound", Some("Arrêt"))
    );
    // a campaign now skips both
    let out = env
        .core
        .submit_campaign(
            &system(),
            campaign(&env, "Promo", vec![who.clone(), other.clone()]),
        )
        .await
        .unwrap();
    assert_eq!(out.opted_out, 2);
    // START restores, on our list and on the platform's
    env.sim.inject_sms(None, who.e164(), "START").unwrap();
    wait(who.clone(), false).await;
    // the platform's row is deleted right after our own (a busy machine can see between)
    let mut still: Vec<String> = Vec::new();
    for _ in 0..250 {
        still = env
            .core
            .platform()
            .all_unsubscribed()
            .await
            .unwrap()
            .into_iter()
            .map(|u| digits(&u.phone))
            .collect();
        if !still.contains(&digits(who.e164())) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!still.contains(&digits(who.e164())), "{still:?}");
    // and it stays restored over later passes
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!env.core.is_suppressed(who.e164()).await.unwrap());
    assert!(env.core.is_suppressed(other.e164()).await.unwrap());
    worker.shutdown().await;
    env.cleanup().await;
}

#[tokio::test]
async fn contact_names_render_per_recipient_and_a_missing_one_blocks_at_preview() {
    let env = env_at(JULY_1 + 12 * HOUR, PolicySettings::default()).await;
    let now = JULY_1;
    env.store
        .insert_contact("Aïssatou", "+224621000501", now)
        .await
        .unwrap();
    env.store
        .insert_contact("Mamadou", "+224621000502", now)
        .await
        .unwrap();
    let named = vec![phone("+224621000501"), phone("+224621000502")];
    let mut req = campaign(
        &env,
        "Bonjour {{contact.name}}, réf {{col.ref}}",
        named.clone(),
    );
    req.columns
        .insert("+224621000501".into(), vec![("Ref".into(), "A-1".into())]);
    req.columns
        .insert("+224621000502".into(), vec![("ref".into(), "B-2".into())]);
    let p = env.core.preview_campaign(&req).await.unwrap();
    assert_eq!(p.missing, None);
    assert_eq!(
        p.examples,
        [
            (
                "+224621000501".to_string(),
                "Bonjour Aïssatou, réf A-1".to_string()
            ),
            (
                "+224621000502".to_string(),
                "Bonjour Mamadou, réf B-2".to_string()
            )
        ]
    );
    // one more number that is nobody's contact: its name is missing — at preview and submit
    let mut with_stranger = req.clone();
    with_stranger.numbers.push(phone("+224621000509"));
    with_stranger
        .columns
        .insert("+224621000509".into(), vec![("ref".into(), "C-3".into())]);
    let p = env.core.preview_campaign(&with_stranger).await.unwrap();
    assert_eq!(
        p.missing,
        Some(("+224621000509".into(), "contact.name".into(), 1))
    );
    assert!(matches!(
        env.core.submit_campaign(&system(), with_stranger).await,
        Err(SendError::Template(_))
    ));
    assert!(env.rows().await.is_empty(), "nothing recorded");
    // an unknown variable is refused at preview
    let bad = campaign(&env, "Bonjour {{contact.prenom}}", named.clone());
    assert!(matches!(
        env.core.preview_campaign(&bad).await,
        Err(SendError::Template(_))
    ));
    // the good one: each customer gets their own name, never their number
    env.core.submit_campaign(&system(), req).await.unwrap();
    env.core.drain().await.unwrap();
    let mut texts: Vec<String> = env.sim.ledger().into_iter().map(|e| e.text).collect();
    texts.sort();
    assert_eq!(
        texts,
        ["Bonjour Aïssatou, réf A-1", "Bonjour Mamadou, réf B-2"]
    );
    env.cleanup().await;
}

#[tokio::test]
async fn a_scheduled_campaign_starts_on_time_after_a_restart() {
    let env = env_at(JULY_1 + 10 * HOUR, PolicySettings::default()).await;
    let mut req = campaign(
        &env,
        "Promo de midi",
        vec![phone("+224621000601"), phone("+224621000602")],
    );
    req.start_ms = Some(JULY_1 + 12 * HOUR);
    let out = env.core.submit_campaign(&system(), req).await.unwrap();
    assert_eq!(out.campaign.start_ms, Some(JULY_1 + 12 * HOUR));
    assert_eq!(
        out.campaign.status,
        messagepro_store::CampaignStatus::Queued
    );
    env.core.drain().await.unwrap();
    assert!(env.sim.ledger().is_empty(), "not before noon");
    // the process restarts: a new core on the same database
    let restarted = Core::new(
        env.store.clone(),
        client(&env.sim),
        settings(PolicySettings::default()),
        Arc::new(env.clock.clone()),
    );
    drop(env.core.clone());
    env.clock.set(JULY_1 + 12 * HOUR - 1);
    restarted.drain().await.unwrap();
    assert!(env.sim.ledger().is_empty(), "11:59:59.999");
    env.clock.set(JULY_1 + 12 * HOUR);
    restarted.drain().await.unwrap();
    assert_eq!(env.sim.ledger().len(), 2, "at noon");
    env.cleanup().await;
}

#[tokio::test]
async fn a_scheduled_campaign_can_be_moved_or_cancelled_before_it_starts() {
    let env = env_at(JULY_1 + 10 * HOUR, PolicySettings::default()).await;
    let mut req = campaign(&env, "Promo", vec![phone("+224621000701")]);
    req.start_ms = Some(JULY_1 + 12 * HOUR);
    let c = env
        .core
        .submit_campaign(&system(), req.clone())
        .await
        .unwrap()
        .campaign;
    assert!(matches!(
        env.core.reschedule_campaign(&system(), c.id, JULY_1).await,
        Err(SendError::Invalid("start_in_past"))
    ));
    assert!(
        env.core
            .reschedule_campaign(&system(), c.id, JULY_1 + 14 * HOUR)
            .await
            .unwrap()
    );
    env.clock.set(JULY_1 + 13 * HOUR);
    env.core.drain().await.unwrap();
    assert!(env.sim.ledger().is_empty(), "moved to 14:00");
    env.clock.set(JULY_1 + 14 * HOUR);
    env.core.drain().await.unwrap();
    assert_eq!(env.sim.ledger().len(), 1);
    // another, cancelled before it starts: nothing leaves, the row says why
    req.start_ms = Some(JULY_1 + 20 * HOUR);
    req.numbers = vec![phone("+224621000702")];
    let c2 = env
        .core
        .submit_campaign(&system(), req)
        .await
        .unwrap()
        .campaign;
    assert_eq!(
        env.core.cancel_campaign(&system(), c2.id).await.unwrap(),
        Some(1)
    );
    env.clock.set(JULY_1 + 21 * HOUR);
    env.core.drain().await.unwrap();
    assert_eq!(env.sim.ledger().len(), 1);
    let rows = env.rows().await;
    let r = rows.iter().find(|r| r.0 == "+224621000702").unwrap();
    assert_eq!(
        (r.1, r.2.as_deref()),
        (MessageStatus::Skipped, Some("skip.cancelled"))
    );
    env.cleanup().await;
}

/// Real time: two workers, each with its own core (as two processes: they share only the
/// database), send 8 single SMS on one device limited to 2 per 2 s. Watched as they appear in
/// the simulator's ledger (every 10 ms), no 2-second window has more than 2, and the sends are
/// spread over at least 6 s (without pacing they all arrive within the first second).
#[tokio::test]
async fn a_device_rate_is_never_exceeded_with_two_workers() {
    let policy = PolicySettings {
        sms_rate: Some(Rate {
            count: 2,
            per: Duration::from_secs(2),
        }),
        ..Default::default()
    };
    let sim = Simulator::builder()
        .auto_progress(true)
        .secret(SECRET.to_owned())
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let (store, schema, _dir) = store().await;
    let core = |_: u8| {
        Core::new(
            store.clone(),
            client(&sim),
            CoreSettings {
                policy: policy.clone(),
                ..settings(policy.clone())
            },
            Arc::new(SystemClock),
        )
    };
    let (a, b) = (core(1), core(2));
    let device = sim.fixture().devices.unwrap().online.unique;
    for i in 0..8 {
        let c = if i % 2 == 0 { &a } else { &b };
        c.accept(
            &system(),
            &SendRequest::sms(
                phone(&format!("+22462100080{i}")),
                "Votre commande",
                SmsRoute::device(device.clone()),
            ),
        )
        .await
        .unwrap();
    }
    let (wa, wb) = (
        Worker::new(a.clone()).spawn(),
        Worker::new(b.clone()).spawn(),
    );
    // when each entry appears in the simulator's ledger, watched every 10 ms
    let t0 = std::time::Instant::now();
    let mut at: Vec<i64> = Vec::new();
    while at.len() < 8 && t0.elapsed() < Duration::from_secs(20) {
        let n = sim.ledger().len();
        while at.len() < n {
            at.push(t0.elapsed().as_millis() as i64);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    wa.shutdown().await;
    wb.shutdown().await;
    assert_eq!(at.len(), 8, "all sent within 20 s: {at:?}");
    assert_eq!(sim.ledger().len(), 8, "and no more");
    for w in &at {
        let in_window = at.iter().filter(|t| **t >= *w && **t < *w + 2_000).count();
        assert!(
            in_window <= 2,
            "{in_window} sends in the 2 s from {w} ms: {at:?}"
        );
    }
    assert!(at[7] - at[0] >= 6_000, "spread over ≥ 6 s: {at:?}");
    if let Some(s) = schema {
        store.drop_schema(&s).await.unwrap();
    }
    sim.shutdown().await;
}
