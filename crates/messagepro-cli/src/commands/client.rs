//! Builds the `messagepro::Client` the API commands use, from `--base-url` and the environment
//! (`MESSAGEPRO_API_SECRET`, `MESSAGEPRO_BASE_URL`, `MESSAGEPRO_DEFAULT_COUNTRY`, or `.env`).
//! A missing secret surfaces as the library's `MissingSecret` message (exit 2 in `main`).

use messagepro::{Client, ClientBuilder, Error};

use crate::cli::Globals;

/// The client for this invocation.
pub fn build(g: &Globals) -> anyhow::Result<Client> {
    let mut builder = ClientBuilder::from_env();
    if let Some(url) = g.base_url.as_deref().filter(|u| !u.trim().is_empty()) {
        builder = builder.base_url(url);
    }
    Ok(builder.build()?)
}

/// Parses a comma-separated list of contact group ids.
pub fn group_ids(csv: &str) -> anyhow::Result<Vec<u64>> {
    csv.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<u64>()
                .map_err(|_| anyhow::anyhow!("`{s}` is not a contact group id (a whole number)"))
        })
        .collect()
}

/// Parses phone numbers typed by the user with the client's default country; reports every
/// invalid entry at once.
pub fn phones<'a>(
    client: &Client,
    inputs: impl IntoIterator<Item = &'a str>,
    mut tick: impl FnMut(),
) -> anyhow::Result<Vec<messagepro::Phone>> {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for raw in inputs {
        let raw = raw.trim();
        tick();
        if raw.is_empty() || raw.starts_with('#') {
            continue;
        }
        match client.parse_phone(raw) {
            Ok(p) => ok.push(p),
            Err(Error::InvalidInput(msg)) => bad.push(msg),
            Err(e) => return Err(e.into()),
        }
    }
    if !bad.is_empty() {
        let shown: Vec<_> = bad.iter().take(5).cloned().collect();
        anyhow::bail!(
            "{} invalid phone number(s): {}{}",
            bad.len(),
            shown.join("; "),
            if bad.len() > 5 { "; …" } else { "" }
        );
    }
    Ok(ok)
}
