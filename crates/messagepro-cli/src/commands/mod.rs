//! One module per subcommand. Each exports `Args` (clap) and
//! `async fn run(args, &Globals) -> anyhow::Result<ExitCode>`; this file only dispatches.

pub mod account;
pub mod client;
pub mod config;
pub mod contacts;
pub mod demo;
pub mod devices;
pub mod doctor;
pub mod groups;
pub mod migrate;
pub mod otp;
pub mod rates;
pub mod serve;
pub mod sim;
pub mod sms;
pub mod suppressed;
pub mod token;
pub mod user;
pub mod whatsapp;
pub mod worker;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let g = &cli.global;
    match cli.command {
        Command::Account(a) => account::run(a, g).await,
        Command::Sms(a) => sms::run(a, g).await,
        Command::Whatsapp(a) => whatsapp::run(a, g).await,
        Command::Otp(a) => otp::run(a, g).await,
        Command::Contacts(a) => contacts::run(a, g).await,
        Command::Groups(a) => groups::run(a, g).await,
        Command::Devices(a) => devices::run(a, g).await,
        Command::Rates(a) => rates::run(a, g).await,
        Command::Sim(a) => sim::run(a, g).await,
        Command::Serve(a) => serve::run(a, g).await,
        Command::Worker(a) => worker::run(a, g).await,
        Command::Migrate(a) => migrate::run(a, g).await,
        Command::User(a) => user::run(a, g).await,
        Command::Token(a) => token::run(a, g).await,
        Command::Config(a) => config::run(a, g).await,
        Command::Demo(a) => demo::run(a, g).await,
        Command::Doctor(a) => doctor::run(a, g).await,
    }
}
