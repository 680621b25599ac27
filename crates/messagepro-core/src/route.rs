//! How an integration request (or an event rule) names the route of a message, and the
//! configured defaults used when it names none — so a caller can send with only `to` and
//! `text`. One JSON shape for both: `{"device": "<unique>", "sim": 1|2, "priority": bool}`,
//! `{"gateway": "<id or partner device>"}`, or `{"account": "<WhatsApp account unique>"}`.

use messagepro::{Gateway, Sim, SmsRoute};
use serde::{Deserialize, Serialize};

use crate::SendError;

/// A route as a caller writes it (every field optional; which apply depends on the channel).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteChoice {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

/// The routes used when a request names none (`default_sms_route`,
/// `default_whatsapp_account` in the configuration).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DefaultRoutes {
    pub sms: Option<SmsRoute>,
    pub whatsapp: Option<String>,
}

impl RouteChoice {
    /// The SMS route this names, else the default; `route_required` when there is neither,
    /// `invalid_route` when it mixes a device and a gateway or names SIM 3.
    pub fn sms_route(&self, defaults: &DefaultRoutes) -> Result<SmsRoute, SendError> {
        let sim = match self.sim {
            None | Some(1) => Sim::One,
            Some(2) => Sim::Two,
            Some(_) => return Err(SendError::Invalid("invalid_route")),
        };
        match (non_empty(&self.device), non_empty(&self.gateway)) {
            (Some(_), Some(_)) => Err(SendError::Invalid("invalid_route")),
            (Some(device), None) => Ok(SmsRoute::Devices {
                device: device.to_owned(),
                sim,
                priority: self.priority.unwrap_or(false),
            }),
            (None, Some(g)) => Ok(SmsRoute::Credits {
                gateway: Gateway::parse(g),
            }),
            (None, None) => defaults
                .sms
                .clone()
                .ok_or(SendError::Invalid("route_required")),
        }
    }

    /// The WhatsApp account this names, else the default.
    pub fn whatsapp_account(&self, defaults: &DefaultRoutes) -> Result<String, SendError> {
        if non_empty(&self.device).is_some() || non_empty(&self.gateway).is_some() {
            return Err(SendError::Invalid("invalid_route"));
        }
        non_empty(&self.account)
            .map(str::to_owned)
            .or_else(|| defaults.whatsapp.clone())
            .ok_or(SendError::Invalid("route_required"))
    }
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Parses a default SMS route setting: `device:<unique>[:<sim>]` or `gateway:<id or unique>`.
pub fn parse_sms_route_setting(text: &str) -> Result<SmsRoute, String> {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix("device:") {
        let (device, sim) = match rest.rsplit_once(':') {
            Some((d, "1")) => (d, Sim::One),
            Some((d, "2")) => (d, Sim::Two),
            _ => (rest, Sim::One),
        };
        if device.trim().is_empty() {
            return Err(format!("{text:?}: the device is empty"));
        }
        return Ok(SmsRoute::Devices {
            device: device.trim().to_owned(),
            sim,
            priority: false,
        });
    }
    if let Some(g) = text.strip_prefix("gateway:")
        && !g.trim().is_empty()
    {
        return Ok(SmsRoute::Credits {
            gateway: Gateway::parse(g.trim()),
        });
    }
    Err(format!(
        "{text:?} (expected device:<unique id>[:<sim>] or gateway:<id>)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_is_the_callers_else_the_default_else_refused() {
        let none = DefaultRoutes::default();
        let dflt = DefaultRoutes {
            sms: Some(SmsRoute::device("dev-1")),
            whatsapp: Some("wa-1".into()),
        };
        let empty = RouteChoice::default();
        assert_eq!(empty.sms_route(&dflt).unwrap(), SmsRoute::device("dev-1"));
        assert_eq!(empty.sms_route(&none).unwrap_err().code(), "route_required");
        assert_eq!(empty.whatsapp_account(&dflt).unwrap(), "wa-1");
        let dev = RouteChoice {
            device: Some("d2".into()),
            sim: Some(2),
            ..Default::default()
        };
        assert!(matches!(
            dev.sms_route(&none).unwrap(),
            SmsRoute::Devices { sim: Sim::Two, .. }
        ));
        let both = RouteChoice {
            device: Some("d".into()),
            gateway: Some("1".into()),
            ..Default::default()
        };
        assert_eq!(both.sms_route(&dflt).unwrap_err().code(), "invalid_route");
        let sim3 = RouteChoice {
            sim: Some(3),
            ..Default::default()
        };
        assert_eq!(sim3.sms_route(&dflt).unwrap_err().code(), "invalid_route");
    }

    #[test]
    fn settings_name_a_device_with_its_sim_or_a_gateway() {
        assert_eq!(
            parse_sms_route_setting("device:abc:2").unwrap(),
            SmsRoute::Devices {
                device: "abc".into(),
                sim: Sim::Two,
                priority: false
            }
        );
        assert_eq!(
            parse_sms_route_setting("device:abc").unwrap(),
            SmsRoute::device("abc")
        );
        assert_eq!(
            parse_sms_route_setting("gateway:3").unwrap(),
            SmsRoute::credits(Gateway::Id(3))
        );
        assert!(parse_sms_route_setting("dev:abc").is_err());
        assert!(parse_sms_route_setting("device:").is_err());
    }
}
