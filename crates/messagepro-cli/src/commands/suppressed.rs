//! The opt-out check of the CLI's direct sends (`sms send`, `sms bulk`, `whatsapp send`): they
//! call Message Pro straight away, and the platform does not check its own unsubscribed list
//! for API sends — so the CLI does, before anything leaves, against both lists it can see:
//! the console's suppression list when the console's database is configured and exists
//! (`MESSAGEPRO_DATABASE_URL`, the configuration file, or `./data/messagepro.db`), and the
//! platform's `get/unsubscribed` (when it cannot be read — a key without that permission — the
//! CLI says so on stderr and goes on with the local list).

use std::collections::HashSet;

use anyhow::Context;
use messagepro::{Client, Phone};
use messagepro_store::Store;

use crate::cli::Globals;

/// The console's store, if one is configured and exists (never created by a send).
async fn local_store(g: &Globals) -> anyhow::Result<Option<Store>> {
    let settings = super::serve::settings(None, None, g)?;
    let url = settings.database_url;
    if let Some(path) = url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or(path);
        if !std::path::Path::new(path).exists() {
            return Ok(None);
        }
    }
    let store = Store::connect(&url)
        .await
        .context("cannot open the console's database to check the suppression list")?;
    store
        .migrate()
        .await
        .context("cannot migrate the console's database")?;
    Ok(Some(store))
}

/// The numbers among `phones` that opted out (either list), in input order.
pub async fn among(client: &Client, g: &Globals, phones: &[Phone]) -> anyhow::Result<Vec<Phone>> {
    let mut out: HashSet<String> = HashSet::new();
    if let Some(store) = local_store(g).await? {
        let e164: Vec<String> = phones.iter().map(|p| p.e164().to_owned()).collect();
        out.extend(store.suppressed_among(&e164).await?);
        store.close().await;
    }
    let country = client.default_country().to_owned();
    match client.all_unsubscribed().await {
        Ok(rows) => {
            for u in rows {
                if let Ok(p) = Phone::parse(&u.phone, &country) {
                    out.insert(p.e164().to_owned());
                }
            }
        }
        // a key without `get_unsubscribed`, an older build: said, not fatal — the console's
        // list (when there is one) was checked
        Err(e) => eprintln!(
            "warning: Message Pro's unsubscribed list could not be read ({e}); \
             sending without that check"
        ),
    }
    Ok(phones
        .iter()
        .filter(|p| out.contains(p.e164()))
        .cloned()
        .collect())
}

/// Refuses a single send to an opted-out number.
pub async fn refuse(client: &Client, g: &Globals, phone: &Phone) -> anyhow::Result<()> {
    if !among(client, g, std::slice::from_ref(phone))
        .await?
        .is_empty()
    {
        anyhow::bail!(
            "not sent: {phone} opted out (STOP). Remove it from the suppression list \
             (console → Contacts → Opted out) if they asked to receive messages again."
        );
    }
    Ok(())
}
