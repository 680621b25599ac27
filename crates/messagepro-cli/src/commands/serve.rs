//! `messagepro serve` — runs the web console: loads the configuration, applies migrations, binds
//! and serves until Ctrl-C. When the database has no user yet, says how to create the first admin.
//! Real mode needs the Message Pro API secret: without it the console would start but every send
//! would fail, so it refuses to start and says how to set it (`messagepro demo` runs without one).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use messagepro_console::{Application, Settings};

use crate::cli::Globals;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration file (default: ./messagepro.toml when present).
    #[arg(long, env = "MESSAGEPRO_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on (overrides the configuration), e.g. 0.0.0.0:8080.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Database URL (overrides the configuration): sqlite://… or postgres://….
    #[arg(long)]
    pub database_url: Option<String>,
    /// Serve the web only: no outbox worker in this process (run `messagepro worker` elsewhere).
    #[arg(long)]
    pub no_workers: bool,
}

/// Settings from the file and environment, with the command-line overrides.
pub fn settings(
    config: Option<&std::path::Path>,
    database_url: Option<String>,
    g: &Globals,
) -> anyhow::Result<Settings> {
    let mut s = Settings::load(config)?;
    if let Some(url) = database_url {
        s.database_url = url;
    }
    if let Some(base) = &g.base_url {
        s.base_url = base.trim_end_matches('/').to_owned();
    }
    Ok(s)
}

pub async fn run(args: Args, g: &Globals) -> anyhow::Result<ExitCode> {
    let mut settings = settings(args.config.as_deref(), args.database_url, g)?;
    if let Some(listen) = args.listen {
        settings.listen = listen;
    }
    if settings.api_secret.is_none() {
        anyhow::bail!(
            "{}\n(create the key in Message Pro under Tools → API Keys; to try the console \
             without an account, run `messagepro demo`)",
            messagepro::Error::MissingSecret
        );
    }
    let app = Application::build(settings)
        .await
        .context("cannot start the console")?
        .with_workers(!args.no_workers);
    let users = app
        .state()
        .store
        .count_users()
        .await
        .context("cannot read users")?;
    eprintln!(
        "messagepro console listening on {} ({} database)",
        app.url(),
        app.state().store.backend_name()
    );
    if users == 0 {
        eprintln!(
            "No user yet. Create the first administrator with:\n  messagepro user add --username admin --role admin"
        );
    }
    app.run_until_stopped().await?;
    Ok(ExitCode::SUCCESS)
}
