//! What an SMS sent with paid credits costs, from the platform's rate table (`get/rates`): the
//! price of one segment on a gateway or a partner device for a recipient's country, and the
//! estimate of a send or a campaign before anything leaves.
//!
//! Written by hand: no library knows Message Pro's rate table. Prices arrive as decimal text;
//! they are read as `f64`, which is exact enough for an estimate the page shows before a send
//! (the platform debits what it debits). Formatting the amount is the caller's business.

use messagepro::{Phone, Rates};

/// An amount in a currency.
#[derive(Debug, Clone, PartialEq)]
pub struct Price {
    pub amount: f64,
    /// As the platform spells it (`GNF`, `USD`…).
    pub currency: String,
}

/// The estimated cost of a send (see [`estimate`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// Sum over the recipients with a price.
    pub total: Price,
    /// Recipients whose country has no price on that route (not in `total`).
    pub unpriced: usize,
}

/// The price of one segment to `country` (ISO2, any case) on `gateway` — a platform gateway id
/// or a partner device's unique id — when the rate table has one. A gateway without an entry
/// for the country uses its default price; a partner device prices only its own country.
pub fn unit_price(rates: &Rates, gateway: &str, country: &str) -> Option<Price> {
    if let Some(g) = rates.gateways.iter().find(|g| g.id.to_string() == gateway) {
        let p = g.pricing.price_for(country)?;
        return Some(Price {
            amount: p.trim().parse().ok()?,
            currency: g.currency.clone(),
        });
    }
    let p = rates.partners.iter().find(|p| p.unique == gateway)?;
    if !p.country.is_empty() && !p.country.eq_ignore_ascii_case(country) {
        return None;
    }
    Some(Price {
        amount: p.rate.trim().parse().ok()?,
        currency: p.currency.clone(),
    })
}

/// The estimated cost of sending `segments` segments to each of `phones` through `gateway`
/// (a number without a known region is priced for `default_country`). `None` when no recipient
/// has a price (or there is none).
pub fn estimate(
    rates: &Rates,
    gateway: &str,
    phones: &[Phone],
    segments: usize,
    default_country: &str,
) -> Option<Estimate> {
    let mut total = 0.0;
    let mut currency = String::new();
    let mut unpriced = 0;
    for p in phones {
        match unit_price(rates, gateway, p.region().unwrap_or(default_country)) {
            Some(price) => {
                total += price.amount * segments as f64;
                currency = price.currency;
            }
            None => unpriced += 1,
        }
    }
    (unpriced < phones.len()).then_some(Estimate {
        total: Price {
            amount: total,
            currency,
        },
        unpriced,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gateway at 250 GNF per segment in Guinea and 400 elsewhere, and a partner device in
    /// Senegal at 30 XOF (the wire shape of `get/rates`).
    fn rates() -> Rates {
        serde_json::from_value(serde_json::json!({
            "gateways": [{
                "id": 7, "name": "Orange", "currency": "GNF",
                "pricing": {"default": "400", "countries": {"gn": "250"}}
            }],
            "partners": [{
                "unique": "p-1", "name": "Dakar", "country": "SN", "currency": "XOF",
                "rate": "30", "status": "online"
            }]
        }))
        .expect("rates")
    }

    fn phone(s: &str) -> Phone {
        Phone::parse(s, "GN").expect("phone")
    }

    #[test]
    fn a_gateway_prices_the_country_then_its_default_and_a_partner_only_its_country() {
        let r = rates();
        let gn = unit_price(&r, "7", "GN").unwrap();
        assert_eq!((gn.amount, gn.currency.as_str()), (250.0, "GNF"));
        assert_eq!(unit_price(&r, "7", "sn").unwrap().amount, 400.0);
        assert_eq!(unit_price(&r, "p-1", "sn").unwrap().amount, 30.0);
        assert_eq!(unit_price(&r, "p-1", "GN"), None);
        assert_eq!(unit_price(&r, "missing", "GN"), None);
    }

    #[test]
    fn a_campaign_estimate_sums_segments_per_recipient_and_counts_the_unpriced() {
        // Arrange
        let r = rates();
        let phones = [
            phone("621234567"),
            phone("+224622112233"),
            phone("+221771234567"),
        ];
        // Act
        let on_gateway = estimate(&r, "7", &phones, 2, "GN").unwrap();
        let on_partner = estimate(&r, "p-1", &phones, 2, "GN").unwrap();
        // Assert: 2 × 250 + 2 × 250 + 2 × 400; the partner prices only Senegal
        assert_eq!(
            on_gateway,
            Estimate {
                total: Price {
                    amount: 1800.0,
                    currency: "GNF".into()
                },
                unpriced: 0
            }
        );
        assert_eq!(
            on_partner,
            Estimate {
                total: Price {
                    amount: 60.0,
                    currency: "XOF".into()
                },
                unpriced: 2
            }
        );
    }

    #[test]
    fn no_estimate_without_a_single_price() {
        let r = rates();
        assert_eq!(estimate(&r, "p-1", &[phone("621234567")], 1, "GN"), None);
        assert_eq!(estimate(&r, "7", &[], 1, "GN"), None);
    }
}
