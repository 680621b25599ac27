//! Typed configuration: defaults, then an optional TOML file (`--config`, else `./messagepro.toml`
//! when present), then `MESSAGEPRO_*` environment variables (`.env` is read by the binary in
//! development). Parsed once at start; a bad value stops the start with a message naming it.
//!
//! The Message Pro secret is a [`SecretString`]: `Debug` is redacted and [`Settings::describe`]
//! shows at most its last 4 characters.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::i18n::Lang;

/// The console's configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to listen on (`127.0.0.1:8080`; port 0 picks a free port).
    pub listen: SocketAddr,
    /// `sqlite://…` (default `sqlite://./data/messagepro.db`) or `postgres://…`.
    pub database_url: String,
    /// ISO country used to read local phone numbers (`GN`).
    pub default_country: String,
    /// Language when neither the user nor the browser chose one.
    pub default_language: Lang,
    /// `Secure` attribute of the session cookie (turn off only on plain-http demos).
    pub cookie_secure: bool,
    /// Message Pro API secret.
    pub api_secret: Option<SecretString>,
    /// Message Pro site root.
    pub base_url: String,
    /// A session unused this long is over.
    pub session_idle: Duration,
    /// A session is over this long after login, used or not.
    pub session_absolute: Duration,
    /// How often expired sessions (and old form tokens) are deleted from the database.
    pub session_purge_every: Duration,
    /// Failed logins for one username from one IP before that pair is locked.
    pub login_max_failures: i64,
    /// Failed logins for one username from all IPs together before the username is locked
    /// (a guesser spread over many addresses).
    pub login_user_max_failures: i64,
    /// Failed logins from one IP, all usernames together, before the IP is locked. High by
    /// default: a shop or an office behind one 4G router shares one IP.
    pub login_ip_max_failures: i64,
    /// How long a lock lasts (also the window failures are counted in).
    pub login_lockout: Duration,
    /// Behind one reverse proxy: take the client IP (login throttle, audit) from the last
    /// `X-Forwarded-For` entry. Off by default: the header is forgeable without a proxy.
    pub trust_forwarded_for: bool,
    /// How often the background worker reconciles message status with the platform
    /// (`None` = off).
    pub sync_every: Option<Duration>,
    /// How long a platform read the pages show (rates, devices, accounts, credits) is reused
    /// by every instance (zero: read the platform on every view).
    pub platform_cache: Duration,
    /// A send claimed by a worker that has not finished after this long is `unknown` (then
    /// reconciled). Longer than the platform request timeout (30 s).
    pub lease: Duration,
    /// An `unknown` send not found on the platform after this long is `failed` (never resent).
    pub unknown_grace: Duration,
    /// Sends one worker process makes at once.
    pub worker_concurrency: usize,
    /// The send policy (quiet hours, pacing, opt-out sync) — `messagepro_core::policy`.
    pub policy: messagepro_core::policy::PolicySettings,
    /// The time zone scheduled campaigns are typed and shown in.
    pub time_zone: chrono_tz::Tz,
    /// The SMS route of integration API sends and events that name none.
    pub default_sms_route: Option<messagepro::SmsRoute>,
    /// The WhatsApp account of integration API sends and events that name none.
    pub default_whatsapp_account: Option<String>,
    /// The secret of the platform's webhook posts to `/webhooks/messagepro` (the dashboard
    /// shows it when the webhook is created); unset: every post is refused.
    pub webhook_secret: Option<SecretString>,
    /// Webhooks out: retry schedule, poll, timeout (the library's defaults; tests shorten them).
    pub webhooks: messagepro_core::webhooks::WebhookSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: messagepro_store::DEFAULT_DATABASE_URL.to_owned(),
            default_country: "GN".to_owned(),
            default_language: Lang::Fr,
            cookie_secure: true,
            api_secret: None,
            base_url: "https://messagepro-gn.com".to_owned(),
            session_idle: Duration::from_secs(30 * 60),
            session_absolute: Duration::from_secs(12 * 3600),
            session_purge_every: Duration::from_secs(10 * 60),
            login_max_failures: 5,
            login_user_max_failures: 20,
            login_ip_max_failures: 100,
            login_lockout: Duration::from_secs(15 * 60),
            trust_forwarded_for: false,
            sync_every: Some(Duration::from_secs(5)),
            platform_cache: messagepro_core::reads::DEFAULT_TTL,
            lease: Duration::from_secs(90),
            unknown_grace: Duration::from_secs(600),
            worker_concurrency: 32,
            policy: messagepro_core::policy::PolicySettings {
                sms_rate: Some(messagepro_core::policy::Rate::per_minute(20)),
                wa_campaign_gap: Some((Duration::from_secs(80), Duration::from_secs(160))),
                suppression_sync_every: Some(Duration::from_secs(60)),
                ..Default::default()
            },
            time_zone: chrono_tz::Africa::Conakry,
            default_sms_route: None,
            default_whatsapp_account: None,
            webhook_secret: None,
            webhooks: messagepro_core::webhooks::WebhookSettings::default(),
        }
    }
}

/// The TOML file: every key optional, unknown keys refused (a typo must not be ignored).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    database_url: Option<String>,
    default_country: Option<String>,
    default_language: Option<String>,
    cookie_secure: Option<bool>,
    api_secret: Option<String>,
    base_url: Option<String>,
    session_idle_minutes: Option<u64>,
    session_absolute_hours: Option<u64>,
    session_purge_minutes: Option<u64>,
    login_max_failures: Option<i64>,
    login_user_max_failures: Option<i64>,
    login_ip_max_failures: Option<i64>,
    login_lockout_minutes: Option<u64>,
    trust_forwarded_for: Option<bool>,
    sync_seconds: Option<u64>,
    platform_cache_seconds: Option<u64>,
    lease_seconds: Option<u64>,
    unknown_grace_seconds: Option<u64>,
    worker_concurrency: Option<u64>,
    quiet_hours: Option<String>,
    sms_per_minute: Option<u64>,
    sms_daily_cap: Option<u64>,
    whatsapp_gap_seconds: Option<String>,
    suppression_sync_seconds: Option<u64>,
    time_zone: Option<String>,
    default_sms_route: Option<String>,
    default_whatsapp_account: Option<String>,
    webhook_secret: Option<String>,
}

impl Settings {
    /// Loads from `file` (must exist when given), else `./messagepro.toml` if present, then the
    /// process environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Settings> {
        let text =
            match file {
                Some(p) => Some(std::fs::read_to_string(p).with_context(|| {
                    format!("cannot read the configuration file {}", p.display())
                })?),
                None => std::fs::read_to_string("messagepro.toml").ok(),
            };
        Settings::from_sources(text.as_deref(), |k| std::env::var(k).ok())
    }

    /// Builds settings from a TOML text and an environment lookup (testable without touching
    /// the process environment).
    pub fn from_sources(
        toml_text: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Settings> {
        let f: FileSettings = match toml_text {
            Some(t) => toml::from_str(t).context("invalid configuration file")?,
            None => FileSettings::default(),
        };
        let mut s = Settings::default();
        let pick = |key: &str, file: Option<String>| env(key).or(file);

        if let Some(v) = pick("MESSAGEPRO_LISTEN", f.listen) {
            s.listen = v.parse().with_context(|| {
                format!("invalid listen address {v:?} (expected e.g. 127.0.0.1:8080)")
            })?;
        }
        if let Some(v) = env("MESSAGEPRO_DATABASE_URL")
            .or_else(|| env("DATABASE_URL"))
            .or(f.database_url)
        {
            s.database_url = v;
        }
        if let Some(v) = pick("MESSAGEPRO_DEFAULT_COUNTRY", f.default_country) {
            let v = v.trim().to_ascii_uppercase();
            anyhow::ensure!(
                v.len() == 2 && v.chars().all(|c| c.is_ascii_uppercase()),
                "invalid default country {v:?} (expected a two-letter ISO code such as GN)"
            );
            s.default_country = v;
        }
        if let Some(v) = pick("MESSAGEPRO_DEFAULT_LANGUAGE", f.default_language) {
            s.default_language = Lang::parse(&v)
                .with_context(|| format!("invalid default language {v:?} (fr or en)"))?;
        }
        let secure = env("MESSAGEPRO_COOKIE_SECURE");
        if let Some(v) = secure {
            s.cookie_secure = parse_bool(&v)
                .with_context(|| format!("invalid MESSAGEPRO_COOKIE_SECURE {v:?} (true/false)"))?;
        } else if let Some(b) = f.cookie_secure {
            s.cookie_secure = b;
        }
        if let Some(v) = env("MESSAGEPRO_TRUST_FORWARDED_FOR") {
            s.trust_forwarded_for = parse_bool(&v).with_context(|| {
                format!("invalid MESSAGEPRO_TRUST_FORWARDED_FOR {v:?} (true/false)")
            })?;
        } else if let Some(b) = f.trust_forwarded_for {
            s.trust_forwarded_for = b;
        }
        if let Some(v) = pick("MESSAGEPRO_API_SECRET", f.api_secret)
            && !v.trim().is_empty()
        {
            s.api_secret = Some(SecretString::from(v.trim().to_owned()));
        }
        if let Some(v) = pick("MESSAGEPRO_BASE_URL", f.base_url) {
            s.base_url = v.trim_end_matches('/').to_owned();
        }
        let num = |key: &str, file: Option<u64>| -> anyhow::Result<Option<u64>> {
            match env(key) {
                Some(v) => {
                    Ok(Some(v.parse().with_context(|| {
                        format!("invalid {key} {v:?} (a whole number)")
                    })?))
                }
                None => Ok(file),
            }
        };
        if let Some(m) = num("MESSAGEPRO_SESSION_IDLE_MINUTES", f.session_idle_minutes)? {
            s.session_idle = Duration::from_secs(m.max(1) * 60);
        }
        if let Some(h) = num(
            "MESSAGEPRO_SESSION_ABSOLUTE_HOURS",
            f.session_absolute_hours,
        )? {
            s.session_absolute = Duration::from_secs(h.max(1) * 3600);
        }
        if let Some(m) = num("MESSAGEPRO_SESSION_PURGE_MINUTES", f.session_purge_minutes)? {
            s.session_purge_every = Duration::from_secs(m.max(1) * 60);
        }
        if let Some(n) = num(
            "MESSAGEPRO_LOGIN_MAX_FAILURES",
            f.login_max_failures.map(|n| n.max(1) as u64),
        )? {
            s.login_max_failures = n.max(1) as i64;
        }
        if let Some(n) = num(
            "MESSAGEPRO_LOGIN_USER_MAX_FAILURES",
            f.login_user_max_failures.map(|n| n.max(1) as u64),
        )? {
            s.login_user_max_failures = n.max(1) as i64;
        }
        if let Some(n) = num(
            "MESSAGEPRO_LOGIN_IP_MAX_FAILURES",
            f.login_ip_max_failures.map(|n| n.max(1) as u64),
        )? {
            s.login_ip_max_failures = n.max(1) as i64;
        }
        if let Some(m) = num("MESSAGEPRO_LOGIN_LOCKOUT_MINUTES", f.login_lockout_minutes)? {
            s.login_lockout = Duration::from_secs(m.max(1) * 60);
        }
        if let Some(secs) = num("MESSAGEPRO_SYNC_SECONDS", f.sync_seconds)? {
            s.sync_every = (secs > 0).then(|| Duration::from_secs(secs));
        }
        if let Some(secs) = num(
            "MESSAGEPRO_PLATFORM_CACHE_SECONDS",
            f.platform_cache_seconds,
        )? {
            s.platform_cache = Duration::from_secs(secs.min(3_600));
        }
        if let Some(secs) = num("MESSAGEPRO_LEASE_SECONDS", f.lease_seconds)? {
            s.lease = Duration::from_secs(secs.max(1));
        }
        if let Some(secs) = num("MESSAGEPRO_UNKNOWN_GRACE_SECONDS", f.unknown_grace_seconds)? {
            s.unknown_grace = Duration::from_secs(secs);
        }
        if let Some(n) = num("MESSAGEPRO_WORKER_CONCURRENCY", f.worker_concurrency)? {
            s.worker_concurrency = n.clamp(1, 1024) as usize;
        }
        let policy = &mut s.policy;
        if let Some(v) = pick("MESSAGEPRO_QUIET_HOURS", f.quiet_hours) {
            policy.quiet_hours = if matches!(v.trim(), "off" | "none" | "") {
                messagepro_core::quiet::QuietHours::disabled()
            } else {
                v.parse().with_context(|| {
                    format!("invalid quiet hours {v:?} (e.g. 21:00-08:00, or off)")
                })?
            };
        }
        if let Some(n) = num("MESSAGEPRO_SMS_PER_MINUTE", f.sms_per_minute)? {
            policy.sms_rate =
                (n > 0).then(|| messagepro_core::policy::Rate::per_minute(n.min(6_000) as u32));
        }
        if let Some(n) = num("MESSAGEPRO_SMS_DAILY_CAP", f.sms_daily_cap)? {
            policy.sms_daily_cap = (n > 0).then_some(n as i64);
        }
        if let Some(v) = pick("MESSAGEPRO_WHATSAPP_GAP_SECONDS", f.whatsapp_gap_seconds) {
            policy.wa_campaign_gap = parse_gap(&v).with_context(|| {
                format!("invalid WhatsApp gap {v:?} (seconds, e.g. 80-160, or off)")
            })?;
        }
        if let Some(n) = num(
            "MESSAGEPRO_SUPPRESSION_SYNC_SECONDS",
            f.suppression_sync_seconds,
        )? {
            policy.suppression_sync_every = (n > 0).then(|| Duration::from_secs(n));
        }
        if let Some(v) = pick("MESSAGEPRO_TIME_ZONE", f.time_zone) {
            s.time_zone = v.trim().parse().map_err(|_| {
                anyhow::anyhow!("invalid time zone {v:?} (an IANA name such as Africa/Conakry)")
            })?;
        }
        if let Some(v) = pick("MESSAGEPRO_DEFAULT_SMS_ROUTE", f.default_sms_route)
            && !v.trim().is_empty()
        {
            s.default_sms_route = Some(
                messagepro_core::route::parse_sms_route_setting(&v)
                    .map_err(|e| anyhow::anyhow!("invalid default SMS route {e}"))?,
            );
        }
        if let Some(v) = pick(
            "MESSAGEPRO_DEFAULT_WHATSAPP_ACCOUNT",
            f.default_whatsapp_account,
        ) && !v.trim().is_empty()
        {
            s.default_whatsapp_account = Some(v.trim().to_owned());
        }
        if let Some(v) = pick("MESSAGEPRO_WEBHOOK_SECRET", f.webhook_secret)
            && !v.trim().is_empty()
        {
            s.webhook_secret = Some(SecretString::from(v.trim().to_owned()));
        }
        Ok(s)
    }

    /// The effective configuration as `(key, value)` lines, secrets masked — for
    /// `messagepro config print` and the admin pages.
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        vec![
            ("listen", self.listen.to_string()),
            ("database_url", mask_url(&self.database_url)),
            ("default_country", self.default_country.clone()),
            ("default_language", self.default_language.code().to_owned()),
            ("cookie_secure", self.cookie_secure.to_string()),
            (
                "api_secret",
                self.api_secret
                    .as_ref()
                    .map(|s| mask_secret(s.expose_secret()))
                    .unwrap_or_else(|| "(not set)".to_owned()),
            ),
            ("base_url", self.base_url.clone()),
            (
                "session_idle_minutes",
                (self.session_idle.as_secs() / 60).to_string(),
            ),
            (
                "session_absolute_hours",
                (self.session_absolute.as_secs() / 3600).to_string(),
            ),
            (
                "session_purge_minutes",
                (self.session_purge_every.as_secs() / 60).to_string(),
            ),
            ("login_max_failures", self.login_max_failures.to_string()),
            (
                "login_user_max_failures",
                self.login_user_max_failures.to_string(),
            ),
            (
                "login_ip_max_failures",
                self.login_ip_max_failures.to_string(),
            ),
            (
                "login_lockout_minutes",
                (self.login_lockout.as_secs() / 60).to_string(),
            ),
            (
                "sync_seconds",
                self.sync_every.map_or(0, |d| d.as_secs()).to_string(),
            ),
            (
                "platform_cache_seconds",
                self.platform_cache.as_secs().to_string(),
            ),
            ("lease_seconds", self.lease.as_secs().to_string()),
            (
                "unknown_grace_seconds",
                self.unknown_grace.as_secs().to_string(),
            ),
            ("worker_concurrency", self.worker_concurrency.to_string()),
            ("quiet_hours", {
                let q = self.policy.quiet_hours;
                if q.is_disabled() {
                    "off".to_owned()
                } else {
                    q.to_string()
                }
            }),
            (
                "sms_per_minute",
                self.policy.sms_rate.map_or(0, |r| r.count).to_string(),
            ),
            (
                "sms_daily_cap",
                self.policy.sms_daily_cap.unwrap_or(0).to_string(),
            ),
            (
                "whatsapp_gap_seconds",
                self.policy
                    .wa_campaign_gap
                    .map_or("off".to_owned(), |(a, b)| {
                        format!("{}-{}", a.as_secs(), b.as_secs())
                    }),
            ),
            (
                "suppression_sync_seconds",
                self.policy
                    .suppression_sync_every
                    .map_or(0, |d| d.as_secs())
                    .to_string(),
            ),
            ("time_zone", self.time_zone.name().to_owned()),
            (
                "default_sms_route",
                match &self.default_sms_route {
                    Some(messagepro::SmsRoute::Devices { device, sim, .. }) => {
                        format!("device:{device}:{}", sim.number())
                    }
                    Some(messagepro::SmsRoute::Credits { gateway }) => match gateway {
                        messagepro::Gateway::Id(id) => format!("gateway:{id}"),
                        messagepro::Gateway::Partner(u) => format!("gateway:{u}"),
                    },
                    None => "(not set)".to_owned(),
                },
            ),
            (
                "default_whatsapp_account",
                self.default_whatsapp_account
                    .clone()
                    .unwrap_or_else(|| "(not set)".to_owned()),
            ),
            (
                "webhook_secret",
                self.webhook_secret
                    .as_ref()
                    .map(|s| mask_secret(s.expose_secret()))
                    .unwrap_or_else(|| "(not set)".to_owned()),
            ),
        ]
    }
}

/// `80-160` (seconds) → the gap range; `off` → none.
fn parse_gap(v: &str) -> Option<Option<(Duration, Duration)>> {
    let v = v.trim();
    if matches!(v, "off" | "none" | "0") {
        return Some(None);
    }
    let (a, b) = v.split_once(['-', '–']).unwrap_or((v, v));
    let (a, b): (u64, u64) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (a <= b && b <= 86_400).then(|| Some((Duration::from_secs(a), Duration::from_secs(b))))
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// `••••` + the last 4 characters, or only `••••` when the secret is too short to show any.
pub fn mask_secret(s: &str) -> String {
    let n = s.chars().count();
    if n < 12 {
        "••••".to_owned()
    } else {
        let tail: String = s.chars().skip(n - 4).collect();
        format!("••••{tail}")
    }
}

/// Hides the password of a database URL (`postgres://user:pw@host` → `postgres://user:••••@host`).
pub fn mask_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((creds, host)) = rest.rsplit_once('@')
        && let Some((user, _pw)) = creds.split_once(':')
    {
        return format!("{scheme}://{user}:••••@{host}");
    }
    url.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn the_sync_period_comes_from_the_file_or_the_environment_and_zero_turns_it_off() {
        let d = Settings::from_sources(None, env(&[])).unwrap();
        assert_eq!(d.sync_every, Some(Duration::from_secs(5)));
        let f = Settings::from_sources(Some("sync_seconds = 2"), env(&[])).unwrap();
        assert_eq!(f.sync_every, Some(Duration::from_secs(2)));
        let off = Settings::from_sources(
            Some("sync_seconds = 2"),
            env(&[("MESSAGEPRO_SYNC_SECONDS", "0")]),
        )
        .unwrap();
        assert_eq!(off.sync_every, None);
        assert!(Settings::from_sources(None, env(&[("MESSAGEPRO_SYNC_SECONDS", "x")])).is_err());
    }

    #[test]
    fn the_lockout_limits_have_nat_friendly_defaults_and_can_be_set() {
        let d = Settings::from_sources(None, env(&[])).unwrap();
        assert_eq!(
            (
                d.login_max_failures,
                d.login_user_max_failures,
                d.login_ip_max_failures
            ),
            (5, 20, 100)
        );
        let s = Settings::from_sources(
            Some("login_ip_max_failures = 300\nlogin_user_max_failures = 30"),
            env(&[("MESSAGEPRO_LOGIN_IP_MAX_FAILURES", "500")]),
        )
        .unwrap();
        assert_eq!(
            (s.login_user_max_failures, s.login_ip_max_failures),
            (30, 500)
        );
        assert!(
            Settings::from_sources(None, env(&[("MESSAGEPRO_LOGIN_IP_MAX_FAILURES", "many")]))
                .is_err()
        );
        let described = s.describe();
        assert!(described.contains(&("login_ip_max_failures", "500".to_owned())));
    }

    #[test]
    fn defaults_are_safe() {
        let s = Settings::from_sources(None, env(&[])).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.database_url, "sqlite://./data/messagepro.db");
        assert_eq!(
            (s.default_country.as_str(), s.default_language),
            ("GN", Lang::Fr)
        );
        assert!(s.cookie_secure);
        assert!(s.api_secret.is_none());
        assert_eq!(s.base_url, "https://messagepro-gn.com");
    }

    #[test]
    fn environment_overrides_the_file() {
        let toml = "listen = \"0.0.0.0:9000\"\ndefault_language = \"en\"\ncookie_secure = false\n";
        let s = Settings::from_sources(
            Some(toml),
            env(&[
                ("MESSAGEPRO_LISTEN", "127.0.0.1:0"),
                ("DATABASE_URL", "postgres://x@h/db"),
            ]),
        )
        .unwrap();
        assert_eq!(s.listen.port(), 0);
        assert_eq!(s.default_language, Lang::En);
        assert!(!s.cookie_secure);
        assert_eq!(s.database_url, "postgres://x@h/db");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        assert!(Settings::from_sources(Some("lisen = \"x\""), env(&[])).is_err());
        assert!(
            Settings::from_sources(None, env(&[("MESSAGEPRO_DEFAULT_LANGUAGE", "de")])).is_err()
        );
        assert!(
            Settings::from_sources(None, env(&[("MESSAGEPRO_COOKIE_SECURE", "maybe")])).is_err()
        );
    }

    #[test]
    fn the_secret_never_shows_in_debug_or_describe() {
        let secret = "sk-SENTINEL-0123456789abcdef";
        let s = Settings::from_sources(None, env(&[("MESSAGEPRO_API_SECRET", secret)])).unwrap();
        let debug = format!("{s:?}");
        assert!(!debug.contains("SENTINEL"), "{debug}");
        let shown = s
            .describe()
            .into_iter()
            .find(|(k, _)| *k == "api_secret")
            .unwrap()
            .1;
        assert_eq!(shown, "••••cdef");
        assert_eq!(mask_secret("short"), "••••");
        assert_eq!(
            mask_url("postgres://u:pw@h:5432/db"),
            "postgres://u:••••@h:5432/db"
        );
    }
}
