//! `messagepro account credits|subscription|earnings` — balance and package usage of the API
//! key's account.

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
    /// Remaining credits.
    Credits,
    /// Subscription package and quota usage.
    Subscription,
    /// Partner earnings.
    Earnings,
}

pub async fn run(args: Args, g: &Globals) -> anyhow::Result<ExitCode> {
    let client = client::build(g)?;
    match args.command {
        Command::Credits => {
            let c = client.get_credits().await?;
            if g.json {
                output::json(&c)?;
            } else {
                output::line(format!("Credits: {} {}", c.credits, c.currency))?;
            }
        }
        Command::Earnings => {
            let e = client.get_earnings().await?;
            if g.json {
                output::json(&e)?;
            } else {
                output::line(format!("Earnings: {} {}", e.earnings, e.currency))?;
            }
        }
        Command::Subscription => {
            let s = client.get_subscription().await?;
            if g.json {
                output::json(&s)?;
            } else {
                output::line(format!("Package: {}", s.name))?;
                let rows: Vec<Vec<String>> = s
                    .usage
                    .iter()
                    .map(|(k, u)| {
                        let limit = if u.limit == 0 {
                            "unlimited".to_owned()
                        } else {
                            u.limit.to_string()
                        };
                        let flag = if u.is_exhausted() {
                            "LIMIT REACHED"
                        } else {
                            ""
                        };
                        vec![k.clone(), u.used.to_string(), limit, flag.to_owned()]
                    })
                    .collect();
                output::table(&["QUOTA", "USED", "LIMIT", ""], &rows)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
