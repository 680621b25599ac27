//! Permission probes: does this API key hold a given permission? Asked of the platform itself,
//! without side effects, so `messagepro doctor` can list what a key is missing before anyone
//! tries to send.
//!
//! Why it is safe: every endpoint checks the key's permission first (spec § 2, row P3) and only
//! then looks at its parameters. A probe sends the secret and nothing else, so an endpoint the key
//! may use answers a parameter error (`400 "Invalid Parameters!"`) — nothing is sent, created or
//! deleted, and no OTP code is minted (`send/otp` rejects the missing `message` before minting) —
//! while a forbidden one answers `403 "This API key doesn't have permission to use this endpoint!"`.
//! `clear_ussd_pending` is the one permission that cannot be probed this way (`clear/ussd` takes
//! no parameter and would clear the queue), so it is not in the table.

use crate::client::{Kind, Params};
use crate::{Client, Error, Result};

/// One permission and the endpoint that checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PermissionProbe {
    /// The permission name as the platform stores it (e.g. `sms_send`).
    pub permission: &'static str,
    /// The endpoint asked (e.g. `send/sms`).
    pub endpoint: &'static str,
    kind: Kind,
}

const fn probe(permission: &'static str, endpoint: &'static str, kind: Kind) -> PermissionProbe {
    PermissionProbe {
        permission,
        endpoint,
        kind,
    }
}

/// Every permission the platform checks (spec § 1.3), except `clear_ussd_pending` (see the module
/// documentation), with a side-effect-free endpoint for each.
pub const PROBES: &[PermissionProbe] = &[
    probe("otp", "send/otp", Kind::Write),
    probe("sms_send", "send/sms", Kind::Write),
    probe("sms_send_bulk", "send/sms.bulk", Kind::Write),
    probe("wa_send", "send/whatsapp", Kind::Write),
    probe("wa_send_bulk", "send/whatsapp.bulk", Kind::Write),
    probe("ussd", "send/ussd", Kind::Write),
    probe("start_sms_campaign", "remote/start.sms", Kind::Action),
    probe("stop_sms_campaign", "remote/stop.sms", Kind::Action),
    probe("start_wa_campaign", "remote/start.chats", Kind::Action),
    probe("stop_wa_campaign", "remote/stop.chats", Kind::Action),
    probe("validate_wa_phone", "validate/whatsapp", Kind::Action),
    probe("get_credits", "get/credits", Kind::Read),
    probe("get_earnings", "get/earnings", Kind::Read),
    probe("get_subscription", "get/subscription", Kind::Read),
    probe("get_sms_sent", "get/sms.sent", Kind::Read),
    probe("get_sms_campaigns", "get/sms.campaigns", Kind::Read),
    probe("get_sms_pending", "get/sms.pending", Kind::Read),
    probe("get_sms_received", "get/sms.received", Kind::Read),
    probe("create_whatsapp", "create/wa.link", Kind::Write),
    probe("get_wa_sent", "get/wa.sent", Kind::Read),
    probe("get_wa_campaigns", "get/wa.campaigns", Kind::Read),
    probe("get_wa_pending", "get/wa.pending", Kind::Read),
    probe("get_wa_received", "get/wa.received", Kind::Read),
    probe("get_wa_groups", "get/wa.groups", Kind::Read),
    probe("get_contacts", "get/contacts", Kind::Read),
    probe("get_groups", "get/groups", Kind::Read),
    probe("get_unsubscribed", "get/unsubscribed", Kind::Read),
    probe("get_ussd", "get/ussd", Kind::Read),
    probe("get_notifications", "get/notifications", Kind::Read),
    probe("get_wa_accounts", "get/wa.accounts", Kind::Read),
    probe("get_devices", "get/devices", Kind::Read),
    probe("get_rates", "get/rates", Kind::Read),
    probe("get_shorteners", "get/shorteners", Kind::Read),
    probe("create_contact", "create/contact", Kind::Write),
    probe("create_group", "create/group", Kind::Write),
    probe("delete_contact", "delete/contact", Kind::Action),
    probe("delete_group", "delete/group", Kind::Action),
    probe("delete_unsubscribed", "delete/unsubscribed", Kind::Action),
    probe("delete_sms_sent", "delete/sms.sent", Kind::Action),
    probe("delete_sms_campaign", "delete/sms.campaign", Kind::Action),
    probe("delete_sms_received", "delete/sms.received", Kind::Action),
    probe("delete_wa_sent", "delete/wa.sent", Kind::Action),
    probe("delete_wa_received", "delete/wa.received", Kind::Action),
    probe("delete_ussd", "delete/ussd", Kind::Action),
    probe("delete_notification", "delete/notification", Kind::Action),
];

/// The permissions the web console uses (dashboard, SMS, WhatsApp, OTP, contacts and groups).
pub const CONSOLE_PERMISSIONS: &[&str] = &[
    "get_credits",
    "get_subscription",
    "get_devices",
    "get_rates",
    "sms_send",
    "sms_send_bulk",
    "get_sms_sent",
    "get_sms_pending",
    "get_sms_received",
    "get_sms_campaigns",
    "start_sms_campaign",
    "stop_sms_campaign",
    "wa_send",
    "wa_send_bulk",
    "get_wa_accounts",
    "get_wa_sent",
    "get_wa_pending",
    "otp",
    "get_contacts",
    "get_groups",
    "create_contact",
    "create_group",
];

impl Client {
    /// Whether this API key holds `permission` (a platform name such as `sms_send`), asked of the
    /// platform without side effects. `Err(InvalidInput)` for a name that cannot be probed;
    /// `Err(InvalidSecret)` and transport errors are returned as they are.
    ///
    /// ```no_run
    /// # async fn demo(client: messagepro::Client) -> messagepro::Result<()> {
    /// if !client.probe_permission("sms_send").await? {
    ///     eprintln!("this key cannot send SMS: enable `sms_send` in Tools → API Keys");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn probe_permission(&self, permission: &str) -> Result<bool> {
        let probe = PROBES
            .iter()
            .find(|p| p.permission == permission)
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "`{permission}` is not a permission that can be probed"
                ))
            })?;
        let params = match probe.kind {
            // A one-row page keeps list probes cheap.
            Kind::Read => Params::new().add("limit", 1),
            Kind::Write | Kind::Action => Params::new(),
        };
        match self.call(probe.endpoint, probe.kind, params).await {
            Ok(_) => Ok(true),
            Err(Error::PermissionDenied(_)) => Ok(false),
            Err(e @ (Error::InvalidSecret(_) | Error::MissingSecret)) => Err(e),
            Err(e @ (Error::Transport { .. } | Error::Timeout { .. } | Error::Decode { .. })) => {
                Err(e)
            }
            // Any other platform answer (missing parameters, not subscribed…) came after the
            // permission check, so the permission is there.
            Err(_) => Ok(true),
        }
    }
}
