//! `messagepro rates` — gateway prices per country and partner devices (the `--gateway` ids).

use std::process::ExitCode;

use crate::cli::Globals;
use crate::commands::client;
use crate::output;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_args: Args, g: &Globals) -> anyhow::Result<ExitCode> {
    let client = client::build(g)?;
    let rates = client.get_rates().await?;
    if g.json {
        output::json(&rates)?;
        return Ok(ExitCode::SUCCESS);
    }
    output::line("Gateways:")?;
    let t: Vec<Vec<String>> = rates
        .gateways
        .iter()
        .map(|gw| {
            let countries: Vec<String> = gw
                .pricing
                .countries
                .iter()
                .map(|(c, p)| format!("{}={p}", c.to_uppercase()))
                .collect();
            vec![
                gw.id.to_string(),
                output::cell(&gw.name, 30),
                gw.currency.clone(),
                gw.pricing.default.clone().unwrap_or_else(|| "-".into()),
                output::cell(&countries.join(" "), 60),
            ]
        })
        .collect();
    output::table(&["ID", "NAME", "CURRENCY", "DEFAULT", "COUNTRIES"], &t)?;
    output::line("")?;
    output::line("Partner devices:")?;
    let p: Vec<Vec<String>> = rates
        .partners
        .iter()
        .map(|d| {
            vec![
                d.unique.clone(),
                output::cell(&d.name, 30),
                d.country.clone(),
                format!("{} {}", d.rate, d.currency),
                d.sim.join(","),
                d.status.clone(),
            ]
        })
        .collect();
    output::table(&["UNIQUE", "NAME", "COUNTRY", "RATE", "SIM", "STATUS"], &p)?;
    Ok(ExitCode::SUCCESS)
}
