//! Property test: random sequences of control calls (the `Shared` methods directly and the
//! `/_sim/*` API with well-formed, ill-typed and garbage JSON) and `/api/*` calls (the 54
//! endpoints plus `get/sms.message` / `get/wa.message`, unknown actions and groups, ids that
//! exist or not, huge/negative/empty/unicode values, unknown and orphan secrets, every way of
//! sending parameters), mixed with queue processing, clock moves, platform patches that remove
//! gateways, devices, WhatsApp servers or accounts under the simulator's feet, and resets.
//!
//! After every step: the simulator answered (no panic in a handler, no poisoned state lock —
//! a panic under the lock would fail every later request and the direct `ledger()` call),
//! `/api/{known group}/…` is HTTP 200 with a `{status: int, message, data}` envelope (or the
//! `get/wa.qr` PNG), `/api` alone is `{"status":401,"message":false,"data":false}`, an unknown
//! group is the framework's 404, and `/_sim/*` answers JSON with 200, 400 or 404. Both
//! flavours, 64 sequences of up to 40 steps each, a fresh simulator per sequence.

use std::sync::LazyLock;

use messagepro_sim::{Faults, Flavour, SimHandle, Simulator, Stage};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

static RT: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
});

/// The 54 endpoints of §2, the two lookups of the newer build, and unknown actions, each with
/// the parameters it reads.
const ENDPOINTS: &[(&str, &str, &[&str])] = &[
    (
        "send",
        "otp",
        &[
            "type", "message", "phone", "mode", "device", "gateway", "sim", "account", "priority",
            "expire",
        ],
    ),
    (
        "send",
        "sms",
        &[
            "mode",
            "phone",
            "message",
            "device",
            "sim",
            "priority",
            "gateway",
            "shortener",
        ],
    ),
    (
        "send",
        "sms.bulk",
        &[
            "mode",
            "campaign",
            "message",
            "numbers",
            "groups",
            "device",
            "sim",
            "priority",
            "gateway",
            "shortener",
        ],
    ),
    (
        "send",
        "whatsapp",
        &[
            "recipient",
            "account",
            "message",
            "type",
            "priority",
            "media_url",
            "media_type",
            "document_url",
            "document_name",
            "document_type",
            "shortener",
        ],
    ),
    (
        "send",
        "whatsapp.bulk",
        &[
            "account",
            "campaign",
            "type",
            "message",
            "recipients",
            "groups",
            "media_url",
            "media_type",
            "document_url",
            "document_name",
            "document_type",
            "shortener",
        ],
    ),
    ("send", "ussd", &["code", "sim", "device"]),
    ("send", "nope", &["phone"]),
    ("get", "otp", &["otp"]),
    ("get", "credits", &[]),
    ("get", "earnings", &[]),
    ("get", "subscription", &[]),
    ("get", "sms.sent", &["page", "limit"]),
    ("get", "sms.pending", &["page", "limit"]),
    ("get", "sms.campaigns", &["page", "limit"]),
    ("get", "sms.received", &["page", "limit"]),
    ("get", "wa.servers", &[]),
    ("get", "wa.sent", &["page", "limit"]),
    ("get", "wa.pending", &["page", "limit"]),
    ("get", "wa.campaigns", &["page", "limit"]),
    ("get", "wa.received", &["page", "limit"]),
    ("get", "wa.groups", &["unique"]),
    ("get", "wa.group.contacts", &["unique", "gid"]),
    ("get", "contacts", &["page", "limit"]),
    ("get", "groups", &["page", "limit"]),
    ("get", "unsubscribed", &["page", "limit"]),
    ("get", "ussd", &["page", "limit"]),
    ("get", "notifications", &["page", "limit"]),
    ("get", "devices", &["page", "limit"]),
    ("get", "rates", &[]),
    ("get", "shorteners", &[]),
    ("get", "wa.accounts", &["page", "limit"]),
    ("get", "wa.qr", &["token"]),
    ("get", "wa.info", &["token"]),
    ("get", "sms.message", &["id", "type"]),
    ("get", "wa.message", &["id", "type"]),
    ("get", "x.y", &[]),
    ("create", "contact", &["phone", "name", "groups"]),
    ("create", "group", &["name"]),
    ("create", "wa.link", &["sid"]),
    ("create", "wa.relink", &["sid", "unique"]),
    ("create", "", &[]),
    ("delete", "contact", &["id"]),
    ("delete", "group", &["id"]),
    ("delete", "unsubscribed", &["id"]),
    ("delete", "sms.sent", &["id"]),
    ("delete", "sms.campaign", &["id", "campaign"]),
    ("delete", "sms.received", &["id"]),
    ("delete", "wa.account", &["unique"]),
    ("delete", "wa.sent", &["id"]),
    ("delete", "wa.campaign", &["id"]),
    ("delete", "wa.received", &["id"]),
    ("delete", "ussd", &["id"]),
    ("delete", "notification", &["id"]),
    ("remote", "start.sms", &["campaign"]),
    ("remote", "stop.sms", &["campaign"]),
    ("remote", "start.chats", &["campaign"]),
    ("remote", "stop.chats", &["campaign"]),
    ("remote", "nope", &["campaign"]),
    ("clear", "ussd", &[]),
    ("validate", "whatsapp", &["unique", "phone"]),
];

/// Every parameter name, for the extra keys a step adds.
const ALL_KEYS: &[&str] = &[
    "secret",
    "mode",
    "phone",
    "message",
    "device",
    "sim",
    "priority",
    "gateway",
    "shortener",
    "campaign",
    "numbers",
    "groups",
    "recipient",
    "recipients",
    "account",
    "type",
    "media_url",
    "media_type",
    "document_url",
    "document_name",
    "document_type",
    "code",
    "otp",
    "expire",
    "page",
    "limit",
    "unique",
    "gid",
    "token",
    "id",
    "name",
    "sid",
    "numbers[]",
];

const CONTROL_PATHS: &[&str] = &[
    "fixture",
    "ledger",
    "platform",
    "quota",
    "time/advance",
    "queue/process",
    "device",
    "credits",
    "inbound/sms",
    "inbound/whatsapp",
    "inbound/notification",
    "webhook",
    "faults",
    "key",
    "wa/scan",
    "reset",
    "nope",
    "",
];

const JUNK: &[&str] = &[
    "",
    " ",
    "0",
    "-1",
    "-9223372036854775808",
    "9223372036854775807",
    "18446744073709551616",
    "99999999999999999999999999999",
    "1.5",
    "1e3",
    "007",
    "abc",
    "é☃𝄞٣",
    "<b>x</b>&amp;",
    "{a|{b|",
    "{{otp}} {{contact.name}}",
    "null",
    "[]",
    "+",
    "@g.us",
    "00224621234567",
    "\u{0}",
    "arnaque",
    "stop",
];

const PHONES: &[&str] = &[
    "+224621234567",
    "+224655001122",
    "224661000333",
    "+224620000000",
    "+525512345678",
    "+5511912345678",
    "+33612345678",
    "120363000000000000@g.us",
    "12",
];

const MESSAGES: &[&str] = &[
    "Bonjour",
    "Bonjour {Awa|Binta} {{contact.name}}",
    "Votre code {{otp}}",
    "STOP",
    "arnaque",
    "Tom & Jerry <b>",
    "https://example.test/a?b=1&c=2",
    "x",
];

const TABLES: &[&str] = &[
    "gateways",
    "wa_servers",
    "wa_accounts",
    "devices",
    "accounts",
    "packages",
    "shorteners",
];

const FIELDS: &[&str] = &[
    "online",
    "partner",
    "limit_status",
    "limit_number",
    "limit_interval",
    "sims",
    "partner_sim",
    "partner_rate",
    "user",
    "server",
    "status",
    "wid",
    "unique",
    "reachable",
    "send_ok",
    "trigger_ok",
    "qr_ok",
    "qr_len",
    "capacity",
    "callback",
    "handler",
    "provider_fails",
    "pricing",
    "package",
    "credits",
    "send_limit",
    "wa_send_limit",
    "receive_limit",
    "services",
    "footermark",
    "broken",
];

const SETTINGS: &[&str] = &[
    "message_min",
    "message_max",
    "footer",
    "free_model",
    "default_package",
    "push_configured",
    "db_fail",
    "exchange_fail",
    "qr_image_fail",
    "wa_unknown_numbers",
    "filtered_words",
    "currency",
];

const PERMISSIONS: &[&str] = &[
    "otp",
    "sms_send",
    "sms_send_bulk",
    "wa_send",
    "wa_send_bulk",
    "ussd",
    "get_credits",
    "get_sms_sent",
    "get_message",
    "create_whatsapp",
    "get_wa_sent",
    "delete_sms_sent",
];

/// A parameter value, resolved against the live world when the step runs.
#[derive(Clone, Debug)]
enum V {
    /// A plausible value for the key (existing ids, uniques, valid phones…).
    Good(u8),
    /// One of [`JUNK`].
    Junk(u8),
    /// Any printable text.
    Text(String),
}

#[derive(Clone, Debug)]
enum Secret {
    Full,
    Restricted,
    Unknown,
    Missing,
    /// One created by an earlier `key` step (maybe for an unknown user, maybe deleted).
    Created(u8),
}

#[derive(Clone, Copy, Debug)]
enum How {
    Query,
    Form,
    Multipart,
    Json,
}

/// A JSON merge patch of the world.
#[derive(Clone, Debug)]
enum Patch {
    /// `{table: {id: null}}`: an existing (by index) or arbitrary id.
    Remove(u8, u8, Option<u64>),
    /// `{table: {id: {field: value}}}`.
    Set(u8, u8, u8, Value),
    /// `{"settings": {field: value}}`.
    Setting(u8, Value),
    /// Anything.
    Raw(Value),
}

#[derive(Clone, Debug)]
enum Body {
    Empty,
    NotJson(String),
    Json(Value),
    /// A well-formed body for the path, resolved against the live world.
    Good(u8, i64, bool, Patch),
}

#[derive(Clone, Debug)]
enum Step {
    Api {
        ep: usize,
        vals: Vec<Option<V>>,
        extra: Vec<(u8, V)>,
        secret: Secret,
        how: How,
    },
    /// `/api`, `/api/`, `/api/{unknown group}/…`, `/api/send`.
    OddApi(u8),
    Control {
        path: u8,
        body: Body,
    },
    DeviceOnline(Option<u8>, bool),
    InjectSms(Option<Option<u8>>, u8, V, V),
    InjectChat(Option<Option<u8>>, V, V, Option<V>),
    InjectNotification(Option<Option<u8>>, V, V, V),
    Scan(u8, V),
    PatchPlatform(Patch),
    PatchQuota(Option<u64>, Value),
    Process(bool),
    Advance(i64),
    SetKey(u8, Option<Vec<u8>>, Option<u64>),
    Credits(f64),
    Webhook(bool),
    Reset,
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1_000i64..1_000).prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
        (0usize..JUNK.len()).prop_map(|i| Value::from(JUNK[i])),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        let key = prop_oneof![
            (0usize..FIELDS.len()).prop_map(|i| FIELDS[i].to_string()),
            (0usize..SETTINGS.len()).prop_map(|i| SETTINGS[i].to_string()),
            (0usize..TABLES.len()).prop_map(|i| TABLES[i].to_string()),
            (0u8..5).prop_map(|i| i.to_string()),
            "\\PC{0,6}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key, inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn val() -> impl Strategy<Value = V> {
    prop_oneof![
        6 => any::<u8>().prop_map(V::Good),
        3 => any::<u8>().prop_map(V::Junk),
        1 => "\\PC{0,24}".prop_map(V::Text),
    ]
}

fn patch() -> impl Strategy<Value = Patch> {
    prop_oneof![
        3 => (any::<u8>(), any::<u8>(), prop::option::of(any::<u64>()))
            .prop_map(|(t, i, id)| Patch::Remove(t, i, id)),
        4 => (any::<u8>(), any::<u8>(), any::<u8>(), json_value())
            .prop_map(|(t, i, f, v)| Patch::Set(t, i, f, v)),
        2 => (any::<u8>(), json_value()).prop_map(|(f, v)| Patch::Setting(f, v)),
        1 => json_value().prop_map(Patch::Raw),
    ]
}

fn secret() -> impl Strategy<Value = Secret> {
    prop_oneof![
        10 => Just(Secret::Full),
        1 => Just(Secret::Restricted),
        1 => Just(Secret::Unknown),
        1 => Just(Secret::Missing),
        2 => any::<u8>().prop_map(Secret::Created),
    ]
}

fn how() -> impl Strategy<Value = How> {
    prop_oneof![
        5 => Just(How::Form),
        3 => Just(How::Query),
        1 => Just(How::Multipart),
        1 => Just(How::Json),
    ]
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        1 => Just(Body::Empty),
        1 => prop_oneof![Just("{".to_string()), Just("nope".to_string()), "\\PC{0,10}"]
            .prop_map(Body::NotJson),
        2 => json_value().prop_map(Body::Json),
        6 => (any::<u8>(), any::<i64>(), any::<bool>(), patch())
            .prop_map(|(a, n, f, p)| Body::Good(a, n, f, p)),
    ]
}

fn device_ref() -> impl Strategy<Value = Option<Option<u8>>> {
    // None: the default device; Some(None): an unknown unique; Some(Some(i)): an existing one
    prop::option::of(prop::option::of(any::<u8>()))
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        // anything goes
        15 => (
            0..ENDPOINTS.len(),
            prop::collection::vec(prop::option::weighted(0.8, val()), 12),
            prop::collection::vec((any::<u8>(), val()), 0..3),
            secret(),
            how(),
        )
            .prop_map(|(ep, vals, extra, secret, how)| Step::Api { ep, vals, extra, secret, how }),
        // a plausible request with at most one parameter dropped or spoiled, so that sends
        // succeed and the life cycle has rows to move
        20 => (
            // the sends (first six) half the time
            prop_oneof![0..ENDPOINTS.len(), 0..6usize],
            prop::collection::vec(any::<u8>().prop_map(|i| Some(V::Good(i))), 12),
            any::<u8>(),
            prop::option::of(val()),
            how(),
        )
            .prop_map(|(ep, mut vals, m, spoil, how)| {
                if m % 3 == 0 {
                    vals[m as usize % 12] = spoil;
                }
                let how = if matches!(how, How::Json) { How::Form } else { how };
                Step::Api { ep, vals, extra: Vec::new(), secret: Secret::Full, how }
            }),
        1 => any::<u8>().prop_map(Step::OddApi),
        8 => (0..CONTROL_PATHS.len() as u8, body()).prop_map(|(path, body)| Step::Control { path, body }),
        1 => (prop::option::of(any::<u8>()), any::<bool>()).prop_map(|(d, o)| Step::DeviceOnline(d, o)),
        2 => (device_ref(), 0u8..4, val(), val()).prop_map(|(d, s, f, m)| Step::InjectSms(d, s, f, m)),
        2 => (device_ref(), val(), val(), prop::option::of(val()))
            .prop_map(|(a, f, m, at)| Step::InjectChat(a, f, m, at)),
        1 => (device_ref(), val(), val(), val())
            .prop_map(|(d, p, t, c)| Step::InjectNotification(d, p, t, c)),
        2 => (any::<u8>(), val()).prop_map(|(t, p)| Step::Scan(t, p)),
        4 => patch().prop_map(Step::PatchPlatform),
        1 => (prop::option::of(0u64..4), json_value()).prop_map(|(u, v)| Step::PatchQuota(u, v)),
        4 => any::<bool>().prop_map(Step::Process),
        2 => prop_oneof![
            4 => -100i64..1_000,
            1 => Just(i64::MAX),
            1 => Just(i64::MIN),
            1 => any::<i64>(),
        ]
        .prop_map(Step::Advance),
        2 => (
            any::<u8>(),
            prop::option::of(prop::collection::vec(any::<u8>(), 0..6)),
            prop::option::of(prop_oneof![Just(1u64), Just(2u64), Just(99u64), any::<u64>()]),
        )
            .prop_map(|(s, p, u)| Step::SetKey(s, p, u)),
        1 => prop_oneof![-1e9f64..1e9, Just(0.0)].prop_map(Step::Credits),
        1 => any::<bool>().prop_map(Step::Webhook),
        1 => Just(Step::Reset),
    ]
}

/// What a sequence has seen so far: tokens, OTP codes, ids, keys it created.
struct Run {
    sim: SimHandle,
    http: reqwest::Client,
    tokens: Vec<String>,
    otps: Vec<String>,
    ids: Vec<u64>,
    keys: Vec<String>,
}

fn pick<T: Clone>(v: &[T], i: u8) -> Option<T> {
    if v.is_empty() {
        None
    } else {
        Some(v[i as usize % v.len()].clone())
    }
}

/// The ids of `table` in the live world.
fn world_ids(world: &Value, table: &str) -> Vec<String> {
    world[table]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// A string field of every row of `table`.
fn world_field(world: &Value, table: &str, field: &str) -> Vec<String> {
    world[table]
        .as_object()
        .map(|o| {
            o.values()
                .filter_map(|r| r[field].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

impl Run {
    fn value(&self, world: &Value, key: &str, v: &V) -> String {
        self.value_for(world, "", key, v)
    }

    /// `v` for `key` of endpoint `action` (`""` outside the API).
    fn value_for(&self, world: &Value, action: &str, key: &str, v: &V) -> String {
        match v {
            V::Junk(i) => JUNK[*i as usize % JUNK.len()].to_string(),
            V::Text(t) => t.clone(),
            V::Good(i) => self.good(world, action, key, *i),
        }
    }

    fn good(&self, world: &Value, action: &str, key: &str, i: u8) -> String {
        // half the time the first (the most plausible) choice, else any
        let n = if i < 128 { 0 } else { i as usize };
        let one = |v: &[&str]| v[n % v.len()].to_string();
        let or = |v: Vec<String>, dflt: &str| {
            pick(&v, if i < 128 { 0 } else { i }).unwrap_or_else(|| dflt.to_string())
        };
        let mut ids: Vec<String> = self.ids.iter().map(u64::to_string).collect();
        ids.extend(["1", "2", "3", "5"].map(String::from));
        match key {
            "mode" => one(&["devices", "credits", "devices", "nope"]),
            "type" if action.ends_with(".message") => one(&["sent", "received", "sent"]),
            "type" if action == "otp" => one(&["sms", "whatsapp", "sms", "email"]),
            "type" => one(&["text", "media", "document", "text"]),
            "campaign" if action.starts_with("sms") || action.starts_with("whatsapp") => {
                one(&["Promo Tabaski", "Relance", "ab"])
            }
            "phone" | "recipient" => one(PHONES),
            "numbers" | "recipients" => {
                format!("{},{}", one(PHONES), PHONES[(n / 3) % PHONES.len()])
            }
            "message" | "name" => one(MESSAGES),
            "device" => or(world_field(world, "devices", "unique"), "none"),
            "gateway" => {
                let mut g = world_ids(world, "gateways");
                g.extend(world_field(world, "devices", "unique"));
                or(g, "1")
            }
            "account" | "unique" => or(world_field(world, "wa_accounts", "unique"), "none"),
            "sim" | "priority" => one(&["1", "2", "0", "3"]),
            "media_type" => one(&["image", "video", "audio", "file"]),
            "document_type" => one(&["pdf", "docx", "exe"]),
            "media_url" | "document_url" => one(&[
                "https://example.test/a.png",
                "https://example.test/arnaque.pdf",
            ]),
            "document_name" => one(&["doc.pdf", "a"]),
            "groups" => one(&["1", "1,2", "2,3", "9"]),
            "token" => or(self.tokens.clone(), "deadbeef"),
            "otp" => or(self.otps.clone(), "123456"),
            "id" | "campaign" => or(ids, "1"),
            "page" | "limit" => one(&["1", "2", "0", "3"]),
            "shortener" => one(&["0", "1", "2"]),
            "expire" => one(&["1", "300", "0"]),
            "sid" => or(world_ids(world, "wa_servers"), "1"),
            "gid" => one(&["1", "120363000000000001@g.us"]),
            "code" => one(&["*144#", "#"]),
            _ => n.to_string(),
        }
    }

    fn secret(&self, s: &Secret) -> Option<String> {
        let fx = self.sim.fixture();
        match s {
            Secret::Full => Some(fx.secrets.full),
            Secret::Restricted => Some(fx.secrets.restricted),
            Secret::Unknown => Some("0123456789abcdef".into()),
            Secret::Missing => None,
            Secret::Created(i) => pick(&self.keys, *i).or(Some(fx.secrets.full)),
        }
    }

    fn patch(&self, world: &Value, p: &Patch) -> Value {
        let table = |t: u8| TABLES[t as usize % TABLES.len()];
        let id = |t: &str, i: u8| pick(&world_ids(world, t), i).unwrap_or_else(|| i.to_string());
        match p {
            Patch::Remove(t, i, raw) => {
                let t = table(*t);
                let id = raw.map_or_else(|| id(t, *i), |r| r.to_string());
                json!({ t: { id: null } })
            }
            Patch::Set(t, i, f, v) => {
                let t = table(*t);
                json!({ t: { id(t, *i): { FIELDS[*f as usize % FIELDS.len()]: v } } })
            }
            Patch::Setting(f, v) => {
                json!({ "settings": { SETTINGS[*f as usize % SETTINGS.len()]: v } })
            }
            Patch::Raw(v) => v.clone(),
        }
    }

    /// A well-formed body for control path `path`.
    fn good_body(&self, world: &Value, path: &str, a: u8, n: i64, flag: bool, p: &Patch) -> Value {
        let dev = pick(&world_field(world, "devices", "unique"), a).unwrap_or_default();
        let wa = pick(&world_field(world, "wa_accounts", "unique"), a).unwrap_or_default();
        match path {
            "platform" => self.patch(world, p),
            "quota" => json!({ "sent": n % 1000, "wa_sent": n % 7, "user": a % 4 }),
            "time/advance" => json!({ "seconds": if flag { n } else { n % 1000 } }),
            "queue/process" => json!({ "stage": if flag { "fetch" } else { "all" } }),
            "device" => json!({ "unique": dev, "online": flag }),
            "credits" => json!({ "credits": (n % 100_000) as f64 }),
            "inbound/sms" => {
                json!({ "from": PHONES[a as usize % PHONES.len()], "message": MESSAGES[a as usize % MESSAGES.len()],
                        "device": if flag { Value::from(dev) } else { Value::Null }, "sim": n })
            }
            "inbound/whatsapp" => {
                json!({ "from": PHONES[a as usize % PHONES.len()], "message": "Salut",
                        "account": if flag { Value::from(wa) } else { Value::Null },
                        "attachment": "https://example.test/a.png" })
            }
            "inbound/notification" => {
                json!({ "package": "com.whatsapp", "title": "T", "content": "C",
                        "device": if flag { Value::from(dev) } else { Value::Null } })
            }
            "webhook" => json!({ "url": if flag { "http://127.0.0.1:9/hook" } else { "" } }),
            // never latency or hangs (they would only slow the test down); ill-typed fields → 400
            "faults" => {
                if flag {
                    json!({ "latency_ms": "slow" })
                } else {
                    json!({ "unknown": n })
                }
            }
            "key" => {
                let perms: Vec<&str> = (0..(a % 5))
                    .map(|k| {
                        PERMISSIONS[(k as usize + n.unsigned_abs() as usize) % PERMISSIONS.len()]
                    })
                    .collect();
                let user = [1u64, 2, 99, n.unsigned_abs()][a as usize % 4];
                json!({ "secret": format!("prop-key-{}", a % 6), "user": user,
                        "permissions": if flag { Value::from(perms) } else { Value::Null } })
            }
            "wa/scan" => json!({ "token": pick(&self.tokens, a).unwrap_or_default(),
                                 "phone": if flag { "224628000999" } else { "" } }),
            _ => json!({}),
        }
    }

    fn note(&mut self, v: &Value) {
        let data = &v["data"];
        for k in ["messageId", "campaignId", "id"] {
            if let Some(id) = data[k].as_u64() {
                self.ids.push(id);
            }
        }
        if let Some(ids) = data["messageIds"].as_array() {
            self.ids.extend(ids.iter().filter_map(Value::as_u64));
        }
        if let Some(t) = data["token"].as_str() {
            self.tokens.push(t.to_string());
        }
        if let Some(o) = data["otp"].as_i64() {
            self.otps.push(o.to_string());
        }
        if let Some(o) = data["otp"].as_str() {
            self.otps.push(o.to_string());
        }
    }

    async fn api(&mut self, step: &Step) -> Result<(), TestCaseError> {
        let Step::Api {
            ep,
            vals,
            extra,
            secret,
            how,
        } = step
        else {
            return Ok(());
        };
        let world = self.sim.platform();
        let (group, action, keys) = ENDPOINTS[*ep];
        let mut params: Vec<(String, String)> = Vec::new();
        if let Some(s) = self.secret(secret) {
            params.push(("secret".into(), s));
        }
        for (k, v) in keys.iter().zip(vals) {
            if let Some(v) = v {
                params.push((k.to_string(), self.value_for(&world, action, k, v)));
            }
        }
        for (k, v) in extra {
            let k = ALL_KEYS[*k as usize % ALL_KEYS.len()];
            params.push((k.to_string(), self.value_for(&world, action, k, v)));
        }
        let url = format!("{}/api/{group}/{action}", self.sim.url());
        let req = match how {
            How::Query => self.http.get(&url).query(&params),
            How::Form => self.http.post(&url).form(&params),
            How::Multipart => {
                let mut form = reqwest::multipart::Form::new();
                for (k, v) in &params {
                    form = form.text(k.clone(), v.clone());
                }
                self.http.post(&url).multipart(form)
            }
            How::Json => self.http.post(&url).json(&params),
        };
        let r = req
            .send()
            .await
            .map_err(|e| TestCaseError::fail(format!("{url}: no answer: {e}")))?;
        prop_assert_eq!(r.status().as_u16(), 200, "{} {:?}", url, params);
        let ctype = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = r
            .bytes()
            .await
            .map_err(|e| TestCaseError::fail(format!("{url}: body: {e}")))?;
        if ctype == "image/png" {
            prop_assert_eq!(action, "wa.qr");
            prop_assert!(bytes.starts_with(b"\x89PNG"), "not a PNG");
            return Ok(());
        }
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| TestCaseError::fail(format!("{url}: not JSON ({e}): {bytes:?}")))?;
        prop_assert!(v["status"].is_i64(), "{} {:?}: {}", url, params, v);
        prop_assert!(
            v.get("message").is_some() && v.get("data").is_some(),
            "{}",
            v
        );
        self.note(&v);
        Ok(())
    }

    async fn odd_api(&self, i: u8) -> Result<(), TestCaseError> {
        let (path, expect_401) = [
            ("/api", true),
            ("/api/", true),
            ("/api//sms", true),
            ("/api/nope/x", false),
            ("/api/sends/sms", false),
            ("/api/é/ü", false),
        ][i as usize % 6];
        let r = self
            .http
            .post(format!("{}{path}", self.sim.url()))
            .send()
            .await
            .map_err(|e| TestCaseError::fail(format!("{path}: no answer: {e}")))?;
        if expect_401 {
            prop_assert_eq!(r.status().as_u16(), 200);
            let v: Value = r
                .json()
                .await
                .map_err(|e| TestCaseError::fail(format!("{path}: {e}")))?;
            prop_assert_eq!(v, json!({ "status": 401, "message": false, "data": false }));
        } else {
            prop_assert_eq!(r.status().as_u16(), 404, "{}", path);
        }
        Ok(())
    }

    async fn control(&mut self, path: u8, body: &Body) -> Result<(), TestCaseError> {
        let world = self.sim.platform();
        let path = CONTROL_PATHS[path as usize % CONTROL_PATHS.len()];
        let url = format!("{}/_sim/{path}", self.sim.url());
        let req = self.http.post(&url);
        let req = match body {
            Body::Empty => req,
            Body::NotJson(s) => req.body(s.clone()),
            Body::Json(v) if path == "faults" => req.json(&json!({ "bogus": v })),
            Body::Json(v) => req.json(v),
            Body::Good(a, n, f, p) => req.json(&self.good_body(&world, path, *a, *n, *f, p)),
        };
        if path == "key"
            && let Body::Good(a, ..) = body
        {
            self.keys.push(format!("prop-key-{}", a % 6));
        }
        let r = req
            .send()
            .await
            .map_err(|e| TestCaseError::fail(format!("{url}: no answer: {e}")))?;
        let status = r.status().as_u16();
        prop_assert!(
            [200, 400, 404].contains(&status),
            "{} answered {}",
            url,
            status
        );
        let v: Value = r
            .json()
            .await
            .map_err(|e| TestCaseError::fail(format!("{url}: not JSON: {e}")))?;
        if status != 200 {
            prop_assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{}", v);
        }
        if path == "wa/scan"
            && let Some(id) = v["account"].as_u64()
        {
            self.ids.push(id);
        }
        Ok(())
    }

    fn direct(&mut self, step: &Step) -> Result<(), TestCaseError> {
        let world = self.sim.platform();
        let sh = self.sim.shared().clone();
        let devices = world_field(&world, "devices", "unique");
        let was = world_field(&world, "wa_accounts", "unique");
        let dev = |d: &Option<Option<u8>>, list: &[String]| -> Option<String> {
            d.as_ref().map(|d| {
                d.and_then(|i| pick(list, i))
                    .unwrap_or_else(|| "no-such".into())
            })
        };
        // every refusal is a typed error with a message; success is fine too
        let check = |r: Result<(), messagepro_sim::SimError>| -> Result<(), TestCaseError> {
            if let Err(e) = r {
                prop_assert!(!e.to_string().is_empty());
            }
            Ok(())
        };
        match step {
            Step::DeviceOnline(d, online) => {
                let u = d
                    .and_then(|i| pick(&devices, i))
                    .unwrap_or_else(|| "no-such".into());
                check(sh.set_device_online(&u, *online))?;
            }
            Step::InjectSms(d, sim, from, msg) => {
                let d = dev(d, &devices);
                let r = sh.inject_sms_on(
                    d.as_deref(),
                    *sim,
                    &self.value(&world, "phone", from),
                    &self.value(&world, "message", msg),
                );
                check(r.map(drop))?;
            }
            Step::InjectChat(a, from, msg, att) => {
                let a = dev(a, &was);
                let att = att.as_ref().map(|v| self.value(&world, "media_url", v));
                let r = sh.inject_chat(
                    a.as_deref(),
                    &self.value(&world, "phone", from),
                    &self.value(&world, "message", msg),
                    att,
                );
                check(r.map(drop))?;
            }
            Step::InjectNotification(d, p, t, c) => {
                let d = dev(d, &devices);
                let r = sh.inject_notification(
                    d.as_deref(),
                    &self.value(&world, "name", p),
                    &self.value(&world, "name", t),
                    &self.value(&world, "message", c),
                );
                check(r.map(drop))?;
            }
            Step::Scan(t, phone) => {
                let token = pick(&self.tokens, *t).unwrap_or_else(|| "unknown".into());
                let r = sh.scan(&token, &self.value(&world, "phone", phone));
                if let Ok(id) = &r {
                    self.ids.push(*id);
                }
                check(r.map(drop))?;
            }
            Step::PatchPlatform(p) => check(sh.patch_platform(&self.patch(&world, p)))?,
            Step::PatchQuota(u, v) => check(sh.patch_quota(*u, v).map(drop))?,
            Step::Process(fetch) => {
                sh.process_queue_stage(if *fetch { Stage::Fetch } else { Stage::All })
            }
            Step::Advance(s) => {
                let before = sh.advance_time(0);
                let now = sh.advance_time(*s);
                // the clock moves the asked way (clamped, never wrapped)
                let forward = if *s >= 0 {
                    now >= before
                } else {
                    now <= before
                };
                prop_assert!(forward, "advance {} moved {} → {}", s, before, now);
            }
            Step::SetKey(s, perms, user) => {
                let secret = format!("prop-key-{}", s % 6);
                let perms = perms.as_ref().map(|p| {
                    p.iter()
                        .map(|i| PERMISSIONS[*i as usize % PERMISSIONS.len()].to_string())
                        .collect()
                });
                sh.set_key(&secret, perms, *user);
                self.keys.push(secret);
            }
            Step::Credits(c) => sh.set_credits(*c),
            Step::Webhook(on) => {
                let url = on.then(|| "http://127.0.0.1:9/hook".to_string());
                prop_assert_eq!(sh.set_webhook(url, None).is_some(), *on);
            }
            Step::Reset => {
                sh.reset();
                self.tokens.clear();
            }
            Step::Api { .. } | Step::OddApi(_) | Step::Control { .. } => {}
        }
        Ok(())
    }
}

async fn run_sequence(flavour: Flavour, steps: Vec<Step>) -> Result<(), TestCaseError> {
    let sim = Simulator::builder()
        .flavour(flavour)
        .seed(11)
        .auto_progress(false)
        .start("127.0.0.1:0")
        .await
        .map_err(|e| TestCaseError::fail(format!("start: {e}")))?;
    let mut run = Run {
        sim,
        http: reqwest::Client::new(),
        tokens: Vec::new(),
        otps: Vec::new(),
        ids: Vec::new(),
        keys: Vec::new(),
    };
    for step in &steps {
        match step {
            Step::Api { .. } => run.api(step).await?,
            Step::OddApi(i) => run.odd_api(*i).await?,
            Step::Control { path, body } => run.control(*path, body).await?,
            _ => run.direct(step)?,
        }
        // a panic under the state lock would poison it: this would panic too
        let ledger = run.sim.ledger();
        prop_assert!(ledger.iter().all(|l| (1..=4).contains(&l.status)));
        // the fault settings stay harmless (the generator never asks for latency or hangs)
        run.sim.set_faults(Faults::default());
    }
    // still serving after the whole sequence
    let r = run
        .http
        .get(format!("{}/_sim/fixture", run.sim.url()))
        .send()
        .await
        .map_err(|e| TestCaseError::fail(format!("fixture: {e}")))?;
    prop_assert_eq!(r.status().as_u16(), 200);
    run.sim.shutdown().await;
    Ok(())
}

fn survive(flavour: Flavour) {
    // PROPTEST_CASES=5000 for a deeper local run
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = prop::collection::vec(step(), 1..40);
    let result = runner.run(&strategy, |steps| RT.block_on(run_sequence(flavour, steps)));
    if let Err(e) = result {
        panic!("{flavour}: {e}");
    }
}

#[test]
fn the_current_build_survives_random_sequences() {
    survive(Flavour::Current);
}

#[test]
fn the_3_3_8_build_survives_random_sequences() {
    survive(Flavour::V3_3_8);
}
