//! `messagepro sms send|bulk|show|sent|received|pending` — send SMS through Message Pro and list them.
//!
//! The route is chosen with exactly one of `--device ID [--sim N] [--priority]` (own Android
//! phone) or `--gateway ID` (credits: an integer is a gateway id, anything else a partner
//! device's unique id) — a clap group makes any other combination a usage error. Phone numbers
//! may be typed in local form; they are read with the default country (GN unless
//! `MESSAGEPRO_DEFAULT_COUNTRY` says otherwise) and always sent as E.164. Opted-out numbers are
//! never sent to ([`super::suppressed`]): `send` refuses, `bulk` leaves them out of its numbers
//! (and refuses when a chosen group holds one: the platform's bulk send cannot skip it).

use std::process::ExitCode;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use messagepro::{Gateway, Recipients, SendBulkSms, SendSms, Sim, SmsRoute, sms::analyze};

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
    /// Send one SMS.
    Send(SendArgs),
    /// Send a campaign to numbers and/or contact groups.
    Bulk(BulkArgs),
    /// Show one sent SMS by the id `send` printed, with its status now (newer platform builds).
    Show {
        /// Message id.
        id: u64,
    },
    /// List sent and failed SMS (all pages).
    Sent,
    /// List received SMS (all pages).
    Received,
    /// List SMS waiting for the handset (all pages).
    Pending,
}

/// Own device or credits: exactly one of `--device` / `--gateway`.
#[derive(Debug, clap::Args)]
pub struct RouteArgs {
    #[command(flatten)]
    choice: RouteChoice,
    /// SIM slot of the device (1 or 2).
    #[arg(long, requires = "device", value_parser = clap::value_parser!(u8).range(1..=2))]
    sim: Option<u8>,
    /// Ask the device to send with priority (`priority=1`).
    #[arg(long, requires = "device")]
    priority: bool,
}

#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
struct RouteChoice {
    /// Unique id of one of your Android devices (see `messagepro devices`).
    #[arg(long)]
    device: Option<String>,
    /// Paid route: gateway id (integer) or partner device unique id (see `messagepro rates`).
    #[arg(long)]
    gateway: Option<String>,
}

impl RouteArgs {
    pub fn route(&self) -> SmsRoute {
        match (&self.choice.device, &self.choice.gateway) {
            (Some(device), _) => SmsRoute::Devices {
                device: device.clone(),
                sim: Sim::from_number(i64::from(self.sim.unwrap_or(1))),
                priority: self.priority,
            },
            (None, Some(g)) => SmsRoute::credits(Gateway::parse(g)),
            // clap's required group guarantees one of the two.
            (None, None) => unreachable!("clap requires --device or --gateway"),
        }
    }
}

#[derive(Debug, clap::Args)]
struct SendArgs {
    /// Recipient, local (621 23 45 67) or international (+224…).
    #[arg(long)]
    phone: String,
    /// Text of the message.
    #[arg(long)]
    message: String,
    #[command(flatten)]
    route: RouteArgs,
    /// Shorten links with this shortener id.
    #[arg(long)]
    shortener: Option<u64>,
}

/// Recipient options shared by `sms bulk` and `whatsapp bulk`.
#[derive(Debug, clap::Args)]
pub struct RecipientArgs {
    /// Comma-separated phone numbers.
    #[arg(long, value_delimiter = ',')]
    numbers: Vec<String>,
    /// File with one phone number per line (blank lines and `#` comments ignored).
    #[arg(long)]
    numbers_file: Option<std::path::PathBuf>,
    /// Comma-separated contact group ids.
    #[arg(long)]
    groups: Option<String>,
}

impl RecipientArgs {
    /// Reads and parses every recipient, with a progress bar on a terminal.
    pub fn recipients(
        &self,
        client: &messagepro::Client,
        json: bool,
    ) -> anyhow::Result<Recipients> {
        let mut inputs: Vec<String> = self.numbers.clone();
        if let Some(path) = &self.numbers_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                anyhow::anyhow!("cannot read the numbers file {}: {e}", path.display())
            })?;
            inputs.extend(text.lines().map(str::to_owned));
        }
        let bar = progress(inputs.len() as u64, json, "checking numbers");
        let phones = client::phones(client, inputs.iter().map(String::as_str), || bar.inc(1))?;
        bar.finish_and_clear();
        let groups = match &self.groups {
            Some(g) => client::group_ids(g)?,
            None => Vec::new(),
        };
        Ok(Recipients::new(phones, groups)?)
    }
}

/// A progress bar on stderr, hidden unless stdout is a terminal and `--json` is off.
pub fn progress(len: u64, json: bool, what: &'static str) -> ProgressBar {
    if !output::interactive(json) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what);
    bar
}

/// A spinner on stderr with the same visibility rule.
pub fn spinner(json: bool, what: &'static str) -> ProgressBar {
    if !output::interactive(json) {
        return ProgressBar::hidden();
    }
    let s = ProgressBar::new_spinner();
    s.set_message(what);
    s.enable_steady_tick(std::time::Duration::from_millis(100));
    s
}

#[derive(Debug, clap::Args)]
struct BulkArgs {
    /// Campaign name.
    #[arg(long, default_value = "messagepro-cli")]
    campaign: String,
    /// Text (shortcodes such as {{contact.name}} allowed).
    #[arg(long)]
    message: String,
    #[command(flatten)]
    to: RecipientArgs,
    #[command(flatten)]
    route: RouteArgs,
    /// Shorten links with this shortener id.
    #[arg(long)]
    shortener: Option<u64>,
}

const SENT_HEADERS: &[&str] = &["ID", "TIME", "TO", "STATUS", "CODE", "MESSAGE"];

fn sent_cells(r: &messagepro::SentSms) -> Vec<String> {
    vec![
        r.id.to_string(),
        output::time(r.created),
        r.recipient.clone(),
        format!("{:?}", r.status).to_lowercase(),
        r.status_code.clone(),
        output::cell(&r.message, 50),
    ]
}

/// The recipients less the opted-out numbers (said on stderr); an error when a chosen group
/// holds an opted-out member, since the platform would send to it.
pub async fn without_opted_out(
    client: &messagepro::Client,
    g: &Globals,
    r: Recipients,
) -> anyhow::Result<Recipients> {
    let groups = r.group_ids().to_vec();
    let mut members = Vec::new();
    if !groups.is_empty() {
        let country = client.default_country().to_owned();
        for c in client.all_contacts().await? {
            if c.groups
                .iter()
                .any(|id| groups.iter().any(|g| g.to_string() == id.trim()))
                && let Ok(p) = messagepro::Phone::parse(&c.phone, &country)
            {
                members.push(p);
            }
        }
    }
    let out_members = super::suppressed::among(client, g, &members).await?;
    if !out_members.is_empty() {
        anyhow::bail!(
            "not sent: {} member(s) of the chosen groups opted out ({}). The platform's bulk \
             send cannot leave them out: send the campaign from the console (SMS → Campaign), \
             which records them as skipped, or list the numbers with --numbers.",
            out_members.len(),
            out_members
                .iter()
                .map(|p| p.e164())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let numbers = r.phone_numbers().to_vec();
    let out = super::suppressed::among(client, g, &numbers).await?;
    if out.is_empty() {
        return Ok(r);
    }
    eprintln!(
        "{} opted-out number(s) left out: {}",
        out.len(),
        out.iter().map(|p| p.e164()).collect::<Vec<_>>().join(", ")
    );
    let keep: Vec<messagepro::Phone> = numbers.into_iter().filter(|p| !out.contains(p)).collect();
    Ok(Recipients::new(keep, groups)?)
}

pub async fn run(args: Args, g: &Globals) -> anyhow::Result<ExitCode> {
    let client = client::build(g)?;
    match args.command {
        Command::Send(a) => {
            let phone = client.parse_phone(&a.phone)?;
            super::suppressed::refuse(&client, g, &phone).await?;
            let mut req = SendSms::new(phone, a.message, a.route.route());
            req.shortener = a.shortener;
            let receipt = client.send_sms(&req).await?;
            if g.json {
                output::json(&receipt)?;
            } else {
                let info = analyze(&req.message);
                output::line(format!(
                    "{} ({} → {}, {} segment(s), {})",
                    receipt.message,
                    req.phone,
                    receipt
                        .message_id
                        .map_or_else(|| "no id returned".to_owned(), |id| format!("id {id}")),
                    info.segments,
                    info.encoding
                ))?;
            }
        }
        Command::Bulk(a) => {
            let recipients =
                without_opted_out(&client, g, a.to.recipients(&client, g.json)?).await?;
            let count = recipients.phone_numbers().len();
            let mut req = SendBulkSms::new(a.campaign, a.message, recipients, a.route.route());
            req.shortener = a.shortener;
            let s = spinner(g.json, "sending campaign");
            let ack = client.send_bulk_sms(&req).await;
            s.finish_and_clear();
            let ack = ack?;
            if g.json {
                output::json(&ack)?;
            } else {
                output::line(format!(
                    "{} ({count} number(s), {} group(s))",
                    ack.message,
                    req.recipients.group_ids().len()
                ))?;
            }
        }
        Command::Show { id } => {
            let m = client.get_sms_message(id).await?;
            output::list(g.json, std::slice::from_ref(&m), SENT_HEADERS, sent_cells)?;
        }
        Command::Sent => {
            let rows = client.all_sent_messages().await?;
            output::list(g.json, &rows, SENT_HEADERS, sent_cells)?;
        }
        Command::Pending => {
            let rows = client.all_pending_messages().await?;
            output::list(
                g.json,
                &rows,
                &["ID", "TIME", "TO", "SENDER", "MESSAGE"],
                |r| {
                    vec![
                        r.id.to_string(),
                        output::time(r.created),
                        r.recipient.clone(),
                        r.sender.clone(),
                        output::cell(&r.message, 50),
                    ]
                },
            )?;
        }
        Command::Received => {
            let rows = client.all_received_messages().await?;
            output::list(
                g.json,
                &rows,
                &["ID", "TIME", "FROM", "DEVICE", "MESSAGE"],
                |r| {
                    vec![
                        r.id.to_string(),
                        output::time(r.created),
                        r.sender.clone(),
                        r.device.clone(),
                        output::cell(&r.message, 50),
                    ]
                },
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
