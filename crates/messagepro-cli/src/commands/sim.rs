//! `messagepro sim` — runs the Message Pro simulator (crate `messagepro-sim`) on a local port
//! until Ctrl-C. Prints the URL on stdout and the fixture's secrets on stderr (so `$(…)` captures
//! only the URL); fault-injection flags map one-to-one onto `messagepro_sim::Faults`.

use std::process::ExitCode;

use messagepro_sim::{Faults, Flavour, Simulator};

use crate::cli::Globals;

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8025")]
    pub listen: String,
    /// Platform build to speak: `current` (the newer build Message Pro runs: message ids,
    /// `get/sms.message`, service checks, content filter) or `3.3.8` (the documented build).
    #[arg(long, default_value = "current", value_parser = parse_flavour)]
    pub flavour: Flavour,
    /// Seed of every random choice (secrets, ids, OTP codes, spintax, faults).
    #[arg(long, default_value_t = 1)]
    pub rng_seed: u64,
    /// Fix the full-permission API secret instead of a seeded random one.
    #[arg(long, env = "MESSAGEPRO_SIM_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// Added latency per `/api` request, milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Random jitter added to the latency, milliseconds.
    #[arg(long, default_value_t = 0)]
    pub jitter_ms: u64,
    /// Fraction of `/api` requests answered with HTTP 500 and an HTML body.
    #[arg(long, default_value_t = 0.0)]
    pub fail_rate: f64,
    /// Fraction of `/api` requests that hang (60 s) and are then closed.
    #[arg(long, default_value_t = 0.0)]
    pub hang_rate: f64,
    /// Fraction of `/api` connections reset before processing.
    #[arg(long, default_value_t = 0.0)]
    pub reset_rate: f64,
    /// Fraction of `/api` requests processed and stored, then dropped without an answer.
    #[arg(long, default_value_t = 0.0)]
    pub drop_after_accept_rate: f64,
    /// Do not move messages along in real time (use the `/_sim` control API instead).
    #[arg(long)]
    pub no_auto_progress: bool,
}

impl std::fmt::Debug for Args {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Args")
            .field("listen", &self.listen)
            .field("flavour", &self.flavour)
            .field("rng_seed", &self.rng_seed)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("latency_ms", &self.latency_ms)
            .field("jitter_ms", &self.jitter_ms)
            .field("fail_rate", &self.fail_rate)
            .field("hang_rate", &self.hang_rate)
            .field("reset_rate", &self.reset_rate)
            .field("drop_after_accept_rate", &self.drop_after_accept_rate)
            .field("no_auto_progress", &self.no_auto_progress)
            .finish()
    }
}

/// `--flavour`: `current` or `3.3.8`.
pub fn parse_flavour(s: &str) -> Result<Flavour, String> {
    Flavour::parse(s).ok_or_else(|| format!("unknown flavour `{s}`: use `current` or `3.3.8`"))
}

pub async fn run(args: Args, _g: &Globals) -> anyhow::Result<ExitCode> {
    for (name, v) in [
        ("--fail-rate", args.fail_rate),
        ("--hang-rate", args.hang_rate),
        ("--reset-rate", args.reset_rate),
        ("--drop-after-accept-rate", args.drop_after_accept_rate),
    ] {
        anyhow::ensure!((0.0..=1.0).contains(&v), "{name} must be between 0 and 1");
    }
    let faults = Faults {
        latency_ms: args.latency_ms,
        jitter_ms: args.jitter_ms,
        fail_rate: args.fail_rate,
        hang_rate: args.hang_rate,
        reset_rate: args.reset_rate,
        drop_after_accept_rate: args.drop_after_accept_rate,
        hang_ms: 0,
    };
    let mut b = Simulator::builder()
        .flavour(args.flavour)
        .seed(args.rng_seed)
        .faults(faults)
        .auto_progress(!args.no_auto_progress);
    if let Some(s) = args.secret {
        b = b.secret(s);
    }
    let sim = b.start(args.listen.as_str()).await?;
    let fx = sim.fixture();
    println!("{}", sim.url());
    eprintln!(
        "Message Pro simulator ({} build) listening on {}",
        args.flavour,
        sim.url()
    );
    eprintln!("full-permission secret: {}", fx.secrets.full);
    eprintln!(
        "restricted secret:      {} ({})",
        fx.secrets.restricted,
        fx.restricted_permissions.join(",")
    );
    eprintln!(
        "fixture and control API: {}/_sim/fixture — Ctrl-C to stop",
        sim.url()
    );
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
