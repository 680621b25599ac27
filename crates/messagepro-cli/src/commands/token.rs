//! `messagepro token …` — integration API tokens from the command line: `create` (prints the
//! token once: only its hash is stored), `list`, `revoke`. Created through core like the console
//! does, audited as `system:cli`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use messagepro_console::{SystemClock, app};
use messagepro_core::Actor;
use messagepro_store::Store;
use secrecy::ExposeSecret;

use crate::cli::Globals;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration file (default: ./messagepro.toml when present).
    #[arg(long, global = true, env = "MESSAGEPRO_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database URL (overrides the configuration).
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create a token and print it once.
    Create {
        /// What uses it (`erp`, `boutique-en-ligne`).
        #[arg(long)]
        name: String,
        /// Comma-separated scopes: messages:send, messages:read, otp, events, contacts, webhooks.
        #[arg(long, value_delimiter = ',', required = true)]
        scopes: Vec<String>,
        /// Requests allowed per minute (default 600).
        #[arg(long)]
        rate: Option<i64>,
    },
    /// List tokens (never their secret).
    List,
    /// Revoke a token by id: its next request is refused.
    Revoke {
        #[arg(long)]
        id: i64,
    },
}

const CLI: Actor = Actor::System { name: "cli" };

fn when(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "-".into())
}

pub async fn run(args: Args, g: &Globals) -> anyhow::Result<ExitCode> {
    let settings = super::serve::settings(args.config.as_deref(), args.database_url, g)?;
    let store = Store::connect(&settings.database_url)
        .await
        .context("cannot open the database")?;
    store
        .migrate()
        .await
        .context("cannot migrate the database")?;
    let core = app::build_core(&settings, store.clone(), Arc::new(SystemClock))?;
    match args.command {
        Command::Create { name, scopes, rate } => {
            let t = core
                .token_create(&CLI, &name, &scopes, rate)
                .await
                .map_err(|e| anyhow::anyhow!("cannot create the token: {e}"))?;
            if g.json {
                println!(
                    "{}",
                    serde_json::json!({"id": t.token.id, "name": t.token.name,
                        "scopes": t.token.scopes, "token": t.secret.expose_secret()})
                );
            } else {
                println!(
                    "Token {} « {} » ({})",
                    t.token.id, t.token.name, t.token.scopes
                );
                println!("{}", t.secret.expose_secret());
                eprintln!("Copy it now: it is shown only once (only its hash is stored).");
            }
        }
        Command::List => {
            let tokens = store.tokens().await?;
            if g.json {
                let rows: Vec<_> = tokens
                    .iter()
                    .map(|t| {
                        serde_json::json!({"id": t.id, "name": t.name, "prefix": t.prefix,
                        "scopes": t.scopes, "rate_per_minute": t.rate_per_minute,
                        "last_used_ms": t.last_used_ms, "revoked_ms": t.revoked_ms})
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                for t in &tokens {
                    let state = if t.revoked_ms.is_some() {
                        "revoked"
                    } else {
                        "active"
                    };
                    println!(
                        "{:>4}  {:<20} {}…  {:<40} {}/min  last used {}  {state}",
                        t.id,
                        t.name,
                        t.prefix,
                        t.scopes,
                        t.rate_per_minute,
                        when(t.last_used_ms)
                    );
                }
                if tokens.is_empty() {
                    println!(
                        "No token yet: messagepro token create --name erp --scopes messages:send,events"
                    );
                }
            }
        }
        Command::Revoke { id } => {
            let done = core
                .token_revoke(&CLI, id)
                .await
                .map_err(|e| anyhow::anyhow!("cannot revoke: {e}"))?;
            if !done {
                anyhow::bail!("no active token {id}");
            }
            println!("Token {id} revoked.");
        }
    }
    Ok(ExitCode::SUCCESS)
}
