//! The `messagepro` binary: a thin `main` that parses the command line, sets up logging and hands
//! the chosen subcommand to its module under `commands/`.
//!
//! Exit codes (ripgrep/cargo style): 0 success, 1 a negative but expected outcome (an OTP that
//! does not verify, a `doctor` check that fails), 2 an error (bad input, platform error,
//! transport failure).

mod cli;
mod commands;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // `.env` is read in development; a missing file is not an error.
    let _ = dotenvy::dotenv();
    let cli = cli::Cli::parse();
    init_tracing(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info,messagepro=debug",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("MESSAGEPRO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // one JSON object per line for a log collector; human lines otherwise
    let _ = if std::env::var("MESSAGEPRO_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"))
    {
        logs.json().flatten_event(true).try_init()
    } else {
        logs.try_init()
    };
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
