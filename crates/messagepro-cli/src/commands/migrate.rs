//! `messagepro migrate` — applies the pending database migrations and exits (the console also
//! applies them at start; this is for deployments that migrate as a separate step).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use messagepro_store::Store;

use crate::cli::Globals;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration file (default: ./messagepro.toml when present).
    #[arg(long, env = "MESSAGEPRO_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database URL (overrides the configuration): sqlite://… or postgres://….
    #[arg(long)]
    pub database_url: Option<String>,
}

pub async fn run(args: Args, g: &Globals) -> anyhow::Result<ExitCode> {
    let settings = super::serve::settings(args.config.as_deref(), args.database_url, g)?;
    let store = Store::connect(&settings.database_url)
        .await
        .context("cannot open the database")?;
    store.migrate().await.context("migration failed")?;
    let backend = store.backend_name();
    store.close().await;
    if g.json {
        crate::output::json(&serde_json::json!({"migrated": true, "backend": backend}))?;
    } else {
        crate::output::line(format_args!("database migrated ({backend})"))?;
    }
    Ok(ExitCode::SUCCESS)
}
