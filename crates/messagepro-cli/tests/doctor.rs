//! `messagepro doctor` against an in-process simulator: every check passes with the full key,
//! the missing permissions are named with the restricted key, a missing secret is a failed check,
//! and `--send-test` really sends.

use std::process::Output;

use messagepro::api::probe::CONSOLE_PERMISSIONS;
use messagepro_sim::{SimHandle, Simulator};

async fn sim() -> SimHandle {
    Simulator::builder()
        .auto_progress(false)
        .start("127.0.0.1:0")
        .await
        .expect("simulator starts")
}

/// Runs the binary in an empty directory (no `.env`) with exactly these Message Pro variables.
async fn doctor(sim: &SimHandle, secret: Option<&str>, args: &[&str]) -> (Output, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_messagepro"));
    cmd.current_dir(dir.path())
        .arg("doctor")
        .args(args)
        .env("MESSAGEPRO_BASE_URL", sim.url())
        .env_remove("MESSAGEPRO_API_SECRET");
    if let Some(s) = secret {
        cmd.env("MESSAGEPRO_API_SECRET", s);
    }
    let out = cmd.output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, stdout)
}

#[tokio::test]
async fn every_check_passes_with_the_demo_fixture_and_the_full_key() {
    let sim = sim().await;
    let (out, stdout) = doctor(&sim, Some(&sim.fixture().secrets.full), &[]).await;
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    for check in [
        "secret",
        "platform",
        "permissions",
        "subscription",
        "devices",
        "credits",
        "whatsapp",
        "contacts",
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with(&format!("✔ {check}"))),
            "missing ✔ {check} in:\n{stdout}"
        );
    }
    assert!(!stdout.contains('✘'), "{stdout}");
    assert!(stdout.contains("All 8 checks passed."), "{stdout}");
    // the probes sent nothing
    assert!(
        sim.shared().ledger().is_empty(),
        "doctor must not send anything"
    );
}

#[tokio::test]
async fn the_restricted_key_gets_its_missing_permissions_named() {
    let sim = sim().await;
    let fx = sim.fixture();
    let (out, stdout) = doctor(&sim, Some(&fx.secrets.restricted), &[]).await;
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("✘ permissions"))
        .unwrap_or_else(|| panic!("no failed permissions line in:\n{stdout}"));
    let named: Vec<&str> = line
        .split("the key lacks: ")
        .nth(1)
        .expect("the line names what is missing")
        .split(", ")
        .collect();
    let expected: Vec<&str> = CONSOLE_PERMISSIONS
        .iter()
        .copied()
        .filter(|p| !fx.restricted_permissions.iter().any(|r| r == p))
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(
        named, expected,
        "exactly the permissions the restricted key lacks"
    );
    assert!(stdout.contains("fix: enable these permissions"), "{stdout}");
}

#[tokio::test]
async fn a_missing_secret_is_a_failed_check_with_the_fix() {
    let sim = sim().await;
    let (out, stdout) = doctor(&sim, None, &[]).await;
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("✘ secret"), "{stdout}");
    assert!(stdout.contains("MESSAGEPRO_API_SECRET"), "{stdout}");
}

#[tokio::test]
async fn an_unknown_secret_is_reported_and_never_printed() {
    let sim = sim().await;
    let bogus = "0123456789abcdef0123456789abcdef01234567";
    let (out, stdout) = doctor(&sim, Some(bogus), &[]).await;
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("✘ platform"), "{stdout}");
    assert!(!stdout.contains(bogus), "the secret leaked: {stdout}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains(bogus));
}

#[tokio::test]
async fn send_test_sends_one_real_sms_through_the_online_device() {
    let sim = sim().await;
    let fx = sim.fixture();
    let (out, stdout) = doctor(&sim, Some(&fx.secrets.full), &["--send-test", "621234567"]).await;
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("✔ send-test"), "{stdout}");
    let ledger = sim.shared().ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].recipient, "+224621234567");
}

#[tokio::test]
async fn devices_fail_when_every_device_is_offline() {
    let sim = sim().await;
    let fx = sim.fixture();
    let online = fx.devices.as_ref().unwrap().online.unique.clone();
    sim.shared().set_device_online(&online, false).unwrap();
    let (out, stdout) = doctor(&sim, Some(&fx.secrets.full), &[]).await;
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("✘ devices"), "{stdout}");
    assert!(stdout.contains("none online"), "{stdout}");
}
