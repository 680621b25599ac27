//! `messagepro user …` — console users from the command line: `add` (the first admin), `list`,
//! `set-role`, `reset-password`, `disable`, `enable`. Passwords come from stdin when it is piped,
//! else one is generated and printed once. Every change is written to the audit log as `(cli)`.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use messagepro_console::{Username, password};
use messagepro_store::{NewAudit, NewUser, Outcome, Store, StoreError};
use secrecy::SecretString;

use crate::cli::Globals;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration file (default: ./messagepro.toml when present).
    #[arg(long, global = true, env = "MESSAGEPRO_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database URL (overrides the configuration).
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create a user. Password: read from stdin when piped, else generated and printed once.
    Add {
        #[arg(long)]
        username: String,
        /// Role name: admin, superviseur, operateur, lecteur or a custom role.
        #[arg(long)]
        role: String,
    },
    /// List users.
    List,
    /// Change a user's role.
    SetRole {
        #[arg(long)]
        username: String,
        #[arg(long)]
        role: String,
    },
    /// Replace a user's password (stdin when piped, else generated and printed once).
    ResetPassword {
        #[arg(long)]
        username: String,
    },
    /// Disable a user (cannot log in; open sessions end).
    Disable {
        #[arg(long)]
        username: String,
    },
    /// Enable a disabled user.
    Enable {
        #[arg(long)]
        username: String,
    },
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The password to set: stdin's first line when piped (must be long enough), else generated.
fn password_from_stdin_or_generated() -> anyhow::Result<(String, bool)> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok((password::generate_password(), true));
    }
    let mut s = String::new();
    stdin
        .lock()
        .read_to_string(&mut s)
        .context("cannot read the password from stdin")?;
    let pw = s.lines().next().unwrap_or("").to_owned();
    if pw.is_empty() {
        return Ok((password::generate_password(), true));
    }
    if pw.chars().count() < password::MIN_PASSWORD_LEN {
        bail!(
            "the password read from stdin is too short (at least {} characters)",
            password::MIN_PASSWORD_LEN
        );
    }
    Ok((pw, false))
}

async fn audit(store: &Store, action: &str, target: &str, detail: Option<String>) {
    let e = NewAudit {
        at_ms: now_ms(),
        user_id: None,
        username: Some("(cli)".into()),
        action: action.into(),
        target: Some(target.into()),
        ip: None,
        outcome: Outcome::Success,
        detail,
    };
    if let Err(err) = store.audit(&e).await {
        tracing::warn!(error = %err, "cannot write the audit log");
    }
}

fn parse_username(s: &str) -> anyhow::Result<Username> {
    Username::parse(s).map_err(|e| anyhow::anyhow!("invalid username {s:?}: {e}"))
}

async fn find_user(store: &Store, name: &str) -> anyhow::Result<messagepro_store::User> {
    let u = parse_username(name)?;
    store
        .user_by_username(u.as_str())
        .await?
        .with_context(|| format!("no user named {u}"))
}

async fn find_role(store: &Store, name: &str) -> anyhow::Result<messagepro_store::Role> {
    match store.role_by_name(name.trim()).await? {
        Some(r) => Ok(r),
        None => {
            let names: Vec<String> = store
                .list_roles()
                .await?
                .into_iter()
                .map(|r| r.name)
                .collect();
            bail!("unknown role {name:?} (roles: {})", names.join(", "))
        }
    }
}

fn print_password(g: &Globals, username: &str, pw: &str) -> anyhow::Result<()> {
    if g.json {
        crate::output::json(&serde_json::json!({"username": username, "password": pw}))
    } else {
        crate::output::line(format_args!(
            "password for {username} (shown once, write it down): {pw}"
        ))
    }
}

pub async fn run(args: Args, g: &Globals) -> anyhow::Result<ExitCode> {
    let settings = super::serve::settings(args.config.as_deref(), args.database_url, g)?;
    let store = Store::connect(&settings.database_url)
        .await
        .context("cannot open the database")?;
    store
        .migrate()
        .await
        .context("cannot migrate the database")?;
    let code = run_command(&store, args.command, g).await;
    store.close().await;
    code
}

async fn run_command(store: &Store, command: Command, g: &Globals) -> anyhow::Result<ExitCode> {
    match command {
        Command::Add { username, role } => {
            let username = parse_username(&username)?;
            let role = find_role(store, &role).await?;
            let (pw, generated) = password_from_stdin_or_generated()?;
            let hash = password::hash_async(SecretString::from(pw.clone())).await?;
            let new = NewUser {
                username: username.to_string(),
                password_hash: hash,
                role_id: role.id,
                language: None,
            };
            match store.create_user(&new, now_ms()).await {
                Ok(_) => {}
                Err(StoreError::Conflict(_)) => bail!("a user named {username} already exists"),
                Err(e) => return Err(e.into()),
            }
            audit(
                store,
                "user.create",
                username.as_str(),
                Some(format!("role {}", role.name)),
            )
            .await;
            if generated {
                print_password(g, username.as_str(), &pw)?;
            } else if g.json {
                crate::output::json(
                    &serde_json::json!({"username": username.as_str(), "role": role.name}),
                )?;
            } else {
                crate::output::line(format_args!(
                    "user {username} created with role {}",
                    role.name
                ))?;
            }
        }
        Command::List => {
            let users = store.list_users().await?;
            if g.json {
                let v: Vec<_> = users
                    .iter()
                    .map(|u| {
                        serde_json::json!({
                            "username": u.username, "role": u.role_name, "disabled": u.disabled,
                            "last_login_ms": u.last_login_ms, "created_ms": u.created_ms,
                        })
                    })
                    .collect();
                crate::output::json(&v)?;
            } else {
                let rows: Vec<Vec<String>> = users
                    .iter()
                    .map(|u| {
                        vec![
                            u.username.clone(),
                            u.role_name.clone(),
                            if u.disabled { "disabled" } else { "active" }.to_owned(),
                            u.last_login_ms
                                .map(messagepro_console::ui::format_ms)
                                .unwrap_or_else(|| "-".into()),
                        ]
                    })
                    .collect();
                crate::output::table(&["USERNAME", "ROLE", "STATE", "LAST LOGIN"], &rows)?;
            }
        }
        Command::SetRole { username, role } => {
            let u = find_user(store, &username).await?;
            let role = find_role(store, &role).await?;
            store.set_user_role(u.id, role.id, now_ms()).await?;
            audit(
                store,
                "user.set_role",
                &u.username,
                Some(format!("{} -> {}", u.role_name, role.name)),
            )
            .await;
            crate::output::line(format_args!("{} now has role {}", u.username, role.name))?;
        }
        Command::ResetPassword { username } => {
            let u = find_user(store, &username).await?;
            let (pw, generated) = password_from_stdin_or_generated()?;
            let hash = password::hash_async(SecretString::from(pw.clone())).await?;
            store.set_user_password_hash(u.id, &hash, now_ms()).await?;
            audit(store, "user.reset_password", &u.username, None).await;
            if generated {
                print_password(g, &u.username, &pw)?;
            } else {
                crate::output::line(format_args!("password of {} replaced", u.username))?;
            }
        }
        Command::Disable { username } => {
            let u = find_user(store, &username).await?;
            store.set_user_disabled(u.id, true, now_ms()).await?;
            audit(store, "user.disable", &u.username, None).await;
            crate::output::line(format_args!("{} disabled", u.username))?;
        }
        Command::Enable { username } => {
            let u = find_user(store, &username).await?;
            store.set_user_disabled(u.id, false, now_ms()).await?;
            audit(store, "user.enable", &u.username, None).await;
            crate::output::line(format_args!("{} enabled", u.username))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
