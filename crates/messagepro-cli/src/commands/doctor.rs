//! `messagepro doctor` — the deployment checklist of the original integration, automated.
//!
//! Each check prints one line, `✔` or `✘`, and every `✘` says how to fix it. Checks that depend on
//! the platform keep going after a failure so one run shows everything that is wrong. Permissions
//! are probed without side effects (see `messagepro::api::probe`): nothing is sent unless
//! `--send-test PHONE` is given. Exit code 0 when every check passes, 1 when one fails, 2 when the
//! checks could not run at all.

use std::process::ExitCode;

use messagepro::api::probe::CONSOLE_PERMISSIONS;
use messagepro::{Client, ClientBuilder, Error, Gateway, SendSms, Sim, SmsRoute, WaAccountStatus};
use serde::Serialize;

use crate::cli::Globals;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also send a real test SMS to this number (local numbers use the default country).
    #[arg(long, value_name = "PHONE")]
    pub send_test: Option<String>,
    /// Device for the test SMS (default: the first online device).
    #[arg(long, requires = "send_test", conflicts_with = "gateway")]
    pub device: Option<String>,
    /// Gateway id or partner device for the test SMS (credits route).
    #[arg(long, requires = "send_test")]
    pub gateway: Option<String>,
}

/// One line of the report.
#[derive(Debug, Serialize)]
struct Check {
    name: &'static str,
    ok: bool,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

impl Check {
    fn pass(name: &'static str, detail: impl Into<String>) -> Self {
        Check {
            name,
            ok: true,
            detail: detail.into(),
            fix: None,
        }
    }
    fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Check {
            name,
            ok: false,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
    /// A check that could not be made because the platform refused or failed.
    fn error(name: &'static str, what: &str, e: &Error) -> Self {
        let fix = match e {
            Error::PermissionDenied(_) => {
                "enable the missing permission for this key in Message Pro (Tools → API Keys)"
            }
            Error::Transport { .. } | Error::Timeout { .. } => {
                "check the network and MESSAGEPRO_BASE_URL"
            }
            _ => "see the platform's message above",
        };
        Check::fail(name, format!("cannot read {what}: {e}"), fix)
    }
}

pub async fn run(args: Args, g: &Globals) -> anyhow::Result<ExitCode> {
    let mut checks = Vec::new();
    let mut builder = ClientBuilder::from_env();
    if let Some(url) = &g.base_url {
        builder = builder.base_url(url.clone());
    }
    let client = match builder.build() {
        Ok(c) => {
            checks.push(Check::pass("secret", "MESSAGEPRO_API_SECRET is set"));
            Some(c)
        }
        Err(e @ Error::MissingSecret) => {
            checks.push(Check::fail(
                "secret",
                e.to_string(),
                "create an API key in Message Pro (Tools → API Keys) and put \
                 MESSAGEPRO_API_SECRET=<key> in .env",
            ));
            None
        }
        Err(e) => return Err(anyhow::Error::new(e).context("invalid client configuration")),
    };
    if let Some(client) = client {
        platform_checks(&client, &args, &mut checks).await;
    }
    report(&checks, g.json)?;
    Ok(if checks.iter().all(|c| c.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn platform_checks(client: &Client, args: &Args, checks: &mut Vec<Check>) {
    let base = client.base_url().to_string();
    // 1. Reachable, and the secret accepted. `get/credits` needs a permission, but an unknown
    //    secret is refused before any permission check, so a 403 still proves the key exists.
    match client.get_credits().await {
        Ok(_) | Err(Error::PermissionDenied(_)) => checks.push(Check::pass(
            "platform",
            format!("{base} accepts the API key"),
        )),
        Err(e @ Error::InvalidSecret(_)) => {
            checks.push(Check::fail(
                "platform",
                format!("{base}: {e}"),
                "copy the key again from Message Pro (Tools → API Keys) into MESSAGEPRO_API_SECRET",
            ));
            return;
        }
        Err(e) => {
            checks.push(Check::fail(
                "platform",
                format!("cannot reach {base}: {e}"),
                "check the network and MESSAGEPRO_BASE_URL (the site root, e.g. https://messagepro-gn.com)",
            ));
            return;
        }
    }

    // 2. The permissions the console uses.
    let mut missing = Vec::new();
    for p in CONSOLE_PERMISSIONS {
        match client.probe_permission(p).await {
            Ok(true) => {}
            Ok(false) => missing.push(*p),
            Err(e) => {
                checks.push(Check::error("permissions", "permissions", &e));
                return;
            }
        }
    }
    if missing.is_empty() {
        checks.push(Check::pass(
            "permissions",
            format!(
                "the key holds all {} permissions the console uses",
                CONSOLE_PERMISSIONS.len()
            ),
        ));
    } else {
        checks.push(Check::fail(
            "permissions",
            format!("the key lacks: {}", missing.join(", ")),
            "enable these permissions for the key in Message Pro (Tools → API Keys)",
        ));
    }

    // 3. Subscription.
    match client.get_subscription().await {
        Ok(s) => checks.push(Check::pass("subscription", format!("package {}", s.name))),
        Err(e @ Error::NotSubscribed(_)) => checks.push(Check::fail(
            "subscription",
            e.to_string(),
            "subscribe to a package in Message Pro to send through your own devices and WhatsApp",
        )),
        Err(e) => checks.push(Check::error("subscription", "the subscription", &e)),
    }

    // 4. Devices.
    let mut online_device = None;
    match client.all_devices().await {
        Ok(devices) => {
            let online: Vec<_> = devices.iter().filter(|d| d.online).collect();
            online_device = online.first().map(|d| d.unique.clone());
            if online.is_empty() {
                checks.push(Check::fail(
                    "devices",
                    format!("{} device(s), none online", devices.len()),
                    "open the Message Pro app on an Android phone and keep it connected \
                     (or send with credits through a gateway)",
                ));
            } else {
                let names: Vec<_> = online.iter().map(|d| d.name.as_str()).collect();
                checks.push(Check::pass(
                    "devices",
                    format!(
                        "{} of {} online: {}",
                        online.len(),
                        devices.len(),
                        names.join(", ")
                    ),
                ));
            }
        }
        Err(e) => checks.push(Check::error("devices", "devices", &e)),
    }

    // 5. Credits.
    match client.get_credits().await {
        Ok(c) if c.is_exhausted() => checks.push(Check::fail(
            "credits",
            format!("{} {}", c.credits, c.currency),
            "top up credits in Message Pro to send through gateways and partner devices",
        )),
        Ok(c) => checks.push(Check::pass(
            "credits",
            format!("{} {}", c.credits, c.currency),
        )),
        Err(e) => checks.push(Check::error("credits", "credits", &e)),
    }

    // 6. WhatsApp accounts.
    match client.all_whatsapp_accounts().await {
        Ok(accounts) => {
            let connected: Vec<_> = accounts
                .iter()
                .filter(|a| a.status == WaAccountStatus::Connected)
                .collect();
            if connected.is_empty() {
                checks.push(Check::fail(
                    "whatsapp",
                    format!("{} account(s), none connected", accounts.len()),
                    "link a WhatsApp account in Message Pro (WhatsApp → Accounts) and keep the phone online",
                ));
            } else {
                let phones: Vec<_> = connected.iter().map(|a| a.phone.as_str()).collect();
                checks.push(Check::pass(
                    "whatsapp",
                    format!(
                        "{} of {} connected: {}",
                        connected.len(),
                        accounts.len(),
                        phones.join(", ")
                    ),
                ));
            }
        }
        Err(e) => checks.push(Check::error("whatsapp", "WhatsApp accounts", &e)),
    }

    // 7. Contacts and groups.
    match (client.all_contacts().await, client.all_groups().await) {
        (Ok(c), Ok(gr)) if !c.is_empty() && !gr.is_empty() => checks.push(Check::pass(
            "contacts",
            format!("{} contact(s) in {} group(s)", c.len(), gr.len()),
        )),
        (Ok(c), Ok(gr)) => checks.push(Check::fail(
            "contacts",
            format!("{} contact(s), {} group(s)", c.len(), gr.len()),
            "create a group and import contacts (console: /messaging/contacts, or `messagepro contacts create`)",
        )),
        (Err(e), _) | (_, Err(e)) => checks.push(Check::error("contacts", "contacts and groups", &e)),
    }

    // 8. Optional real test SMS.
    if let Some(phone) = &args.send_test {
        checks.push(send_test(client, phone, args, online_device).await);
    }
}

async fn send_test(
    client: &Client,
    phone: &str,
    args: &Args,
    online_device: Option<String>,
) -> Check {
    let phone = match client.parse_phone(phone) {
        Ok(p) => p,
        Err(e) => {
            return Check::fail("send-test", e.to_string(), "give a valid mobile number");
        }
    };
    let route = if let Some(gw) = &args.gateway {
        SmsRoute::Credits {
            gateway: gw
                .parse::<u64>()
                .map_or_else(|_| Gateway::Partner(gw.clone()), Gateway::Id),
        }
    } else if let Some(device) = args.device.clone().or(online_device) {
        SmsRoute::Devices {
            device,
            sim: Sim::One,
            priority: false,
        }
    } else {
        return Check::fail(
            "send-test",
            "no online device to send the test SMS",
            "bring a device online, or pass --gateway ID to send with credits",
        );
    };
    let text = "Message Pro: test SMS from `messagepro doctor`.";
    match client
        .send_sms(&SendSms::new(phone.clone(), text, route))
        .await
    {
        Ok(receipt) => Check::pass("send-test", format!("{phone}: {}", receipt.message)),
        Err(e) => Check::fail(
            "send-test",
            format!("{phone}: {e}"),
            "fix the reason above, then run `messagepro doctor --send-test` again",
        ),
    }
}

fn report(checks: &[Check], json: bool) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, checks)?;
        writeln!(out)?;
        return Ok(());
    }
    for c in checks {
        let mark = if c.ok { "✔" } else { "✘" };
        writeln!(out, "{mark} {:<13} {}", c.name, c.detail)?;
        if let Some(fix) = &c.fix {
            writeln!(out, "  {:<13} fix: {fix}", "")?;
        }
    }
    let failed = checks.iter().filter(|c| !c.ok).count();
    if failed == 0 {
        writeln!(out, "\nAll {} checks passed.", checks.len())?;
    } else {
        writeln!(out, "\n{failed} of {} checks failed.", checks.len())?;
    }
    Ok(())
}
