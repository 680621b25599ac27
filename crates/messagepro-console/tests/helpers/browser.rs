//! The browser tests' harness: Debian's chromedriver + headless Chromium, one session per
//! test, ended on drop. Without them a test prints why it skipped, unless
//! `MESSAGEPRO_BROWSER_TESTS=required` (set by `.ci/run`), where a missing browser is a failure.

use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use tokio::process::{Child, Command};

use super::messaging::SimApp;

/// A running chromedriver and one browser session; both end on drop.
pub struct Browser {
    pub client: Client,
    _driver: Child,
    _profile: tempfile::TempDir,
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| std::path::Path::new(dir).join(program))
        .find(|p| p.is_file())
}

/// Starts chromedriver + headless Chromium with a `width`×`height` window (and the browser
/// language `lang`, e.g. `fr-FR,fr`, when given), or returns `None` (after saying why) when they
/// are not installed and not required.
pub async fn browser(
    test: &str,
    (width, height): (u32, u32),
    lang: Option<&str>,
) -> Option<Browser> {
    let required = std::env::var("MESSAGEPRO_BROWSER_TESTS").is_ok_and(|v| v == "required");
    let (Some(driver), Some(chromium)) = (which("chromedriver"), which("chromium")) else {
        assert!(
            !required,
            "MESSAGEPRO_BROWSER_TESTS=required but chromium/chromedriver are not installed"
        );
        eprintln!(
            "skipped: {test} (browser test: install Debian's chromium and chromium-driver to run it)"
        );
        return None;
    };
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver starts");
    let profile = tempfile::tempdir().unwrap();
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--no-first-run", "--disable-sync", "--disable-quic",
                "--hide-scrollbars", "--force-device-scale-factor=1",
                format!("--window-size={width},{height}"),
                format!("--user-data-dir={}", profile.path().display()),
            ],
            "prefs": lang.map(|l| serde_json::json!({ "intl.accept_languages": l }))
                .unwrap_or_else(|| serde_json::json!({}))
        }
    });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    let webdriver = format!("http://127.0.0.1:{port}");
    // chromedriver takes a moment to listen
    let mut last_err = None;
    for _ in 0..100 {
        match ClientBuilder::new(HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&webdriver)
            .await
        {
            Ok(client) => {
                return Some(Browser {
                    client,
                    _driver: child,
                    _profile: profile,
                });
            }
            Err(e) => {
                last_err = Some(e);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    panic!("cannot start a Chromium session: {last_err:?}");
}

impl Browser {
    pub async fn login(&self, app: &SimApp, username: &str, password: &str) {
        self.client.goto(&app.at("/login")).await.unwrap();
        self.submit_login(username, password).await;
    }

    /// Fills and submits the login form of the page shown, then waits to be logged in.
    pub async fn submit_login(&self, username: &str, password: &str) {
        let c = &self.client;
        c.find(Locator::Css("input[name=username]"))
            .await
            .unwrap()
            .send_keys(username)
            .await
            .unwrap();
        c.find(Locator::Css("input[name=password]"))
            .await
            .unwrap()
            .send_keys(password)
            .await
            .unwrap();
        c.find(Locator::Css("form[action='/login'] button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        // logged in: the logout button of the navigation bar is there
        c.wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css("form[action='/logout']"))
            .await
            .expect("login succeeds in the browser");
    }

    pub async fn text_of(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
