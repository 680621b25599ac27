//! A faithful, stateful, wire-compatible simulator of the Message Pro (Zender) REST API,
//! implemented independently from `docs/wire-protocol.md`, whose sections the `§` and `Q`
//! numbers cited in this crate are.
//!
//! * All 54 `/api/{group}/{action}` endpoints with the platform's quirks (HTTP 200 always,
//!   parameters from query/form/multipart with the form winning, JSON bodies ignored, escaping,
//!   exact messages and evaluation order, pagination gap, priority/SIM storage…).
//! * A seeded in-memory world ([`Fixture::Demo`] by default) and a simulated clock driving the
//!   life cycle of messages, chats, USSD and campaigns.
//! * A `/_sim/*` control API (see the crate README) and fault injection on `/api/*`; the same
//!   controls as [`Shared`] methods, refusing bad input with a [`SimError`].
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let sim = messagepro_sim::Simulator::builder().seed(7).auto_progress(false).start("127.0.0.1:0").await?;
//! let url = sim.url(); // http://127.0.0.1:PORT
//! let secret = &sim.fixture().secrets.full;
//! # let _ = (url, secret); Ok(()) }
//! ```

mod api;
mod control;
mod error;
mod fixture;
mod lifecycle;
mod model;
mod params;
mod phone;
mod qr;
mod server;
mod text;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;
use serde_json::Value;

pub use error::SimError;
pub use fixture::{ALL_PERMISSIONS, Fixture, FixtureInfo, RESTRICTED_PERMISSIONS};
pub use lifecycle::Stage;
pub use model::{Flavour, Pace};
pub use server::{Faults, router};

use api::Hook;
use model::{ApiKey, Clock, State, Webhook};

/// Builder for a simulator.
#[derive(Clone)]
pub struct SimulatorBuilder {
    seed: u64,
    secret: Option<String>,
    fixture: Fixture,
    faults: Faults,
    pace: Pace,
    auto_progress: bool,
    flavour: Flavour,
}

impl std::fmt::Debug for SimulatorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatorBuilder")
            .field("seed", &self.seed)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("fixture", &self.fixture)
            .field("faults", &self.faults)
            .field("pace", &self.pace)
            .field("auto_progress", &self.auto_progress)
            .field("flavour", &self.flavour)
            .finish()
    }
}

/// Entry point: `Simulator::builder()`.
pub struct Simulator;

impl Simulator {
    pub fn builder() -> SimulatorBuilder {
        SimulatorBuilder {
            seed: 1,
            secret: None,
            fixture: Fixture::Demo,
            faults: Faults::default(),
            pace: Pace::default(),
            auto_progress: true,
            flavour: Flavour::default(),
        }
    }
}

impl SimulatorBuilder {
    /// Seed of every random choice (secrets, ids, codes, spintax, faults).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Fixes the full-permission secret instead of a seeded random one.
    pub fn secret(mut self, secret: String) -> Self {
        self.secret = Some(secret);
        self
    }
    pub fn fixture(mut self, fixture: Fixture) -> Self {
        self.fixture = fixture;
        self
    }
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }
    /// Life-cycle pace (pick-up and report delays, failure rate).
    pub fn pace(mut self, pace: Pace) -> Self {
        self.pace = pace;
        self
    }
    /// When true (default) a background task moves messages along in real time; when false the
    /// clock is frozen and only `process_queue` / `advance_time` move anything.
    pub fn auto_progress(mut self, on: bool) -> Self {
        self.auto_progress = on;
        self
    }

    /// The platform build to speak (default [`Flavour::Current`], spec Q21).
    pub fn flavour(mut self, flavour: Flavour) -> Self {
        self.flavour = flavour;
        self
    }

    /// Builds the shared state without serving (use with [`router`] in-process). `base_url` is
    /// the site root used in links (`qrimagelink`, upload URLs).
    pub fn build(self, base_url: &str) -> Arc<Shared> {
        let faults_rng = StdRng::seed_from_u64(self.seed ^ 0x5eed_fa17);
        let faults = self.faults.clone();
        let (state, info) = new_state(&self, base_url);
        Arc::new(Shared {
            state: Mutex::new(state),
            faults: Mutex::new((faults, faults_rng)),
            info: Mutex::new(info),
            http: reqwest::Client::new(),
            config: self,
            base_url: base_url.to_string(),
        })
    }

    /// Binds `addr` (port 0 allowed) and serves until the handle is dropped or shut down.
    pub async fn start(self, addr: impl tokio::net::ToSocketAddrs) -> std::io::Result<SimHandle> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let url = format!("http://127.0.0.1:{}", local.port());
        let auto = self.auto_progress;
        let shared = self.build(&url);
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let app = router(shared.clone());
        let server = tokio::spawn(server::serve(listener, app, stop_rx.clone()));
        if auto {
            let sh = shared.clone();
            let mut stop = stop_rx;
            tokio::spawn(async move {
                let mut every = tokio::time::interval(std::time::Duration::from_millis(200));
                loop {
                    tokio::select! {
                        _ = every.tick() => {
                            let hooks = {
                                let mut st = sh.state.lock().expect("state lock");
                                st.auto_scan();
                                st.tick(false, Stage::All)
                            };
                            sh.deliver(hooks);
                        }
                        _ = stop.changed() => break,
                    }
                }
            });
        }
        Ok(SimHandle {
            shared,
            addr: local,
            url,
            stop: Some(stop_tx),
            server: Some(server),
        })
    }
}

fn new_state(cfg: &SimulatorBuilder, base_url: &str) -> (State, FixtureInfo) {
    let base = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let mut st = State {
        rng: StdRng::seed_from_u64(cfg.seed),
        clock: Clock {
            base,
            started: Instant::now(),
            offset: 0,
            frozen: !cfg.auto_progress,
        },
        base_url: base_url.to_string(),
        world: serde_json::from_value(serde_json::json!({
            "settings": model::Settings::default(), "packages": {}, "accounts": {}, "devices": {},
            "gateways": {}, "shorteners": {}, "wa_servers": {}, "wa_accounts": {} }))
        .expect("empty world"),
        keys: HashMap::new(),
        otp: HashMap::new(),
        sms: Default::default(),
        sms_campaigns: Default::default(),
        received: Default::default(),
        chats: Default::default(),
        wa_campaigns: Default::default(),
        wa_received: Default::default(),
        contacts: Default::default(),
        groups: Default::default(),
        unsubscribed: Default::default(),
        ussd: Default::default(),
        notifications: Default::default(),
        quota: HashMap::new(),
        tokens: HashMap::new(),
        submissions: HashMap::new(),
        webhook: None,
        ids: Default::default(),
        pace: cfg.pace,
        flavour: cfg.flavour,
    };
    let info = fixture::seed(&mut st, cfg.fixture, cfg.secret.clone());
    (st, info)
}

/// One ledger line: a message or chat the platform accepted (deleted rows included).
#[derive(Clone, Debug, Serialize)]
pub struct LedgerEntry {
    pub id: u64,
    /// `sms` or `whatsapp`.
    pub kind: String,
    pub recipient: String,
    pub text: String,
    /// `device`, `gateway`, `partner` or `whatsapp`.
    pub route: String,
    pub campaign: u64,
    /// The platform's stored number: 1 pending, 2 picked up/queued, 3 sent, 4 failed.
    pub status: u8,
    pub status_code: String,
    /// How many times the same (recipient, text, route) was submitted.
    pub submissions: u32,
    pub deleted: bool,
    pub created: i64,
}

/// The state shared by the server, the control API and [`SimHandle`].
pub struct Shared {
    state: Mutex<State>,
    faults: Mutex<(Faults, StdRng)>,
    info: Mutex<FixtureInfo>,
    http: reqwest::Client,
    config: SimulatorBuilder,
    base_url: String,
}

impl Shared {
    fn st(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("state lock")
    }

    /// Sends webhook form POSTs in the background (fire and forget, like the platform).
    fn deliver(&self, hooks: Vec<Hook>) {
        if hooks.is_empty() {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        for h in hooks {
            let client = self.http.clone();
            rt.spawn(async move {
                let _ = client.post(&h.url).form(&h.form).send().await;
            });
        }
    }

    pub fn fixture(&self) -> FixtureInfo {
        self.info.lock().expect("info lock").clone()
    }

    /// The platform build this simulator speaks.
    pub fn flavour(&self) -> Flavour {
        self.config.flavour
    }

    /// Every message and chat accepted so far, by kind then id.
    pub fn ledger(&self) -> Vec<LedgerEntry> {
        let st = self.st();
        let route = |s: &model::Sms| {
            if s.mode == model::SmsMode::Devices {
                "device"
            } else if s.gateway > 0 {
                "gateway"
            } else {
                "partner"
            }
        };
        let mut out: Vec<LedgerEntry> = st
            .sms
            .values()
            .map(|s| LedgerEntry {
                id: s.id,
                kind: "sms".into(),
                recipient: s.phone.clone(),
                text: s.message.clone(),
                route: route(s).into(),
                campaign: s.cid,
                status: s.status.code(),
                status_code: s.status_code.clone(),
                submissions: st
                    .submissions
                    .get(&(
                        's',
                        s.phone.clone(),
                        s.message.clone(),
                        route(s).to_string(),
                    ))
                    .copied()
                    .unwrap_or(1),
                deleted: s.deleted,
                created: s.create_date,
            })
            .collect();
        out.extend(st.chats.values().map(|c| {
            let text = c
                .payload
                .get("text")
                .or_else(|| c.payload.get("caption"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            LedgerEntry {
                id: c.id,
                kind: "whatsapp".into(),
                recipient: c.phone.clone(),
                route: "whatsapp".into(),
                campaign: c.cid,
                status: c.status.code(),
                status_code: String::new(),
                submissions: st
                    .submissions
                    .get(&('w', c.phone.clone(), text.clone(), "whatsapp".into()))
                    .copied()
                    .unwrap_or(1),
                text,
                deleted: c.deleted,
                created: c.create_date,
            }
        }));
        out
    }

    /// Runs every pending transition now, ignoring the pace.
    pub fn process_queue(&self) {
        self.process_queue_stage(Stage::All);
    }

    pub fn process_queue_stage(&self, stage: Stage) {
        let hooks = self.st().tick(true, stage);
        self.deliver(hooks);
    }

    /// Moves the simulated clock forward (backward when negative) and runs the transitions
    /// that became due. The simulated time is clamped between 1970 and the end of year 9999,
    /// so any `seconds` is accepted; returns the new simulated time.
    pub fn advance_time(&self, seconds: i64) -> i64 {
        let mut st = self.st();
        st.clock.advance(seconds);
        let hooks = st.tick(false, Stage::All);
        let now = st.now();
        drop(st);
        self.deliver(hooks);
        now
    }

    pub fn set_device_online(&self, unique: &str, online: bool) -> Result<(), SimError> {
        let mut st = self.st();
        let id = st
            .device_by_unique(unique)
            .map(|(id, _)| id)
            .ok_or(SimError::UnknownDevice)?;
        if let Some(d) = st.world.devices.get_mut(&id) {
            d.online = online;
        }
        Ok(())
    }

    /// Sets the demo account's credit balance.
    pub fn set_credits(&self, credits: f64) {
        if let Some(a) = self.st().world.accounts.get_mut(&fixture::DEMO_USER) {
            a.credits = credits;
        }
    }

    /// An inbound SMS on `device` (default: the demo's online device), SIM slot 1. Returns the
    /// row id.
    pub fn inject_sms(
        &self,
        device: Option<&str>,
        from: &str,
        message: &str,
    ) -> Result<u64, SimError> {
        self.inject_sms_on(device, 1, from, message)
    }

    /// An inbound SMS on `device` and SIM slot `sim` (as the handset reports it).
    pub fn inject_sms_on(
        &self,
        device: Option<&str>,
        sim: u8,
        from: &str,
        message: &str,
    ) -> Result<u64, SimError> {
        let mut st = self.st();
        let did = st.inbound_device(device)?;
        let (id, hooks) = st.inject_sms(did, from, message, sim)?;
        drop(st);
        self.deliver(hooks);
        Ok(id)
    }

    /// An inbound chat on `account` (default: the demo's connected account).
    pub fn inject_chat(
        &self,
        account: Option<&str>,
        from: &str,
        message: &str,
        attachment: Option<String>,
    ) -> Result<u64, SimError> {
        let mut st = self.st();
        let wa = match account {
            Some(u) => st
                .wa_by_unique(u)
                .map(|(id, _)| id)
                .ok_or(SimError::UnknownWaAccount)?,
            None => st
                .world
                .wa_accounts
                .iter()
                .find(|(_, a)| a.user == fixture::DEMO_USER)
                .map(|(id, _)| *id)
                .ok_or(SimError::NoWaAccount)?,
        };
        let (id, hooks) = st.inject_chat(wa, from, message, attachment)?;
        drop(st);
        self.deliver(hooks);
        Ok(id)
    }

    pub fn inject_notification(
        &self,
        device: Option<&str>,
        package: &str,
        title: &str,
        content: &str,
    ) -> Result<u64, SimError> {
        let mut st = self.st();
        let did = st.inbound_device(device)?;
        let (id, hooks) = st.inject_notification(did, package, title, content)?;
        drop(st);
        self.deliver(hooks);
        Ok(id)
    }

    /// Sets (or removes, with `None`) the webhook URL; returns the webhook's secret.
    pub fn set_webhook(&self, url: Option<String>, secret: Option<String>) -> Option<String> {
        let mut st = self.st();
        match url {
            Some(url) => {
                let secret = secret.unwrap_or_else(|| st.hex(40));
                st.webhook = Some(Webhook {
                    url,
                    secret: secret.clone(),
                });
                Some(secret)
            }
            None => {
                st.webhook = None;
                None
            }
        }
    }

    pub fn set_faults(&self, faults: Faults) {
        self.faults.lock().expect("faults lock").0 = faults;
    }

    /// Creates, replaces (`Some(perms)`) or deletes (`None`) an API key.
    pub fn set_key(&self, secret: &str, permissions: Option<Vec<String>>, user: Option<u64>) {
        let mut st = self.st();
        match permissions {
            Some(permissions) => {
                st.keys.insert(
                    secret.to_string(),
                    ApiKey {
                        user: user.unwrap_or(fixture::DEMO_USER),
                        permissions: permissions.into(),
                    },
                );
            }
            None => {
                st.keys.remove(secret);
            }
        }
    }

    /// Completes a WhatsApp link/relink for `token` as if the QR had been scanned.
    pub fn scan(&self, token: &str, phone_digits: &str) -> Result<u64, SimError> {
        self.st().scan(token, phone_digits)
    }

    /// The patchable world (settings, packages, accounts, devices, gateways, servers…).
    pub fn platform(&self) -> Value {
        serde_json::to_value(&self.st().world).unwrap_or_default()
    }

    /// Applies a JSON merge patch (RFC 7386) to the world.
    /// A patch whose result does not deserialise leaves the world unchanged
    /// ([`SimError::InvalidPlatformPatch`]). Removing objects (`{"gateways": {"2": null}}`) is
    /// allowed even when rows still refer to them.
    pub fn patch_platform(&self, patch: &Value) -> Result<(), SimError> {
        let invalid = |e: serde_json::Error| SimError::InvalidPlatformPatch(e.to_string());
        let mut st = self.st();
        let mut v = serde_json::to_value(&st.world).map_err(invalid)?;
        control::merge_patch(&mut v, patch);
        st.world = serde_json::from_value(v).map_err(invalid)?;
        Ok(())
    }

    /// Applies a merge patch to a user's quota counters (default: the demo user).
    pub fn patch_quota(&self, user: Option<u64>, patch: &Value) -> Result<Value, SimError> {
        let invalid = |e: serde_json::Error| SimError::InvalidQuotaPatch(e.to_string());
        let mut st = self.st();
        let q = st.quota(user.unwrap_or(fixture::DEMO_USER));
        let mut v = serde_json::to_value(&*q).map_err(invalid)?;
        let mut patch = patch.clone();
        if let Some(o) = patch.as_object_mut() {
            o.remove("user");
        }
        control::merge_patch(&mut v, &patch);
        *q = serde_json::from_value(v.clone()).map_err(invalid)?;
        Ok(v)
    }

    /// Benchmark helper: runs `n` dispatches of `path?query` while holding the state lock the
    /// way a request does, and returns the mean time per dispatch (the lock hold time).
    #[doc(hidden)]
    pub fn mean_locked_dispatch(&self, path: &str, query: &str, n: u32) -> std::time::Duration {
        let mut p = params::Params::default();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            p.insert(&k, &v);
        }
        let start = Instant::now();
        for _ in 0..n {
            let mut st = self.st();
            let _ = api::dispatch(&mut st, path, &p);
        }
        start.elapsed() / n.max(1)
    }

    /// Back to the freshly seeded fixture (same seed → same secrets and ids).
    pub fn reset(&self) {
        let (state, info) = new_state(&self.config, &self.base_url);
        *self.st() = state;
        *self.info.lock().expect("info lock") = info;
    }
}

/// A running simulator. Shuts down on drop or [`SimHandle::shutdown`].
pub struct SimHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    url: String,
    stop: Option<tokio::sync::watch::Sender<bool>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl SimHandle {
    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    pub fn fixture(&self) -> FixtureInfo {
        self.shared.fixture()
    }
    /// The shared state (all control methods live on it).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(true);
        }
        if let Some(h) = self.server.take() {
            let _ = h.await;
        }
    }
}

impl std::ops::Deref for SimHandle {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.shared
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(true);
        }
    }
}
