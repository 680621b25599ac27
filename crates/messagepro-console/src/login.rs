//! The login decision, apart from HTTP: throttling (per username and per IP, a lock after
//! `login_max_failures` failures within `login_lockout`, lasting `login_lockout`), password
//! verification (argon2 on the blocking pool, a dummy hash for unknown users), disabled users,
//! and the audit entries of each outcome.

use messagepro_store::{NewAudit, Outcome, User};
use secrecy::SecretString;

use crate::app::AppState;
use crate::error::AppError;
use crate::password;
use crate::username::Username;

/// What the login attempt gave.
#[derive(Debug)]
pub enum LoginOutcome {
    /// Credentials valid: open a session for this user.
    Success(Box<User>),
    /// Wrong username or password, or disabled user (one message for all: no account probing).
    Invalid,
    /// Too many failures: locked for this many more minutes.
    Locked { minutes: i64 },
}

/// Appends an audit entry (an audit failure is logged, never hides the user's action result).
pub async fn audit(
    state: &AppState,
    user: Option<(i64, &str)>,
    action: &str,
    target: Option<String>,
    ip: Option<String>,
    outcome: Outcome,
    detail: Option<String>,
) {
    let entry = NewAudit {
        at_ms: state.clock.now_ms(),
        user_id: user.map(|u| u.0),
        username: user.map(|u| u.1.to_owned()),
        action: action.to_owned(),
        target,
        ip,
        outcome,
        detail,
    };
    if let Err(e) = state.store.audit(&entry).await {
        tracing::error!(error = %e, action, "cannot write the audit log");
    }
}

fn minutes_left(locked_until: i64, now: i64) -> i64 {
    ((locked_until - now).max(0) + 59_999) / 60_000
}

/// Checks credentials with throttling, and audits the outcome.
pub async fn attempt(
    state: &AppState,
    raw_username: &str,
    password: SecretString,
    ip: &str,
) -> Result<LoginOutcome, AppError> {
    let now = state.clock.now_ms();
    let s = &state.settings;
    let lock_ms = s.login_lockout.as_millis() as i64;
    let username = Username::parse(raw_username).ok();
    let shown_name = username
        .as_ref()
        .map(|u| u.as_str().to_owned())
        .unwrap_or_else(|| "(invalid)".to_owned());
    let user_key = username.as_ref().map(|u| format!("user:{u}"));
    let ip_key = format!("ip:{ip}");

    // 1. Locked already? (no password check at all while locked)
    let mut keys = vec![ip_key.clone()];
    keys.extend(user_key.clone());
    for key in &keys {
        if let Some(t) = state.store.throttle_get(key).await?
            && let Some(until) = t.locked_until_ms.filter(|u| *u > now)
        {
            audit(
                state,
                None,
                "auth.login_blocked",
                Some(shown_name.clone()),
                Some(ip.to_owned()),
                Outcome::Denied,
                Some(format!(
                    "locked key {}",
                    key.split(':').next().unwrap_or("")
                )),
            )
            .await;
            return Ok(LoginOutcome::Locked {
                minutes: minutes_left(until, now),
            });
        }
    }

    // 2. Verify (same cost whether the user exists or not).
    let user = match &username {
        Some(u) => state.store.user_by_username(u.as_str()).await?,
        None => None,
    };
    let ok = password::verify_async(password, user.as_ref().map(|u| u.password_hash.clone())).await;
    match user {
        Some(u) if ok && !u.disabled => {
            if let Some(k) = &user_key {
                state.store.throttle_clear(k).await?;
            }
            state.store.record_login(u.id, now).await?;
            audit(
                state,
                Some((u.id, &u.username)),
                "auth.login",
                None,
                Some(ip.to_owned()),
                Outcome::Success,
                None,
            )
            .await;
            return Ok(LoginOutcome::Success(Box::new(u)));
        }
        Some(u) if ok => {
            audit(
                state,
                Some((u.id, &u.username)),
                "auth.login",
                None,
                Some(ip.to_owned()),
                Outcome::Denied,
                Some("account disabled".into()),
            )
            .await;
            return Ok(LoginOutcome::Invalid);
        }
        _ => {}
    }

    // 3. A failure: count it per username and per IP.
    audit(
        state,
        None,
        "auth.login_failed",
        Some(shown_name.clone()),
        Some(ip.to_owned()),
        Outcome::Failure,
        None,
    )
    .await;
    let mut locked_until = None;
    for key in &keys {
        let t = state
            .store
            .throttle_record_failure(key, now, lock_ms, s.login_max_failures, lock_ms)
            .await?;
        if let Some(until) = t.locked_until_ms.filter(|u| *u > now) {
            // the failure that set the lock (first time we see it locked from this call)
            if t.failures >= s.login_max_failures && until == now + lock_ms {
                audit(
                    state,
                    None,
                    "auth.lockout",
                    Some(if key.starts_with("user:") {
                        shown_name.clone()
                    } else {
                        ip.to_owned()
                    }),
                    Some(ip.to_owned()),
                    Outcome::Denied,
                    Some(format!(
                        "{} failures; locked {} minutes",
                        t.failures,
                        lock_ms / 60_000
                    )),
                )
                .await;
            }
            locked_until = Some(locked_until.map_or(until, |l: i64| l.max(until)));
        }
    }
    Ok(match locked_until {
        Some(until) => LoginOutcome::Locked {
            minutes: minutes_left(until, now),
        },
        None => LoginOutcome::Invalid,
    })
}
