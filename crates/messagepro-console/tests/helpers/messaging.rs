//! Console + in-process Message Pro simulator: `spawn_app_with_sim().await` starts a simulator
//! (demo fixture, `auto_progress(false)`: nothing moves until the test calls `process_queue`)
//! and a console whose client points at it with the fixture's full secret — which is the
//! [`SENTINEL_SECRET`], so tests can assert it never shows up in a page.
//!
//! `app.sync().await` runs one pass of the status sync worker; `app.sim` gives the simulator's
//! control methods (fixture ids, ledger, credits, queue processing).
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use messagepro_console::{AppState, Application, ManualClock, Settings};
use messagepro_core::reconcile::SyncReport;
use messagepro_sim::{FixtureInfo, SimHandle, Simulator};
use messagepro_store::Store;
use secrecy::SecretString;

use super::{SENTINEL_SECRET, TestApp, new_client};

/// A console wired to a simulator.
pub struct SimApp {
    pub app: TestApp,
    pub sim: SimHandle,
    pub state: AppState,
}

impl std::ops::Deref for SimApp {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl SimApp {
    /// What the simulator seeded (device, gateway, account ids…).
    pub fn fixture(&self) -> FixtureInfo {
        self.sim.fixture()
    }

    /// One pass of the status sync worker.
    pub async fn sync(&self) -> SyncReport {
        self.state.core.reconcile_once().await.expect("sync pass")
    }

    /// Waits until the outbox has no job ready or running (the console's worker sent them).
    pub async fn settle(&self) {
        for _ in 0..1500 {
            let c = self.store.outbox_counts().await.unwrap();
            if c.ready == 0 && c.running == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!(
            "the outbox did not settle: {:?}",
            self.store.outbox_counts().await
        );
    }

    /// Sends an SMS to `to` (as a system actor, by the online device) and lets the platform
    /// deliver it: the message ends `sent`. Returns its id.
    pub async fn send_and_deliver(&self, to: &str) -> i64 {
        let phone = messagepro::Phone::parse(to, "GN").unwrap();
        let req = messagepro_core::SendRequest::sms(
            phone,
            "Commande prête",
            messagepro::SmsRoute::device(self.online_device()),
        );
        let out = self
            .state
            .core
            .submit(&messagepro_core::Actor::System { name: "test" }, req)
            .await
            .unwrap();
        self.settle().await;
        self.sim.process_queue();
        self.sync().await;
        let m = self
            .store
            .message_by_id(out.message_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m.status, messagepro_store::MessageStatus::Sent);
        out.message_id
    }

    /// The unique id of the demo's online device.
    pub fn online_device(&self) -> String {
        self.fixture().devices.expect("demo devices").online.unique
    }

    /// The unique id of the demo's offline device.
    pub fn offline_device(&self) -> String {
        self.fixture().devices.expect("demo devices").offline.unique
    }

    pub async fn cleanup(self) {
        self.app.cleanup().await;
    }
}

/// Starts the simulator and a console pointed at it (no background sync worker).
pub async fn spawn_app_with_sim() -> SimApp {
    spawn_app_with_sim_and_sync(None).await
}

/// [`spawn_app_with_sim`] with the background sync worker running every `every`.
pub async fn spawn_app_with_sim_and_sync(every: Option<std::time::Duration>) -> SimApp {
    spawn_app_with_sim_opts(every, true).await
}

/// [`spawn_app_with_sim`] without the outbox worker in the console (the test dispatches).
pub async fn spawn_app_with_sim_no_workers() -> SimApp {
    spawn_app_with_sim_opts(None, false).await
}

/// The console + simulator with the reconciliation period `every` and the outbox worker on or off.
pub async fn spawn_app_with_sim_opts(every: Option<std::time::Duration>, workers: bool) -> SimApp {
    spawn_app_with_sim_settings(every, workers, |_, _| {}).await
}

/// [`spawn_app_with_sim_opts`] with the settings adjusted by `adjust` (given the fixture).
pub async fn spawn_app_with_sim_settings(
    every: Option<std::time::Duration>,
    workers: bool,
    adjust: impl FnOnce(&mut Settings, &FixtureInfo),
) -> SimApp {
    let sim = Simulator::builder()
        .auto_progress(false)
        .secret(SENTINEL_SECRET.to_owned())
        .start("127.0.0.1:0")
        .await
        .expect("simulator starts");
    assert_eq!(sim.fixture().secrets.full, SENTINEL_SECRET);

    let mut settings = Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        cookie_secure: false,
        api_secret: Some(SecretString::from(SENTINEL_SECRET)),
        base_url: sim.url().to_owned(),
        default_country: "GN".into(),
        // the outbox worker runs; reconciliation only when the test asks for a period
        sync_every: every,
        // no quiet hours, pacing or opt-out sync unless a test asks (the clock of a test run
        // may be any hour)
        policy: messagepro_core::policy::PolicySettings::unrestricted(),
        // pages read the simulator on every view (tests change it between two views); the
        // cache has its own test, which turns it on
        platform_cache: std::time::Duration::ZERO,
        ..Settings::default()
    };

    let (store, schema, dir) = match std::env::var("MESSAGEPRO_TEST_DATABASE_URL") {
        Ok(url) => {
            let schema = format!("c_{}", uuid::Uuid::new_v4().simple());
            let store = Store::connect_postgres_schema(&url, &schema).await.unwrap();
            (store, Some(schema), None)
        }
        Err(_) => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}/console.db", dir.path().display());
            (Store::connect(&url).await.unwrap(), None, Some(dir))
        }
    };
    store.migrate().await.unwrap();
    settings.database_url = "(test)".into();
    adjust(&mut settings, &sim.fixture());
    let clock = ManualClock::default();
    // by default no background sync: tests run `app.sync()` when they want a pass
    let app = Application::build_with_store(settings, store.clone(), Arc::new(clock.clone()))
        .await
        .unwrap()
        .with_workers(workers);
    let url = app.url();
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());
    SimApp {
        app: TestApp {
            url,
            store,
            clock,
            client: new_client(),
            schema,
            _dir: dir,
            counter: AtomicUsize::new(0),
        },
        sim,
        state,
    }
}
