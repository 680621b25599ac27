//! `messagepro sim --flavour`: the newer build (default) answers `send/sms` with a message id that
//! `get/sms.message` finds; `--flavour 3.3.8` keeps the documented build's answers; an unknown
//! flavour is refused with a plain message before anything listens. `messagepro sms show ID`
//! prints that message from the platform, and says plainly when the build has no lookup.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const SECRET: &str = "sim-cli-secret-0123456789";

async fn start(flavour: Option<&str>) -> (Child, String) {
    let mut args = vec![
        "sim",
        "--listen",
        "127.0.0.1:0",
        "--secret",
        SECRET,
        "--no-auto-progress",
    ];
    if let Some(f) = flavour {
        args.extend(["--flavour", f]);
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_messagepro"))
        .args(args)
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

async fn call(url: &str, path: &str, form: &[(&str, &str)]) -> Value {
    let mut form = form.to_vec();
    form.push(("secret", SECRET));
    reqwest::Client::new()
        .post(format!("{url}{path}"))
        .form(&form)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON envelope")
}

async fn online_device(url: &str) -> String {
    let fx: Value = reqwest::get(format!("{url}/_sim/fixture"))
        .await
        .expect("fixture")
        .json()
        .await
        .expect("fixture JSON");
    fx["devices"]["online"]["unique"]
        .as_str()
        .expect("online device")
        .to_owned()
}

async fn send(url: &str) -> Value {
    let device = online_device(url).await;
    call(
        url,
        "/api/send/sms",
        &[
            ("mode", "devices"),
            ("device", &device),
            ("phone", "+224621234567"),
            ("message", "Bonjour"),
        ],
    )
    .await
}

#[tokio::test]
async fn the_default_flavour_answers_ids_that_get_sms_message_finds() {
    let (_child, url) = start(None).await;
    let v = send(&url).await;
    assert_eq!(v["message"], "Message has been queued for sending!", "{v}");
    let id = v["data"]["messageId"].as_u64().expect("a messageId");
    let found = call(
        &url,
        "/api/get/sms.message",
        &[("id", &id.to_string()), ("type", "sent")],
    )
    .await;
    assert_eq!(found["message"], "Message was found!", "{found}");
    assert_eq!(found["data"]["id"], id);

    let out = cli(&url, &["--json", "sms", "show", &id.to_string()]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Value = serde_json::from_slice(&out.stdout).expect("JSON rows");
    assert_eq!(rows[0]["id"], id);
    assert_eq!(rows[0]["status"], "pending");
    assert_eq!(rows[0]["recipient"], "+224621234567");
    let out = cli(&url, &["sms", "show", &(id + 50).to_string()]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Message doesn't exist!"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The CLI against `url` with the test secret, in an empty directory (no `.env`).
async fn cli(url: &str, args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().expect("temp dir");
    Command::new(env!("CARGO_BIN_EXE_messagepro"))
        .current_dir(dir.path())
        .env("MESSAGEPRO_BASE_URL", url)
        .env("MESSAGEPRO_API_SECRET", SECRET)
        .env_remove("MESSAGEPRO_LOG")
        .args(args)
        .output()
        .await
        .expect("run messagepro")
}

#[tokio::test]
async fn flavour_3_3_8_keeps_the_documented_answers() {
    let (_child, url) = start(Some("3.3.8")).await;
    let v = send(&url).await;
    assert_eq!(v["message"], "Message has been queued for sending!", "{v}");
    assert_eq!(v["data"], false);
    let found = call(
        &url,
        "/api/get/sms.message",
        &[("id", "1"), ("type", "sent")],
    )
    .await;
    assert_eq!(found["status"], 400);
    assert_eq!(found["message"], "Invalid API Endpoint!");
    let out = cli(&url, &["sms", "show", "1"]).await;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("this Message Pro build does not have the endpoint"),
        "{err}"
    );
}

#[tokio::test]
async fn an_unknown_flavour_is_refused_with_the_choices() {
    let out = Command::new(env!("CARGO_BIN_EXE_messagepro"))
        .args(["sim", "--listen", "127.0.0.1:0", "--flavour", "4.0"])
        .output()
        .await
        .expect("run messagepro sim");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown flavour `4.0`: use `current` or `3.3.8`"),
        "{err}"
    );
}
