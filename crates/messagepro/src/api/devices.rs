//! Device-side endpoints: Android devices, gateway/partner rates, shorteners, captured
//! notifications.
//!
//! Money stays text: `partner_rate`, gateway prices and partner rates are kept as the decimal
//! strings the platform sent (numbers are turned into their exact JSON text), so no float
//! rounding sneaks in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::client::{Kind, Params};
use crate::paging::{DEFAULT_FETCH_ALL_LIMIT, PageRequest, fetch_all};
use crate::{Ack, Client, Result, wire};

/// A row of `get/devices`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Device {
    /// Numeric id.
    #[serde(deserialize_with = "wire::uint")]
    pub id: u64,
    /// Unique id used as `device` / `gateway`.
    #[serde(default, deserialize_with = "wire::string")]
    pub unique: String,
    /// Live presence.
    #[serde(default, deserialize_with = "wire::boolean")]
    pub online: bool,
    /// Name.
    #[serde(default, deserialize_with = "wire::html")]
    pub name: String,
    /// Manufacturer.
    #[serde(default, deserialize_with = "wire::html")]
    pub manufacturer: String,
    /// `Android 13`, `Android Pie`, `Unknown`…
    #[serde(default, deserialize_with = "wire::string")]
    pub version: String,
    /// Random delay between sends.
    #[serde(default, deserialize_with = "wire::boolean")]
    pub random_send: bool,
    /// Lower delay bound (s).
    #[serde(default, deserialize_with = "wire::uint")]
    pub random_min: u64,
    /// Upper delay bound (s).
    #[serde(default, deserialize_with = "wire::uint")]
    pub random_max: u64,
    /// Per-device limit enabled.
    #[serde(default, deserialize_with = "wire::boolean")]
    pub limit_status: bool,
    /// `daily` or `monthly`.
    #[serde(default, deserialize_with = "wire::string")]
    pub limit_interval: String,
    /// Limit value.
    #[serde(default, deserialize_with = "wire::uint")]
    pub limit_number: u64,
    /// Captured notification packages (array or object on the wire, Q22).
    #[serde(default, deserialize_with = "wire::string_list")]
    pub notification_packages: Vec<String>,
    /// Shared as partner device.
    #[serde(default, deserialize_with = "wire::boolean")]
    pub partner: bool,
    /// Shared SIM slots.
    #[serde(default, deserialize_with = "wire::string_list")]
    pub partner_sim: Vec<String>,
    /// Partner priority.
    #[serde(default, deserialize_with = "wire::boolean")]
    pub partner_priority: bool,
    /// ISO alpha-2.
    #[serde(default, deserialize_with = "wire::string")]
    pub partner_country: String,
    /// Price per SMS in the partner currency, as decimal text.
    #[serde(default, deserialize_with = "wire::string")]
    pub partner_rate: String,
    /// ISO 4217.
    #[serde(default, deserialize_with = "wire::string")]
    pub partner_currency: String,
    /// Unix seconds.
    #[serde(default, deserialize_with = "wire::int")]
    pub created: i64,
}

/// Prices of a gateway: `default` plus lower-case country keys.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
pub struct Pricing {
    /// Price when the country has no entry.
    #[serde(default, deserialize_with = "wire::opt_string")]
    pub default: Option<String>,
    /// Country (lower-case ISO2) → price.
    #[serde(default, deserialize_with = "wire::string_map")]
    pub countries: BTreeMap<String, String>,
}

impl Pricing {
    /// Price for a country (ISO2, any case), falling back to `default` like the platform.
    pub fn price_for(&self, iso2: &str) -> Option<&str> {
        self.countries
            .get(&iso2.to_ascii_lowercase())
            .or(self.default.as_ref())
            .map(String::as_str)
    }
}

/// A platform gateway in `get/rates`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct GatewayRate {
    /// Gateway id (`gateway` param).
    #[serde(deserialize_with = "wire::uint")]
    pub id: u64,
    /// Name.
    #[serde(default, deserialize_with = "wire::html")]
    pub name: String,
    /// Platform currency.
    #[serde(default, deserialize_with = "wire::string")]
    pub currency: String,
    /// Prices.
    #[serde(default, deserialize_with = "pricing")]
    pub pricing: Pricing,
}

fn pricing<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Pricing, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    match v {
        serde_json::Value::Object(_) => serde_json::from_value(v).map_err(serde::de::Error::custom),
        // Some builds store the pricing JSON as a string.
        serde_json::Value::String(s) => serde_json::from_str(&s).map_err(serde::de::Error::custom),
        _ => Ok(Pricing::default()),
    }
}

/// A partner device of another user in `get/rates`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct PartnerRate {
    /// Unique id (`gateway` param).
    #[serde(default, deserialize_with = "wire::string")]
    pub unique: String,
    /// Name.
    #[serde(default, deserialize_with = "wire::html")]
    pub name: String,
    /// Android version name.
    #[serde(default, deserialize_with = "wire::string")]
    pub version: String,
    /// Priority.
    #[serde(default, deserialize_with = "wire::boolean")]
    pub priority: bool,
    /// Shared slots.
    #[serde(default, deserialize_with = "wire::string_list")]
    pub sim: Vec<String>,
    /// ISO alpha-2.
    #[serde(default, deserialize_with = "wire::string")]
    pub country: String,
    /// ISO 4217.
    #[serde(default, deserialize_with = "wire::string")]
    pub currency: String,
    /// Rate (the platform casts it to int here).
    #[serde(default, deserialize_with = "wire::string")]
    pub rate: String,
    /// Owner's e-mail (disclosed by the platform).
    #[serde(default, deserialize_with = "wire::string")]
    pub owner: String,
    /// `online` / `offline`.
    #[serde(default, deserialize_with = "wire::string")]
    pub status: String,
}

/// `get/rates` answer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
pub struct Rates {
    /// Platform gateways.
    #[serde(default)]
    pub gateways: Vec<GatewayRate>,
    /// Other users' shared devices.
    #[serde(default)]
    pub partners: Vec<PartnerRate>,
}

/// A row of `get/shorteners`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Shortener {
    /// Id (`shortener` param).
    #[serde(deserialize_with = "wire::uint")]
    pub id: u64,
    /// Name.
    #[serde(default, deserialize_with = "wire::html")]
    pub name: String,
}

/// A row of `get/notifications`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Notification {
    /// Row id.
    #[serde(deserialize_with = "wire::uint")]
    pub id: u64,
    /// Device unique.
    #[serde(default, deserialize_with = "wire::string")]
    pub device: String,
    /// Android package.
    #[serde(default, deserialize_with = "wire::string")]
    pub package_name: String,
    /// Title.
    #[serde(default, deserialize_with = "wire::html")]
    pub title: String,
    /// Content.
    #[serde(default, deserialize_with = "wire::html")]
    pub content: String,
    /// Unix seconds (the platform names it `timestamp`).
    #[serde(default, deserialize_with = "wire::int")]
    pub timestamp: i64,
}

impl Client {
    /// One page of the account's Android devices (`get/devices`).
    ///
    /// ```no_run
    /// # async fn demo(client: messagepro::Client) -> messagepro::Result<()> {
    /// for d in client.all_devices().await? {
    ///     println!("{} {} online={}", d.unique, d.name, d.online);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get_devices(&self, page: PageRequest) -> Result<Vec<Device>> {
        self.list("get/devices", page).await
    }

    /// Every device.
    pub async fn all_devices(&self) -> Result<Vec<Device>> {
        fetch_all(DEFAULT_FETCH_ALL_LIMIT, |p| self.get_devices(p)).await
    }

    /// Gateway prices and partner devices (`get/rates`).
    ///
    /// ```no_run
    /// # async fn demo(client: messagepro::Client) -> messagepro::Result<()> {
    /// let rates = client.get_rates().await?;
    /// for g in &rates.gateways {
    ///     println!("{} GN: {:?}", g.name, g.pricing.price_for("GN"));
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get_rates(&self) -> Result<Rates> {
        let a = self.call("get/rates", Kind::Read, Params::new()).await?;
        if a.data.is_object() {
            self.data("get/rates", a.data)
        } else {
            Ok(Rates::default())
        }
    }

    /// Available shorteners (`get/shorteners`).
    pub async fn get_shorteners(&self) -> Result<Vec<Shortener>> {
        let a = self
            .call("get/shorteners", Kind::Read, Params::new())
            .await?;
        self.list_data("get/shorteners", a.data)
    }

    /// One page of captured notifications (`get/notifications`).
    pub async fn get_notifications(&self, page: PageRequest) -> Result<Vec<Notification>> {
        self.list("get/notifications", page).await
    }

    /// Deletes a captured notification (`delete/notification`).
    pub async fn delete_notification(&self, id: u64) -> Result<Ack> {
        self.ack(
            "delete/notification",
            Kind::Action,
            Params::new().add("id", id),
        )
        .await
    }
}
