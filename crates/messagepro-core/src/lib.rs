//! The Message Pro domain, with no web types: what the console, the CLI and the integration API
//! all call, so each guarantee is written once.
//!
//! - [`Core`] — built from a [`Store`], a [`messagepro::Client`] (the *platform*), [`CoreSettings`]
//!   and a [`Clock`]. Cheap to clone.
//! - [`send`] — the send entry point for every channel: an [`Actor`] (console user, API token,
//!   system) submits a parsed request; ONE transaction records the message, its outbox job and
//!   the audit entry; errors are machine codes ([`SendError::code`]) the console translates.
//! - [`outbox`] — the job payload (everything needed to replay a send), the dispatch of one job
//!   (claim → `sending` committed → platform → outcome) and the [`Worker`] that claims jobs,
//!   expires leases and runs reconciliation. A worker's *turn* is one transaction that records
//!   the outcomes gathered so far and claims what its window lacks (group commit).
//! - [`reconcile`] — moves `pending` / `unknown` messages to what the platform says: by platform
//!   id where the build returns ids, by recipient + text in the lists otherwise.
//! - [`otp`] — one-time codes: CSPRNG, keyed hash, phone + purpose, attempts, single use, limits.
//! - [`nonce`] — one-time form tokens (double-submit guard) in the database.
//! - [`recipients`] — reading typed or uploaded recipient lists (with the CSV columns of a file
//!   with a header); [`Core::group_members`] expands platform groups.
//! - [`campaign`] — campaigns as per-recipient work: expansion, rendering, opt-out, pace
//!   offsets, schedule; preview, pause / resume / cancel / reschedule.
//! - [`contacts`] — CSV import with a per-row report, and the two-way sync with the platform's
//!   contacts and groups.
//! - [`pricing`] — unit prices from the platform's rates and the cost estimate of a send.
//! - [`policy`] — what every send obeys, at accept and again right before it leaves: the
//!   suppression list (opt-out), quiet hours in the recipient's time zone ([`quiet`]), pacing
//!   per device / SIM / WhatsApp account shared through the database.
//! - [`tokens`], [`route`], [`events`], [`intake`] — the integration API's domain: bearer tokens
//!   with scopes and a rate, the route a request names (or the configured default), business
//!   events turned into messages by their rules exactly once, and the platform's webhook posts
//!   stored then applied (stop keywords, the inbox).
//! - [`webhooks`] — webhooks out: queued by the database in the event's transaction, signed
//!   per Standard Webhooks, retried on a schedule, logged, replayable.
//! - [`fallback`] — a second channel or route tried once when a message ends `failed` (an
//!   event rule's WhatsApp, then SMS), recorded exactly once by the worker's pass.
//! - [`reads`] — the platform lists pages show (rates, devices, accounts, credits), cached in
//!   the database for every instance with a short TTL, the last answer shown when it is down.
//! - [`telemetry`] — the engine's metrics (sends by channel and outcome, platform call
//!   latency, webhook attempts), through the `metrics` facade.
//! - [`template`] — campaign texts with `{{contact.name}}`, `{{col.…}}`: parsed, rendered per
//!   recipient, a missing value an error before anything is sent.
//!
//! Dependency direction: client ← core ← console ← cli; store ← core.

pub mod actor;
pub mod campaign;
pub mod clock;
pub mod contacts;
pub mod error;
pub mod events;
pub mod fallback;
pub mod intake;
pub mod nonce;
pub mod otp;
pub mod outbox;
pub mod permissions;
pub mod policy;
pub mod pricing;
pub mod quiet;
pub mod reads;
pub mod recipients;
pub mod reconcile;
pub mod route;
pub mod send;
pub mod telemetry;
pub mod template;
pub mod tokens;
pub mod webhooks;
pub mod worker;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use actor::Actor;
pub use campaign::{
    CampaignIdem, CampaignOutcome, CampaignPreview, CampaignRequest, CampaignSummary,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use contacts::ContactsError;
pub use error::{FailCause, SendError};
pub use messagepro_store::Store;
pub use permissions::Permission;
pub use send::{AcceptOptions, SendChannel, SendOutcome, SendRequest};
pub use worker::{Worker, WorkerHandle};

/// The knobs of the delivery engine (the console maps its configuration onto these).
#[derive(Clone)]
pub struct CoreSettings {
    /// Claims allowed for failures that certainly did not reach the platform (connection
    /// refused, DNS/TLS failure) before the message is `failed`.
    pub max_attempts: i64,
    /// First retry delay; doubles each attempt, with ±20 % jitter, capped by `retry_max`.
    pub retry_base: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
    /// A claimed job whose worker has not finished it after this long is `unknown`. Must be
    /// longer than the client's request timeout.
    pub lease: Duration,
    /// Jobs one worker process sends at once.
    pub concurrency: usize,
    /// How often the worker reconciles `pending` / `unknown` messages with the platform
    /// (`None`: never — tests call [`Core::reconcile_once`]).
    pub reconcile_every: Option<Duration>,
    /// An `unknown` message not found on the platform after this long is `failed`
    /// (`send.error.not_on_platform`) — it is never resent blind.
    pub unknown_grace: Duration,
    /// How long the console waits for the outcome of a send it dispatches at once before
    /// answering "queued" (the job goes on in the background either way).
    pub inline_wait: Duration,
    /// Key of the OTP code hashes (HMAC-SHA256). Same on every instance sharing a database.
    pub otp_key: secrecy::SecretSlice<u8>,
    /// Opt-out, quiet hours and pacing.
    pub policy: policy::PolicySettings,
    /// The routes of integration sends and events that name none.
    pub routes: route::DefaultRoutes,
    /// The secret the platform's webhook posts carry (`/webhooks/messagepro`); `None`: the
    /// intake refuses every post.
    pub webhook_secret: Option<secrecy::SecretString>,
    /// Webhooks out: the retry schedule, the poll, the timeout.
    pub webhooks: webhooks::WebhookSettings,
    /// How long a platform read the pages show is reused ([`reads`]); zero: never cached.
    pub platform_cache: Duration,
}

impl std::fmt::Debug for CoreSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoreSettings")
            .field("max_attempts", &self.max_attempts)
            .field("lease", &self.lease)
            .field("concurrency", &self.concurrency)
            .field("reconcile_every", &self.reconcile_every)
            .field("unknown_grace", &self.unknown_grace)
            .field("otp_key", &"<redacted>")
            .field("policy", &self.policy)
            .field("routes", &self.routes)
            .field(
                "webhook_secret",
                &self.webhook_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("webhooks", &self.webhooks)
            .finish_non_exhaustive()
    }
}

impl Default for CoreSettings {
    fn default() -> Self {
        CoreSettings {
            max_attempts: 5,
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(300),
            lease: Duration::from_secs(90),
            concurrency: 32,
            reconcile_every: Some(Duration::from_secs(5)),
            unknown_grace: Duration::from_secs(600),
            inline_wait: Duration::from_secs(10),
            otp_key: secrecy::SecretSlice::from(rand_key()),
            policy: policy::PolicySettings::default(),
            routes: route::DefaultRoutes::default(),
            webhook_secret: None,
            webhooks: webhooks::WebhookSettings::default(),
            platform_cache: reads::DEFAULT_TTL,
        }
    }
}

fn rand_key() -> Vec<u8> {
    use rand::RngCore;
    let mut k = vec![0u8; 32];
    rand::rng().fill_bytes(&mut k);
    k
}

impl CoreSettings {
    /// The OTP key derived from the Message Pro secret (every instance of one deployment has it;
    /// changing the secret invalidates codes in flight, which live ≤ 10 minutes).
    pub fn otp_key_from_secret(secret: &str) -> secrecy::SecretSlice<u8> {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"messagepro otp key v1")
            .expect("HMAC takes any key length");
        mac.update(secret.as_bytes());
        secrecy::SecretSlice::from(mac.finalize().into_bytes().to_vec())
    }
}

/// The domain handle.
#[derive(Clone)]
pub struct Core {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) platform: messagepro::Client,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) settings: CoreSettings,
    /// Device list cache for the online check (one platform read per few seconds, not per SMS).
    pub(crate) devices: Mutex<Option<(Instant, Vec<messagepro::Device>)>>,
    /// Wakes this process's worker when a send is accepted here.
    pub(crate) wake: tokio::sync::Notify,
    /// Until when reconciliation reads the lists instead of the by-id endpoints (the platform
    /// lacks them, or the key may not use them).
    pub(crate) by_id_off: Mutex<reconcile::ByIdOff>,
    /// The HTTP client of webhooks out (built on first use).
    pub(crate) webhook_http: std::sync::OnceLock<reqwest::Client>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("backend", &self.inner.store.backend_name())
            .finish_non_exhaustive()
    }
}

impl Core {
    pub fn new(
        store: Store,
        platform: messagepro::Client,
        settings: CoreSettings,
        clock: Arc<dyn Clock>,
    ) -> Core {
        Core {
            inner: Arc::new(Inner {
                store,
                platform,
                clock,
                settings,
                devices: Mutex::new(None),
                wake: tokio::sync::Notify::new(),
                by_id_off: Mutex::new(reconcile::ByIdOff::default()),
                webhook_http: std::sync::OnceLock::new(),
            }),
        }
    }

    /// The store (reads for pages).
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The Message Pro client (reads for pages: devices, rates, lists). Sends go through
    /// [`Core::submit`] and the outbox, never directly.
    pub fn platform(&self) -> &messagepro::Client {
        &self.inner.platform
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    pub fn settings(&self) -> &CoreSettings {
        &self.inner.settings
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }
}
