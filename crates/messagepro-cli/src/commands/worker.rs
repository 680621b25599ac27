//! `messagepro worker` — runs the delivery engine without the web: claims outbox jobs and sends
//! them, expires leases, reconciles statuses. For deployments with several processes on one
//! PostgreSQL (`messagepro serve --no-workers` for the web ones); any number of workers share
//! the jobs without sending one twice (leases, `FOR UPDATE SKIP LOCKED`). Stops on Ctrl-C or
//! SIGTERM after its in-flight sends are recorded.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use messagepro_console::{SystemClock, app};
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
    /// Send what is ready, then exit (instead of running until stopped).
    #[arg(long)]
    pub drain: bool,
}

pub async fn run(args: Args, g: &Globals) -> anyhow::Result<ExitCode> {
    let settings = super::serve::settings(args.config.as_deref(), args.database_url, g)?;
    if settings.api_secret.is_none() {
        anyhow::bail!("{}", messagepro::Error::MissingSecret);
    }
    let store = Store::connect(&settings.database_url)
        .await
        .context("cannot open the database")?;
    store
        .migrate()
        .await
        .context("cannot migrate the database")?;
    let core = app::build_core(&settings, store.clone(), Arc::new(SystemClock))?;
    if args.drain {
        let n = core.drain().await.context("cannot drain the outbox")?;
        eprintln!("{n} job(s) dispatched");
        return Ok(ExitCode::SUCCESS);
    }
    let worker = messagepro_core::Worker::new(core);
    eprintln!(
        "messagepro worker {} running ({} database)",
        worker.id(),
        store.backend_name()
    );
    let handle = worker.spawn();
    app::shutdown_signal().await;
    eprintln!("stopping: finishing in-flight sends");
    handle.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
