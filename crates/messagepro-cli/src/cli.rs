//! The command-line grammar (clap derive). Each subcommand's arguments live next to its code in
//! `commands/<name>.rs`; this file only lists them, so `messagepro --help` reads as a table of
//! contents.

use clap::{Parser, Subcommand};

use crate::commands;

/// Send SMS, WhatsApp messages and OTP codes through Message Pro, run the web console, or run a
/// faithful offline simulator of the platform.
#[derive(Debug, Parser)]
#[command(name = "messagepro", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Globals,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand understands.
#[derive(Debug, Clone, clap::Args)]
pub struct Globals {
    /// Message Pro site root (the simulator's URL in tests and demos).
    #[arg(long, global = true, env = "MESSAGEPRO_BASE_URL")]
    pub base_url: Option<String>,
    /// Print machine-readable JSON instead of human-readable text.
    #[arg(long, global = true)]
    pub json: bool,
    /// More logging on stderr (-v, -vv). `MESSAGEPRO_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Credits, subscription usage and partner earnings of the API key's account.
    Account(commands::account::Args),
    /// Send SMS (single or campaign) and list sent, pending and received messages.
    Sms(commands::sms::Args),
    /// Send WhatsApp chats (single or campaign) and list accounts and chats.
    Whatsapp(commands::whatsapp::Args),
    /// Send a one-time password and verify it.
    Otp(commands::otp::Args),
    /// List and create contacts.
    Contacts(commands::contacts::Args),
    /// List and create contact groups.
    Groups(commands::groups::Args),
    /// List the account's Android devices.
    Devices(commands::devices::Args),
    /// Gateway and partner-device prices per country.
    Rates(commands::rates::Args),
    /// Run the Message Pro simulator (offline, stateful, wire-compatible).
    Sim(commands::sim::Args),
    /// Run the web console and integration API (and the outbox worker, unless --no-workers).
    Serve(commands::serve::Args),
    /// Run only the outbox worker (sends, lease expiry, reconciliation): no web.
    Worker(commands::worker::Args),
    /// Apply database migrations and exit.
    Migrate(commands::migrate::Args),
    /// Manage console users.
    User(commands::user::Args),
    /// Manage integration API tokens (create prints the token once).
    Token(commands::token::Args),
    /// Show the effective configuration (secrets masked).
    Config(commands::config::Args),
    /// One command to try everything offline: console + embedded simulator + demo users.
    Demo(commands::demo::Args),
    /// Check a deployment: secret, permissions, devices, credits, WhatsApp, contacts.
    Doctor(commands::doctor::Args),
}
