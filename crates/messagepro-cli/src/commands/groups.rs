//! `messagepro groups list|create` — contact groups.

use std::process::ExitCode;

use clap::Subcommand;

use crate::cli::Globals;
use crate::commands::client;
use crate::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List every contact group.
    List,
    /// Create a contact group.
    Create {
        /// Name (at least 3 characters).
        #[arg(long)]
        name: String,
    },
}

pub async fn run(args: Args, g: &Globals) -> anyhow::Result<ExitCode> {
    let client = client::build(g)?;
    match args.command {
        Command::List => {
            let rows = client.all_groups().await?;
            output::list(g.json, &rows, &["ID", "NAME"], |gr| {
                vec![gr.id.to_string(), output::cell(&gr.name, 60)]
            })?;
        }
        Command::Create { name } => {
            let ack = client.create_group(&name).await?;
            if g.json {
                output::json(&ack)?;
            } else {
                output::line(&ack.message)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
