//! Phone-first layout (issue 14): at 390 px every page shows its primary action and each row's
//! status without horizontal scrolling — measured in headless Chromium from element positions
//! (`scrollWidth`, bounding rectangles), not read from the HTML. Screenshots of each page at 390
//! and 1366 px go to `target/screenshots/` for a look.
//!
//! Same skip rule as `tests/browser.rs`: without `chromedriver` the test prints why and skips,
//! unless `MESSAGEPRO_BROWSER_TESTS=required`.

mod helpers;

use std::time::Duration;

use fantoccini::Locator;
use secrecy::SecretString;

use helpers::browser::Browser;

use helpers::messaging::{SimApp, spawn_app_with_sim_settings};

const PHONE: (u32, u32) = (390, 844);
const DESKTOP: (u32, u32) = (1366, 900);
const WEBHOOK_SECRET: &str = "whsec-phone-test-0123456789";

impl Browser {
    async fn js(&self, script: &str, args: Vec<serde_json::Value>) -> serde_json::Value {
        self.client.execute(script, args).await.unwrap()
    }

    /// Sets the viewport (not the outer window) to `width`×`height`.
    async fn resize(&self, (width, height): (u32, u32)) {
        let c = &self.client;
        c.set_window_size(width, height).await.unwrap();
        let inner = self
            .js("return [window.innerWidth, window.innerHeight];", vec![])
            .await;
        let (outer_w, outer_h) = c.get_window_size().await.unwrap();
        let extra_w = outer_w as i64 - inner[0].as_i64().unwrap();
        let extra_h = outer_h as i64 - inner[1].as_i64().unwrap();
        if extra_w != 0 || extra_h != 0 {
            c.set_window_size(
                (i64::from(width) + extra_w) as u32,
                (i64::from(height) + extra_h) as u32,
            )
            .await
            .unwrap();
        }
        let inner = self.js("return window.innerWidth;", vec![]).await;
        assert_eq!(inner.as_u64(), Some(u64::from(width)), "viewport width");
    }
}

/// What the layout check of a page found (see [`MEASURE`]).
#[derive(Debug, serde::Deserialize)]
struct Measure {
    inner: f64,
    scroll: f64,
    /// Per required selector: how many such elements are displayed, all inside the viewport.
    required: Vec<usize>,
    /// Displayed status badges / status cells.
    statuses: usize,
    /// Elements sticking out of `0..innerWidth`: what and where.
    outside: Vec<String>,
}

/// The layout check, run in the page: the document's width, and the horizontal extent of the
/// required elements (`arguments[0]`), every displayed badge, status cell, row action and table
/// cell.
const MEASURE: &str = r#"
const w = window.innerWidth;
const outside = [];
const shown = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
const inside = (el, what) => {
  const r = el.getBoundingClientRect();
  if (r.left < -0.5 || r.right > w + 0.5) {
    outside.push(what + " [" + Math.round(r.left) + ", " + Math.round(r.right) + "] " + el.outerHTML.slice(0, 160));
  }
};
const required = arguments[0].map((css) => {
  const els = Array.from(document.querySelectorAll(css)).filter(shown);
  els.forEach((el) => inside(el, css));
  return els.length;
});
let statuses = 0;
document.querySelectorAll(".badge, td.status").forEach((el) => {
  if (shown(el)) { statuses += 1; inside(el, "status"); }
});
document.querySelectorAll("td.row-actions button, td.row-actions a, table td").forEach((el) => {
  if (shown(el)) inside(el, "cell/action");
});
return { inner: w, scroll: document.documentElement.scrollWidth, required, statuses, outside };
"#;

/// One page of the tour: its path, the elements that must be on screen (its primary action
/// first) and how many status badges at least.
struct Visit {
    name: &'static str,
    path: String,
    required: Vec<&'static str>,
    min_statuses: usize,
}

fn visit(name: &'static str, path: &str, required: &[&'static str], min_statuses: usize) -> Visit {
    Visit {
        name,
        path: path.to_owned(),
        required: required.to_vec(),
        min_statuses,
    }
}

fn screenshot_dir() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Screenshot of the whole page (the window made as tall as the document), then the window
/// back to `size`.
async fn screenshot(b: &Browser, name: &str, size: (u32, u32)) {
    let height = b
        .js("return document.documentElement.scrollHeight;", vec![])
        .await
        .as_u64()
        .unwrap_or(u64::from(size.1))
        .clamp(u64::from(size.1), 6000) as u32;
    b.resize((size.0, height)).await;
    let png = b.client.screenshot().await.unwrap();
    std::fs::write(screenshot_dir().join(format!("{name}-{}.png", size.0)), png).unwrap();
    b.resize(size).await;
}

/// Goes to `v.path` and checks the layout at the current width.
async fn check_page(b: &Browser, app: &SimApp, v: &Visit) -> Measure {
    b.client.goto(&app.at(&v.path)).await.unwrap();
    let url = b.client.current_url().await.unwrap();
    assert_eq!(url.path(), v.path.split('?').next().unwrap(), "{}", v.name);
    let args = vec![serde_json::json!(v.required)];
    let m: Measure = serde_json::from_value(b.js(MEASURE, args).await).unwrap();
    assert!(
        m.scroll <= m.inner,
        "{}: the page scrolls sideways ({} > {})",
        v.name,
        m.scroll,
        m.inner
    );
    assert!(
        m.outside.is_empty(),
        "{}: off screen: {:#?}",
        v.name,
        m.outside
    );
    for (css, n) in v.required.iter().zip(&m.required) {
        assert!(*n > 0, "{}: {css} is not shown", v.name);
    }
    assert!(
        m.statuses >= v.min_statuses,
        "{}: {} status badges shown, {} expected",
        v.name,
        m.statuses,
        v.min_statuses
    );
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_390_px_every_page_shows_its_primary_action_and_each_rows_status() {
    let Some(b) = helpers::browser::browser("phone layout", PHONE, Some("fr-FR,fr")).await else {
        return;
    };
    // no outbox worker: the campaign stays under way (with its Pause button) until drained
    let app = spawn_app_with_sim_settings(None, false, |s, _| {
        s.webhook_secret = Some(SecretString::from(WEBHOOK_SECRET));
    })
    .await;
    let admin = app.login_as("admin").await;
    let device = app.online_device();
    let wa = app.fixture().whatsapp.expect("demo WhatsApp accounts");

    // Arrange: some of everything, over HTTP.
    async fn ok(r: reqwest::Response, what: &str) {
        let status = r.status();
        let body = r.text().await.unwrap_or_default();
        assert!(
            status.as_u16() == 303 || (status.as_u16() == 200 && !body.contains("flash-error")),
            "{what}: {status} {body}"
        );
    }
    ok(
        app.post("/messaging/groups", &[("name", "Clients Kaloum")])
            .await,
        "group",
    )
    .await;
    let group = app.store.list_groups().await.unwrap().remove(0);
    let gid = group.id.to_string();
    ok(
        app.post(
            "/messaging/contacts/create",
            &[
                ("name", "Mariama Diallo"),
                ("phone", "621 23 45 67"),
                ("groups", &gid),
            ],
        )
        .await,
        "contact",
    )
    .await;
    let contact = app
        .store
        .contact_by_phone("+224621234567")
        .await
        .unwrap()
        .expect("the contact")
        .id;
    ok(
        app.post(
            "/messaging/sms/send",
            &[
                ("phone", "621234567"),
                (
                    "message",
                    "Votre commande #A-12 est prête : https://boutique.example.com/commandes/A-12?suivi=8f3a9c0d1e2b4f6a7c8d9e0f1a2b3c4d",
                ),
                ("mode", "devices"),
                ("device", &device),
                ("sim", "1"),
            ],
        )
        .await,
        "SMS",
    )
    .await;
    ok(
        app.post(
            "/messaging/otp/send",
            &[
                ("phone", "622112233"),
                ("channel", "sms"),
                ("device", &device),
                ("sim", "1"),
                ("message", "Votre code : {{otp}}"),
                ("expire", "300"),
            ],
        )
        .await,
        "OTP",
    )
    .await;
    // the SMS and the OTP go out and come back sent; the campaign below stays under way
    app.state.core.drain().await.unwrap();
    app.sim.shared().process_queue();
    app.sim.shared().process_queue();
    app.sync().await;
    ok(
        app.post(
            "/messaging/whatsapp/send",
            &[
                ("account", wa.connected.unique.as_str()),
                ("mode", "single"),
                ("phone", "621 23 45 67"),
                ("kind", "text"),
                (
                    "message",
                    "Bonjour Mariama, votre colis est arrivé à la boutique de Kaloum.",
                ),
            ],
        )
        .await,
        "WhatsApp",
    )
    .await;
    ok(
        app.post(
            "/messaging/sms/bulk",
            &[
                ("name", "Soldes de décembre"),
                ("message", "Tout à -20 % ce samedi"),
                ("recipients", "+224621234567,+224622112233,+224628000111"),
                ("mode", "devices"),
                ("device", &device),
            ],
        )
        .await,
        "campaign",
    )
    .await;
    ok(
        app.post(
            "/messaging/suppressions",
            &[("phone", "621 00 09 10"), ("reason", "demande client")],
        )
        .await,
        "suppression",
    )
    .await;
    ok(
        app.post(
            "/admin/webhooks",
            &[
                (
                    "url",
                    "https://erp.example.com/hooks/messagepro/boutique-kaloum-0123456789abcdef",
                ),
                ("description", "ERP"),
                ("event", "message.sent"),
                ("event", "message.failed"),
                ("event", "otp.verified"),
            ],
        )
        .await,
        "webhook",
    )
    .await;
    let webhook = app.store.webhook_endpoints().await.unwrap().remove(0).id;
    ok(
        app.post(
            "/admin/tokens",
            &[
                ("name", "erp"),
                ("scope", "messages:read"),
                ("scope", "otp"),
                ("rate", "60"),
            ],
        )
        .await,
        "token",
    )
    .await;
    for (id, text) in [
        (1, "STOP"),
        (2, "Bonjour, est-ce que la commande A-12 est prête ? Merci"),
    ] {
        let r = reqwest::Client::new()
            .post(app.at("/webhooks/messagepro"))
            .form(&[
                ("secret", WEBHOOK_SECRET),
                ("type", "sms"),
                ("data[id]", &id.to_string()),
                ("data[device]", "00000000-dev-1"),
                ("data[phone]", "+224621234567"),
                ("data[message]", text),
                ("data[timestamp]", "1717171717"),
            ])
            .send()
            .await
            .unwrap();
        ok(r, "inbound message").await;
    }

    b.login(&app, &admin.username, &admin.password).await;
    b.resize(PHONE).await;
    let c = &b.client;

    // The header: brand, language and a menu button; the navigation opens and closes.
    c.goto(&app.at("/messaging/")).await.unwrap();
    let header = b
        .js(
            "return document.querySelector('header.top').getBoundingClientRect().height;",
            vec![],
        )
        .await
        .as_f64()
        .unwrap();
    assert!(header < 80.0, "a compact header on a phone: {header} px");
    let nav_shown =
        "return document.querySelector('nav.main-nav').getBoundingClientRect().height > 0;";
    assert_eq!(b.js(nav_shown, vec![]).await, serde_json::json!(false));
    let toggle = c.find(Locator::Css("button.menu-toggle")).await.unwrap();
    assert_eq!(
        toggle.attr("aria-expanded").await.unwrap().as_deref(),
        Some("false")
    );
    assert_eq!(
        toggle.attr("aria-controls").await.unwrap().as_deref(),
        Some("nav-panel")
    );
    toggle.click().await.unwrap();
    assert_eq!(
        toggle.attr("aria-expanded").await.unwrap().as_deref(),
        Some("true")
    );
    assert_eq!(b.js(nav_shown, vec![]).await, serde_json::json!(true));
    screenshot(&b, "menu-open", PHONE).await;
    let history = c
        .find(Locator::Css(
            "nav.main-nav a[href='/messaging/sms/history']",
        ))
        .await
        .unwrap();
    history.click().await.unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("form[action='/messaging/sms/history']"))
        .await
        .expect("the menu's link leads to the history");
    assert_eq!(b.js(nav_shown, vec![]).await, serde_json::json!(false));
    let toggle = c.find(Locator::Css("button.menu-toggle")).await.unwrap();
    toggle.click().await.unwrap();
    toggle.click().await.unwrap();
    assert_eq!(b.js(nav_shown, vec![]).await, serde_json::json!(false));

    // Groups are checkboxes, not a « Ctrl + click » list; an import ticks one.
    c.goto(&app.at("/messaging/contacts/import")).await.unwrap();
    assert!(
        c.find(Locator::Css("select[multiple]")).await.is_err(),
        "no multi-select"
    );
    c.find(Locator::Css("textarea[name=csv]"))
        .await
        .unwrap()
        .send_keys(
            "Nom;Téléphone\nAwa Camara;622 11 22 33\nIbrahima Sow;abc\nMariama Diallo;621 23 45 67",
        )
        .await
        .unwrap();
    c.find(Locator::Css(&format!(
        "input[type=checkbox][name=groups][value='{gid}']"
    )))
    .await
    .expect("the group is a checkbox")
    .click()
    .await
    .unwrap();
    c.find(Locator::Css(
        "form[action='/messaging/contacts/import'] button[type=submit]",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#import-report"))
        .await
        .expect("the import report");
    let members = app.store.list_groups().await.unwrap().remove(0).members;
    assert_eq!(members, 2, "the imported contact joined the ticked group");
    let args = vec![serde_json::json!(["#import-report .import-row .badge"])];
    let m: Measure = serde_json::from_value(b.js(MEASURE, args).await).unwrap();
    assert!(
        m.scroll <= m.inner && m.outside.is_empty(),
        "import report: {m:?}"
    );
    assert!(m.required[0] >= 3, "a status per imported line: {m:?}");
    screenshot(&b, "contacts-import-report", PHONE).await;

    let pages = [
        visit(
            "dashboard",
            "/messaging/",
            &["a.button[href='/messaging/sms/send']"],
            2,
        ),
        visit(
            "sms-send",
            "/messaging/sms/send",
            &["form[action='/messaging/sms/send'] button[type=submit]"],
            0,
        ),
        visit(
            "sms-history",
            "/messaging/sms/history",
            &[
                "form[action='/messaging/sms/history'] button[type=submit]",
                "td.status .badge",
            ],
            1,
        ),
        visit(
            "sms-bulk",
            "/messaging/sms/bulk",
            &[
                "form[action='/messaging/sms/bulk/preview'] button[type=submit]",
                "#campaigns td.status .badge",
                "#campaigns form[action$='/pause'] button",
            ],
            1,
        ),
        visit(
            "whatsapp-send",
            "/messaging/whatsapp/send",
            &["form[action='/messaging/whatsapp/send'] button[type=submit]"],
            0,
        ),
        visit(
            "whatsapp-history",
            "/messaging/whatsapp/history",
            &[
                "form[action='/messaging/whatsapp/history'] button[type=submit]",
                "td.status .badge",
            ],
            1,
        ),
        visit(
            "otp",
            "/messaging/otp/send",
            &[
                "form[action='/messaging/otp/send'] button[type=submit]",
                "td.status .badge",
            ],
            1,
        ),
        visit(
            "contacts",
            "/messaging/contacts",
            &["form[action='/messaging/contacts'] button[type=submit]"],
            0,
        ),
        visit(
            "contact-edit",
            &format!("/messaging/contacts?contact={contact}"),
            &[
                "form.narrow button[type=submit]",
                "input[type=checkbox][name=groups]",
            ],
            0,
        ),
        visit(
            "groups",
            "/messaging/groups",
            &["form[action='/messaging/groups'] button[type=submit]"],
            0,
        ),
        visit(
            "suppressions",
            "/messaging/suppressions",
            &[
                "form[action='/messaging/suppressions'] button[type=submit]",
                "form[action='/messaging/suppressions/remove'] button",
            ],
            0,
        ),
        visit("inbox", "/messaging/inbox", &["tr.inbox-row .badge"], 2),
        visit(
            "admin-users",
            "/admin/users",
            &["a.button[href='/admin/users/new']", "td.status .badge"],
            1,
        ),
        visit(
            "admin-roles",
            "/admin/roles",
            &["a.button[href='/admin/roles/new']"],
            0,
        ),
        visit(
            "admin-audit",
            "/admin/audit",
            &[
                "form[action='/admin/audit'] button[type=submit]",
                "td.status .badge",
            ],
            1,
        ),
        visit(
            "admin-tokens",
            "/admin/tokens",
            &[
                "form[action='/admin/tokens'] button[type=submit]",
                "td.status .badge",
                "td.row-actions button",
            ],
            1,
        ),
        visit(
            "admin-events",
            "/admin/events",
            &[
                "form[action='/admin/events'] button[type=submit]",
                "td.status .badge",
                "td.row-actions a",
            ],
            1,
        ),
        visit(
            "admin-webhooks",
            "/admin/webhooks",
            &[
                "form[action='/admin/webhooks'] button[type=submit]",
                "td.status .badge",
                "td.row-actions a",
            ],
            1,
        ),
        visit(
            "admin-webhook",
            &format!("/admin/webhooks/{webhook}"),
            &["form[action$='/disable'] button"],
            1,
        ),
        visit(
            "account",
            "/account",
            &[
                "form[action='/account/password'] button[type=submit]",
                "table.sessions td .badge",
                "table.sessions form[action='/account/sessions/end'] button",
            ],
            1,
        ),
    ];

    // Act + assert: every page at 390 px, then the same at 1366 px.
    for v in &pages {
        let m = check_page(&b, &app, v).await;
        // on a phone, the status of a row comes first in its card
        let first = b
            .js(
                "const r = document.querySelector('table.stack tbody tr');
                 if (!r || !r.querySelector('td.status')) return true;
                 const s = r.querySelector('td.status').getBoundingClientRect();
                 return Array.from(r.querySelectorAll('td')).every((td) =>
                   td.getBoundingClientRect().height === 0 || td.getBoundingClientRect().top >= s.top);",
                vec![],
            )
            .await;
        assert_eq!(first, serde_json::json!(true), "{}: status first", v.name);
        assert!(m.inner <= f64::from(PHONE.0));
        screenshot(&b, v.name, PHONE).await;
    }
    b.resize(DESKTOP).await;
    for v in &pages {
        check_page(&b, &app, v).await;
        // the header as before: the navigation in the bar, no menu button
        let (nav, menu) = (
            b.js(nav_shown, vec![]).await,
            b.js(
                "return document.querySelector('button.menu-toggle').getBoundingClientRect().width > 0;",
                vec![],
            )
            .await,
        );
        assert_eq!(
            (nav, menu),
            (serde_json::json!(true), serde_json::json!(false))
        );
        screenshot(&b, v.name, DESKTOP).await;
    }

    b.close().await;
    app.cleanup().await;
}
