//! Account endpoints: credit balance, partner earnings, subscription usage.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::client::{Kind, Params};
use crate::{Client, Result, wire};

/// `get/credits`: the balance as the platform stores it (a decimal string, never a float).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Credits {
    /// Decimal string, e.g. `"798.634"`.
    #[serde(deserialize_with = "wire::string")]
    pub credits: String,
    /// Platform currency code, e.g. `GNF`.
    #[serde(default, deserialize_with = "wire::string")]
    pub currency: String,
}

impl Credits {
    /// True when the balance is zero or negative (decided on the decimal text, no float).
    /// An unreadable balance is not reported as exhausted.
    pub fn is_exhausted(&self) -> bool {
        let t = self.credits.trim();
        let digits: Vec<char> = t.chars().filter(char::is_ascii_digit).collect();
        if digits.is_empty()
            || !t
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+'))
        {
            return false;
        }
        t.starts_with('-') || digits.iter().all(|&c| c == '0')
    }
}

/// `get/earnings`: what partner devices earned.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Earnings {
    /// Decimal string.
    #[serde(deserialize_with = "wire::string")]
    pub earnings: String,
    /// Platform currency code.
    #[serde(default, deserialize_with = "wire::string")]
    pub currency: String,
}

/// One quota line of a subscription. `limit` 0 means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub struct Usage {
    /// Consumed so far.
    #[serde(default, deserialize_with = "wire::uint")]
    pub used: u64,
    /// Allowed (0 = unlimited).
    #[serde(default, deserialize_with = "wire::uint")]
    pub limit: u64,
}

impl Usage {
    /// True when a limit is set and reached (the platform's own test, spec §3.5).
    pub fn is_exhausted(&self) -> bool {
        self.limit > 0 && self.used >= self.limit
    }
}

/// `get/subscription`: package name and usage per quota (`sms_send`, `wa_send`, `contacts`, …).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Subscription {
    /// Package name.
    #[serde(deserialize_with = "wire::html")]
    pub name: String,
    /// Quotas by their wire name.
    #[serde(default)]
    pub usage: BTreeMap<String, Usage>,
}

impl Client {
    /// Remaining credits (`get/credits`).
    ///
    /// ```no_run
    /// # async fn demo(client: messagepro::Client) -> messagepro::Result<()> {
    /// let c = client.get_credits().await?;
    /// println!("{} {}", c.credits, c.currency);
    /// # Ok(()) }
    /// ```
    pub async fn get_credits(&self) -> Result<Credits> {
        let a = self.call("get/credits", Kind::Read, Params::new()).await?;
        self.data("get/credits", a.data)
    }

    /// Partner earnings (`get/earnings`).
    pub async fn get_earnings(&self) -> Result<Earnings> {
        let a = self.call("get/earnings", Kind::Read, Params::new()).await?;
        self.data("get/earnings", a.data)
    }

    /// Subscription package and usage (`get/subscription`).
    ///
    /// ```no_run
    /// # async fn demo(client: messagepro::Client) -> messagepro::Result<()> {
    /// let s = client.get_subscription().await?;
    /// if s.usage.get("sms_send").is_some_and(|u| u.is_exhausted()) {
    ///     eprintln!("SMS quota reached for package {}", s.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get_subscription(&self) -> Result<Subscription> {
        let a = self
            .call("get/subscription", Kind::Read, Params::new())
            .await?;
        self.data("get/subscription", a.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credits(s: &str) -> Credits {
        Credits {
            credits: s.into(),
            currency: "GNF".into(),
        }
    }

    #[test]
    fn zero_and_negative_balances_are_exhausted() {
        for s in ["0", "0.000", "-3.5", " 0 "] {
            assert!(credits(s).is_exhausted(), "{s}");
        }
        for s in ["0.001", "1250.5", "", "n/a"] {
            assert!(!credits(s).is_exhausted(), "{s}");
        }
    }
}
