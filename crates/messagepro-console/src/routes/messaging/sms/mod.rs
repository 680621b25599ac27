//! `/messaging/sms/...` — send one SMS (with a live segment counter, `send.rs`), SMS campaigns
//! (preview, then send now or later; pause/resume/cancel, `bulk.rs`), and the SMS history (filters, pages, CSV export,
//! `history.rs`). This file holds the routes and what the pages share: the route choice (own
//! device or credits) and the amounts.
//!
//! Handlers only parse and render: phone numbers are parsed here with the configured default
//! country, the route (own device or credits) is built from the form, and every send goes through
//! the one send service ([`crate::send`]), which records the attempt before calling Message Pro.
//! Cost estimates come from [`messagepro_core::pricing`]; this file only formats the amounts.
//! Platform lists (devices, rates, groups, campaigns) fail soft: the page still renders and says
//! the platform is unreachable.

mod bulk;
mod history;
mod send;

use std::collections::HashMap;

use askama::Template;
use axum::extract::{FromRequest, Multipart, Query, Request};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use http::{StatusCode, header};
use messagepro::sms::{Encoding, analyze};
use messagepro::{Gateway, Phone, Rates, Sim, SmsRoute};
use messagepro_core::pricing::{self, Price};
use messagepro_store::{
    Campaign, CampaignStatus, Channel, Message, MessageFilter, MessageStatus, Page,
};
use serde::Deserialize;

use crate::app::AppState;
use crate::error::AppError;
use crate::permissions::Permission;
use crate::routes::{Access, RouteRule};
use crate::send::recipients::{InvalidLine, RecipientList};
use crate::send::{CampaignRequest, SendChannel, SendError, SendRequest};
use crate::ui::{PageCtx, Ui, flash, render};

const SEND: Access = Access::Perm(Permission::SendSms);
const READ: Access = Access::Perm(Permission::MessagingRead);

use bulk::*;
pub use history::*;
use send::*;

pub const RULES: &[RouteRule] = &[
    RouteRule::get("/messaging/sms/send", SEND),
    RouteRule::post("/messaging/sms/send", SEND),
    RouteRule::post("/messaging/sms/analyze", SEND),
    RouteRule::get("/messaging/sms/bulk", SEND),
    RouteRule::get("/messaging/sms/bulk/campaigns", SEND),
    RouteRule::post("/messaging/sms/bulk", SEND),
    RouteRule::post("/messaging/sms/bulk/preview", SEND),
    RouteRule::post("/messaging/sms/bulk/{id}/pause", SEND),
    RouteRule::post("/messaging/sms/bulk/{id}/resume", SEND),
    RouteRule::post("/messaging/sms/bulk/{id}/cancel", SEND),
    RouteRule::get("/messaging/sms/history", READ),
    RouteRule::get("/messaging/sms/history.csv", READ),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/messaging/sms/send", get(send_page).post(send_submit))
        .route("/messaging/sms/analyze", post(analyze_fragment))
        .route("/messaging/sms/bulk", get(bulk_page).post(bulk_send))
        .route("/messaging/sms/bulk/campaigns", get(bulk_campaigns))
        .route("/messaging/sms/bulk/preview", post(bulk_preview))
        .route("/messaging/sms/bulk/{id}/pause", post(bulk_pause))
        .route("/messaging/sms/bulk/{id}/resume", post(bulk_resume))
        .route("/messaging/sms/bulk/{id}/cancel", post(bulk_cancel))
        .route("/messaging/sms/history", get(history))
        .route("/messaging/sms/history.csv", get(history_csv))
}

// ----- route choice (devices / credits) -------------------------------------------------------

/// The route fields shared by the single and the campaign forms.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RouteFields {
    /// `devices` or `credits`.
    pub mode: String,
    /// Own device unique id.
    pub device: String,
    /// `1` or `2`.
    pub sim: String,
    /// Checkbox: present when ticked.
    pub priority: Option<String>,
    /// Gateway id or partner device unique id.
    pub gateway: String,
}

impl RouteFields {
    fn from_pairs(f: &HashMap<String, String>) -> RouteFields {
        let g = |k: &str| f.get(k).cloned().unwrap_or_default();
        RouteFields {
            mode: g("mode"),
            device: g("device"),
            sim: g("sim"),
            priority: f.get("priority").cloned(),
            gateway: g("gateway"),
        }
    }

    fn is_credits(&self) -> bool {
        self.mode == "credits"
    }

    /// The route, or the translation key of what is missing.
    fn route(&self) -> Result<SmsRoute, &'static str> {
        if self.is_credits() {
            let g = self.gateway.trim();
            if g.is_empty() {
                return Err("sms.error.no_gateway");
            }
            Ok(SmsRoute::credits(Gateway::parse(g)))
        } else {
            let d = self.device.trim();
            if d.is_empty() {
                return Err("sms.error.no_device");
            }
            Ok(SmsRoute::Devices {
                device: d.to_owned(),
                sim: if self.sim.trim() == "2" {
                    Sim::Two
                } else {
                    Sim::One
                },
                priority: self.priority.is_some(),
            })
        }
    }
}

/// A device in the picker.
#[derive(Debug, Clone)]
pub struct DeviceOpt {
    pub unique: String,
    pub name: String,
    pub online: bool,
    pub selected: bool,
}

/// A paid route in the picker, with its price for the recipient's country.
#[derive(Debug, Clone)]
pub struct GatewayOpt {
    pub value: String,
    pub label: String,
    /// `"25 GNF"`, or empty when the route has no price for that country.
    pub price: String,
    pub selected: bool,
}

/// What the route pickers offer (from the platform, fail soft).
#[derive(Debug, Clone, Default)]
pub struct Choices {
    pub devices: Vec<DeviceOpt>,
    pub gateways: Vec<GatewayOpt>,
    /// The platform could not be read: pickers may be empty.
    pub unreachable: bool,
    /// Country the prices are for (ISO2).
    pub country: String,
    rates: Rates,
}

/// An estimate to three decimals at most, grouped the `lang` way (« 1 234,5 GNF »).
fn money(v: f64, currency: &str, lang: crate::i18n::Lang) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{} {currency}", crate::i18n::amount(lang, s))
}

fn price_text(p: &Price, lang: crate::i18n::Lang) -> String {
    money(p.amount, &p.currency, lang)
}

async fn load_choices(
    state: &AppState,
    country: &str,
    sel: &RouteFields,
    lang: crate::i18n::Lang,
) -> Choices {
    let (devices, rates) = tokio::join!(state.core.devices_read(), state.core.rates_read());
    let (devices, rates) = (devices.map(|r| r.value), rates.map(|r| r.value));
    let mut c = Choices {
        country: country.to_owned(),
        ..Default::default()
    };
    match devices {
        Ok(ds) => {
            c.devices = ds
                .into_iter()
                .map(|d| DeviceOpt {
                    selected: d.unique == sel.device,
                    name: if d.name.is_empty() {
                        d.unique.clone()
                    } else {
                        d.name.clone()
                    },
                    unique: d.unique,
                    online: d.online,
                })
                .collect();
            // online devices first
            c.devices.sort_by_key(|d| !d.online);
        }
        Err(e) => {
            tracing::warn!(error = %e, "device list unavailable");
            c.unreachable = true;
        }
    }
    match rates {
        Ok(r) => {
            let price = |v: &str| {
                pricing::unit_price(&r, v, country)
                    .map(|p| price_text(&p, lang))
                    .unwrap_or_default()
            };
            for g in &r.gateways {
                let value = g.id.to_string();
                c.gateways.push(GatewayOpt {
                    price: price(&value),
                    selected: value == sel.gateway,
                    label: g.name.clone(),
                    value,
                });
            }
            for p in &r.partners {
                c.gateways.push(GatewayOpt {
                    price: price(&p.unique),
                    selected: p.unique == sel.gateway,
                    label: format!("{} ({}, {})", p.name, p.country, p.status),
                    value: p.unique.clone(),
                });
            }
            c.rates = r;
        }
        Err(e) => {
            tracing::warn!(error = %e, "rates unavailable");
            c.unreachable = true;
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_trims_useless_decimals() {
        use crate::i18n::Lang;
        assert_eq!(money(25.0, "GNF", Lang::Fr), "25 GNF");
        assert_eq!(money(0.125, "USD", Lang::En), "0.125 USD");
        assert_eq!(money(50_000.0, "GNF", Lang::Fr), "50\u{202f}000 GNF");
        assert_eq!(money(1234.5, "GNF", Lang::Fr), "1\u{202f}234,5 GNF");
        assert_eq!(money(1234.5, "USD", Lang::En), "1,234.5 USD");
    }
}
