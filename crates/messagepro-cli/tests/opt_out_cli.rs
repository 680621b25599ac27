//! The CLI's direct sends honour opt-outs, on both lists it can see: a number that texted STOP
//! (on the platform's unsubscribed list) and a number on the console's suppression list (the
//! console's database in `./data`) are refused by `sms send`, left out of `sms bulk`'s numbers
//! — and nothing reaches the simulator for them; other numbers are sent as before.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const SECRET: &str = "opt-out-cli-secret-0123456789";

async fn start() -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_messagepro"))
        .args([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--secret",
            SECRET,
            "--no-auto-progress",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn messagepro sim");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the simulator starts")
        .expect("read stdout")
        .expect("the simulator prints its URL");
    (child, url.trim().to_owned())
}

async fn control(url: &str, path: &str, body: Option<Value>) -> Value {
    let c = reqwest::Client::new();
    let r = match body {
        Some(b) => c.post(format!("{url}/_sim/{path}")).json(&b),
        None => c.get(format!("{url}/_sim/{path}")),
    };
    r.send().await.expect("control").json().await.expect("JSON")
}

async fn ledger_to(url: &str) -> Vec<String> {
    let l = control(url, "ledger", None).await;
    l.as_array()
        .expect("ledger array")
        .iter()
        .map(|e| {
            e["recipient"]
                .as_str()
                .unwrap_or_default()
                .chars()
                .filter(char::is_ascii_digit)
                .collect()
        })
        .collect()
}

async fn cli(dir: &std::path::Path, url: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_messagepro"))
        .current_dir(dir)
        .env("MESSAGEPRO_BASE_URL", url)
        .env("MESSAGEPRO_API_SECRET", SECRET)
        .env_remove("MESSAGEPRO_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .env_remove("MESSAGEPRO_LOG")
        .args(args)
        .output()
        .await
        .expect("run messagepro")
}

#[tokio::test]
async fn sms_send_and_bulk_leave_opted_out_numbers_alone() {
    let (_child, url) = start().await;
    let fx = control(&url, "fixture", None).await;
    let device = fx["devices"]["online"]["unique"]
        .as_str()
        .unwrap()
        .to_owned();
    let dir = tempfile::tempdir().unwrap();
    // the console's database in ./data, with one number on its suppression list
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let store = messagepro_store::Store::connect(&format!(
        "sqlite://{}/data/messagepro.db",
        dir.path().display()
    ))
    .await
    .unwrap();
    store.migrate().await.unwrap();
    store
        .suppress("+224621000902", "local", Some("asked"), Some("awa"), 1)
        .await
        .unwrap();
    store.close().await;
    // another number texted STOP: on the platform's unsubscribed list
    control(
        &url,
        "inbound/sms",
        Some(json!({"from": "+224621000901", "message": "STOP"})),
    )
    .await;

    for phone in ["+224621000901", "621 00 09 02"] {
        let out = cli(
            dir.path(),
            &url,
            &[
                "sms",
                "send",
                "--phone",
                phone,
                "--message",
                "Promo",
                "--device",
                &device,
            ],
        )
        .await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{phone} refused");
        assert!(err.contains("opted out (STOP)"), "{phone}: {err}");
        assert!(!err.contains(SECRET), "no secret in errors");
    }
    assert!(ledger_to(&url).await.is_empty(), "nothing sent");

    let out = cli(
        dir.path(),
        &url,
        &[
            "sms",
            "send",
            "--phone",
            "+224621000903",
            "--message",
            "Votre commande",
            "--device",
            &device,
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(ledger_to(&url).await, ["224621000903"]);

    let out = cli(
        dir.path(),
        &url,
        &[
            "sms",
            "bulk",
            "--campaign",
            "Soldes",
            "--message",
            "Soldes",
            "--numbers",
            "+224621000901,+224621000902,+224621000904",
            "--device",
            &device,
        ],
    )
    .await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("2 opted-out number(s) left out"), "{err}");
    let mut sent = ledger_to(&url).await;
    sent.sort();
    assert_eq!(sent, ["224621000903", "224621000904"]);
}

#[tokio::test]
async fn a_bulk_send_to_a_group_holding_an_opted_out_member_is_refused_and_sends_nothing() {
    let (_child, url) = start().await;
    let fx = control(&url, "fixture", None).await;
    let device = fx["devices"]["online"]["unique"]
        .as_str()
        .unwrap()
        .to_owned();
    let group = fx["groups"][0]["id"].as_u64().expect("a group");
    let member = fx["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["groups"]
                .as_array()
                .is_some_and(|g| g.iter().any(|x| x.as_u64() == Some(group)))
        })
        .expect("a member")["phone"]
        .as_str()
        .unwrap()
        .to_owned();
    control(
        &url,
        "inbound/sms",
        Some(json!({"from": member, "message": "STOP"})),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = cli(
        dir.path(),
        &url,
        &[
            "sms",
            "bulk",
            "--message",
            "Promo",
            "--groups",
            &group.to_string(),
            "--device",
            &device,
        ],
    )
    .await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("member(s) of the chosen groups opted out"),
        "{err}"
    );
    assert!(ledger_to(&url).await.is_empty(), "nothing sent");
}
