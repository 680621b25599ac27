//! `messagepro contacts list|create` — the account's contact book.

use std::process::ExitCode;

use clap::Subcommand;
use messagepro::CreateContact;

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
    /// List every contact.
    List,
    /// Create a contact in one or more groups.
    Create {
        /// Name (at least 3 characters).
        #[arg(long)]
        name: String,
        /// Phone number, local or international.
        #[arg(long)]
        phone: String,
        /// Comma-separated contact group ids (at least one).
        #[arg(long)]
        groups: String,
    },
}

pub async fn run(args: Args, g: &Globals) -> anyhow::Result<ExitCode> {
    let client = client::build(g)?;
    match args.command {
        Command::List => {
            let rows = client.all_contacts().await?;
            output::list(g.json, &rows, &["ID", "PHONE", "NAME", "GROUPS"], |c| {
                vec![
                    c.id.to_string(),
                    c.phone.clone(),
                    output::cell(&c.name, 40),
                    c.groups.join(","),
                ]
            })?;
        }
        Command::Create {
            name,
            phone,
            groups,
        } => {
            let req = CreateContact::new(
                name,
                client.parse_phone(&phone)?,
                client::group_ids(&groups)?,
            )?;
            let ack = client.create_contact(&req).await?;
            if g.json {
                output::json(&ack)?;
            } else {
                output::line(format!("{} ({})", ack.message, req.phone))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
