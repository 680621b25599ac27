//! Platform reads the pages show — rates, devices, WhatsApp accounts, credits, subscription —
//! cached in the database (`platform_reads`) for every instance: a page (or the SMS counter, on
//! every keystroke) reads the platform at most once per TTL ([`crate::CoreSettings::platform_cache`],
//! [`DEFAULT_TTL`]) across all instances, and
//! when the platform is slow or down it shows the last answer, marked stale, up to
//! [`MAX_STALE_MS`] old.
//!
//! Sends never use these: the online check before an SMS keeps its own few-second read
//! ([`Core::check_device`](crate::Core)), and what a send does is decided by the platform's
//! answer to that send.

use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Core;

/// How long a read is fresh, by default.
pub const DEFAULT_TTL: std::time::Duration = std::time::Duration::from_secs(15);
/// How old a read may be when the platform cannot be read.
pub const MAX_STALE_MS: i64 = 6 * 3_600_000;

/// A platform read and its age.
#[derive(Debug, Clone, PartialEq)]
pub struct Read<T> {
    pub value: T,
    /// When the platform answered it (Unix ms).
    pub fetched_ms: i64,
    /// The platform could not be read just now: this is an older answer.
    pub stale: bool,
}

impl Core {
    /// `key`'s value: the cached one while fresh, else `fetch`ed and stored; an older one
    /// (marked stale) if `fetch` fails; the platform's error when there is none.
    async fn read_cached<T, Fut>(
        &self,
        key: &str,
        fetch: impl FnOnce() -> Fut,
    ) -> Result<Read<T>, messagepro::Error>
    where
        T: Serialize + DeserializeOwned,
        Fut: Future<Output = Result<T, messagepro::Error>>,
    {
        let ttl = self.inner.settings.platform_cache.as_millis() as i64;
        if ttl == 0 {
            let value = fetch().await?;
            return Ok(Read {
                value,
                fetched_ms: self.now_ms(),
                stale: false,
            });
        }
        let store = &self.inner.store;
        let now = self.now_ms();
        let cached = match store.platform_read(key).await {
            Ok(row) => {
                row.and_then(|(json, at)| serde_json::from_str::<T>(&json).ok().map(|v| (v, at)))
            }
            Err(e) => {
                tracing::warn!(error = %e, key, "platform read cache unavailable");
                None
            }
        };
        let (cached, at) = match cached {
            Some((v, at)) if now - at < ttl && at <= now => {
                return Ok(Read {
                    value: v,
                    fetched_ms: at,
                    stale: false,
                });
            }
            Some((v, at)) => (Some(v), at),
            None => (None, 0),
        };
        match fetch().await {
            Ok(v) => {
                if let Ok(json) = serde_json::to_string(&v)
                    && let Err(e) = store.platform_read_put(key, &json, now).await
                {
                    tracing::warn!(error = %e, key, "platform read not cached");
                }
                Ok(Read {
                    value: v,
                    fetched_ms: now,
                    stale: false,
                })
            }
            Err(e) => match cached {
                Some(v) if now - at < MAX_STALE_MS => {
                    tracing::warn!(error = %e, key, age_s = (now - at) / 1000,
                        "platform unreadable: showing the last answer");
                    Ok(Read {
                        value: v,
                        fetched_ms: at,
                        stale: true,
                    })
                }
                _ => Err(e),
            },
        }
    }

    /// The platform's prices (`get/rates`).
    pub async fn rates_read(&self) -> Result<Read<messagepro::Rates>, messagepro::Error> {
        let p = &self.inner.platform;
        self.read_cached("rates", || p.get_rates()).await
    }

    /// The account's devices, with their presence at the time of the read.
    pub async fn devices_read(&self) -> Result<Read<Vec<messagepro::Device>>, messagepro::Error> {
        let p = &self.inner.platform;
        self.read_cached("devices", || p.all_devices()).await
    }

    /// The account's WhatsApp accounts.
    pub async fn whatsapp_accounts_read(
        &self,
    ) -> Result<Read<Vec<messagepro::WaAccount>>, messagepro::Error> {
        let p = &self.inner.platform;
        self.read_cached("whatsapp_accounts", || p.all_whatsapp_accounts())
            .await
    }

    /// The credit balance.
    pub async fn credits_read(&self) -> Result<Read<messagepro::Credits>, messagepro::Error> {
        let p = &self.inner.platform;
        self.read_cached("credits", || p.get_credits()).await
    }

    /// The package and its quotas.
    pub async fn subscription_read(
        &self,
    ) -> Result<Read<messagepro::Subscription>, messagepro::Error> {
        let p = &self.inner.platform;
        self.read_cached("subscription", || p.get_subscription())
            .await
    }
}
