//! `messagepro otp` — not built yet (placeholder so the command tree compiles).

use std::process::ExitCode;

use crate::cli::Globals;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_args: Args, _g: &Globals) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`messagepro otp` is not implemented yet")
}
