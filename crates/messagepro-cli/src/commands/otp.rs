//! `messagepro otp send|verify` — one-time codes through Message Pro.
//!
//! `verify` exits 0 when the code was live (it is consumed) and 1 when the platform answers
//! `OTP is invalid or expired!` — a negative but expected outcome, like ripgrep's "no match".
//! `send` prints the code the platform returns (stdout only; it is never logged).

use std::process::ExitCode;

use clap::Subcommand;
use messagepro::{Error, Gateway, OtpChannel, SendOtp, Sim, SmsRoute};

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
    /// Send a code by SMS (`--device`/`--gateway`) or WhatsApp (`--whatsapp-account`).
    Send(SendArgs),
    /// Check a code typed by the user (exit 1 when invalid or expired).
    Verify(VerifyArgs),
}

#[derive(Debug, clap::Args)]
struct SendArgs {
    /// Recipient, local or international.
    #[arg(long)]
    phone: String,
    /// Text; `{{otp}}` is replaced by the code.
    #[arg(long, default_value = "Votre code de vérification : {{otp}}")]
    message: String,
    /// Lifetime in seconds (platform default 300).
    #[arg(long)]
    expire: Option<u32>,
    #[command(flatten)]
    channel: ChannelChoice,
    /// SIM slot of the device (1 or 2).
    #[arg(long, requires = "device", value_parser = clap::value_parser!(u8).range(1..=2))]
    sim: Option<u8>,
    /// WhatsApp: push now instead of queueing.
    #[arg(long, requires = "whatsapp_account")]
    priority: bool,
}

/// Exactly one channel.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
struct ChannelChoice {
    /// SMS from one of your Android devices.
    #[arg(long)]
    device: Option<String>,
    /// SMS through a gateway id or partner device unique id.
    #[arg(long)]
    gateway: Option<String>,
    /// WhatsApp from this account unique id.
    #[arg(long)]
    whatsapp_account: Option<String>,
}

#[derive(Debug, clap::Args)]
struct VerifyArgs {
    /// The code typed by the user.
    #[arg(long)]
    code: String,
}

pub async fn run(args: Args, g: &Globals) -> anyhow::Result<ExitCode> {
    let client = client::build(g)?;
    match args.command {
        Command::Send(a) => {
            let ChannelChoice {
                device,
                gateway,
                whatsapp_account,
            } = a.channel;
            let channel = if let Some(account) = whatsapp_account {
                OtpChannel::WhatsApp {
                    account,
                    priority: a.priority,
                }
            } else if let Some(device) = device {
                OtpChannel::Sms {
                    route: SmsRoute::Devices {
                        device,
                        sim: Sim::from_number(i64::from(a.sim.unwrap_or(1))),
                        priority: false,
                    },
                }
            } else {
                let gateway = gateway.unwrap_or_default();
                OtpChannel::Sms {
                    route: SmsRoute::credits(Gateway::parse(&gateway)),
                }
            };
            let mut req = SendOtp::new(client.parse_phone(&a.phone)?, a.message, channel);
            req.expire = a.expire;
            let sent = client.send_otp(&req).await?;
            if g.json {
                output::json(&sent)?;
            } else {
                output::line(format!(
                    "OTP has been sent to {}; code: {}",
                    sent.phone,
                    sent.otp.expose()
                ))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify(a) => match client.verify_otp(&a.code).await {
            Ok(()) => {
                if g.json {
                    output::json(&serde_json::json!({"verified": true}))?;
                } else {
                    output::line("OTP has been verified!")?;
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(Error::OtpInvalidOrExpired(p)) => {
                if g.json {
                    output::json(&serde_json::json!({"verified": false, "message": p.message}))?;
                } else {
                    eprintln!("{}", p.message);
                }
                Ok(ExitCode::from(1))
            }
            Err(e) => Err(e.into()),
        },
    }
}
