//! Shared helpers for the raw-HTTP tests: a simulator per test (auto progress off, fixed seed;
//! [`sim`] speaks the 3.3.8 build the wire reference describes, [`sim_current`] the newer build
//! of Q21), placeholder substitution for seeded ids, form/query/multipart calls and envelope assertions.
#![allow(dead_code)]

use messagepro_sim::{FixtureInfo, Flavour, SimHandle, Simulator};
use serde_json::{Value, json};

pub struct T {
    pub sim: SimHandle,
    pub fx: FixtureInfo,
    pub http: reqwest::Client,
}

/// A simulator of the documented 3.3.8 build.
pub async fn sim() -> T {
    sim_of(Flavour::V3_3_8).await
}

/// A simulator of the newer build (Q21), the default flavour.
pub async fn sim_current() -> T {
    sim_of(Flavour::Current).await
}

pub async fn sim_of(flavour: Flavour) -> T {
    let sim = Simulator::builder()
        .flavour(flavour)
        .seed(7)
        .auto_progress(false)
        .start("127.0.0.1:0")
        .await
        .expect("start simulator");
    let fx = sim.fixture();
    T {
        sim,
        fx,
        http: reqwest::Client::new(),
    }
}

impl T {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.sim.url(), path)
    }

    /// Replaces `{full}`, `{restricted}`, `{online}`, `{offline}`, `{partner}`, `{private}`,
    /// `{wa}`, `{wa_off}` in a value.
    pub fn sub(&self, s: &str) -> String {
        let d = self.fx.devices.as_ref().expect("demo fixture");
        let w = self.fx.whatsapp.as_ref().expect("demo fixture");
        s.replace("{full}", &self.fx.secrets.full)
            .replace("{restricted}", &self.fx.secrets.restricted)
            .replace("{online}", &d.online.unique)
            .replace("{offline}", &d.offline.unique)
            .replace(
                "{partner}",
                &self.fx.partner_device.as_ref().expect("partner").unique,
            )
            .replace(
                "{private}",
                &self
                    .fx
                    .private_partner_device
                    .as_ref()
                    .expect("private")
                    .unique,
            )
            .replace("{wa_off}", &w.disconnected.unique)
            .replace("{wa}", &w.connected.unique)
    }

    pub fn pairs(&self, params: &Value) -> Vec<(String, String)> {
        params
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            self.sub(
                                v.as_str()
                                    .map(str::to_string)
                                    .unwrap_or_else(|| v.to_string())
                                    .as_str(),
                            ),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// POST with a urlencoded form; asserts HTTP 200 + CORS and returns the JSON envelope.
    pub async fn form(&self, path: &str, params: Value) -> Value {
        let r = self
            .http
            .post(self.url(path))
            .form(&self.pairs(&params))
            .send()
            .await
            .expect("request");
        envelope(r).await
    }

    /// GET with the parameters in the query string.
    pub async fn query(&self, path: &str, params: Value) -> Value {
        let r = self
            .http
            .get(self.url(path))
            .query(&self.pairs(&params))
            .send()
            .await
            .expect("request");
        envelope(r).await
    }

    /// Form call with the full secret added.
    pub async fn api(&self, path: &str, mut params: Value) -> Value {
        if params.get("secret").is_none() {
            params["secret"] = json!("{full}");
        }
        self.form(path, params).await
    }

    pub async fn ctl(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("control request");
        assert!(
            r.status().is_success(),
            "control {path} answered {}",
            r.status()
        );
        r.json().await.expect("control JSON")
    }

    pub async fn list(&self, path: &str) -> Vec<Value> {
        let v = self.api(path, json!({ "limit": "1000" })).await;
        assert_eq!(v["status"], 200, "{path}: {v}");
        v["data"].as_array().cloned().expect("array")
    }
}

pub async fn envelope(r: reqwest::Response) -> Value {
    assert_eq!(r.status(), 200, "HTTP status must always be 200");
    assert_eq!(
        r.headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap_or("")),
        Some("*")
    );
    r.json().await.expect("JSON envelope")
}

#[track_caller]
pub fn expect(v: &Value, status: u16, message: &str) {
    assert_eq!(v["status"], status, "status in {v}");
    assert_eq!(v["message"], message, "message in {v}");
}
