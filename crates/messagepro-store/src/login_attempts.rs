//! Login attempts reserved before the password is checked. The console's login used to read
//! "is it locked?", verify the password (argon2, tens of milliseconds) and only then count the
//! failure — so 40 parallel guesses all passed the check and were all verified. Here the
//! decision and the count are one database step: [`Store::login_reserve`] counts the attempt
//! on every key in one write transaction (rows locked in key order on PostgreSQL, the write lock
//! of `BEGIN IMMEDIATE` on SQLite) and says whether it may be verified; the attempt that goes
//! over a key's limit locks that key, and so do all attempts after it, whatever arrives at once.
//!
//! After the verification the console reports the result: a success forgets the keys of that
//! account ([`Store::login_succeeded`]), a failure that used up a key's budget locks it
//! ([`Store::login_lock_exhausted`]), an attempt never verified (the verifier was busy) is given
//! back ([`Store::login_release`]). Each lock lasts `lock_ms × 2^lockouts` (capped at 16 ×):
//! the delays grow for a key that keeps being locked, until a success or an admin unlock.
//!
//! Keys are opaque here (the console uses `user:<name>`, `pair:<name>|<ip>`, `ip:<ip>`).

use crate::{BeginWrite, Result, Store, ThrottleState, on_pool};

/// A throttle key and how many attempts it allows within the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptKey {
    pub key: String,
    pub max: i64,
}

/// The answer of [`Store::login_reserve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// The attempt was counted and may be verified.
    pub allowed: bool,
    /// When not allowed: the latest end of the locks in the way.
    pub locked_until_ms: Option<i64>,
    /// Keys this very attempt locked (to audit once).
    pub newly_locked: Vec<ThrottleState>,
}

/// `lock_ms × 2^min(lockouts, 4)`, from the row's count of earlier locks.
const LOCK_FOR: &str = "$4 * CASE WHEN login_throttle.lockouts >= 4 THEN 16 \
     WHEN login_throttle.lockouts = 3 THEN 8 WHEN login_throttle.lockouts = 2 THEN 4 \
     WHEN login_throttle.lockouts = 1 THEN 2 ELSE 1 END";

const COLUMNS: &str = "key, failures, first_failure_ms, locked_until_ms, lockouts";

fn reserve_sql() -> String {
    // $1 key, $2 now, $3 max, $4 lock_ms, $5 window_ms. `locked`: a lock still running;
    // `fresh`: a lock that ran out or a window that passed starts the count again.
    let locked = "login_throttle.locked_until_ms > $2";
    let stale = "(login_throttle.locked_until_ms IS NOT NULL \
                 OR login_throttle.first_failure_ms + $5 <= $2)";
    format!(
        "INSERT INTO login_throttle ({COLUMNS}) VALUES ($1, 1, $2, NULL, 0) \
         ON CONFLICT (key) DO UPDATE SET \
           failures = CASE WHEN {locked} THEN login_throttle.failures + 1 \
                           WHEN {stale} THEN 1 ELSE login_throttle.failures + 1 END, \
           first_failure_ms = CASE WHEN {locked} THEN login_throttle.first_failure_ms \
                           WHEN {stale} THEN $2 ELSE login_throttle.first_failure_ms END, \
           locked_until_ms = CASE WHEN {locked} THEN login_throttle.locked_until_ms \
                           WHEN {stale} THEN NULL \
                           WHEN login_throttle.failures + 1 > $3 THEN $2 + {LOCK_FOR} \
                           ELSE NULL END, \
           lockouts = CASE WHEN {locked} THEN login_throttle.lockouts \
                           WHEN {stale} THEN login_throttle.lockouts \
                           WHEN login_throttle.failures + 1 > $3 THEN login_throttle.lockouts + 1 \
                           ELSE login_throttle.lockouts END \
         RETURNING {COLUMNS}"
    )
}

fn lock_exhausted_sql() -> String {
    // $1 key, $2 now, $3 max, $4 lock_ms. `failures` goes to max + 1, like a lock set by a
    // reservation, so a later reservation never mistakes the lock for its own.
    format!(
        "UPDATE login_throttle SET failures = failures + 1, \
           locked_until_ms = $2 + {}, lockouts = lockouts + 1 \
         WHERE key = $1 AND failures >= $3 AND (locked_until_ms IS NULL OR locked_until_ms <= $2) \
         RETURNING {COLUMNS}",
        LOCK_FOR.replace("login_throttle.", "")
    )
}

fn sorted(keys: &[AttemptKey]) -> Vec<AttemptKey> {
    let mut k = keys.to_vec();
    k.sort_by(|a, b| a.key.cmp(&b.key));
    k.dedup_by(|a, b| a.key == b.key);
    k
}

impl Store {
    /// Counts one login attempt on every key and decides, in the same transaction, whether it
    /// may be verified: not when a key is locked, nor when this attempt goes over a key's `max`
    /// (it then locks that key). A refused attempt changes no counter but the locked keys'.
    pub async fn login_reserve(
        &self,
        keys: &[AttemptKey],
        now_ms: i64,
        window_ms: i64,
        lock_ms: i64,
    ) -> Result<Reservation> {
        let sql = reserve_sql();
        let keys = sorted(keys);
        let release = "UPDATE login_throttle SET failures = failures - 1 \
                       WHERE key = $1 AND failures > 0 AND locked_until_ms IS NULL";
        let rows: Vec<(ThrottleState, i64)> = on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let mut rows = Vec::with_capacity(keys.len());
            for k in &keys {
                let max = k.max.max(1);
                let row = sqlx::query_as::<_, ThrottleState>(&sql)
                    .bind(k.key.as_str()).bind(now_ms).bind(max).bind(lock_ms).bind(window_ms)
                    .fetch_one(&mut *tx).await?;
                rows.push((row, max));
            }
            // Refused: the keys that did not stop it do not count it.
            if rows.iter().any(|(r, _)| r.locked_until_ms.is_some()) {
                for (r, _) in rows.iter().filter(|(r, _)| r.locked_until_ms.is_none()) {
                    sqlx::query(release).bind(r.key.as_str()).execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
            rows
        });
        // (a row that comes back with a lock has a running one: a finished lock is reset above)
        let locked: Vec<&(ThrottleState, i64)> = rows
            .iter()
            .filter(|(r, _)| r.locked_until_ms.is_some())
            .collect();
        if locked.is_empty() {
            return Ok(Reservation {
                allowed: true,
                locked_until_ms: None,
                newly_locked: Vec::new(),
            });
        }
        Ok(Reservation {
            allowed: false,
            locked_until_ms: locked.iter().filter_map(|(r, _)| r.locked_until_ms).max(),
            newly_locked: locked
                .iter()
                .filter(|(r, max)| r.failures == max + 1)
                .map(|(r, _)| r.clone())
                .collect(),
        })
    }

    /// After a failed verification: locks each key whose budget this attempt used up, and
    /// returns those it locked (the caller audits them).
    pub async fn login_lock_exhausted(
        &self,
        keys: &[AttemptKey],
        now_ms: i64,
        lock_ms: i64,
    ) -> Result<Vec<ThrottleState>> {
        let sql = lock_exhausted_sql();
        let keys = sorted(keys);
        Ok(on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let mut locked = Vec::new();
            for k in &keys {
                if let Some(row) = sqlx::query_as::<_, ThrottleState>(&sql)
                    .bind(k.key.as_str()).bind(now_ms).bind(k.max.max(1)).bind(lock_ms)
                    .fetch_optional(&mut *tx).await?
                {
                    locked.push(row);
                }
            }
            tx.commit().await?;
            locked
        }))
    }

    /// The latest end of a running lock among `keys`, if any.
    pub async fn login_locked_until(
        &self,
        keys: &[AttemptKey],
        now_ms: i64,
    ) -> Result<Option<i64>> {
        let mut latest = None;
        for k in keys {
            let until: Option<Option<i64>> = on_pool!(self, p => sqlx::query_scalar(
                "SELECT locked_until_ms FROM login_throttle WHERE key = $1 AND locked_until_ms > $2")
                .bind(k.key.as_str()).bind(now_ms).fetch_optional(p).await?);
            latest = latest.max(until.flatten());
        }
        Ok(latest)
    }

    /// A verified success: forgets `forget` (the account's keys, locks and delays included) and
    /// gives back the attempt counted on `release` (the IP's: a success is not a failure).
    pub async fn login_succeeded(
        &self,
        forget: &[&str],
        release: &[&str],
        now_ms: i64,
    ) -> Result<()> {
        for key in forget {
            on_pool!(self, p => sqlx::query("DELETE FROM login_throttle WHERE key = $1")
                .bind(*key).execute(p).await?.rows_affected());
        }
        for key in release {
            self.login_release_key(key, now_ms).await?;
        }
        Ok(())
    }

    /// Gives back an attempt that was counted but never verified (the verifier was busy).
    pub async fn login_release(&self, keys: &[AttemptKey], now_ms: i64) -> Result<()> {
        for k in keys {
            self.login_release_key(&k.key, now_ms).await?;
        }
        Ok(())
    }

    async fn login_release_key(&self, key: &str, now_ms: i64) -> Result<()> {
        on_pool!(self, p => sqlx::query(
            "UPDATE login_throttle SET failures = failures - 1 \
             WHERE key = $1 AND failures > 0 AND (locked_until_ms IS NULL OR locked_until_ms <= $2)")
            .bind(key).bind(now_ms).execute(p).await?.rows_affected());
        Ok(())
    }

    /// Removes the key `exact` and every key starting with `prefix` (an admin unlocking an
    /// account: its own key and its per-IP keys); returns the rows removed.
    pub async fn login_unlock(&self, exact: &str, prefix: &str) -> Result<Vec<ThrottleState>> {
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, ThrottleState>(&format!(
            "DELETE FROM login_throttle WHERE key = $1 \
             OR substr(key, 1, length(CAST($2 AS TEXT))) = CAST($2 AS TEXT) RETURNING {COLUMNS}"))
            .bind(exact).bind(prefix).fetch_all(p).await?),
        )
    }

    /// Every key locked at `now_ms` (the admin's users page shows who is locked out).
    pub async fn login_locks(&self, now_ms: i64) -> Result<Vec<ThrottleState>> {
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, ThrottleState>(&format!(
            "SELECT {COLUMNS} FROM login_throttle WHERE locked_until_ms > $1 ORDER BY key"))
            .bind(now_ms).fetch_all(p).await?),
        )
    }
}
