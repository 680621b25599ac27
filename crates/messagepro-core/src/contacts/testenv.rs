//! What the contact-book unit tests share: a fresh SQLite store, the in-process simulator with
//! its demo fixture, and a [`Core`] over both.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use messagepro_sim::{SimHandle, Simulator};

use crate::permissions::Permission;
use crate::{Actor, Core, CoreSettings, ManualClock};

const SECRET: &str = "contacts-test-secret-0123456789";

pub(crate) struct Env {
    pub(crate) sim: SimHandle,
    pub(crate) core: Core,
    _dir: tempfile::TempDir,
}

impl Env {
    pub(crate) async fn cleanup(self) {
        self.sim.shutdown().await;
    }
}

pub(crate) async fn env() -> Env {
    let sim = Simulator::builder()
        .auto_progress(false)
        .secret(SECRET.to_owned())
        .start("127.0.0.1:0")
        .await
        .expect("simulator");
    let dir = tempfile::tempdir().expect("temp dir");
    let store =
        messagepro_store::Store::connect(&format!("sqlite://{}/c.db", dir.path().display()))
            .await
            .expect("store");
    store.migrate().await.expect("migrations");
    let client = messagepro::Client::builder()
        .base_url(sim.url())
        .secret(SECRET)
        .timeout(Duration::from_secs(5))
        .read_retries(0)
        .build()
        .expect("client");
    let settings = CoreSettings {
        reconcile_every: None,
        policy: crate::policy::PolicySettings::unrestricted(),
        ..Default::default()
    };
    let core = Core::new(store, client, settings, Arc::new(ManualClock::default()));
    Env {
        sim,
        core,
        _dir: dir,
    }
}

fn user(permissions: &[Permission]) -> Actor {
    Actor::User {
        id: 1,
        username: "superviseur".into(),
        permissions: permissions.iter().copied().collect::<BTreeSet<_>>(),
        ip: Some("127.0.0.1".into()),
    }
}

/// May manage contacts.
pub(crate) fn manager() -> Actor {
    user(&[Permission::MessagingRead, Permission::ManageContacts])
}

/// May only read.
pub(crate) fn reader() -> Actor {
    user(&[Permission::MessagingRead])
}
