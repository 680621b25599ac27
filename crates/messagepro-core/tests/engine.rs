//! The delivery engine against the in-process simulator: leases, `sending` before the call,
//! reconciliation that never credits the wrong row, every simulator fault flag, double-submit
//! tokens across restarts and instances, and the OTP service's limits; reconciliation by
//! platform id on the current build (spec Q21) and by the lists on 3.3.8 or when the lookup is
//! refused. Runs on SQLite, and on PostgreSQL too when `MESSAGEPRO_TEST_DATABASE_URL` is set
//! (each test in its own schema). Tests about text matching pin `Flavour::V3_3_8` (its sends
//! return no ids); the others run on the simulator's default, the current build.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use messagepro::{OtpChannel, Phone, SmsRoute};
use messagepro_core::otp::{OtpRequest, VerifyError};
use messagepro_core::{Actor, Core, CoreSettings, ManualClock, SendError};
use messagepro_core::{CampaignRequest, SendChannel, SendRequest};
use messagepro_sim::{Faults, Flavour, SimHandle, Simulator};
use messagepro_store::{MessageFilter, MessageStatus, Page, Store};

const SECRET: &str = "engine-test-secret-0123456789";

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
    common::store("e").await
}

fn client(sim: &SimHandle, timeout: Duration) -> messagepro::Client {
    common::client(sim, SECRET, timeout)
}

fn settings() -> CoreSettings {
    CoreSettings {
        lease: Duration::from_secs(30),
        reconcile_every: None,
        unknown_grace: Duration::from_secs(60),
        inline_wait: Duration::from_secs(5),
        retry_base: Duration::from_millis(100),
        otp_key: CoreSettings::otp_key_from_secret(SECRET),
        policy: messagepro_core::policy::PolicySettings::unrestricted(),
        ..Default::default()
    }
}

async fn env() -> Env {
    env_with(settings(), Duration::from_secs(5)).await
}

/// An environment whose simulator speaks `flavour`.
async fn env_on(flavour: Flavour) -> Env {
    env_full(settings(), Duration::from_secs(5), flavour).await
}

async fn env_with(s: CoreSettings, timeout: Duration) -> Env {
    env_full(s, timeout, Flavour::Current).await
}

async fn env_full(s: CoreSettings, timeout: Duration, flavour: Flavour) -> Env {
    let sim = Simulator::builder()
        .auto_progress(false)
        .secret(SECRET.to_owned())
        .flavour(flavour)
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let (store, schema, dir) = store().await;
    let clock = ManualClock::default();
    let core = Core::new(
        store.clone(),
        client(&sim, timeout),
        s,
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
    /// The local row `id` (it must exist).
    async fn message(&self, id: i64) -> messagepro_store::Message {
        self.store
            .message_by_id(id)
            .await
            .unwrap()
            .expect("the row exists")
    }
    fn device(&self) -> String {
        self.sim.fixture().devices.unwrap().online.unique
    }
    async fn statuses(&self) -> Vec<(i64, MessageStatus, Option<String>, String)> {
        let mut m: Vec<_> = self
            .store
            .list_messages(&MessageFilter::default(), Page::first(100_000))
            .await
            .unwrap()
            .into_iter()
            .map(|m| (m.id, m.status, m.platform_message, m.recipient))
            .collect();
        m.sort_by_key(|r| r.0);
        m
    }
    async fn cleanup(self) {
        if let Some(s) = &self.schema {
            self.store.drop_schema(s).await.unwrap();
        }
        self.sim.shutdown().await;
    }
}

/// An integration token allowed to send codes (no user row needed for `created_by`).
fn sender() -> Actor {
    Actor::Token {
        id: 1,
        name: "signup-app".into(),
        scopes: BTreeSet::from(["otp".to_owned(), "messages:send".to_owned()]),
        ip: Some("192.0.2.7".into()),
    }
}

/// A system actor: no user row is needed for `created_by`.
fn system() -> Actor {
    Actor::System { name: "test" }
}

fn phone(s: &str) -> Phone {
    Phone::parse(s, "GN").unwrap()
}

/// An SMS campaign to `n` numbers from `62<first>` on, accepted into the outbox.
async fn sms_campaign(
    env: &Env,
    name: &str,
    first: u32,
    n: u32,
) -> messagepro_core::CampaignOutcome {
    sms_campaign_text(env, name, first, n, "Promo du jour").await
}

/// [`sms_campaign`] with its text: one message + job per recipient, as the console's bulk page
/// creates them.
async fn sms_campaign_text(
    env: &Env,
    name: &str,
    first: u32,
    n: u32,
    text: &str,
) -> messagepro_core::CampaignOutcome {
    let numbers: Vec<Phone> = (0..n).map(|i| phone(&format!("62{}", first + i))).collect();
    env.core
        .submit_campaign(
            &system(),
            CampaignRequest {
                name: name.into(),
                text: text.into(),
                numbers,
                groups: vec![],
                columns: Default::default(),
                start_ms: None,
                channel: SendChannel::Sms {
                    route: SmsRoute::device(env.device()),
                },
            },
        )
        .await
        .unwrap()
}

fn sms(env: &Env, to: &str, text: &str) -> SendRequest {
    SendRequest::sms(phone(to), text, SmsRoute::device(env.device()))
}

#[tokio::test]
async fn an_accepted_send_is_queued_with_its_job_before_any_network_call() {
    let env = env().await;
    let a = env
        .core
        .accept(&system(), &sms(&env, "621234567", "Bonjour"))
        .await
        .unwrap();
    let m = env.message(a.message_id).await;
    assert_eq!(m.status, MessageStatus::Queued);
    assert!(env.sim.ledger().is_empty(), "nothing left yet");
    let job = env
        .store
        .job_of_message(a.message_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((job.state.as_str(), job.attempt), ("ready", 0));
    assert!(
        job.payload.contains("+224621234567"),
        "the job can replay the send"
    );
    assert_eq!(env.core.drain().await.unwrap(), 1);
    let m = env.message(a.message_id).await;
    assert_eq!(m.status, MessageStatus::Pending);
    assert_eq!(env.sim.ledger().len(), 1);
    env.cleanup().await;
}

#[tokio::test]
async fn sending_is_committed_before_the_platform_is_called() {
    let env = env().await;
    env.sim.set_faults(Faults {
        latency_ms: 400,
        ..Default::default()
    });
    let a = env
        .core
        .accept(&system(), &sms(&env, "621234567", "Lent"))
        .await
        .unwrap();
    let core = env.core.clone();
    let t = tokio::spawn(async move { core.drain().await });
    let mut seen = None;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let m = env.message(a.message_id).await;
        if m.status == MessageStatus::Sending {
            seen = Some(env.sim.ledger().len());
            break;
        }
    }
    assert_eq!(
        seen,
        Some(0),
        "`sending` is visible while the call is in flight"
    );
    t.await.unwrap().unwrap();
    env.cleanup().await;
}

#[tokio::test]
async fn a_stale_worker_can_never_complete_a_job_it_lost() {
    let env = env().await;
    let a = env
        .core
        .accept(&system(), &sms(&env, "621234567", "Bail"))
        .await
        .unwrap();
    let now = env.core.clock().now_ms();
    let jobs = env
        .store
        .claim_jobs("worker-a", 10, 1_000, now)
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    assert!(
        env.store
            .claim_jobs("worker-b", 10, 1_000, now)
            .await
            .unwrap()
            .is_empty(),
        "a claimed job is not claimed twice"
    );
    // worker A dies in `sending`; its lease runs out
    env.clock.advance(Duration::from_secs(2));
    assert_eq!(env.core.expire_leases().await.unwrap(), 1);
    let m = env.message(a.message_id).await;
    assert_eq!(m.status, MessageStatus::Unknown);
    // A wakes up and tries to record an outcome: refused, nothing changes
    let lease = jobs[0].lease();
    let now = env.core.clock().now_ms();
    assert!(
        !env.store
            .complete_job(&lease, MessageStatus::Sent, Some("9"), None, now)
            .await
            .unwrap()
    );
    assert!(!env.store.retry_job(&lease, now, "x", now).await.unwrap());
    let m = env.message(a.message_id).await;
    assert_eq!(m.status, MessageStatus::Unknown);
    assert!(
        env.store
            .claim_jobs("worker-b", 10, 1_000, now)
            .await
            .unwrap()
            .is_empty(),
        "an expired job is never claimed again (it may have left)"
    );
    env.cleanup().await;
}

#[tokio::test]
async fn a_worker_killed_after_the_call_left_is_reconciled_without_a_second_send() {
    // the row never got the platform's answer: found by recipient + text
    let env = env_on(Flavour::V3_3_8).await;
    let a = env
        .core
        .accept(&system(), &sms(&env, "621234567", "Parti"))
        .await
        .unwrap();
    let now = env.core.clock().now_ms();
    let jobs = env
        .store
        .claim_jobs("doomed", 10, 1_000, now)
        .await
        .unwrap();
    // the call reaches the platform, then the process dies before recording it
    let c = client(&env.sim, Duration::from_secs(5));
    c.send_sms(&messagepro::SendSms::new(
        phone("621234567"),
        "Parti",
        SmsRoute::device(env.device()),
    ))
    .await
    .unwrap();
    drop(jobs);
    env.clock.advance(Duration::from_secs(2));
    env.core.expire_leases().await.unwrap();
    env.core.drain().await.unwrap();
    let r = env.core.reconcile_once().await.unwrap();
    assert_eq!((r.by_text, r.by_id), (1, 0), "{r:?}");
    let m = env.message(a.message_id).await;
    assert_eq!(m.status, MessageStatus::Pending);
    env.sim.process_queue();
    env.core.reconcile_once().await.unwrap();
    let m = env.message(a.message_id).await;
    assert_eq!(m.status, MessageStatus::Sent);
    assert_eq!(env.sim.ledger().len(), 1, "never sent twice");
    env.cleanup().await;
}

#[tokio::test]
async fn a_worker_stopping_finishes_its_calls_and_gives_back_the_jobs_it_claimed_ahead() {
    // two calls at a time, up to two more claimed ahead; each call takes 300 ms
    let env = env_with(
        CoreSettings {
            concurrency: 2,
            ..settings()
        },
        Duration::from_secs(5),
    )
    .await;
    env.sim.set_faults(Faults {
        latency_ms: 300,
        ..Faults::default()
    });
    sms_campaign(&env, "Arret", 3_000_000, 10).await;
    let worker = messagepro_core::Worker::new(env.core.clone()).spawn();
    // wait until jobs are claimed beyond the two calls in flight
    let sending = |st: &[(i64, MessageStatus, Option<String>, String)]| {
        st.iter().filter(|r| r.1 == MessageStatus::Sending).count()
    };
    let mut ahead = false;
    for _ in 0..500 {
        if sending(&env.statuses().await) > 2 {
            ahead = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(ahead, "the worker claims ahead of its calls");
    worker.shutdown().await;
    let st = env.statuses().await;
    let sent = env.sim.ledger().len();
    assert!(sent >= 2, "the calls in flight finished: {sent}");
    assert_eq!(sending(&st), 0, "nothing left `sending`: {st:?}");
    let pending = st.iter().filter(|r| r.1 == MessageStatus::Pending).count();
    let queued: Vec<i64> = st
        .iter()
        .filter(|r| r.1 == MessageStatus::Queued)
        .map(|r| r.0)
        .collect();
    assert_eq!(pending, sent, "every call that left is recorded");
    assert_eq!(pending + queued.len(), 10);
    for id in &queued {
        let job = env.store.job_of_message(*id).await.unwrap().unwrap();
        assert_eq!(job.state, "ready", "message {id}");
        assert_eq!(job.attempt, 0, "a job given back unsent used no attempt");
        assert!(job.lease_owner.is_none());
    }
    // another worker takes what was given back: each recipient exactly once
    env.sim.set_faults(Faults::default());
    env.core.drain().await.unwrap();
    let st = env.statuses().await;
    assert!(st.iter().all(|r| r.1 == MessageStatus::Pending), "{st:?}");
    let ledger = env.sim.ledger();
    let unique: BTreeSet<&str> = ledger.iter().map(|l| l.recipient.as_str()).collect();
    assert_eq!((ledger.len(), unique.len()), (10, 10));
    env.cleanup().await;
}

#[tokio::test]
async fn the_same_text_twice_first_lost_second_delivered_ends_with_both_rows_right() {
    same_text_twice(Flavour::V3_3_8).await;
}

#[tokio::test]
async fn the_same_text_twice_on_the_current_build_ends_with_both_rows_right() {
    // the second row has its id (followed by id), the first none (the lists)
    same_text_twice(Flavour::Current).await;
}

async fn same_text_twice(flavour: Flavour) {
    let env = env_on(flavour).await;
    // first attempt: the connection is reset before the platform processes it
    env.sim.set_faults(Faults {
        reset_rate: 1.0,
        ..Default::default()
    });
    let first = env
        .core
        .submit(
            &system(),
            sms(&env, "621234567", "Votre commande est prête"),
        )
        .await;
    env.sim.set_faults(Faults::default());
    let first_id = match first {
        Ok(o) => o.message_id,
        Err(e) => e.message_id().unwrap(),
    };
    // the user sends the same text again, and this one goes through
    let second = env
        .core
        .submit(
            &system(),
            sms(&env, "621234567", "Votre commande est prête"),
        )
        .await
        .unwrap();
    env.core.drain().await.unwrap();
    env.core.reconcile_once().await.unwrap();
    env.sim.process_queue();
    env.core.reconcile_once().await.unwrap();
    env.clock.advance(Duration::from_secs(120));
    env.core.drain().await.unwrap();
    env.core.reconcile_once().await.unwrap();
    let s2 = env.message(second.message_id).await;
    assert_eq!(s2.status, MessageStatus::Sent, "the real one is credited");
    // the first row was never on the platform: after the grace period it is queued again
    // (decided from the lists), sent, and credited with its own platform row
    env.core.drain().await.unwrap();
    env.sim.process_queue();
    env.core.reconcile_once().await.unwrap();
    let s1 = env.message(first_id).await;
    assert_eq!(s1.status, MessageStatus::Sent, "{s1:?}");
    assert_eq!(env.sim.ledger().len(), 2, "each row sent exactly once");
    assert_ne!(
        s1.platform_id, s2.platform_id,
        "never the same platform row"
    );
    env.cleanup().await;
}

#[tokio::test]
async fn spintax_texts_are_reconciled_by_what_the_platform_rendered() {
    let env = env_on(Flavour::V3_3_8).await;
    for n in ["621000001", "621000002", "621000003"] {
        env.core
            .submit(
                &system(),
                sms(&env, n, "{Bonjour|Salut} {cher|chère} client"),
            )
            .await
            .unwrap();
    }
    env.sim.process_queue();
    let r = env.core.reconcile_once().await.unwrap();
    assert_eq!((r.by_text, r.by_id, r.lookups), (3, 0, 0), "{r:?}");
    let st = env.statuses().await;
    assert!(st.iter().all(|s| s.1 == MessageStatus::Sent), "{st:?}");
    env.cleanup().await;
}

/// Runs a 40-recipient campaign under `faults`, then checks the invariants: every row final,
/// failed rows with a reason, no recipient sent twice, every row the platform has is not failed.
async fn campaign_under(faults: Faults) {
    campaign_under_on(faults, Flavour::Current).await;
}

async fn campaign_under_on(faults: Faults, flavour: Flavour) {
    let env = env_full(
        CoreSettings {
            max_attempts: 8,
            ..settings()
        },
        Duration::from_millis(700),
        flavour,
    )
    .await;
    let out = sms_campaign(&env, "Fautes", 2_000_000, 40).await;
    assert_eq!(out.recipients, 40);
    env.sim.set_faults(faults);
    for _ in 0..12 {
        env.core.drain().await.unwrap();
        env.clock.advance(Duration::from_secs(60));
    }
    env.sim.set_faults(Faults::default());
    env.sim.process_queue();
    for _ in 0..4 {
        env.core.drain().await.unwrap();
        env.sim.process_queue();
        env.core.reconcile_once().await.unwrap();
        env.clock.advance(Duration::from_secs(61));
    }
    env.core.drain().await.unwrap();
    env.sim.process_queue();
    env.core.reconcile_once().await.unwrap();
    let st = env.statuses().await;
    let ledger = env.sim.ledger();
    let mut per_recipient: HashMap<String, usize> = HashMap::new();
    for l in &ledger {
        *per_recipient.entry(l.recipient.clone()).or_default() += 1;
    }
    assert!(
        per_recipient.values().all(|&n| n == 1),
        "a recipient got two SMS: {per_recipient:?}"
    );
    for (id, status, reason, to) in &st {
        match status {
            MessageStatus::Sent => assert_eq!(per_recipient.get(to), Some(&1), "{id}"),
            MessageStatus::Failed => {
                assert!(
                    reason.as_deref().is_some_and(|r| !r.is_empty()),
                    "{id} no reason"
                );
                assert!(!per_recipient.contains_key(to), "{id} failed but delivered");
            }
            other => panic!("message {id} left {other}"),
        }
    }
    let c = env
        .store
        .campaign_by_id(out.campaign.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.status.as_str(), "done");
    env.cleanup().await;
}

#[tokio::test]
async fn under_html_500s_every_row_ends_final_and_none_twice() {
    campaign_under(Faults {
        fail_rate: 0.3,
        ..Default::default()
    })
    .await;
}

#[tokio::test]
async fn under_hangs_every_row_ends_final_and_none_twice() {
    campaign_under(Faults {
        hang_rate: 0.2,
        hang_ms: 1_500,
        ..Default::default()
    })
    .await;
}

#[tokio::test]
async fn under_connection_resets_every_row_ends_final_and_none_twice() {
    campaign_under(Faults {
        reset_rate: 0.3,
        ..Default::default()
    })
    .await;
}

#[tokio::test]
async fn under_dropped_answers_rows_go_unknown_and_are_reconciled_without_a_second_send() {
    campaign_under(Faults {
        drop_after_accept_rate: 0.4,
        ..Default::default()
    })
    .await;
}

#[tokio::test]
async fn under_dropped_answers_on_3_3_8_every_row_is_matched_by_text_without_a_second_send() {
    campaign_under_on(
        Faults {
            drop_after_accept_rate: 0.4,
            ..Default::default()
        },
        Flavour::V3_3_8,
    )
    .await;
}

#[tokio::test]
async fn a_form_token_works_once_across_restarts_and_instances_and_never_empty_or_foreign() {
    let env = env().await;
    let n = env.core.nonce_issue(7).await.unwrap();
    assert!(!env.core.nonce_use(7, "").await.unwrap(), "empty refused");
    assert!(
        !env.core.nonce_use(8, &n).await.unwrap(),
        "another user's refused"
    );
    // a second instance on the same database (or this one after a restart)
    let other = Core::new(
        env.store.clone(),
        client(&env.sim, Duration::from_secs(5)),
        settings(),
        Arc::new(env.clock.clone()),
    );
    assert!(
        other.nonce_use(7, &n).await.unwrap(),
        "valid once, anywhere"
    );
    assert!(
        !env.core.nonce_use(7, &n).await.unwrap(),
        "the first instance refuses it now"
    );
    assert!(!other.nonce_use(7, &n).await.unwrap());
    assert!(
        !env.core.nonce_use(7, "0123456789abcdef").await.unwrap(),
        "unknown refused"
    );
    let old = env.core.nonce_issue(7).await.unwrap();
    env.clock.advance(Duration::from_secs(25 * 3600));
    assert!(
        !env.core.nonce_use(7, &old).await.unwrap(),
        "a day-old token is refused"
    );
    env.cleanup().await;
}

fn otp(env: &Env, to: &str, purpose: &str) -> OtpRequest {
    OtpRequest {
        phone: phone(to),
        purpose: purpose.into(),
        template: "Votre code : {{otp}}".into(),
        channel: OtpChannel::Sms {
            route: SmsRoute::device(env.device()),
        },
        lifetime_s: 300,
    }
}

/// The code the simulator received last for `to` (the test plays the customer's phone).
fn code_for(env: &Env, to: &str) -> String {
    let e164 = phone(to).e164().to_owned();
    let l = env
        .sim
        .ledger()
        .into_iter()
        .filter(|l| l.recipient == e164)
        .max_by_key(|l| l.id)
        .expect("a code was sent");
    l.text.chars().filter(|c| c.is_ascii_digit()).collect()
}

#[tokio::test]
async fn twenty_concurrent_otp_sends_inside_the_cooldown_deliver_one_code() {
    let env = env().await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let core = env.core.clone();
        let req = otp(&env, "621234567", "login");
        set.spawn(async move { core.otp_send(&sender(), req).await });
    }
    let mut ok = 0;
    let mut limited = 0;
    while let Some(r) = set.join_next().await {
        match r.unwrap() {
            Ok(_) => ok += 1,
            Err(SendError::RateLimited { retry_after_ms }) => {
                assert!(retry_after_ms > 0);
                limited += 1
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((ok, limited), (1, 19));
    env.core.drain().await.unwrap();
    assert_eq!(env.sim.ledger().len(), 1, "one code delivered");
    env.cleanup().await;
}

#[tokio::test]
async fn an_otp_is_single_use_bound_to_its_phone_and_purpose_and_locks_after_five_wrong_codes() {
    let env = env().await;
    env.core
        .otp_send(&sender(), otp(&env, "621234567", "login"))
        .await
        .unwrap();
    let code = code_for(&env, "621234567");
    assert_eq!(code.len(), 6);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    // another phone, another purpose: never
    assert_eq!(
        env.core
            .otp_verify(&sender(), &phone("622000000"), "login", &code)
            .await,
        Err(VerifyError::NoCode)
    );
    assert_eq!(
        env.core
            .otp_verify(&sender(), &phone("621234567"), "signup", &code)
            .await,
        Err(VerifyError::NoCode)
    );
    // the right code, once
    env.core
        .otp_verify(&sender(), &phone("621234567"), "login", &code)
        .await
        .unwrap();
    assert_eq!(
        env.core
            .otp_verify(&sender(), &phone("621234567"), "login", &code)
            .await,
        Err(VerifyError::NoCode),
        "a used code fails"
    );
    // a new code after the cooldown: five wrong attempts lock it, the sixth is refused even right
    env.clock.advance(Duration::from_secs(31));
    env.core
        .otp_send(&sender(), otp(&env, "621234567", "login"))
        .await
        .unwrap();
    let code = code_for(&env, "621234567");
    let wrong = if code == wrong { "222222" } else { wrong };
    for left in (0..5).rev() {
        assert_eq!(
            env.core
                .otp_verify(&sender(), &phone("621234567"), "login", wrong)
                .await,
            Err(VerifyError::Invalid { left })
        );
    }
    assert_eq!(
        env.core
            .otp_verify(&sender(), &phone("621234567"), "login", &code)
            .await,
        Err(VerifyError::Locked),
        "the 6th attempt is refused even with the right code"
    );
    // nothing stored or audited holds the code
    let audit = env
        .store
        .list_audit(&Default::default(), Page::first(1000))
        .await
        .unwrap();
    assert!(!format!("{audit:?}").contains(&code));
    let rows = env.statuses().await;
    assert!(!format!("{rows:?}").contains(&code));
    env.cleanup().await;
}

/// Every log line written while `f` runs on this thread (all levels, every target but the
/// simulator's: it plays the platform, whose logs are not ours).
async fn logs_of<F: std::future::Future<Output = ()>>(f: F) -> String {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::{Layer, filter};
    #[derive(Clone, Default)]
    struct Buf(Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let w = buf.clone();
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(move || w.clone())
        .with_ansi(false)
        .without_time()
        .with_filter(filter::LevelFilter::TRACE)
        .with_filter(filter::filter_fn(|m| {
            !m.target().starts_with("messagepro_sim")
        }));
    let subscriber = tracing_subscriber::registry().with(layer);
    let _guard = tracing::subscriber::set_default(subscriber);
    f.await;
    String::from_utf8_lossy(&buf.0.lock().unwrap()).into_owned()
}

/// `needle` as a whole number in `hay` (not inside a longer run of digits).
fn has_number(hay: &str, needle: &str) -> bool {
    hay.match_indices(needle).any(|(i, _)| {
        let before = hay[..i].chars().next_back();
        let after = hay[i + needle.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

#[tokio::test]
async fn an_otp_code_and_the_api_secret_never_appear_in_the_logs() {
    let env = env().await;
    let codes = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = codes.clone();
    let logs = logs_of(async {
        // sent, verified wrong, verified right, used again; a second code; a send that fails
        env.core
            .otp_send(&sender(), otp(&env, "621234567", "login"))
            .await
            .unwrap();
        let code = code_for(&env, "621234567");
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let p = phone("621234567");
        assert!(
            env.core
                .otp_verify(&sender(), &p, "login", wrong)
                .await
                .is_err()
        );
        env.core
            .otp_verify(&sender(), &p, "login", &code)
            .await
            .unwrap();
        assert!(
            env.core
                .otp_verify(&sender(), &p, "login", &code)
                .await
                .is_err()
        );
        seen.lock().unwrap().push(code);
        env.core
            .otp_send(&sender(), otp(&env, "622000000", "signup"))
            .await
            .unwrap();
        seen.lock().unwrap().push(code_for(&env, "622000000"));
        env.sim.set_faults(Faults {
            fail_rate: 1.0,
            ..Faults::default()
        });
        let _ = env
            .core
            .otp_send(&sender(), otp(&env, "623000000", "login"))
            .await;
        env.core.drain().await.unwrap();
        env.sim.set_faults(Faults::default());
    })
    .await;
    assert!(
        logs.contains("send accepted by the platform"),
        "the capture saw the send path:\n{logs}"
    );
    for code in codes.lock().unwrap().iter() {
        assert!(!has_number(&logs, code), "code {code} logged:\n{logs}");
    }
    assert!(!logs.contains(SECRET), "the API secret was logged");
    env.cleanup().await;
}

#[tokio::test]
async fn an_otp_expires_and_the_per_phone_limit_holds() {
    let env = env().await;
    env.core
        .otp_send(&sender(), otp(&env, "621234567", "login"))
        .await
        .unwrap();
    let code = code_for(&env, "621234567");
    env.clock.advance(Duration::from_secs(301));
    assert_eq!(
        env.core
            .otp_verify(&sender(), &phone("621234567"), "login", &code)
            .await,
        Err(VerifyError::NoCode),
        "expired"
    );
    let mut sent = 1;
    let mut refused = false;
    for _ in 0..15 {
        env.clock.advance(Duration::from_secs(31));
        match env
            .core
            .otp_send(&sender(), otp(&env, "621234567", "login"))
            .await
        {
            Ok(_) => sent += 1,
            Err(SendError::RateLimited { .. }) => {
                refused = true;
                break;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(refused, "the hourly per-phone limit stops the sends");
    assert_eq!(sent, messagepro_core::otp::PER_PHONE_PER_HOUR);
    env.cleanup().await;
}

#[tokio::test]
async fn one_client_ip_cannot_send_codes_to_the_whole_country() {
    let env = env().await;
    // a console user's IP is the person's; an API token's is its server's, shared by all its
    // customers, so tokens are held by the per-phone limits and their own rate instead
    let role = env
        .core
        .store()
        .role_by_name("superviseur")
        .await
        .unwrap()
        .unwrap();
    let row = env
        .core
        .store()
        .create_user(
            &messagepro_store::NewUser {
                username: "guichet".into(),
                password_hash: "x".into(),
                role_id: role.id,
                language: None,
            },
            0,
        )
        .await
        .unwrap();
    let user = Actor::User {
        id: row.id,
        username: "guichet".into(),
        permissions: BTreeSet::from([messagepro_core::Permission::SendOtp]),
        ip: Some("192.0.2.7".into()),
    };
    let mut refused_at = None;
    for i in 0..(messagepro_core::otp::PER_IP_PER_HOUR + 1) {
        let to = format!("62{}", 3_000_000 + i);
        match env
            .core
            .otp_accept(&user, &otp(&env, &to, "login"), None)
            .await
        {
            Ok(_) => {}
            Err(SendError::RateLimited { .. }) => {
                refused_at = Some(i);
                break;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(refused_at, Some(messagepro_core::otp::PER_IP_PER_HOUR));
    // the token from the same address is not held back by it
    env.core
        .otp_accept(&sender(), &otp(&env, "623999999", "login"), None)
        .await
        .expect("an API token is not limited per IP");
    env.cleanup().await;
}

// ----- reconciliation by platform id (spec Q21) -------------------------------------------------

/// Every permission of the fixture's full key but `drop`.
fn permissions_without(drop: &[&str]) -> Vec<String> {
    messagepro_sim::ALL_PERMISSIONS
        .iter()
        .filter(|p| !drop.contains(p))
        .map(|p| p.to_string())
        .collect()
}

/// The simulator's SMS rows by recipient: `(platform id, stored status)`; panics on a recipient
/// sent twice.
fn sms_ledger(env: &Env) -> HashMap<String, (u64, u8)> {
    let mut out = HashMap::new();
    for l in env.sim.ledger().into_iter().filter(|l| l.kind == "sms") {
        let twice = out.insert(l.recipient.clone(), (l.id, l.status));
        assert!(twice.is_none(), "{} sent twice", l.recipient);
    }
    out
}

#[tokio::test]
async fn on_the_current_build_a_thousand_row_spintax_campaign_is_followed_by_id_without_reading_a_list()
 {
    let env = env_on(Flavour::Current).await;
    // the key may not read the SMS lists: a pass that tried would fail
    env.sim.set_key(
        SECRET,
        Some(permissions_without(&["get_sms_sent", "get_sms_pending"])),
        None,
    );
    let probe = client(&env.sim, Duration::from_secs(5));
    assert!(matches!(
        probe
            .get_sent_messages(messagepro::PageRequest::first(10))
            .await,
        Err(messagepro::Error::PermissionDenied(_))
    ));
    let text = "Bonjour {Awa|Moussa|Fanta}, promo {-10%|-20%}";
    let out = sms_campaign_text(&env, "Promo variée", 4_000_000, 1_000, text).await;
    assert_eq!(out.recipients, 1_000);
    assert_eq!(env.core.drain().await.unwrap(), 1_000);
    let ledger = sms_ledger(&env);
    assert_eq!(ledger.len(), 1_000);
    let texts: BTreeSet<String> = env.sim.ledger().into_iter().map(|l| l.text).collect();
    assert!(
        texts.len() > 1 && texts.iter().all(|t| !t.contains('{')),
        "the platform resolved the spintax per recipient: {texts:?}"
    );
    let mut passes = vec![env.core.reconcile_once().await.unwrap()];
    assert_eq!(
        (passes[0].checked, passes[0].by_id, passes[0].updated),
        (1_000, 1_000, 0),
        "every row followed by its id, still waiting on the platform: {:?}",
        passes[0]
    );
    // the platform moves every row to a final state; passes follow until nothing waits
    for _ in 0..5 {
        env.sim.process_queue();
        let r = env.core.reconcile_once().await.unwrap();
        let done = r.checked == 0;
        passes.push(r);
        if done {
            break;
        }
    }
    for r in &passes {
        assert_eq!((r.by_text, r.by_list_id, r.lists_read), (0, 0, 0), "{r:?}");
    }
    assert_eq!(passes.last().unwrap().checked, 0, "{passes:?}");
    let ledger = sms_ledger(&env);
    let rows = env
        .store
        .list_messages(&MessageFilter::default(), Page::first(10_000))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1_000);
    for m in &rows {
        let (pid, status) = ledger[&m.recipient];
        assert_eq!(m.platform_id, Some(pid.to_string()), "{m:?}");
        let expected = match status {
            3 => MessageStatus::Sent,
            4 => MessageStatus::Failed,
            other => panic!("the simulator left {} at {other}", m.recipient),
        };
        assert_eq!(m.status, expected, "{m:?}");
    }
    let c = env
        .store
        .campaign_by_id(out.campaign.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.status.as_str(), "done");
    env.cleanup().await;
}

#[tokio::test]
async fn without_get_message_the_current_build_is_reconciled_by_the_lists_and_not_probed_for_ten_minutes()
 {
    let env = env_on(Flavour::Current).await;
    env.sim
        .set_key(SECRET, Some(permissions_without(&["get_message"])), None);
    for n in ["621000011", "621000012"] {
        env.core
            .submit(&system(), sms(&env, n, "Rendez-vous demain"))
            .await
            .unwrap();
    }
    let st = env
        .store
        .list_messages(&MessageFilter::default(), Page::first(10))
        .await
        .unwrap();
    assert!(
        st.iter().all(|m| m.platform_id.is_some()),
        "the current build returns ids: {st:?}"
    );
    // refused: the lists settle the rows (found by their ids)
    let r = env.core.reconcile_once().await.unwrap();
    assert_eq!(
        (r.lookups, r.by_id, r.by_list_id, r.by_text, r.lists_read),
        (1, 0, 2, 0, 2),
        "one probe, then the lists: {r:?}"
    );
    // the key gets the permission back, but within ten minutes nothing asks
    env.sim.set_key(
        SECRET,
        Some(messagepro_sim::ALL_PERMISSIONS.map(String::from).to_vec()),
        None,
    );
    env.clock.advance(Duration::from_secs(9 * 60));
    let r = env.core.reconcile_once().await.unwrap();
    assert_eq!(
        (r.lookups, r.by_list_id, r.lists_read),
        (0, 2, 2),
        "not probed again: {r:?}"
    );
    // past ten minutes the lookup is used again, and no list is read
    env.clock.advance(Duration::from_secs(2 * 60));
    env.sim.process_queue();
    let r = env.core.reconcile_once().await.unwrap();
    assert_eq!(
        (r.lookups, r.by_id, r.lists_read, r.updated),
        (2, 2, 0, 2),
        "{r:?}"
    );
    assert!(
        env.statuses()
            .await
            .iter()
            .all(|s| s.1 == MessageStatus::Sent)
    );
    env.cleanup().await;
}

#[tokio::test]
async fn on_3_3_8_a_row_matched_by_text_then_holding_an_id_falls_back_to_the_lists() {
    let env = env_on(Flavour::V3_3_8).await;
    let a = env
        .core
        .submit(&system(), sms(&env, "621000021", "Votre colis arrive"))
        .await
        .unwrap();
    let m = env.message(a.message_id).await;
    assert_eq!(m.platform_id, None, "3.3.8 returns no id");
    // found by text in the pending list: its id is stored
    let r = env.core.reconcile_once().await.unwrap();
    assert_eq!((r.by_text, r.lookups, r.lists_read), (1, 0, 2), "{r:?}");
    // now it has an id: the lookup is tried once (`Invalid API Endpoint!`), then the lists
    env.sim.process_queue();
    let r = env.core.reconcile_once().await.unwrap();
    assert_eq!(
        (r.lookups, r.by_id, r.by_list_id, r.updated),
        (1, 0, 1, 1),
        "{r:?}"
    );
    let m = env.message(a.message_id).await;
    assert_eq!(m.status, MessageStatus::Sent);
    // a new row with an id: not probed again inside the ten minutes
    env.core
        .submit(&system(), sms(&env, "621000022", "Votre colis arrive"))
        .await
        .unwrap();
    env.core.reconcile_once().await.unwrap();
    let r = env.core.reconcile_once().await.unwrap();
    assert_eq!((r.lookups, r.by_list_id, r.lists_read), (0, 1, 2), "{r:?}");
    env.cleanup().await;
}

#[tokio::test]
async fn on_the_current_build_a_pending_row_deleted_on_the_platform_is_failed_and_never_resent() {
    let env = env_on(Flavour::Current).await;
    let a = env
        .core
        .submit(&system(), sms(&env, "621000031", "Annulé"))
        .await
        .unwrap();
    assert_eq!(a.status, MessageStatus::Pending);
    let m = env.message(a.message_id).await;
    let pid: u64 = m.platform_id.as_deref().unwrap().parse().unwrap();
    // someone deletes it on the platform before it goes out
    let c = client(&env.sim, Duration::from_secs(5));
    c.delete_sent_message(pid).await.unwrap();
    assert!(matches!(
        c.get_sms_message(pid).await,
        Err(messagepro::Error::MessageNotFound(_))
    ));
    let r = env.core.reconcile_once().await.unwrap();
    assert_eq!(
        (r.by_id, r.deleted_on_platform, r.updated, r.lists_read),
        (1, 1, 1, 0),
        "{r:?}"
    );
    let m = env.message(a.message_id).await;
    assert_eq!(m.status, MessageStatus::Failed);
    assert_eq!(
        m.platform_message.as_deref(),
        Some("send.error.deleted_on_platform")
    );
    assert_eq!(m.platform_id, Some(pid.to_string()), "the id is kept");
    // final: nothing to send again, nothing left to reconcile
    env.clock.advance(Duration::from_secs(3_600));
    assert_eq!(env.core.drain().await.unwrap(), 0);
    assert_eq!(env.core.reconcile_once().await.unwrap().checked, 0);
    assert_eq!(env.sim.ledger().len(), 1, "never sent again");
    env.cleanup().await;
}

#[tokio::test]
async fn on_the_current_build_a_chat_found_once_in_the_lists_is_then_followed_by_id() {
    let env = env_on(Flavour::Current).await;
    let account = env.sim.fixture().whatsapp.unwrap().connected.unique;
    let a = env
        .core
        .submit(
            &system(),
            SendRequest {
                channel: SendChannel::WhatsApp {
                    account,
                    content: messagepro::WaContent::Text("Bonjour".into()),
                    priority: false,
                },
                recipient: phone("621000041"),
                text: "Bonjour".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(a.status, MessageStatus::Pending);
    let m = env.message(a.message_id).await;
    let first = env.core.reconcile_once().await.unwrap();
    let m2 = env.message(a.message_id).await;
    let chat_id = env
        .sim
        .ledger()
        .into_iter()
        .find(|l| l.kind == "whatsapp")
        .unwrap()
        .id;
    assert_eq!(m2.platform_id, Some(chat_id.to_string()));
    if m.platform_id.is_none() {
        // `send/whatsapp` gave no id (`data: false`): the chat lists found it by text
        assert_eq!((first.by_text, first.lists_read), (1, 2), "{first:?}");
    } else {
        assert_eq!((first.by_id, first.lists_read), (1, 0), "{first:?}");
    }
    env.sim.process_queue();
    let r = env.core.reconcile_once().await.unwrap();
    assert_eq!(
        (r.lookups, r.by_id, r.lists_read, r.updated),
        (1, 1, 0, 1),
        "{r:?}"
    );
    let m = env.message(a.message_id).await;
    assert_eq!(m.status, MessageStatus::Sent);
    env.cleanup().await;
}
