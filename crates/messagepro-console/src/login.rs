//! The login decision, apart from HTTP.
//!
//! 1. **Reserve** the attempt in the database before anything costly
//!    ([`messagepro_store::Store::login_reserve`]): the lock decision and the counters are one
//!    transaction, so a burst of parallel guesses cannot all pass a "not locked yet" check.
//!    Three keys, each with its own limit within `login_lockout`:
//!    `pair:<username>|<ip>` (`login_max_failures`, 5: one guesser at one account),
//!    `user:<username>` (`login_user_max_failures`, 20: a guesser spread over many IPs) and
//!    `ip:<ip>` (`login_ip_max_failures`, 100: one IP trying many accounts — high, because a
//!    shop's cashiers share one 4G router). A locked cashier does not lock out the colleague
//!    at the next till. Each new lock of a key lasts twice the previous one (up to 16 ×).
//! 2. **Verify** through the [`crate::login_gate::VerifyGate`] (as many argon2 at once as
//!    cores; full → [`LoginOutcome::Busy`], the attempt given back), with a dummy hash for
//!    unknown users so a wrong username costs the same as a wrong password.
//! 3. **Report**: a success forgets the account's keys; a failure that used up a key locks it.
//!    Every outcome, lock and unlock is audited (the password never is).
//!
//! [`confirm_password`] runs the same three steps when a logged-in user re-enters their
//! password on `/account`.

use messagepro_store::{AttemptKey, NewAudit, Outcome, ThrottleState, User};
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
    /// Too many verifications running: try again in a moment (nothing was checked or counted).
    Busy,
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

/// Throttle key of a username (all IPs).
pub fn user_key(username: &str) -> String {
    format!("user:{username}")
}

/// Prefix of the per-IP keys of a username (`pair:<name>|<ip>`).
pub fn pair_prefix(username: &str) -> String {
    format!("pair:{username}|")
}

/// The username and IP a throttle key is about (`None` for a part the key does not have).
pub fn key_parts(key: &str) -> (Option<&str>, Option<&str>) {
    if let Some(u) = key.strip_prefix("user:") {
        (Some(u), None)
    } else if let Some(rest) = key.strip_prefix("pair:") {
        match rest.split_once('|') {
            Some((u, ip)) => (Some(u), Some(ip)),
            None => (Some(rest), None),
        }
    } else {
        (None, key.strip_prefix("ip:"))
    }
}

fn keys(state: &AppState, username: Option<&Username>, ip: &str) -> Vec<AttemptKey> {
    let s = &state.settings;
    let mut keys = vec![AttemptKey {
        key: format!("ip:{ip}"),
        max: s.login_ip_max_failures,
    }];
    if let Some(u) = username {
        keys.push(AttemptKey {
            key: format!("{}{ip}", pair_prefix(u.as_str())),
            max: s.login_max_failures,
        });
        keys.push(AttemptKey {
            key: user_key(u.as_str()),
            max: s.login_user_max_failures,
        });
    }
    keys
}

/// Audits the locks an attempt set (`auth.lockout`, once per lock).
async fn audit_locks(state: &AppState, locks: &[ThrottleState], ip: &str, now: i64) {
    for t in locks {
        let (user, key_ip) = key_parts(&t.key);
        let kind = t.key.split(':').next().unwrap_or("");
        let minutes = t.locked_until_ms.map_or(0, |u| minutes_left(u, now));
        audit(
            state,
            None,
            "auth.lockout",
            Some(user.or(key_ip).unwrap_or("").to_owned()),
            Some(ip.to_owned()),
            Outcome::Denied,
            Some(format!(
                "{kind} key: {} attempts; locked {minutes} minutes (lock #{})",
                t.failures.saturating_sub(1),
                t.lockouts
            )),
        )
        .await;
    }
}

fn minutes_left(locked_until: i64, now: i64) -> i64 {
    ((locked_until - now).max(0) + 59_999) / 60_000
}

/// The audit actions that tell a login from a logged-in user re-entering their password.
struct Actions {
    /// A check refused by a running lock.
    blocked: &'static str,
    /// A wrong password (or unknown user).
    failed: &'static str,
}

const LOGIN: Actions = Actions {
    blocked: "auth.login_blocked",
    failed: "auth.login_failed",
};

const REAUTH: Actions = Actions {
    blocked: "account.password_check_blocked",
    failed: "account.password_check_failed",
};

/// What the throttled verification of one password gave.
enum Verdict {
    Valid(Box<User>),
    /// The password is right but the account is disabled (the caller decides what to say).
    Disabled(Box<User>),
    Wrong,
    Locked {
        minutes: i64,
    },
    Busy,
}

/// Reserve, verify, report (see the module doc): the one throttled password check, for logins
/// and for a logged-in user re-entering their password (`who`, audited as the actor).
async fn verify_throttled(
    state: &AppState,
    raw_username: &str,
    password: SecretString,
    ip: &str,
    actions: &Actions,
    who: Option<(i64, &str)>,
) -> Result<Verdict, AppError> {
    let now = state.clock.now_ms();
    let lock_ms = state.settings.login_lockout.as_millis() as i64;
    let username = Username::parse(raw_username).ok();
    let shown_name = username
        .as_ref()
        .map(|u| u.as_str().to_owned())
        .unwrap_or_else(|| "(invalid)".to_owned());
    let keys = keys(state, username.as_ref(), ip);

    // 1. Reserve (the lock decision and the count in one step; no password check when refused).
    let r = state
        .store
        .login_reserve(&keys, now, lock_ms, lock_ms)
        .await?;
    audit_locks(state, &r.newly_locked, ip, now).await;
    if !r.allowed {
        audit(
            state,
            who,
            actions.blocked,
            Some(shown_name),
            Some(ip.to_owned()),
            Outcome::Denied,
            None,
        )
        .await;
        return Ok(Verdict::Locked {
            minutes: r.locked_until_ms.map_or(1, |u| minutes_left(u, now)),
        });
    }

    // 2. Verify, bounded (same cost whether the user exists or not).
    let Some(permit) = state.login_gate.enter().await else {
        tracing::warn!("password check refused: too many password verifications at once");
        state.store.login_release(&keys, now).await?;
        return Ok(Verdict::Busy);
    };
    let user = match &username {
        Some(u) => state.store.user_by_username(u.as_str()).await?,
        None => None,
    };
    let ok = password::verify_holding(
        password,
        user.as_ref().map(|u| u.password_hash.clone()),
        Some(permit),
    )
    .await;
    // the clock of the verdict (a verification takes time; locks count from its end)
    let now = state.clock.now_ms();
    match user {
        Some(u) if ok && !u.disabled => {
            let forget: Vec<&str> = keys[1..].iter().map(|k| k.key.as_str()).collect();
            state
                .store
                .login_succeeded(&forget, &[keys[0].key.as_str()], now)
                .await?;
            return Ok(Verdict::Valid(Box::new(u)));
        }
        Some(u) if ok => return Ok(Verdict::Disabled(Box::new(u))),
        _ => {}
    }

    // 3. A failure: it stays counted; a key whose budget it used up is locked now.
    audit(
        state,
        who,
        actions.failed,
        Some(shown_name),
        Some(ip.to_owned()),
        Outcome::Failure,
        None,
    )
    .await;
    let locked = state
        .store
        .login_lock_exhausted(&keys, now, lock_ms)
        .await?;
    audit_locks(state, &locked, ip, now).await;
    Ok(match state.store.login_locked_until(&keys, now).await? {
        Some(until) => Verdict::Locked {
            minutes: minutes_left(until, now),
        },
        None => Verdict::Wrong,
    })
}

/// Checks credentials with throttling, and audits the outcome.
pub async fn attempt(
    state: &AppState,
    raw_username: &str,
    password: SecretString,
    ip: &str,
) -> Result<LoginOutcome, AppError> {
    Ok(
        match verify_throttled(state, raw_username, password, ip, &LOGIN, None).await? {
            Verdict::Valid(u) => {
                let now = state.clock.now_ms();
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
                LoginOutcome::Success(u)
            }
            Verdict::Disabled(u) => {
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
                LoginOutcome::Invalid
            }
            Verdict::Wrong => LoginOutcome::Invalid,
            Verdict::Locked { minutes } => LoginOutcome::Locked { minutes },
            Verdict::Busy => LoginOutcome::Busy,
        },
    )
}

/// A logged-in user re-enters their password (before changing it): the same reservation,
/// throttle keys, locks and verification gate as a login, so the form is no unthrottled
/// password oracle — and its failures count against the account's login lock. A wrong
/// password is audited `account.password_check_failed`, a refused one
/// `account.password_check_blocked`; a success is not audited here (the caller audits what
/// it then does).
pub async fn confirm_password(
    state: &AppState,
    user: (i64, &str),
    password: SecretString,
    ip: &str,
) -> Result<LoginOutcome, AppError> {
    Ok(
        match verify_throttled(state, user.1, password, ip, &REAUTH, Some(user)).await? {
            Verdict::Valid(u) if u.id == user.0 => LoginOutcome::Success(u),
            Verdict::Valid(_) | Verdict::Disabled(_) | Verdict::Wrong => LoginOutcome::Invalid,
            Verdict::Locked { minutes } => LoginOutcome::Locked { minutes },
            Verdict::Busy => LoginOutcome::Busy,
        },
    )
}

/// An admin unlocks `target`: its username key and every per-IP key of that username. Audited
/// (`auth.unlock`) with what was removed; `true` if the account had a running lock.
pub async fn unlock(
    state: &AppState,
    admin: (i64, &str),
    target: &str,
    ip: Option<String>,
) -> Result<bool, AppError> {
    let now = state.clock.now_ms();
    let removed = state
        .store
        .login_unlock(&user_key(target), &pair_prefix(target))
        .await?;
    let was_locked = removed
        .iter()
        .any(|t| t.locked_until_ms.is_some_and(|u| u > now));
    audit(
        state,
        Some(admin),
        "auth.unlock",
        Some(target.to_owned()),
        ip,
        Outcome::Success,
        Some(format!(
            "{} key(s) cleared; {}",
            removed.len(),
            if was_locked {
                "was locked"
            } else {
                "was not locked"
            }
        )),
    )
    .await;
    Ok(was_locked)
}

/// The usernames locked at the moment, with the end of their latest lock.
pub async fn locked_users(
    state: &AppState,
) -> Result<std::collections::BTreeMap<String, i64>, AppError> {
    let now = state.clock.now_ms();
    let mut out = std::collections::BTreeMap::new();
    for t in state.store.login_locks(now).await? {
        if let (Some(u), Some(until)) = (key_parts(&t.key).0, t.locked_until_ms) {
            let e = out.entry(u.to_owned()).or_insert(until);
            *e = (*e).max(until);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_keys_name_their_username_and_ip() {
        assert_eq!(key_parts("user:awa"), (Some("awa"), None));
        assert_eq!(
            key_parts("pair:awa|10.0.0.1"),
            (Some("awa"), Some("10.0.0.1"))
        );
        assert_eq!(key_parts("pair:awa|::1"), (Some("awa"), Some("::1")));
        assert_eq!(key_parts("ip:10.0.0.1"), (None, Some("10.0.0.1")));
        assert!(format!("{}10.0.0.1", pair_prefix("awa")).starts_with(&pair_prefix("awa")));
        assert!(!"pair:awa2|1.1.1.1".starts_with(&pair_prefix("awa")));
    }
}
