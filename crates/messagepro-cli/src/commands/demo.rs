//! `messagepro demo` — everything working in one command, offline and without an account: an
//! embedded Message Pro simulator (demo fixture: online and offline devices, gateways, WhatsApp
//! accounts, contacts), the console pointed at it with the simulator's API key, a fresh SQLite
//! database under `./data/demo/`, and demo users with generated passwords printed once.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use messagepro_console::{Application, Settings, password};
use messagepro_sim::Simulator;
use messagepro_store::NewUser;
use secrecy::SecretString;

use crate::cli::Globals;

/// The users the demo creates, in the order they are printed.
const DEMO_USERS: &[&str] = &["admin", "superviseur", "lecteur"];

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Console address; when the port is taken a free one is used instead.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Simulator address (port 0 = any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub sim_listen: SocketAddr,
    /// Folder of the demo database (emptied at start).
    #[arg(long, default_value = "data/demo")]
    pub data_dir: PathBuf,
    /// Seed of the simulator (same seed, same fixture ids and secrets).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Platform build the embedded simulator speaks: `current` (message ids, tracked by id) or
    /// `3.3.8` (no ids: messages are matched in the lists).
    #[arg(long, default_value = "current", value_parser = crate::commands::sim::parse_flavour)]
    pub flavour: messagepro_sim::Flavour,
}

pub async fn run(args: Args, _g: &Globals) -> anyhow::Result<ExitCode> {
    // A fresh database every time: the demo must start the same way on every machine.
    if args.data_dir.exists() {
        std::fs::remove_dir_all(&args.data_dir)
            .with_context(|| format!("cannot empty {}", args.data_dir.display()))?;
    }
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create {}", args.data_dir.display()))?;

    let mut sim = Simulator::builder().flavour(args.flavour);
    if let Some(seed) = args.seed {
        sim = sim.seed(seed);
    }
    let sim = sim
        .start(args.sim_listen)
        .await
        .with_context(|| format!("cannot start the simulator on {}", args.sim_listen))?;
    let fixture = sim.fixture();

    let mut settings = Settings {
        database_url: format!("sqlite://{}/messagepro.db", args.data_dir.display()),
        // plain http on localhost: a `Secure` cookie would never be sent back
        cookie_secure: false,
        api_secret: Some(SecretString::from(fixture.secrets.full.clone())),
        base_url: sim.url().to_owned(),
        default_country: "GN".to_owned(),
        listen: args.listen,
        // a newcomer watches pending turn into sent: reconcile often
        sync_every: Some(std::time::Duration::from_secs(2)),
        ..Settings::default()
    };
    // the production policy (quiet hours, 20 SMS a minute per SIM), with a WhatsApp gap and an
    // opt-out sync short enough to watch: a campaign ends, a STOP shows, within seconds
    settings.policy.wa_campaign_gap = Some((
        std::time::Duration::from_secs(2),
        std::time::Duration::from_secs(5),
    ));
    settings.policy.suppression_sync_every = Some(std::time::Duration::from_secs(5));
    // the integration API sends through the online device when a caller names no route, and
    // the simulator posts received SMS to the console's webhook intake with this secret
    settings.default_sms_route = fixture
        .devices
        .as_ref()
        .map(|d| messagepro::SmsRoute::device(d.online.unique.clone()));
    settings.default_whatsapp_account = fixture
        .whatsapp
        .as_ref()
        .map(|w| w.connected.unique.clone());
    let webhook_secret = messagepro_console::password::generate_password();
    settings.webhook_secret = Some(SecretString::from(webhook_secret.clone()));
    let app = match Application::build(settings.clone()).await {
        Ok(app) => app,
        Err(e) if args.listen.port() != 0 && is_addr_in_use(&e) => {
            settings.listen.set_port(0);
            Application::build(settings)
                .await
                .context("cannot start the console")?
        }
        Err(e) => return Err(e.context("cannot start the console")),
    };

    let store = &app.state().store;
    let now = app.state().clock.now_ms();
    let mut logins = Vec::new();
    for name in DEMO_USERS {
        let role = store
            .role_by_name(name)
            .await?
            .with_context(|| format!("built-in role {name} is missing"))?;
        let pw = password::generate_password();
        let hash = password::hash_async(SecretString::from(pw.clone())).await?;
        store
            .create_user(
                &NewUser {
                    username: (*name).to_owned(),
                    password_hash: hash,
                    role_id: role.id,
                    language: None,
                },
                now,
            )
            .await
            .with_context(|| format!("cannot create the demo user {name}"))?;
        logins.push((*name, pw));
    }

    sim.set_webhook(
        Some(format!("{}/webhooks/messagepro", app.url())),
        Some(webhook_secret),
    );
    let token = app
        .state()
        .core
        .token_create(
            &messagepro_core::Actor::System { name: "demo" },
            "demo",
            &["messages:send,messages:read,otp,events,contacts,webhooks".to_owned()],
            None,
        )
        .await
        .context("cannot create the demo API token")?;

    println!("Message Pro demo — offline, nothing leaves this machine.\n");
    println!("  Console    {}", app.url());
    println!(
        "  Simulator  {}   (fixture: {}/_sim/fixture)",
        sim.url(),
        sim.url()
    );
    println!("  Database   {}/messagepro.db\n", args.data_dir.display());
    println!("  Logins (passwords are new at every start):");
    for (user, pw) in &logins {
        println!("    {user:<12} {pw}");
    }
    {
        use secrecy::ExposeSecret;
        println!(
            "\n  Integration API  {}/api/v1   token (new at every start):\n    {}",
            app.url(),
            token.secret.expose_secret()
        );
    }
    println!(
        "\n  Try: log in as superviseur, open « Envoyer un SMS », send « Votre commande #A-12 est \
         prête »\n  to 621234567 through the online device, then watch it go from pending to sent \
         in the history."
    );
    println!("\nPress Ctrl-C to stop.");

    app.run_until_stopped().await?;
    sim.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

fn is_addr_in_use(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::AddrInUse)
    })
}
