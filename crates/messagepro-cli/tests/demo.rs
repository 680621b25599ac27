//! The README's first command, end to end: `messagepro demo` starts the console and an embedded
//! simulator, prints the logins; a `superviseur` sends « Votre commande #A-12 est prête » to the
//! local number 621234567 through the online device and the history shows `+224621234567`,
//! pending first, then sent once the simulated device reports it.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

fn csrf(html: &str) -> String {
    let start = html
        .find("name=\"csrf_token\" value=\"")
        .expect("page has a CSRF token")
        + "name=\"csrf_token\" value=\"".len();
    html[start..start + 64].to_owned()
}

fn field<'a>(out: &'a str, label: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .unwrap_or_else(|| panic!("no `{label}` line in:\n{out}"))
        .split_whitespace()
        .next()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_sends_an_sms_that_goes_from_pending_to_sent_in_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_messagepro"))
        .current_dir(dir.path())
        .args(["demo", "--listen", "127.0.0.1:0"])
        .env_remove("MESSAGEPRO_API_SECRET")
        .env_remove("MESSAGEPRO_BASE_URL")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    // The banner, up to "Press Ctrl-C".
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = String::new();
    tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(l) = lines.next_line().await.unwrap() {
            banner.push_str(&l);
            banner.push('\n');
            if l.contains("Press Ctrl-C") {
                break;
            }
        }
    })
    .await
    .expect("the demo starts within a minute");
    let console = field(&banner, "Console").to_owned();
    let sim = field(&banner, "Simulator").to_owned();
    let password = field(&banner, "superviseur").to_owned();
    assert!(
        field(&banner, "admin").len() >= 12,
        "admin gets a generated password"
    );
    assert!(
        dir.path().join("data/demo/messagepro.db").exists(),
        "a fresh SQLite database under ./data/demo"
    );

    let fixture: serde_json::Value = reqwest::get(format!("{sim}/_sim/fixture"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let online = fixture["devices"]["online"]["unique"].as_str().unwrap();

    // Log in as superviseur.
    let web = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = web.get(format!("{console}/login")).send().await.unwrap();
    let token = csrf(&login.text().await.unwrap());
    let r = web
        .post(format!("{console}/login"))
        .form(&[
            ("username", "superviseur"),
            ("password", &password),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "the printed superviseur password works");

    // Send to a local number through the online device.
    let page = web
        .get(format!("{console}/messaging/sms/send"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf(&page);
    // the form's one-time token (double-submit guard)
    let nonce = page
        .split("name=\"nonce\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the send form has its one-time token")
        .to_owned();
    let r = web
        .post(format!("{console}/messaging/sms/send"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("nonce", nonce.as_str()),
            ("phone", "621234567"),
            ("message", "Votre commande #A-12 est prête"),
            ("mode", "devices"),
            ("device", online),
            ("sim", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "the send is accepted");

    let history = || async {
        web.get(format!("{console}/messaging/sms/history"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let first = history().await;
    assert!(
        first.contains("+224621234567"),
        "history shows the E.164 number"
    );
    assert!(first.contains("Votre commande #A-12 est prête"));
    assert!(
        first.contains("badge-pending"),
        "first pending (the simulated device picks it up after about a second)"
    );

    // The simulated device reports it within a few seconds; the console syncs every second.
    let mut sent = false;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let h = history().await;
        if h.contains("badge-sent") {
            assert!(!h.contains("badge-pending"));
            sent = true;
            break;
        }
    }
    assert!(sent, "the message ends up sent in the history");
    child.kill().await.unwrap();
}
