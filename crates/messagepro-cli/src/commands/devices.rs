//! `messagepro devices` — the account's Android devices (the `--device` ids of the send
//! commands).

use std::process::ExitCode;

use crate::cli::Globals;
use crate::commands::client;
use crate::output;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_args: Args, g: &Globals) -> anyhow::Result<ExitCode> {
    let client = client::build(g)?;
    let rows = client.all_devices().await?;
    output::list(
        g.json,
        &rows,
        &["ID", "UNIQUE", "NAME", "ANDROID", "STATUS", "PARTNER"],
        |d| {
            vec![
                d.id.to_string(),
                d.unique.clone(),
                output::cell(&d.name, 30),
                d.version.clone(),
                if d.online { "online" } else { "offline" }.to_owned(),
                if d.partner { "yes" } else { "no" }.to_owned(),
            ]
        },
    )?;
    Ok(ExitCode::SUCCESS)
}
