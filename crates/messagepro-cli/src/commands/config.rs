//! `messagepro config print` — the effective configuration (defaults, file, environment), with
//! secrets masked: the Message Pro secret shows at most its last 4 characters, a database
//! password never.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::Globals;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration file (default: ./messagepro.toml when present).
    #[arg(long, global = true, env = "MESSAGEPRO_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print the effective configuration (secrets masked).
    Print,
}

pub async fn run(args: Args, g: &Globals) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Print => {
            let s = super::serve::settings(args.config.as_deref(), None, g)?;
            let lines = s.describe();
            if g.json {
                let map: serde_json::Map<String, serde_json::Value> = lines
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), serde_json::Value::String(v)))
                    .collect();
                crate::output::json(&map)?;
            } else {
                let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
                for (k, v) in lines {
                    crate::output::line(format_args!("{k:<width$} = {v}"))?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
