//! `Client`, its builder, and the one private function every endpoint goes through.
//!
//! Everything protocol-wide lives here so the per-area modules in `api/` only describe
//! parameters and response types:
//! - reads are `GET` with query parameters, sends/creates are `POST` with an urlencoded form
//!   (multipart when a file is uploaded); the `secret` goes with the other parameters (query for
//!   reads, body for writes) exactly as the spec places it, and `+` is always sent as `%2B`
//!   (serde_urlencoded does this);
//! - the answer's HTTP status is ignored in favour of the JSON `status` (spec §1.4), PHP
//!   warnings printed before the JSON are skipped (Q23), non-JSON bodies become
//!   [`Error::Decode`] with a redacted snippet;
//! - reads retry connect errors and timeouts with exponential backoff, writes never retry (a
//!   retried send could be a duplicate SMS);
//! - every call runs in a `tracing` span named after the endpoint; parameters are never logged.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tracing::Instrument;
use url::Url;

use crate::error::{Error, Result, redact_snippet};

/// Where Message Pro lives when nothing else is configured.
pub const DEFAULT_BASE_URL: &str = "https://messagepro-gn.com";
/// Country used to read local phone numbers when nothing else is configured.
pub const DEFAULT_COUNTRY: &str = "GN";

/// A cheap-to-clone handle on the Message Pro API (an `Arc` around a `reqwest::Client`).
///
/// Build it with [`Client::builder`] or [`Client::from_env`]; every endpoint of the API is an
/// `async fn` on it (see the modules under [`crate::api`]).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    secret: SecretString,
    default_country: String,
    timeout: Duration,
    connect_timeout: Duration,
    read_retries: u32,
    retry_backoff: Duration,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base.as_str())
            .field("secret", &"[REDACTED]")
            .field("default_country", &self.inner.default_country)
            .field("timeout", &self.inner.timeout)
            .field("read_retries", &self.inner.read_retries)
            .finish()
    }
}

/// Configures a [`Client`].
pub struct ClientBuilder {
    base_url: Option<String>,
    secret: Option<SecretString>,
    default_country: String,
    timeout: Duration,
    connect_timeout: Duration,
    user_agent: String,
    read_retries: u32,
    retry_backoff: Duration,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("secret", &self.secret.as_ref().map(|_| "[REDACTED]"))
            .field("default_country", &self.default_country)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_retries", &self.read_retries)
            .finish()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            base_url: None,
            secret: None,
            default_country: DEFAULT_COUNTRY.to_owned(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            user_agent: concat!("messagepro-rs/", env!("CARGO_PKG_VERSION")).to_owned(),
            read_retries: 2,
            retry_backoff: Duration::from_millis(200),
        }
    }
}

impl ClientBuilder {
    /// A builder pre-filled from the environment (and `.env`): `MESSAGEPRO_API_SECRET`,
    /// `MESSAGEPRO_BASE_URL`, `MESSAGEPRO_DEFAULT_COUNTRY`. Missing values stay unset, so the
    /// caller can still supply them; [`build`](Self::build) fails with
    /// [`Error::MissingSecret`] if no secret is set by then.
    pub fn from_env() -> Self {
        let _ = dotenvy::dotenv();
        let mut b = Self::default();
        if let Some(s) = non_empty_env("MESSAGEPRO_API_SECRET") {
            b.secret = Some(SecretString::from(s));
        }
        b.base_url = non_empty_env("MESSAGEPRO_BASE_URL");
        if let Some(c) = non_empty_env("MESSAGEPRO_DEFAULT_COUNTRY") {
            b.default_country = c;
        }
        b
    }

    /// Site root of the deployment, e.g. `https://messagepro-gn.com` or
    /// `https://example.com/zender` (a path prefix is kept, spec Q1).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The API key (Tools → API Keys in the dashboard).
    pub fn secret(mut self, secret: impl Into<SecretString>) -> Self {
        self.secret = Some(secret.into());
        self
    }

    /// ISO alpha-2 country used by [`Client::parse_phone`] for local numbers (default `GN`).
    pub fn default_country(mut self, iso2: impl Into<String>) -> Self {
        self.default_country = iso2.into();
        self
    }

    /// Whole-request timeout (default 30 s).
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// TCP/TLS connect timeout (default 10 s).
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// `User-Agent` header.
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// How many times a *read* is retried after a connect error or timeout (default 2).
    /// Sends, creates, deletes and campaign controls are never retried.
    pub fn read_retries(mut self, n: u32) -> Self {
        self.read_retries = n;
        self
    }

    /// First retry delay; doubled at each further attempt (default 200 ms).
    pub fn retry_backoff(mut self, d: Duration) -> Self {
        self.retry_backoff = d;
        self
    }

    /// Checks the configuration and builds the client.
    pub fn build(self) -> Result<Client> {
        let secret = self.secret.ok_or(Error::MissingSecret)?;
        if secret.expose_secret().trim().is_empty() {
            return Err(Error::MissingSecret);
        }
        let raw = self.base_url.unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        let mut base = Url::parse(raw.trim())
            .map_err(|e| Error::InvalidInput(format!("base URL `{raw}` is not a URL: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(Error::InvalidInput(format!(
                "base URL `{raw}` must start with http:// or https://"
            )));
        }
        base.set_query(None);
        base.set_fragment(None);
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        let country = self.default_country.trim().to_ascii_uppercase();
        crate::Phone::parse("+224621234567", &country)
            .map_err(|e| Error::InvalidInput(format!("default country: {e}")))?;
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .user_agent(self.user_agent)
            // Never follow redirects: the secret is in the query/body and would be re-sent to
            // (and logged with) the new location, and a redirected POST loses its form.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::InvalidInput(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                secret,
                default_country: country,
                timeout: self.timeout,
                connect_timeout: self.connect_timeout,
                read_retries: self.read_retries,
                retry_backoff: self.retry_backoff,
            }),
        })
    }
}

fn non_empty_env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.trim().is_empty())
}

/// Whether a call may be retried and which HTTP shape it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `GET` + query string; retried on transport errors.
    Read,
    /// `POST` + urlencoded form; never retried.
    Write,
    /// `GET` + query string (documented as GET by the vendor) but with side effects
    /// (deletes, campaign control): never retried.
    Action,
}

/// Request parameters in the order they are sent. Values are plain strings; encoding is done by
/// serde_urlencoded (`+` → `%2B`).
#[derive(Default)]
pub(crate) struct Params(pub(crate) Vec<(&'static str, String)>);

impl Params {
    pub(crate) fn new() -> Self {
        Self(Vec::new())
    }
    pub(crate) fn add(mut self, k: &'static str, v: impl ToString) -> Self {
        self.0.push((k, v.to_string()));
        self
    }
    pub(crate) fn opt(self, k: &'static str, v: Option<impl ToString>) -> Self {
        match v {
            Some(v) => self.add(k, v),
            None => self,
        }
    }
}

/// A file sent as a multipart part.
pub(crate) struct Upload {
    pub(crate) field: &'static str,
    pub(crate) file_name: String,
    pub(crate) bytes: Vec<u8>,
}

/// A decoded envelope.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: i64,
    pub(crate) message: String,
    pub(crate) data: Value,
}

/// The raw HTTP answer (for the PNG of `get/wa.qr`).
pub(crate) struct Raw {
    pub(crate) http_status: u16,
    pub(crate) content_type: String,
    pub(crate) body: Vec<u8>,
}

impl Client {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Builds a client from `MESSAGEPRO_API_SECRET`, `MESSAGEPRO_BASE_URL` (default
    /// [`DEFAULT_BASE_URL`]) and `MESSAGEPRO_DEFAULT_COUNTRY` (default `GN`), read from the
    /// environment or a `.env` file.
    ///
    /// ```no_run
    /// # async fn demo() -> messagepro::Result<()> {
    /// let client = messagepro::Client::from_env()?;
    /// let credits = client.get_credits().await?;
    /// println!("{} {}", credits.credits, credits.currency);
    /// # Ok(()) }
    /// ```
    pub fn from_env() -> Result<Self> {
        ClientBuilder::from_env().build()
    }

    /// The site root requests go to (always ends with `/`).
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The country used to read local phone numbers.
    pub fn default_country(&self) -> &str {
        &self.inner.default_country
    }

    /// Parses a phone number typed by a user with this client's default country.
    pub fn parse_phone(&self, input: &str) -> Result<crate::Phone> {
        crate::Phone::parse(input, &self.inner.default_country)
            .map_err(|e| Error::InvalidInput(e.to_string()))
    }

    fn url(&self, endpoint: &str) -> Result<Url> {
        self.inner
            .base
            .join(&format!("api/{endpoint}"))
            .map_err(|e| Error::InvalidInput(format!("bad endpoint {endpoint}: {e}")))
    }

    fn redact(&self, text: &str) -> String {
        redact_snippet(text, self.inner.secret.expose_secret(), 200)
    }

    /// Sends one request (with retries for reads) and returns the raw HTTP answer.
    pub(crate) async fn send_raw(
        &self,
        endpoint: &'static str,
        kind: Kind,
        params: Params,
        uploads: Vec<Upload>,
        with_secret: bool,
    ) -> Result<Raw> {
        let span = tracing::debug_span!("messagepro.call", endpoint, kind = ?kind);
        async move {
            let url = self.url(endpoint)?;
            let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(params.0.len() + 1);
            if with_secret {
                pairs.push(("secret", self.inner.secret.expose_secret()));
            }
            pairs.extend(params.0.iter().map(|(k, v)| (*k, v.as_str())));

            let attempts = if kind == Kind::Read {
                self.inner.read_retries + 1
            } else {
                1
            };
            let mut uploads = Some(uploads);
            let mut attempt = 0;
            loop {
                attempt += 1;
                let req = match kind {
                    Kind::Read | Kind::Action => self.inner.http.get(url.clone()).query(&pairs),
                    Kind::Write => {
                        let files = uploads.take().unwrap_or_default();
                        if files.is_empty() {
                            self.inner.http.post(url.clone()).form(&pairs)
                        } else {
                            let mut form = reqwest::multipart::Form::new();
                            for (k, v) in &pairs {
                                form = form.text(k.to_string(), v.to_string());
                            }
                            for f in files {
                                let part =
                                    reqwest::multipart::Part::bytes(f.bytes).file_name(f.file_name);
                                form = form.part(f.field, part);
                            }
                            self.inner.http.post(url.clone()).multipart(form)
                        }
                    }
                };
                match self.execute(req).await {
                    Ok(raw) => {
                        tracing::debug!(endpoint, http_status = raw.http_status, "answer received");
                        return Ok(raw);
                    }
                    Err(e) if e.is_retryable_read() && attempt < attempts => {
                        let delay = self.inner.retry_backoff * 2u32.saturating_pow(attempt - 1);
                        let cause = std::error::Error::source(&e)
                            .map(ToString::to_string)
                            .unwrap_or_default();
                        tracing::info!(endpoint, attempt, ?delay, error = %e, %cause, "read failed, retrying");
                        tokio::time::sleep(delay).await;
                    }
                    Err(e) => {
                        tracing::debug!(endpoint, error = %e, "call failed");
                        return Err(e);
                    }
                }
            }
        }
        .instrument(span)
        .await
    }

    async fn execute(&self, req: reqwest::RequestBuilder) -> Result<Raw> {
        let (timeout, connect_timeout) = (self.inner.timeout, self.inner.connect_timeout);
        let resp = req
            .send()
            .await
            .map_err(|e| Error::from_reqwest(e, timeout, connect_timeout))?;
        let http_status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = resp.bytes().await.map_err(|e| {
            // The request was sent and an answer started: always ambiguous.
            match Error::from_reqwest(e, timeout, connect_timeout) {
                Error::Transport { source, .. } => Error::Transport {
                    source,
                    ambiguous: true,
                },
                Error::Timeout { after, .. } => Error::Timeout {
                    after,
                    ambiguous: true,
                },
                other => other,
            }
        })?;
        Ok(Raw {
            http_status,
            content_type,
            body: body.to_vec(),
        })
    }

    /// Decodes the JSON envelope, whatever its `status`.
    pub(crate) fn envelope(&self, raw: &Raw) -> Result<Answer> {
        let text = String::from_utf8_lossy(&raw.body);
        let parsed: std::result::Result<Value, _> = serde_json::from_str(text.trim());
        let value = match parsed {
            Ok(v) => v,
            // Q23: a PHP warning printed before the JSON.
            Err(e) => match text.find("{\"status\"") {
                Some(i) => {
                    serde_json::from_str(text[i..].trim()).map_err(|e| self.decode_err(raw, e))?
                }
                None => return Err(self.decode_err(raw, e)),
            },
        };
        let Value::Object(mut obj) = value else {
            return Err(Error::Decode {
                http_status: raw.http_status,
                reason: "the answer is not a JSON object".into(),
                snippet: self.redact(&text),
            });
        };
        let status = obj
            .get("status")
            .and_then(|s| match s {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            })
            .ok_or_else(|| Error::Decode {
                http_status: raw.http_status,
                reason: "the answer has no integer `status` field".into(),
                snippet: self.redact(&text),
            })?;
        let message = match obj.remove("message") {
            Some(Value::String(s)) => s,
            _ => String::new(),
        };
        let data = obj.remove("data").unwrap_or(Value::Bool(false));
        Ok(Answer {
            status,
            message,
            data,
        })
    }

    fn decode_err(&self, raw: &Raw, e: serde_json::Error) -> Error {
        let reason = if (300..400).contains(&raw.http_status) {
            "the server answered with a redirect, which is not followed (it would re-send the \
             secret); set the base URL to the final address, e.g. https:// instead of http://"
                .to_owned()
        } else {
            format!("not JSON ({e})")
        };
        Error::Decode {
            http_status: raw.http_status,
            reason,
            snippet: self.redact(&String::from_utf8_lossy(&raw.body)),
        }
    }

    /// One call that must succeed with `status` 200.
    pub(crate) async fn call(
        &self,
        endpoint: &'static str,
        kind: Kind,
        params: Params,
    ) -> Result<Answer> {
        self.call_with_files(endpoint, kind, params, Vec::new())
            .await
    }

    /// Like [`call`](Self::call), with multipart file parts (always a `POST`).
    pub(crate) async fn call_with_files(
        &self,
        endpoint: &'static str,
        kind: Kind,
        params: Params,
        uploads: Vec<Upload>,
    ) -> Result<Answer> {
        let raw = self.send_raw(endpoint, kind, params, uploads, true).await?;
        let answer = self.envelope(&raw)?;
        if answer.status == 200 {
            Ok(answer)
        } else {
            let err = Error::from_platform(answer.status, answer.message);
            tracing::debug!(endpoint, status = answer.status, error = %err, "platform refused");
            Err(err)
        }
    }

    /// Decodes `data` into `T`.
    pub(crate) fn data<T: DeserializeOwned>(&self, endpoint: &str, data: Value) -> Result<T> {
        serde_json::from_value(data.clone()).map_err(|e| Error::Decode {
            http_status: 200,
            reason: format!("unexpected `data` from {endpoint}: {e}"),
            snippet: self.redact(&data.to_string()),
        })
    }

    /// One message by id and box (`get/sms.message`, `get/wa.message`: `id` + `type`).
    pub(crate) async fn one<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        id: u64,
        kind: &'static str,
    ) -> Result<T> {
        let p = Params::new().add("id", id).add("type", kind);
        let a = self.call(endpoint, Kind::Read, p).await?;
        self.data(endpoint, a.data)
    }

    /// A paginated list; `data: false` is read as an empty list.
    pub(crate) async fn list<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        page: crate::PageRequest,
    ) -> Result<Vec<T>> {
        let a = self.call(endpoint, Kind::Read, page.params()).await?;
        self.list_data(endpoint, a.data)
    }

    pub(crate) fn list_data<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        data: Value,
    ) -> Result<Vec<T>> {
        match data {
            Value::Array(_) => self.data(endpoint, data),
            // A PHP array with holes can serialise as an object.
            Value::Object(o) => self.data(
                endpoint,
                Value::Array(o.into_iter().map(|(_, v)| v).collect()),
            ),
            _ => Ok(Vec::new()),
        }
    }

    /// A call whose only result is the success message.
    pub(crate) async fn ack(
        &self,
        endpoint: &'static str,
        kind: Kind,
        params: Params,
    ) -> Result<crate::Ack> {
        let a = self.call(endpoint, kind, params).await?;
        Ok(crate::Ack { message: a.message })
    }
}
