//! Test harness: `spawn_app().await` starts a console on port 0 with its own database (SQLite in
//! a temp dir, or a fresh PostgreSQL schema when `MESSAGEPRO_TEST_DATABASE_URL` is set) and a
//! manual clock; `app.login_as("lecteur")` creates a user of that role and logs in (CSRF handled).
#![allow(dead_code)]

pub mod browser;
pub mod messaging;
pub mod receiver;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use messagepro_console::{Application, ManualClock, Settings, password};
use messagepro_store::{NewUser, Store};
use secrecy::SecretString;

/// A sentinel API secret: no page or log may contain it.
pub const SENTINEL_SECRET: &str = "sk-SENTINEL-do-not-leak-7f3a9c";

pub struct TestApp {
    pub url: String,
    pub store: Store,
    pub clock: ManualClock,
    /// Cookie-keeping client that does not follow redirects.
    pub client: reqwest::Client,
    schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
    counter: AtomicUsize,
}

/// A user created by the harness.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: i64,
    pub username: String,
    pub password: String,
}

pub fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// [`spawn_app`] with settings adjusted by `adjust` (before the app is built).
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        cookie_secure: false, // plain http in tests
        api_secret: Some(SecretString::from(SENTINEL_SECRET)),
        // never the real platform from a test: a closed local port fails fast
        base_url: "http://127.0.0.1:9".into(),
        // no quiet hours, pacing or opt-out sync unless a test asks (the clock of a test run
        // may be any hour)
        policy: messagepro_core::policy::PolicySettings::unrestricted(),
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
    adjust(&mut settings);
    let clock = ManualClock::default();
    let app = Application::build_with_store(settings, store.clone(), Arc::new(clock.clone()))
        .await
        .unwrap();
    let url = app.url();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        url,
        store,
        clock,
        client: new_client(),
        schema,
        _dir: dir,
        counter: AtomicUsize::new(0),
    }
}

/// The CSRF token of an HTML page (hidden field or the `hx-headers` of `<body>`).
pub fn csrf_in(html: &str) -> Option<String> {
    let re = regex_lite::Regex::new(r#"name="csrf_token" value="([0-9a-f]{64})""#).unwrap();
    re.captures(html).map(|c| c[1].to_owned())
}

/// The one-time send-form token in a page.
pub fn nonce_in(html: &str) -> Option<String> {
    let re = regex_lite::Regex::new(r#"name="nonce" value="([0-9a-f]+)""#).unwrap();
    re.captures(html).map(|c| c[1].to_owned())
}

impl TestApp {
    /// Another session (its own cookie jar) on the same running app and database.
    pub fn with_client(app: &TestApp, client: reqwest::Client) -> TestApp {
        TestApp {
            url: app.url.clone(),
            store: app.store.clone(),
            clock: app.clock.clone(),
            client,
            schema: None,
            _dir: None,
            counter: AtomicUsize::new(1000 + app.counter.fetch_add(1000, Ordering::SeqCst)),
        }
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.at(path)).send().await.unwrap()
    }

    /// POSTs a form as is (no CSRF token added).
    pub async fn post_raw(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.at(path))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// A valid CSRF token of the current session (from the login page or the home page).
    pub async fn csrf(&self) -> String {
        let mut path = "/login".to_owned();
        for _ in 0..3 {
            let r = self.get(&path).await;
            if r.status().is_redirection() {
                path = r.headers()["location"].to_str().unwrap().to_owned();
                continue;
            }
            let body = r.text().await.unwrap();
            if let Some(t) = csrf_in(&body) {
                return t;
            }
            panic!("no CSRF token on {path}");
        }
        panic!("too many redirects looking for a CSRF token");
    }

    /// A fresh one-time form token from the send form page at `page` (empty if none).
    pub async fn nonce(&self, page: &str) -> String {
        let html = self.get(page).await.text().await.unwrap();
        nonce_in(&html).unwrap_or_default()
    }

    /// POSTs a form with the session's CSRF token. A send form (SMS, campaign, WhatsApp, OTP)
    /// also gets a fresh one-time token from its page, unless the form carries one already.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let token = self.csrf().await;
        let mut f: Vec<(&str, &str)> = form.to_vec();
        let page = match path {
            "/messaging/sms/send" | "/messaging/whatsapp/send" | "/messaging/otp/send" => {
                Some(path)
            }
            "/messaging/sms/bulk" | "/admin/tokens" => Some(path),
            _ => None,
        };
        let nonce = match page {
            Some(p) if !form.iter().any(|(k, _)| *k == "nonce") => Some(self.nonce(p).await),
            _ => None,
        };
        if let Some(n) = &nonce {
            f.push(("nonce", n));
        }
        f.push(("csrf_token", &token));
        self.client
            .post(self.at(path))
            .form(&f)
            .send()
            .await
            .unwrap()
    }

    /// Creates a user with `role` directly in the store.
    pub async fn create_user(&self, role: &str) -> TestUser {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let username = format!("{role}-{n}");
        let password = format!("pass-{role}-{n}-long-enough");
        let role_id = self.store.role_by_name(role).await.unwrap().unwrap().id;
        let hash = password::hash_async(SecretString::from(password.clone()))
            .await
            .unwrap();
        let u = self
            .store
            .create_user(
                &NewUser {
                    username: username.clone(),
                    password_hash: hash,
                    role_id,
                    language: None,
                },
                0,
            )
            .await
            .unwrap();
        TestUser {
            id: u.id,
            username,
            password,
        }
    }

    /// Submits the login form.
    pub async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.post("/login", &[("username", username), ("password", password)])
            .await
    }

    /// Creates a user of `role` and logs this app's client in as them.
    pub async fn login_as(&self, role: &str) -> TestUser {
        let u = self.create_user(role).await;
        let r = self.login(&u.username, &u.password).await;
        assert_eq!(r.status(), 303, "login as {role} failed");
        u
    }

    /// Drops the PostgreSQL schema (no-op on SQLite).
    pub async fn cleanup(self) {
        if let Some(s) = &self.schema {
            // the app's worker may still be in a query on the schema: PostgreSQL can pick the
            // DROP as a deadlock victim (40P01); it succeeds once the worker's statement ends
            let mut last = None;
            for _ in 0..10 {
                match self.store.drop_schema(s).await {
                    Ok(()) => return,
                    Err(e) => last = Some(e),
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            panic!("cannot drop the test schema {s}: {last:?}");
        }
    }
}
