//! Wiring: [`AppState`] (what every handler may use), [`router`] (routes + guard + sessions +
//! security headers + tracing) and [`Application`] (connect, migrate, bind — port 0 allowed —
//! and serve until stopped).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::extract::MatchedPath;
use axum::middleware::from_fn_with_state;
use http::Request;
use messagepro_store::Store;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::error::AppError;
use crate::guard::guard;
use crate::i18n::I18n;
use crate::sessions::DbSessionStore;
use crate::{headers, routes};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "messagepro_session";

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub settings: Arc<Settings>,
    pub i18n: I18n,
    pub clock: Arc<dyn Clock>,
    /// The Message Pro client (settings' base URL, secret and default country), for the reads
    /// pages make. Sends go through [`AppState::core`], never directly through this.
    pub platform: messagepro::Client,
    /// The domain: sends, outbox, reconciliation, OTP (`messagepro-core`).
    pub core: messagepro_core::Core,
    /// Bounds the password verifications running at once (memory under a login flood).
    pub login_gate: Arc<crate::login_gate::VerifyGate>,
    /// Signs the CSRF cookie of anonymous visitors ([`crate::csrf`]).
    pub csrf_key: Arc<secrecy::SecretSlice<u8>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("backend", &self.store.backend_name())
            .finish_non_exhaustive()
    }
}

impl AppState {
    pub fn new(
        store: Store,
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<AppState> {
        let platform = build_api(&settings)?;
        let core = build_core(&settings, store.clone(), clock.clone())?;
        let csrf_key = Arc::new(crate::csrf::cookie_key(settings.api_secret.as_ref()));
        Ok(AppState {
            store,
            settings: Arc::new(settings),
            i18n: I18n::new(),
            clock,
            platform,
            core,
            login_gate: Arc::new(crate::login_gate::VerifyGate::for_machine()),
            csrf_key,
        })
    }
}

/// The delivery engine over `store` with the console's settings (`messagepro worker` runs it
/// without the web).
pub fn build_core(
    settings: &Settings,
    store: Store,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<messagepro_core::Core> {
    Ok(messagepro_core::Core::new(
        store,
        build_send_client(settings)?,
        core_settings(settings),
        clock,
    ))
}

/// Resolves on Ctrl-C or SIGTERM (how a service manager stops a process).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The delivery engine's settings from the console's.
pub fn core_settings(settings: &Settings) -> messagepro_core::CoreSettings {
    use secrecy::ExposeSecret;
    let secret = settings
        .api_secret
        .as_ref()
        .map(|s| s.expose_secret().to_owned())
        .unwrap_or_default();
    messagepro_core::CoreSettings {
        lease: settings.lease,
        unknown_grace: settings.unknown_grace,
        reconcile_every: settings.sync_every,
        concurrency: settings.worker_concurrency,
        otp_key: messagepro_core::CoreSettings::otp_key_from_secret(&secret),
        policy: settings.policy.clone(),
        routes: messagepro_core::route::DefaultRoutes {
            sms: settings.default_sms_route.clone(),
            whatsapp: settings.default_whatsapp_account.clone(),
        },
        webhook_secret: settings.webhook_secret.clone(),
        webhooks: settings.webhooks.clone(),
        platform_cache: settings.platform_cache,
        ..Default::default()
    }
}

/// The client the workers send with: the library's defaults (reads retried with backoff;
/// sends never retried by the client — the outbox decides), request timeout under the lease.
fn build_send_client(settings: &Settings) -> anyhow::Result<messagepro::Client> {
    use secrecy::ExposeSecret;
    let secret = settings
        .api_secret
        .as_ref()
        .map(|s| s.expose_secret().to_owned())
        .unwrap_or_else(|| "not-configured".to_owned());
    let timeout = (settings.lease / 3).clamp(
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(30),
    );
    messagepro::Client::builder()
        .base_url(settings.base_url.clone())
        .secret(secret)
        .default_country(settings.default_country.clone())
        .timeout(timeout)
        .connect_timeout(timeout.min(std::time::Duration::from_secs(10)))
        .build()
        .context("invalid Message Pro settings (base URL or default country)")
}

/// The Message Pro client of the settings. Without a secret the console still starts (pages
/// render, platform boxes say the platform refused the key) — a placeholder key is used.
pub fn build_api(settings: &Settings) -> anyhow::Result<messagepro::Client> {
    use secrecy::ExposeSecret;
    let secret = match &settings.api_secret {
        Some(s) => s.expose_secret().to_owned(),
        None => {
            tracing::warn!("MESSAGEPRO_API_SECRET is not set: platform calls will be refused");
            "not-configured".to_owned()
        }
    };
    // Pages read the platform while a person waits: one quick retry, then the page renders with
    // its "platform unreachable" box instead of sitting through the library's default backoff.
    // (The sync worker runs again on its own period anyway.)
    messagepro::Client::builder()
        .base_url(settings.base_url.clone())
        .secret(secret)
        .default_country(settings.default_country.clone())
        .read_retries(1)
        .retry_backoff(std::time::Duration::from_millis(100))
        .build()
        .context("invalid Message Pro settings (base URL or default country)")
}

/// The whole console as an axum router.
pub fn router(state: AppState) -> Router {
    let idle = time::Duration::seconds(state.settings.session_idle.as_secs() as i64);
    let sessions = SessionManagerLayer::new(DbSessionStore::new(
        state.store.clone(),
        state.clock.clone(),
    ))
    .with_name(SESSION_COOKIE)
    .with_http_only(true)
    .with_same_site(SameSite::Strict)
    .with_secure(state.settings.cookie_secure)
    .with_path("/")
    .with_expiry(Expiry::OnInactivity(idle));

    let trace = TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
        // the path pattern, never the query string (it may carry user input)
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map(|m| m.as_str().to_owned())
            .unwrap_or_else(|| "unmatched".to_owned());
        tracing::info_span!("http", method = %req.method(), route)
    });

    let console = routes::routes()
        .route_layer(from_fn_with_state(state.clone(), guard))
        .fallback(|| async { AppError::NotFound })
        .layer(from_fn_with_state(state.clone(), crate::csrf::presession))
        .layer(sessions);
    // the integration API: its own bearer authentication, no session, no CSRF cookie
    // operations (readiness, metrics): no session either
    crate::ops::prometheus();
    let app = crate::api::router()
        .merge(crate::ops::router())
        .merge(console)
        .with_state(state);
    headers::apply(app).layer(trace)
}

/// A bound, migrated console ready to serve.
pub struct Application {
    listener: TcpListener,
    port: u16,
    state: AppState,
    /// Whether this process runs the outbox worker (claims and sends jobs, expires leases,
    /// reconciles). `messagepro serve --no-workers` turns it off.
    workers: bool,
}

impl Application {
    /// Connects to the database, applies migrations and binds `settings.listen`.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        Application::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// [`Application::build`] with an injected clock (tests).
    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Application> {
        let store = Store::connect(&settings.database_url)
            .await
            .context("cannot open the database")?;
        store
            .migrate()
            .await
            .context("cannot migrate the database")?;
        Application::build_with_store(settings, store, clock).await
    }

    /// Binds with an already opened and migrated store.
    pub async fn build_with_store(
        settings: Settings,
        store: Store,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        let port = listener.local_addr()?.port();
        crate::password::warm_up().await;
        Ok(Application {
            listener,
            port,
            state: AppState::new(store, settings, clock)?,
            workers: true,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://<listen ip>:<port>`.
    pub fn url(&self) -> String {
        let ip = self.state.settings.listen.ip();
        let host = if ip.is_unspecified() {
            "127.0.0.1".to_owned()
        } else {
            ip.to_string()
        };
        format!("http://{host}:{}", self.port)
    }

    /// Whether to run the outbox worker in this process (default yes).
    pub fn with_workers(mut self, on: bool) -> Application {
        self.workers = on;
        self
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until Ctrl-C or SIGTERM (or the future is dropped). Expired sessions and form
    /// tokens are purged at start, then every `session_purge_every` (10 min). On a stop signal the web stops first, then the worker
    /// finishes its in-flight sends.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes (graceful shutdown as with Ctrl-C).
    pub async fn run_until(
        self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let purge_state = self.state.clone();
        let purge = tokio::spawn(async move {
            let every = purge_state.settings.session_purge_every;
            let mut tick = tokio::time::interval(every.max(std::time::Duration::from_millis(10)));
            loop {
                tick.tick().await;
                let now = purge_state.clock.now_ms();
                if let Err(e) = purge_state.store.session_delete_expired(now).await {
                    tracing::warn!(error = %e, "cannot purge expired sessions");
                }
                if let Err(e) = purge_state.core.nonce_purge().await {
                    tracing::warn!(error = %e, "cannot purge old form tokens");
                }
                let keys_before = now - crate::api::idempotency::KEEP_MS;
                if let Err(e) = purge_state.store.idem_purge(keys_before).await {
                    tracing::warn!(error = %e, "cannot purge old idempotency keys");
                }
                if let Err(e) = purge_state.core.webhook_purge().await {
                    tracing::warn!(error = %e, "cannot purge old webhook deliveries");
                }
            }
        });
        let worker = self
            .workers
            .then(|| messagepro_core::Worker::new(self.state.core.clone()).spawn());
        let app = router(self.state);
        let result = axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(stop)
        .await;
        purge.abort();
        if let Some(w) = worker {
            w.shutdown().await;
        }
        result.context("server error")
    }
}
