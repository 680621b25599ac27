//! Seeded fixtures: the demo world (default) and an empty one, plus the `FixtureInfo`
//! (`GET /_sim/fixture`) describing every seeded id so tests never hard-code them.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::json;

use crate::model::{
    Account, ApiKey, Contact, Device, Gateway, Group, Handler, Package, Settings, Shortener, State,
    WaAccount, WaServer, World,
};

/// Which world to seed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Fixture {
    /// One account with devices, gateways, WhatsApp accounts, groups and contacts.
    #[default]
    Demo,
    /// One account and its two keys, platform gateways/servers only; no devices or contacts.
    Empty,
}

/// Every permission name the API checks (1.3).
pub const ALL_PERMISSIONS: [&str; 47] = [
    "otp",
    "sms_send",
    "sms_send_bulk",
    "wa_send",
    "wa_send_bulk",
    "ussd",
    "start_sms_campaign",
    "stop_sms_campaign",
    "start_wa_campaign",
    "stop_wa_campaign",
    "clear_ussd_pending",
    "validate_wa_phone",
    "get_credits",
    "get_earnings",
    "get_subscription",
    "get_sms_sent",
    "get_sms_campaigns",
    "get_sms_pending",
    "get_sms_received",
    "create_whatsapp",
    "get_wa_sent",
    "get_wa_campaigns",
    "get_wa_pending",
    "get_wa_received",
    "get_wa_groups",
    "get_contacts",
    "get_groups",
    "get_unsubscribed",
    "get_ussd",
    "get_notifications",
    "get_wa_accounts",
    "get_devices",
    "get_rates",
    "get_shorteners",
    "create_contact",
    "create_group",
    "delete_contact",
    "delete_group",
    "delete_unsubscribed",
    "delete_sms_sent",
    "delete_sms_campaign",
    "delete_sms_received",
    "delete_wa_sent",
    "delete_wa_received",
    "delete_ussd",
    "delete_notification",
    // Q21: `get/sms.message` (the 3.3.8 build ignores it)
    "get_message",
];

/// Permissions of the demo's restricted key.
pub const RESTRICTED_PERMISSIONS: [&str; 5] = [
    "get_credits",
    "get_devices",
    "sms_send",
    "get_sms_sent",
    "get_sms_pending",
];

/// The demo account's user id.
pub const DEMO_USER: u64 = 1;
/// The partner (other user) id.
pub const PARTNER_USER: u64 = 2;

/// The two demo secrets (`Debug` redacts them).
#[derive(Clone, Serialize)]
pub struct Secrets {
    pub full: String,
    pub restricted: String,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets { full: <redacted>, restricted: <redacted> }")
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct DeviceInfo {
    pub id: u64,
    pub unique: String,
    pub name: String,
    pub sims: u8,
}

#[derive(Clone, Debug, Serialize)]
pub struct DevicesInfo {
    pub online: DeviceInfo,
    pub offline: DeviceInfo,
}

#[derive(Clone, Debug, Serialize)]
pub struct GatewayInfo {
    pub id: u64,
    pub name: String,
    pub callback: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct PartnerInfo {
    pub unique: String,
    pub name: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct WaInfo {
    pub id: u64,
    pub unique: String,
    pub phone: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct WhatsAppInfo {
    pub connected: WaInfo,
    pub disconnected: WaInfo,
}

#[derive(Clone, Debug, Serialize)]
pub struct IdName {
    pub id: u64,
    pub name: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ContactInfo {
    pub id: u64,
    pub name: String,
    pub phone: String,
    pub groups: Vec<u64>,
}

/// What was seeded (served by `GET /_sim/fixture`). Holds the secrets: a test fixture by design,
/// but it is never logged.
#[derive(Clone, Serialize)]
pub struct FixtureInfo {
    pub base_url: String,
    pub secrets: Secrets,
    pub restricted_permissions: Vec<String>,
    pub country: String,
    pub currency: String,
    pub user_id: u64,
    pub devices: Option<DevicesInfo>,
    pub gateways: Vec<GatewayInfo>,
    pub partner_device: Option<PartnerInfo>,
    /// Another user's device that is *not* shared (for "Device is not available!").
    pub private_partner_device: Option<PartnerInfo>,
    pub whatsapp: Option<WhatsAppInfo>,
    pub wa_server: u64,
    pub shortener: u64,
    pub groups: Vec<IdName>,
    pub contacts: Vec<ContactInfo>,
}

impl std::fmt::Debug for FixtureInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixtureInfo")
            .field("base_url", &self.base_url)
            .field("secrets", &"<redacted>")
            .finish_non_exhaustive()
    }
}

fn uuid_like(st: &mut State) -> String {
    let h = st.hex(32);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[allow(clippy::too_many_arguments)]
fn device(
    user: u64,
    unique: String,
    name: &str,
    manufacturer: &str,
    version: f64,
    online: bool,
    sims: u8,
    created: i64,
) -> Device {
    Device {
        user,
        unique,
        name: name.into(),
        manufacturer: manufacturer.into(),
        version,
        online,
        sims,
        random_send: false,
        random_min: 5,
        random_max: 10,
        limit_status: false,
        limit_interval: "daily".into(),
        limit_number: 100,
        packages: vec!["com.whatsapp".into(), "com.orange.myorange".into()],
        partner: false,
        partner_sim: vec![],
        partner_priority: false,
        partner_country: "GN".into(),
        partner_rate: 0.0,
        partner_currency: "GNF".into(),
        created,
    }
}

/// Seeds `st` (keys, world, contacts) and returns what was seeded.
pub fn seed(st: &mut State, fixture: Fixture, full_secret: Option<String>) -> FixtureInfo {
    let now = st.now();
    let full = full_secret.unwrap_or_else(|| st.hex(40));
    let restricted = st.hex(40);
    st.keys = HashMap::from([
        (
            full.clone(),
            ApiKey {
                user: DEMO_USER,
                permissions: ALL_PERMISSIONS
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .into(),
            },
        ),
        (
            restricted.clone(),
            ApiKey {
                user: DEMO_USER,
                permissions: RESTRICTED_PERMISSIONS
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .into(),
            },
        ),
    ]);
    let package = Package {
        name: "Starter".into(),
        send_limit: 1_000_000,
        receive_limit: 500,
        ussd_limit: 100,
        notification_limit: 0,
        contact_limit: 100,
        device_limit: 3,
        key_limit: 5,
        webhook_limit: 3,
        action_limit: 0,
        scheduled_limit: 0,
        wa_send_limit: 1000,
        wa_receive_limit: 0,
        wa_account_limit: 3,
        footermark: 2,
        wa_servers: vec![1],
        services: crate::model::all_services(),
    };
    let mut world = World {
        settings: Settings::default(),
        packages: BTreeMap::from([(1, package)]),
        accounts: BTreeMap::from([
            (
                DEMO_USER,
                Account {
                    email: "demo@messagepro.test".into(),
                    country: "GN".into(),
                    credits: 50_000.0,
                    earnings: 1250.5,
                    package: Some(1),
                },
            ),
            (
                PARTNER_USER,
                Account {
                    email: "partner@example.com".into(),
                    country: "GN".into(),
                    credits: 0.0,
                    earnings: 0.0,
                    package: Some(1),
                },
            ),
        ]),
        devices: BTreeMap::new(),
        gateways: BTreeMap::from([
            (
                1,
                Gateway {
                    name: "Orange GN".into(),
                    callback: true,
                    handler: Handler::Ok,
                    provider_fails: false,
                    pricing: json!({ "default": "300", "countries": { "gn": "250", "sn": "350", "ci": "350", "fr": "900" } }),
                },
            ),
            (
                2,
                Gateway {
                    name: "Twilio".into(),
                    callback: false,
                    handler: Handler::Ok,
                    provider_fails: false,
                    pricing: json!({ "default": "600", "countries": { "gn": "450", "sn": "500", "ci": "500", "fr": "700" } }),
                },
            ),
        ]),
        shorteners: BTreeMap::from([(
            1,
            Shortener {
                name: "Bitly".into(),
                broken: false,
            },
        )]),
        wa_servers: BTreeMap::from([(
            1,
            WaServer {
                name: "WA Server Conakry".into(),
                capacity: 100,
                reachable: true,
                qr_ok: true,
                qr_len: 239,
                send_ok: true,
                trigger_ok: true,
            },
        )]),
        wa_accounts: BTreeMap::new(),
    };
    let mut info = FixtureInfo {
        base_url: st.base_url.clone(),
        secrets: Secrets { full, restricted },
        restricted_permissions: RESTRICTED_PERMISSIONS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        country: "GN".into(),
        currency: "GNF".into(),
        user_id: DEMO_USER,
        devices: None,
        gateways: world
            .gateways
            .iter()
            .map(|(id, g)| GatewayInfo {
                id: *id,
                name: g.name.clone(),
                callback: g.callback,
            })
            .collect(),
        partner_device: None,
        private_partner_device: None,
        whatsapp: None,
        wa_server: 1,
        shortener: 1,
        groups: vec![],
        contacts: vec![],
    };
    if fixture == Fixture::Demo {
        let (u1, u2, u3, u4) = (uuid_like(st), uuid_like(st), uuid_like(st), uuid_like(st));
        world.devices.insert(
            1,
            device(
                DEMO_USER,
                u1.clone(),
                "Galaxy A14",
                "Samsung",
                13.0,
                true,
                2,
                now - 3600,
            ),
        );
        world.devices.insert(
            2,
            device(
                DEMO_USER,
                u2.clone(),
                "Tecno Spark 10",
                "Tecno",
                12.0,
                false,
                1,
                now - 1800,
            ),
        );
        let mut shared = device(
            PARTNER_USER,
            u3.clone(),
            "Shop phone",
            "Itel",
            11.0,
            true,
            2,
            now - 7200,
        );
        shared.partner = true;
        shared.partner_sim = vec!["1".into(), "2".into()];
        shared.partner_rate = 150.0;
        world.devices.insert(3, shared);
        world.devices.insert(
            4,
            device(
                PARTNER_USER,
                u4.clone(),
                "Private phone",
                "Nokia",
                10.0,
                true,
                1,
                now - 7000,
            ),
        );
        st.ids.device = 4;
        let (w1, w2) = (st.hex(48), st.hex(48));
        world.wa_accounts.insert(
            1,
            WaAccount {
                user: DEMO_USER,
                server: 1,
                wid: "224621000111:12@s.whatsapp.net".into(),
                unique: w1.clone(),
                status: "connected".into(),
                created: now - 3000,
            },
        );
        world.wa_accounts.insert(
            2,
            WaAccount {
                user: DEMO_USER,
                server: 1,
                wid: "224655000222:3@s.whatsapp.net".into(),
                unique: w2.clone(),
                status: "disconnected".into(),
                created: now - 2000,
            },
        );
        st.ids.wa_account = 2;
        info.devices = Some(DevicesInfo {
            online: DeviceInfo {
                id: 1,
                unique: u1,
                name: "Galaxy A14".into(),
                sims: 2,
            },
            offline: DeviceInfo {
                id: 2,
                unique: u2,
                name: "Tecno Spark 10".into(),
                sims: 1,
            },
        });
        info.partner_device = Some(PartnerInfo {
            unique: u3,
            name: "Shop phone".into(),
        });
        info.private_partner_device = Some(PartnerInfo {
            unique: u4,
            name: "Private phone".into(),
        });
        info.whatsapp = Some(WhatsAppInfo {
            connected: WaInfo {
                id: 1,
                unique: w1,
                phone: "+224621000111".into(),
            },
            disconnected: WaInfo {
                id: 2,
                unique: w2,
                phone: "+224655000222".into(),
            },
        });
        for name in ["Clients Conakry", "Fournisseurs", "Famille"] {
            st.ids.group += 1;
            let id = st.ids.group;
            st.groups.insert(
                id,
                Group {
                    id,
                    user: DEMO_USER,
                    name: name.into(),
                },
            );
            info.groups.push(IdName {
                id,
                name: name.into(),
            });
        }
        for (name, phone, groups) in [
            ("Mamadou Diallo", "+224621234567", "1"),
            ("Fatoumata Camara", "+224655123456", "1,2"),
            ("Ibrahima Sow", "+224622345678", "2"),
            ("Aissatou Bah", "+224664123456", "3"),
        ] {
            st.ids.contact += 1;
            let id = st.ids.contact;
            st.contacts.insert(
                id,
                Contact {
                    id,
                    user: DEMO_USER,
                    groups: groups.into(),
                    phone: phone.into(),
                    name: name.into(),
                },
            );
            info.contacts.push(ContactInfo {
                id,
                name: name.into(),
                phone: phone.into(),
                groups: groups.split(',').filter_map(|g| g.parse().ok()).collect(),
            });
        }
    }
    st.world = world;
    info
}
